<?php

declare(strict_types=1);

namespace Pirsch\Native\Statistics;

/**
 * Visitors, views, sessions and bounces of one day (or week, month, year with Filter::$scale): Client::visitors().
 * Properties as the API's JSON fields (Go SDK type VisitorStats); see Result for missing and unknown fields.
 */
final class VisitorStats extends Result
{
    public function __construct(
        public readonly ?\DateTimeImmutable $day = null,
        public readonly ?\DateTimeImmutable $week = null,
        public readonly ?\DateTimeImmutable $month = null,
        public readonly ?\DateTimeImmutable $year = null,
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
