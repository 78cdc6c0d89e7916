<?php

declare(strict_types=1);

namespace Pirsch\Native\Statistics;

/**
 * A Google Search Console keyword: Client::keywords().
 * Properties as the API's JSON fields (Go SDK type Keyword); see Result for missing and unknown fields.
 */
final class Keyword extends Result
{
    /**
     * @param list<string> $keys
     */
    public function __construct(
        public readonly array $keys = [],
        public readonly int $clicks = 0,
        public readonly int $impressions = 0,
        public readonly float $ctr = 0.0,
        public readonly float $position = 0.0,
    ) {
    }
}
