<?php

declare(strict_types=1);

namespace Pirsch\Native\Statistics;

/**
 * Client::referrer().
 * Properties as the API's JSON fields (Go SDK type ReferrerStats); see Result for missing and unknown fields.
 */
final class ReferrerStats extends Result
{
    public function __construct(
        public readonly string $referrer = '',
        public readonly string $referrer_name = '',
        public readonly string $referrer_icon = '',
        public readonly int $visitors = 0,
        public readonly int $sessions = 0,
        public readonly float $relative_visitors = 0.0,
        public readonly int $bounces = 0,
        public readonly float $bounce_rate = 0.0,
    ) {
    }
}
