//! Credentials and the access token they buy: one token per client, shared by all threads,
//! renewed shortly before it expires and when the API answers 401.

use crate::error::{Error, ErrorKind, Result};
use crate::transport::{describe_api_error, Transport};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

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
            (true, false) => Ok(Credentials::AccessKey(secret.to_string())),
            (false, false) => Ok(Credentials::Client { id: id.to_string(), secret: secret.to_string() }),
        }
    }

    pub fn is_access_key(&self) -> bool {
        matches!(self, Credentials::AccessKey(_))
    }
}

/// A token and its generation; the generation tells whether a 401 was already answered.
#[derive(Clone)]
pub struct Bearer {
    pub token: Arc<str>,
    pub generation: u64,
}

struct Cached {
    token: Arc<str>,
    renew_at: SystemTime,
}

/// The current token, if any, and how many tokens were issued before it. The generation
/// survives invalidation, so a late 401 for an old token never discards a newer one.
#[derive(Default)]
struct TokenState {
    cached: Option<Cached>,
    generation: u64,
}

pub struct TokenCache {
    credentials: Credentials,
    state: Mutex<TokenState>,
    /// Held while a token is requested, so that threads that need one wait for one request.
    renewing: Mutex<u64>,
    refreshes: std::sync::atomic::AtomicU64,
}

impl TokenCache {
    pub fn new(credentials: Credentials) -> TokenCache {
        TokenCache {
            credentials,
            state: Mutex::new(TokenState::default()),
            renewing: Mutex::new(0),
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

    fn current(&self) -> Option<Bearer> {
        let state = self.lock_state();
        state
            .cached
            .as_ref()
            .filter(|c| SystemTime::now() < c.renew_at)
            .map(|c| Bearer {
                token: c.token.clone(),
                generation: state.generation,
            })
    }

    /// The token to send, requesting one if there is none or it is about to expire.
    pub fn bearer(
        &self,
        transport: &Transport,
        deadline: Option<std::time::Instant>,
    ) -> Result<Bearer> {
        let (id, secret) = match &self.credentials {
            Credentials::AccessKey(key) => {
                return Ok(Bearer {
                    token: Arc::from(key.as_str()),
                    generation: 0,
                })
            }
            Credentials::Client { id, secret } => (id, secret),
        };
        if let Some(b) = self.current() {
            return Ok(b);
        }
        let _renewing = self.renewing.lock().unwrap_or_else(|p| p.into_inner());
        // Another thread may have renewed it while this one waited.
        if let Some(b) = self.current() {
            return Ok(b);
        }
        let body = serde_json::json!({ "client_id": id, "client_secret": secret }).to_string();
        let resp = transport
            .send(
                "POST",
                "/api/v1/token",
                Some(body.as_bytes()),
                None,
                deadline,
            )
            .map_err(|mut e| {
                e.message = format!("requesting an access token failed: {}", e.message).into();
                e
            })?;
        if !resp.is_success() {
            let what = describe_api_error(resp.status, &resp.body);
            let mut err = if matches!(resp.status, 400 | 401 | 403 | 404) {
                Error::new(
                    ErrorKind::Auth,
                    format!("the API refused the client id and secret ({what}); check them in the Pirsch dashboard, or use an access key"),
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
        let now = SystemTime::now();
        let renew_at = match answer
            .expires_at
            .as_deref()
            .and_then(crate::time::parse_rfc3339)
        {
            Some(expires) => {
                let lifetime = expires.duration_since(now).unwrap_or_default();
                // Renew a minute early, or halfway through a short-lived token.
                expires - lifetime.min(Duration::from_secs(120)) / 2
            }
            // Unknown expiry: keep it until the API says 401.
            None => now + Duration::from_secs(365 * 86400),
        };
        let mut state = self.lock_state();
        state.generation += 1;
        let generation = state.generation;
        let token: Arc<str> = Arc::from(answer.access_token);
        state.cached = Some(Cached {
            token: token.clone(),
            renew_at,
        });
        self.refreshes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Bearer { token, generation })
    }

    /// The API said 401 to `used`: forget it, unless another thread already replaced it.
    pub fn invalidate(&self, used: &Bearer) {
        let mut state = self.lock_state();
        if state.generation == used.generation {
            state.cached = None;
        }
    }
}
