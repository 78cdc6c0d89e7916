<?php
// Sends a page view, an event and a session keep-alive with libpirsch through PHP's FFI.
//   PIRSCH_LIBRARY=/path/libpirsch.so PIRSCH_CLIENT_SECRET=pa_... php pageview.php
//   (+ PIRSCH_CLIENT_ID for an OAuth client, PIRSCH_BASE_URL for another API such as the stand-in)
require __DIR__ . '/pirsch_ffi.php';

[$ffi, $C] = pirsch_ffi_load();
$secret = getenv('PIRSCH_CLIENT_SECRET');
if (!$secret) {
    fwrite(STDERR, "set PIRSCH_CLIENT_SECRET (an access key pa_..., or a client secret with PIRSCH_CLIENT_ID)\n");
    exit(2);
}
echo 'libpirsch ', $ffi->pirsch_version(), "\n";

$cfg = $ffi->pirsch_config_new();
// Our reverse proxies: their X-Forwarded-For is believed, anyone else's ignored.
$ffi->pirsch_config_set($cfg, 'trusted_proxies', '10.0.0.0/8, 127.0.0.1');
if (getenv('PIRSCH_BASE_URL') && $ffi->pirsch_config_set($cfg, 'base_url', getenv('PIRSCH_BASE_URL')) !== $C['PIRSCH_OK']) {
    fwrite(STDERR, 'base_url: ' . $ffi->pirsch_last_error() . "\n");
    exit(2);
}
$client = $ffi->pirsch_client_new(getenv('PIRSCH_CLIENT_ID') ?: '', $secret, $cfg);
$ffi->pirsch_config_free($cfg);
if ($client === null) {
    fwrite(STDERR, 'pirsch_client_new: ' . $ffi->pirsch_last_error() . "\n");
    exit(2);
}

// C strings that live as long as the structs that point at them.
$keep = [];
function cstr(string $s) {
    global $keep;
    $buf = FFI::new('char[' . (strlen($s) + 1) . ']', false);
    FFI::memcpy($buf, $s . "\0", strlen($s) + 1);
    $keep[] = $buf;
    return FFI::cast('const char *', $buf);
}
function kv_array($ffi, array $pairs) {
    global $keep;
    $arr = $ffi->new('pirsch_kv[' . count($pairs) . ']', false);
    $i = 0;
    foreach ($pairs as $k => $v) {
        $arr[$i]->key = cstr($k);
        $arr[$i]->value = cstr($v);
        $i++;
    }
    $keep[] = $arr;
    return [$arr, count($pairs)];
}

$hit = $ffi->new('pirsch_hit_options');
$hit->struct_size = FFI::sizeof($hit);
$fields = [
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
];
foreach ($fields as $name => $value) {
    $hit->$name = cstr($value);
}
$hit->screen_width = 1080;
$hit->screen_height = 2400;
[$tags, $n] = kv_array($ffi, ['author' => 'carol', 'lang' => 'php']);
$hit->tags = $ffi->cast('const pirsch_kv *', $tags);
$hit->tags_len = $n;

$failed = false;
$check = function (string $what, int $rc) use ($ffi, &$failed) {
    if ($rc !== 0) {
        $failed = true;
        fwrite(STDERR, "$what failed: " . $ffi->pirsch_strerror($rc) . ': ' . $ffi->pirsch_last_error() . "\n");
    } else {
        echo "$what: ok\n";
    }
};
$check('page view', $ffi->pirsch_hit($client, FFI::addr($hit)));

$ev = $ffi->new('pirsch_event_options');
$ev->struct_size = FFI::sizeof($ev);
$ev->name = cstr('newsletter');
$ev->duration_seconds = 3;
[$meta, $m] = kv_array($ffi, ['list' => 'weekly']);
$ev->meta = $ffi->cast('const pirsch_kv *', $meta);
$ev->meta_len = $m;
$check('event', $ffi->pirsch_event($client, FFI::addr($ev), FFI::addr($hit)));
$check('session keep-alive', $ffi->pirsch_session($client, FFI::addr($hit)));

// Behind a reverse proxy: the options come straight from the request's raw headers.
[$headers, $hn] = kv_array($ffi, [
    'User-Agent' => 'Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148',
    'Accept-Language' => 'it-IT',
    'X-Forwarded-For' => '198.51.100.23, 10.0.0.2',
    'Cookie' => 'session=never-sent',
]);
$proxied = $ffi->new('pirsch_hit_options');
$proxied->struct_size = FFI::sizeof($proxied);
$proxiedUrl = getenv('PIRSCH_EXAMPLE_PROXIED_URL') ?: 'https://example.com/behind-proxy?ref=newsletter';
$check('options from headers', $ffi->pirsch_hit_options_from_headers(FFI::addr($proxied), cstr($proxiedUrl), cstr('10.0.0.2'), $ffi->cast('const pirsch_kv *', $headers), $hn));
$check('page view behind a proxy', $ffi->pirsch_hit($client, FFI::addr($proxied)));

// Reading statistics needs an OAuth client (access keys can only write).
function api_get($ffi, $client, string $path): ?string {
    $out = $ffi->new('char *');
    $rc = $ffi->pirsch_request($client, 'GET', $path, null, FFI::addr($out));
    if ($rc !== 0) {
        fwrite(STDERR, "$path: " . $ffi->pirsch_last_error() . "\n");
        return null;
    }
    $body = FFI::string($out);
    $ffi->pirsch_string_free($out);
    return $body;
}
if (getenv('PIRSCH_CLIENT_ID')) {
    $domains = api_get($ffi, $client, '/api/v1/domain');
    $id = $domains === null ? null : json_decode($domains, true)[0]['id'] ?? null;
    $today = gmdate('Y-m-d');
    $visitors = $id === null ? null : api_get($ffi, $client, "/api/v1/statistics/visitor?id=$id&from=$today&to=$today");
    if ($visitors === null) {
        $failed = true;
    } else {
        echo "visitors today: $visitors\n";
    }
}

$ffi->pirsch_free($client);
foreach ($keep as $buf) {
    FFI::free($buf);
}
exit($failed ? 1 : 0);
