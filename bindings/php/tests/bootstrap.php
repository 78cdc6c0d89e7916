<?php
// PHPUnit bootstrap: the package, libpirsch from this repository's build (unless PIRSCH_LIBRARY
// and PIRSCH_HEADER say otherwise), and one stand-in of the API for the whole run.
declare(strict_types=1);

require dirname(__DIR__) . '/autoload.php';
require __DIR__ . '/Standin.php';
require __DIR__ . '/TestCase.php';

$root = dirname(__DIR__, 3);
if (!getenv('PIRSCH_LIBRARY')) {
    putenv("PIRSCH_LIBRARY=$root/target/release/libpirsch.so.0");
}
if (!getenv('PIRSCH_HEADER')) {
    putenv("PIRSCH_HEADER=$root/include/pirsch.h");
}
if (!is_file((string) getenv('PIRSCH_LIBRARY'))) {
    fwrite(STDERR, getenv('PIRSCH_LIBRARY') . " is missing: run `make build` first\n");
    exit(1);
}
// Counts of dropped page views (Tracker::dropped()) in a directory of this run, not the user's.
$state = sys_get_temp_dir() . '/pirsch-phpunit-state-' . getmypid();
@mkdir($state, 0700);
putenv("PIRSCH_STATE_DIR=$state");
register_shutdown_function(static function () use ($state): void {
    @unlink("$state/dropped.json");
    @rmdir($state);
});
$GLOBALS['pirsch_standin'] = new Pirsch\Native\Tests\Standin();
register_shutdown_function(static fn () => $GLOBALS['pirsch_standin']->stop());
