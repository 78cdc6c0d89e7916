<?php

declare(strict_types=1);

namespace Pirsch\Native\Statistics;

/**
 * Average session duration or time on page of one day (or scale): Client::sessionDuration(), Client::timeOnPage().
 * Properties as the API's JSON fields (Go SDK type TimeSpentStats); see Result for missing and unknown fields.
 */
final class TimeSpentStats extends Result
{
    public function __construct(
        public readonly ?\DateTimeImmutable $day = null,
        public readonly ?\DateTimeImmutable $week = null,
        public readonly ?\DateTimeImmutable $month = null,
        public readonly ?\DateTimeImmutable $year = null,
        public readonly string $path = '',
        public readonly string $title = '',
        public readonly int $average_time_spent_seconds = 0,
    ) {
    }
}
