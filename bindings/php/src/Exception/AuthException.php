<?php

declare(strict_types=1);

namespace Pirsch\Native\Exception;

/** The credentials were refused, or no token could be obtained with them (PIRSCH_ERR_AUTH). */
class AuthException extends PirschException
{
}
