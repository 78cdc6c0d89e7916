<?php

declare(strict_types=1);

namespace Pirsch\Native\Exception;

/** libpirsch could not be loaded: FFI is disabled or restricted, or the library or pirsch.h is missing. The message says what to set. */
class LoadException extends PirschException
{
}
