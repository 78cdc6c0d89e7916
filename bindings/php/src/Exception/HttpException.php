<?php

declare(strict_types=1);

namespace Pirsch\Native\Exception;

/** The API answered with a non-2xx status that retries did not overcome (PIRSCH_ERR_HTTP). */
class HttpException extends PirschException
{
    /** The HTTP status the API answered with (0 if the message names none). */
    public function getStatus(): int
    {
        return parent::getStatus() ?? 0;
    }
}
