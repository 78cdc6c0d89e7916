<?php

declare(strict_types=1);

namespace Pirsch\Native\Tests;

use Pirsch\Native\Library;

final class LibraryTest extends TestCase
{
    private static function headerText(): string
    {
        return (string) file_get_contents((string) getenv('PIRSCH_HEADER'));
    }

    public function testDeclarationsAreDerivedFromTheHeaderWithEveryConstant(): void
    {
        $text = self::headerText();
        $decl = Library::declarations($text);
        $this->assertStringNotContainsString('#', $decl);
        $this->assertStringNotContainsString('extern', $decl);
        $this->assertStringContainsString('pirsch_hit_enqueue', $decl);

        preg_match_all('/^#define\s+(PIRSCH_\w+)\s+(-?\d+)\s*$/m', $text, $m, PREG_SET_ORDER);
        $this->assertGreaterThan(10, count($m));
        $ffi = Library::ffi();
        foreach ($m as [, $name, $value]) {
            $this->assertSame((int) $value, $ffi->$name, $name);
        }
    }

    public function testTheLibraryMatchesItsHeader(): void
    {
        $this->assertSame(Library::headerVersion(self::headerText()), Library::version());
        $this->assertStringStartsWith('cdef ', Library::source());
    }

    public function testAPreloadedScopeIsUsed(): void
    {
        $file = tempnam(sys_get_temp_dir(), 'pirsch-scope-');
        try {
            [$rc, $out, $err] = self::php([dirname(__DIR__) . '/preload.php', '--ffi-header', $file]);
            $this->assertSame(0, $rc, $err);
            $this->assertStringStartsWith('#define FFI_SCOPE "pirsch"', (string) file_get_contents($file));
            [$rc, $out, $err] = self::php(['-r', 'require "' . dirname(__DIR__) . '/autoload.php"; $v = Pirsch\Native\Client::version(); echo Pirsch\Native\Library::source(), " ", $v;'],
                ini: ['ffi.preload' => $file]);
            $this->assertSame(0, $rc, $err);
            $this->assertSame('scope pirsch ' . Library::version(), $out);
        } finally {
            @unlink($file);
        }
    }

    public function testFfiDisabledSaysWhatToSet(): void
    {
        [$rc, $out, $err] = self::php([self::fixture('load.php')], ini: ['ffi.enable' => '0']);
        $this->assertStringContainsString('LoadException', $out);
        $this->assertStringContainsString('ffi.enable=true', $out);
        $this->assertStringContainsString('preload.php', $out);
    }

    public function testAMissingLibrarySaysWhereItLooked(): void
    {
        [, $out] = self::php([self::fixture('load.php')], env: ['PIRSCH_LIBRARY' => '/nonexistent/libpirsch.so.0']);
        $this->assertStringContainsString('LoadException: PIRSCH_LIBRARY=/nonexistent/libpirsch.so.0 does not exist', $out);

        [, $out] = self::php([self::fixture('load.php')], env: ['PIRSCH_LIBRARY' => '']);
        if (str_starts_with($out, 'loaded')) {
            $this->markTestSkipped('libpirsch is installed on this machine');
        }
        $this->assertStringContainsString('libpirsch not found', $out);
        $this->assertStringContainsString('/usr/local/lib/libpirsch.so.0', $out);
        $this->assertStringContainsString('set PIRSCH_LIBRARY', $out);
    }

    public function testWithoutAnInstalledHeaderTheBundledCopyIsUsed(): void
    {
        $dir = sys_get_temp_dir() . '/pirsch-nohdr-' . getmypid();
        @mkdir("$dir/lib", 0700, true);
        symlink((string) realpath((string) getenv('PIRSCH_LIBRARY')), "$dir/lib/libpirsch.so.0");
        try {
            $code = 'require "' . dirname(__DIR__) . '/autoload.php"; $v = Pirsch\Native\Library::version(); echo Pirsch\Native\Library::source(), "|$v";';
            [$rc, $out, $err] = self::php(['-r', $code], env: ['PIRSCH_LIBRARY' => "$dir/lib/libpirsch.so.0", 'PIRSCH_HEADER' => '']);
            $this->assertSame(0, $rc, $err);
            if (!str_contains($out, '/usr/local/include/pirsch.h') && !str_contains($out, '/usr/include/pirsch.h')) {
                $this->assertSame("cdef $dir/lib/libpirsch.so.0 (" . Library::BUNDLED_HEADER . ')|' . Library::version(), $out);
            }

            [, $out] = self::php([self::fixture('load.php')], env: ['PIRSCH_HEADER' => '/nonexistent/pirsch.h']);
            $this->assertStringContainsString('PIRSCH_HEADER=/nonexistent/pirsch.h does not exist', $out);
            [, $out] = self::php([self::fixture('load.php')], env: ['PIRSCH_HEADER' => '', 'PIRSCH_LIBRARY' => ''],
                ini: ['pirsch.library' => "$dir/lib/libpirsch.so.0", 'pirsch.header' => '/nonexistent/pirsch.h']);
            $this->assertStringContainsString('php.ini pirsch.header=/nonexistent/pirsch.h does not exist', $out);
            [, $out] = self::php([self::fixture('load.php')], env: ['PIRSCH_HEADER' => '', 'PIRSCH_LIBRARY' => ''],
                ini: ['pirsch.library' => "$dir/lib/libpirsch.so.0"]);
            $this->assertSame('loaded ' . Library::version() . "\n", $out, 'the library from php.ini');
        } finally {
            unlink("$dir/lib/libpirsch.so.0");
            rmdir("$dir/lib");
            rmdir($dir);
        }
    }

    /** The copy of pirsch.h the package ships is the repository's header (`make php-header` copies it). */
    public function testTheBundledHeaderIsCurrent(): void
    {
        $this->assertFileEquals(dirname(__DIR__, 3) . '/include/pirsch.h', Library::BUNDLED_HEADER,
            'bindings/php/include/pirsch.h is stale: run `make php-header`');
    }

    public function testEveryResultCodeHasItsException(): void
    {
        $expect = [
            'PIRSCH_ERR_NULL_ARGUMENT' => 'InvalidArgumentException',
            'PIRSCH_ERR_INVALID_ARGUMENT' => 'InvalidArgumentException',
            'PIRSCH_ERR_INVALID_UTF8' => 'InvalidArgumentException',
            'PIRSCH_ERR_AUTH' => 'AuthException',
            'PIRSCH_ERR_HTTP' => 'HttpException',
            'PIRSCH_ERR_NETWORK' => 'NetworkException',
            'PIRSCH_ERR_TIMEOUT' => 'TimeoutException',
            'PIRSCH_ERR_QUEUE_FULL' => 'QueueFullException',
            'PIRSCH_ERR_CLOSED' => 'ClosedException',
            'PIRSCH_ERR_PANIC' => 'InternalException',
        ];
        preg_match_all('/^#define\s+(PIRSCH_ERR_\w+)\s/m', self::headerText(), $m);
        $this->assertEqualsCanonicalizing(array_keys($expect), $m[1], 'a result code without its exception class');
        $ffi = Library::ffi();
        foreach ($expect as $name => $class) {
            $e = Library::exception($ffi->$name, 'why');
            $this->assertInstanceOf("Pirsch\\Native\\Exception\\$class", $e, $name);
            $this->assertSame($ffi->$name, $e->getCode());
            $this->assertSame('why', $e->getMessage());
        }
        $this->assertSame(\Pirsch\Native\Exception\PirschException::class, get_class(Library::exception(12345, 'x')));
        $this->assertNotSame('', Library::exception($ffi->PIRSCH_ERR_TIMEOUT, '')->getMessage(), 'strerror when there is no message');
    }
}
