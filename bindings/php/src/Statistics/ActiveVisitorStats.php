<?php

declare(strict_types=1);

namespace Pirsch\Native\Statistics;

/**
 * A page with active visitors (ActiveVisitorsData::$stats).
 * Properties as the API's JSON fields (Go SDK type ActiveVisitorStats); see Result for missing and unknown fields.
 */
final class ActiveVisitorStats extends Result
{
    public function __construct(
        public readonly string $path = '',
        public readonly string $title = '',
        public readonly int $visitors = 0,
    ) {
    }
}
