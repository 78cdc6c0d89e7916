<?php

declare(strict_types=1);

namespace Pirsch\Native\Statistics;

/**
 * A funnel's definition: Client::listFunnel().
 * Properties as the API's JSON fields (Go SDK type Funnel); see Result for missing and unknown fields.
 */
final class Funnel extends Result
{
    protected const ITEMS = ['steps' => FunnelStep::class];

    /**
     * @param list<FunnelStep> $steps
     */
    public function __construct(
        public readonly string $id = '',
        public readonly ?\DateTimeImmutable $def_time = null,
        public readonly ?\DateTimeImmutable $mod_time = null,
        public readonly string $domain_id = '',
        public readonly string $name = '',
        public readonly array $steps = [],
    ) {
    }
}
