<?php

declare(strict_types=1);

namespace Pirsch\Native\Exception;

/** The API did not answer within timeout_ms (PIRSCH_ERR_TIMEOUT). */
class TimeoutException extends PirschException
{
}
