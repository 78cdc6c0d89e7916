//! Credentials and the access token they buy: one token per client, shared by all threads,
//! renewed shortly before it expires and when the API answers 401.

use super::transport::{describe_api_error, Transport, MAX_SMALL_RESPONSE_BYTES};
use crate::error::{Error, ErrorKind, Result};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};
use ureq::http::HeaderValue;

/// How the client proves who it is.
#[derive(Clone)]
pub enum Credentials {
    /// An OAuth client: id and secret are exchanged for an access token.
    Client { id: String, secret: String },
    /// An access key (`pa_...`): sent as the bearer token itself. Write-only.
    AccessKey(String),
}

impl std::fmt::Debug for Credentials {
    // Never print a secret, not even in a debug dump.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Client { id, .. } => {
                write!(f, "Client {{ id: {id:?}, secret: <hidden> }}")
            }
            Credentials::AccessKey(_) => f.write_str("AccessKey(<hidden>)"),
        }
    }
}

impl Credentials {
    /// Chooses the kind of credentials from what was given, or says why they cannot work.
    pub fn new(client_id: &str, secret: &str) -> Result<Credentials> {
        let (id, secret) = (client_id.trim(), secret.trim());
        match (id.is_empty(), secret.is_empty()) {
            (true, true) => Err(Error::new(
                ErrorKind::Auth,
                "no credentials: give an access key (client_id \"\" and a secret starting with pa_) or a client id and its secret, from the Pirsch dashboard (Settings > Integration)",
            )),
            (false, true) => Err(Error::new(ErrorKind::Auth, "a client id was given without its client secret; pass the secret shown when the client was created")),
            (true, false) if !secret.starts_with("pa_") => Err(Error::new(
                ErrorKind::Auth,
                "a secret without a client id must be an access key, which starts with pa_; for an OAuth client pass its client id too",
            )),
            _ if !is_sendable_token(secret) && id.is_empty() => Err(Error::new(
                ErrorKind::Auth,
                "the access key holds characters that cannot be sent in an HTTP header (control, space or non-ASCII); copy it again from the Pirsch dashboard",
            )),
            (true, false) => {
                crate::error::register_secret(secret);
                Ok(Credentials::AccessKey(secret.to_string()))
            }
            (false, false) => {
                crate::error::register_secret(secret);
                Ok(Credentials::Client { id: id.to_string(), secret: secret.to_string() })
            }
        }
    }

    pub fn is_access_key(&self) -> bool {
        matches!(self, Credentials::AccessKey(_))
    }
}

/// A token, as the `Authorization` header that carries it, and its generation; the
/// generation tells whether a 401 was already answered.
#[derive(Clone)]
pub struct Bearer {
    pub header: HeaderValue,
    pub generation: u64,
}

struct Cached {
    header: HeaderValue,
    renew_at: SystemTime,
}

/// `Bearer <token>`, built once per token (cloning it is a reference count), marked
/// sensitive. The token was checked with `is_sendable_token`.
fn bearer_header(token: &str) -> Result<HeaderValue> {
    let mut v = HeaderValue::try_from(format!("Bearer {token}")).map_err(|_| {
        Error::new(
            ErrorKind::Auth,
            "the token holds characters that cannot be sent in an HTTP header",
        )
    })?;
    v.set_sensitive(true);
    Ok(v)
}

/// The current token, if any, and how many tokens were issued before it. The generation
/// survives invalidation, so a late 401 for an old token never discards a newer one.
#[derive(Default)]
struct TokenState {
    cached: Option<Cached>,
    generation: u64,
    /// A token request is on the wire; others wait for its outcome (each within its own bound).
    inflight: bool,
    /// Completed token requests, so a waiter knows that the one it waited for has ended.
    attempts: u64,
    /// The last request's failure, handed to the threads that waited for it.
    last_error: Option<Error>,
    /// Refusals in a row (credentials refused, or a fresh token refused): the next token
    /// request waits until `not_before`, 1 s doubling to 60 s.
    refusals: u32,
    not_before: Option<Instant>,
}

/// A token the API says has expired already (or expires within CLOCK_SKEW_SLACK) comes from
/// a server whose clock disagrees with ours: use it this long (a 401 still renews it at once).
/// A token that is merely short-lived is renewed halfway through its life as usual.
const MIN_TOKEN_LIFETIME: Duration = Duration::from_secs(300);
const CLOCK_SKEW_SLACK: Duration = Duration::from_secs(2);
/// Whether `token` can be sent as `Authorization: Bearer <token>`: visible ASCII only.
pub fn is_sendable_token(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

pub struct TokenCache {
    credentials: Credentials,
    /// The access key's `Authorization` header, built once.
    access_key_header: Option<HeaderValue>,
    state: Mutex<TokenState>,
    /// Signalled when a token request ends.
    done: Condvar,
    /// Raised with a refusal, lowered by `accepted`: lets every answered request skip the
    /// lock while nothing was refused.
    backing_off: std::sync::atomic::AtomicBool,
    refreshes: std::sync::atomic::AtomicU64,
}

impl TokenCache {
    pub fn new(credentials: Credentials) -> TokenCache {
        let access_key_header = match &credentials {
            // Credentials::new checked that the key is sendable.
            Credentials::AccessKey(key) => bearer_header(key).ok(),
            Credentials::Client { .. } => None,
        };
        TokenCache {
            access_key_header,
            credentials,
            state: Mutex::new(TokenState::default()),
            done: Condvar::new(),
            backing_off: Default::default(),
            refreshes: Default::default(),
        }
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// How many tokens were obtained.
    pub fn refreshes(&self) -> u64 {
        self.refreshes.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, TokenState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn current(state: &TokenState) -> Option<Bearer> {
        state
            .cached
            .as_ref()
            .filter(|c| SystemTime::now() < c.renew_at)
            .map(|c| Bearer {
                header: c.header.clone(),
                generation: state.generation,
            })
    }

    /// The token to send, requesting one if there is none or it is about to expire. One
    /// request at a time: other threads wait for its outcome, each no longer than `wait`
    /// (its own request bound) or `deadline`, and share its failure. After refusals the
    /// credentials are not sent again before the backoff has passed: the call fails at once.
    pub fn bearer(
        &self,
        transport: &Transport,
        deadline: Option<Instant>,
        wait: Duration,
    ) -> Result<Bearer> {
        if let Some(header) = &self.access_key_header {
            return Ok(Bearer {
                header: header.clone(),
                generation: 0,
            });
        }
        let Credentials::Client { id, secret } = &self.credentials else {
            return Err(Error::new(
                ErrorKind::Auth,
                "the access key cannot be sent in an HTTP header",
            ));
        };
        let give_up = {
            let w = Instant::now() + wait;
            deadline.map_or(w, |d| d.min(w))
        };
        let mut state = self.lock_state();
        loop {
            if let Some(b) = Self::current(&state) {
                return Ok(b);
            }
            if state.inflight {
                let waiting_for = state.attempts;
                while state.inflight && state.attempts == waiting_for {
                    let left = give_up.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(Error::new(
                            ErrorKind::Timeout,
                            format!("waited {} ms for an access token that another thread is requesting; the token endpoint of {} is slow or unreachable", wait.as_millis(), transport.base().url),
                        ));
                    }
                    state = self
                        .done
                        .wait_timeout(state, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
                if let Some(b) = Self::current(&state) {
                    return Ok(b);
                }
                if let Some(e) = &state.last_error {
                    return Err(e.clone());
                }
                continue;
            }
            if let Some(at) = state.not_before {
                let now = Instant::now();
                if now < at {
                    let e = state.last_error.clone().unwrap_or_else(|| {
                        Error::new(ErrorKind::Auth, "the API refused the credentials")
                    });
                    let ms = (at - now).as_millis();
                    return Err(e.hint(&format!("not asked again for {ms} ms")));
                }
            }
            break;
        }
        state.inflight = true;
        drop(state);
        let result = self.request(transport, id, secret, deadline);
        let mut state = self.lock_state();
        state.inflight = false;
        state.attempts += 1;
        let out = match result {
            Ok((header, renew_at)) => {
                state.generation += 1;
                state.cached = Some(Cached {
                    header: header.clone(),
                    renew_at,
                });
                state.last_error = None;
                self.refreshes
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Ok(Bearer {
                    header,
                    generation: state.generation,
                })
            }
            Err(e) => {
                if e.kind == ErrorKind::Auth {
                    self.note_refusal(&mut state);
                }
                state.last_error = Some(e.clone());
                Err(e)
            }
        };
        drop(state);
        self.done.notify_all();
        out
    }

    fn note_refusal(&self, state: &mut TokenState) {
        self.backing_off
            .store(true, std::sync::atomic::Ordering::Relaxed);
        state.refusals = state.refusals.saturating_add(1);
        state.not_before = Some(
            Instant::now()
                + crate::backoff::CREDENTIALS_REFUSED.wait(state.refusals.saturating_sub(1)),
        );
    }

    /// One token request: the token and when to renew it.
    fn request(
        &self,
        transport: &Transport,
        id: &str,
        secret: &str,
        deadline: Option<Instant>,
    ) -> Result<(HeaderValue, SystemTime)> {
        let body = serde_json::json!({ "client_id": id, "client_secret": secret }).to_string();
        let resp = transport
            .send(
                "POST",
                "/api/v1/token",
                Some(body.as_bytes()),
                None,
                deadline,
                MAX_SMALL_RESPONSE_BYTES,
            )
            .map_err(|e| e.context("requesting an access token failed"))?;
        if !resp.is_success() {
            let what = describe_api_error(resp.status, &resp.body);
            let mut err = if matches!(resp.status, 400 | 401 | 403 | 404) {
                Error::new(
                    ErrorKind::Auth,
                    format!("the API refused the client id and secret ({what}); check them in the Pirsch dashboard, or use an access key"),
                )
            } else if (300..400).contains(&resp.status) {
                Error::new(
                    ErrorKind::Auth,
                    format!("the token request was redirected ({what}); redirects are never followed, so that credentials go nowhere else: set base_url to the API itself"),
                )
            } else {
                Error::new(
                    ErrorKind::Http,
                    format!("requesting an access token failed: {what}"),
                )
            };
            err.status = Some(resp.status);
            err.retry_after_ms = resp.retry_after_ms;
            return Err(err);
        }
        if let Some(e) = resp.body_error {
            return Err(e.context("the token answer of the API could not be read whole"));
        }
        #[derive(serde::Deserialize)]
        struct TokenAnswer {
            access_token: String,
            #[serde(default)]
            expires_at: Option<String>,
        }
        let answer: TokenAnswer = serde_json::from_str(&resp.body)
            .ok()
            .filter(|a: &TokenAnswer| !a.access_token.is_empty())
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Auth,
                    "the token answer of the API had no access_token; is base_url the Pirsch API?",
                )
            })?;
        if !is_sendable_token(&answer.access_token) {
            return Err(Error::new(
                ErrorKind::Auth,
                "the API's access token holds characters that cannot be sent in an HTTP header (control, space or non-ASCII); is base_url the Pirsch API?",
            ));
        }
        crate::error::register_secret(&answer.access_token);
        let now = SystemTime::now();
        let renew_at = match answer
            .expires_at
            .as_deref()
            .and_then(crate::time::parse_rfc3339)
        {
            Some(expires) => match expires.duration_since(now) {
                // Renew a minute early, or halfway through a short-lived token.
                Ok(lifetime) if lifetime >= CLOCK_SKEW_SLACK => {
                    expires - lifetime.min(Duration::from_secs(120)) / 2
                }
                // Expired already (or all but) by our clock, though just issued: the clocks
                // disagree, so the expiry cannot be trusted.
                _ => now + MIN_TOKEN_LIFETIME,
            },
            // Unknown expiry: keep it until the API says 401.
            None => now + Duration::from_secs(365 * 86400),
        };
        Ok((bearer_header(&answer.access_token)?, renew_at))
    }

    /// The API said 401 to `used`: forget it, unless another thread already replaced it.
    pub fn invalidate(&self, used: &Bearer) {
        let mut state = self.lock_state();
        if state.generation == used.generation {
            state.cached = None;
        }
    }

    /// The API said 401 to a token that was just issued: the client is not allowed, and asking
    /// again at once would only hammer the token endpoint. Forget the token and back off.
    pub fn refused(&self, used: &Bearer, error: &Error) {
        let mut state = self.lock_state();
        if state.generation == used.generation {
            state.cached = None;
        }
        self.note_refusal(&mut state);
        state.last_error = Some(error.clone());
    }

    /// A request with a token was answered (not 401): credentials work, backoff is over.
    pub fn accepted(&self) {
        if !self.backing_off.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let mut state = self.lock_state();
        self.backing_off
            .store(false, std::sync::atomic::Ordering::Relaxed);
        if state.refusals != 0 {
            state.refusals = 0;
            state.not_before = None;
        }
    }
}
