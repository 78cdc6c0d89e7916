//! Log messages go to the user's callback, or to stderr when none is set and `PIRSCH_LOG`
//! is in the environment; otherwise nowhere. A library never prints unless asked to.

use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(i32)]
pub enum Level {
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        match s.trim().to_ascii_lowercase().as_str() {
            "error" => Some(Level::Error),
            "warn" | "warning" => Some(Level::Warn),
            "info" => Some(Level::Info),
            "debug" => Some(Level::Debug),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }
}

/// A log sink. Called from any thread, including the background sender.
pub type Logger = Arc<dyn Fn(Level, &str) + Send + Sync>;

/// What a client logs through: its level and its sink.
#[derive(Clone)]
pub struct Log {
    level: Level,
    sink: Option<Logger>,
    gate: Arc<Gate>,
}

/// Closes the sink for good: after `close`, no call of the user's callback is running or
/// will start, even from a sender thread that outlives pirsch_free.
#[derive(Default)]
struct Gate {
    closed: std::sync::atomic::AtomicBool,
    active: std::sync::atomic::AtomicUsize,
}

impl Log {
    pub fn new(level: Level, logger: Option<Logger>) -> Log {
        let sink = logger.or_else(|| {
            std::env::var_os("PIRSCH_LOG").map(|_| {
                Arc::new(|level: Level, msg: &str| eprintln!("libpirsch {}: {}", level.name(), msg))
                    as Logger
            })
        });
        Log {
            level,
            sink,
            gate: Arc::default(),
        }
    }

    /// Stops all logging and waits (up to 2 s) for a callback in progress to return. The
    /// bound keeps pirsch_free from hanging on a callback that waits for its own caller.
    pub fn close(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        self.gate.closed.store(true, SeqCst);
        let give_up = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while self.gate.active.load(SeqCst) > 0 && std::time::Instant::now() < give_up {
            std::thread::sleep(std::time::Duration::from_micros(100));
        }
    }

    /// In a child after fork(): a callback the parent's threads were in never returns here.
    pub fn forget_callbacks_in_progress(&self) {
        self.gate
            .active
            .store(0, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn enabled(&self, level: Level) -> bool {
        self.sink.is_some() && level <= self.level
    }

    pub fn log(&self, level: Level, msg: &str) {
        use std::sync::atomic::Ordering::SeqCst;
        if let Some(sink) = &self.sink {
            if level <= self.level {
                self.gate.active.fetch_add(1, SeqCst);
                if !self.gate.closed.load(SeqCst) {
                    sink(level, &crate::error::presentable(msg));
                }
                self.gate.active.fetch_sub(1, SeqCst);
            }
        }
    }
}

#[macro_export]
#[doc(hidden)]
macro_rules! log_at {
    ($log:expr, $level:expr, $($arg:tt)*) => {{
        let log: &$crate::log::Log = &$log;
        if log.enabled($level) {
            log.log($level, &format!($($arg)*));
        }
    }};
}

/// At most one message a second per reason, each with the running count, so that a flood of
/// drops or failures cannot flood the log.
#[derive(Default)]
pub struct RateLog {
    last: std::sync::Mutex<Vec<(&'static str, std::time::Instant)>>,
}

impl RateLog {
    pub fn note(
        &self,
        log: &Log,
        reason: &'static str,
        level: Level,
        message: impl FnOnce() -> String,
    ) {
        if !log.enabled(level) {
            return;
        }
        let now = std::time::Instant::now();
        {
            let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
            match last.iter_mut().find(|(r, _)| *r == reason) {
                Some((_, at)) if now.duration_since(*at) < std::time::Duration::from_secs(1) => {
                    return
                }
                Some((_, at)) => *at = now,
                None => last.push((reason, now)),
            }
        }
        log.log(level, &message());
    }
}
