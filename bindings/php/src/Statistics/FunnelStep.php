<?php

declare(strict_types=1);

namespace Pirsch\Native\Statistics;

/**
 * A step of a funnel; \$filter is the step's filter as the API returns it.
 * Properties as the API's JSON fields (Go SDK type FunnelStep); see Result for missing and unknown fields.
 */
final class FunnelStep extends Result
{
    /**
     * @param array<string, mixed> $filter
     */
    public function __construct(
        public readonly string $id = '',
        public readonly ?\DateTimeImmutable $def_time = null,
        public readonly ?\DateTimeImmutable $mod_time = null,
        public readonly string $funnel_id = '',
        public readonly string $name = '',
        public readonly int $step = 0,
        public readonly array $filter = [],
    ) {
    }
}
