<?php

declare(strict_types=1);

namespace Pirsch\Native;

/**
 * The background queue's counters of one client in this process (struct pirsch_stats).
 * At every moment: enqueued == sent + droppedQueueFull + droppedRejected + droppedExpired +
 * droppedShutdown + queueDepth + inFlight. Blocking calls are not counted. A process forked
 * from the one that created the client starts from zero (forksDetected says so).
 */
final class Stats
{
    public function __construct(
        /** Items handed to an enqueue method that passed validation (queue-full ones included). */
        public readonly int $enqueued = 0,
        /** Items the API accepted. */
        public readonly int $sent = 0,
        /** Batch requests made, retries included. */
        public readonly int $batches = 0,
        /** Batch requests that were tried again. */
        public readonly int $retries = 0,
        /** Refused by enqueue because the queue was full. */
        public readonly int $droppedQueueFull = 0,
        /** Refused by the API (4xx), after splitting batches down to the refused items. */
        public readonly int $droppedRejected = 0,
        /** Not delivered within max_item_age_ms. */
        public readonly int $droppedExpired = 0,
        /** Still queued when the client's shutdown_timeout_ms ran out. */
        public readonly int $droppedShutdown = 0,
        /** Waiting in the queue now. */
        public readonly int $queueDepth = 0,
        /** In the batch being sent now. */
        public readonly int $inFlight = 0,
        /** Access tokens obtained by this process. */
        public readonly int $tokenRefreshes = 0,
        /** How many fork()s the client was carried through into this process. */
        public readonly int $forksDetected = 0,
        public readonly int $spooled = 0,
        public readonly int $unspooled = 0,
        public readonly int $spoolDropped = 0,
        public readonly int $spoolErrors = 0,
    ) {
    }

    /** From the C field names (snake_case); fields this class does not know are ignored. */
    public static function fromArray(array $fields): self
    {
        $args = [];
        foreach ($fields as $name => $value) {
            $prop = lcfirst(str_replace('_', '', ucwords((string) $name, '_')));
            if (property_exists(self::class, $prop)) {
                $args[$prop] = (int) $value;
            }
        }
        return new self(...$args);
    }

    /** The counters by their C names (snake_case). */
    public function toArray(): array
    {
        $out = [];
        foreach (get_object_vars($this) as $prop => $value) {
            $out[strtolower(preg_replace('/[A-Z]/', '_$0', $prop))] = $value;
        }
        return $out;
    }

    /** Items dropped for any reason. */
    public function dropped(): int
    {
        return $this->droppedQueueFull + $this->droppedRejected + $this->droppedExpired + $this->droppedShutdown;
    }
}
