<?php

declare(strict_types=1);

namespace Pirsch\Native\Exception;

/**
 * Every failure of the package. The message is libpirsch's own (pirsch_last_error): the
 * cause, the HTTP status and the API's validation messages, and what to do. getCode() is the
 * library's result code (PIRSCH_ERR_*), 0 for failures before the library was reached.
 */
class PirschException extends \RuntimeException
{
    /** The HTTP status named in the message ("... HTTP 403 Forbidden ..."), or null. */
    public function getStatus(): ?int
    {
        return preg_match('/\bHTTP (\d{3})\b/', $this->getMessage(), $m) ? (int) $m[1] : null;
    }
}
