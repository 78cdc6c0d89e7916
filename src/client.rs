//! The client: what a `pirsch_client` is. Checks items, sends them blocking through the API
//! or queues them for this process's sender, and shuts down within its bound.

use crate::api::{auth::Credentials, Api, Endpoint};
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::item::{Event, Hit, Kind, Rules};
use crate::log::{Level, Log};
use crate::log_at;
use crate::process::{ForkLocal, ProcessState};
use crate::queue::{self, Refusal, Settings, Spooled, Stats};
use crate::spool::{Spool, SpoolSync, ToWrite};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(1024));
}

/// What never changes after creation; each process's state is made from it.
struct Setup {
    rules: Rules,
    settings: Settings,
    endpoint: Endpoint,
    credentials: Credentials,
    log: Log,
    shutdown_timeout: Duration,
    /// The spool (`spool_dir`), when there is one: its directory, mode, bound and the file
    /// name prefix of this API target and credentials.
    spool: Option<(std::path::PathBuf, SpoolSync, u64, String)>,
}

impl Setup {
    fn process_state(&self, generation: u64, forks_detected: u64) -> ProcessState {
        ProcessState {
            generation,
            api: Api::new(&self.endpoint, self.credentials.clone(), self.log.clone()),
            queue: queue::QueueHandle::new(),
            sender: std::sync::Mutex::new(None),
            sender_started: Default::default(),
            forks_detected,
            spool: self.spool.as_ref().map(|(dir, sync, max, target)| {
                Spool::new(dir, target.clone(), *sync, *max, self.log.clone())
            }),
        }
    }
}

/// How long pirsch_free waits past shutdown_timeout_ms for the sender to end after its
/// connections were shut down (only a connect or TLS handshake in progress needs it).
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_millis(100);

pub(crate) struct Client {
    setup: Arc<Setup>,
    state: ForkLocal,
}

impl Client {
    pub fn new(client_id: &str, client_secret: &str, config: Config) -> Result<Client> {
        use crate::config::endpoint::{choose_proxy, root_certs, BaseUrl};
        let credentials = Credentials::new(client_id, client_secret)?;
        let base = BaseUrl::parse(&config.base_url, config.allow_insecure_http)?;
        let proxy = choose_proxy(&config.proxy, &base)?;
        let roots = root_certs(&config)?;
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
        let setup = Arc::new(Setup {
            rules: Rules {
                trusted_proxies: config.trusted_proxies.clone(),
                client_ip_header: config.client_ip_header,
                forward_proxy_headers: config.forward_proxy_headers,
                max_item_age: config.max_item_age,
            },
            settings: Settings {
                batch_size: config.batch_size,
                flush_interval: config.flush_interval,
                max_item_age: config.max_item_age,
                queue_capacity: config.queue_capacity,
                queue_max_bytes: config.queue_max_bytes,
            },
            endpoint: Endpoint {
                base,
                proxy,
                roots,
                timeout: config.timeout,
                max_retries: config.max_retries,
            },
            spool: config.spool_dir.as_ref().map(|dir| {
                let (id, secret) = match &credentials {
                    Credentials::Client { id, secret } => (id.as_str(), secret.as_str()),
                    Credentials::AccessKey(key) => ("", key.as_str()),
                };
                (
                    std::path::PathBuf::from(dir),
                    config.spool_sync,
                    config.spool_max_bytes,
                    crate::spool::target_name(&config.base_url, id, secret),
                )
            }),
            credentials,
            log,
            shutdown_timeout: config.shutdown_timeout,
        });
        let state = ForkLocal::new(setup.process_state(crate::fork::generation(), 0));
        Ok(Client { setup, state })
    }

    /// This process's state; in a child after fork(), a fresh one.
    fn state(&self) -> &ProcessState {
        self.state.get(
            |generation, forks| self.setup.process_state(generation, forks),
            |inherited| {
                // The parent's spool files stay locked by the parent alone.
                if let Some(spool) = &inherited.spool {
                    spool.close_inherited();
                }
                self.setup.log.forget_callbacks_in_progress();
                log_at!(
                    self.setup.log,
                    Level::Debug,
                    "fork detected: this process starts with an empty queue and new connections"
                );
            },
        )
    }

    /// Sends a page view, event or session keep-alive and waits for the API to accept it.
    pub fn send(&self, kind: Kind, hit: &Hit<'_>, event: Option<&Event<'_>>) -> Result<()> {
        let item = self.setup.rules.prepare(kind, hit, event)?;
        let mut body = Vec::with_capacity(512);
        match item.own_time() {
            None => {
                item.write_json(&mut body, None);
                self.state().api.send_item(kind, &body, false)
            }
            // Only the batch endpoints take a time: a batch of one.
            Some(at) => {
                let stamp = crate::time::rfc3339_millis_bytes(at);
                body.push(b'[');
                item.write_json(&mut body, Some(std::str::from_utf8(&stamp).unwrap_or("")));
                body.push(b']');
                self.state().api.send_item(kind, &body, true)
            }
        }
    }

    /// Validates and copies an item, stamps it with the current time and queues it for the
    /// background sender. Never waits on the network.
    pub fn enqueue(&self, kind: Kind, hit: &Hit<'_>, event: Option<&Event<'_>>) -> Result<()> {
        let item = self.setup.rules.prepare(kind, hit, event)?;
        let st = self.state();
        let (settings, log) = (&self.setup.settings, &self.setup.log);
        // While the queue is full, a valid item is dropped before its JSON is built (or the
        // clock read); with a spool it is written there instead, which needs its JSON. This
        // may call the user's logger, so no per-thread buffer is borrowed yet.
        if st.spool.is_none() {
            st.queue
                .refuse_if_full(settings)
                .map_err(|r| st.queue.refusal_error(r, settings, log))?;
        }
        self.ensure_sender(st)?;
        let (mut queued_at, mut wall) = crate::time::now_for_queue();
        let stamp = match item.own_time() {
            None => crate::time::rfc3339_millis_cached(wall),
            Some(at) => {
                // Its age counts from its own time (max_item_age, the spool's order).
                let age = wall.duration_since(at).unwrap_or_default();
                queued_at = queued_at.checked_sub(age).unwrap_or(queued_at);
                wall = at;
                crate::time::rfc3339_millis_bytes(at)
            }
        };
        let time = std::str::from_utf8(&stamp).unwrap_or("");
        // Written in a reused per-thread buffer, then copied into the queue's open batch:
        // nothing is allocated per item. (The spool never calls the user's logger here.)
        let queued = SCRATCH.with(|buf| {
            let mut buf = buf.borrow_mut();
            buf.clear();
            item.write_json(&mut buf, Some(time));
            let Some(spool) = &st.spool else {
                return st
                    .queue
                    .enqueue(settings, item.kind(), &buf, queued_at, None);
            };
            let record = |id| ToWrite {
                kind: item.kind(),
                id,
                wall_ms: crate::spool::wall_ms(wall),
                json: &buf,
            };
            // spool_sync=always: on disk before enqueue returns.
            let spooled = (spool.sync() == SpoolSync::Always)
                .then(|| {
                    let id = spool.new_id();
                    spool.write(&[record(id)]).map(|seg| Spooled { seg, id })
                })
                .flatten();
            match st
                .queue
                .enqueue(settings, item.kind(), &buf, queued_at, spooled)
            {
                Err(Refusal::Full(total)) => {
                    let written = spooled.is_some() || {
                        let id = spool.new_id();
                        spool.write(&[record(id)]).is_some()
                    };
                    if written {
                        st.queue.full_to_spooled();
                        Ok(())
                    } else {
                        Err(Refusal::Full(total))
                    }
                }
                Err(Refusal::Closed) => {
                    if let Some(sp) = spooled {
                        spool.ack(sp.seg, &[sp.id]); // not queued: not to be delivered
                    }
                    Err(Refusal::Closed)
                }
                ok => ok,
            }
        });
        // The buffer is released: reporting may call the user's logger, which may enqueue.
        queued.map_err(|r| st.queue.refusal_error(r, settings, log))
    }

    /// Starts this process's sender thread, once.
    fn ensure_sender(&self, st: &ProcessState) -> Result<()> {
        if st.sender_started.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut handle = st.sender.lock().unwrap_or_else(|p| p.into_inner());
        if handle.is_some() {
            return Ok(());
        }
        let state = self.state.share(st);
        let setup = self.setup.clone();
        st.queue.sender_starting(&setup.settings);
        let spawned = std::thread::Builder::new()
            .name("pirsch-sender".into())
            .spawn(move || {
                let clock = queue::sender::RealClock;
                let st = &*state;
                if !queue::sender::run_sender(
                    &st.queue,
                    &st.api,
                    &setup.settings,
                    &setup.log,
                    &clock,
                    st.spool.as_ref(),
                ) {
                    // It panicked (a bug, counted and logged): the next enqueue starts a new one.
                    *st.sender.lock().unwrap_or_else(|p| p.into_inner()) = None;
                    st.sender_started.store(false, Ordering::Release);
                }
            });
        match spawned {
            Ok(h) => {
                *handle = Some(h);
                st.sender_started.store(true, Ordering::Release);
                Ok(())
            }
            Err(e) => {
                st.queue.sender_failed_to_start();
                Err(Error::new(
                    ErrorKind::Network,
                    format!("could not start the background sender thread: {e}"),
                ))
            }
        }
    }

    /// Waits until everything queued before the call is sent or dropped.
    pub fn flush(&self, timeout: Duration) -> Result<()> {
        self.state().queue.flush(timeout)
    }

    pub fn stats(&self) -> Stats {
        let st = self.state();
        let mut s = st.queue.stats();
        s.token_refreshes = st.api.token_refreshes();
        s.spool_errors = st.spool.as_ref().map_or(0, Spool::errors);
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
        self.state().api.request(method, path_and_query, body)
    }
}

impl Client {
    /// Whether this process's queue ever held enough that, once freed, it is worth giving
    /// back to the system (see `process::return_free_memory`).
    pub fn held_much(&self) -> bool {
        self.state
            .get_if_current()
            .is_some_and(|st| st.queue.peak_bytes() >= 1 << 20)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Client {
    /// Stops accepting, delivers what is queued within shutdown_timeout (or spools it),
    /// joins the sender, closes the logger. Idempotent; the client stays usable for blocking
    /// calls (enqueue then says PIRSCH_ERR_CLOSED).
    pub fn shutdown(&self) {
        // Inherited from a parent and never used here: left untouched.
        let Some(st) = self.state.get_if_current() else {
            return;
        };
        let deadline = Instant::now() + self.setup.shutdown_timeout;
        // Requests started after this point are cut to the deadline. One already in progress
        // (started with timeout_ms) is interrupted at the deadline: its connection is shut
        // down, the sender sees a network error past the deadline and ends (dropping or
        // spooling what is left). Only a TCP connect or TLS handshake in progress cannot be
        // interrupted; after a short grace the thread is detached (it keeps its own
        // references; the logger is closed below; the code stays mapped, -z nodelete).
        let mut finished = st.queue.close(deadline, deadline);
        if !finished {
            st.api.interrupt();
            finished = st.queue.wait_sender(deadline + SHUTDOWN_GRACE);
        }
        let handle = st.sender.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let (true, Some(handle)) = (finished, handle) {
            let _ = handle.join();
        }
        // Whatever still runs must never call the user's logger after pirsch_free returns.
        self.setup.log.close();
    }
}
