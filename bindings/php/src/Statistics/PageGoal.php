<?php

declare(strict_types=1);

namespace Pirsch\Native\Statistics;

/**
 * A conversion goal's definition (ConversionGoal::$page_goal).
 * Properties as the API's JSON fields (Go SDK type PageGoal); see Result for missing and unknown fields.
 */
final class PageGoal extends Result
{
    public function __construct(
        public readonly string $domain_id = '',
        public readonly string $name = '',
        public readonly string $path_pattern = '',
        public readonly string $pattern = '',
        public readonly ?int $visitor_goal = null,
        public readonly ?float $cr_goal = null,
        public readonly bool $delete_reached = false,
        public readonly bool $email_reached = false,
    ) {
    }
}
