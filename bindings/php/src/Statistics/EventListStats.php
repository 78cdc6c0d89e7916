<?php

declare(strict_types=1);

namespace Pirsch\Native\Statistics;

/**
 * An event with all its metadata: Client::listEvents().
 * Properties as the API's JSON fields (Go SDK type EventListStats); see Result for missing and unknown fields.
 */
final class EventListStats extends Result
{
    /**
     * @param array<string, string> $meta
     */
    public function __construct(
        public readonly string $name = '',
        public readonly array $meta = [],
        public readonly int $visitors = 0,
        public readonly int $count = 0,
    ) {
    }
}
