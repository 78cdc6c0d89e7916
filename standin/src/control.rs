//! The control API under /_standin/ (no auth, never faulted).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::api::{error, js, validation};
use crate::http::{Request, Response};
use crate::state::{lock, Item, Kind, State};
use crate::urlenc::query_param;

fn ok() -> Response {
    Response::json(200, "{\"ok\":true}")
}

fn method_not_allowed(allow: &'static str) -> Response {
    let mut r = error(405, "method not allowed");
    r.allow = Some(allow);
    r
}

fn body_json(req: &Request) -> Result<Value, Response> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_slice(&req.body).map_err(|e| error(400, &format!("invalid JSON body: {e}")))
}

pub fn handle(state: &State, req: &Request) -> Response {
    let m = req.method.as_str();
    match req.path.as_str() {
        "/_standin/health" => match m {
            "GET" => ok(),
            _ => method_not_allowed("GET"),
        },
        "/_standin/received" => match m {
            "GET" => received(state, req),
            _ => method_not_allowed("GET"),
        },
        "/_standin/counters" => match m {
            "GET" => counters(state),
            _ => method_not_allowed("GET"),
        },
        "/_standin/reset" => match m {
            "POST" => {
                state.reset();
                ok()
            }
            _ => method_not_allowed("POST"),
        },
        "/_standin/expire_tokens" => match m {
            "POST" => {
                let n = state.expire_tokens();
                Response::json(200, format!("{{\"ok\":true,\"expired\":{n}}}"))
            }
            _ => method_not_allowed("POST"),
        },
        "/_standin/config" => match m {
            "GET" => config_json(state),
            "POST" => config(state, req),
            _ => method_not_allowed("GET, POST"),
        },
        "/_standin/faults" => match m {
            "GET" => Response::json(200, json!({ "rules": state.faults.list() }).to_string()),
            "POST" => match body_json(req) {
                Err(r) => r,
                Ok(v) => match state.faults.add(&v) {
                    Ok(n) => Response::json(200, format!("{{\"ok\":true,\"rules\":{n}}}")),
                    Err(errs) => validation(400, &errs),
                },
            },
            "DELETE" => {
                state.faults.clear();
                Response::json(200, "{\"ok\":true,\"rules\":0}")
            }
            _ => method_not_allowed("GET, POST, DELETE"),
        },
        "/_standin/shutdown" => match m {
            "POST" => {
                let mut r = ok();
                r.close = true;
                r.exit_after = true;
                r
            }
            _ => method_not_allowed("POST"),
        },
        _ => error(404, "not found"),
    }
}

fn received(state: &State, req: &Request) -> Response {
    let kind = match query_param(&req.query, "kind").filter(|k| !k.is_empty()) {
        None => None,
        Some(k) => match Kind::from_name(&k) {
            Some(k) => Some(k),
            None => {
                return validation(
                    400,
                    &[("kind".into(), "kind must be hit, event or session".into())],
                )
            }
        },
    };
    // drain=true also forgets what it returns (and, with hits and events, the records the
    // statistics are made of), so that a long run keeps the stand-in's memory bounded.
    let drain = matches!(
        query_param(&req.query, "drain").as_deref(),
        Some("true" | "1")
    );
    let items: Vec<Arc<Item>> = {
        let mut d = lock(&state.data);
        let picked: Vec<Arc<Item>> = match kind {
            None => d.items.clone(),
            Some(k) => d.items.iter().filter(|i| i.kind == k).cloned().collect(),
        };
        if drain {
            d.items.retain(|i| kind.is_some_and(|k| i.kind != k));
            let mut store = lock(&state.stats);
            match kind {
                None => store.clear(),
                Some(Kind::Hit) => store.retain(|r| r.is_event()),
                Some(Kind::Event) => store.retain(|r| !r.is_event()),
                Some(Kind::Session) => {}
            }
        }
        picked
    };
    let mut s = String::with_capacity(16 + items.iter().map(|i| i.body.len() + 64).sum::<usize>());
    s.push_str("{\"items\":[");
    for (n, i) in items.iter().enumerate() {
        if n > 0 {
            s.push(',');
        }
        s.push_str("{\"kind\":\"");
        s.push_str(i.kind.name());
        s.push_str("\",\"batch\":");
        s.push_str(if i.batch { "true" } else { "false" });
        s.push_str(",\"auth\":\"");
        s.push_str(i.auth.name());
        s.push_str("\",\"body\":");
        s.push_str(&i.body);
        s.push('}');
    }
    s.push_str("]}");
    Response::json(200, s)
}

fn counters(state: &State) -> Response {
    let c = lock(&state.counters);
    let mut by_path: Vec<(&String, &u64)> = c.by_path.iter().collect();
    by_path.sort();
    let mut s = format!(
        "{{\"connections\":{},\"token_requests\":{},\"requests\":{},\"by_path\":{{",
        c.connections, c.token_requests, c.requests
    );
    for (n, (p, v)) in by_path.iter().enumerate() {
        if n > 0 {
            s.push(',');
        }
        s.push_str(&format!("{}:{}", js(p), v));
    }
    s.push_str("},\"by_status\":{");
    for (n, (st, v)) in c.by_status.iter().enumerate() {
        if n > 0 {
            s.push(',');
        }
        s.push_str(&format!("\"{st}\":{v}"));
    }
    s.push_str(&format!(
        "}},\"items\":{{\"hit\":{},\"event\":{},\"session\":{}}},\"rejected_requests\":{},\"faults_injected\":{},\"closed_by_fault\":{}}}",
        c.items[0], c.items[1], c.items[2], c.rejected_requests, c.faults_injected, c.closed_by_fault
    ));
    Response::json(200, s)
}

fn config_json(state: &State) -> Response {
    Response::json(
        200,
        format!(
            "{{\"token_ttl_s\":{},\"record\":{}}}",
            state.token_ttl_s.load(Ordering::Relaxed),
            state.record.load(Ordering::Relaxed)
        ),
    )
}

fn config(state: &State, req: &Request) -> Response {
    let v = match body_json(req) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let o = match v.as_object() {
        Some(o) => o,
        None => return error(400, "the body must be a JSON object"),
    };
    let mut errs = Vec::new();
    let mut ttl = None;
    let mut record = None;
    for (k, v) in o {
        match k.as_str() {
            "token_ttl_s" => match v.as_u64() {
                Some(n) => ttl = Some(n),
                None => errs.push((
                    k.clone(),
                    "token_ttl_s must be a non-negative integer".to_string(),
                )),
            },
            "record" => match v.as_bool() {
                Some(b) => record = Some(b),
                None => errs.push((k.clone(), "record must be a boolean".to_string())),
            },
            _ => errs.push((k.clone(), "unknown field".to_string())),
        }
    }
    if !errs.is_empty() {
        return validation(400, &errs);
    }
    if let Some(t) = ttl {
        state.token_ttl_s.store(t, Ordering::Relaxed);
    }
    if let Some(r) = record {
        state.record.store(r, Ordering::Relaxed);
    }
    config_json(state)
}
