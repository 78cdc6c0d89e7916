<?php

declare(strict_types=1);

namespace Pirsch\Native\Statistics;

/**
 * A tag key (Client::tagKeys()) or one of its values (Client::tags()).
 * Properties as the API's JSON fields (Go SDK type TagStats); see Result for missing and unknown fields.
 */
final class TagStats extends Result
{
    public function __construct(
        public readonly string $key = '',
        public readonly string $value = '',
        public readonly int $visitors = 0,
        public readonly int $views = 0,
        public readonly float $relative_visitors = 0.0,
        public readonly float $relative_views = 0.0,
    ) {
    }
}
