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
