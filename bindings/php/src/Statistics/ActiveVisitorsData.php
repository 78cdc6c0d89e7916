<?php

declare(strict_types=1);

namespace Pirsch\Native\Statistics;

/**
 * Active visitors of the last Filter::$start seconds: Client::activeVisitors().
 * Properties as the API's JSON fields (Go SDK type ActiveVisitorsData); see Result for missing and unknown fields.
 */
final class ActiveVisitorsData extends Result
{
    protected const ITEMS = ['stats' => ActiveVisitorStats::class];

    /**
     * @param list<ActiveVisitorStats> $stats
     */
    public function __construct(
        public readonly array $stats = [],
        public readonly int $visitors = 0,
    ) {
    }
}
