<?php
// Preloading for PHP-FPM (and other servers), whose default ffi.enable=preload lets only
// preloaded code use FFI:
//
//   opcache.preload = /path/to/bindings/php/preload.php
//   opcache.preload_user = www-data        ; required when the master runs as root
//
// 1. Preloads the Pirsch\Native\ classes, so that their FFI calls are allowed in every request.
// 2. Derives the FFI scope "pirsch" from pirsch.h (PIRSCH_HEADER / PIRSCH_LIBRARY or the
//    system install, as Pirsch\Native\Library finds them) and loads it, so that requests need not
//    parse the header. PHP refuses FFI::load when preloading runs as opcache.preload_user (a
//    master started as root); then each request derives the declarations itself, or use
//    ffi.preload with a file made by:  php preload.php --ffi-header /etc/php/pirsch-ffi.h
//    (regenerate it whenever libpirsch is upgraded).
// 3. If the scope was loaded here (so this runs in the master) and the master sees credentials
//    (pirsch.access_key or pirsch.client_secret in php.ini, PIRSCH_ACCESS_KEY or
//    PIRSCH_CLIENT_SECRET in its environment, or their _file/_FILE forms), creates the shared
//    client that Pirsch\Native\Tracker::client() returns (pirsch_client_shared); the forked
//    workers inherit it.
declare(strict_types=1);

require __DIR__ . '/autoload.php';

use Pirsch\Native\Internal\Settings;
use Pirsch\Native\Library;
use Pirsch\Native\Tracker;

if (PHP_SAPI === 'cli' && isset($argv[0]) && realpath($argv[0]) === __FILE__) {
    if (($argv[1] ?? '') !== '--ffi-header' || !isset($argv[2])) {
        fwrite(STDERR, "usage: php preload.php --ffi-header FILE   (writes the FFI scope \"pirsch\" for ffi.preload=FILE)\n"
            . "As opcache.preload=" . __FILE__ . " it preloads the package; see bindings/php/README.md.\n");
        exit(2);
    }
    $library = Library::findLibrary();
    $text = Library::scopeFile(Library::readHeader(Library::findHeader($library)), $library);
    $tmp = $argv[2] . '.tmp' . getmypid();
    if (file_put_contents($tmp, $text) === false || !chmod($tmp, 0644) || !rename($tmp, $argv[2])) {
        @unlink($tmp);
        fwrite(STDERR, "cannot write {$argv[2]}\n");
        exit(1);
    }
    echo "wrote {$argv[2]} (libpirsch at $library); set ffi.preload={$argv[2]}\n";
    exit(0);
}

// 1. Every class of the package, compiled now and kept by opcache for all requests.
foreach (new RecursiveIteratorIterator(new RecursiveDirectoryIterator(__DIR__ . '/src', FilesystemIterator::SKIP_DOTS)) as $file) {
    if ($file->getExtension() === 'php') {
        require_once $file->getPathname();
    }
}

// 2. The FFI scope, from a private temporary file (FFI::load needs a file; it is read at once).
$scope = false;
try {
    FFI::scope(Library::SCOPE);
    $scope = true;   // already loaded through ffi.preload
} catch (FFI\Exception) {
    $tmp = null;
    try {
        $library = Library::findLibrary();
        $text = Library::scopeFile(Library::readHeader(Library::findHeader($library)), $library);
        $tmp = tempnam(sys_get_temp_dir(), 'pirsch-ffi-');
        if ($tmp !== false && file_put_contents($tmp, $text) !== false) {
            FFI::load($tmp);
            $scope = true;
        }
    } catch (Throwable $e) {
        if (!str_contains($e->getMessage(), 'opcache.preload_user')) {
            error_log('pirsch preload: the FFI scope was not loaded (requests load libpirsch themselves): ' . $e->getMessage());
        }
    } finally {
        if (is_string($tmp)) {
            @unlink($tmp);
        }
    }
}

// 3. The shared client, made in the master before the workers are forked.
if ($scope && (Settings::isSet('access_key') || Settings::isSet('client_secret'))) {
    try {
        Tracker::client();   // the process's shared client; this object's reference goes, the client stays
    } catch (Throwable $e) {
        error_log('pirsch preload: no shared client (each worker makes its own on first use): ' . $e->getMessage());
    }
}
