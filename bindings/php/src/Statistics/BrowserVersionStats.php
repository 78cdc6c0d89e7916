<?php

declare(strict_types=1);

namespace Pirsch\Native\Statistics;

/**
 * Client::browserVersions().
 * Properties as the API's JSON fields (Go SDK type BrowserVersionStats); see Result for missing and unknown fields.
 */
final class BrowserVersionStats extends Result
{
    public function __construct(
        public readonly int $visitors = 0,
        public readonly float $relative_visitors = 0.0,
        public readonly string $browser = '',
        public readonly string $browser_version = '',
    ) {
    }
}
