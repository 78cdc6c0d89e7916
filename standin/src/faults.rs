//! Fault injection rules (`/_standin/faults`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde_json::{Map, Value};

use crate::state::{lock, splitmix64};
use crate::timeutil::now_ms;

pub struct Rule {
    id: u64,
    path_prefix: String,
    include_token: bool,
    status: Option<u16>,
    retry_after: Option<String>,
    body: Option<String>,
    delay_ms: u64,
    close: bool,
    count: Option<u64>,
    probability: Option<f64>,
    seed: u64,
    rng: u64,
    duration_ms: Option<u64>,
    expires_at_ms: Option<u64>,
    reject_url_contains: Option<String>,
    /// How many requests this rule has applied to.
    fired: u64,
}

/// What a matching (non-reject) rule does to a request.
pub enum Action {
    /// Wait, then answer with this status.
    Respond {
        delay_ms: u64,
        status: u16,
        retry_after: Option<String>,
        body: String,
    },
    /// Wait, then close the connection without an answer.
    Close { delay_ms: u64 },
    /// Wait, then handle the request normally.
    Delay { delay_ms: u64 },
}

#[derive(Default)]
pub struct Faults {
    rules: Mutex<Vec<Rule>>,
    /// Number of rules, so the common no-fault case takes no lock.
    len: AtomicUsize,
    next_id: Mutex<u64>,
}

impl Rule {
    fn roll(&mut self) -> bool {
        match self.probability {
            None => true,
            Some(p) => {
                let x = splitmix64(&mut self.rng);
                ((x >> 11) as f64 / (1u64 << 53) as f64) < p
            }
        }
    }

    fn matches_path(&self, path: &str) -> bool {
        if !path.starts_with(&self.path_prefix) {
            return false;
        }
        if path == "/api/v1/token"
            && !self.include_token
            && !self.path_prefix.starts_with("/api/v1/token")
        {
            return false;
        }
        true
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), self.id.into());
        m.insert("path_prefix".into(), self.path_prefix.clone().into());
        m.insert("include_token".into(), self.include_token.into());
        if let Some(s) = self.status {
            m.insert("status".into(), s.into());
        }
        if let Some(r) = &self.retry_after {
            m.insert("retry_after".into(), r.clone().into());
        }
        if let Some(b) = &self.body {
            m.insert(
                "body".into(),
                serde_json::from_str(b).unwrap_or(Value::Null),
            );
        }
        m.insert("delay_ms".into(), self.delay_ms.into());
        m.insert("close".into(), self.close.into());
        m.insert("fired".into(), self.fired.into());
        if let Some(c) = self.count {
            m.insert("count".into(), c.into());
        }
        if let Some(p) = self.probability {
            m.insert("probability".into(), p.into());
            m.insert("seed".into(), self.seed.into());
        }
        if let Some(d) = self.duration_ms {
            m.insert("duration_ms".into(), d.into());
        }
        if let Some(r) = &self.reject_url_contains {
            m.insert("reject_url_contains".into(), r.clone().into());
        }
        Value::Object(m)
    }
}

fn purge(rules: &mut Vec<Rule>, now: u64) {
    rules.retain(|r| r.expires_at_ms.is_none_or(|e| now < e));
}

fn u64_field(o: &Map<String, Value>, k: &str, errs: &mut Vec<(String, String)>) -> Option<u64> {
    match o.get(k) {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) => Some(n),
            None => {
                errs.push((k.into(), format!("{k} must be a non-negative integer")));
                None
            }
        },
    }
}

fn parse_rule(v: &Value, errs: &mut Vec<(String, String)>, prefix: &str) -> Option<Rule> {
    let o = match v.as_object() {
        Some(o) => o,
        None => {
            errs.push((
                prefix.trim_end_matches('.').to_string(),
                "a fault rule must be a JSON object".into(),
            ));
            return None;
        }
    };
    let mut e: Vec<(String, String)> = Vec::new();
    const KNOWN: &[&str] = &[
        "path_prefix",
        "include_token",
        "status",
        "retry_after",
        "body",
        "delay_ms",
        "close",
        "count",
        "probability",
        "seed",
        "duration_ms",
        "reject_url_contains",
    ];
    for k in o.keys() {
        if !KNOWN.contains(&k.as_str()) {
            e.push((k.clone(), "unknown field".into()));
        }
    }
    let path_prefix = match o.get("path_prefix") {
        None | Some(Value::Null) => "/api/v1/".to_string(),
        Some(Value::String(s)) if s.starts_with('/') => s.clone(),
        Some(_) => {
            e.push((
                "path_prefix".into(),
                "path_prefix must be a string starting with /".into(),
            ));
            String::new()
        }
    };
    let bool_field = |k: &str, e: &mut Vec<(String, String)>| match o.get(k) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            e.push((k.into(), format!("{k} must be a boolean")));
            false
        }
    };
    let include_token = bool_field("include_token", &mut e);
    let close = bool_field("close", &mut e);
    let status = match u64_field(o, "status", &mut e) {
        Some(s) if (200..=599).contains(&s) => Some(s as u16),
        Some(_) => {
            e.push(("status".into(), "status must be between 200 and 599".into()));
            None
        }
        None => None,
    };
    let retry_after = match o.get("retry_after") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => {
            e.push(("retry_after".into(), "retry_after must be a string".into()));
            None
        }
    };
    let body = match o.get("body") {
        None | Some(Value::Null) => None,
        Some(b) => Some(b.to_string()),
    };
    let delay_ms = u64_field(o, "delay_ms", &mut e).unwrap_or(0);
    let count = u64_field(o, "count", &mut e);
    if count == Some(0) {
        e.push(("count".into(), "count must be at least 1".into()));
    }
    let probability = match o.get("probability") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_f64() {
            Some(p) if (0.0..=1.0).contains(&p) => Some(p),
            _ => {
                e.push((
                    "probability".into(),
                    "probability must be a number between 0 and 1".into(),
                ));
                None
            }
        },
    };
    let seed = u64_field(o, "seed", &mut e).unwrap_or(1);
    let duration_ms = u64_field(o, "duration_ms", &mut e);
    let reject_url_contains = match o.get("reject_url_contains") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(_) => {
            e.push((
                "reject_url_contains".into(),
                "reject_url_contains must be a non-empty string".into(),
            ));
            None
        }
    };
    if reject_url_contains.is_some() {
        for k in ["status", "close", "retry_after", "body", "delay_ms"] {
            if o.get(k).is_some_and(|v| !v.is_null()) {
                e.push((
                    k.into(),
                    format!("{k} cannot be combined with reject_url_contains"),
                ));
            }
        }
    } else if status.is_none() && !close && delay_ms == 0 && e.is_empty() {
        e.push((
            "status".into(),
            "the rule does nothing: give status, close, delay_ms or reject_url_contains".into(),
        ));
    }
    if status.is_some() && close {
        e.push((
            "close".into(),
            "close cannot be combined with status".into(),
        ));
    }
    if !e.is_empty() {
        errs.extend(e.into_iter().map(|(k, m)| (format!("{prefix}{k}"), m)));
        return None;
    }
    let now = now_ms();
    Some(Rule {
        id: 0,
        path_prefix,
        include_token,
        status,
        retry_after,
        body,
        delay_ms,
        close,
        count,
        probability,
        seed,
        rng: seed,
        duration_ms,
        expires_at_ms: duration_ms.map(|d| now.saturating_add(d)),
        reject_url_contains,
        fired: 0,
    })
}

impl Faults {
    /// Adds rules from a JSON object or array; on a validation error nothing is added.
    pub fn add(&self, v: &Value) -> Result<usize, Vec<(String, String)>> {
        let mut errs = Vec::new();
        let mut new = Vec::new();
        match v {
            Value::Array(a) => {
                for (i, r) in a.iter().enumerate() {
                    if let Some(rule) = parse_rule(r, &mut errs, &format!("{i}.")) {
                        new.push(rule);
                    }
                }
            }
            other => {
                if let Some(rule) = parse_rule(other, &mut errs, "") {
                    new.push(rule);
                }
            }
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        let mut rules = lock(&self.rules);
        purge(&mut rules, now_ms());
        {
            let mut id = lock(&self.next_id);
            for mut r in new {
                *id += 1;
                r.id = *id;
                rules.push(r);
            }
        }
        self.len.store(rules.len(), Ordering::Release);
        Ok(rules.len())
    }

    pub fn clear(&self) {
        let mut rules = lock(&self.rules);
        rules.clear();
        self.len.store(0, Ordering::Release);
    }

    pub fn list(&self) -> Value {
        let mut rules = lock(&self.rules);
        purge(&mut rules, now_ms());
        self.len.store(rules.len(), Ordering::Release);
        Value::Array(rules.iter().map(Rule::to_json).collect())
    }

    fn take(&self, rules: &mut Vec<Rule>, i: usize) {
        if let Some(c) = rules[i].count.as_mut() {
            *c -= 1;
            if *c == 0 {
                rules.remove(i);
                self.len.store(rules.len(), Ordering::Release);
            }
        }
    }

    /// The first status/close/delay rule that applies to a request on `path`.
    pub fn check(&self, path: &str) -> Option<Action> {
        if self.len.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut rules = lock(&self.rules);
        purge(&mut rules, now_ms());
        self.len.store(rules.len(), Ordering::Release);
        for i in 0..rules.len() {
            let r = &mut rules[i];
            if r.reject_url_contains.is_some() || !r.matches_path(path) || !r.roll() {
                continue;
            }
            let action = if r.close {
                Action::Close {
                    delay_ms: r.delay_ms,
                }
            } else if let Some(status) = r.status {
                let body = r.body.clone().unwrap_or_else(|| {
                    let msg = format!("fault injected by pirsch-standin (status {status})");
                    format!("{{\"error\":[{}]}}", Value::String(msg))
                });
                Action::Respond {
                    delay_ms: r.delay_ms,
                    status,
                    retry_after: r.retry_after.clone(),
                    body,
                }
            } else {
                Action::Delay {
                    delay_ms: r.delay_ms,
                }
            };
            r.fired += 1;
            self.take(&mut rules, i);
            return Some(action);
        }
        None
    }

    /// For a write request whose items have these URLs: the indices refused by
    /// the first applying `reject_url_contains` rule, if any.
    pub fn check_reject(&self, path: &str, urls: &[Option<&str>]) -> Option<Vec<usize>> {
        if self.len.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut rules = lock(&self.rules);
        purge(&mut rules, now_ms());
        self.len.store(rules.len(), Ordering::Release);
        for i in 0..rules.len() {
            let r = &mut rules[i];
            let needle = match &r.reject_url_contains {
                Some(n) => n,
                None => continue,
            };
            if !r.matches_path(path) {
                continue;
            }
            let hits: Vec<usize> = urls
                .iter()
                .enumerate()
                .filter(|(_, u)| u.is_some_and(|u| u.contains(needle.as_str())))
                .map(|(i, _)| i)
                .collect();
            if hits.is_empty() || !r.roll() {
                continue;
            }
            rules[i].fired += 1;
            self.take(&mut rules, i);
            return Some(hits);
        }
        None
    }
}
