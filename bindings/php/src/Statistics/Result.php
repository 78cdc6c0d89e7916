<?php

declare(strict_types=1);

namespace Pirsch\Native\Statistics;

/**
 * Base of the statistics result types: read-only objects made from the API's JSON.
 *
 * Their properties are named as the API's JSON fields (snake_case, as on the objects the official
 * PHP SDK returns). A field the API leaves out, sends as null or with another type gets the
 * property's default (0, 0.0, '', false, null, []); fields the API adds later are ignored.
 * Timestamps become DateTimeImmutable (in the offset they were sent with).
 */
abstract class Result
{
    /** Properties holding lists of results: name => class. */
    protected const ITEMS = [];

    /** @var array<class-string, list<array{0: string, 1: string, 2: bool, 3: mixed}>> name, type, nullable, default */
    private static array $params = [];

    /** An object from a decoded JSON object (an array); anything else gives the defaults. */
    public static function fromArray(mixed $data): static
    {
        $data = is_array($data) ? $data : [];
        $args = [];
        foreach (self::params(static::class) as [$name, $type, $nullable, $default]) {
            $args[$name] = self::convert($type, $nullable, $default, $data[$name] ?? null, static::ITEMS[$name] ?? null);
        }
        return new static(...$args);
    }

    /**
     * A list of objects from a decoded JSON array (anything else: []).
     *
     * @return list<static>
     */
    public static function listFrom(mixed $data): array
    {
        if (!is_array($data) || !array_is_list($data)) {
            return [];
        }
        return array_map(static fn (mixed $row): static => static::fromArray($row), $data);
    }

    /** The properties by their JSON names, nested results as arrays too (timestamps stay objects). */
    public function toArray(): array
    {
        $out = [];
        foreach (get_object_vars($this) as $name => $value) {
            $out[$name] = self::plain($value);
        }
        return $out;
    }

    private static function plain(mixed $value): mixed
    {
        if ($value instanceof self) {
            return $value->toArray();
        }
        if (is_array($value)) {
            return array_map([self::class, 'plain'], $value);
        }
        return $value;
    }

    /** @return list<array{0: string, 1: string, 2: bool, 3: mixed}> */
    private static function params(string $class): array
    {
        if (isset(self::$params[$class])) {
            return self::$params[$class];
        }
        $out = [];
        foreach ((new \ReflectionMethod($class, '__construct'))->getParameters() as $p) {
            $type = $p->getType();
            $out[] = [
                $p->getName(),
                $type instanceof \ReflectionNamedType ? $type->getName() : 'mixed',
                $type === null || $type->allowsNull(),
                $p->isDefaultValueAvailable() ? $p->getDefaultValue() : null,
            ];
        }
        return self::$params[$class] = $out;
    }

    private static function convert(string $type, bool $nullable, mixed $default, mixed $value, ?string $items): mixed
    {
        $fallback = $nullable ? null : $default;
        if ($value === null) {
            return $fallback;
        }
        switch ($type) {
            case 'int':
                if (is_int($value)) {
                    return $value;
                }
                if (is_float($value) && floor($value) === $value && abs($value) < 9.2e18) {
                    return (int) $value;
                }
                return is_bool($value) ? (int) $value : $fallback;
            case 'float':
                return is_int($value) || is_float($value) ? (float) $value : $fallback;
            case 'string':
                return is_string($value) ? $value : $fallback;
            case 'bool':
                return is_bool($value) ? $value : $fallback;
            case 'array':
                if (!is_array($value)) {
                    return $fallback;
                }
                return $items === null ? $value : $items::listFrom($value);
            case \DateTimeImmutable::class:
                return is_string($value) ? self::time($value) : null;
            case 'mixed':
                return $value;
        }
        if (is_subclass_of($type, self::class)) {
            return is_array($value) ? $type::fromArray($value) : $fallback;
        }
        return $fallback;
    }

    /** An RFC 3339 timestamp (any fraction; a bare date is midnight UTC); null if it is none. */
    private static function time(string $value): ?\DateTimeImmutable
    {
        if (!preg_match('/^(\d{4}-\d\d-\d\d)(?:[Tt ](\d\d:\d\d(?::\d\d)?)(?:\.(\d+))?)?\s*([Zz]|[+-]\d\d:?\d\d)?$/', trim($value), $m)) {
            return null;
        }
        $clock = ($m[2] ?? '') === '' ? '00:00:00' : (strlen($m[2]) === 5 ? $m[2] . ':00' : $m[2]);
        $text = $m[1] . 'T' . $clock . '.' . substr(str_pad($m[3] ?? '', 6, '0'), 0, 6)
            . (in_array($m[4] ?? '', ['', 'Z', 'z'], true) ? '+00:00' : $m[4]);
        try {
            return new \DateTimeImmutable($text);
        } catch (\Exception) {
            return null;
        }
    }
}
