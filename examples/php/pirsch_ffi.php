<?php
// Loads libpirsch through PHP's FFI from the generated header. FFI::cdef() cannot read
// preprocessor lines, so the declarations are derived from pirsch.h at load time (never a
// hand-kept copy), and its #define constants are returned alongside.

function pirsch_ffi_declarations(string $header): array {
    $text = file_get_contents($header);
    if ($text === false) {
        throw new RuntimeException("cannot read $header; set PIRSCH_HEADER to the path of pirsch.h");
    }
    $consts = [];
    if (preg_match_all('/^#define\s+(PIRSCH_\w+)\s+(-?\d+|"[^"]*")\s*$/m', $text, $m, PREG_SET_ORDER)) {
        foreach ($m as [, $name, $value]) {
            $consts[$name] = $value[0] === '"' ? substr($value, 1, -1) : (int)$value;
        }
    }
    $text = preg_replace('~/\*.*?\*/~s', '', $text);           // block comments
    $text = preg_replace('~//[^\n]*~', '', $text);               // line comments
    $text = preg_replace('~^\s*#[^\n]*$~m', '', $text);          // preprocessor lines
    $text = preg_replace('~extern\s+"C"\s*\{~', '', $text, 1);   // C++ guard (its #ifdef is gone)
    $text = preg_replace('~\}\s*$~', '', rtrim($text), 1);       // ... and its closing brace
    return [$text, $consts];
}

function pirsch_ffi_load(): array {
    if (!extension_loaded('ffi')) {
        throw new RuntimeException('the PHP FFI extension is not loaded: install/enable it (php-ffi, ffi.enable=true)');
    }
    $lib = getenv('PIRSCH_LIBRARY') ?: 'libpirsch.so.0';
    $header = getenv('PIRSCH_HEADER') ?: null;
    if ($header === null) {
        foreach ([dirname($lib, 3) . '/include/pirsch.h', dirname($lib, 2) . '/include/pirsch.h', '/usr/local/include/pirsch.h', '/usr/include/pirsch.h'] as $candidate) {
            if (is_file($candidate)) { $header = $candidate; break; }
        }
    }
    if ($header === null) {
        throw new RuntimeException('pirsch.h not found; set PIRSCH_HEADER to its path');
    }
    [$decl, $consts] = pirsch_ffi_declarations($header);
    return [FFI::cdef($decl, $lib), $consts];
}
