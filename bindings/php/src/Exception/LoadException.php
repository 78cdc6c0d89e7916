<?php

declare(strict_types=1);

namespace Pirsch\Native\Exception;

/**
 * libpirsch could not be loaded: FFI is missing, disabled or restricted ($reason "ffi"), or the
 * library or its declarations are missing or do not fit ($reason "library"). The message says
 * what to set.
 */
class LoadException extends PirschException
{
    public const FFI = 'ffi';
    public const LIBRARY = 'library';

    public function __construct(string $message = '', int $code = 0, ?\Throwable $previous = null, public readonly string $reason = self::LIBRARY)
    {
        parent::__construct($message, $code, $previous);
    }
}
