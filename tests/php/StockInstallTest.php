<?php

declare(strict_types=1);

use PHPUnit\Framework\TestCase;
use Pirsch\Native\Tests\Standin;

/**
 * The install as bindings/php/README.md tells it, on stock Debian software:
 *
 * 1. A new project (`composer init`, default settings: minimum-stability stable) gets the
 *    package with exactly the `composer ...` lines of the README's "tested: composer" block,
 *    with the network disabled (COMPOSER_DISABLE_NETWORK=1; Packagist is never asked). A CLI
 *    script through vendor/autoload.php sends a page view to the stand-in.
 * 2. That project is served by Debian's own php8.2-fpm configuration (php-fpm.conf and
 *    pool.d/www.conf copied unchanged, then only the test adjustments listed in ADJUSTMENTS:
 *    paths, the socket) plus ONLY the lines of the README's "tested: fpm-conf.d" or
 *    "tested: fpm-pool" block, counted. Page views through nginx arrive exactly.
 * 3. Broken setups (a README block with a line left out: no ffi.enable, no credentials):
 *    every page still answers 200, each page view is counted as dropped, and the reason is
 *    logged once (a stock FPM has no error_log: it reaches nginx's error log).
 *
 * libpirsch is "installed" the way the libpirsch0 package installs it, without touching this
 * machine: each process runs in a private mount namespace where an overlay adds
 * libpirsch.so.0 to /usr/lib/<arch>-linux-gnu (no pirsch.h: the package's own copy of the
 * declarations is used). Where mount namespaces are not allowed, pirsch.library in the test's
 * own ini file says where the library is instead (listed among the adjustments).
 */
final class StockInstallTest extends TestCase
{
    private const KEY = 'pa_standin_key';
    private const FPM_ETC = '/etc/php/8.2/fpm';
    private const SIGKILL = 9;
    private const SIGTERM = 15;

    private static string $root;
    private static string $dir;
    private static string $site;
    private static ?Standin $standin = null;
    private static bool $isRoot;
    private static ?string $overlayLib = null;   // where the library appears inside the namespace
    private static float $composerSeconds = 0.0;
    private static float $projectStart = 0.0;
    private static int $port;
    /** @var array<string, resource> */
    private static array $procs = [];
    /** @var list<string> test-only changes to the stock files, for the record */
    private static array $adjustments = [];
    /** @var array<string, list<string>> the README lines each FPM got */
    private static array $userChanges = [];
    /** The workers' folder of dropped counts (sys_get_temp_dir()/pirsch-native-UID), removed at the end if the test made it. */
    private static ?string $stateDir = null;

    public static function setUpBeforeClass(): void
    {
        register_shutdown_function([self::class, 'tearDownAfterClass']);
        self::$root = dirname(__DIR__, 2);
        self::$isRoot = function_exists('posix_geteuid') && posix_geteuid() === 0;
        foreach (['composer' => '/usr/bin/composer', 'php-fpm' => '/usr/sbin/php-fpm8.2', 'nginx' => '/usr/sbin/nginx'] as $what => $binary) {
            if (!is_executable($binary)) {
                self::fail("$binary ($what) is missing: apt-get install composer php8.2-fpm nginx");
            }
        }
        if (!is_file(self::FPM_ETC . '/php-fpm.conf') || !is_file(self::FPM_ETC . '/pool.d/www.conf')) {
            self::fail('Debian\'s ' . self::FPM_ETC . '/php-fpm.conf and pool.d/www.conf are missing (php8.2-fpm)');
        }
        $workerUid = self::$isRoot ? (int) (posix_getpwnam('www-data')['uid'] ?? -1) : posix_geteuid();
        $state = sys_get_temp_dir() . "/pirsch-native-$workerUid";
        self::$stateDir = is_dir($state) ? null : $state;
        self::$dir = sys_get_temp_dir() . '/pirsch-php-stock-' . bin2hex(random_bytes(4));
        mkdir(self::$dir, 0755);
        chmod(self::$dir, 0755);
        try {
            self::$standin = new Standin();
            self::prepareLibrary();
        } catch (\Throwable $e) {
            self::tearDownAfterClass();
            throw $e;
        }
    }

    public static function tearDownAfterClass(): void
    {
        foreach (array_keys(array_reverse(self::$procs)) as $name) {
            self::stop($name);
        }
        self::$standin?->stop();
        self::$standin = null;
        if (isset(self::$dir) && is_dir(self::$dir) && !getenv('PIRSCH_KEEP_E2E')) {
            exec('rm -rf ' . escapeshellarg(self::$dir));
        }
        if (self::$stateDir !== null && is_dir(self::$stateDir)) {
            exec('rm -rf ' . escapeshellarg(self::$stateDir));
        }
        self::$stateDir = null;
    }

    /** The README's composer lines in a fresh project, offline; then a page view from a CLI script. */
    public function testTheReadmeComposerLinesInstallIntoANewProject(): void
    {
        self::$projectStart = microtime(true);
        self::$site = self::$dir . '/site';
        mkdir(self::$site, 0755);
        $env = self::composerEnv();
        [$rc, $out] = self::exec(['composer', 'init', '--no-interaction', '--name=example/site'], self::$site, $env);
        $this->assertSame(0, $rc, $out);
        $init = json_decode((string) file_get_contents(self::$site . '/composer.json'), true);
        $this->assertArrayNotHasKey('minimum-stability', $init, 'a default project');

        $lines = self::readmeBlock('composer');
        $commands = array_values(array_filter($lines, static fn (string $l): bool => str_starts_with($l, 'composer ')));
        $this->assertCount(2, $commands, implode("\n", $lines));
        foreach ($commands as $command) {
            $command = str_replace('/path/to/libpirsch', self::$root, $command);
            [$rc, $out] = self::exec(['bash', '-c', $command], self::$site, $env);
            $this->assertSame(0, $rc, "$command\n$out");
        }
        self::$composerSeconds = microtime(true) - self::$projectStart;

        $json = json_decode((string) file_get_contents(self::$site . '/composer.json'), true);
        $this->assertSame('^0.1.0', $json['require']['pirsch/native'] ?? null, json_encode($json));
        $this->assertFalse(is_link(self::$site . '/vendor/pirsch/native'), 'copied, not a link into the clone');
        $this->assertFileExists(self::$site . '/vendor/pirsch/native/src/Tracker.php');
        $this->assertFileExists(self::$site . '/vendor/pirsch/native/include/pirsch.h');

        // The site PHP-FPM serves below: the test page (the one-liner), readable by www-data.
        copy(__DIR__ . '/www/index.php', self::$site . '/index.php');
        exec('chmod -R a+rX ' . escapeshellarg(self::$site));

        file_put_contents(self::$site . '/send.php', <<<'PHP'
            <?php
            // A page view from the command line, through the project's autoloader.
            require __DIR__ . '/vendor/autoload.php';
            $_SERVER += ['REQUEST_METHOD' => 'GET', 'REQUEST_URI' => '/from-composer-project', 'HTTP_HOST' => 'site.example',
                         'REMOTE_ADDR' => '203.0.113.77', 'HTTP_USER_AGENT' => 'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0'];
            $queued = Pirsch\Native\Tracker::pageView(tags: ['scenario' => 'cli']);
            echo json_encode(['queued' => $queued, 'source' => Pirsch\Native\Library::source(), 'dropped' => Pirsch\Native\Tracker::dropped()]);
            PHP);
        $phpEnv = ['PATH' => getenv('PATH'), 'PIRSCH_ACCESS_KEY' => self::KEY, 'PIRSCH_BASE_URL' => self::$standin->url,
            'PIRSCH_STATE_DIR' => self::$dir, 'PIRSCH_FLUSH_INTERVAL_MS' => '100'];
        if (self::$overlayLib === null) {
            $phpEnv['PIRSCH_LIBRARY'] = self::$dir . '/lib/libpirsch.so.0';
        }
        [$rc, $out] = self::exec(self::withLibrary([PHP_BINARY, 'send.php']), self::$site, $phpEnv);
        $this->assertSame(0, $rc, $out);
        $result = json_decode($out, true);
        $this->assertTrue($result['queued'] ?? null, $out);
        self::assertLoadedFromTheInstall($result['source']);
        $this->assertNotEmpty(self::$standin->waitFor(1, 'hit', 10.0), 'the first page view arrived');
        $seconds = microtime(true) - self::$projectStart;
        $hits = self::hits('cli');
        $this->assertSame(['http://site.example/from-composer-project'], array_column($hits, 'url'));
        fwrite(STDERR, sprintf("\n[figures] composer init + README composer lines: %.2f s; fresh project to first page view at the stand-in: %.2f s\n",
            self::$composerSeconds, $seconds));
    }

    /**
     * @depends testTheReadmeComposerLinesInstallIntoANewProject
     */
    public function testStockFpmWithTheConfDFileOfTheReadme(): void
    {
        $lines = self::settingLines('fpm-conf.d');
        $this->assertSame(['ffi.enable = true', 'pirsch.access_key = pa_...'], $lines, 'the README\'s conf.d file');
        self::startFpm('confd', confd: self::fill($lines));
        $this->assertPageViewsArrive('confd', 6);
    }

    /**
     * @depends testTheReadmeComposerLinesInstallIntoANewProject
     */
    public function testStockFpmWithThePoolLinesOfTheReadme(): void
    {
        $lines = self::settingLines('fpm-pool');
        $this->assertSame(['php_admin_value[ffi.enable] = true', 'env[PIRSCH_ACCESS_KEY_FILE] = /etc/pirsch-access-key'], $lines);
        // The key file as the README makes it: mode 640, group of the pool's user.
        $keyFile = self::$dir . '/pirsch-access-key';
        file_put_contents($keyFile, self::KEY . "\n");
        chmod($keyFile, 0640);
        if (self::$isRoot) {
            chgrp($keyFile, 'www-data');
        }
        self::startFpm('pool', pool: str_replace('/etc/pirsch-access-key', $keyFile, $lines));
        self::$adjustments[] = "pool: the key file is $keyFile, not /etc/pirsch-access-key";
        $this->assertPageViewsArrive('pool', 6);
    }

    /**
     * The conf.d file without its ffi.enable line: FFI stays restricted to preloading.
     *
     * @depends testTheReadmeComposerLinesInstallIntoANewProject
     */
    public function testWithoutFfiEveryPageAnswers200AndTheReasonIsLoggedOnce(): void
    {
        $lines = array_values(array_filter(self::settingLines('fpm-conf.d'), static fn ($l) => !str_starts_with($l, 'ffi.')));
        self::startFpm('noffi', confd: self::fill($lines));
        $this->assertDroppedAndLoggedOnce('noffi', 'ffi', 'php_admin_value[ffi.enable] = true');
    }

    /**
     * The conf.d file without the credentials: a stock pool's clear_env = yes hides the test's
     * PIRSCH_ACCESS_KEY from the workers, so there are none.
     *
     * @depends testTheReadmeComposerLinesInstallIntoANewProject
     */
    public function testWithoutCredentialsEveryPageAnswers200AndTheReasonIsLoggedOnce(): void
    {
        $lines = array_values(array_filter(self::settingLines('fpm-conf.d'), static fn ($l) => !str_starts_with($l, 'pirsch.')));
        self::startFpm('nokey', confd: $lines, masterEnv: ['PIRSCH_ACCESS_KEY' => self::KEY]);
        $this->assertDroppedAndLoggedOnce('nokey', 'credentials', 'pirsch.access_key');
    }

    /**
     * What the README warns about: a pool's php_admin_value[pirsch.*] never reaches
     * get_cfg_var() (PHP-FPM drops values of settings PHP does not know), so credentials set
     * that way are not seen; the page still answers 200 and the reason is logged once.
     *
     * @depends testTheReadmeComposerLinesInstallIntoANewProject
     */
    public function testPhpAdminValueOfAnUnknownSettingIsNotSeen(): void
    {
        self::startFpm('adminvalue', pool: ['php_admin_value[ffi.enable] = true', 'php_admin_value[pirsch.access_key] = ' . self::KEY]);
        unset(self::$userChanges['adminvalue']);
        $this->assertDroppedAndLoggedOnce('adminvalue', 'credentials', 'pirsch.access_key');
    }

    /**
     * @depends testStockFpmWithTheConfDFileOfTheReadme
     * @depends testStockFpmWithThePoolLinesOfTheReadme
     */
    public function testTheCount(): void
    {
        $counts = array_map('count', self::$userChanges);
        $this->assertSame(2, $counts['confd']);
        $this->assertSame(2, $counts['pool']);
        fwrite(STDERR, "\n[figures] settings a user adds to a stock Debian PHP-FPM: conf.d file {$counts['confd']}, or pool {$counts['pool']}"
            . "\n[figures] test-only adjustments: " . implode('; ', array_unique(self::$adjustments)) . "\n");
    }

    private function assertPageViewsArrive(string $name, int $n): void
    {
        self::startNginx();
        $sources = [];
        for ($i = 1; $i <= $n; $i++) {
            [$status, $body] = self::request("/$name/page/$i?scenario=$name");
            $this->assertSame(200, $status, json_encode($body) . self::logs());
            $this->assertTrue($body['queued'] ?? null, json_encode($body) . self::logs());
            $sources[] = $body['source'];
        }
        foreach (array_unique($sources) as $source) {
            self::assertLoadedFromTheInstall($source);
        }
        [$status] = self::request("/$name/form?scenario=$name", method: 'POST');
        $this->assertSame(200, $status, 'a POST is no page view, and no error');
        $hits = self::hits($name, $n);
        $urls = array_column($hits, 'url');
        sort($urls);
        $want = array_map(static fn ($i) => "http://shop.example/$name/page/$i?scenario=$name", range(1, $n));
        sort($want);
        $this->assertSame($want, $urls, 'every page view arrived once');
        $this->assertSame(self::UA, $hits[0]['user_agent'] ?? null);
        $this->assertStringNotContainsString('pirsch:', self::nginxErrors(), 'nothing logged');
    }

    private function assertDroppedAndLoggedOnce(string $name, string $reason, string $advice): void
    {
        self::startNginx();
        $counts = [];
        for ($i = 1; $i <= 5; $i++) {
            [$status, $body] = self::request("/$name/page/$i?scenario=$name");
            $this->assertSame(200, $status, json_encode($body) . self::logs());
            $this->assertFalse($body['queued'], json_encode($body));
            $this->assertArrayHasKey($reason, $body['dropped'], json_encode($body));
            $counts[] = $body['dropped'][$reason]['count'];
            $this->assertStringContainsString($advice, $body['dropped'][$reason]['message']);
        }
        $this->assertSame(range($counts[0], $counts[0] + 4), $counts, 'every page view counted once, across the workers');
        $log = self::nginxErrors();
        $this->assertSame(1, substr_count($log, "pirsch: page views are not counted ($reason)"), $log);
        usleep(300000);
        $this->assertSame([], self::hits($name, 0));
    }

    private static function assertLoadedFromTheInstall(string $source): void
    {
        if (self::$overlayLib !== null) {
            // The library where libpirsch0 puts it, the declarations the package ships.
            self::assertSame('cdef ' . self::$overlayLib . ' (' . self::$site . '/vendor/pirsch/native/src/../include/pirsch.h)', $source);
        } else {
            self::assertStringStartsWith('cdef ' . self::$dir . '/lib/libpirsch.so.0', $source);
        }
    }

    // ---- the stock PHP-FPM -------------------------------------------------------------

    /**
     * A PHP-FPM master from Debian's files with the test adjustments and the user's lines:
     * $confd in a conf.d file (PHP_INI_SCAN_DIR adds the test's folder after Debian's, as a
     * file in /etc/php/8.2/fpm/conf.d would be read), $pool appended to www.conf.
     */
    private static function startFpm(string $name, array $confd = [], array $pool = [], array $masterEnv = []): void
    {
        $dir = self::$dir . "/$name";
        @mkdir("$dir/pool.d", 0755, true);
        @mkdir("$dir/conf.d", 0755, true);
        $main = self::adjust((string) file_get_contents(self::FPM_ETC . '/php-fpm.conf'), 'php-fpm.conf', [
            '~^pid = .*$~m' => "pid = $dir/fpm.pid",
            '~^;?error_log = .*$~m' => "error_log = $dir/fpm.log",
            '~^include=.*$~m' => "include=$dir/pool.d/*.conf",
        ]);
        file_put_contents("$dir/php-fpm.conf", $main);
        $www = self::adjust((string) file_get_contents(self::FPM_ETC . '/pool.d/www.conf'), 'www.conf', [
            '~^listen = .*$~m' => "listen = $dir/www.sock",
        ] + (self::$isRoot ? [] : ['~^(user|group|listen\.owner|listen\.group) = .*$~m' => '; $1: the test is not root']));
        if ($pool !== []) {
            $www .= "\n; --- the README's lines ---\n" . implode("\n", $pool) . "\n";
        }
        file_put_contents("$dir/pool.d/www.conf", $www);
        if ($confd !== []) {
            file_put_contents("$dir/conf.d/30-pirsch.ini", "; --- the README's lines ---\n" . implode("\n", $confd) . "\n");
        }
        // Test-only: the stand-in instead of api.pirsch.io (and the library, without namespaces).
        $test = "pirsch.base_url = " . self::$standin->url . "\n";
        self::$adjustments[] = 'pirsch.base_url (the stand-in) in the test\'s own ini file';
        if (self::$overlayLib === null) {
            $test .= 'pirsch.library = ' . self::$dir . "/lib/libpirsch.so.0\n";
            self::$adjustments[] = 'pirsch.library (no mount namespace to install the library in)';
        }
        file_put_contents("$dir/conf.d/00-test.ini", $test);
        self::$userChanges[$name] = array_merge($confd, $pool);
        $env = ['PATH' => '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
            'PHP_INI_SCAN_DIR' => self::FPM_ETC . "/conf.d:$dir/conf.d"] + $masterEnv;
        // As Debian's service runs it: ExecStart=/usr/sbin/php-fpm8.2 --nodaemonize --fpm-config ...
        self::start("fpm-$name", self::withLibrary(['/usr/sbin/php-fpm8.2', '--nodaemonize', '--fpm-config', "$dir/php-fpm.conf"]), $env, "$dir/fpm.out");
        self::waitFor(static fn () => @stream_socket_client("unix://$dir/www.sock", $e, $s, 1), "fpm-$name", "$dir/fpm.log");
    }

    /** Applies the test adjustments to a stock file; each pattern must match exactly once. */
    private static function adjust(string $text, string $file, array $changes): string
    {
        foreach ($changes as $pattern => $replacement) {
            $n = preg_match_all($pattern, $text);
            if ($n < 1 || ($n > 1 && !str_contains($pattern, '|'))) {
                self::fail("Debian's $file no longer has one line matching $pattern ($n)");
            }
            $text = preg_replace($pattern, $replacement, $text);
            self::$adjustments[] = "$file: " . trim($pattern, '~^$m') . ' (a path or the socket of the test)';
        }
        return $text;
    }

    /** The library copied where the namespace's overlay shows it in /usr/lib/<arch>-linux-gnu. */
    private static function prepareLibrary(): void
    {
        $lib = (string) getenv('PIRSCH_LIBRARY');
        @mkdir(self::$dir . '/lib', 0755);
        copy($lib, self::$dir . '/lib/libpirsch.so.0');
        chmod(self::$dir . '/lib/libpirsch.so.0', 0755);
        $multiarch = '/usr/lib/' . php_uname('m') . '-linux-gnu';
        if (is_file("$multiarch/libpirsch.so.0") || is_file('/usr/local/lib/libpirsch.so.0')) {
            self::fail('libpirsch is installed on this machine; this test needs a machine without it');
        }
        foreach (['upper', 'work'] as $d) {
            @mkdir(self::$dir . "/overlay/$d", 0755, true);
        }
        copy($lib, self::$dir . '/overlay/upper/libpirsch.so.0');
        chmod(self::$dir . '/overlay/upper/libpirsch.so.0', 0755);
        if (is_dir($multiarch) && self::$isRoot && is_executable('/usr/bin/unshare')) {
            self::$overlayLib = "$multiarch/libpirsch.so.0";
            [$rc, $out] = self::exec(self::withLibrary(['test', '-f', self::$overlayLib]), self::$dir, ['PATH' => getenv('PATH')]);
            if ($rc !== 0) {
                self::$overlayLib = null;   // no mount namespaces here: pirsch.library instead
                fwrite(STDERR, "\n[note] no mount namespace (\"$out\"): the library is named by pirsch.library\n");
            }
        }
    }

    /** $cmd in a private mount namespace where libpirsch.so.0 is in /usr/lib/<arch>-linux-gnu. */
    private static function withLibrary(array $cmd): array
    {
        if (self::$overlayLib === null) {
            return $cmd;
        }
        $o = self::$dir . '/overlay';
        $target = dirname(self::$overlayLib);
        return ['unshare', '--mount', '--propagation', 'private', 'sh', '-c',
            'mount -t overlay pirsch-test -o "lowerdir=$1,upperdir=$2/upper,workdir=$2/work" "$1" && shift 2 && exec "$@"',
            'sh', $target, $o, ...$cmd];
    }

    private static function startNginx(): void
    {
        if (isset(self::$procs['nginx'])) {
            self::stop('nginx');
        }
        self::$port = pirsch_test_free_port();
        $dir = self::$dir;
        @mkdir("$dir/nginx-tmp", 0755);
        $locations = '';
        foreach (glob("$dir/*/www.sock") as $sock) {
            $name = basename(dirname($sock));
            // Debian's own fastcgi_params, as a site's config includes them.
            $locations .= "        location /$name/ {\n            include /etc/nginx/fastcgi_params;\n"
                . "            fastcgi_param SCRIPT_FILENAME " . self::$site . "/index.php;\n"
                . "            fastcgi_pass unix:$sock;\n        }\n";
        }
        $user = self::$isRoot ? "user root;\n" : '';
        $port = self::$port;
        file_put_contents("$dir/nginx.conf", <<<CONF
            {$user}worker_processes 1;
            pid $dir/nginx.pid;
            events { worker_connections 64; }
            http {
                access_log off;
                client_body_temp_path $dir/nginx-tmp/body;
                fastcgi_temp_path $dir/nginx-tmp/fastcgi;
                proxy_temp_path $dir/nginx-tmp/proxy;
                uwsgi_temp_path $dir/nginx-tmp/uwsgi;
                scgi_temp_path $dir/nginx-tmp/scgi;
                server {
                    listen 127.0.0.1:$port;
                    server_name shop.example;
            $locations    }
            }
            CONF);
        @unlink("$dir/nginx-error.log");
        self::start('nginx', ['/usr/sbin/nginx', '-p', $dir, '-c', "$dir/nginx.conf", '-e', "$dir/nginx-error.log", '-g', 'daemon off;'], [], "$dir/nginx.out");
        self::waitFor(static fn () => @stream_socket_client("tcp://127.0.0.1:$port", $e, $s, 1), 'nginx', "$dir/nginx-error.log");
    }

    // ---- helpers -----------------------------------------------------------------------

    private const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

    /** The lines of the README block after <!-- tested: $name ... -->. */
    private static function readmeBlock(string $name): array
    {
        $readme = (string) file_get_contents(self::$root . '/bindings/php/README.md');
        if (!preg_match('~<!-- tested: ' . preg_quote($name, '~') . '[ >].*?\n```\w*\n(.*?)\n```~s', $readme, $m)) {
            self::fail("bindings/php/README.md has no block marked <!-- tested: $name -->");
        }
        return explode("\n", $m[1]);
    }

    /** The settings of a README ini block: the lines that are not comments or empty. */
    private static function settingLines(string $name): array
    {
        return array_values(array_filter(array_map('trim', self::readmeBlock($name)), static fn ($l) => $l !== '' && $l[0] !== ';'));
    }

    /** The README's placeholder key, replaced by the stand-in's. */
    private static function fill(array $lines): array
    {
        return str_replace('pa_...', self::KEY, $lines);
    }

    private static function composerEnv(): array
    {
        @mkdir(self::$dir . '/home', 0755);
        return ['PATH' => getenv('PATH'), 'HOME' => self::$dir . '/home', 'COMPOSER_HOME' => self::$dir . '/home/.composer',
            'COMPOSER_DISABLE_NETWORK' => '1', 'COMPOSER_ALLOW_SUPERUSER' => '1', 'COMPOSER_NO_INTERACTION' => '1'];
    }

    /** Hits of one scenario, waiting until $n arrived (then a moment more, to catch duplicates). */
    private static function hits(string $scenario, int $n = 1): array
    {
        $deadline = microtime(true) + 15;
        do {
            $mine = array_values(array_filter(self::$standin->bodies('hit'), static fn ($b) => ($b['tags']['scenario'] ?? '') === $scenario));
            if (count($mine) >= $n && $n > 0) {
                usleep(500000);
                return array_values(array_filter(self::$standin->bodies('hit'), static fn ($b) => ($b['tags']['scenario'] ?? '') === $scenario));
            }
            usleep(50000);
        } while ($n > 0 && microtime(true) < $deadline);
        return $mine;
    }

    /** @return array{0: int, 1: string} exit status, stdout and stderr */
    private static function exec(array $cmd, string $cwd, array $env): array
    {
        $proc = proc_open($cmd, [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['redirect', 1]], $pipes, $cwd, $env);
        $out = stream_get_contents($pipes[1]);
        fclose($pipes[1]);
        return [proc_close($proc), (string) $out];
    }

    /** @return array{0: int, 1: mixed} */
    private static function request(string $path, string $method = 'GET'): array
    {
        $socket = stream_socket_client('tcp://127.0.0.1:' . self::$port, $errno, $error, 5);
        if ($socket === false) {
            self::fail("connect: $error");
        }
        stream_set_timeout($socket, 10);
        fwrite($socket, "$method $path HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: " . self::UA
            . "\r\nAccept-Language: en-US,en;q=0.9\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        $response = (string) stream_get_contents($socket);
        fclose($socket);
        [$head, $body] = explode("\r\n\r\n", $response, 2) + [1 => ''];
        $status = preg_match('~^HTTP/1\.\d (\d{3})~', $head, $m) ? (int) $m[1] : 0;
        if (preg_match('/^transfer-encoding:\s*chunked/mi', $head)) {
            $decoded = '';
            while (preg_match('/^([0-9a-f]+)\r\n/i', $body, $m) && ($n = hexdec($m[1])) > 0) {
                $decoded .= substr($body, strlen($m[0]), $n);
                $body = substr($body, strlen($m[0]) + $n + 2);
            }
            $body = $decoded;
        }
        return [$status, json_decode($body, true) ?? $body];
    }

    private static function nginxErrors(): string
    {
        return (string) @file_get_contents(self::$dir . '/nginx-error.log');
    }

    private static function start(string $name, array $cmd, array $env, string $output): void
    {
        $proc = proc_open($cmd, [0 => ['file', '/dev/null', 'r'], 1 => ['file', $output, 'a'], 2 => ['file', $output, 'a']], $pipes, null, $env ?: null);
        if ($proc === false) {
            self::fail("cannot start $name");
        }
        self::$procs[$name] = $proc;
    }

    private static function waitFor(callable $ready, string $what, string $log): void
    {
        $deadline = microtime(true) + 10;
        while (microtime(true) < $deadline) {
            if ($ready()) {
                return;
            }
            usleep(20000);
        }
        self::fail("$what did not start:\n" . @file_get_contents($log) . self::logs());
    }

    private static function stop(string $name): void
    {
        if (!isset(self::$procs[$name])) {
            return;
        }
        $proc = self::$procs[$name];
        unset(self::$procs[$name]);
        if (proc_get_status($proc)['running']) {
            // unshare execs php-fpm, so the pid is the master's; QUIT is Debian's stop signal.
            proc_terminate($proc, str_starts_with($name, 'fpm-') ? 3 : self::SIGTERM);
        }
        $deadline = microtime(true) + 5;
        while (proc_get_status($proc)['running'] && microtime(true) < $deadline) {
            usleep(20000);
        }
        if (proc_get_status($proc)['running']) {
            proc_terminate($proc, self::SIGKILL);
        }
        proc_close($proc);
    }

    private static function logs(): string
    {
        $out = '';
        foreach (glob(self::$dir . '/{*,*/*}.{log,out}', GLOB_BRACE) ?: [] as $file) {
            $text = trim((string) file_get_contents($file));
            if ($text !== '') {
                $out .= "\n--- $file\n" . substr($text, -2000);
            }
        }
        return $out;
    }
}
