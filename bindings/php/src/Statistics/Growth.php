<?php

declare(strict_types=1);

namespace Pirsch\Native\Statistics;

/**
 * Growth against the period before: Client::growth().
 * Properties as the API's JSON fields (Go SDK type Growth); see Result for missing and unknown fields.
 */
final class Growth extends Result
{
    public function __construct(
        public readonly float $visitors_growth = 0.0,
        public readonly float $views_growth = 0.0,
        public readonly float $sessions_growth = 0.0,
        public readonly float $bounces_growth = 0.0,
        public readonly float $time_spent_growth = 0.0,
        public readonly float $cr_growth = 0.0,
        public readonly float $custom_metric_avg_growth = 0.0,
        public readonly float $custom_metric_total_growth = 0.0,
    ) {
    }
}
