<?php

declare(strict_types=1);

namespace Pirsch\Native\Statistics;

/**
 * A funnel's definition and step figures: Client::funnel().
 * Properties as the API's JSON fields (Go SDK type FunnelData); see Result for missing and unknown fields.
 */
final class FunnelData extends Result
{
    protected const ITEMS = ['data' => FunnelStepData::class];

    /**
     * @param list<FunnelStepData> $data
     */
    public function __construct(
        public readonly ?Funnel $definition = null,
        public readonly array $data = [],
    ) {
    }
}
