<?php

declare(strict_types=1);

namespace Pirsch\Native\Statistics;

/**
 * Client::city().
 * Properties as the API's JSON fields (Go SDK type CityStats); see Result for missing and unknown fields.
 */
final class CityStats extends Result
{
    public function __construct(
        public readonly int $visitors = 0,
        public readonly float $relative_visitors = 0.0,
        public readonly string $country_code = '',
        public readonly string $region = '',
        public readonly string $city = '',
    ) {
    }
}
