<?php

declare(strict_types=1);

namespace Pirsch\Native\Statistics;

/**
 * An exit page: Client::exitPages().
 * Properties as the API's JSON fields (Go SDK type ExitStats); see Result for missing and unknown fields.
 */
final class ExitStats extends Result
{
    public function __construct(
        public readonly string $path = '',
        public readonly string $title = '',
        public readonly int $visitors = 0,
        public readonly int $sessions = 0,
        public readonly int $exits = 0,
        public readonly float $exit_rate = 0.0,
    ) {
    }
}
