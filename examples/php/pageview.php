<?php
// Sends a page view, an event and a session keep-alive with the PHP package (bindings/php).
//   PIRSCH_LIBRARY=/path/libpirsch.so PIRSCH_CLIENT_SECRET=pa_... php pageview.php
//   (+ PIRSCH_CLIENT_ID for an OAuth client, PIRSCH_BASE_URL for another API such as the stand-in)
declare(strict_types=1);

require __DIR__ . '/../../bindings/php/autoload.php';   // with Composer: vendor/autoload.php

use Pirsch\Native\Client;
use Pirsch\Native\Exception\PirschException;

$secret = getenv('PIRSCH_CLIENT_SECRET');
if (!$secret) {
    fwrite(STDERR, "set PIRSCH_CLIENT_SECRET (an access key pa_..., or a client secret with PIRSCH_CLIENT_ID)\n");
    exit(2);
}
try {
    $client = new Client(
        clientId: getenv('PIRSCH_CLIENT_ID') ?: null,
        clientSecret: $secret,
        // Our reverse proxies: their X-Forwarded-For is believed, anyone else's ignored.
        config: ['trusted_proxies' => '10.0.0.0/8, 127.0.0.1', 'base_url' => getenv('PIRSCH_BASE_URL') ?: null],
    );
} catch (PirschException $e) {
    fwrite(STDERR, 'client: ' . $e->getMessage() . "\n");
    exit(2);
}
echo 'libpirsch ', Client::version(), "\n";

$failed = false;
$step = function (string $what, callable $call) use (&$failed) {
    try {
        $call();
        echo "$what: ok\n";
    } catch (PirschException $e) {
        $failed = true;
        fwrite(STDERR, "$what failed: " . $e->getMessage() . "\n");
    }
};

$hit = [
    'url' => getenv('PIRSCH_EXAMPLE_URL') ?: 'https://example.com/from-php',
    'ip' => '203.0.113.30',
    'user_agent' => 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0',
    'accept_language' => 'fr-FR,fr;q=0.8',
    'sec_ch_ua' => '"Not A(Brand";v="99"',
    'sec_ch_ua_mobile' => '?1',
    'sec_ch_ua_platform' => '"Android"',
    'sec_ch_ua_platform_version' => '"14"',
    'sec_ch_width' => '1080',
    'sec_ch_viewport_width' => '412',
    'title' => 'Hello from PHP',
    'referrer' => 'https://social.example/post/1',
    'screen_width' => 1080,
    'screen_height' => 2400,
    'tags' => ['author' => 'carol', 'lang' => 'php'],
];
$step('page view', fn () => $client->hit($hit));
$step('event', fn () => $client->event('newsletter', $hit, durationSeconds: 3, meta: ['list' => 'weekly']));
$step('session keep-alive', fn () => $client->session($hit));

// Behind a reverse proxy: the page view comes straight from the request's raw headers.
$step('page view behind a proxy', fn () => $client->hit([
    'url' => getenv('PIRSCH_EXAMPLE_PROXIED_URL') ?: 'https://example.com/behind-proxy?ref=newsletter',
    'ip' => '10.0.0.2',   // the proxy that connected to us
    'headers' => [
        'User-Agent' => 'Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148',
        'Accept-Language' => 'it-IT',
        'X-Forwarded-For' => '198.51.100.23, 10.0.0.2',
        'Cookie' => 'session=never-sent',
    ],
]));

// Reading statistics needs an OAuth client (access keys can only write).
if (getenv('PIRSCH_CLIENT_ID')) {
    $step('statistics', function () use ($client) {
        $domain = $client->request('/api/v1/domain')[0]['id'];
        $today = gmdate('Y-m-d');
        $visitors = $client->request('/api/v1/statistics/visitor', ['id' => $domain, 'from' => $today, 'to' => $today]);
        echo 'visitors today: ', json_encode($visitors, JSON_UNESCAPED_SLASHES), "\n";
    });
}

$client->close();   // also done by the destructor: delivers anything still queued
exit($failed ? 1 : 0);
