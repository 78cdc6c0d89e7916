<?php

declare(strict_types=1);

use PHPUnit\Framework\TestCase;
use Pirsch\Native\Tests\Standin;

/**
 * The real stack: HTTP requests with a browser's headers -> nginx -> PHP-FPM -> www/index.php
 * (Pirsch\Native\Tracker::pageView) -> libpirsch -> the API stand-in.
 *
 * One FPM master per scenario, with Debian's php.ini (ffi.enable=preload, opcache on):
 *  a  php_admin_value[ffi.enable] = true, no preloading; an OAuth client from env[]; 2 workers.
 *     Beside it pool "r": the default ffi.enable=preload without preloading: every page still
 *     answers 200, the page views are counted as dropped (reason ffi, with what to set), logged once.
 *  b  opcache.preload = bindings/php/preload.php; the master runs as root here (so with
 *     opcache.preload_user, and PHP refuses FFI::load: the preloaded classes derive the
 *     declarations per request); an access key from env[]; 1 worker.
 *  c  the same preloading with a master that is not root (nobody, if the test runs as root):
 *     preload.php loads the FFI scope and creates the client in the master, before the
 *     workers are forked; 2 workers.
 * Page views are queued with a 10-minute flush interval, so nothing is sent while the workers
 * run: every master then gets SIGQUIT (graceful stop), and every page view must arrive.
 *  d  (last, alone) worker recycling with the API down: pm.max_requests = 4, spool_dir set;
 *     what a retiring worker cannot deliver is spooled, and the workers after it deliver it
 *     once the API is back: exactly the page views served arrive, once each, with their times.
 */
final class FpmEndToEndTest extends TestCase
{
    private const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
    private const BROWSER = [
        'User-Agent' => self::UA,
        'Accept' => 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8',
        'Accept-Language' => 'de-DE,de;q=0.9,en-US;q=0.8,en;q=0.7',
        'Accept-Encoding' => 'gzip, deflate, br, zstd',
        'Sec-CH-UA' => '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"',
        'Sec-CH-UA-Mobile' => '?0',
        'Sec-CH-UA-Platform' => '"Windows"',
        'Sec-Fetch-Dest' => 'document',
        'Sec-Fetch-Mode' => 'navigate',
        'Sec-Fetch-Site' => 'cross-site',
        'Upgrade-Insecure-Requests' => '1',
        'Referer' => 'https://www.search.example/search?q=red+shirts',
        'Cookie' => 'session=never-sent-cookie; consent=1',
    ];
    private const FLUSH_INTERVAL_MS = '600000';
    private const SIGQUIT = 3;   // Linux numbers: the the SIG* constants come with pcntl
    private const SIGKILL = 9;
    private const SIGTERM = 15;

    private static string $dir;
    private static string $root;
    private static string $tree;
    private static bool $isRoot;
    private static ?Standin $standin = null;
    private static int $port;
    /** @var array<string, resource> */
    private static array $procs = [];
    /** @var array<string, list<array>> page view responses by scenario */
    private static array $served = [];
    /** @var array<string, string> the libpirsch settings every pool gets */
    private static array $common = [];

    public static function setUpBeforeClass(): void
    {
        // PHPUnit skips tearDownAfterClass when this fails: stop what was started, then fail.
        register_shutdown_function([self::class, 'tearDownAfterClass']);
        try {
            self::startAll();
        } catch (\Throwable $e) {
            self::tearDownAfterClass();
            throw $e;
        }
    }

    private static function startAll(): void
    {
        self::$root = dirname(__DIR__, 2);
        self::$isRoot = function_exists('posix_geteuid') && posix_geteuid() === 0;
        $fpm = getenv('PHP_FPM') ?: (is_executable('/usr/sbin/php-fpm' . PHP_MAJOR_VERSION . '.' . PHP_MINOR_VERSION)
            ? '/usr/sbin/php-fpm' . PHP_MAJOR_VERSION . '.' . PHP_MINOR_VERSION : '/usr/sbin/php-fpm');
        $nginx = getenv('NGINX') ?: '/usr/sbin/nginx';
        foreach ([$fpm, $nginx] as $binary) {
            if (!is_executable($binary)) {
                self::fail("$binary is missing: run scripts/install-deps.sh");
            }
        }
        self::$dir = sys_get_temp_dir() . '/pirsch-php-e2e-' . bin2hex(random_bytes(4));
        mkdir(self::$dir, 0755);
        foreach (['a', 'b', 'c', 'd', 'd-spool', 'nginx-tmp', 'state'] as $sub) {
            mkdir(self::$dir . "/$sub", 0755);
        }
        chmod(self::$dir . '/state', 0777);
        self::$standin = new Standin();
        // The servers (master c, and the workers) may run as nobody, who cannot read a
        // checkout inside a private directory: they get a world-readable copy of what they use.
        self::$tree = self::mirror(self::$dir . '/tree', (string) getenv('PIRSCH_LIBRARY'), (string) getenv('PIRSCH_HEADER'));
        $lib = self::$tree . '/lib/libpirsch.so';
        $header = self::$tree . '/include/pirsch.h';
        self::$common = $common = [
            'PIRSCH_LIBRARY' => $lib,
            'PIRSCH_HEADER' => $header,
            'PIRSCH_BASE_URL' => self::$standin->url,
            'PIRSCH_TRUSTED_PROXIES' => '127.0.0.1',
            'PIRSCH_FLUSH_INTERVAL_MS' => self::FLUSH_INTERVAL_MS,
            'PIRSCH_SHUTDOWN_TIMEOUT_MS' => '5000',
            'PIRSCH_STATE_DIR' => self::$dir . '/state',
        ];
        $path = ['PATH' => '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];
        $preload = self::$tree . '/bindings/php/preload.php';

        // a: ffi.enable=true; r: the default ffi.enable=preload, nothing preloaded.
        self::startFpm('a', $fpm, [
            'a' => [2, ['ffi.enable' => 'true'], $common + ['SCENARIO' => 'a', 'PIRSCH_CLIENT_ID' => 'standin-client', 'PIRSCH_CLIENT_SECRET' => 'standin-secret']],
            'r' => [1, ['ffi.enable' => 'preload'], $common + ['SCENARIO' => 'r', 'PIRSCH_ACCESS_KEY' => 'pa_standin_key']],
        ], $path, [], self::$isRoot);
        // b: preloaded, master as root (if we are).
        self::startFpm('b', $fpm, [
            'b' => [1, ['ffi.enable' => 'preload'], $common + ['SCENARIO' => 'b', 'PIRSCH_ACCESS_KEY' => 'pa_standin_key']],
        ], $path + ['PIRSCH_LIBRARY' => $lib, 'PIRSCH_HEADER' => $header],
            ['opcache.preload' => $preload] + (self::$isRoot ? ['opcache.preload_user' => 'root'] : []), self::$isRoot);
        // c: preloaded, master not root, the client made in the master (credentials in its environment).
        if (self::$isRoot) {
            chown(self::$dir . '/c', 'nobody');
        }
        self::startFpm('c', $fpm, [
            'c' => [2, ['ffi.enable' => 'preload'], ['SCENARIO' => 'c']],
        ], $path + $common + ['PIRSCH_ACCESS_KEY' => 'pa_standin_key'], ['opcache.preload' => $preload], false);
        self::startNginx($nginx);
    }

    /** Copies the PHP package, the test page, the library and the header under $to (0755/0644). */
    private static function mirror(string $to, string $lib, string $header): string
    {
        $copyTree = function (string $from, string $dest) use (&$copyTree): void {
            @mkdir($dest, 0755, true);
            chmod($dest, 0755);
            foreach (scandir($from) as $name) {
                if ($name === '.' || $name === '..') {
                    continue;
                }
                if (is_dir("$from/$name")) {
                    $copyTree("$from/$name", "$dest/$name");
                } else {
                    copy("$from/$name", "$dest/$name");
                    chmod("$dest/$name", 0644);
                }
            }
        };
        $copyTree(self::$root . '/bindings/php', "$to/bindings/php");
        $copyTree(__DIR__ . '/www', "$to/tests/php/www");
        foreach (["$to/tests", "$to/tests/php", "$to/bindings", $to] as $d) {
            chmod($d, 0755);
        }
        @mkdir("$to/lib", 0755);
        @mkdir("$to/include", 0755);
        copy($lib, "$to/lib/libpirsch.so");
        chmod("$to/lib/libpirsch.so", 0755);
        copy($header, "$to/include/pirsch.h");
        chmod("$to/include/pirsch.h", 0644);
        return $to;
    }

    public static function tearDownAfterClass(): void
    {
        foreach (array_reverse(self::$procs) as $name => $proc) {
            self::stop($name, self::SIGTERM, 3.0);
        }
        self::$standin?->stop();
        self::$standin = null;
        if (isset(self::$dir) && is_dir(self::$dir) && !getenv('PIRSCH_KEEP_E2E')) {
            exec('rm -rf ' . escapeshellarg(self::$dir));
        }
    }

    public function testFfiRestrictedToPreloadingNeverFailsThePageAndSaysWhatToSet(): void
    {
        for ($i = 0; $i < 3; $i++) {
            [$status, $body] = self::request('/r/page');
            $this->assertSame(200, $status, json_encode($body));
            $this->assertFalse($body['queued']);
        }
        $this->assertSame(['ffi'], array_keys($body['dropped']), json_encode($body));
        $this->assertSame(3, $body['dropped']['ffi']['count']);
        $message = $body['dropped']['ffi']['message'];
        $this->assertStringContainsString('ffi.enable=preload', $message);
        $this->assertStringContainsString('php_admin_value[ffi.enable] = true', $message);
        $this->assertStringContainsString('preload.php', $message);
        $log = (string) file_get_contents(self::$dir . '/a/php-errors.log');
        $this->assertSame(1, substr_count($log, 'pirsch: page views are not counted (ffi)'), $log);
    }

    public function testScenarioA(): void
    {
        // A trusted proxy (the peer 127.0.0.1) forwards the visitor; an untrusted peer's header is ignored.
        $this->pageView('a', '/a/products/42?color=red', ['X-Forwarded-For' => '198.51.100.7']);
        $this->pageView('a', '/a/products/43', ['X-Forwarded-For' => '198.51.100.8'], '127.0.0.2');
        for ($i = 1; $i <= 6; $i++) {
            $this->pageView('a', "/a/page/$i", ['X-Forwarded-For' => "192.0.2.$i, 127.0.0.1"]);
        }
        [$status, $body] = self::request('/a/form', method: 'POST');
        $this->assertSame(200, $status);
        $this->assertFalse($body['queued'], 'a POST is not a page view');
        $this->assertPersistentClients('a', 8, 'cdef ');
        $this->assertSame(0, self::$served['a'][0]['stats']['forks_detected'], 'made in the worker');
    }

    public function testScenarioB(): void
    {
        for ($i = 1; $i <= 4; $i++) {
            $this->pageView('b', "/b/article/$i?utm_source=mastodon", ['X-Forwarded-For' => "203.0.113.$i"]);
        }
        $this->assertPersistentClients('b', 4, self::$isRoot ? 'cdef ' : 'scope pirsch');
        $this->assertCount(1, array_unique(array_column(self::$served['b'], 'pid')));
    }

    public function testScenarioC(): void
    {
        for ($i = 1; $i <= 4; $i++) {
            $this->pageView('c', "/c/docs/$i", ['X-Forwarded-For' => "198.51.100.10$i"]);
        }
        $this->assertPersistentClients('c', 4, 'scope pirsch');
        foreach (self::$served['c'] as $r) {
            $this->assertSame(1, $r['stats']['forks_detected'], 'the client came from the master');
        }
    }

    /**
     * @depends testScenarioA
     * @depends testScenarioB
     * @depends testScenarioC
     */
    public function testAGracefulStopLosesNothing(): void
    {
        $this->assertSame([], self::$standin->bodies('hit'), 'nothing was sent while the workers ran (flush interval 10 min)');
        foreach (['fpm-a', 'fpm-b', 'fpm-c'] as $name) {
            proc_terminate(self::$procs[$name], self::SIGQUIT);
        }
        foreach (['fpm-a', 'fpm-b', 'fpm-c'] as $name) {
            $code = self::wait($name, 15.0);
            $log = (string) @file_get_contents(self::$dir . '/' . substr($name, -1) . '/fpm.log');
            $this->assertSame(0, $code, "$name did not exit cleanly:\n$log");
            $this->assertDoesNotMatchRegularExpression('/exited on signal|SIGSEGV|SIGTERM|SIGKILL|Fatal/i', $log, $log);
        }

        $bodies = self::$standin->bodies('hit');
        $byScenario = [];
        foreach ($bodies as $body) {
            $byScenario[$body['tags']['scenario']][] = $body;
        }
        ksort($byScenario);
        $this->assertSame(['a' => 8, 'b' => 4, 'c' => 4], array_map('count', $byScenario), 'every page view arrived, none twice');
        $this->assertStringNotContainsString('never-sent', json_encode(self::$standin->items()));
        $this->assertLessThanOrEqual(2, self::$standin->counters()['token_requests'], 'one token per worker of a, not per request');

        $byUrl = array_column($bodies, null, 'url');
        $first = $byUrl['http://shop.example/a/products/42?color=red'] ?? null;
        $this->assertNotNull($first, json_encode(array_keys($byUrl)));
        $this->assertMatchesRegularExpression('/^\d{4}-\d\d-\d\dT/', $first['time']);
        unset($first['time']);
        $this->assertSame([
            'url' => 'http://shop.example/a/products/42?color=red',
            'ip' => '198.51.100.7',
            'user_agent' => self::UA,
            'accept_language' => self::BROWSER['Accept-Language'],
            'sec_ch_ua' => self::BROWSER['Sec-CH-UA'],
            'sec_ch_ua_mobile' => '?0',
            'sec_ch_ua_platform' => '"Windows"',
            'referrer' => self::BROWSER['Referer'],
            'tags' => ['scenario' => 'a'],
        ], $first);
        $this->assertSame('127.0.0.2', $byUrl['http://shop.example/a/products/43']['ip'], 'X-Forwarded-For from an untrusted peer is ignored');
        for ($i = 1; $i <= 6; $i++) {
            $this->assertSame("192.0.2.$i", $byUrl["http://shop.example/a/page/$i"]['ip']);
        }
        for ($i = 1; $i <= 4; $i++) {
            $this->assertSame("203.0.113.$i", $byUrl["http://shop.example/b/article/$i?utm_source=mastodon"]['ip']);
            $this->assertSame("198.51.100.10$i", $byUrl["http://shop.example/c/docs/$i"]['ip']);
        }
    }

    /**
     * PHP-FPM recycling its workers (pm.max_requests) while the API is down: each retiring
     * worker spools what it holds; once the API is back the workers after them claim the
     * spooled files. Exactly the page views served arrive, once each, with the time they were
     * served, and the spool is empty at the end.
     *
     * @depends testAGracefulStopLosesNothing
     */
    public function testWorkerRecyclingWithTheApiDownLosesNothing(): void
    {
        self::$standin->reset();
        self::$standin->fault(['path_prefix' => '/api/v1/hit', 'status' => 503]);
        $spool = self::$dir . '/d-spool';
        $env = ['SCENARIO' => 'd', 'PIRSCH_ACCESS_KEY' => 'pa_standin_key', 'PIRSCH_SPOOL_DIR' => $spool,
            'PIRSCH_FLUSH_INTERVAL_MS' => '100', 'PIRSCH_SHUTDOWN_TIMEOUT_MS' => '300'] + self::$common;
        self::startFpm('d', self::fpmBinary(), ['d' => [2, ['ffi.enable' => 'true'], $env, 4]], ['PATH' => '/usr/bin:/bin'], [], self::$isRoot);
        $outage = microtime(true);
        $pids = [];
        for ($i = 1; $i <= 24; $i++) {
            [$status, $body] = self::request("/d/p/$i", ['X-Forwarded-For' => "198.51.100.$i"] + self::BROWSER);
            $this->assertSame(200, $status, json_encode($body) . self::logs());
            $this->assertTrue($body['queued'], json_encode($body));
            $pids[$body['pid']] = true;
        }
        $this->assertGreaterThanOrEqual(4, count($pids), 'workers were recycled (pm.max_requests = 4)');
        usleep(1_500_000);   // the last retired workers finish spooling
        $this->assertSame([], self::$standin->bodies('hit'), 'nothing got through while the API was down');
        $files = glob("$spool/*") ?: [];
        $this->assertNotEmpty($files, 'retired workers spooled what they held');
        foreach ($files as $file) {
            $this->assertSame(0600, fileperms($file) & 0777, "$file is the owner's only");
            $this->assertStringNotContainsString('pa_standin_key', (string) file_get_contents($file), 'no secret in the spool');
        }
        $back = microtime(true);
        self::$standin->call('DELETE', '/_standin/faults');
        [$status] = self::request('/d/after', self::BROWSER);
        $this->assertSame(200, $status);
        // The workers' senders failed through the whole outage: their next try can be up to
        // 16 s away (500 ms x 2^n, full jitter), so this waits longer than it usually takes.
        $bodies = self::$standin->waitFor(25, 'hit', 60.0);
        proc_terminate(self::$procs['fpm-d'], self::SIGQUIT);
        $this->assertSame(0, self::wait('fpm-d', 15.0), self::logs());
        $bodies = self::$standin->bodies('hit');
        $urls = array_column($bodies, 'url');
        $expected = array_map(fn ($i) => "http://shop.example/d/p/$i", range(1, 24));
        $expected[] = 'http://shop.example/d/after';
        sort($urls);
        sort($expected);
        $this->assertSame($expected, $urls, 'every page view once, after recycling with the API down');
        foreach ($bodies as $body) {
            if ($body['url'] !== 'http://shop.example/d/after') {
                $t = (new \DateTimeImmutable($body['time']))->format('U.u');
                $this->assertGreaterThanOrEqual($outage - 1, (float) $t);
                $this->assertLessThan($back, (float) $t, "{$body['url']} kept the time it was served");
            }
        }
        $left = [];
        foreach (glob("$spool/*") ?: [] as $file) {
            $left[basename($file)] = filesize($file);
        }
        $this->assertSame([], array_filter($left, fn ($n) => $n > 64), 'the spool was emptied: ' . json_encode($left));
    }

    private static function fpmBinary(): string
    {
        $versioned = '/usr/sbin/php-fpm' . PHP_MAJOR_VERSION . '.' . PHP_MINOR_VERSION;
        return getenv('PHP_FPM') ?: (is_executable($versioned) ? $versioned : '/usr/sbin/php-fpm');
    }

    /** One page view through nginx, with a browser's headers; records the page's answer. */
    private function pageView(string $scenario, string $path, array $headers, string $from = '127.0.0.1'): void
    {
        [$status, $body] = self::request($path, $headers + self::BROWSER, $from);
        $this->assertSame(200, $status, json_encode($body) . "\n" . self::logs());
        $this->assertTrue($body['queued'], json_encode($body));
        self::$served[$scenario][] = $body;
    }

    /**
     * Each worker's client survived its requests: the queue count a worker reports grows by
     * one per page view it served (a client per request would say 1 every time).
     */
    private function assertPersistentClients(string $scenario, int $total, string $source): void
    {
        $counts = [];
        foreach (self::$served[$scenario] as $r) {
            $this->assertStringStartsWith($source, $r['source']);
            $counts[$r['pid']][] = $r['stats']['enqueued'];
        }
        $sum = 0;
        foreach ($counts as $pid => $seen) {
            $this->assertSame(range(1, count($seen)), $seen, "worker $pid: one client, its queue count growing by one per request");
            $sum += count($seen);
        }
        $this->assertSame($total, $sum);
        $this->assertGreaterThan(count($counts), $total, 'some worker served more than one page view');
    }

    /** @return array{0: int, 1: mixed} status and decoded JSON body */
    private static function request(string $path, array $headers = self::BROWSER, string $from = '127.0.0.1', string $method = 'GET'): array
    {
        $context = stream_context_create(['socket' => ['bindto' => "$from:0"]]);
        $socket = stream_socket_client('tcp://127.0.0.1:' . self::$port, $errno, $error, 5, STREAM_CLIENT_CONNECT, $context);
        if ($socket === false) {
            self::fail("connect from $from: $error");
        }
        stream_set_timeout($socket, 10);
        $text = "$method $path HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\nContent-Length: 0\r\n";
        foreach ($headers as $name => $value) {
            $text .= "$name: $value\r\n";
        }
        fwrite($socket, "$text\r\n");
        $response = stream_get_contents($socket);
        fclose($socket);
        [$head, $body] = explode("\r\n\r\n", (string) $response, 2) + [1 => ''];
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

    /** @param array<string, array{0: int, 1: array, 2: array, 3?: int}> $pools name => [workers, ini, env, max_requests] */
    private static function startFpm(string $name, string $fpm, array $pools, array $env, array $ini, bool $asRoot): void
    {
        $dir = self::$dir . "/$name";
        $conf = "[global]\npid = $dir/fpm.pid\nerror_log = $dir/fpm.log\nlog_level = notice\ndaemonize = no\n"
            . "; a stopping worker needs time to deliver its queue (shutdown_timeout_ms) before SIGTERM\n"
            . "process_control_timeout = 10s\n";
        foreach ($pools as $pool => $spec) {
            [$workers, $poolIni, $poolEnv] = $spec;
            $maxRequests = $spec[3] ?? 0;
            $conf .= "\n[$pool]\n" . ($asRoot ? "user = root\ngroup = root\n" : '')
                . "listen = $dir/$pool.sock\nlisten.mode = 0666\npm = static\npm.max_children = $workers\npm.max_requests = $maxRequests\n"
                . "clear_env = no\ncatch_workers_output = yes\ndecorate_workers_output = no\n"
                . "php_admin_flag[log_errors] = on\nphp_admin_value[error_log] = $dir/php-errors.log\n";
            foreach ($poolIni as $key => $value) {
                $conf .= "php_admin_value[$key] = $value\n";
            }
            foreach ($poolEnv as $key => $value) {
                $conf .= "env[$key] = \"$value\"\n";
            }
        }
        file_put_contents("$dir/fpm.conf", $conf);
        $cmd = [$fpm, '-F', '-y', "$dir/fpm.conf"];
        foreach ($ini as $key => $value) {
            array_push($cmd, '-d', "$key=$value");
        }
        if ($asRoot) {
            $cmd[] = '-R';
        } elseif (self::$isRoot) {
            $cmd = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', ...$cmd];
        }
        self::start("fpm-$name", $cmd, $env, "$dir/fpm.out");
        foreach (array_keys($pools) as $pool) {
            self::waitFor(fn () => @stream_socket_client("unix://$dir/$pool.sock", $e, $s, 1), "fpm-$name ($pool.sock)", "$dir/fpm.log");
        }
    }

    private static function startNginx(string $nginx): void
    {
        self::$port = pirsch_test_free_port();
        $dir = self::$dir;
        $www = self::$tree . '/tests/php/www';
        $params = '';
        foreach ([
            'QUERY_STRING' => '$query_string', 'REQUEST_METHOD' => '$request_method', 'CONTENT_TYPE' => '$content_type',
            'CONTENT_LENGTH' => '$content_length', 'SCRIPT_FILENAME' => "$www/index.php", 'SCRIPT_NAME' => '/index.php',
            'REQUEST_URI' => '$request_uri', 'DOCUMENT_URI' => '$document_uri', 'DOCUMENT_ROOT' => $www,
            'SERVER_PROTOCOL' => '$server_protocol', 'REQUEST_SCHEME' => '$scheme', 'GATEWAY_INTERFACE' => 'CGI/1.1',
            'REMOTE_ADDR' => '$remote_addr', 'REMOTE_PORT' => '$remote_port', 'SERVER_ADDR' => '$server_addr',
            'SERVER_PORT' => '$server_port', 'SERVER_NAME' => '$server_name',
        ] as $key => $value) {
            $params .= "            fastcgi_param $key $value;\n";
        }
        $params .= "            fastcgi_param HTTPS \$https if_not_empty;\n";
        $locations = '';
        foreach (['a' => 'a/a', 'r' => 'a/r', 'b' => 'b/b', 'c' => 'c/c', 'd' => 'd/d'] as $prefix => $sock) {
            $locations .= "        location /$prefix/ {\n$params            fastcgi_pass unix:$dir/$sock.sock;\n        }\n";
        }
        $user = self::$isRoot ? "user root;\n" : '';   // workers as root: the temporary paths are ours
        $port = self::$port;
        file_put_contents("$dir/nginx.conf", <<<CONF
            {$user}worker_processes 1;
            pid $dir/nginx.pid;
            events { worker_connections 256; }
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
        self::start('nginx', [$nginx, '-p', $dir, '-c', "$dir/nginx.conf", '-e', "$dir/nginx-error.log", '-g', 'daemon off;'], [], "$dir/nginx.out");
        self::waitFor(fn () => @stream_socket_client('tcp://127.0.0.1:' . self::$port, $e, $s, 1), 'nginx', "$dir/nginx-error.log");
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

    /** Waits for a process to exit; its exit code, or -1 if it had to be killed. */
    private static function wait(string $name, float $seconds): int
    {
        $deadline = microtime(true) + $seconds;
        while (true) {
            $status = proc_get_status(self::$procs[$name]);
            if (!$status['running']) {
                proc_close(self::$procs[$name]);
                unset(self::$procs[$name]);
                return $status['signaled'] ? 128 + $status['termsig'] : $status['exitcode'];
            }
            if (microtime(true) > $deadline) {
                proc_terminate(self::$procs[$name], self::SIGKILL);
                proc_close(self::$procs[$name]);
                unset(self::$procs[$name]);
                return -1;
            }
            usleep(20000);
        }
    }

    private static function stop(string $name, int $signal, float $seconds): void
    {
        if (isset(self::$procs[$name])) {
            $status = proc_get_status(self::$procs[$name]);
            if ($status['running']) {
                proc_terminate(self::$procs[$name], $signal);
            }
            self::wait($name, $seconds);
        }
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
