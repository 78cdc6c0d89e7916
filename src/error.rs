//! Result codes and the error type shared by the core and the C boundary.

use std::borrow::Cow;
use std::fmt;

/// The kind of a failure. Its C result code and static text are in `ffi::result`'s table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum ErrorKind {
    NullArgument = 1,
    InvalidArgument = 2,
    InvalidUtf8 = 3,
    Auth = 4,
    Http = 5,
    Network = 6,
    Timeout = 7,
    QueueFull = 8,
    Closed = 9,
    Panic = 99,
}

/// The HTTP statuses worth trying again later (the one list, for blocking calls and the
/// queue alike): request timeout, too many requests, and the server errors that pass.
pub(crate) fn retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// A failure with a message for humans. Messages never contain secrets or tokens. A fixed
/// message is not copied (errors on a hot path, such as a full queue, allocate nothing).
#[derive(Debug, Clone)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: Cow<'static, str>,
    /// The HTTP status, when the API answered.
    pub status: Option<u16>,
    /// `Retry-After` of the answer, in milliseconds, when there was one.
    pub retry_after_ms: Option<u64>,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Error {
            kind,
            message: message.into(),
            status: None,
            retry_after_ms: None,
        }
    }

    pub fn invalid(message: impl Into<Cow<'static, str>>) -> Self {
        Error::new(ErrorKind::InvalidArgument, message)
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Says what was being done when this went wrong: "{what}: {message}".
    pub fn context(mut self, what: &str) -> Self {
        self.message = format!("{what}: {}", self.message).into();
        self
    }

    /// Adds what follows from it, or what to do: "{message}; {more}".
    pub fn hint(mut self, more: &str) -> Self {
        self.message = format!("{}; {more}", self.message).into();
        self
    }

    /// Whether trying the same request again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self.kind {
            ErrorKind::Network | ErrorKind::Timeout => true,
            ErrorKind::Http => self.status.is_some_and(retryable_status),
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// Cuts a string for a message, at a character boundary.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The library's own secrets (client secrets, access keys, tokens), kept so that no message
/// the library hands out can carry one, even when a server echoes a request back.
static SECRETS: std::sync::RwLock<Vec<Box<str>>> = std::sync::RwLock::new(Vec::new());
static ANY_SECRET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// Tokens come and go: the oldest are forgotten past this many (they expired long ago).
const MAX_SECRETS: usize = 64;
/// What is shown instead of a secret.
pub(crate) const REDACTED: &str = "[redacted]";

/// Remembers `secret` so that `scrub` removes it from messages. Short strings are skipped:
/// they would cut ordinary words out of messages and are no real secret anyway.
pub fn register_secret(secret: &str) {
    let secret = secret.trim();
    if secret.len() < 6 {
        return;
    }
    let mut list = SECRETS.write().unwrap_or_else(|p| p.into_inner());
    if list.iter().any(|s| &**s == secret) {
        return;
    }
    if list.len() >= MAX_SECRETS {
        list.remove(0);
    }
    list.push(secret.into());
    ANY_SECRET.store(true, std::sync::atomic::Ordering::Release);
}

/// `message` with every registered secret (and its JSON-escaped form) replaced by
/// `[redacted]`; borrowed when there was none to replace.
pub fn scrub(message: &str) -> Cow<'_, str> {
    if !ANY_SECRET.load(std::sync::atomic::Ordering::Acquire) {
        return Cow::Borrowed(message);
    }
    let list = SECRETS.read().unwrap_or_else(|p| p.into_inner());
    let mut out = Cow::Borrowed(message);
    for secret in list.iter() {
        if out.contains(&**secret) {
            out = Cow::Owned(out.replace(&**secret, REDACTED));
        }
        if secret.contains(['"', '\\']) {
            let escaped = serde_json::to_string(&**secret).unwrap_or_default();
            let escaped = escaped.trim_matches('"');
            if !escaped.is_empty() && out.contains(escaped) {
                out = Cow::Owned(out.replace(escaped, REDACTED));
            }
        }
    }
    out
}

/// The longest message handed out (pirsch_last_error, the log): a server's text is cut.
pub(crate) const MAX_MESSAGE_BYTES: usize = 2048;

/// `message` scrubbed of secrets and cut to MAX_MESSAGE_BYTES (on a character boundary,
/// saying how much was cut).
pub fn presentable(message: &str) -> Cow<'_, str> {
    let scrubbed = scrub(message);
    if scrubbed.len() <= MAX_MESSAGE_BYTES {
        return scrubbed;
    }
    let kept = crate::error::truncate(&scrubbed, MAX_MESSAGE_BYTES - 40);
    Cow::Owned(format!(
        "{kept}... ({} bytes cut)",
        scrubbed.len() - kept.len()
    ))
}

#[cfg(test)]
mod secret_tests {
    use super::*;

    #[test]
    fn secrets_are_scrubbed_and_messages_bounded() {
        register_secret("s3cr3t-value-for-test\"q");
        register_secret("pa_short"); // 8 bytes: kept
        register_secret("abc"); // too short to be a secret
        let m = r#"echo: {"client_secret":"s3cr3t-value-for-test\"q"} Bearer pa_short abc"#;
        let out = scrub(m);
        assert!(
            !out.contains("s3cr3t") && !out.contains("pa_short"),
            "{out}"
        );
        assert!(out.contains("abc") && out.contains(REDACTED));
        let raw = "s3cr3t-value-for-test\"q and more";
        assert_eq!(scrub(raw), format!("{REDACTED} and more"));
        assert!(matches!(scrub("nothing here"), Cow::Borrowed(_)));
        let huge = "é".repeat(1 << 20);
        let p = presentable(&huge);
        assert!(
            p.len() <= MAX_MESSAGE_BYTES && p.ends_with("bytes cut)"),
            "{}",
            p.len()
        );
    }
}
