<?php

declare(strict_types=1);

namespace Pirsch\Native\Statistics;

/**
 * An event with its counts (Client::events()), or one value of a metadata key (Client::eventMetadata()).
 * Properties as the API's JSON fields (Go SDK type EventStats); see Result for missing and unknown fields.
 */
final class EventStats extends Result
{
    /**
     * @param list<string> $meta_keys
     */
    public function __construct(
        public readonly string $name = '',
        public readonly int $visitors = 0,
        public readonly int $views = 0,
        public readonly int $count = 0,
        public readonly float $cr = 0.0,
        public readonly int $average_duration_seconds = 0,
        public readonly array $meta_keys = [],
        public readonly string $meta_value = '',
    ) {
    }
}
