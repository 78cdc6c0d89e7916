<?php

declare(strict_types=1);

namespace Pirsch\Native\Exception;

/** Connect, TLS, DNS or a connection reset (PIRSCH_ERR_NETWORK). */
class NetworkException extends PirschException
{
}
