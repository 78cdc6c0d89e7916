<?php

declare(strict_types=1);

namespace Pirsch\Native\Exception;

/** A missing or invalid field, config key or value, or a string that is not UTF-8 (PIRSCH_ERR_INVALID_ARGUMENT, _NULL_ARGUMENT, _INVALID_UTF8). Nothing was sent. */
class InvalidArgumentException extends PirschException
{
}
