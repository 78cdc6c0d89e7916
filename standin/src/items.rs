//! Validation of hit, event and session items without building a full JSON
//! tree: each item's top-level fields are read with a shallow serde visitor
//! that borrows strings from the request body where it can.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::state::Kind;
use crate::timeutil::parse_rfc3339;

/// A JSON value seen from above: strings are kept, containers only checked.
pub enum Shallow<'de> {
    Null,
    Str(Cow<'de, str>),
    Int(i128),
    Float,
    Bool,
    /// An object; `all_str` when every value is a string. `pairs` holds the
    /// entries whose values are strings (tags, event_meta), in order.
    Map {
        all_str: bool,
        pairs: Vec<(Cow<'de, str>, Cow<'de, str>)>,
    },
    Seq,
}

struct ShallowVisitor;

impl<'de> Visitor<'de> for ShallowVisitor {
    type Value = Shallow<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Shallow::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Shallow::Null)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Shallow::Bool)
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Shallow::Int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Shallow::Int(v.into()))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Shallow::Float)
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Shallow::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Shallow::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Shallow::Str(Cow::Owned(v)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
        let mut all_str = true;
        let mut pairs = Vec::new();
        while let Some(k) = m.next_key::<Shallow>()? {
            match (k, m.next_value::<Shallow>()?) {
                (Shallow::Str(k), Shallow::Str(v)) => pairs.push((k, v)),
                _ => all_str = false,
            }
        }
        Ok(Shallow::Map { all_str, pairs })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
        while s.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Shallow::Seq)
    }
}

impl<'de> Deserialize<'de> for Shallow<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ShallowVisitor)
    }
}

/// Top-level fields of an object, in order.
pub type Fields<'de> = Vec<(Cow<'de, str>, Shallow<'de>)>;

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Fields<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(24);
        while let Some(k) = m.next_key::<Shallow>()? {
            let v = m.next_value::<Shallow>()?;
            if let Shallow::Str(k) = k {
                out.push((k, v));
            }
        }
        Ok(out)
    }
}

/// The top-level fields of `raw` (valid JSON text), or None if it is not an object.
pub fn parse_fields(raw: &str) -> Option<Fields<'_>> {
    if !raw.trim_start().starts_with('{') {
        return None;
    }
    let mut de = serde_json::Deserializer::from_str(raw);
    de.deserialize_map(FieldsVisitor).ok()
}

#[derive(Clone, Copy)]
enum Ty {
    Str,
    Int,
    NonNegInt,
    Bool,
    StrMap,
}

fn hit_field(name: &str) -> Option<Ty> {
    Some(match name {
        "url"
        | "ip"
        | "user_agent"
        | "accept_language"
        | "sec_ch_ua"
        | "sec_ch_ua_mobile"
        | "sec_ch_ua_platform"
        | "sec_ch_ua_platform_version"
        | "sec_ch_width"
        | "sec_ch_viewport_width"
        | "title"
        | "referrer"
        | "cf_connecting_ip"
        | "x_forwarded_for"
        | "forwarded"
        | "x_real_ip" => Ty::Str,
        "screen_width" | "screen_height" => Ty::Int,
        "disable_bot_filter" => Ty::Bool,
        "tags" => Ty::StrMap,
        _ => return None,
    })
}

fn event_field(name: &str) -> Option<Ty> {
    Some(match name {
        "event_name" => Ty::Str,
        "event_duration" => Ty::NonNegInt,
        "event_meta" => Ty::StrMap,
        "non_interactive" => Ty::Bool,
        _ => return hit_field(name),
    })
}

fn session_field(name: &str) -> Option<Ty> {
    Some(match name {
        "ip"
        | "url"
        | "user_agent"
        | "sec_ch_ua"
        | "sec_ch_ua_mobile"
        | "sec_ch_ua_platform"
        | "sec_ch_ua_platform_version"
        | "sec_ch_width"
        | "sec_ch_viewport_width" => Ty::Str,
        "disable_bot_filter" => Ty::Bool,
        _ => return None,
    })
}

/// What the stand-in needs from a valid item.
pub struct Info<'a> {
    pub url: Option<&'a str>,
    pub ip: &'a str,
    pub ua: &'a str,
    /// Unix seconds of the batch item's `time`.
    pub time: Option<i64>,
}

/// At most this many validation messages are returned.
pub const MAX_ERRORS: usize = 100;

pub type Errors = Vec<(String, String)>;

fn push(errs: &mut Errors, prefix: &str, field: &str, msg: String) {
    if errs.len() < MAX_ERRORS {
        errs.push((format!("{prefix}{field}"), msg));
    }
}

/// The last value of a field (JSON objects may repeat keys; the last wins).
pub fn get<'a, 'de>(fields: &'a Fields<'de>, name: &str) -> Option<&'a Shallow<'de>> {
    fields.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v)
}

pub fn as_str<'a>(v: Option<&'a Shallow<'_>>) -> Option<&'a str> {
    match v {
        Some(Shallow::Str(s)) => Some(s),
        _ => None,
    }
}

fn required_str<'a>(
    fields: &'a Fields<'_>,
    field: &str,
    prefix: &str,
    errs: &mut Errors,
) -> Option<&'a str> {
    match get(fields, field) {
        Some(Shallow::Str(s)) if !s.is_empty() => Some(s),
        None | Some(Shallow::Null) | Some(Shallow::Str(_)) => {
            push(errs, prefix, field, format!("{field} is required"));
            None
        }
        Some(_) => None, // wrong type, reported already
    }
}

/// Validates one item; on success returns what the stand-in keeps of it.
/// Field names in messages are prefixed with `prefix` (e.g. "3." in batches).
pub fn validate<'a>(
    kind: Kind,
    batch: bool,
    fields: &'a Fields<'_>,
    prefix: &str,
    errs: &mut Errors,
) -> Option<Info<'a>> {
    let before = errs.len();
    let lookup = match kind {
        Kind::Hit => hit_field,
        Kind::Event => event_field,
        Kind::Session => session_field,
    };
    for (k, v) in fields {
        if batch && k == "time" {
            continue;
        }
        let ty = match lookup(k) {
            Some(t) => t,
            None => {
                push(errs, prefix, k, "unknown field".into());
                continue;
            }
        };
        let ok = match (ty, v) {
            (_, Shallow::Null) => true,
            (Ty::Str, Shallow::Str(_)) => true,
            (Ty::Int, Shallow::Int(_)) => true,
            (Ty::NonNegInt, Shallow::Int(v)) => *v >= 0,
            (Ty::Bool, Shallow::Bool) => true,
            (Ty::StrMap, Shallow::Map { all_str, .. }) => *all_str,
            _ => false,
        };
        if !ok {
            let what = match ty {
                Ty::Str => "a string",
                Ty::Int => "an integer",
                Ty::NonNegInt => "a non-negative integer",
                Ty::Bool => "a boolean",
                Ty::StrMap => "an object whose values are strings",
            };
            push(errs, prefix, k, format!("{k} must be {what}"));
        }
    }
    let url = match kind {
        Kind::Session => as_str(get(fields, "url")),
        _ => {
            let u = required_str(fields, "url", prefix, errs);
            if let Some(u) = u {
                let head = u.as_bytes().get(..8).unwrap_or(u.as_bytes());
                let head = head.to_ascii_lowercase();
                if !(head.starts_with(b"http://") || head.starts_with(b"https://")) {
                    push(
                        errs,
                        prefix,
                        "url",
                        "url must start with http:// or https://".into(),
                    );
                }
            }
            u
        }
    };
    let ip = required_str(fields, "ip", prefix, errs);
    if kind == Kind::Event {
        required_str(fields, "event_name", prefix, errs);
    }
    let mut time = None;
    if batch {
        match get(fields, "time") {
            Some(Shallow::Str(s)) if !s.is_empty() => match parse_rfc3339(s) {
                Some(t) => time = Some(t),
                None => push(
                    errs,
                    prefix,
                    "time",
                    "time must be an RFC 3339 date-time".into(),
                ),
            },
            None | Some(Shallow::Null) | Some(Shallow::Str(_)) => {
                push(errs, prefix, "time", "time is required".into())
            }
            Some(_) => push(errs, prefix, "time", "time must be a string".into()),
        }
    }
    if errs.len() != before {
        return None;
    }
    Some(Info {
        url,
        ip: ip.unwrap_or(""),
        ua: as_str(get(fields, "user_agent")).unwrap_or(""),
        time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(kind: Kind, batch: bool, raw: &str) -> Vec<String> {
        let f = parse_fields(raw).expect("object");
        let mut errs = Vec::new();
        validate(kind, batch, &f, "", &mut errs);
        errs.into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn shallow_validation() {
        let ok = r#"{"url":"https://e.com/\u00e9","ip":"1","tags":{"a":"b"},"screen_width":-1,"title":null}"#;
        assert!(check(Kind::Hit, false, ok).is_empty());
        assert_eq!(
            check(
                Kind::Hit,
                false,
                r#"{"url":"https://e","ip":"1","tags":{"a":1}}"#
            ),
            ["tags"]
        );
        assert_eq!(
            check(
                Kind::Hit,
                false,
                r#"{"url":"https://e","ip":"1","screen_width":1.0}"#
            ),
            ["screen_width"]
        );
        assert_eq!(
            check(Kind::Hit, false, r#"{"url":"e.com","ip":"1","x":[1]}"#),
            ["x", "url"]
        );
        assert_eq!(
            check(
                Kind::Event,
                true,
                r#"{"url":"http://e","ip":"1","event_duration":-2}"#
            ),
            ["event_duration", "event_name", "time"]
        );
        assert!(check(
            Kind::Session,
            true,
            r#"{"ip":"1","time":"2026-01-01T00:00:00+02:00"}"#
        )
        .is_empty());
        assert!(parse_fields("[1]").is_none());
    }

    #[test]
    fn shallow_keeps_integers_and_string_entries() {
        let f = parse_fields(
            r#"{"screen_width":-3,"event_duration":18446744073709551615,"tags":{"a":"1","n":2,"b":"x"}}"#,
        )
        .unwrap();
        assert!(matches!(get(&f, "screen_width"), Some(Shallow::Int(-3))));
        assert!(
            matches!(get(&f, "event_duration"), Some(Shallow::Int(v)) if *v == u64::MAX as i128)
        );
        match get(&f, "tags") {
            Some(Shallow::Map { all_str, pairs }) => {
                assert!(!all_str);
                let p: Vec<_> = pairs.iter().map(|(k, v)| (&**k, &**v)).collect();
                assert_eq!(p, [("a", "1"), ("b", "x")]);
            }
            _ => panic!("tags"),
        }
    }
}

#[cfg(test)]
mod perf {
    use super::*;
    use serde_json::value::RawValue;

    /// `cargo test -p pirsch-standin --release -- --ignored --nocapture timing`
    #[test]
    #[ignore]
    fn timing() {
        let item = r#"{"url":"https://example.com/some/page?x=1","ip":"203.0.113.7","user_agent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36","accept_language":"de-DE,de;q=0.9","referrer":"https://google.com/","title":"Some page","screen_width":1920,"screen_height":1080,"tags":{"a":"b"},"time":"2026-11-26T14:15:32.123Z"}"#;
        let body = format!("[{}]", vec![item; 100].join(",")).into_bytes();
        let n = 2000;
        let t = std::time::Instant::now();
        for _ in 0..n {
            let raws: Vec<&RawValue> = serde_json::from_slice(&body).unwrap();
            std::hint::black_box(&raws);
        }
        eprintln!("raw pass: {:?}", t.elapsed() / n);
        let raws: Vec<&RawValue> = serde_json::from_slice(&body).unwrap();
        let t = std::time::Instant::now();
        for _ in 0..n {
            for r in &raws {
                let f = parse_fields(r.get()).unwrap();
                let mut e = Vec::new();
                std::hint::black_box(validate(Kind::Hit, true, &f, "1.", &mut e).is_some());
            }
        }
        eprintln!("shallow+validate: {:?}", t.elapsed() / n);
        let t = std::time::Instant::now();
        for _ in 0..n {
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            std::hint::black_box(&v);
        }
        eprintln!("Value parse: {:?}", t.elapsed() / n);
    }
}
