<?php

declare(strict_types=1);

namespace Pirsch\Native\Statistics;

/**
 * A conversion goal's figures (ConversionGoal::$stats).
 * Properties as the API's JSON fields (Go SDK type PageConversionsStats); see Result for missing and unknown fields.
 */
final class PageConversionsStats extends Result
{
    public function __construct(
        public readonly int $visitors = 0,
        public readonly int $views = 0,
        public readonly float $cr = 0.0,
    ) {
    }
}
