//! Result codes and the error type shared by the core and the C boundary.

use std::borrow::Cow;
use std::fmt;

/// The kind of a failure; its numeric value is the C result code (append-only, never reused).
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

impl ErrorKind {
    pub fn code(self) -> i32 {
        self as i32
    }

    /// A short, static description of the code (what `pirsch_strerror` returns).
    pub fn describe(self) -> &'static str {
        match self {
            ErrorKind::NullArgument => "a required pointer was NULL",
            ErrorKind::InvalidArgument => "invalid argument",
            ErrorKind::InvalidUtf8 => "a string was not valid UTF-8",
            ErrorKind::Auth => "authentication failed",
            ErrorKind::Http => "the API answered with an error",
            ErrorKind::Network => "network error",
            ErrorKind::Timeout => "timed out",
            ErrorKind::QueueFull => "the queue is full",
            ErrorKind::Closed => "the client is shutting down",
            ErrorKind::Panic => "internal error (a bug in libpirsch; please report it)",
        }
    }
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

    /// Whether trying the same request again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self.kind {
            ErrorKind::Network | ErrorKind::Timeout => true,
            ErrorKind::Http => matches!(self.status, Some(408 | 429 | 500 | 502 | 503 | 504)),
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
