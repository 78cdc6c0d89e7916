<?php

declare(strict_types=1);

namespace Pirsch\Native\Internal;

/**
 * Keeps one libpirsch client for the life of a server process.
 *
 * PHP frees all of a request's state, static properties included, when the request ends;
 * nothing written in PHP survives into the next request of the same PHP-FPM worker. A client
 * (its queue, its sender thread, its connection and its token) should, so this class keeps
 * it where PHP does not look:
 *
 * - the library is pinned in memory (dlopen RTLD_NOLOAD|RTLD_NODELETE), so that FFI unloading
 *   it at the end of a request cannot pull the code from under the sender thread;
 * - pirsch_free(client) is registered with the C library's exit handlers (__cxa_atexit), so
 *   that a worker that exits normally (graceful stop with SIGQUIT, pm.max_requests, an idle
 *   worker retired) delivers what is still queued, within shutdown_timeout_ms;
 * - the client's address is kept in the process environment (PIRSCH_PHP_CLIENT), masked and
 *   tagged with a hash of the 16 random bytes the kernel gives each exec (AT_RANDOM): a
 *   process forked from this one (an FPM worker from its master) finds it and may use it (the
 *   library notices the fork), a program exec'd from it never mistakes it for its own.
 *
 * Only Linux with glibc or musl has these; where anything is missing, get() and put() return
 * null/false and the caller keeps a client per request.
 *
 * @internal
 */
final class ProcessSlot
{
    public const ENV = 'PIRSCH_PHP_CLIENT';

    private const AT_RANDOM = 25;
    private const RTLD_LAZY = 0x1;
    private const RTLD_NOLOAD = 0x4;
    private const RTLD_NODELETE = 0x1000;

    private static ?\FFI $libc = null;

    /** The client this process (or the one it was forked from) stored, or null. */
    public static function get(\FFI $pirsch): ?\FFI\CData
    {
        $libc = self::libc();
        if ($libc === null) {
            return null;
        }
        $value = $libc->getenv(self::ENV);
        if (!is_string($value) || !preg_match('/^1:([0-9a-f]{16}):([0-9a-f]{16})$/', $value, $m)) {
            return null;
        }
        [$tag, $key] = self::identity($libc) ?? [null, 0];
        if ($tag === null || !hash_equals($tag, $m[1])) {
            return null;   // set by another program, which passed its environment on to this one
        }
        $address = unpack('J', hex2bin($m[2]))[1] ^ $key;
        return $address === 0 ? null : $pirsch->cast('pirsch_client *', $address);
    }

    /**
     * Stores $client for this process and the processes forked from it: pins the library,
     * makes the process's exit free the client (delivering its queue), and remembers it. On
     * true the caller must not free the client. False if this platform lacks what is needed.
     */
    public static function put(\FFI $pirsch, \FFI\CData $client): bool
    {
        $libc = self::libc();
        $id = $libc === null ? null : self::identity($libc);
        if ($id === null) {
            return false;
        }
        try {
            $free = $libc->cast('void *', $pirsch->pirsch_free);
            $info = $libc->new('Dl_info');
            if ($libc->dladdr($free, \FFI::addr($info)) === 0 || \FFI::isNull($info->dli_fname)) {
                return false;
            }
            $pin = $libc->dlopen(\FFI::string($info->dli_fname), self::RTLD_LAZY | self::RTLD_NOLOAD | self::RTLD_NODELETE);
            if ($pin === null) {
                return false;
            }
            $address = (int) $libc->cast('uintptr_t', $client)->cdata;
            if ($libc->__cxa_atexit($libc->cast('void (*)(void *)', $free), $libc->cast('void *', $client), null) !== 0) {
                return false;
            }
        } catch (\FFI\Exception) {
            return false;
        }
        [$tag, $key] = $id;
        $libc->setenv(self::ENV, "1:$tag:" . bin2hex(pack('J', $address ^ $key)), 1);
        return true;
    }

    private static function libc(): ?\FFI
    {
        if (self::$libc === null) {
            try {
                self::$libc = \FFI::cdef('
                    typedef struct { const char *dli_fname; void *dli_fbase; const char *dli_sname; void *dli_saddr; } Dl_info;
                    const char *getenv(const char *name);
                    int setenv(const char *name, const char *value, int overwrite);
                    unsigned long getauxval(unsigned long type);
                    int dladdr(const void *addr, Dl_info *info);
                    void *dlopen(const char *file, int mode);
                    int __cxa_atexit(void (*func)(void *), void *arg, void *dso_handle);
                ');
            } catch (\FFI\Exception) {
                return null;
            }
        }
        return self::$libc;
    }

    /**
     * [tag, key] of this process image: from a hash of AT_RANDOM (fresh on every exec, kept
     * across fork), never the bytes themselves (the stack protector uses them).
     *
     * @return array{0: string, 1: int}|null
     */
    private static function identity(\FFI $libc): ?array
    {
        $at = $libc->getauxval(self::AT_RANDOM);
        if ($at === 0) {
            return null;
        }
        $digest = hash('sha256', 'pirsch-php-process-slot' . \FFI::string($libc->cast('char *', $at), 16), true);
        return [bin2hex(substr($digest, 0, 8)), unpack('J', substr($digest, 8, 8))[1]];
    }
}
