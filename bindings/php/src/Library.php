<?php

declare(strict_types=1);

namespace Pirsch\Native;

use Pirsch\Native\Exception\AuthException;
use Pirsch\Native\Exception\ClosedException;
use Pirsch\Native\Exception\HttpException;
use Pirsch\Native\Exception\InternalException;
use Pirsch\Native\Exception\InvalidArgumentException;
use Pirsch\Native\Exception\LoadException;
use Pirsch\Native\Exception\NetworkException;
use Pirsch\Native\Exception\PirschException;
use Pirsch\Native\Exception\QueueFullException;
use Pirsch\Native\Exception\TimeoutException;
use Pirsch\Native\Internal\Settings;

/**
 * Loads libpirsch through FFI, once per process (per request in a server without preloading,
 * since PHP resets static state after each request).
 *
 * The declarations come from pirsch.h, which FFI cannot read as it is (no preprocessor):
 * comments, preprocessor lines and the C++ guard are removed, and every integer
 * `#define PIRSCH_*` becomes an enum constant, readable as `$ffi->PIRSCH_OK`. Nothing is kept
 * by hand. The installed header (libpirsch-dev, `make install`) is used when there is one,
 * since it matches the installed library; otherwise the copy this package ships
 * (include/pirsch.h), so the runtime library alone (libpirsch0) is enough. If a scope
 * "pirsch" was preloaded (preload.php, or ffi.preload with the file that
 * `php preload.php --ffi-header FILE` writes), that scope is used instead.
 *
 * The library and the header can be named by PIRSCH_LIBRARY / PIRSCH_HEADER (environment)
 * or pirsch.library / pirsch.header (php.ini); see Internal\Settings.
 */
final class Library
{
    public const SCOPE = 'pirsch';

    /** The copy of pirsch.h this package ships, used when no pirsch.h is installed. */
    public const BUNDLED_HEADER = __DIR__ . '/../include/pirsch.h';

    private static ?\FFI $ffi = null;
    private static string $source = '';
    /** @var array<int, class-string<PirschException>> */
    private static array $exceptions = [];

    /** The FFI object of libpirsch; loads it on first use. */
    public static function ffi(): \FFI
    {
        return self::$ffi ?? self::load();
    }

    /** How the library was loaded: "scope pirsch" or "cdef LIBRARY (HEADER)"; "" before. */
    public static function source(): string
    {
        return self::$source;
    }

    /** The version of the loaded library, e.g. "0.1.0". */
    public static function version(): string
    {
        return self::ffi()->pirsch_version();
    }

    private static function load(): \FFI
    {
        if (!extension_loaded('ffi')) {
            throw new LoadException('the PHP FFI extension is not loaded; libpirsch needs it: enable it with extension=ffi '
                . '(on Debian it comes with php8.x-common; `php -m` lists it as FFI)', 0, null, LoadException::FFI);
        }
        $enable = strtolower((string) ini_get('ffi.enable'));
        if (in_array($enable, ['', '0', 'off', 'false', 'no'], true)) {
            throw new LoadException('PHP\'s FFI is disabled (ffi.enable=0); libpirsch needs it: set ffi.enable=true '
                . '(PHP-FPM pool: php_admin_value[ffi.enable] = true), or ffi.enable=preload with the package preloaded '
                . '(opcache.preload=' . dirname(__DIR__) . '/preload.php)', 0, null, LoadException::FFI);
        }
        try {
            $ffi = \FFI::scope(self::SCOPE);
            self::$source = 'scope ' . self::SCOPE;
            return self::$ffi = $ffi;
        } catch (\FFI\Exception) {
            // Not preloaded (or FFI restricted here): load from the header below.
        }
        $library = self::findLibrary();
        $header = self::findHeader($library);
        $text = self::readHeader($header);
        try {
            $ffi = \FFI::cdef(self::declarations($text), $library);
        } catch (\FFI\Exception $e) {
            if (str_contains($e->getMessage(), 'restricted')) {
                throw new LoadException('PHP\'s FFI is restricted to preloaded code here (ffi.enable=' . $enable . ', the default '
                    . 'of PHP-FPM and other servers; the CLI is exempt): set ffi.enable = true (in a file in PHP-FPM\'s conf.d, or '
                    . 'php_admin_value[ffi.enable] = true in the pool), or '
                    . 'preload the package with opcache.preload=' . dirname(__DIR__) . '/preload.php (see bindings/php/README.md)', 0, $e, LoadException::FFI);
            }
            throw new LoadException("loading $library with the declarations of $header failed: " . $e->getMessage(), 0, $e);
        }
        $want = self::headerVersion($text);
        $have = $ffi->pirsch_version();
        if ($want !== null && explode('.', $want)[0] !== explode('.', $have)[0]) {
            throw new LoadException("$library is libpirsch $have but $header is for $want; "
                . 'point PIRSCH_LIBRARY and PIRSCH_HEADER at the same installation');
        }
        self::$source = "cdef $library ($header)";
        return self::$ffi = $ffi;
    }

    /**
     * Where libpirsch is: PIRSCH_LIBRARY (or pirsch.library in php.ini), or the shared library
     * under /usr/local/lib, the multiarch /usr/lib/<arch>-linux-gnu (Debian's libpirsch0),
     * /usr/lib64 or /usr/lib.
     */
    public static function findLibrary(): string
    {
        $set = self::setting('library');
        if ($set !== null) {
            [$from, $path] = $set;
            if (str_contains($path, '/') && !is_file($path)) {
                throw new LoadException("$from=$path does not exist; set it to the path of libpirsch.so.0");
            }
            return $path;
        }
        $candidates = [];
        foreach (['/usr/local/lib', '/usr/lib/' . php_uname('m') . '-linux-gnu', '/usr/lib64', '/usr/lib'] as $dir) {
            foreach (['libpirsch.so.0', 'libpirsch.so'] as $name) {
                $candidates[] = "$dir/$name";
                if (is_file("$dir/$name")) {
                    return "$dir/$name";
                }
            }
        }
        throw new LoadException('libpirsch not found: PIRSCH_LIBRARY is not set and none of ' . implode(', ', $candidates)
            . ' exists; install libpirsch (the libpirsch0 package, or `make build && sudo make install`) or set PIRSCH_LIBRARY '
            . '(or pirsch.library in php.ini) to the path of libpirsch.so.0');
    }

    /**
     * Where pirsch.h is: PIRSCH_HEADER (or pirsch.header in php.ini), next to the library's
     * prefix (PREFIX/lib/.. and, for a build tree, target/release/../..), /usr/local/include,
     * /usr/include, or else the copy this package ships.
     */
    public static function findHeader(string $library): string
    {
        $set = self::setting('header');
        if ($set !== null) {
            [$from, $path] = $set;
            if (!is_file($path)) {
                throw new LoadException("$from=$path does not exist; set it to the path of pirsch.h");
            }
            return $path;
        }
        $candidates = [];
        if (str_contains($library, '/')) {
            $candidates[] = dirname($library, 2) . '/include/pirsch.h';
            $candidates[] = dirname($library, 3) . '/include/pirsch.h';
        }
        $candidates[] = '/usr/local/include/pirsch.h';
        $candidates[] = '/usr/include/pirsch.h';
        $candidates[] = self::BUNDLED_HEADER;
        foreach ($candidates as $candidate) {
            if (is_file($candidate)) {
                return $candidate;
            }
        }
        throw new LoadException('pirsch.h not found: PIRSCH_HEADER is not set and none of ' . implode(', ', array_unique($candidates))
            . " exists (the library is $library); install libpirsch's header or set PIRSCH_HEADER to the path of pirsch.h");
    }

    /** @return array{0: string, 1: string}|null [where it was set, the value] */
    private static function setting(string $name): ?array
    {
        $env = 'PIRSCH_' . strtoupper($name);
        $value = getenv($env);
        if (is_string($value) && $value !== '') {
            return [$env, $value];
        }
        try {
            $value = Settings::get($name);
        } catch (\RuntimeException $e) {
            throw new LoadException($e->getMessage(), 0, $e);
        }
        return $value === null ? null : ["php.ini pirsch.$name", $value];
    }

    public static function readHeader(string $header): string
    {
        $text = @file_get_contents($header);
        if ($text === false || !str_contains($text, 'pirsch_client_new')) {
            throw new LoadException("cannot read the libpirsch declarations from $header; set PIRSCH_HEADER to the path of pirsch.h");
        }
        return $text;
    }

    /** PIRSCH_VERSION of a header's text, or null. */
    public static function headerVersion(string $text): ?string
    {
        return preg_match('/^#define\s+PIRSCH_VERSION\s+"([^"]*)"/m', $text, $m) ? $m[1] : null;
    }

    /**
     * The declarations FFI::cdef and FFI::load accept, derived from pirsch.h's text: comments,
     * C++ guards and preprocessor lines removed; integer `#define PIRSCH_*` turned into enum
     * constants.
     */
    public static function declarations(string $text): string
    {
        $text = str_replace("\r\n", "\n", $text);
        $text = preg_replace('~/\*.*?\*/~s', '', $text);
        $text = preg_replace('~//[^\n]*~', '', $text);
        // `#ifdef __cplusplus ... #endif` blocks hold only `extern "C" {` and its `}`.
        $text = preg_replace('~^[ \t]*#[ \t]*ifdef[ \t]+__cplusplus\b.*?^[ \t]*#[ \t]*endif\b[^\n]*$~ms', '', $text);
        $text = preg_replace('~^[ \t]*#[ \t]*define[ \t]+(PIRSCH_\w+)[ \t]+\(?(-?(?:0x[0-9a-fA-F]+|\d+))\)?[ \t]*$~m', 'enum { $1 = $2 };', $text);
        $text = preg_replace('~^[ \t]*#[^\n]*$~m', '', $text);
        return trim(preg_replace("~\n{3,}~", "\n\n", $text)) . "\n";
    }

    /** The text of a header file for FFI::load or ffi.preload: the scope "pirsch" of $library. */
    public static function scopeFile(string $headerText, string $library): string
    {
        if (preg_match('~\s~', $library)) {
            // PHP's FFI_LIB cannot hold whitespace ("bad FFI_LIB define"): name the library
            // through a link without any, in this user's private temporary folder.
            $dir = sys_get_temp_dir() . '/pirsch-native-' . (function_exists('posix_getuid') ? posix_getuid() : getmyuid());
            @mkdir($dir, 0700, true);
            $link = $dir . '/lib-' . substr(hash('sha256', $library), 0, 16) . '.so';
            if (@readlink($link) !== $library) {
                @unlink($link);
                @symlink($library, $link);
            }
            if (@readlink($link) === $library) {
                $library = $link;
            }
        }
        return '#define FFI_SCOPE "' . self::SCOPE . "\"\n#define FFI_LIB \"" . addcslashes($library, "\"\\") . "\"\n"
            . "/* Derived from pirsch.h by Pirsch\\Native\\Library::declarations(); regenerate it when libpirsch changes. */\n"
            . self::declarations($headerText);
    }

    /** The value of a PIRSCH_* integer constant of the header, or null if it has none. */
    public static function code(string $name): ?int
    {
        try {
            return (int) self::ffi()->$name;
        } catch (\FFI\Exception) {
            return null;   // e.g. a scope "pirsch" preloaded from other declarations
        }
    }

    /** The exception for the result code named $name (e.g. PIRSCH_ERR_INVALID_ARGUMENT). */
    public static function error(string $name, string $message): PirschException
    {
        $code = self::code($name);
        return $code === null ? new PirschException($message) : self::exception($code, $message);
    }

    /** The exception for a result code, carrying the library's message. */
    public static function exception(int $code, string $message): PirschException
    {
        if (self::$exceptions === []) {
            $ffi = self::ffi();
            $byName = [
                'PIRSCH_ERR_NULL_ARGUMENT' => InvalidArgumentException::class,
                'PIRSCH_ERR_INVALID_ARGUMENT' => InvalidArgumentException::class,
                'PIRSCH_ERR_INVALID_UTF8' => InvalidArgumentException::class,
                'PIRSCH_ERR_AUTH' => AuthException::class,
                'PIRSCH_ERR_HTTP' => HttpException::class,
                'PIRSCH_ERR_NETWORK' => NetworkException::class,
                'PIRSCH_ERR_TIMEOUT' => TimeoutException::class,
                'PIRSCH_ERR_QUEUE_FULL' => QueueFullException::class,
                'PIRSCH_ERR_CLOSED' => ClosedException::class,
                'PIRSCH_ERR_PANIC' => InternalException::class,
            ];
            foreach ($byName as $name => $class) {
                try {
                    self::$exceptions[(int) $ffi->$name] = $class;
                } catch (\FFI\Exception) {
                    // A header without this code: its failures stay plain PirschException.
                }
            }
        }
        $class = self::$exceptions[$code] ?? PirschException::class;
        if ($message === '') {
            $message = self::ffi()->pirsch_strerror($code);
        }
        return new $class($message, $code);
    }
}
