/*
 * pirsch.hpp: the C++ interface of libpirsch (C++17, header-only, over pirsch.h).
 *
 *   pirsch::Config cfg;
 *   cfg.set("timeout_ms", "3000");
 *   pirsch::Client client("", "pa_your_access_key", cfg);      // throws pirsch::Error
 *
 *   // In a request handler: queue it (never waits on the network), built from the request.
 *   pirsch::PageView pv;
 *   pv.from_headers(full_url, peer_ip, request_headers);       // any range of (name, value)
 *   client.enqueue(pv);                                        // or client.send(pv): blocks
 *
 * What it adds to the C API, and nothing more:
 * - Ownership: Client and Config own their handles (move-only) and free them.
 * - Strings: every input is a std::string_view. The builders (PageView, Event, Session) copy
 *   what they are given once, NUL-terminated, into one arena per builder: 1 KiB inside the
 *   object, spilling into one heap block only when a page view is larger. Setting a field
 *   never allocates in the common case; sending allocates nothing (up to 20 tags or metadata).
 * - Errors: pirsch::Error (a std::runtime_error) with the pirsch_result code and the
 *   library's explanation (pirsch_last_error), or, from every overload that takes a
 *   std::error_code&, the code in pirsch::category() and no exception. The builders' setters
 *   never throw: a problem they cannot store (a NUL byte inside a value, no memory) is
 *   reported by the send or enqueue that uses the builder.
 *
 * Threads: a Client may be used from any number of threads at once (pirsch_client is
 * thread-safe); a Config and a builder by one thread at a time.
 */
#ifndef PIRSCH_HPP
#define PIRSCH_HPP

// g++ -Wshadow reports pirsch.h's function pirsch_stats as hiding struct pirsch_stats (the C
// name clash the header documents); nothing here depends on it, so it is silenced for pirsch.h.
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#endif
#include <pirsch.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#include <array>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#if __cplusplus < 201703L && !(defined(_MSVC_LANG) && _MSVC_LANG >= 201703L)
#error "pirsch.hpp needs C++17 or later (pirsch.h alone works from C++11)"
#endif

namespace pirsch {

/** The version of the loaded library, e.g. "0.1.0" (PIRSCH_VERSION is the header's). */
inline const char *version() noexcept { return pirsch_version(); }

/** This thread's last failure in words (pirsch_last_error), valid until its next pirsch call. */
inline std::string_view last_error() noexcept { return pirsch_last_error(); }

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/** The PIRSCH_ERR_* codes, for comparing: `if (ec == pirsch::errc::queue_full)`. */
enum class errc : pirsch_result {
    null_argument = PIRSCH_ERR_NULL_ARGUMENT,
    invalid_argument = PIRSCH_ERR_INVALID_ARGUMENT,
    invalid_utf8 = PIRSCH_ERR_INVALID_UTF8,
    auth = PIRSCH_ERR_AUTH,
    http = PIRSCH_ERR_HTTP,
    network = PIRSCH_ERR_NETWORK,
    timeout = PIRSCH_ERR_TIMEOUT,
    queue_full = PIRSCH_ERR_QUEUE_FULL,
    closed = PIRSCH_ERR_CLOSED,
    panic = PIRSCH_ERR_PANIC,
};

namespace detail {
class Category final : public std::error_category {
public:
    const char *name() const noexcept override { return "pirsch"; }
    /** pirsch_strerror's text for the code ("unknown result code" for others). */
    std::string message(int code) const override { return pirsch_strerror(static_cast<pirsch_result>(code)); }
    /** The portable condition closest to each code, so `ec == std::errc::timed_out` works. */
    std::error_condition default_error_condition(int code) const noexcept override {
        switch (code) {
        case PIRSCH_ERR_NULL_ARGUMENT:
        case PIRSCH_ERR_INVALID_ARGUMENT:
        case PIRSCH_ERR_INVALID_UTF8: return std::errc::invalid_argument;
        case PIRSCH_ERR_AUTH: return std::errc::permission_denied;
        case PIRSCH_ERR_NETWORK: return std::errc::connection_refused;
        case PIRSCH_ERR_TIMEOUT: return std::errc::timed_out;
        case PIRSCH_ERR_QUEUE_FULL: return std::errc::resource_unavailable_try_again;
        case PIRSCH_ERR_CLOSED: return std::errc::operation_canceled;
        default: return std::error_condition(code, *this);
        }
    }
};
}  // namespace detail

/** The error category of libpirsch's result codes; message() is pirsch_strerror's. */
inline const std::error_category &category() noexcept {
    static const detail::Category instance;
    return instance;
}

inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), category()};
}

/** A std::error_code for a pirsch_result (a default, "no error" one for PIRSCH_OK). */
inline std::error_code make_error_code(pirsch_result code) noexcept {
    return code == PIRSCH_OK ? std::error_code() : std::error_code(static_cast<int>(code), category());
}

/**
 * A failed call: code() is the pirsch_result (PIRSCH_ERR_*), detail() the library's
 * explanation (what pirsch_last_error said right after the call), and what() both:
 * "invalid argument: url is required: ...".
 */
class Error : public std::runtime_error {
public:
    Error(pirsch_result code, std::string_view detail)
        : std::runtime_error(compose(code, detail)), code_(code),
          prefix_(detail.empty() ? std::strlen(what()) : std::strlen(what()) - detail.size()) {}

    pirsch_result code() const noexcept { return code_; }
    std::error_code error_code() const noexcept { return make_error_code(code_); }
    /** The explanation alone, without the code's name ("" when the library gave none). */
    std::string_view detail() const noexcept { return std::string_view(what()).substr(prefix_); }

private:
    static std::string compose(pirsch_result code, std::string_view detail) {
        std::string s = pirsch_strerror(code);
        if (!detail.empty()) {
            s += ": ";
            s.append(detail.data(), detail.size());
        }
        return s;
    }
    pirsch_result code_;
    std::size_t prefix_;
};

namespace detail {
/** Throws the Error for `rc`, with this thread's pirsch_last_error (read before anything else). */
[[noreturn]] inline void throw_last(pirsch_result rc) {
    std::string detail = pirsch_last_error();
    throw Error(rc, detail);
}
inline void check(pirsch_result rc) {
    if (rc != PIRSCH_OK) throw_last(rc);
}
inline void set(std::error_code &ec, pirsch_result rc) noexcept { ec = make_error_code(rc); }

/**
 * A NUL-terminated copy of a view for one call: on the stack up to N bytes, else one heap
 * block. has_nul() tells whether the view held a NUL byte (C would stop reading there).
 */
template <std::size_t N>
class CStr {
public:
    explicit CStr(std::string_view s) : nul_(!s.empty() && std::memchr(s.data(), 0, s.size()) != nullptr) {
        char *p = buf_;
        if (s.size() >= N) {
            heap_.reset(new char[s.size() + 1]);
            p = heap_.get();
        }
        if (!s.empty()) std::memcpy(p, s.data(), s.size());
        p[s.size()] = '\0';
        p_ = p;
    }
    CStr(const CStr &) = delete;
    CStr &operator=(const CStr &) = delete;
    const char *c_str() const noexcept { return p_; }
    bool has_nul() const noexcept { return nul_; }

private:
    char buf_[N];
    std::unique_ptr<char[]> heap_;
    const char *p_ = nullptr;
    bool nul_;
};

/**
 * The strings of one builder: NUL-terminated copies, back to back, addressed by offset (so
 * that spilling to the heap moves nothing that anyone points to). Offset 0 means "unset".
 * kInline bytes live inside the object; beyond them one heap block holds everything (with
 * kInline bytes to spare, growing by at least doubling). clear() keeps the heap block, so a
 * reused builder stops allocating.
 */
class Arena {
public:
    static constexpr std::size_t kInline = 1024;

    Arena() noexcept = default;
    Arena(const Arena &o) : size_(o.size_) {
        if (o.heap_) {
            heap_.reset(new char[o.cap_]);
            cap_ = o.cap_;
        }
        std::memcpy(data(), o.data(), size_);
    }
    Arena(Arena &&o) noexcept : heap_(std::move(o.heap_)), cap_(o.cap_), size_(o.size_) {
        if (!heap_) std::memcpy(inline_, o.inline_, size_);
        o.cap_ = kInline;
        o.size_ = 1;
    }
    Arena &operator=(const Arena &o) {
        if (this != &o) {
            if (o.size_ > cap_) {
                std::unique_ptr<char[]> h(new char[o.cap_]);
                heap_ = std::move(h);
                cap_ = o.cap_;
            }
            size_ = o.size_;
            std::memmove(data(), o.data(), size_);
        }
        return *this;
    }
    Arena &operator=(Arena &&o) noexcept {
        if (this != &o) {
            if (o.heap_) {
                heap_ = std::move(o.heap_);
                cap_ = o.cap_;
            } else {
                std::memcpy(data(), o.inline_, o.size_);  // o.size_ <= kInline <= cap_
            }
            size_ = o.size_;
            o.cap_ = kInline;
            o.size_ = 1;
        }
        return *this;
    }
    ~Arena() = default;

    /** Copies `s` and a NUL; returns its offset, or 0 when memory or the 4 GiB bound ran out. */
    std::uint32_t add(std::string_view s) noexcept {
        if (!reserve(s.size() + 1)) return 0;
        std::uint32_t at = static_cast<std::uint32_t>(size_);
        char *p = data() + size_;
        if (!s.empty()) std::memcpy(p, s.data(), s.size());
        p[s.size()] = '\0';
        size_ += s.size() + 1;
        return at;
    }
    /** The string at `off` (NULL for 0, "unset"). */
    const char *at(std::uint32_t off) const noexcept { return off ? data() + off : nullptr; }
    /** The offset of a pointer into this arena, or 0 when it points elsewhere. */
    std::uint32_t offset_of(const char *p) const noexcept {
        // Compared as integers: relational comparison of unrelated pointers is unspecified.
        auto b = reinterpret_cast<std::uintptr_t>(data()), q = reinterpret_cast<std::uintptr_t>(p);
        return (q > b && q < b + size_) ? static_cast<std::uint32_t>(q - b) : 0;
    }
    void clear() noexcept { size_ = 1; }
    /** Forgets what was added after size() was `mark`. */
    void truncate(std::size_t mark) noexcept {
        if (mark >= 1 && mark < size_) size_ = mark;
    }
    std::size_t size() const noexcept { return size_; }
    bool on_heap() const noexcept { return heap_ != nullptr; }

private:
    char *data() noexcept { return heap_ ? heap_.get() : inline_; }
    const char *data() const noexcept { return heap_ ? heap_.get() : inline_; }
    bool reserve(std::size_t more) noexcept {
        if (more <= cap_ - size_) return true;
        constexpr std::size_t kMax = std::numeric_limits<std::uint32_t>::max();
        if (more > kMax - size_) return false;
        // Double, and leave at least another kInline of room: the fields that follow a
        // large one (a long URL first, then the headers) fit in the same block.
        std::size_t want = size_ + more, cap = cap_ * 2;
        if (cap < want + kInline) cap = want + kInline;
        if (cap > kMax) cap = kMax;
        char *block = new (std::nothrow) char[cap];
        if (!block) return false;
        std::memcpy(block, data(), size_);
        heap_.reset(block);
        cap_ = cap;
        return true;
    }

    char inline_[kInline];  // [0] unused: offset 0 is "unset"
    std::unique_ptr<char[]> heap_;
    std::size_t cap_ = kInline;
    std::size_t size_ = 1;
};

/** Key/value offsets into an Arena: kInline pairs in the object, more (rare) on the heap. */
class KvList {
public:
    static constexpr std::size_t kInline = 20;  // the API's limit on tags and metadata
    struct Ref {
        std::uint32_t key, value;
    };
    KvList() noexcept = default;
    KvList(const KvList &) = default;
    KvList &operator=(const KvList &) = default;
    /** A moved-from list is empty (its offsets would point into a moved-from Arena). */
    KvList(KvList &&o) noexcept : inline_(o.inline_), more_(std::move(o.more_)), n_(std::exchange(o.n_, 0)) {}
    KvList &operator=(KvList &&o) noexcept {
        inline_ = o.inline_;
        more_ = std::move(o.more_);
        n_ = std::exchange(o.n_, 0);
        o.more_.clear();
        return *this;
    }
    ~KvList() = default;
    bool push(Ref r) noexcept {
        if (n_ < kInline) {
            inline_[n_++] = r;
            return true;
        }
        try {
            more_.push_back(r);
        } catch (...) {
            return false;
        }
        ++n_;
        return true;
    }
    std::size_t size() const noexcept { return n_; }
    const Ref &operator[](std::size_t i) const noexcept { return i < kInline ? inline_[i] : more_[i - kInline]; }
    void clear() noexcept {
        n_ = 0;
        more_.clear();
    }

private:
    std::array<Ref, kInline> inline_{};
    std::vector<Ref> more_;
    std::size_t n_ = 0;
};

/** pirsch_kv pointers for a KvList while a call runs: on the stack unless there are > 20. */
class KvArray {
public:
    KvArray(const KvList &list, const Arena &arena) : n_(list.size()) {
        pirsch_kv *out = stack_.data();
        if (n_ > stack_.size()) {
            heap_.resize(n_);
            out = heap_.data();
        }
        for (std::size_t i = 0; i < n_; ++i) out[i] = pirsch_kv{arena.at(list[i].key), arena.at(list[i].value)};
        p_ = n_ ? out : nullptr;
    }
    KvArray(const KvArray &) = delete;
    KvArray &operator=(const KvArray &) = delete;
    const pirsch_kv *data() const noexcept { return p_; }
    std::size_t size() const noexcept { return n_; }

private:
    std::array<pirsch_kv, KvList::kInline> stack_;
    std::vector<pirsch_kv> heap_;
    const pirsch_kv *p_ = nullptr;
    std::size_t n_;
};

/** Whether this pirsch.h's pirsch_hit_options has the `time` field (libpirsch 0.2). */
template <class T, class = void>
struct has_time_field : std::false_type {};
template <class T>
struct has_time_field<T, std::void_t<decltype(std::declval<T &>().time)>> : std::true_type {};

/** Whether a view holds a NUL byte (where C would stop reading it). */
inline bool has_nul(std::string_view s) noexcept { return !s.empty() && std::memchr(s.data(), 0, s.size()) != nullptr; }

/** ASCII case-insensitive comparison of a header name (surrounding ASCII whitespace ignored, as the library does) with a lowercase name. */
inline bool is_blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }
inline bool header_name_is(std::string_view name, std::string_view lower) noexcept {
    while (!name.empty() && is_blank(name.front())) name.remove_prefix(1);
    while (!name.empty() && is_blank(name.back())) name.remove_suffix(1);
    if (name.size() != lower.size()) return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        char c = name[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != lower[i]) return false;
    }
    return true;
}

/**
 * The request headers pirsch_hit_options_from_headers reads (pirsch.h lists them: the
 * fields it sets). Only these are copied; cookies and the rest are never looked at.
 */
inline const char *wanted_header(std::string_view name) noexcept {
    static constexpr const char *kNames[] = {
        "user-agent",   "accept-language",       "sec-ch-ua", "sec-ch-ua-mobile", "sec-ch-ua-platform",
        "sec-ch-ua-platform-version", "sec-ch-width", "sec-ch-viewport-width", "referer",
        "cf-connecting-ip", "x-forwarded-for", "forwarded", "x-real-ip",
    };
    for (const char *n : kNames)
        if (header_name_is(name, n)) return n;
    return nullptr;
}
}  // namespace detail

class Client;

// ---------------------------------------------------------------------------------------
// Builders: PageView, Event, Session
// ---------------------------------------------------------------------------------------

namespace detail {

/** What every builder stores: the page view's strings in one Arena, by field. */
class HitData {
public:
    HitData() noexcept = default;
    HitData(const HitData &) = default;
    HitData &operator=(const HitData &) = default;
    /** A moved-from builder is empty, as after clear(). */
    HitData(HitData &&o) noexcept
        : arena_(std::move(o.arena_)), str_(std::exchange(o.str_, {})), tags_(std::move(o.tags_)),
          screen_width_(o.screen_width_), screen_height_(o.screen_height_), disable_bot_filter_(o.disable_bot_filter_),
          problem_(o.problem_), problem_field_(o.problem_field_) {
        o.reset();
    }
    HitData &operator=(HitData &&o) noexcept {
        if (this != &o) {
            arena_ = std::move(o.arena_);
            str_ = o.str_;
            tags_ = std::move(o.tags_);
            screen_width_ = o.screen_width_;
            screen_height_ = o.screen_height_;
            disable_bot_filter_ = o.disable_bot_filter_;
            problem_ = o.problem_;
            problem_field_ = o.problem_field_;
            o.reset();
        }
        return *this;
    }
    ~HitData() = default;

protected:
    enum Field : unsigned {
        kUrl, kIp, kUserAgent, kAcceptLanguage, kSecChUa, kSecChUaMobile, kSecChUaPlatform,
        kSecChUaPlatformVersion, kSecChWidth, kSecChViewportWidth, kTitle, kReferrer,
        kCfConnectingIp, kXForwardedFor, kForwarded, kXRealIp, kTime, kEventName, kFieldCount
    };
    static constexpr const char *kFieldNames[kFieldCount] = {
        "url", "ip", "user_agent", "accept_language", "sec_ch_ua", "sec_ch_ua_mobile",
        "sec_ch_ua_platform", "sec_ch_ua_platform_version", "sec_ch_width",
        "sec_ch_viewport_width", "title", "referrer", "cf_connecting_ip", "x_forwarded_for",
        "forwarded", "x_real_ip", "time", "event name",
    };

    /** A problem a setter found and the next send reports (setters never throw). */
    enum class Problem : unsigned char { none, nul_byte, no_memory };

    /** Stores a copy of `v` as field `f` ("" unsets it: the library leaves it out either way). */
    void put(Field f, std::string_view v) noexcept {
        if (v.empty()) {
            str_[f] = 0;
            return;
        }
        if (has_nul(v)) return note(Problem::nul_byte, kFieldNames[f]);
        std::uint32_t off = arena_.add(v);
        if (!off) return note(Problem::no_memory, kFieldNames[f]);
        str_[f] = off;
    }
    void put_kv(KvList &list, std::string_view k, std::string_view v, const char *what) noexcept {
        if (has_nul(k) || has_nul(v))
            return note(Problem::nul_byte, what);
        std::uint32_t ko = arena_.add(k), vo = ko ? arena_.add(v) : 0;
        if (!vo || !list.push({ko, vo})) note(Problem::no_memory, what);
    }
    void note(Problem p, const char *field) noexcept {
        if (problem_ == Problem::none) {
            problem_ = p;
            problem_field_ = field;
        }
    }

    /** Fills `h` (zeroed, struct_size set) with pointers into this builder. */
    void fill(pirsch_hit_options &h, const KvArray &tags) const noexcept {
        h.url = s(kUrl);
        h.ip = s(kIp);
        h.user_agent = s(kUserAgent);
        h.accept_language = s(kAcceptLanguage);
        h.sec_ch_ua = s(kSecChUa);
        h.sec_ch_ua_mobile = s(kSecChUaMobile);
        h.sec_ch_ua_platform = s(kSecChUaPlatform);
        h.sec_ch_ua_platform_version = s(kSecChUaPlatformVersion);
        h.sec_ch_width = s(kSecChWidth);
        h.sec_ch_viewport_width = s(kSecChViewportWidth);
        h.title = s(kTitle);
        h.referrer = s(kReferrer);
        h.cf_connecting_ip = s(kCfConnectingIp);
        h.x_forwarded_for = s(kXForwardedFor);
        h.forwarded = s(kForwarded);
        h.x_real_ip = s(kXRealIp);
        h.screen_width = screen_width_;
        h.screen_height = screen_height_;
        h.disable_bot_filter = disable_bot_filter_;
        h.tags = tags.data();
        h.tags_len = tags.size();
        fill_time(h);
    }
    template <class H = pirsch_hit_options>
    void fill_time(H &h) const noexcept {
        if constexpr (has_time_field<H>::value) h.time = s(kTime);
    }
    const char *s(Field f) const noexcept { return arena_.at(str_[f]); }

    /** The problem a setter noted, as the code and text a send reports. */
    pirsch_result problem_code() const noexcept { return PIRSCH_ERR_INVALID_ARGUMENT; }
    std::string problem_text() const {
        std::string t = "pirsch.hpp: ";
        t += problem_field_;
        t += problem_ == Problem::nul_byte
                 ? " holds a NUL byte (C strings end there, so it would be cut short): nothing was sent"
                 : ": out of memory while copying it: nothing was sent";
        return t;
    }

    /**
     * pirsch_hit_options_from_headers into this builder. The wanted headers, url and peer are
     * copied into the arena first (NUL-terminated, as the function needs); the strings it
     * sets then point into the arena (kept as offsets) or into the library's per-thread
     * buffer (a joined X-Forwarded-For, a referrer decoded from the URL), which is copied
     * at once since the next call on this thread overwrites it.
     */
    template <class Headers>
    pirsch_result from_headers_impl(std::string_view url, std::string_view peer_ip, const Headers &headers) noexcept {
        if (has_nul(url)) return fail_here("pirsch.hpp: url holds a NUL byte: nothing was read");
        if (has_nul(peer_ip)) return fail_here("pirsch.hpp: the peer address holds a NUL byte: nothing was read");
        constexpr std::size_t kStack = 32;
        std::array<pirsch_kv, kStack> stack_kv;
        std::vector<pirsch_kv> heap_kv;
        std::array<std::uint32_t, kStack> stack_off;
        std::vector<std::uint32_t> heap_off;
        std::size_t n = 0;
        const std::size_t mark = arena_.size();  // what this call adds; given back on failure
        here_ = nullptr;
        auto undo = [&]() noexcept { arena_.truncate(mark); };
        std::uint32_t url_off = arena_.add(url), ip_off = url_off ? arena_.add(peer_ip) : 0;
        if (!ip_off) { undo(); return kNoMemory; }
        try {
            for (const auto &[name, value] : headers) {
                const char *canonical = wanted_header(std::string_view(name));
                if (!canonical) continue;
                std::string_view v(value);
                if (has_nul(v)) v = v.substr(0, v.find('\0'));  // as C would read it: up to the NUL
                std::uint32_t off = arena_.add(v);
                if (!off) { undo(); return kNoMemory; }
                if (n < kStack) {
                    stack_kv[n].key = canonical;
                    stack_off[n] = off;
                } else {
                    if (heap_kv.empty()) {
                        heap_kv.assign(stack_kv.begin(), stack_kv.end());
                        heap_off.assign(stack_off.begin(), stack_off.end());
                    }
                    heap_kv.push_back(pirsch_kv{canonical, nullptr});
                    heap_off.push_back(off);
                }
                ++n;
            }
        } catch (...) {
            { undo(); return kNoMemory; }
        }
        pirsch_kv *kv = heap_kv.empty() ? stack_kv.data() : heap_kv.data();
        const std::uint32_t *offs = heap_off.empty() ? stack_off.data() : heap_off.data();
        for (std::size_t i = 0; i < n; ++i) kv[i].value = arena_.at(offs[i]);  // the arena no longer moves

        pirsch_hit_options h{};
        h.struct_size = sizeof h;
        pirsch_result rc = pirsch_hit_options_from_headers(&h, arena_.at(url_off), arena_.at(ip_off), n ? kv : nullptr, n);
        if (rc != PIRSCH_OK) { undo(); return rc; }
        const char *got[] = {h.url, h.ip, h.user_agent, h.accept_language, h.sec_ch_ua, h.sec_ch_ua_mobile,
                             h.sec_ch_ua_platform, h.sec_ch_ua_platform_version, h.sec_ch_width,
                             h.sec_ch_viewport_width, h.referrer, h.cf_connecting_ip, h.x_forwarded_for,
                             h.forwarded, h.x_real_ip};
        constexpr Field where[] = {kUrl, kIp, kUserAgent, kAcceptLanguage, kSecChUa, kSecChUaMobile,
                                   kSecChUaPlatform, kSecChUaPlatformVersion, kSecChWidth,
                                   kSecChViewportWidth, kReferrer, kCfConnectingIp, kXForwardedFor,
                                   kForwarded, kXRealIp};
        // First every offset (pointers into the arena), then the copies (which may move it).
        std::array<std::uint32_t, std::size(where)> off{};
        for (std::size_t i = 0; i < std::size(where); ++i) off[i] = got[i] ? arena_.offset_of(got[i]) : 0;
        for (std::size_t i = 0; i < std::size(where); ++i) {
            if (got[i] && !off[i] && *got[i]) {  // in the library's per-thread buffer: copy it now
                off[i] = arena_.add(got[i]);
                if (!off[i]) { undo(); return kNoMemory; }
            }
        }
        for (std::size_t i = 0; i < std::size(where); ++i) str_[where[i]] = off[i];
        return PIRSCH_OK;
    }

    /** A failure found here, not by the library: INVALID_ARGUMENT with this text, or no memory. */
    pirsch_result fail_here(const char *why) noexcept {
        here_ = why;
        return PIRSCH_ERR_INVALID_ARGUMENT;
    }
    static constexpr pirsch_result kNoMemory = -1;  // never a pirsch_result
    const char *here_ = nullptr;

    void reset() noexcept {
        arena_.clear();
        str_.fill(0);
        tags_.clear();
        screen_width_ = screen_height_ = 0;
        disable_bot_filter_ = false;
        problem_ = Problem::none;
        problem_field_ = nullptr;
    }

    Arena arena_;
    std::array<std::uint32_t, kFieldCount> str_{};
    KvList tags_;
    std::int32_t screen_width_ = 0, screen_height_ = 0;
    bool disable_bot_filter_ = false;
    Problem problem_ = Problem::none;
    const char *problem_field_ = nullptr;

    friend class ::pirsch::Client;
};

/**
 * The setters every builder shares. Each copies its argument (""  = leave the field out)
 * and returns the builder, so calls chain; none throws (see the file's comment).
 */
template <class D>
class HitBuilder : public HitData {
public:
    /** Required for page views and events: the full URL, e.g. "https://example.com/path?q=1". */
    D &url(std::string_view v) noexcept { return put(kUrl, v), self(); }
    /** Required: the address of the peer that connected to your server (see trusted_proxies). */
    D &ip(std::string_view v) noexcept { return put(kIp, v), self(); }
    D &user_agent(std::string_view v) noexcept { return put(kUserAgent, v), self(); }
    D &accept_language(std::string_view v) noexcept { return put(kAcceptLanguage, v), self(); }
    D &sec_ch_ua(std::string_view v) noexcept { return put(kSecChUa, v), self(); }
    D &sec_ch_ua_mobile(std::string_view v) noexcept { return put(kSecChUaMobile, v), self(); }
    D &sec_ch_ua_platform(std::string_view v) noexcept { return put(kSecChUaPlatform, v), self(); }
    D &sec_ch_ua_platform_version(std::string_view v) noexcept { return put(kSecChUaPlatformVersion, v), self(); }
    D &sec_ch_width(std::string_view v) noexcept { return put(kSecChWidth, v), self(); }
    D &sec_ch_viewport_width(std::string_view v) noexcept { return put(kSecChViewportWidth, v), self(); }
    D &title(std::string_view v) noexcept { return put(kTitle, v), self(); }
    D &referrer(std::string_view v) noexcept { return put(kReferrer, v), self(); }
    /** The proxy headers as received; only `client_ip_header` is read, and only from a trusted peer. */
    D &cf_connecting_ip(std::string_view v) noexcept { return put(kCfConnectingIp, v), self(); }
    D &x_forwarded_for(std::string_view v) noexcept { return put(kXForwardedFor, v), self(); }
    D &forwarded(std::string_view v) noexcept { return put(kForwarded, v), self(); }
    D &x_real_ip(std::string_view v) noexcept { return put(kXRealIp, v), self(); }
    /** Screen size in pixels; 0 = not sent. */
    D &screen(std::int32_t width, std::int32_t height) noexcept {
        screen_width_ = width;
        screen_height_ = height;
        return self();
    }
    D &disable_bot_filter(bool on = true) noexcept {
        disable_bot_filter_ = on;
        return self();
    }
    /** A tag (up to 20; keys unique, non-empty, at most 50 characters: the library checks). */
    D &tag(std::string_view key, std::string_view value) noexcept { return put_kv(tags_, key, value, "a tag"), self(); }
    /** When the visitor's request happened (RFC 3339 or epoch milliseconds); needs a pirsch.h with it. */
    template <class H = pirsch_hit_options>
    D &time(std::string_view v) noexcept {
        static_assert(has_time_field<H>::value, "this pirsch.h has no pirsch_hit_options::time: libpirsch is too old");
        return put(kTime, v), self();
    }

    /**
     * Sets url, ip, user_agent, accept_language, the sec_ch_* fields, referrer and the four
     * proxy fields from a request (pirsch_hit_options_from_headers; fields whose header is
     * absent are unset), and keeps title, screen, disable_bot_filter and tags. `headers` is
     * any range of (name, value) pairs whose parts convert to std::string_view: a
     * std::multimap<std::string, std::string> (cpp-httplib's Headers), a vector of pairs...
     * Names match case-insensitively; repeated X-Forwarded-For lines are joined in order;
     * without a Referer the referrer comes from the URL's ref/utm_source/... parameter. Only
     * the headers the library reads are copied (cookies are never looked at). Throws Error
     * (PIRSCH_ERR_INVALID_UTF8 for a URL that is not UTF-8, PIRSCH_ERR_INVALID_ARGUMENT for a
     * NUL byte in url or peer_ip) or std::bad_alloc; on failure the builder is unchanged.
     */
    template <class Headers>
    D &from_headers(std::string_view full_url, std::string_view peer_ip, const Headers &headers) {
        pirsch_result rc = from_headers_impl(full_url, peer_ip, headers);
        if (rc == kNoMemory) throw std::bad_alloc();
        if (rc != PIRSCH_OK) {
            if (here_) throw Error(rc, here_);
            throw_last(rc);
        }
        return self();
    }
    /** from_headers without exceptions: `ec` is the code (std::errc::not_enough_memory for no memory). */
    template <class Headers>
    D &from_headers(std::string_view full_url, std::string_view peer_ip, const Headers &headers, std::error_code &ec) noexcept {
        pirsch_result rc = from_headers_impl(full_url, peer_ip, headers);
        ec = rc == kNoMemory ? std::make_error_code(std::errc::not_enough_memory) : make_error_code(rc);
        return self();
    }
    using HeaderList = std::initializer_list<std::pair<std::string_view, std::string_view>>;
    D &from_headers(std::string_view full_url, std::string_view peer_ip, HeaderList headers) {
        return from_headers<HeaderList>(full_url, peer_ip, headers);
    }
    D &from_headers(std::string_view full_url, std::string_view peer_ip, HeaderList headers, std::error_code &ec) noexcept {
        return from_headers<HeaderList>(full_url, peer_ip, headers, ec);
    }

    /** Unsets everything, keeping the memory: a builder reused per request stops allocating. */
    D &clear() noexcept { return reset(), self(); }

    /** Whether the strings spilled out of the builder's inline 1 KiB into a heap block. */
    bool spilled() const noexcept { return arena_.on_heap(); }

protected:
    D &self() noexcept { return static_cast<D &>(*this); }
};
}  // namespace detail

/** A page view: `client.enqueue(pirsch::PageView().url(u).ip(peer).user_agent(ua))`. */
class PageView : public detail::HitBuilder<PageView> {};

/**
 * An event on a page view: the page view's fields (url and ip required) plus a name
 * (required), a duration, metadata and the non-interactive flag.
 */
class Event : public detail::HitBuilder<Event> {
public:
    Event() = default;
    explicit Event(std::string_view event_name) noexcept { name(event_name); }

    /** Required: the event's name, e.g. "signup". */
    Event &name(std::string_view v) noexcept { return put(kEventName, v), *this; }
    /** How long it lasted, in seconds; 0 = not sent. */
    Event &duration(std::chrono::seconds d) noexcept {
        using Rep = std::chrono::seconds::rep;
        Rep n = d.count();
        duration_ = n <= 0 ? 0u : n >= static_cast<Rep>(UINT32_MAX) ? UINT32_MAX : static_cast<std::uint32_t>(n);
        return *this;
    }
    /** A metadata entry (same limits as tags). */
    Event &meta(std::string_view key, std::string_view value) noexcept { return put_kv(meta_, key, value, "an event's metadata"), *this; }
    Event &non_interactive(bool on = true) noexcept {
        non_interactive_ = on;
        return *this;
    }
    Event &clear() noexcept {
        reset();
        meta_.clear();
        duration_ = 0;
        non_interactive_ = false;
        return *this;
    }

private:
    detail::KvList meta_;
    std::uint32_t duration_ = 0;
    bool non_interactive_ = false;
    friend class Client;
};

/**
 * A session keep-alive: the visitor's ip, user_agent, sec_ch_* fields and
 * disable_bot_filter (send the same as with their page views).
 */
class Session : private detail::HitBuilder<Session> {
    using Base = detail::HitBuilder<Session>;

public:
    using Base::clear;
    using Base::disable_bot_filter;
    using Base::from_headers;
    using Base::ip;
    using Base::sec_ch_ua;
    using Base::sec_ch_ua_mobile;
    using Base::sec_ch_ua_platform;
    using Base::sec_ch_ua_platform_version;
    using Base::sec_ch_viewport_width;
    using Base::sec_ch_width;
    using Base::spilled;
    using Base::user_agent;
    using Base::HeaderList;

private:
    friend class detail::HitBuilder<Session>;
    friend class Client;
};

// ---------------------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------------------

/**
 * A configuration (pirsch_config): string keys and values, as listed at pirsch_config_set
 * in pirsch.h (base_url, timeout_ms, queue_capacity, trusted_proxies, ...). A client copies
 * it, so it may go as soon as the client is made. Move-only; one thread at a time.
 */
class Config {
public:
    /** The defaults. Throws std::bad_alloc when the library cannot allocate one. */
    Config() : c_(pirsch_config_new()) {
        if (!c_) throw std::bad_alloc();
    }
    Config(Config &&o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
    Config &operator=(Config &&o) noexcept {
        if (this != &o) {
            pirsch_config_free(c_);
            c_ = std::exchange(o.c_, nullptr);
        }
        return *this;
    }
    Config(const Config &) = delete;
    Config &operator=(const Config &) = delete;
    ~Config() { pirsch_config_free(c_); }

    /** Sets one option; throws Error (PIRSCH_ERR_INVALID_ARGUMENT: unknown key or bad value, named). */
    Config &set(std::string_view key, std::string_view value) {
        detail::CStr<64> k(key);
        detail::CStr<256> v(value);
        if (k.has_nul() || v.has_nul()) throw Error(PIRSCH_ERR_INVALID_ARGUMENT, "pirsch.hpp: a config key or value holds a NUL byte");
        detail::check(pirsch_config_set(c_, k.c_str(), v.c_str()));
        return *this;
    }
    /** A number, e.g. set("timeout_ms", 3000). */
    template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
    Config &set(std::string_view key, T value) {
        char buf[24];
        auto r = std::to_chars(buf, buf + sizeof buf, value);
        return set(key, std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
    }
    /** set without exceptions: on failure `ec` holds the code (the config is then unchanged). */
    void set(std::string_view key, std::string_view value, std::error_code &ec) noexcept {
        try {
            detail::CStr<64> k(key);
            detail::CStr<256> v(value);
            detail::set(ec, (k.has_nul() || v.has_nul()) ? PIRSCH_ERR_INVALID_ARGUMENT
                                                          : pirsch_config_set(c_, k.c_str(), v.c_str()));
        } catch (...) {
            ec = std::make_error_code(std::errc::not_enough_memory);
        }
    }
    /**
     * The library's log messages go to `log(userdata, level, message)` (pirsch_config_set_logger):
     * from any thread; `userdata` must outlive every client made from this config.
     */
    Config &set_logger(void (*log)(void *userdata, int level, const char *message), void *userdata) {
        detail::check(pirsch_config_set_logger(c_, log, userdata));
        return *this;
    }

    pirsch_config *get() const noexcept { return c_; }

private:
    pirsch_config *c_;
};

// ---------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------

/**
 * The queue's counters (pirsch_stats). At every moment: enqueued == sent + dropped() +
 * spooled + queue_depth + in_flight. Blocking sends are not counted.
 */
struct Stats {
    std::uint64_t enqueued = 0, sent = 0, batches = 0, retries = 0;
    std::uint64_t dropped_queue_full = 0, dropped_rejected = 0, dropped_expired = 0, dropped_shutdown = 0;
    std::uint64_t queue_depth = 0, in_flight = 0, token_refreshes = 0, forks_detected = 0;
    std::uint64_t spooled = 0, unspooled = 0, spool_dropped = 0, spool_errors = 0;

    /** Every drop, whatever its reason. */
    std::uint64_t dropped() const noexcept { return dropped_queue_full + dropped_rejected + dropped_expired + dropped_shutdown; }
};

#if defined(PIRSCH_STATISTIC_COUNT)
// ---------------------------------------------------------------------------------------
// Statistics (libpirsch with pirsch_statistics; compiled only against such a pirsch.h)
// ---------------------------------------------------------------------------------------

/** Which statistic (pirsch_statistic); named as the Go SDK's methods, in snake_case. */
enum class Statistic : pirsch_statistic {
    visitors = PIRSCH_STATISTIC_VISITORS,
    total_visitors = PIRSCH_STATISTIC_TOTAL,
    pages = PIRSCH_STATISTIC_PAGES,
    entry_pages = PIRSCH_STATISTIC_ENTRY_PAGES,
    exit_pages = PIRSCH_STATISTIC_EXIT_PAGES,
    session_duration = PIRSCH_STATISTIC_SESSION_DURATION,
    time_on_page = PIRSCH_STATISTIC_TIME_ON_PAGE,
    utm_source = PIRSCH_STATISTIC_UTM_SOURCE,
    utm_medium = PIRSCH_STATISTIC_UTM_MEDIUM,
    utm_campaign = PIRSCH_STATISTIC_UTM_CAMPAIGN,
    utm_content = PIRSCH_STATISTIC_UTM_CONTENT,
    utm_term = PIRSCH_STATISTIC_UTM_TERM,
    conversion_goals = PIRSCH_STATISTIC_CONVERSION_GOALS,
    events = PIRSCH_STATISTIC_EVENTS,
    event_metadata = PIRSCH_STATISTIC_EVENT_METADATA,
    list_events = PIRSCH_STATISTIC_LIST_EVENTS,
    event_pages = PIRSCH_STATISTIC_EVENT_PAGES,
    funnel = PIRSCH_STATISTIC_FUNNEL,
    growth = PIRSCH_STATISTIC_GROWTH,
    active_visitors = PIRSCH_STATISTIC_ACTIVE_VISITORS,
    time_of_day = PIRSCH_STATISTIC_TIME_OF_DAY,
    languages = PIRSCH_STATISTIC_LANGUAGES,
    referrer = PIRSCH_STATISTIC_REFERRER,
    keywords = PIRSCH_STATISTIC_KEYWORDS,
    os = PIRSCH_STATISTIC_OS,
    os_versions = PIRSCH_STATISTIC_OS_VERSIONS,
    browser = PIRSCH_STATISTIC_BROWSER,
    browser_versions = PIRSCH_STATISTIC_BROWSER_VERSIONS,
    platform = PIRSCH_STATISTIC_PLATFORM,
    screen = PIRSCH_STATISTIC_SCREEN,
    country = PIRSCH_STATISTIC_COUNTRY,
    region = PIRSCH_STATISTIC_REGION,
    city = PIRSCH_STATISTIC_CITY,
    tag_keys = PIRSCH_STATISTIC_TAG_KEYS,
    tags = PIRSCH_STATISTIC_TAGS,
};

/**
 * What a statistic covers (pirsch_filter), field for field; empty strings, lists and 0 are
 * not sent. domain_id is required, and from/to (YYYY-MM-DD) except for active_visitors.
 * The fields own their strings (assign a std::string_view, a literal or a std::string).
 */
struct Filter {
    std::string domain_id, from, to, tz, scale;
    std::uint32_t start = 0;  // active_visitors: seconds back
    std::vector<std::string> path, pattern, entry_path, exit_path, event, event_meta_key, language, country,
        region, city, referrer, referrer_name, os, browser, screen_class, utm_source, utm_medium, utm_campaign,
        utm_content, utm_term, tag;  // each value sent as a repeated parameter: path=/a&path=/b
    std::string platform;
    std::vector<std::pair<std::string, std::string>> event_meta, tags;  // meta_<key>=<value>, tag_<key>=<value>
    std::string custom_metric_key, custom_metric_type;
    bool include_avg_time_on_page = false;
    std::uint32_t offset = 0, limit = 0;
    std::string sort, direction, search;
    std::string funnel_id;  // Statistic::funnel only
};

namespace detail {
/** A pirsch_filter pointing into a Filter, with the pointer arrays it needs (one block each). */
class FilterView {
public:
    explicit FilterView(const Filter &f) {
        const std::vector<std::string> *lists[] = {
            &f.path, &f.pattern, &f.entry_path, &f.exit_path, &f.event, &f.event_meta_key, &f.language,
            &f.country, &f.region, &f.city, &f.referrer, &f.referrer_name, &f.os, &f.browser,
            &f.screen_class, &f.utm_source, &f.utm_medium, &f.utm_campaign, &f.utm_content, &f.utm_term, &f.tag};
        pirsch_strings *outs[] = {
            &f_.path, &f_.pattern, &f_.entry_path, &f_.exit_path, &f_.event, &f_.event_meta_key, &f_.language,
            &f_.country, &f_.region, &f_.city, &f_.referrer, &f_.referrer_name, &f_.os, &f_.browser,
            &f_.screen_class, &f_.utm_source, &f_.utm_medium, &f_.utm_campaign, &f_.utm_content, &f_.utm_term, &f_.tag};
        std::size_t total = 0;
        for (const auto *l : lists) total += l->size();
        ptrs_.reserve(total);  // no reallocation below: the items pointers stay valid
        for (std::size_t i = 0; i < std::size(lists); ++i) {
            outs[i]->items = lists[i]->empty() ? nullptr : ptrs_.data() + ptrs_.size();
            outs[i]->len = lists[i]->size();
            for (const auto &s : *lists[i]) ptrs_.push_back(str(s));
        }
        kvs_.reserve(f.event_meta.size() + f.tags.size());
        f_.event_meta = f.event_meta.empty() ? nullptr : kvs_.data();
        f_.event_meta_len = f.event_meta.size();
        for (const auto &kv : f.event_meta) kvs_.push_back(pirsch_kv{str(kv.first), str(kv.second)});
        f_.tags = f.tags.empty() ? nullptr : kvs_.data() + kvs_.size();
        f_.tags_len = f.tags.size();
        for (const auto &kv : f.tags) kvs_.push_back(pirsch_kv{str(kv.first), str(kv.second)});

        f_.struct_size = sizeof f_;
        f_.domain_id = opt(f.domain_id);
        f_.from = opt(f.from);
        f_.to = opt(f.to);
        f_.tz = opt(f.tz);
        f_.scale = opt(f.scale);
        f_.start = f.start;
        f_.platform = opt(f.platform);
        f_.custom_metric_key = opt(f.custom_metric_key);
        f_.custom_metric_type = opt(f.custom_metric_type);
        f_.include_avg_time_on_page = f.include_avg_time_on_page;
        f_.offset = f.offset;
        f_.limit = f.limit;
        f_.sort = opt(f.sort);
        f_.direction = opt(f.direction);
        f_.search = opt(f.search);
        f_.funnel_id = opt(f.funnel_id);
    }
    FilterView(const FilterView &) = delete;
    FilterView &operator=(const FilterView &) = delete;
    const pirsch_filter *get() const noexcept { return &f_; }
    /** A string of the filter held a NUL byte (C would read it cut short): refused. */
    bool has_nul() const noexcept { return nul_; }

private:
    const char *str(const std::string &s) noexcept {
        nul_ = nul_ || s.find('\0') != std::string::npos;
        return s.c_str();
    }
    const char *opt(const std::string &s) noexcept { return s.empty() ? nullptr : str(s); }

    pirsch_filter f_{};
    std::vector<const char *> ptrs_;
    std::vector<pirsch_kv> kvs_;
    bool nul_ = false;
};
}  // namespace detail

/**
 * The request path of a statistic ("/api/v1/statistics/page?id=...&from=..."), percent-encoded
 * (pirsch_statistics_path). No I/O, no client. Throws Error (a missing domain_id, from, to...).
 */
inline std::string statistics_path(Statistic which, const Filter &filter) {
    detail::FilterView view(filter);
    if (view.has_nul()) throw Error(PIRSCH_ERR_INVALID_ARGUMENT, "pirsch.hpp: a string of the filter holds a NUL byte");
    char *out = nullptr;
    detail::check(pirsch_statistics_path(static_cast<pirsch_statistic>(which), view.get(), &out));
    std::unique_ptr<char, void (*)(char *)> owned(out, pirsch_string_free);
    return std::string(out ? out : "");
}
#endif  // PIRSCH_STATISTIC_COUNT

/**
 * A client (pirsch_client): owns the handle, frees it with pirsch_free (which delivers what
 * is queued, up to shutdown_timeout_ms). Move-only; a moved-from Client holds nothing and
 * its calls fail with PIRSCH_ERR_NULL_ARGUMENT. Thread-safe: share one per process.
 *
 * In request handlers use enqueue(): it validates, copies and queues in about a
 * microsecond and never waits on the network; a background thread delivers batches.
 * send() blocks until the API has accepted the item (up to timeout_ms per try).
 */
class Client {
public:
    /** An access key ("", "pa_...") or an OAuth client id and secret, with the defaults. Throws Error. */
    Client(std::string_view client_id, std::string_view client_secret) : Client(client_id, client_secret, nullptr) {}
    /** ... with a Config (copied: it may go right after). Throws Error (e.g. PIRSCH_ERR_INVALID_ARGUMENT). */
    Client(std::string_view client_id, std::string_view client_secret, const Config &cfg)
        : Client(client_id, client_secret, config_of(cfg)) {}
    /** Without exceptions: on failure `ec` holds the code and the Client is empty (false). */
    Client(std::string_view client_id, std::string_view client_secret, std::error_code &ec) noexcept
        : c_(make(nullptr, client_id, client_secret, nullptr, ec)) {}
    Client(std::string_view client_id, std::string_view client_secret, const Config &cfg, std::error_code &ec) noexcept
        : c_(cfg.get() ? make(nullptr, client_id, client_secret, cfg.get(), ec) : moved_config(ec)) {}
    /** Takes ownership of a pirsch_client* (NULL gives an empty Client). */
    explicit Client(pirsch_client *adopt) noexcept : c_(adopt) {}

    /**
     * The process's client named `name` (pirsch_client_shared): made on the first call, the
     * same one on later calls in any thread and in forked children; each Client holds one
     * reference. Throws Error.
     */
    static Client shared(std::string_view name, std::string_view client_id, std::string_view client_secret) {
        return shared_impl(name, client_id, client_secret, nullptr);
    }
    static Client shared(std::string_view name, std::string_view client_id, std::string_view client_secret, const Config &cfg) {
        return shared_impl(name, client_id, client_secret, config_of(cfg));
    }
    static Client shared(std::string_view name, std::string_view client_id, std::string_view client_secret,
                         const Config &cfg, std::error_code &ec) noexcept {
        return Client(cfg.get() ? make(&name, client_id, client_secret, cfg.get(), ec) : moved_config(ec));
    }

    Client(Client &&o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
    Client &operator=(Client &&o) noexcept {
        if (this != &o) {
            pirsch_free(c_);
            c_ = std::exchange(o.c_, nullptr);
        }
        return *this;
    }
    Client(const Client &) = delete;
    Client &operator=(const Client &) = delete;
    /** pirsch_free: delivers what is queued, blocking up to shutdown_timeout_ms. */
    ~Client() { pirsch_free(c_); }

    pirsch_client *get() const noexcept { return c_; }
    /** Gives up ownership (the caller then calls pirsch_free). */
    pirsch_client *release() noexcept { return std::exchange(c_, nullptr); }
    explicit operator bool() const noexcept { return c_ != nullptr; }

    // Queued (the default in request handlers): returns at once, never waits on the network.
    // Throws Error: a validation error (nothing queued), PIRSCH_ERR_QUEUE_FULL, PIRSCH_ERR_CLOSED.
    void enqueue(const PageView &pv) { raise(submit(kHitEnqueue, pv, nullptr), pv); }
    void enqueue(const Event &ev) { raise(submit(kEventEnqueue, ev, &ev), ev); }
    void enqueue(const Session &s) { raise(submit(kSessionEnqueue, s, nullptr), s); }
    void enqueue(const PageView &pv, std::error_code &ec) noexcept { quietly(kHitEnqueue, pv, nullptr, ec); }
    void enqueue(const Event &ev, std::error_code &ec) noexcept { quietly(kEventEnqueue, ev, &ev, ec); }
    void enqueue(const Session &s, std::error_code &ec) noexcept { quietly(kSessionEnqueue, s, nullptr, ec); }

    // Blocking: returns when the API has accepted it (up to timeout_ms per try, 1 + max_retries
    // tries). Throws Error: validation, PIRSCH_ERR_AUTH, _HTTP, _NETWORK, _TIMEOUT.
    void send(const PageView &pv) { raise(submit(kHit, pv, nullptr), pv); }
    void send(const Event &ev) { raise(submit(kEvent, ev, &ev), ev); }
    void send(const Session &s) { raise(submit(kSession, s, nullptr), s); }
    void send(const PageView &pv, std::error_code &ec) noexcept { quietly(kHit, pv, nullptr, ec); }
    void send(const Event &ev, std::error_code &ec) noexcept { quietly(kEvent, ev, &ev, ec); }
    void send(const Session &s, std::error_code &ec) noexcept { quietly(kSession, s, nullptr, ec); }

    /**
     * Waits (BLOCKS up to `timeout`) until everything queued before the call is sent or
     * dropped for a counted reason. Throws Error (PIRSCH_ERR_TIMEOUT: still queued, still
     * delivered later).
     */
    void flush(std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) { detail::check(pirsch_flush(c_, ms(timeout))); }
    void flush(std::chrono::milliseconds timeout, std::error_code &ec) noexcept { detail::set(ec, pirsch_flush(c_, ms(timeout))); }

    /** The queue's counters. Does not block. Throws Error (an empty Client). */
    Stats stats() const {
        Stats out;
        detail::check(read_stats(out));
        return out;
    }
    Stats stats(std::error_code &ec) const noexcept {
        Stats out;
        detail::set(ec, read_stats(out));
        return out;
    }

    /**
     * Any API call (pirsch_request), e.g. request("GET", "/api/v1/domain"): the response
     * body. BLOCKS like send. Reading needs an OAuth client. Throws Error.
     */
    std::string request(std::string_view method, std::string_view path_and_query) { return request_impl(method, path_and_query, nullptr); }
    std::string request(std::string_view method, std::string_view path_and_query, std::string_view json_body) {
        return request_impl(method, path_and_query, &json_body);
    }

#if defined(PIRSCH_STATISTIC_COUNT)
    /**
     * A statistic as the API's JSON (pirsch_statistics). BLOCKS like send. Needs an OAuth
     * client (access keys can only write). Throws Error.
     */
    std::string statistics(Statistic which, const Filter &filter) {
        detail::FilterView view(filter);
        if (view.has_nul()) throw Error(PIRSCH_ERR_INVALID_ARGUMENT, "pirsch.hpp: a string of the filter holds a NUL byte");
        char *out = nullptr;
        detail::check(pirsch_statistics(c_, static_cast<pirsch_statistic>(which), view.get(), &out));
        return take(out);
    }
    /** statistics without exceptions: "" and the code in `ec` on failure. */
    std::string statistics(Statistic which, const Filter &filter, std::error_code &ec) noexcept {
        try {
            detail::FilterView view(filter);
            char *out = nullptr;
            pirsch_result rc = view.has_nul() ? PIRSCH_ERR_INVALID_ARGUMENT
                                              : pirsch_statistics(c_, static_cast<pirsch_statistic>(which), view.get(), &out);
            detail::set(ec, rc);
            return rc == PIRSCH_OK ? take(out) : std::string();
        } catch (...) {
            ec = std::make_error_code(std::errc::not_enough_memory);
            return std::string();
        }
    }
    /** The domains this client may read, as JSON (pirsch_domains). BLOCKS. Throws Error. */
    std::string domains() {
        char *out = nullptr;
        detail::check(pirsch_domains(c_, &out));
        return take(out);
    }
    std::string domains(std::error_code &ec) noexcept {
        try {
            char *out = nullptr;
            pirsch_result rc = pirsch_domains(c_, &out);
            detail::set(ec, rc);
            return rc == PIRSCH_OK ? take(out) : std::string();
        } catch (...) {
            ec = std::make_error_code(std::errc::not_enough_memory);
            return std::string();
        }
    }
    /** A domain's funnels with their steps, as JSON (pirsch_funnels; Go: ListFunnel). BLOCKS. Throws Error. */
    std::string funnels(std::string_view domain_id) {
        detail::CStr<64> id(domain_id);
        if (id.has_nul()) throw Error(PIRSCH_ERR_INVALID_ARGUMENT, "pirsch.hpp: the domain id holds a NUL byte");
        char *out = nullptr;
        detail::check(pirsch_funnels(c_, id.c_str(), &out));
        return take(out);
    }
    std::string funnels(std::string_view domain_id, std::error_code &ec) noexcept {
        try {
            detail::CStr<64> id(domain_id);
            char *out = nullptr;
            pirsch_result rc = id.has_nul() ? PIRSCH_ERR_INVALID_ARGUMENT : pirsch_funnels(c_, id.c_str(), &out);
            detail::set(ec, rc);
            return rc == PIRSCH_OK ? take(out) : std::string();
        } catch (...) {
            ec = std::make_error_code(std::errc::not_enough_memory);
            return std::string();
        }
    }
    /** A funnel's statistics (Go: Funnel(id, filter)): `filter` with funnel_id set to `funnel_id`. */
    std::string funnel(std::string_view funnel_id, const Filter &filter) {
        Filter f = filter;
        f.funnel_id = funnel_id;
        return statistics(Statistic::funnel, f);
    }

    // One method per statistic, named as the Go SDK's (JSON; BLOCKS; throws Error, or not with `ec`).
#define PIRSCH_HPP_STATISTIC(name)                                                                             \
    std::string name(const Filter &filter) { return statistics(Statistic::name, filter); }                     \
    std::string name(const Filter &filter, std::error_code &ec) noexcept { return statistics(Statistic::name, filter, ec); }
    PIRSCH_HPP_STATISTIC(visitors)
    PIRSCH_HPP_STATISTIC(total_visitors)
    PIRSCH_HPP_STATISTIC(pages)
    PIRSCH_HPP_STATISTIC(entry_pages)
    PIRSCH_HPP_STATISTIC(exit_pages)
    PIRSCH_HPP_STATISTIC(session_duration)
    PIRSCH_HPP_STATISTIC(time_on_page)
    PIRSCH_HPP_STATISTIC(utm_source)
    PIRSCH_HPP_STATISTIC(utm_medium)
    PIRSCH_HPP_STATISTIC(utm_campaign)
    PIRSCH_HPP_STATISTIC(utm_content)
    PIRSCH_HPP_STATISTIC(utm_term)
    PIRSCH_HPP_STATISTIC(conversion_goals)
    PIRSCH_HPP_STATISTIC(events)
    PIRSCH_HPP_STATISTIC(event_metadata)
    PIRSCH_HPP_STATISTIC(list_events)
    PIRSCH_HPP_STATISTIC(event_pages)
    PIRSCH_HPP_STATISTIC(funnel)
    PIRSCH_HPP_STATISTIC(growth)
    PIRSCH_HPP_STATISTIC(active_visitors)
    PIRSCH_HPP_STATISTIC(time_of_day)
    PIRSCH_HPP_STATISTIC(languages)
    PIRSCH_HPP_STATISTIC(referrer)
    PIRSCH_HPP_STATISTIC(keywords)
    PIRSCH_HPP_STATISTIC(os)
    PIRSCH_HPP_STATISTIC(os_versions)
    PIRSCH_HPP_STATISTIC(browser)
    PIRSCH_HPP_STATISTIC(browser_versions)
    PIRSCH_HPP_STATISTIC(platform)
    PIRSCH_HPP_STATISTIC(screen)
    PIRSCH_HPP_STATISTIC(country)
    PIRSCH_HPP_STATISTIC(region)
    PIRSCH_HPP_STATISTIC(city)
    PIRSCH_HPP_STATISTIC(tag_keys)
    PIRSCH_HPP_STATISTIC(tags)
#undef PIRSCH_HPP_STATISTIC
#endif  // PIRSCH_STATISTIC_COUNT

private:
    enum Op { kHit, kHitEnqueue, kEvent, kEventEnqueue, kSession, kSessionEnqueue };
    static constexpr pirsch_result kNoMemory = -1;

    static const pirsch_config *config_of(const Config &cfg) {
        if (!cfg.get()) moved_config_throw();
        return cfg.get();
    }
    [[noreturn]] static void moved_config_throw() {
        throw Error(PIRSCH_ERR_NULL_ARGUMENT, "pirsch.hpp: the Config was moved from (it holds no configuration)");
    }
    static pirsch_client *moved_config(std::error_code &ec) noexcept {
        detail::set(ec, PIRSCH_ERR_NULL_ARGUMENT);
        return nullptr;
    }
    Client(std::string_view client_id, std::string_view client_secret, const pirsch_config *cfg)
        : c_(make_or_throw(nullptr, client_id, client_secret, cfg)) {}
    static Client shared_impl(std::string_view name, std::string_view client_id, std::string_view client_secret,
                              const pirsch_config *cfg) {
        return Client(make_or_throw(&name, client_id, client_secret, cfg));
    }
    static pirsch_client *create(const std::string_view *name, std::string_view id, std::string_view secret,
                                 const pirsch_config *cfg, bool &nul) {
        detail::CStr<64> i(id), s(secret);
        nul = i.has_nul() || s.has_nul();
        if (nul) return nullptr;
        if (!name) return pirsch_client_new(i.c_str(), s.c_str(), cfg);
        detail::CStr<64> n(*name);
        nul = n.has_nul();
        return nul ? nullptr : pirsch_client_shared(n.c_str(), i.c_str(), s.c_str(), cfg);
    }
    static pirsch_client *make_or_throw(const std::string_view *name, std::string_view id, std::string_view secret,
                                        const pirsch_config *cfg) {
        bool nul = false;
        pirsch_client *c = create(name, id, secret, cfg, nul);
        if (nul) throw Error(PIRSCH_ERR_INVALID_ARGUMENT, "pirsch.hpp: a credential or the client's name holds a NUL byte");
        if (!c) {
            pirsch_result rc = pirsch_last_error_code();
            detail::throw_last(rc != PIRSCH_OK ? rc : PIRSCH_ERR_PANIC);
        }
        return c;
    }
    static pirsch_client *make(const std::string_view *name, std::string_view id, std::string_view secret,
                               const pirsch_config *cfg, std::error_code &ec) noexcept {
        bool nul = false;
        pirsch_client *c = nullptr;
        try {
            c = create(name, id, secret, cfg, nul);
        } catch (...) {
            ec = std::make_error_code(std::errc::not_enough_memory);
            return nullptr;
        }
        if (nul) {
            detail::set(ec, PIRSCH_ERR_INVALID_ARGUMENT);
        } else if (!c) {
            pirsch_result rc = pirsch_last_error_code();
            detail::set(ec, rc != PIRSCH_OK ? rc : PIRSCH_ERR_PANIC);
        } else {
            ec.clear();
        }
        return c;
    }

    static std::uint32_t ms(std::chrono::milliseconds t) noexcept {
        auto n = t.count();
        if (n <= 0) return 0;
        return n >= static_cast<decltype(n)>(UINT32_MAX) ? UINT32_MAX : static_cast<std::uint32_t>(n);
    }

    /** Calls the C function for `op` with pointers into the builder. Allocates only for > 20 tags. */
    pirsch_result submit(Op op, const detail::HitData &b, const Event *ev) const {
        if (b.problem_ != detail::HitData::Problem::none)
            return b.problem_ == detail::HitData::Problem::no_memory ? kNoMemory : PIRSCH_ERR_INVALID_ARGUMENT;
        detail::KvArray tags(b.tags_, b.arena_);
        pirsch_hit_options h{};
        h.struct_size = sizeof h;
        b.fill(h, tags);
        switch (op) {
        case kHit: return pirsch_hit(c_, &h);
        case kHitEnqueue: return pirsch_hit_enqueue(c_, &h);
        case kSession: return pirsch_session(c_, &h);
        case kSessionEnqueue: return pirsch_session_enqueue(c_, &h);
        case kEvent:
        case kEventEnqueue: break;
        }
        detail::KvArray meta(ev->meta_, ev->arena_);
        pirsch_event_options e{};
        e.struct_size = sizeof e;
        e.name = ev->s(detail::HitData::kEventName);
        e.duration_seconds = ev->duration_;
        e.meta = meta.data();
        e.meta_len = meta.size();
        e.non_interactive = ev->non_interactive_;
        return op == kEvent ? pirsch_event(c_, &e, &h) : pirsch_event_enqueue(c_, &e, &h);
    }
    static void raise(pirsch_result rc, const detail::HitData &b) {
        if (rc == PIRSCH_OK) return;
        if (rc == kNoMemory) throw std::bad_alloc();
        if (b.problem_ == detail::HitData::Problem::nul_byte) throw Error(rc, b.problem_text());
        detail::throw_last(rc);
    }
    void quietly(Op op, const detail::HitData &b, const Event *ev, std::error_code &ec) const noexcept {
        pirsch_result rc = kNoMemory;
        try {
            rc = submit(op, b, ev);
        } catch (...) {
        }
        ec = rc == kNoMemory ? std::make_error_code(std::errc::not_enough_memory) : make_error_code(rc);
    }

    pirsch_result read_stats(Stats &out) const noexcept {
#if defined(PIRSCH_STATISTIC_COUNT)  // libpirsch 0.2: the counters under a name C++ can use
        pirsch_queue_stats st{};
        st.struct_size = sizeof st;
        pirsch_result rc = pirsch_client_stats(c_, &st);
#else
        struct pirsch_stats st {};  // `struct`: the function pirsch_stats has the plain name
        st.struct_size = sizeof st;
        pirsch_result rc = pirsch_stats(c_, &st);
#endif
        if (rc != PIRSCH_OK) return rc;
        out.enqueued = st.enqueued;
        out.sent = st.sent;
        out.batches = st.batches;
        out.retries = st.retries;
        out.dropped_queue_full = st.dropped_queue_full;
        out.dropped_rejected = st.dropped_rejected;
        out.dropped_expired = st.dropped_expired;
        out.dropped_shutdown = st.dropped_shutdown;
        out.queue_depth = st.queue_depth;
        out.in_flight = st.in_flight;
        out.token_refreshes = st.token_refreshes;
        out.forks_detected = st.forks_detected;
        out.spooled = st.spooled;
        out.unspooled = st.unspooled;
        out.spool_dropped = st.spool_dropped;
        out.spool_errors = st.spool_errors;
        return PIRSCH_OK;
    }

    /** A string the library returned, copied into a std::string and freed. */
    static std::string take(char *s) {
        std::unique_ptr<char, void (*)(char *)> owned(s, pirsch_string_free);
        return s ? std::string(s) : std::string();
    }
    std::string request_impl(std::string_view method, std::string_view path, const std::string_view *body) {
        detail::CStr<16> m(method);
        detail::CStr<256> p(path);
        if (m.has_nul() || p.has_nul()) throw Error(PIRSCH_ERR_INVALID_ARGUMENT, "pirsch.hpp: the method or path holds a NUL byte");
        char *out = nullptr;
        pirsch_result rc;
        if (body) {
            std::string b(*body);  // one copy: a body may be large, and it needs its NUL
            if (detail::has_nul(*body)) throw Error(PIRSCH_ERR_INVALID_ARGUMENT, "pirsch.hpp: the body holds a NUL byte");
            rc = pirsch_request(c_, m.c_str(), p.c_str(), b.c_str(), &out);
        } else {
            rc = pirsch_request(c_, m.c_str(), p.c_str(), nullptr, &out);
        }
        if (rc != PIRSCH_OK) detail::throw_last(rc);
        return take(out);
    }

    pirsch_client *c_;
};

}  // namespace pirsch

namespace std {
template <>
struct is_error_code_enum<pirsch::errc> : true_type {};
}  // namespace std

#endif  // PIRSCH_HPP
