<?php

declare(strict_types=1);

namespace Pirsch\Native\Internal;

/**
 * Where the package's settings come from, for a setting NAME (access_key, client_id,
 * client_secret, base_url, library, ...), first found wins:
 *
 *  1. the environment variable PIRSCH_<NAME> (PHP-FPM's default clear_env = yes hides the
 *     master's environment from the workers; a pool's env[PIRSCH_<NAME>] = ... still works);
 *  2. the file named by the environment variable PIRSCH_<NAME>_FILE (its content, trimmed);
 *  3. the php.ini value pirsch.<name> (php.ini or a file in its conf.d, read with
 *     get_cfg_var(); PHP-FPM's php_admin_value[] does not reach get_cfg_var() for names PHP
 *     does not know);
 *  4. the file named by the php.ini value pirsch.<name>_file.
 *
 * An empty value counts as unset. A named file that cannot be read is an error, so that a
 * wrong permission is reported and not taken for "no credentials".
 *
 * @internal
 */
final class Settings
{
    /** The value of $name, or null when it is set nowhere; \RuntimeException when a named file cannot be read. */
    public static function get(string $name): ?string
    {
        $env = 'PIRSCH_' . strtoupper($name);
        $ini = 'pirsch.' . strtolower($name);
        $value = self::env($env);
        if ($value !== null) {
            return $value;
        }
        $file = self::env($env . '_FILE');
        if ($file !== null) {
            return self::file($file, "{$env}_FILE");
        }
        $value = self::ini($ini);
        if ($value !== null) {
            return $value;
        }
        $file = self::ini($ini . '_file');
        if ($file !== null) {
            return self::file($file, "php.ini {$ini}_file");
        }
        return null;
    }

    /** Whether $name is set anywhere (without reading a file). */
    public static function isSet(string $name): bool
    {
        $env = 'PIRSCH_' . strtoupper($name);
        $ini = 'pirsch.' . strtolower($name);
        return self::env($env) !== null || self::env("{$env}_FILE") !== null || self::ini($ini) !== null || self::ini("{$ini}_file") !== null;
    }

    /** "PIRSCH_X (environment), PIRSCH_X_FILE, pirsch.x or pirsch.x_file (php.ini)", for messages. */
    public static function describe(string $name): string
    {
        $env = 'PIRSCH_' . strtoupper($name);
        $ini = 'pirsch.' . strtolower($name);
        return "$env or {$env}_FILE (environment), $ini or {$ini}_file (php.ini)";
    }

    private static function env(string $name): ?string
    {
        $value = getenv($name);
        return is_string($value) && $value !== '' ? $value : null;
    }

    private static function ini(string $name): ?string
    {
        $value = get_cfg_var($name);
        return is_string($value) && trim($value) !== '' ? trim($value) : null;
    }

    private static function file(string $path, string $from): string
    {
        $text = is_file($path) && is_readable($path) ? @file_get_contents($path) : false;
        if ($text === false) {
            $user = function_exists('posix_geteuid') && function_exists('posix_getpwuid')
                ? (posix_getpwuid(posix_geteuid())['name'] ?? (string) posix_geteuid()) : (string) getmyuid();
            throw new \RuntimeException("$from=$path cannot be read by user $user: "
                . (is_file($path) ? 'no permission (make it readable by the PHP-FPM pool\'s user, e.g. chgrp www-data and chmod 640)' : 'no such file'));
        }
        $text = trim($text);
        if ($text === '') {
            throw new \RuntimeException("$from=$path is empty");
        }
        return $text;
    }
}
