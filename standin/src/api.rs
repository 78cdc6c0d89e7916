//! The imitated Pirsch API v1 endpoints.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde_json::value::RawValue;
use std::fmt::Write as _;

use serde_json::Value;

use crate::faults::Action;
use crate::http::{Request, Response};
use crate::items::{self, Errors};
use crate::state::{lock, Auth, Item, Kind, State};
use crate::stats::{self, Endpoint, Refusal};
use crate::timeutil::{format_rfc3339, now_ms};

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
    Stats(Endpoint),
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
        p => (Route::Stats(Endpoint::from_path(p)?), "GET"),
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
        let now = (now_ms() / 1000) as i64;
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
        // What the statistics need of page views and events (not of session keep-alives).
        // Every item is valid here, so `fields` and `infos` go together.
        let facts: Vec<stats::record::Facts> = if kind == Kind::Session {
            Vec::new()
        } else {
            fields
                .iter()
                .flatten()
                .zip(&infos)
                .map(|(f, i)| {
                    stats::facts(
                        f,
                        kind == Kind::Event,
                        i.time.unwrap_or(now),
                        visitor_hash(i.ip, i.ua),
                    )
                })
                .collect()
        };
        lock(&state.data).items.extend(items);
        let mut store = lock(&state.stats);
        for f in facts {
            store.push(f);
        }
    }
    Outcome {
        resp: Some(Response::empty(200)),
        accepted: Some((kind, raws.len() as u64)),
        faulted: false,
    }
}

// ---------------------------------------------------------------- statistics

fn statistics(state: &State, req: &Request, ep: Endpoint) -> Response {
    let now = (now_ms() / 1000) as i64;
    let answer = stats::answer(&lock(&state.stats), ep, &req.query, now);
    match answer {
        Ok(json) => Response::json(200, json),
        Err(Refusal::Invalid(errs)) => validation(400, &errs),
        Err(Refusal::NotFound(msg)) => error(404, msg),
    }
}
