<?php

declare(strict_types=1);

namespace Pirsch\Native\Statistics;

/**
 * The figures of one funnel step (FunnelData::$data).
 * Properties as the API's JSON fields (Go SDK type FunnelStepData); see Result for missing and unknown fields.
 */
final class FunnelStepData extends Result
{
    public function __construct(
        public readonly int $step = 0,
        public readonly int $visitors = 0,
        public readonly float $relative_visitors = 0.0,
        public readonly int $previous_visitors = 0,
        public readonly float $relative_previous_visitors = 0.0,
        public readonly int $dropped = 0,
        public readonly float $drop_off = 0.0,
    ) {
    }
}
