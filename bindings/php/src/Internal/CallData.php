<?php

declare(strict_types=1);

namespace Pirsch\Native\Internal;

/**
 * The C memory of one call: NUL-terminated copies of PHP strings and key/value arrays. All of
 * it is owned by PHP (FFI::new with owned=true) and freed when this object goes away, so keep
 * it until the library call that reads the pointers has returned.
 *
 * @internal
 */
final class CallData
{
    /** @var list<\FFI\CData> */
    private array $keep = [];

    public function __construct(private \FFI $ffi)
    {
    }

    /** A `char *` to a C copy of $value, valid as long as this object. */
    public function str(string $value, string $what): \FFI\CData
    {
        if (str_contains($value, "\0")) {
            throw \Pirsch\Native\Library::error('PIRSCH_ERR_INVALID_ARGUMENT', "$what contains a NUL byte");
        }
        $n = strlen($value);
        $buf = $this->ffi->new('char[' . ($n + 1) . ']');   // zero-filled: the terminator is there
        if ($n > 0) {
            \FFI::memcpy($buf, $value, $n);
        }
        $this->keep[] = $buf;
        return $this->ffi->cast('char *', $buf);
    }

    /**
     * A `const char *const *` array of C copies of $values (for struct pirsch_strings), and its
     * length. [null, 0] for an empty array.
     *
     * @param array<string|int|float|\Stringable> $values
     * @return array{0: ?\FFI\CData, 1: int}
     */
    public function strings(array $values, string $what): array
    {
        if ($values === []) {
            return [null, 0];
        }
        $arr = $this->ffi->new('char *[' . count($values) . ']');
        foreach (array_values($values) as $i => $v) {
            if (!is_string($v) && !is_int($v) && !is_float($v) && !$v instanceof \Stringable) {
                throw \Pirsch\Native\Library::error('PIRSCH_ERR_INVALID_ARGUMENT', "$what: each value must be a string, not " . get_debug_type($v));
            }
            $arr[$i] = $this->str((string) $v, $what);
        }
        $this->keep[] = $arr;
        return [$this->ffi->cast('const char *const *', \FFI::addr($arr[0])), count($values)];
    }

    /**
     * A `pirsch_kv` array from ['key' => 'value'] (a list of values repeats the key, for
     * headers sent more than once), and its length. [null, 0] for an empty array.
     *
     * @param array<string, string|int|float|list<string>> $pairs
     * @return array{0: ?\FFI\CData, 1: int}
     */
    public function kv(array $pairs, string $what): array
    {
        $flat = [];
        foreach ($pairs as $key => $value) {
            foreach (is_array($value) ? $value : [$value] as $v) {
                if (!is_string($v) && !is_int($v) && !is_float($v) && !$v instanceof \Stringable) {
                    throw \Pirsch\Native\Library::error('PIRSCH_ERR_INVALID_ARGUMENT', "$what: the value of \"$key\" must be a string, not " . get_debug_type($v));
                }
                $flat[] = [(string) $key, (string) $v];
            }
        }
        if ($flat === []) {
            return [null, 0];
        }
        $arr = $this->ffi->new('pirsch_kv[' . count($flat) . ']');
        foreach ($flat as $i => [$key, $value]) {
            $arr[$i]->key = $this->str($key, "$what key");
            $arr[$i]->value = $this->str($value, "$what \"$key\"");
        }
        $this->keep[] = $arr;
        return [$this->ffi->cast('pirsch_kv *', $arr), count($flat)];
    }
}
