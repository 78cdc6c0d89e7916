<?php

declare(strict_types=1);

namespace Pirsch\Native\Internal;

/**
 * Counts the page views Tracker::pageView() could not queue, by reason, for every process of
 * this user (PHP-FPM's workers forget everything between requests, so the counts live in a
 * small JSON file, locked while it is updated: sys_get_temp_dir()/pirsch-native-UID/dropped.json,
 * or pirsch.state_dir / PIRSCH_STATE_DIR). Logs a reason to error_log once per server (the
 * parent process: PHP-FPM's master, so a restart logs it again) and again at most once an
 * hour, so a broken setup writes one line and not one per request or per worker. Only the
 * failure path touches the file.
 *
 * Where the file cannot be used (open_basedir, a read-only temporary directory), the counts
 * and the once-only logging hold for the current request only.
 *
 * @internal
 */
final class Drops
{
    public const LOG_EVERY_SECONDS = 3600;

    /** @var array<string, array{count: int, first: string, last: string, message: string}> this request's, when the file is not usable */
    private static array $local = [];
    /** @var array<string, true> */
    private static array $loggedLocally = [];

    /** Counts one page view dropped for $reason; logs $message when this reason was not logged within the hour. */
    public static function record(string $reason, string $message): void
    {
        try {
            $log = self::update(static function (array &$all) use ($reason, $message): bool {
                $now = time();
                $server = function_exists('posix_getppid') ? posix_getppid() : 0;
                $entry = $all[$reason] ?? ['count' => 0, 'first' => gmdate('c', $now), 'last' => '', 'message' => '', 'logged_at' => 0, 'logged_by' => 0];
                $entry['count']++;
                $entry['last'] = gmdate('c', $now);
                $entry['message'] = $message;
                $log = ($entry['logged_by'] ?? 0) !== $server || $now - (int) $entry['logged_at'] >= self::LOG_EVERY_SECONDS;
                if ($log) {
                    $entry['logged_at'] = $now;
                    $entry['logged_by'] = $server;
                }
                $all[$reason] = $entry;
                return $log;
            });
        } catch (\Throwable) {
            $log = null;
        }
        if ($log === null) {   // no usable file: this request only
            $entry = self::$local[$reason] ?? ['count' => 0, 'first' => gmdate('c'), 'last' => '', 'message' => ''];
            $entry['count']++;
            $entry['last'] = gmdate('c');
            $entry['message'] = $message;
            self::$local[$reason] = $entry;
            $log = !isset(self::$loggedLocally[$reason]);
            self::$loggedLocally[$reason] = true;
        }
        if ($log) {
            @error_log("pirsch: page views are not counted ($reason): $message "
                . '[logged once per server start and hour; Pirsch\Native\Tracker::dropped() counts them]');
        }
    }

    /**
     * The counts so far: reason => count, first and last time (UTC, ISO 8601), the last message.
     *
     * @return array<string, array{count: int, first: string, last: string, message: string}>
     */
    public static function all(): array
    {
        $all = null;
        try {
            $path = self::path();
            if ($path !== null && is_file($path)) {
                $text = @file_get_contents($path);
                $all = is_string($text) ? json_decode($text, true) : null;
            }
        } catch (\Throwable) {
        }
        $all = is_array($all) ? $all : [];
        foreach (self::$local as $reason => $entry) {
            $all[$reason] = $entry + ($all[$reason] ?? []);
        }
        foreach ($all as &$entry) {
            unset($entry['logged_at'], $entry['logged_by']);
        }
        ksort($all);
        return $all;
    }

    /** Forgets every count (and when each was logged). */
    public static function reset(): void
    {
        self::$local = [];
        self::$loggedLocally = [];
        try {
            self::update(static function (array &$all): bool {
                $all = [];
                return false;
            });
        } catch (\Throwable) {
        }
    }

    /** The file the counts are kept in, or null if no directory for it can be made. */
    public static function path(): ?string
    {
        $dir = Settings::get('state_dir');
        if ($dir === null) {
            $uid = function_exists('posix_geteuid') ? posix_geteuid() : getmyuid();
            $dir = rtrim(sys_get_temp_dir(), '/') . "/pirsch-native-$uid";
            if (!is_dir($dir) && !@mkdir($dir, 0700) && !is_dir($dir)) {
                return null;
            }
            // Not a directory someone else made for us to write into.
            if (is_link($dir) || @fileowner($dir) !== $uid) {
                return null;
            }
        }
        return rtrim($dir, '/') . '/dropped.json';
    }

    /** Runs $change on the decoded file under an exclusive lock and writes it back; its result, or null if the file is not usable. */
    private static function update(callable $change): ?bool
    {
        $path = self::path();
        if ($path === null) {
            return null;
        }
        $fh = @fopen($path, 'c+');
        if ($fh === false) {
            return null;
        }
        try {
            if (!flock($fh, LOCK_EX)) {
                return null;
            }
            $text = stream_get_contents($fh);
            $all = is_string($text) && $text !== '' ? json_decode($text, true) : [];
            $all = is_array($all) ? $all : [];
            $result = $change($all);
            ftruncate($fh, 0);
            rewind($fh);
            fwrite($fh, json_encode($all, JSON_UNESCAPED_SLASHES | JSON_PRETTY_PRINT) . "\n");
            fflush($fh);
            flock($fh, LOCK_UN);
            return $result;
        } finally {
            fclose($fh);
        }
    }
}
