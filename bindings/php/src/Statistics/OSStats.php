<?php

declare(strict_types=1);

namespace Pirsch\Native\Statistics;

/**
 * Client::os().
 * Properties as the API's JSON fields (Go SDK type OSStats); see Result for missing and unknown fields.
 */
final class OSStats extends Result
{
    public function __construct(
        public readonly int $visitors = 0,
        public readonly float $relative_visitors = 0.0,
        public readonly string $os = '',
    ) {
    }
}
