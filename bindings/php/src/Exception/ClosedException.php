<?php

declare(strict_types=1);

namespace Pirsch\Native\Exception;

/** The client is closed or shutting down (PIRSCH_ERR_CLOSED). */
class ClosedException extends PirschException
{
}
