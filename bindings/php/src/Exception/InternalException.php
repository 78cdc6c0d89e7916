<?php

declare(strict_types=1);

namespace Pirsch\Native\Exception;

/** A bug inside libpirsch was caught at its boundary (PIRSCH_ERR_PANIC); please report it. */
class InternalException extends PirschException
{
}
