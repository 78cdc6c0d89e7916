<?php

declare(strict_types=1);

namespace Pirsch\Native\Statistics;

/**
 * Desktop, mobile and unknown platforms: Client::platform().
 * Properties as the API's JSON fields (Go SDK type PlatformStats); see Result for missing and unknown fields.
 */
final class PlatformStats extends Result
{
    public function __construct(
        public readonly int $platform_desktop = 0,
        public readonly int $platform_mobile = 0,
        public readonly int $platform_unknown = 0,
        public readonly float $relative_platform_desktop = 0.0,
        public readonly float $relative_platform_mobile = 0.0,
        public readonly float $relative_platform_unknown = 0.0,
    ) {
    }
}
