<?php

declare(strict_types=1);

namespace Pirsch\Native;

use Pirsch\Native\Internal\CallData;

/**
 * What to read: the domain, the days and the filters (struct pirsch_filter). The properties
 * are those of the official PHP SDK's Pirsch\Filter ($id is the domain's id), plus
 * $event_meta and $tags (key => value that must match); set them, or pass them by name:
 *
 *     new Filter(id: $domain->id, from: '2026-11-01', to: new DateTimeImmutable('today'),
 *                path: ['/pricing', '/blog'], tags: ['author' => 'alice']);
 *
 * $from and $to (required except for Client::activeVisitors(), which uses $start, seconds
 * back) are 'YYYY-MM-DD' or a DateTimeInterface (its own calendar day). Each list matches
 * any of its values; a string is a list of one. null, '', 0, [] and false are not sent.
 * libpirsch checks the filter before anything is sent (a bad date, $to before $from, an
 * unknown $scale, ...) and the call throws InvalidArgumentException with its reason.
 */
final class Filter
{
    public const SCALE_DAY = 'day';
    public const SCALE_WEEK = 'week';
    public const SCALE_MONTH = 'month';
    public const SCALE_YEAR = 'year';
    public const CUSTOM_METRIC_TYPE_INTEGER = 'integer';
    public const CUSTOM_METRIC_TYPE_FLOAT = 'float';

    /** The property of each field of pirsch_filter whose name differs. */
    private const PROPERTY = ['domain_id' => 'id'];

    /**
     * @param list<string>|string $path (and every other list) values of which any matches
     * @param array<string, string> $event_meta metadata that must match (meta_<key>=<value>)
     * @param array<string, string> $tags tags that must match (tag_<key>=<value>)
     */
    public function __construct(
        public string $id = '',
        public \DateTimeInterface|string|null $from = null,
        public \DateTimeInterface|string|null $to = null,
        public ?string $tz = null,
        public ?string $scale = null,
        public int $start = 0,
        public array|string $path = [],
        public array|string $pattern = [],
        public array|string $entry_path = [],
        public array|string $exit_path = [],
        public array|string $event = [],
        public array|string $event_meta_key = [],
        public array|string $language = [],
        public array|string $country = [],
        public array|string $region = [],
        public array|string $city = [],
        public array|string $referrer = [],
        public array|string $referrer_name = [],
        public array|string $os = [],
        public array|string $browser = [],
        public array|string $screen_class = [],
        public array|string $utm_source = [],
        public array|string $utm_medium = [],
        public array|string $utm_campaign = [],
        public array|string $utm_content = [],
        public array|string $utm_term = [],
        public array|string $tag = [],
        public ?string $platform = null,
        public array $event_meta = [],
        public array $tags = [],
        public ?string $custom_metric_key = null,
        public ?string $custom_metric_type = null,
        public bool $include_avg_time_on_page = false,
        public int $offset = 0,
        public int $limit = 0,
        public ?string $sort = null,
        public ?string $direction = null,
        public ?string $search = null,
        public ?string $funnel_id = null,
    ) {
    }

    /**
     * @internal The struct pirsch_filter of this filter; what it points to lives in $mem.
     */
    public function cdata(\FFI $ffi, CallData $mem): \FFI\CData
    {
        $type = $ffi->type('pirsch_filter');
        $names = $type->getStructFieldNames();
        $f = $ffi->new('pirsch_filter');
        $f->struct_size = \FFI::sizeof($f);
        foreach ($names as $name) {
            if ($name === 'struct_size' || (str_ends_with($name, '_len') && in_array(substr($name, 0, -4), $names, true))) {
                continue;
            }
            $prop = self::PROPERTY[$name] ?? $name;
            if (!property_exists($this, $prop)) {
                continue;   // a field of a newer header: stays zero, not sent
            }
            $value = $this->$prop;
            $ft = $type->getStructFieldType($name);
            $kind = $ft->getKind();
            if ($kind === \FFI\CType::TYPE_STRUCT) {            // pirsch_strings
                $list = is_string($value) ? [$value] : $value;
                [$items, $n] = $mem->strings($list, "filter $prop");
                $f->$name->items = $items;
                $f->$name->len = $n;
            } elseif ($kind === \FFI\CType::TYPE_POINTER && $ft->getPointerType()->getKind() === \FFI\CType::TYPE_STRUCT) {
                [$kv, $n] = $mem->kv($value, "filter $prop");   // pirsch_kv pairs
                $f->$name = $kv;
                $f->{"{$name}_len"} = $n;
            } elseif ($kind === \FFI\CType::TYPE_POINTER) {      // const char *
                if ($value instanceof \DateTimeInterface) {
                    $value = $value->format('Y-m-d');
                }
                if ($value !== null && $value !== '') {
                    $f->$name = $mem->str((string) $value, "filter $prop");
                }
            } elseif ($kind === \FFI\CType::TYPE_BOOL) {
                $f->$name = (bool) $value;
            } else {                                              // uint32_t
                if ($value < 0 || $value > 0xFFFFFFFF) {
                    throw Library::error('PIRSCH_ERR_INVALID_ARGUMENT', "filter $prop must be between 0 and 4294967295, not $value");
                }
                $f->$name = $value;
            }
        }
        return $f;
    }
}
