<?php

declare(strict_types=1);

namespace Pirsch\Native\Statistics;

/**
 * Visitors of one hour of the day: Client::timeOfDay().
 * Properties as the API's JSON fields (Go SDK type VisitorHourStats); see Result for missing and unknown fields.
 */
final class VisitorHourStats extends Result
{
    public function __construct(
        public readonly int $hour = 0,
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
