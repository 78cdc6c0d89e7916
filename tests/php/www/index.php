<?php
// The page of the end-to-end tests: counts itself with the documented one-liner and says what
// happened (JSON). The one-liner never throws; whatever else this page reports is for the test.
declare(strict_types=1);

// In a Composer project (tests/php/StockInstallTest.php) its vendor/autoload.php, else the package's own.
require is_file(__DIR__ . '/vendor/autoload.php') ? __DIR__ . '/vendor/autoload.php' : dirname(__DIR__, 3) . '/bindings/php/autoload.php';

use Pirsch\Native\Library;
use Pirsch\Native\Tracker;

header('Content-Type: application/json');
$scenario = (string) (getenv('SCENARIO') ?: get_cfg_var('pirsch_test.scenario') ?: ($_GET['scenario'] ?? ''));
$queued = Tracker::pageView(tags: ['scenario' => $scenario]);
$out = ['queued' => $queued, 'pid' => getmypid(), 'source' => Library::source(), 'dropped' => Tracker::dropped()];
if ($queued) {
    // What the test checks: how libpirsch was loaded, and that the client outlives requests.
    $out['stats'] = Tracker::client()->stats()->toArray();
}
echo json_encode($out);
