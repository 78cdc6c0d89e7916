//! Reading statistics: pirsch_statistics (one call, the statistic as a value), the query it
//! sends (pirsch_statistics_path), pirsch_domains and pirsch_funnels.

use super::boundary::fallible;
use super::convert::{client_ref, null, read_versioned, utf8};
use super::result::pirsch_result;
use super::types::{pirsch_client, pirsch_filter, pirsch_kv, pirsch_strings};
use crate::api::statistics::{self, Filter, LISTS};
use crate::error::{Error, Result};
use std::ffi::{c_char, CString};

/// Which statistic pirsch_statistics asks for: one of the PIRSCH_STATISTIC_* values. Values
/// are stable; others are refused with PIRSCH_ERR_INVALID_ARGUMENT.
pub type pirsch_statistic = i32;

/// Visitors, views, sessions and bounces per day (or `scale`): GET /api/v1/statistics/visitor.
pub const PIRSCH_STATISTIC_VISITORS: pirsch_statistic = 0;
/// Totals for the range (statistics/total).
pub const PIRSCH_STATISTIC_TOTAL: pirsch_statistic = 1;
/// Pages with visitors and views (statistics/page).
pub const PIRSCH_STATISTIC_PAGES: pirsch_statistic = 2;
/// Entry pages (statistics/page/entry).
pub const PIRSCH_STATISTIC_ENTRY_PAGES: pirsch_statistic = 3;
/// Exit pages (statistics/page/exit).
pub const PIRSCH_STATISTIC_EXIT_PAGES: pirsch_statistic = 4;
/// Average session duration per day (statistics/duration/session).
pub const PIRSCH_STATISTIC_SESSION_DURATION: pirsch_statistic = 5;
/// Average time on page per day (statistics/duration/page).
pub const PIRSCH_STATISTIC_TIME_ON_PAGE: pirsch_statistic = 6;
/// UTM sources (statistics/utm/source).
pub const PIRSCH_STATISTIC_UTM_SOURCE: pirsch_statistic = 7;
/// UTM media (statistics/utm/medium).
pub const PIRSCH_STATISTIC_UTM_MEDIUM: pirsch_statistic = 8;
/// UTM campaigns (statistics/utm/campaign).
pub const PIRSCH_STATISTIC_UTM_CAMPAIGN: pirsch_statistic = 9;
/// UTM contents (statistics/utm/content).
pub const PIRSCH_STATISTIC_UTM_CONTENT: pirsch_statistic = 10;
/// UTM terms (statistics/utm/term).
pub const PIRSCH_STATISTIC_UTM_TERM: pirsch_statistic = 11;
/// Conversion goals (statistics/goals).
pub const PIRSCH_STATISTIC_CONVERSION_GOALS: pirsch_statistic = 12;
/// Events with their counts (statistics/events).
pub const PIRSCH_STATISTIC_EVENTS: pirsch_statistic = 13;
/// The values of one event's metadata key (statistics/event/meta; needs `event` and
/// `event_meta_key`).
pub const PIRSCH_STATISTIC_EVENT_METADATA: pirsch_statistic = 14;
/// Events with all their metadata (statistics/event/list).
pub const PIRSCH_STATISTIC_LIST_EVENTS: pirsch_statistic = 15;
/// The pages an event happened on (statistics/event/page; needs `event`).
pub const PIRSCH_STATISTIC_EVENT_PAGES: pirsch_statistic = 16;
/// A funnel's steps (statistics/funnel; needs `funnel_id`).
pub const PIRSCH_STATISTIC_FUNNEL: pirsch_statistic = 17;
/// Growth against the period before (statistics/growth).
pub const PIRSCH_STATISTIC_GROWTH: pirsch_statistic = 18;
/// Active visitors of the last `start` seconds (statistics/active; no dates needed).
pub const PIRSCH_STATISTIC_ACTIVE_VISITORS: pirsch_statistic = 19;
/// Visitors per hour of the day (statistics/hours).
pub const PIRSCH_STATISTIC_TIME_OF_DAY: pirsch_statistic = 20;
/// Languages (statistics/language).
pub const PIRSCH_STATISTIC_LANGUAGES: pirsch_statistic = 21;
/// Referrers (statistics/referrer).
pub const PIRSCH_STATISTIC_REFERRER: pirsch_statistic = 22;
/// Google Search Console keywords (statistics/keywords).
pub const PIRSCH_STATISTIC_KEYWORDS: pirsch_statistic = 23;
/// Operating systems (statistics/os).
pub const PIRSCH_STATISTIC_OS: pirsch_statistic = 24;
/// Operating system versions (statistics/os/version).
pub const PIRSCH_STATISTIC_OS_VERSIONS: pirsch_statistic = 25;
/// Browsers (statistics/browser).
pub const PIRSCH_STATISTIC_BROWSER: pirsch_statistic = 26;
/// Browser versions (statistics/browser/version).
pub const PIRSCH_STATISTIC_BROWSER_VERSIONS: pirsch_statistic = 27;
/// Desktop, mobile and unknown platforms (statistics/platform).
pub const PIRSCH_STATISTIC_PLATFORM: pirsch_statistic = 28;
/// Screen classes (statistics/screen).
pub const PIRSCH_STATISTIC_SCREEN: pirsch_statistic = 29;
/// Countries (statistics/country).
pub const PIRSCH_STATISTIC_COUNTRY: pirsch_statistic = 30;
/// Regions (statistics/region).
pub const PIRSCH_STATISTIC_REGION: pirsch_statistic = 31;
/// Cities (statistics/city).
pub const PIRSCH_STATISTIC_CITY: pirsch_statistic = 32;
/// Tag keys (statistics/tags).
pub const PIRSCH_STATISTIC_TAG_KEYS: pirsch_statistic = 33;
/// The values of the tag keys in `tag` (statistics/tag/details).
pub const PIRSCH_STATISTIC_TAGS: pirsch_statistic = 34;
/// How many statistics there are (one more than the largest value).
pub const PIRSCH_STATISTIC_COUNT: pirsch_statistic = 35;

const _: () = assert!(PIRSCH_STATISTIC_COUNT as usize == statistics::COUNT);

unsafe fn strings<'a>(list: pirsch_strings, what: &str) -> Result<Vec<&'a str>> {
    if list.len == 0 {
        return Ok(Vec::new());
    }
    if list.items.is_null() {
        return Err(null(&format!(
            "filter->{what}.items (with len {})",
            list.len
        )));
    }
    if list.len > 1000 {
        return Err(Error::invalid(format!(
            "filter->{what} has {} values; at most 1000 are taken",
            list.len
        )));
    }
    std::slice::from_raw_parts(list.items, list.len)
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let what = format!("filter->{what}.items[{i}]");
            utf8(s, &what)?.ok_or_else(|| null(&what))
        })
        .collect()
}

unsafe fn pairs<'a>(
    p: *const pirsch_kv,
    len: usize,
    what: &str,
) -> Result<Vec<(&'a str, &'a str)>> {
    if len == 0 {
        return Ok(Vec::new());
    }
    if p.is_null() {
        return Err(null(&format!("filter->{what} (with {what}_len {len})")));
    }
    std::slice::from_raw_parts(p, len)
        .iter()
        .enumerate()
        .map(|(i, kv)| {
            let k = format!("filter->{what}[{i}].key");
            let v = format!("filter->{what}[{i}].value");
            Ok((
                utf8(kv.key, &k)?.ok_or_else(|| null(&k))?,
                utf8(kv.value, &v)?.ok_or_else(|| null(&v))?,
            ))
        })
        .collect()
}

/// The statistic's query for the caller's filter.
unsafe fn query(which: pirsch_statistic, filter: *const pirsch_filter) -> Result<String> {
    let f: pirsch_filter = read_versioned(filter, "filter", "pirsch_filter")?;
    let s = |p: *const c_char, what: &str| utf8(p, &format!("filter->{what}"));
    let lists = [
        f.path,
        f.pattern,
        f.entry_path,
        f.exit_path,
        f.event,
        f.event_meta_key,
        f.language,
        f.country,
        f.region,
        f.city,
        f.referrer,
        f.referrer_name,
        f.os,
        f.browser,
        f.screen_class,
        f.utm_source,
        f.utm_medium,
        f.utm_campaign,
        f.utm_content,
        f.utm_term,
        f.tag,
    ];
    let mut read: [Vec<&str>; 21] = Default::default();
    for (i, list) in lists.into_iter().enumerate() {
        read[i] = strings(list, LISTS[i])?;
    }
    let filter = Filter {
        domain_id: s(f.domain_id, "domain_id")?,
        from: s(f.from, "from")?,
        to: s(f.to, "to")?,
        tz: s(f.tz, "tz")?,
        scale: s(f.scale, "scale")?,
        start: f.start,
        lists: read,
        platform: s(f.platform, "platform")?,
        event_meta: pairs(f.event_meta, f.event_meta_len, "event_meta")?,
        tags: pairs(f.tags, f.tags_len, "tags")?,
        custom_metric_key: s(f.custom_metric_key, "custom_metric_key")?,
        custom_metric_type: s(f.custom_metric_type, "custom_metric_type")?,
        include_avg_time_on_page: f.include_avg_time_on_page,
        offset: f.offset,
        limit: f.limit,
        sort: s(f.sort, "sort")?,
        direction: s(f.direction, "direction")?,
        search: s(f.search, "search")?,
        funnel_id: s(f.funnel_id, "funnel_id")?,
    };
    statistics::path(which, &filter)
}

/// Hands a string to the caller (freed with pirsch_string_free).
unsafe fn give(out: *mut *mut c_char, text: String) {
    if !out.is_null() {
        *out = CString::new(text.replace('\0', ""))
            .unwrap_or_default()
            .into_raw();
    }
}

unsafe fn get(
    client: *mut pirsch_client,
    path: Result<String>,
    out: *mut *mut c_char,
) -> pirsch_result {
    if !out.is_null() {
        *out = std::ptr::null_mut();
    }
    fallible(|| {
        let client = client_ref(client)?;
        if out.is_null() {
            return Err(null("json_out"));
        }
        let body = client.request("GET", &path?, None)?;
        give(out, body);
        Ok(())
    })
}

/// Asks the API for statistic `which` (a PIRSCH_STATISTIC_* value) of the domain and days in
/// `filter`. BLOCKS like pirsch_request (up to timeout_ms per try, 1 + max_retries tries),
/// with the client's token: reading needs an OAuth client (an access key gets
/// PIRSCH_ERR_HTTP, 403). The filter is checked first: a missing domain_id or date, a date
/// that is not YYYY-MM-DD, `to` before `from`, a value that is not one of those listed for
/// scale, platform, direction or custom_metric_type, or a statistic's own requirement
/// (`event`, `event_meta_key`, `funnel_id`) missing is PIRSCH_ERR_INVALID_ARGUMENT, and nothing
/// is sent. On PIRSCH_OK `*json_out` is the API's JSON answer (an array or an object, as the
/// API documents for the endpoint), a string the caller owns and frees with
/// pirsch_string_free; on failure it is NULL and pirsch_last_error() says why. `filter` is only
/// read during the call.
///
/// @param client The client (an OAuth client).
/// @param which A PIRSCH_STATISTIC_* value.
/// @param filter The domain, the days and the filters (struct_size set).
/// @param json_out Receives the JSON answer (free with pirsch_string_free).
/// @return PIRSCH_OK, PIRSCH_ERR_NULL_ARGUMENT, _INVALID_ARGUMENT, _INVALID_UTF8 (nothing sent), _AUTH, _HTTP, _NETWORK or _TIMEOUT.
/// @par Blocking
/// Yes, like pirsch_request.
#[no_mangle]
pub unsafe extern "C" fn pirsch_statistics(
    client: *mut pirsch_client,
    which: pirsch_statistic,
    filter: *const pirsch_filter,
    json_out: *mut *mut c_char,
) -> pirsch_result {
    let path = query(which, filter);
    get(client, path, json_out)
}

/// The request pirsch_statistics would send, without sending it: "/api/v1/statistics/...?id=
/// ...", each value percent-encoded (RFC 3986 unreserved characters kept), the parameters in
/// the order of the filter's fields. Checks the filter as pirsch_statistics does. On PIRSCH_OK
/// `*path_out` is a string the caller owns and frees with pirsch_string_free (NULL on
/// failure). Needs no client; does not block.
///
/// @param which A PIRSCH_STATISTIC_* value.
/// @param filter The filter (struct_size set).
/// @param path_out Receives the path and query (free with pirsch_string_free).
/// @return PIRSCH_OK, PIRSCH_ERR_NULL_ARGUMENT, _INVALID_ARGUMENT or _INVALID_UTF8.
#[no_mangle]
pub unsafe extern "C" fn pirsch_statistics_path(
    which: pirsch_statistic,
    filter: *const pirsch_filter,
    path_out: *mut *mut c_char,
) -> pirsch_result {
    if !path_out.is_null() {
        *path_out = std::ptr::null_mut();
    }
    fallible(|| {
        if path_out.is_null() {
            return Err(null("path_out"));
        }
        give(path_out, query(which, filter)?);
        Ok(())
    })
}

/// The domains the client may read (GET /api/v1/domain): a JSON array of objects with `id`,
/// `hostname`, `subdomain`, `timezone` and more. BLOCKS like pirsch_statistics; needs an
/// OAuth client. `*json_out` as there.
///
/// @param client The client (an OAuth client).
/// @param json_out Receives the JSON array (free with pirsch_string_free).
/// @return As pirsch_statistics.
/// @par Blocking
/// Yes, like pirsch_request.
#[no_mangle]
pub unsafe extern "C" fn pirsch_domains(
    client: *mut pirsch_client,
    json_out: *mut *mut c_char,
) -> pirsch_result {
    get(client, Ok("/api/v1/domain".to_string()), json_out)
}

/// The funnels of a domain with their steps (GET /api/v1/funnel?id=...): a JSON array. BLOCKS
/// like pirsch_statistics; needs an OAuth client. `*json_out` as there.
///
/// @param client The client (an OAuth client).
/// @param domain_id The domain's id.
/// @param json_out Receives the JSON array (free with pirsch_string_free).
/// @return As pirsch_statistics.
/// @par Blocking
/// Yes, like pirsch_request.
#[no_mangle]
pub unsafe extern "C" fn pirsch_funnels(
    client: *mut pirsch_client,
    domain_id: *const c_char,
    json_out: *mut *mut c_char,
) -> pirsch_result {
    let path = utf8(domain_id, "domain_id")
        .and_then(|d| d.ok_or_else(|| null("domain_id")))
        .and_then(statistics::funnels_path);
    get(client, path, json_out)
}
