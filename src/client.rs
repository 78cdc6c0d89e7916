//! The client: validated items, authenticated requests, retries. Blocking calls wait here;
//! the queued path (`sender`) shares the same payloads, auth and transport.

use crate::auth::Credentials;
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::ip::{resolve_client_ip, ProxyHeaders};
use crate::log::{Level, Log};
use crate::log_at;
use crate::payload::{write_item, BodyOptions, Event, Hit, Kind};
use crate::process::ProcessState;
use crate::sender::{self, Stats};
use crate::transport::{describe_api_error, BaseUrl, Response};
use std::borrow::Cow;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(1024));
}

/// What `check_item` found to send instead of an item's own fields.
pub struct Checked<'h> {
    pub ip: Option<Cow<'h, str>>,
    pub url: Option<String>,
}

/// What never changes after creation, shared with the sender thread.
pub struct Core {
    pub config: Config,
    pub log: Log,
    pub credentials: Credentials,
    pub base: BaseUrl,
    /// The proxy to the API, chosen when the client was made.
    pub proxy: Option<ureq::Proxy>,
    /// The roots TLS certificates are checked against, chosen when the client was made.
    pub roots: ureq::tls::RootCerts,
}

pub struct Client {
    core: Arc<Core>,
    /// This process's state (an `Arc` turned into a raw pointer). Replaced in a child after
    /// fork(); the parent's is then left alone, never dropped, since its locks may be held.
    state: AtomicPtr<ProcessState>,
}

/// Waits before blocking retry `attempt` (0-based): 100 ms doubling, with jitter.
fn blocking_backoff(attempt: u32) -> Duration {
    let base = 100u64 << attempt.min(6);
    Duration::from_millis(base / 2 + crate::rand::below(base / 2 + 1))
}

impl Client {
    pub fn new(client_id: &str, client_secret: &str, config: Config) -> Result<Client> {
        let credentials = Credentials::new(client_id, client_secret)?;
        let base = BaseUrl::parse(&config.base_url, config.allow_insecure_http)?;
        let proxy = crate::transport::choose_proxy(&config.proxy, &base)?;
        let roots = crate::transport::root_certs(&config)?;
        let log = Log::new(config.log_level, config.logger.clone());
        log_at!(
            log,
            Level::Debug,
            "client for {} created ({})",
            config.base_url,
            if credentials.is_access_key() {
                "access key"
            } else {
                "OAuth client"
            }
        );
        crate::fork::watch();
        let core = Arc::new(Core {
            config,
            log,
            credentials,
            base,
            proxy,
            roots,
        });
        let state = Arc::new(ProcessState::new(&core, crate::fork::generation(), 0));
        Ok(Client {
            core,
            state: AtomicPtr::new(Arc::into_raw(state) as *mut ProcessState),
        })
    }

    pub fn config(&self) -> &Config {
        &self.core.config
    }

    /// This process's state; in a child after fork(), a fresh one.
    fn state(&self) -> &ProcessState {
        let generation = crate::fork::generation();
        loop {
            let p = self.state.load(Ordering::Acquire);
            // SAFETY: states are freed only when the client is dropped.
            let st = unsafe { &*p };
            if st.generation == generation {
                return st;
            }
            // Only atomics of the inherited state are read; its locks are never touched.
            let fresh = Arc::new(ProcessState::new(
                &self.core,
                generation,
                st.forks_detected + 1,
            ));
            let raw = Arc::into_raw(fresh) as *mut ProcessState;
            match self
                .state
                .compare_exchange(p, raw, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    self.core.log.forget_callbacks_in_progress();
                    log_at!(self.core.log, Level::Debug, "fork detected: this process starts with an empty queue and new connections");
                }
                Err(_) => drop(unsafe { Arc::from_raw(raw) }),
            }
        }
    }

    /// Sends a page view, event or session keep-alive and waits for the API to accept it.
    pub fn send(&self, kind: Kind, hit: &Hit<'_>, event: Option<&Event<'_>>) -> Result<()> {
        let mut body = Vec::with_capacity(512);
        let checked = self.core.check_item(kind, hit, event)?;
        self.core
            .write_checked(&mut body, kind, hit, event, &checked, None);
        let st = self.state();
        self.core
            .with_retries(kind.noun(), || {
                self.core
                    .send_authed(st, "POST", kind.path(), Some(&body), None, crate::transport::MAX_SMALL_RESPONSE_BYTES)
            })
            .map(|_| ())
    }

    /// Validates and copies an item, stamps it with the current time and queues it for the
    /// background sender. Never waits on the network.
    pub fn enqueue(&self, kind: Kind, hit: &Hit<'_>, event: Option<&Event<'_>>) -> Result<()> {
        let checked = self.core.check_item(kind, hit, event)?;
        let st = self.state();
        // While the queue is full, a valid item is dropped before its JSON is built (or the
        // clock read). This may call the user's logger, so no per-thread buffer is borrowed yet.
        sender::refuse_if_full(&self.core, &st.shared)?;
        self.ensure_sender(st)?;
        let (queued_at, wall) = crate::time::now_for_queue();
        let stamp = crate::time::rfc3339_millis_cached(wall);
        let time = std::str::from_utf8(&stamp).unwrap_or("");
        // Written in a reused per-thread buffer, then copied into the queue's open batch:
        // nothing is allocated per item.
        let queued = SCRATCH.with(|buf| {
            let mut buf = buf.borrow_mut();
            buf.clear();
            self.core
                .write_checked(&mut buf, kind, hit, event, &checked, Some(time));
            sender::enqueue(&self.core, &st.shared, kind, &buf, queued_at)
        });
        // The buffer is released: reporting may call the user's logger, which may enqueue.
        queued.map_err(|refused| refused.report(&self.core, &st.shared))
    }

    fn ensure_sender(&self, st: &ProcessState) -> Result<()> {
        if st.sender_started.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut handle = st.sender.lock().unwrap_or_else(|p| p.into_inner());
        if handle.is_some() {
            return Ok(());
        }
        let p = st as *const ProcessState;
        // SAFETY: `p` came from Arc::into_raw; the thread gets its own strong reference.
        let state = unsafe {
            Arc::increment_strong_count(p);
            Arc::from_raw(p)
        };
        let core = self.core.clone();
        {
            let mut q = st.shared.lock();
            q.reserve(self.core.config.queue_capacity, self.core.config.batch_size);
            q.sender_running = true;
        }
        let spawned = std::thread::Builder::new()
            .name("pirsch-sender".into())
            .spawn(move || sender::run(core, state));
        match spawned {
            Ok(h) => {
                *handle = Some(h);
                st.sender_started.store(true, Ordering::Release);
                Ok(())
            }
            Err(e) => {
                st.shared.lock().sender_running = false;
                Err(Error::new(
                    ErrorKind::Network,
                    format!("could not start the background sender thread: {e}"),
                ))
            }
        }
    }

    /// Waits until everything queued before the call is sent or dropped.
    pub fn flush(&self, timeout: Duration) -> Result<()> {
        sender::flush(&self.state().shared, timeout)
    }

    pub fn stats(&self) -> Stats {
        let st = self.state();
        let mut s = st.shared.lock().stats;
        s.batches = st.batches.load(Ordering::Relaxed);
        s.retries = st.retries.load(Ordering::Relaxed);
        s.token_refreshes = st.tokens.refreshes();
        s.forks_detected = st.forks_detected;
        s
    }

    /// Any API call; returns the response body.
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
                crate::payload::truncate(path_and_query, 100)
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
        let st = self.state();
        let resp = self.core.with_retries(&what, || {
            self.core
                .send_authed(st, &method, path_and_query, body.map(str::as_bytes), None, crate::transport::MAX_RESPONSE_BYTES)
        })?;
        if let Some(mut e) = resp.body_error {
            e.message = format!(
                "the API answered {} to {what}, but its body could not be read whole ({}); the request itself was carried out, so do not simply repeat a write",
                resp.status, e.message
            )
            .into();
            e.status = Some(resp.status);
            return Err(e);
        }
        Ok(resp.body)
    }
}

impl Drop for Client {
    /// Stops accepting, delivers what is queued within shutdown_timeout, joins the sender.
    fn drop(&mut self) {
        let p = self.state.load(Ordering::Acquire);
        let st = unsafe { &*p };
        if st.generation != crate::fork::generation() {
            // Inherited from a parent and never used here: leave it untouched.
            return;
        }
        let deadline = Instant::now() + self.core.config.shutdown_timeout;
        {
            let mut q = st.shared.lock();
            q.closing = true;
            q.shutdown_deadline = Some(deadline);
        }
        st.shared.wake.notify_all();
        let handle = st.sender.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(handle) = handle {
            // Requests started after this point are cut to the deadline; one already in
            // progress may run up to timeout_ms. Wait a little grace, then detach the thread
            // (it keeps its own references; the logger is closed below; the code stays
            // mapped, see -z nodelete in build.rs).
            let give_up = deadline + Duration::from_millis(500);
            let mut q = st.shared.lock();
            while q.sender_running && Instant::now() < give_up {
                let left = give_up.saturating_duration_since(Instant::now());
                q = st
                    .shared
                    .done
                    .wait_timeout(q, left)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            let finished = !q.sender_running;
            drop(q);
            if finished {
                let _ = handle.join();
            }
            // Otherwise the thread is detached (a request it started before the deadline
            // is still running); it holds its own references to what it uses.
        }
        // Whatever still runs must never call the user's logger after pirsch_free returns.
        self.core.log.close();
        // SAFETY: the pointer came from Arc::into_raw in this process.
        drop(unsafe { Arc::from_raw(p) });
    }
}

impl Core {
    /// The address to send: the peer that connected, or, when the peer is a trusted proxy,
    /// the visitor the proxy headers name. Borrowed when the peer already is that address.
    /// None when the item has no ip (`validate` names the missing field).
    pub fn client_ip<'h>(&self, hit: &'h Hit<'_>) -> Result<Option<Cow<'h, str>>> {
        let peer = match hit.ip.as_deref().filter(|s| !s.is_empty()) {
            Some(p) => p,
            None => return Ok(None),
        };
        // The common case, parsed once: a plain IPv4 peer whose proxy headers are not believed.
        if let Ok(v4) = peer.parse::<std::net::Ipv4Addr>() {
            if !self
                .config
                .trusted_proxies
                .contains(std::net::IpAddr::V4(v4))
            {
                return Ok(Some(Cow::Borrowed(peer)));
            }
        }
        let headers = ProxyHeaders {
            cf_connecting_ip: hit.cf_connecting_ip.as_deref(),
            x_forwarded_for: hit.x_forwarded_for.as_deref(),
            forwarded: hit.forwarded.as_deref(),
            x_real_ip: hit.x_real_ip.as_deref(),
        };
        match resolve_client_ip(
            peer,
            &headers,
            &self.config.trusted_proxies,
            self.config.client_ip_header,
        ) {
            // The peer as given, already in canonical form: nothing to replace.
            Some(ip)
                if peer.parse::<std::net::IpAddr>().ok() == Some(ip)
                    && !peer.contains("::ffff:") =>
            {
                Ok(Some(Cow::Borrowed(peer)))
            }
            Some(ip) => Ok(Some(Cow::Owned(ip.to_string()))),
            None => Err(Error::invalid(format!(
                "ip {:?} is not an IP address",
                crate::payload::truncate(peer, 60)
            ))),
        }
    }

    /// Validates an item; returns what to send instead of what was given: the client address
    /// (resolved through trusted proxies, normalised) and the normalised URL, each None to
    /// send the item's own.
    pub fn check_item<'h>(
        &self,
        kind: Kind,
        hit: &'h Hit<'_>,
        event: Option<&Event<'_>>,
    ) -> Result<Checked<'h>> {
        let ip = self.client_ip(hit)?;
        let url = hit.validate(kind)?;
        if kind == Kind::Event {
            event
                .ok_or_else(|| {
                    Error::new(ErrorKind::NullArgument, "an event needs its event options")
                })?
                .validate()?;
        }
        Ok(Checked { ip, url })
    }

    /// Writes the JSON of an item that check_item accepted into `out`; `ip` is what it
    /// returned.
    pub fn write_checked(
        &self,
        out: &mut Vec<u8>,
        kind: Kind,
        hit: &Hit<'_>,
        event: Option<&Event<'_>>,
        checked: &Checked<'_>,
        time: Option<&str>,
    ) {
        let opts = BodyOptions {
            forward_proxy_headers: self.config.forward_proxy_headers,
            time,
            ip: checked.ip.as_deref(),
            url: checked.url.as_deref(),
        };
        write_item(out, kind, hit, event, opts);
    }

    /// Runs `attempt` up to 1 + max_retries times while it fails with something that may
    /// succeed later; a non-2xx answer becomes an error that describes it.
    pub(crate) fn with_retries(
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
            if !err.is_retryable() || tries >= self.config.max_retries {
                if tries > 0 {
                    return Err(Error {
                        message: format!("{} (after {} tries)", err.message, tries + 1).into(),
                        ..err
                    });
                }
                return Err(err);
            }
            let mut wait = blocking_backoff(tries);
            if let Some(ra) = err.retry_after_ms {
                if ra > self.config.timeout.as_millis() as u64 {
                    return Err(Error {
                        message: format!(
                            "{}; the API asks to wait {} s before trying again",
                            err.message,
                            ra / 1000
                        )
                        .into(),
                        ..err
                    });
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

    pub(crate) fn http_error(&self, what: &str, resp: &Response) -> Error {
        let desc = describe_api_error(resp.status, &resp.body);
        let hint = match resp.status {
            400 | 422 => "; fix the fields named above",
            403 if self.credentials.is_access_key() => "; access keys can only write (hit, event, session): use an OAuth client id and secret to read statistics",
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

    /// One request with the bearer token; a 401 renews the token once and sends again.
    /// `deadline` cuts the request's timeout (used while shutting down).
    pub(crate) fn send_authed(
        &self,
        st: &ProcessState,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        deadline: Option<Instant>,
        max_body: u64,
    ) -> Result<Response> {
        let bearer = st
            .tokens
            .bearer(&st.transport, deadline, self.config.timeout)?;
        let resp = st
            .transport
            .send(method, path, body, Some(&bearer.token), deadline, max_body)?;
        if resp.status != 401 {
            st.tokens.accepted();
            return Ok(resp);
        }
        if self.credentials.is_access_key() {
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
        st.tokens.invalidate(&bearer);
        let bearer = st
            .tokens
            .bearer(&st.transport, deadline, self.config.timeout)?;
        let resp = st
            .transport
            .send(method, path, body, Some(&bearer.token), deadline, max_body)?;
        if resp.status == 401 {
            let err = Error::new(
                ErrorKind::Auth,
                format!(
                    "the API refused a fresh access token ({}); check the client's permissions",
                    describe_api_error(resp.status, &resp.body)
                ),
            )
            .with_status(401);
            st.tokens.refused(&bearer, &err);
            return Err(err);
        }
        st.tokens.accepted();
        Ok(resp)
    }
}
