<?php

declare(strict_types=1);

namespace Pirsch\Native\Statistics;

/**
 * A conversion goal with its figures: Client::conversionGoals().
 * Properties as the API's JSON fields (Go SDK type ConversionGoal); see Result for missing and unknown fields.
 */
final class ConversionGoal extends Result
{
    public function __construct(
        public readonly string $id = '',
        public readonly ?\DateTimeImmutable $def_time = null,
        public readonly ?\DateTimeImmutable $mod_time = null,
        public readonly PageGoal $page_goal = new PageGoal(),
        public readonly PageConversionsStats $stats = new PageConversionsStats(),
    ) {
    }
}
