<?php
// The page of the end-to-end test: counts itself with Pirsch\Native\Tracker and says what happened.
declare(strict_types=1);

require dirname(__DIR__, 3) . '/bindings/php/autoload.php';

use Pirsch\Native\Tracker;

header('Content-Type: application/json');
try {
    $client = Tracker::client();
    $queued = Tracker::pageView($client, tags: ['scenario' => (string) getenv('SCENARIO')]);
    // What the test checks: how libpirsch was loaded, and that the client outlives requests.
    echo json_encode(['queued' => $queued, 'pid' => getmypid(), 'source' => Pirsch\Native\Library::source(), 'stats' => $client->stats()->toArray()]);
} catch (Pirsch\Native\Exception\PirschException $e) {
    http_response_code(500);
    echo json_encode(['error' => get_class($e), 'message' => $e->getMessage(), 'pid' => getmypid()]);
}
