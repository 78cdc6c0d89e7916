<?php

declare(strict_types=1);

namespace Pirsch\Native\Exception;

/** An enqueue was refused because the queue holds queue_capacity items (PIRSCH_ERR_QUEUE_FULL). */
class QueueFullException extends PirschException
{
}
