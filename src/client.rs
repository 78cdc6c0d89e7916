//! The client: validated items, authenticated requests, retries. Blocking calls live here;
//! the queued path (`sender`) shares the same payloads, auth and transport.

use crate::auth::{Credentials, TokenCache};
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::ip::{resolve_client_ip, ProxyHeaders};
use crate::log::{Level, Log};
use crate::log_at;
use crate::payload::{write_item, BodyOptions, Event, Hit, Kind};
use crate::transport::{describe_api_error, BaseUrl, Response, Transport};
use std::borrow::Cow;
use std::time::Duration;

pub struct Client {
    pub(crate) config: Config,
    pub(crate) log: Log,
    pub(crate) transport: Transport,
    pub(crate) tokens: TokenCache,
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
        let log = Log::new(config.log_level, config.logger.clone());
        let transport = Transport::new(base, config.timeout);
        log_at!(log, Level::Debug, "client for {} created ({})", config.base_url, if credentials.is_access_key() { "access key" } else { "OAuth client" });
        Ok(Client { config, log, transport, tokens: TokenCache::new(credentials) })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Replaces `hit.ip` (the peer) with the visitor's address, walking the proxy headers
    /// when the peer is a trusted proxy.
    pub fn resolve_ip(&self, hit: &mut Hit<'_>) -> Result<()> {
        let peer = match hit.ip.as_deref().filter(|s| !s.is_empty()) {
            Some(p) => p,
            None => return Ok(()), // validate() names the missing field
        };
        let headers = ProxyHeaders {
            cf_connecting_ip: hit.cf_connecting_ip.as_deref(),
            x_forwarded_for: hit.x_forwarded_for.as_deref(),
            forwarded: hit.forwarded.as_deref(),
            x_real_ip: hit.x_real_ip.as_deref(),
        };
        match resolve_client_ip(peer, &headers, &self.config.trusted_proxies) {
            Some(ip) => {
                hit.ip = Some(Cow::Owned(ip.to_string()));
                Ok(())
            }
            None => Err(Error::invalid(format!("ip {:?} is not an IP address", crate::payload::truncate(peer, 60)))),
        }
    }

    /// Validates an item, resolves its IP and writes its JSON into `out`.
    pub fn build_item(&self, out: &mut Vec<u8>, kind: Kind, hit: &Hit<'_>, event: Option<&Event<'_>>, time: Option<&str>) -> Result<()> {
        let mut hit = hit.clone();
        self.resolve_ip(&mut hit)?;
        hit.validate(kind)?;
        if kind == Kind::Event {
            event.ok_or_else(|| Error::new(ErrorKind::NullArgument, "an event needs its event options"))?.validate()?;
        }
        let opts = BodyOptions { forward_proxy_headers: self.config.forward_proxy_headers, time };
        write_item(out, kind, &hit, event, opts);
        Ok(())
    }

    /// Sends a page view, event or session keep-alive and waits for the API to accept it.
    pub fn send(&self, kind: Kind, hit: &Hit<'_>, event: Option<&Event<'_>>) -> Result<()> {
        let mut body = Vec::with_capacity(512);
        self.build_item(&mut body, kind, hit, event, None)?;
        self.with_retries(kind.noun(), || self.send_authed("POST", kind.path(), Some(&body))).map(|_| ())
    }

    /// Any API call; returns the response body.
    pub fn request(&self, method: &str, path_and_query: &str, body: Option<&str>) -> Result<String> {
        let method = method.trim().to_ascii_uppercase();
        if !matches!(method.as_str(), "GET" | "POST" | "PUT" | "DELETE" | "PATCH") {
            return Err(Error::invalid(format!("method {method:?} is not one of GET, POST, PUT, DELETE, PATCH")));
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
        let what = format!("{method} {}", path_and_query.split('?').next().unwrap_or(""));
        let resp = self.with_retries(&what, || self.send_authed(&method, path_and_query, body.map(str::as_bytes)))?;
        Ok(resp.body)
    }

    /// Runs `attempt` up to 1 + max_retries times while it fails with something that may
    /// succeed later; a non-2xx answer becomes an error that describes it.
    pub(crate) fn with_retries(&self, what: &str, mut attempt: impl FnMut() -> Result<Response>) -> Result<Response> {
        let mut tries = 0u32;
        loop {
            let err = match attempt() {
                Ok(resp) if resp.is_success() => return Ok(resp),
                Ok(resp) => self.http_error(what, &resp),
                Err(e) => e,
            };
            if !err.is_retryable() || tries >= self.config.max_retries {
                if tries > 0 {
                    return Err(Error { message: format!("{} (after {} tries)", err.message, tries + 1), ..err });
                }
                return Err(err);
            }
            let mut wait = blocking_backoff(tries);
            if let Some(ra) = err.retry_after_ms {
                if ra > self.config.timeout.as_millis() as u64 {
                    return Err(Error { message: format!("{}; the API asks to wait {} s before trying again", err.message, ra / 1000), ..err });
                }
                wait = wait.max(Duration::from_millis(ra));
            }
            log_at!(self.log, Level::Debug, "{what}: {}; trying again in {} ms", err.message, wait.as_millis());
            std::thread::sleep(wait);
            tries += 1;
        }
    }

    fn http_error(&self, what: &str, resp: &Response) -> Error {
        let desc = describe_api_error(resp.status, &resp.body);
        let hint = match resp.status {
            400 | 422 => "; fix the fields named above",
            403 if self.tokens.credentials().is_access_key() => "; access keys can only write (hit, event, session): use an OAuth client id and secret to read statistics",
            403 => "; the client is not allowed to do this (wrong domain, or a write-only client)",
            404 => "; check the path and base_url",
            413 => "; the request is too large",
            429 => "; the API is rate-limiting this client, send less often",
            500..=599 => "; the API had a problem, try again later",
            _ => "",
        };
        let mut err = Error::new(ErrorKind::Http, format!("the API refused the {what}: {desc}{hint}"));
        err.status = Some(resp.status);
        err.retry_after_ms = resp.retry_after_ms;
        err
    }

    /// One request with the bearer token; a 401 renews the token once and sends again.
    pub(crate) fn send_authed(&self, method: &str, path: &str, body: Option<&[u8]>) -> Result<Response> {
        let bearer = self.tokens.bearer(&self.transport)?;
        let resp = self.transport.send(method, path, body, Some(&bearer.token))?;
        if resp.status != 401 {
            return Ok(resp);
        }
        if self.tokens.credentials().is_access_key() {
            return Err(Error::new(
                ErrorKind::Auth,
                format!("the API refused the access key ({}); check that it is current and belongs to this domain", describe_api_error(resp.status, &resp.body)),
            )
            .with_status(401));
        }
        log_at!(self.log, Level::Info, "the API answered 401 to {method} {path}; renewing the access token");
        self.tokens.invalidate(&bearer);
        let bearer = self.tokens.bearer(&self.transport)?;
        let resp = self.transport.send(method, path, body, Some(&bearer.token))?;
        if resp.status == 401 {
            return Err(Error::new(
                ErrorKind::Auth,
                format!("the API refused a fresh access token ({}); check the client's permissions", describe_api_error(resp.status, &resp.body)),
            )
            .with_status(401));
        }
        Ok(resp)
    }
}
