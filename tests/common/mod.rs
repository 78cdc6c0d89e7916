//! Test support: the stand-in API on a free loopback port, its control API, and owned
//! builders for the C structs. Tests call the library through its `extern "C"` functions.
#![allow(dead_code)]

use pirsch::ffi::*;
use serde_json::Value;
use std::ffi::{CStr, CString};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::ptr;

fn standin_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("PIRSCH_STANDIN") {
        return PathBuf::from(p);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for profile in ["release", "debug"] {
        let p = root.join("target").join(profile).join("pirsch-standin");
        if p.exists() {
            return p;
        }
    }
    panic!("the stand-in is not built: run `make test`, or `cargo build --release -p pirsch-standin` first");
}

/// A running stand-in; killed on drop.
pub struct Standin {
    child: Child,
    pub port: u16,
    pub url: String,
    agent: ureq::Agent,
}

impl Standin {
    pub fn start() -> Standin {
        Self::start_with(&[])
    }

    pub fn start_with(args: &[&str]) -> Standin {
        let mut child = Command::new(standin_binary())
            .args(["--port", "0", "--quiet"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start pirsch-standin");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().rsplit(' ').next().unwrap().to_string();
        let port = url
            .rsplit(':')
            .next()
            .unwrap()
            .parse()
            .expect("port in the stand-in's first line");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Standin {
            child,
            port,
            url,
            agent,
        }
    }

    pub fn get(&self, path: &str) -> Value {
        let mut r = self
            .agent
            .get(&format!("{}{}", self.url, path))
            .call()
            .unwrap();
        // What the stand-in received may be large (100,000 page views are 20 MB).
        let text = r
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_string()
            .unwrap();
        serde_json::from_str(&text).unwrap()
    }

    pub fn post(&self, path: &str, body: Value) -> Value {
        let mut r = self
            .agent
            .post(&format!("{}{}", self.url, path))
            .send(body.to_string())
            .unwrap();
        let text = r.body_mut().read_to_string().unwrap();
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    pub fn fault(&self, rule: Value) {
        self.post("/_standin/faults", rule);
    }

    pub fn clear_faults(&self) {
        self.agent
            .delete(&format!("{}/_standin/faults", self.url))
            .call()
            .unwrap();
    }

    pub fn items(&self) -> Vec<Value> {
        self.get("/_standin/received")["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub fn bodies(&self, kind: &str) -> Vec<Value> {
        self.items()
            .into_iter()
            .filter(|i| i["kind"] == kind)
            .map(|i| i["body"].clone())
            .collect()
    }

    pub fn counters(&self) -> Value {
        self.get("/_standin/counters")
    }

    pub fn count(&self, path: &str) -> u64 {
        self.counters()["by_path"][path].as_u64().unwrap_or(0)
    }

    pub fn token_requests(&self) -> u64 {
        self.counters()["token_requests"].as_u64().unwrap()
    }

    pub fn api_requests(&self) -> u64 {
        self.counters()["requests"].as_u64().unwrap()
    }
}

impl Drop for Standin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub const CLIENT_ID: &str = "standin-client";
pub const CLIENT_SECRET: &str = "standin-secret";
pub const ACCESS_KEY: &str = "pa_standin_key";

pub fn cstr(s: &str) -> CString {
    CString::new(s).unwrap()
}

pub fn last_error() -> String {
    unsafe { CStr::from_ptr(pirsch_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// A config holding these settings; each must be accepted.
pub fn config_of(settings: &[(&str, &str)]) -> *mut pirsch_config {
    let cfg = pirsch_config_new();
    for (k, v) in settings {
        assert_eq!(
            unsafe { pirsch_config_set(cfg, cstr(k).as_ptr(), cstr(v).as_ptr()) },
            PIRSCH_OK,
            "{k}={v}: {}",
            last_error()
        );
    }
    cfg
}

/// A config pointing at the stand-in, plus extra keys.
pub fn config(standin: &Standin, extra: &[(&str, &str)]) -> *mut pirsch_config {
    let mut settings = vec![("base_url", standin.url.as_str())];
    settings.extend_from_slice(extra);
    config_of(&settings)
}

/// Sets `key` to `value` on a fresh config: the result code and pirsch_last_error.
pub fn try_setting(key: &str, value: &str) -> (pirsch_result, String) {
    let cfg = pirsch_config_new();
    let rc = unsafe { pirsch_config_set(cfg, cstr(key).as_ptr(), cstr(value).as_ptr()) };
    unsafe { pirsch_config_free(cfg) };
    (rc, last_error())
}

/// A client from a config made of `settings` (each must be accepted); None when
/// pirsch_client_new refuses it (pirsch_last_error says why).
pub fn try_client(id: &str, secret: &str, settings: &[(&str, &str)]) -> Option<TestClient> {
    let cfg = config_of(settings);
    let c = unsafe { pirsch_client_new(cstr(id).as_ptr(), cstr(secret).as_ptr(), cfg) };
    unsafe { pirsch_config_free(cfg) };
    (!c.is_null()).then_some(TestClient(c))
}

/// A client of the stand-in (OAuth unless `id` is empty).
pub struct TestClient(pub *mut pirsch_client);
unsafe impl Send for TestClient {}
unsafe impl Sync for TestClient {}

impl TestClient {
    pub fn new(standin: &Standin, id: &str, secret: &str, extra: &[(&str, &str)]) -> TestClient {
        let cfg = config(standin, extra);
        let c = unsafe { pirsch_client_new(cstr(id).as_ptr(), cstr(secret).as_ptr(), cfg) };
        unsafe { pirsch_config_free(cfg) };
        assert!(!c.is_null(), "client_new: {}", last_error());
        TestClient(c)
    }

    pub fn oauth(standin: &Standin) -> TestClient {
        Self::new(standin, CLIENT_ID, CLIENT_SECRET, &[])
    }

    pub fn hit(&self, h: &HitData) -> pirsch_result {
        unsafe { pirsch_hit(self.0, &h.opts()) }
    }
}

impl Drop for TestClient {
    fn drop(&mut self) {
        unsafe { pirsch_free(self.0) };
    }
}

/// Owned strings for a pirsch_hit_options.
#[derive(Default)]
pub struct HitData {
    pub fields: Vec<(&'static str, CString)>,
    pub tags: Vec<(CString, CString)>,
    pub screen_width: i32,
    pub screen_height: i32,
    pub disable_bot_filter: bool,
    kv: Vec<pirsch_kv>,
}

impl HitData {
    pub fn page(url: &str, ip: &str) -> HitData {
        HitData::default().set("url", url).set("ip", ip)
    }

    pub fn set(mut self, field: &'static str, value: &str) -> HitData {
        self.fields.retain(|(f, _)| *f != field);
        self.fields.push((field, cstr(value)));
        self
    }

    pub fn tag(mut self, k: &str, v: &str) -> HitData {
        self.tags.push((cstr(k), cstr(v)));
        // CString contents do not move when `tags` grows, so these pointers stay valid.
        let (k, v) = self.tags.last().unwrap();
        self.kv.push(pirsch_kv {
            key: k.as_ptr(),
            value: v.as_ptr(),
        });
        self
    }

    fn get(&self, field: &str) -> *const std::ffi::c_char {
        self.fields
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| v.as_ptr())
            .unwrap_or(ptr::null())
    }

    /// The C struct; valid while `self` lives and is not changed.
    pub fn opts(&self) -> pirsch_hit_options {
        let tags_len = self.kv.len();
        let tags = if self.kv.is_empty() {
            ptr::null()
        } else {
            self.kv.as_ptr()
        };
        pirsch_hit_options {
            struct_size: std::mem::size_of::<pirsch_hit_options>(),
            url: self.get("url"),
            ip: self.get("ip"),
            user_agent: self.get("user_agent"),
            accept_language: self.get("accept_language"),
            sec_ch_ua: self.get("sec_ch_ua"),
            sec_ch_ua_mobile: self.get("sec_ch_ua_mobile"),
            sec_ch_ua_platform: self.get("sec_ch_ua_platform"),
            sec_ch_ua_platform_version: self.get("sec_ch_ua_platform_version"),
            sec_ch_width: self.get("sec_ch_width"),
            sec_ch_viewport_width: self.get("sec_ch_viewport_width"),
            title: self.get("title"),
            referrer: self.get("referrer"),
            cf_connecting_ip: self.get("cf_connecting_ip"),
            x_forwarded_for: self.get("x_forwarded_for"),
            forwarded: self.get("forwarded"),
            x_real_ip: self.get("x_real_ip"),
            screen_width: self.screen_width,
            screen_height: self.screen_height,
            disable_bot_filter: self.disable_bot_filter,
            tags,
            tags_len,
            time: self.get("time"),
        }
    }
}

impl TestClient {
    pub fn enqueue(&self, h: &HitData) -> pirsch_result {
        unsafe { pirsch_hit_enqueue(self.0, &h.opts()) }
    }

    pub fn flush(&self, ms: u32) -> pirsch_result {
        unsafe { pirsch_flush(self.0, ms) }
    }

    pub fn stats(&self) -> pirsch_stats {
        let mut s: pirsch_stats = unsafe { std::mem::zeroed() };
        s.struct_size = std::mem::size_of::<pirsch_stats>();
        assert_eq!(unsafe { pirsch_client_stats(self.0, &mut s) }, PIRSCH_OK);
        s
    }
}

pub fn invariant(s: &pirsch_stats) -> bool {
    s.enqueued
        == s.sent
            + s.dropped_queue_full
            + s.dropped_rejected
            + s.dropped_expired
            + s.dropped_shutdown
            + s.spooled
            + s.queue_depth
            + s.in_flight
}

pub fn show(s: &pirsch_stats) -> String {
    format!(
        "enqueued={} sent={} batches={} retries={} full={} rejected={} expired={} shutdown={} depth={} in_flight={} tokens={} forks={} spooled={} unspooled={} spool_dropped={} spool_errors={}",
        s.enqueued, s.sent, s.batches, s.retries, s.dropped_queue_full, s.dropped_rejected, s.dropped_expired,
        s.dropped_shutdown, s.queue_depth, s.in_flight, s.token_refreshes, s.forks_detected,
        s.spooled, s.unspooled, s.spool_dropped, s.spool_errors
    )
}

/// The URLs that arrived, with how often each did.
pub fn arrivals(s: &Standin, kind: &str) -> std::collections::HashMap<String, usize> {
    let mut m = std::collections::HashMap::new();
    for b in s.bodies(kind) {
        *m.entry(b["url"].as_str().unwrap_or("").to_string())
            .or_insert(0) += 1;
    }
    m
}

/// `t` as RFC 3339 in UTC with milliseconds (`2026-12-01T22:20:53.123Z`), as the library
/// stamps queued items; written here so that the tests do not reach inside the library.
pub fn rfc3339(t: std::time::SystemTime) -> String {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}
