//! Shared state of the stand-in: credentials, tokens, kept items, counters.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::faults::Faults;
use crate::stats::Store;
use crate::timeutil::now_ms;

pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Hit,
    Event,
    Session,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Hit => "hit",
            Kind::Event => "event",
            Kind::Session => "session",
        }
    }
    pub fn index(self) -> usize {
        self as usize
    }
    pub fn from_name(s: &str) -> Option<Kind> {
        match s {
            "hit" => Some(Kind::Hit),
            "event" => Some(Kind::Event),
            "session" => Some(Kind::Session),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Auth {
    Token,
    AccessKey,
}

impl Auth {
    pub fn name(self) -> &'static str {
        match self {
            Auth::Token => "token",
            Auth::AccessKey => "access_key",
        }
    }
}

/// One accepted item, its body exactly as received.
pub struct Item {
    pub kind: Kind,
    pub batch: bool,
    pub auth: Auth,
    pub body: Box<str>,
}

#[derive(Default)]
pub struct Data {
    pub items: Vec<Arc<Item>>,
}

#[derive(Default)]
pub struct Counters {
    pub connections: u64,
    pub token_requests: u64,
    pub requests: u64,
    pub by_path: HashMap<String, u64>,
    pub by_status: BTreeMap<u16, u64>,
    pub items: [u64; 3],
    pub rejected_requests: u64,
    pub faults_injected: u64,
    pub closed_by_fault: u64,
}

pub struct State {
    pub clients: HashMap<String, String>,
    pub access_keys: HashSet<String>,
    pub quiet: bool,
    pub token_ttl_s: AtomicU64,
    pub record: AtomicBool,
    /// token -> expiry (Unix ms)
    pub tokens: Mutex<HashMap<String, u64>>,
    pub data: Mutex<Data>,
    /// What the statistics endpoints are computed from.
    pub stats: Mutex<Store>,
    pub counters: Mutex<Counters>,
    pub faults: Faults,
    token_seq: AtomicU64,
}

impl State {
    pub fn new(
        clients: HashMap<String, String>,
        access_keys: HashSet<String>,
        ttl: u64,
        quiet: bool,
    ) -> State {
        State {
            clients,
            access_keys,
            quiet,
            token_ttl_s: AtomicU64::new(ttl),
            record: AtomicBool::new(true),
            tokens: Mutex::new(HashMap::new()),
            data: Mutex::new(Data::default()),
            stats: Mutex::new(Store::default()),
            counters: Mutex::new(Counters::default()),
            faults: Faults::default(),
            token_seq: AtomicU64::new(0),
        }
    }

    pub fn count_connection(&self) {
        lock(&self.counters).connections += 1;
    }

    /// Records one finished /api/v1 request. `status` None = closed without answer.
    pub fn count_api(
        &self,
        path: &str,
        status: Option<u16>,
        accepted: Option<(Kind, u64)>,
        faulted: bool,
    ) {
        let mut c = lock(&self.counters);
        c.requests += 1;
        if path == "/api/v1/token" {
            c.token_requests += 1;
        }
        match c.by_path.get_mut(path) {
            Some(n) => *n += 1,
            None => {
                c.by_path.insert(path.to_string(), 1);
            }
        }
        match status {
            Some(s) => {
                *c.by_status.entry(s).or_insert(0) += 1;
                if s >= 400 {
                    c.rejected_requests += 1;
                }
            }
            None => {
                c.rejected_requests += 1;
                c.closed_by_fault += 1;
            }
        }
        if faulted {
            c.faults_injected += 1;
        }
        if let Some((k, n)) = accepted {
            c.items[k.index()] += n;
        }
    }

    /// A new random opaque token with its expiry (Unix ms).
    pub fn issue_token(&self) -> (String, u64) {
        let mut bytes = [0u8; 24];
        let ok = File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut bytes))
            .is_ok();
        if !ok {
            let mut x = now_ms()
                ^ (self.token_seq.fetch_add(1, Ordering::Relaxed) << 40)
                ^ std::process::id() as u64;
            for chunk in bytes.chunks_mut(8) {
                let v = splitmix64(&mut x);
                chunk.copy_from_slice(&v.to_le_bytes()[..chunk.len()]);
            }
        }
        let mut token = String::with_capacity(51);
        token.push_str("st_");
        for b in bytes {
            token.push_str(&format!("{:02x}", b));
        }
        let ttl = self.token_ttl_s.load(Ordering::Relaxed);
        let now = now_ms();
        let expiry = now.saturating_add(ttl.saturating_mul(1000));
        let mut tokens = lock(&self.tokens);
        if tokens.len() >= 100_000 {
            tokens.retain(|_, &mut e| e > now);
        }
        tokens.insert(token.clone(), expiry);
        (token, expiry)
    }

    /// Checks a bearer credential.
    pub fn authenticate(&self, bearer: &str) -> Option<Auth> {
        if let Some(&exp) = lock(&self.tokens).get(bearer) {
            if exp > now_ms() {
                return Some(Auth::Token);
            }
        }
        if self.access_keys.contains(bearer) {
            return Some(Auth::AccessKey);
        }
        None
    }

    pub fn expire_tokens(&self) -> usize {
        let mut t = lock(&self.tokens);
        for e in t.values_mut() {
            *e = 0;
        }
        t.len()
    }

    pub fn reset(&self) {
        lock(&self.data).items = Vec::new();
        lock(&self.stats).clear();
        *lock(&self.counters) = Counters::default();
        self.faults.clear();
    }
}

pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
