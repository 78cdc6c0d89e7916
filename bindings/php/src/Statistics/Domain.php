<?php

declare(strict_types=1);

namespace Pirsch\Native\Statistics;

/**
 * A domain on the dashboard (GET /api/v1/domain): Client::domains(), Client::domain().
 * Properties as the API's JSON fields (Go SDK type Domain); see Result for missing and unknown fields.
 */
final class Domain extends Result
{
    /**
     * @param array<string, mixed> $theme
     * @param array<string, mixed> $settings
     * @param array<string, mixed> $theme_settings
     */
    public function __construct(
        public readonly string $id = '',
        public readonly ?\DateTimeImmutable $def_time = null,
        public readonly ?\DateTimeImmutable $mod_time = null,
        public readonly string $user_id = '',
        public readonly string $organization_id = '',
        public readonly string $hostname = '',
        public readonly string $subdomain = '',
        public readonly string $identification_code = '',
        public readonly bool $public = false,
        public readonly ?string $google_user_id = null,
        public readonly ?string $google_user_email = null,
        public readonly ?string $gsc_domain = null,
        public readonly ?int $new_owner = null,
        public readonly ?string $timezone = null,
        public readonly bool $group_by_title = false,
        public readonly ?int $active_visitors_seconds = null,
        public readonly bool $disable_scripts = false,
        public readonly ?\DateTimeImmutable $statistics_start = null,
        public readonly bool $imported_statistics = false,
        public readonly string $theme_id = '',
        public readonly array $theme = [],
        public readonly ?string $custom_domain = null,
        public readonly ?string $display_name = null,
        public readonly string $user_role = '',
        public readonly array $settings = [],
        public readonly array $theme_settings = [],
        public readonly bool $pinned = false,
        public readonly bool $subscription_active = false,
    ) {
    }
}
