<?php
// Bootstrap of the end-to-end test: the package and the stand-in helper from bindings/php,
// libpirsch from this repository's build unless PIRSCH_LIBRARY / PIRSCH_HEADER are set.
declare(strict_types=1);

$root = dirname(__DIR__, 2);
require "$root/bindings/php/autoload.php";
require "$root/bindings/php/tests/Standin.php";
if (!getenv('PIRSCH_LIBRARY')) {
    putenv("PIRSCH_LIBRARY=$root/target/release/libpirsch.so.0");
}
if (!getenv('PIRSCH_HEADER')) {
    putenv("PIRSCH_HEADER=$root/include/pirsch.h");
}

/**
 * A loopback port for nginx, which must be told it before it binds: picked at random below
 * the kernel's ephemeral range and checked free. A port from binding port 0 comes from that
 * range, where every outgoing connection also takes its local port, so one could take it
 * before nginx binds it.
 */
function pirsch_test_free_port(): int
{
    $range = @file_get_contents('/proc/sys/net/ipv4/ip_local_port_range');
    $high = ($range !== false ? (int) preg_split('/\s+/', trim($range))[0] : 32768) - 1;
    $low = min(10000, max(1024, $high - 1000));
    for ($i = 0; $i < 200; $i++) {
        $port = random_int($low, $high);
        $probe = @stream_socket_server("tcp://127.0.0.1:$port");
        if ($probe !== false) {
            fclose($probe);
            return $port;
        }
    }
    $probe = stream_socket_server('tcp://127.0.0.1:0');
    $port = (int) substr((string) strrchr(stream_socket_get_name($probe, false), ':'), 1);
    fclose($probe);
    return $port;
}
