<?php

declare(strict_types=1);

namespace Pirsch\Native\Statistics;

/**
 * A page with its visitors and views: Client::pages(), Client::eventPages().
 * Properties as the API's JSON fields (Go SDK type PageStats); see Result for missing and unknown fields.
 */
final class PageStats extends Result
{
    public function __construct(
        public readonly string $path = '',
        public readonly int $visitors = 0,
        public readonly int $views = 0,
        public readonly int $sessions = 0,
        public readonly int $bounces = 0,
        public readonly float $relative_visitors = 0.0,
        public readonly float $relative_views = 0.0,
        public readonly float $bounce_rate = 0.0,
        public readonly int $average_time_spent_seconds = 0,
    ) {
    }
}
