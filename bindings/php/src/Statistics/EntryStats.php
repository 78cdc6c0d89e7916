<?php

declare(strict_types=1);

namespace Pirsch\Native\Statistics;

/**
 * An entry page: Client::entryPages().
 * Properties as the API's JSON fields (Go SDK type EntryStats); see Result for missing and unknown fields.
 */
final class EntryStats extends Result
{
    public function __construct(
        public readonly string $path = '',
        public readonly string $title = '',
        public readonly int $visitors = 0,
        public readonly int $sessions = 0,
        public readonly int $entries = 0,
        public readonly float $entry_rate = 0.0,
        public readonly int $average_time_spent_seconds = 0,
    ) {
    }
}
