//! The Pirsch API as the rest of the library sees it: authenticated requests with the token
//! handled, retries for the blocking calls, errors put into words, and `post_batch` for the
//! queue, which says what to do with a batch (sent, retry, split, drop).
//!
//! - `transport`: HTTP (pooled connections, DNS, timeouts, reading answers);
//! - `auth`: credentials and the shared access token.

pub(crate) mod auth;
pub(crate) mod connector;
pub(crate) mod statistics;
pub(crate) mod transport;

use crate::config::endpoint::BaseUrl;
use crate::error::{retryable_status, Error, ErrorKind, Result};
use crate::item::Kind;
use crate::log::{Level, Log};
use crate::log_at;
use auth::{Credentials, TokenCache};
use std::time::{Duration, Instant};
use transport::{
    describe_api_error, Response, Transport, MAX_RESPONSE_BYTES, MAX_SMALL_RESPONSE_BYTES,
};

/// What became of a batch request, and so of its items.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The API accepted it (2xx).
    Sent,
    /// It may pass later: try again, not before `after` when the API said so (Retry-After)
    /// or the credentials failed.
    Retry {
        after: Option<Duration>,
        error: Error,
    },
    /// The API refused its content (400, 413, 422): split it, or drop a single item.
    Split(Error),
    /// Refused for a reason splitting cannot fix: drop it.
    Drop(Error),
}

/// How long a batch waits after an access key was refused (a new key needs a new client).
const ACCESS_KEY_REFUSED_PAUSE: Duration = Duration::from_secs(60);

/// The API for one client in one process (a child after fork() makes its own).
pub(crate) struct Api {
    transport: Transport,
    tokens: TokenCache,
    log: Log,
    timeout: Duration,
    max_retries: u32,
}

/// Where and how to reach the API, decided once per client.
pub(crate) struct Endpoint {
    pub base: BaseUrl,
    pub proxy: Option<ureq::Proxy>,
    pub roots: ureq::tls::RootCerts,
    pub timeout: Duration,
    pub max_retries: u32,
}

impl Api {
    pub fn new(endpoint: &Endpoint, credentials: Credentials, log: Log) -> Api {
        Api {
            transport: Transport::new(
                endpoint.base.clone(),
                endpoint.timeout,
                endpoint.proxy.clone(),
                endpoint.roots.clone(),
            ),
            tokens: TokenCache::new(credentials),
            log,
            timeout: endpoint.timeout,
            max_retries: endpoint.max_retries,
        }
    }

    fn is_access_key(&self) -> bool {
        self.tokens.credentials().is_access_key()
    }

    /// Shuts down every connection of this client's agent, so that a request in progress on
    /// another thread returns at once with a network error. The agent then refuses new
    /// requests: only for pirsch_free, after which the client is not used.
    pub fn interrupt(&self) {
        self.transport.interrupt();
    }

    /// Access tokens obtained so far.
    pub fn token_refreshes(&self) -> u64 {
        self.tokens.refreshes()
    }

    /// Sends one item (or, with `batch`, a JSON array of items) and waits until the API has
    /// accepted it (BLOCKS, with retries).
    pub fn send_item(&self, kind: Kind, body: &[u8], batch: bool) -> Result<()> {
        self.with_retries(kind.noun(), || {
            self.send_authed(
                "POST",
                if batch {
                    kind.batch_path()
                } else {
                    kind.path()
                },
                Some(body),
                None,
                MAX_SMALL_RESPONSE_BYTES,
            )
        })
        .map(|_| ())
    }

    /// Any API call; returns the response body (BLOCKS, with retries).
    pub fn request(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<&str>,
    ) -> Result<String> {
        let method = method.trim().to_ascii_uppercase();
        if !matches!(method.as_str(), "GET" | "POST" | "PUT" | "DELETE" | "PATCH") {
            return Err(Error::invalid(format!(
                "method {method:?} is not one of GET, POST, PUT, DELETE, PATCH"
            )));
        }
        if !path_and_query.starts_with('/') {
            return Err(Error::invalid(format!(
                "path {:?} must start with /, e.g. /api/v1/domain",
                crate::error::truncate(path_and_query, 100)
            )));
        }
        if let Some(b) = body {
            serde_json::from_str::<serde::de::IgnoredAny>(b)
                .map_err(|e| Error::invalid(format!("json_body is not valid JSON: {e}")))?;
        }
        let what = format!(
            "{method} {}",
            path_and_query.split('?').next().unwrap_or("")
        );
        let resp = self.with_retries(&what, || {
            self.send_authed(
                &method,
                path_and_query,
                body.map(str::as_bytes),
                None,
                MAX_RESPONSE_BYTES,
            )
        })?;
        if let Some(e) = resp.body_error {
            return Err(e
                .context(&format!(
                    "the API answered {} to {what}, but its body could not be read whole",
                    resp.status
                ))
                .hint("the request itself was carried out, so do not simply repeat a write")
                .with_status(resp.status));
        }
        Ok(resp.body)
    }

    /// One batch request, and what to do with its items.
    pub fn post_batch(&self, kind: Kind, body: &[u8], deadline: Option<Instant>) -> Outcome {
        let result = self.send_authed(
            "POST",
            kind.batch_path(),
            Some(body),
            deadline,
            MAX_SMALL_RESPONSE_BYTES,
        );
        match result {
            Ok(resp) if resp.is_success() => Outcome::Sent,
            Ok(resp) => {
                let error = self.http_error("batch", &resp);
                match resp.status {
                    s if retryable_status(s) => Outcome::Retry {
                        after: resp.retry_after_ms.map(Duration::from_millis),
                        error,
                    },
                    400 | 413 | 422 => Outcome::Split(error),
                    _ => Outcome::Drop(error),
                }
            }
            Err(error) if error.kind == ErrorKind::Auth && self.is_access_key() => Outcome::Retry {
                after: Some(ACCESS_KEY_REFUSED_PAUSE),
                error,
            },
            Err(error) if error.kind == ErrorKind::Auth => Outcome::Retry { after: None, error },
            Err(error) if error.is_retryable() => Outcome::Retry {
                after: error.retry_after_ms.map(Duration::from_millis),
                error,
            },
            // The token endpoint's own 5xx and the like.
            Err(error) if error.kind == ErrorKind::Http => Outcome::Retry { after: None, error },
            Err(error) => Outcome::Drop(error),
        }
    }

    /// One request with the bearer token; a 401 renews the token once and sends again.
    /// `deadline` cuts the request's timeout (used while shutting down); `max_body` bounds
    /// what is read of the answer.
    fn send_authed(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        deadline: Option<Instant>,
        max_body: u64,
    ) -> Result<Response> {
        let bearer = self
            .tokens
            .bearer(&self.transport, deadline, self.timeout)?;
        let resp =
            self.transport
                .send(method, path, body, Some(&bearer.header), deadline, max_body)?;
        if resp.status != 401 {
            self.tokens.accepted();
            return Ok(resp);
        }
        if self.is_access_key() {
            return Err(Error::new(
                ErrorKind::Auth,
                format!("the API refused the access key ({}); check that it is current and belongs to this domain", describe_api_error(resp.status, &resp.body)),
            )
            .with_status(401));
        }
        log_at!(
            self.log,
            Level::Info,
            "the API answered 401 to {method} {path}; renewing the access token"
        );
        self.tokens.invalidate(&bearer);
        let bearer = self
            .tokens
            .bearer(&self.transport, deadline, self.timeout)?;
        let resp =
            self.transport
                .send(method, path, body, Some(&bearer.header), deadline, max_body)?;
        if resp.status == 401 {
            let err = Error::new(
                ErrorKind::Auth,
                format!(
                    "the API refused a fresh access token ({}); check the client's permissions",
                    describe_api_error(resp.status, &resp.body)
                ),
            )
            .with_status(401);
            self.tokens.refused(&bearer, &err);
            return Err(err);
        }
        self.tokens.accepted();
        Ok(resp)
    }

    /// Runs `attempt` up to 1 + max_retries times while it fails with something that may
    /// succeed later; a non-2xx answer becomes an error that describes it.
    fn with_retries(
        &self,
        what: &str,
        mut attempt: impl FnMut() -> Result<Response>,
    ) -> Result<Response> {
        let mut tries = 0u32;
        loop {
            let err = match attempt() {
                Ok(resp) if resp.is_success() => return Ok(resp),
                Ok(resp) => self.http_error(what, &resp),
                Err(e) => e,
            };
            if !err.is_retryable() || tries >= self.max_retries {
                if tries > 0 {
                    let tried = tries + 1;
                    return Err(err.hint(&format!("after {tried} tries")));
                }
                return Err(err);
            }
            let mut wait = crate::backoff::BLOCKING.wait(tries);
            if let Some(ra) = err.retry_after_ms {
                if ra > self.timeout.as_millis() as u64 {
                    let secs = ra / 1000;
                    return Err(err.hint(&format!(
                        "the API asks to wait {secs} s before trying again"
                    )));
                }
                wait = wait.max(Duration::from_millis(ra));
            }
            log_at!(
                self.log,
                Level::Debug,
                "{what}: {}; trying again in {} ms",
                err.message,
                wait.as_millis()
            );
            std::thread::sleep(wait);
            tries += 1;
        }
    }

    /// A non-2xx answer in words, with what to do about it.
    fn http_error(&self, what: &str, resp: &Response) -> Error {
        let desc = describe_api_error(resp.status, &resp.body);
        let hint = match resp.status {
            400 | 422 => "; fix the fields named above",
            403 if self.is_access_key() => "; access keys can only write (hit, event, session): use an OAuth client id and secret to read statistics",
            403 => "; the client is not allowed to do this (wrong domain, or a write-only client)",
            404 => "; check the path and base_url",
            413 => "; the request is too large",
            429 => "; the API is rate-limiting this client, send less often",
            500..=599 => "; the API had a problem, try again later",
            300..=399 => "; redirects are never followed (the token would go along): set base_url to the API itself",
            _ => "",
        };
        let desc = match (&resp.location, resp.status) {
            (Some(to), 300..=399) => format!("{desc} to {to:?}"),
            _ => desc,
        };
        let mut err = Error::new(
            ErrorKind::Http,
            format!("the API refused the {what}: {desc}{hint}"),
        );
        err.status = Some(resp.status);
        err.retry_after_ms = resp.retry_after_ms;
        err
    }
}
