<?php

declare(strict_types=1);

namespace Pirsch\Native\Statistics;

/**
 * The totals for the days of the filter: Client::totalVisitors().
 * Properties as the API's JSON fields (Go SDK type TotalVisitorStats); see Result for missing and unknown fields.
 */
final class TotalVisitorStats extends Result
{
    public function __construct(
        public readonly int $visitors = 0,
        public readonly int $views = 0,
        public readonly int $sessions = 0,
        public readonly int $bounces = 0,
        public readonly float $bounce_rate = 0.0,
        public readonly float $cr = 0.0,
        public readonly float $custom_metric_avg = 0.0,
        public readonly float $custom_metric_total = 0.0,
    ) {
    }
}
