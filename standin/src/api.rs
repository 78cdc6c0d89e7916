//! The imitated Pirsch API v1 endpoints.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde_json::value::RawValue;
use std::fmt::Write as _;

use serde_json::Value;

use crate::faults::Action;
use crate::http::{Request, Response};
use crate::items::{self, Errors};
use crate::state::{lock, Auth, Item, Kind, PageView, State};
use crate::timeutil::{format_day, format_rfc3339, now_ms, parse_date};

/// Result of handling one /api/v1 request.
pub struct Outcome {
    /// None: close the connection without an answer.
    pub resp: Option<Response>,
    pub accepted: Option<(Kind, u64)>,
    pub faulted: bool,
}

impl Outcome {
    fn resp(r: Response) -> Outcome {
        Outcome {
            resp: Some(r),
            accepted: None,
            faulted: false,
        }
    }
}

pub fn js(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

/// `{"error":["msg"]}`
pub fn error(status: u16, msg: &str) -> Response {
    Response::json(status, format!("{{\"error\":[{}]}}", js(msg)))
}

/// `{"validation":{"field":"message",...}}`
pub fn validation(status: u16, errs: &[(String, String)]) -> Response {
    let mut s = String::from("{\"validation\":{");
    for (i, (k, m)) in errs.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&js(k));
        s.push(':');
        s.push_str(&js(m));
    }
    s.push_str("}}");
    Response::json(status, s)
}

const DOMAIN: &str = r#"[{"id":"standin-domain-1","user_id":"standin-user","hostname":"example.com","subdomain":"example","identification_code":"standin","public":false,"def_time":"2026-01-01T00:00:00Z","mod_time":"2026-01-01T00:00:00Z"}]"#;

enum Route {
    Token,
    Write(Kind, bool),
    Domain,
    Stats(StatKind),
}

#[derive(Clone, Copy)]
enum StatKind {
    Visitor,
    Total,
    Page,
}

fn route(path: &str) -> Option<(Route, &'static str)> {
    Some(match path {
        "/api/v1/token" => (Route::Token, "POST"),
        "/api/v1/hit" => (Route::Write(Kind::Hit, false), "POST"),
        "/api/v1/event" => (Route::Write(Kind::Event, false), "POST"),
        "/api/v1/session" => (Route::Write(Kind::Session, false), "POST"),
        "/api/v1/hit/batch" => (Route::Write(Kind::Hit, true), "POST"),
        "/api/v1/event/batch" => (Route::Write(Kind::Event, true), "POST"),
        "/api/v1/session/batch" => (Route::Write(Kind::Session, true), "POST"),
        "/api/v1/domain" => (Route::Domain, "GET"),
        "/api/v1/statistics/visitor" => (Route::Stats(StatKind::Visitor), "GET"),
        "/api/v1/statistics/total" => (Route::Stats(StatKind::Total), "GET"),
        "/api/v1/statistics/page" => (Route::Stats(StatKind::Page), "GET"),
        _ => return None,
    })
}

fn sleep_ms(ms: u64) {
    if ms > 0 {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

/// Handles any request outside /_standin/ (faults apply to it).
pub fn handle(state: &State, req: &Request) -> Outcome {
    let mut delayed = false;
    match state.faults.check(&req.path) {
        None => {}
        Some(Action::Close { delay_ms }) => {
            sleep_ms(delay_ms);
            return Outcome {
                resp: None,
                accepted: None,
                faulted: true,
            };
        }
        Some(Action::Respond {
            delay_ms,
            status,
            retry_after,
            body,
        }) => {
            sleep_ms(delay_ms);
            let mut r = Response::json(status, body);
            r.retry_after = retry_after;
            return Outcome {
                resp: Some(r),
                accepted: None,
                faulted: true,
            };
        }
        Some(Action::Delay { delay_ms }) => {
            sleep_ms(delay_ms);
            delayed = true;
        }
    }
    let mut out = handle_routed(state, req);
    out.faulted |= delayed;
    out
}

fn handle_routed(state: &State, req: &Request) -> Outcome {
    let (route, method) = match route(&req.path) {
        Some(r) => r,
        None => return Outcome::resp(error(404, "not found")),
    };
    if req.method != method {
        let mut r = error(405, "method not allowed");
        r.allow = Some(method);
        return Outcome::resp(r);
    }
    if let Route::Token = route {
        return Outcome::resp(token(state, req));
    }
    let auth = match req
        .authorization
        .as_deref()
        .and_then(|a| a.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .and_then(|(_, cred)| state.authenticate(cred.trim()))
    {
        Some(a) => a,
        None => return Outcome::resp(error(401, "unauthorized")),
    };
    match route {
        Route::Write(kind, batch) => write(state, req, kind, batch, auth),
        _ if auth == Auth::AccessKey => {
            Outcome::resp(error(403, "access keys can only be used to send data"))
        }
        Route::Domain => Outcome::resp(Response::json(200, DOMAIN)),
        Route::Stats(k) => Outcome::resp(statistics(state, req, k)),
        Route::Token => unreachable!(),
    }
}

fn token(state: &State, req: &Request) -> Response {
    let v: Value = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(e) => return error(400, &format!("invalid JSON body: {e}")),
    };
    let id = v.get("client_id").and_then(Value::as_str);
    let secret = v.get("client_secret").and_then(Value::as_str);
    match (id, secret) {
        (Some(id), Some(secret)) if state.clients.get(id).is_some_and(|s| s == secret) => {
            let (tok, expiry_ms) = state.issue_token();
            let exp = format_rfc3339((expiry_ms / 1000) as i64);
            Response::json(
                200,
                format!(
                    "{{\"access_token\":{},\"expires_at\":\"{}\"}}",
                    js(&tok),
                    exp
                ),
            )
        }
        _ => error(401, "client ID or secret is invalid"),
    }
}

fn url_path(url: &str) -> &str {
    let rest = match url.find("://") {
        Some(i) => &url[i + 3..],
        None => url,
    };
    match rest.find(['/', '?', '#']) {
        Some(i) if rest.as_bytes()[i] == b'/' => {
            let p = &rest[i..];
            match p.find(['?', '#']) {
                Some(j) => &p[..j],
                None => p,
            }
        }
        _ => "/",
    }
}

fn visitor_hash(ip: &str, ua: &str) -> u64 {
    let mut h = DefaultHasher::new();
    ip.hash(&mut h);
    ua.hash(&mut h);
    h.finish()
}

fn write(state: &State, req: &Request, kind: Kind, batch: bool, auth: Auth) -> Outcome {
    let mut errs: Errors = Vec::new();
    // Raw item texts (kept exactly as received).
    let raws: Vec<&RawValue> = if batch {
        match serde_json::from_slice::<Vec<&RawValue>>(&req.body) {
            Ok(r) if r.is_empty() => return Outcome::resp(error(400, "the batch is empty")),
            Ok(r) => r,
            Err(e) => {
                return Outcome::resp(error(
                    400,
                    &format!("the body must be a JSON array of objects: {e}"),
                ))
            }
        }
    } else {
        match serde_json::from_slice::<&RawValue>(&req.body) {
            Ok(r) => vec![r],
            Err(e) => {
                return Outcome::resp(error(400, &format!("the body must be a JSON object: {e}")))
            }
        }
    };
    let mut fields = Vec::with_capacity(raws.len());
    for (i, raw) in raws.iter().enumerate() {
        match items::parse_fields(raw.get()) {
            Some(f) => fields.push(Some(f)),
            None if batch => {
                if errs.len() < items::MAX_ERRORS {
                    errs.push((i.to_string(), "each item must be a JSON object".into()));
                }
                fields.push(None);
            }
            None => return Outcome::resp(error(400, "the body must be a JSON object")),
        }
    }
    let mut infos = Vec::with_capacity(raws.len());
    let mut prefix = String::new();
    for (i, f) in fields.iter().enumerate() {
        let f = match f {
            Some(f) => f,
            None => continue, // not an object, reported above
        };
        if batch {
            prefix.clear();
            let _ = write!(prefix, "{i}.");
        }
        if let Some(info) = items::validate(kind, batch, f, &prefix, &mut errs) {
            infos.push(info);
        }
    }
    if !errs.is_empty() {
        return Outcome::resp(validation(400, &errs));
    }
    let urls: Vec<Option<&str>> = infos.iter().map(|i| i.url).collect();
    if let Some(refused) = state.faults.check_reject(&req.path, &urls) {
        let errs: Errors = refused
            .iter()
            .map(|&i| {
                (
                    if batch {
                        format!("{i}.url")
                    } else {
                        "url".into()
                    },
                    "url refused by stand-in fault".into(),
                )
            })
            .collect();
        let mut out = Outcome::resp(validation(400, &errs));
        out.faulted = true;
        return out;
    }
    if state.record.load(Ordering::Relaxed) {
        let today = (now_ms() / 86_400_000) as i64;
        let items: Vec<Arc<Item>> = raws
            .iter()
            .map(|r| {
                Arc::new(Item {
                    kind,
                    batch,
                    auth,
                    body: r.get().into(),
                })
            })
            .collect();
        let views: Vec<PageView> = if kind == Kind::Hit {
            infos
                .iter()
                .map(|i| PageView {
                    day: i.time.map_or(today, |t| t.div_euclid(86_400)),
                    visitor: visitor_hash(i.ip, i.ua),
                    path: url_path(i.url.unwrap_or("")).into(),
                })
                .collect()
        } else {
            Vec::new()
        };
        let mut d = lock(&state.data);
        d.items.extend(items);
        d.pageviews.extend(views);
    }
    Outcome {
        resp: Some(Response::empty(200)),
        accepted: Some((kind, raws.len() as u64)),
        faulted: false,
    }
}

// ---------------------------------------------------------------- statistics

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|v| v as u8)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex_val(b[i + 1]), hex_val(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (percent_decode(k) == name).then(|| percent_decode(v))
    })
}

fn statistics(state: &State, req: &Request, k: StatKind) -> Response {
    let mut errs = Vec::new();
    let id = query_param(&req.query, "id").filter(|s| !s.is_empty());
    if id.is_none() {
        errs.push(("id".to_string(), "id is required".to_string()));
    }
    let mut date = |name: &str| match query_param(&req.query, name).filter(|s| !s.is_empty()) {
        None => {
            errs.push((name.to_string(), format!("{name} is required")));
            None
        }
        Some(s) => match parse_date(&s) {
            Some(d) => Some(d),
            None => {
                errs.push((
                    name.to_string(),
                    format!("{name} must be a date YYYY-MM-DD"),
                ));
                None
            }
        },
    };
    let from = date("from");
    let to = date("to");
    let (from, to) = match (from, to) {
        (Some(f), Some(t)) if errs.is_empty() => (f, t),
        _ => return validation(400, &errs),
    };
    if to < from {
        return validation(400, &[("to".into(), "to must not be before from".into())]);
    }
    let d = lock(&state.data);
    let views = d.pageviews.iter().filter(|p| p.day >= from && p.day <= to);
    match k {
        StatKind::Visitor => {
            let to = to.min(from + 365);
            let n = (to - from + 1) as usize;
            let mut days: Vec<(u64, HashSet<u64>)> = (0..n).map(|_| (0, HashSet::new())).collect();
            for p in views {
                if p.day <= to {
                    let e = &mut days[(p.day - from) as usize];
                    e.0 += 1;
                    e.1.insert(p.visitor);
                }
            }
            drop(d);
            let mut s = String::from("[");
            for (i, (views, visitors)) in days.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                let v = visitors.len();
                s.push_str(&format!(
                    "{{\"day\":\"{}\",\"visitors\":{v},\"views\":{views},\"sessions\":{v},\"bounces\":0,\"bounce_rate\":0}}",
                    format_day(from + i as i64)
                ));
            }
            s.push(']');
            Response::json(200, s)
        }
        StatKind::Total => {
            let mut total = 0u64;
            let mut visitors = HashSet::new();
            for p in views {
                total += 1;
                visitors.insert(p.visitor);
            }
            drop(d);
            let v = visitors.len();
            Response::json(
                200,
                format!("{{\"visitors\":{v},\"views\":{total},\"sessions\":{v},\"bounces\":0,\"bounce_rate\":0}}"),
            )
        }
        StatKind::Page => {
            let mut pages: HashMap<&str, (u64, HashSet<u64>)> = HashMap::new();
            for p in views {
                let e = pages.entry(&p.path).or_default();
                e.0 += 1;
                e.1.insert(p.visitor);
            }
            let mut rows: Vec<(String, u64, usize)> = pages
                .into_iter()
                .map(|(p, (v, s))| (p.to_string(), v, s.len()))
                .collect();
            drop(d);
            rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let mut s = String::from("[");
            for (i, (path, views, visitors)) in rows.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                s.push_str(&format!(
                    "{{\"path\":{},\"visitors\":{visitors},\"views\":{views}}}",
                    js(path)
                ));
            }
            s.push(']');
            Response::json(200, s)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(url_path("https://example.com"), "/");
        assert_eq!(url_path("https://example.com?x=1"), "/");
        assert_eq!(url_path("https://example.com/a/b?x=1#y"), "/a/b");
        assert_eq!(url_path("http://e.com/p#f"), "/p");
    }

    #[test]
    fn decode() {
        assert_eq!(percent_decode("a%20b+c%2"), "a b c%2");
        assert_eq!(
            query_param("id=x&from=2026-01-01", "from").as_deref(),
            Some("2026-01-01")
        );
        assert_eq!(query_param("id", "id").as_deref(), Some(""));
    }
}
