//! The durable spool (`spool_dir`): items that cannot be delivered before the process ends,
//! or that find the queue full, are written to files; any later client with the same API
//! target and credentials, in this process or another, claims those files and delivers them.
//!
//! Files: `<target>.<pid>.<start ms>.<n>.spool` in `spool_dir`, mode 0600, where `<target>`
//! is a hash of the base URL and the credentials (no secret is in a name or a file). A writer
//! holds an exclusive `flock` on each of its files for as long as it may still write to
//! them; a claimer takes the same lock (never waiting), so a file is read by one process at
//! a time, and a writer's lock goes with its process (even after kill -9). Claimers mark
//! what they delivered with ack records in the file itself, so a claimer that dies half-way
//! leaves the rest to the next one; a file with nothing left is removed.
//!
//! Problems (a full disk, a read-only directory, a damaged or foreign file) are counted in
//! `spool_errors`, logged once per kind, and never block or crash the caller.

pub(crate) mod format;

use crate::item::Kind;
use crate::log::{Level, Log};
use crate::log_at;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub(crate) use crate::config::SpoolSync;

/// A file grows to this size before the writer opens the next.
const SEGMENT_BYTES: u64 = 4 << 20;

/// One of this writer's files.
struct Segment {
    no: u32,
    file: File,
    path: PathBuf,
    size: u64,
    /// Items written and not yet acked: at 0 a full segment is removed.
    unacked: u64,
}

struct Writer {
    current: Option<Segment>,
    /// Full segments with items not yet acked.
    older: Vec<Segment>,
    next_no: u32,
    /// The bytes of this target's spool files (from the last scan, plus what was written).
    disk_bytes: u64,
    /// The process these files were opened in (a child after fork() opens its own).
    pid: u32,
}

/// Kinds of problems, each logged once.
#[derive(Clone, Copy)]
enum Problem {
    Write = 0,
    Full = 1,
    Damaged = 2,
    Foreign = 3,
    Newer = 4,
    Read = 5,
}

/// The spool of one client in one process.
pub(crate) struct Spool {
    dir: PathBuf,
    /// The file name prefix of this API target and credentials.
    target: String,
    sync: SpoolSync,
    max_bytes: u64,
    writer: Mutex<Writer>,
    next_id: AtomicU64,
    errors: AtomicU64,
    logged: [AtomicBool; 6],
    /// Messages for the log, emitted by the sender thread (`emit_log`): a write on the
    /// enqueue path must never call the user's logger.
    unlogged: Mutex<Vec<String>>,
    /// Files found unreadable (foreign, newer, unreadable): counted once, then passed over.
    skipped: Mutex<std::collections::HashSet<PathBuf>>,
    /// The descriptors of the files this spool holds locked (segments and a claim), readable
    /// without a lock: a child after fork() closes its copies (`close_inherited`), so that
    /// the lock stays with the parent alone and goes when the parent goes.
    fds: [std::sync::atomic::AtomicI32; MAX_FDS],
    log: Log,
}

/// Files one spool holds at once (segments being acked, the current one, a claim); more are
/// still handled, only not closed in a child.
const MAX_FDS: usize = 16;

/// A stable name for an API target and its credentials: FNV-1a 64 (no secret can be read
/// back from it; it only keeps apart the files of different domains).
pub(crate) fn target_name(base_url: &str, client_id: &str, secret: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in base_url
        .bytes()
        .chain([0])
        .chain(client_id.bytes())
        .chain([0])
        .chain(secret.bytes())
    {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("pirsch-{h:016x}")
}

/// Milliseconds since the epoch.
pub(crate) fn wall_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// One item to write.
pub(crate) struct ToWrite<'a> {
    pub kind: Kind,
    pub id: u64,
    pub wall_ms: u64,
    pub json: &'a [u8],
}

fn lock_exclusive_now(file: &File) -> bool {
    // SAFETY: flock on a descriptor this process owns; never blocks (LOCK_NB).
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

impl Spool {
    pub fn new(dir: &Path, target: String, sync: SpoolSync, max_bytes: u64, log: Log) -> Spool {
        let spool = Spool {
            dir: dir.to_path_buf(),
            target,
            sync,
            max_bytes,
            writer: Mutex::new(Writer {
                current: None,
                older: Vec::new(),
                next_no: 0,
                disk_bytes: 0,
                pid: std::process::id(),
            }),
            next_id: AtomicU64::new(1),
            errors: AtomicU64::new(0),
            logged: Default::default(),
            unlogged: Mutex::new(Vec::new()),
            skipped: Mutex::new(std::collections::HashSet::new()),
            fds: std::array::from_fn(|_| std::sync::atomic::AtomicI32::new(-1)),
            log,
        };
        spool.rescan_size();
        spool
    }

    pub fn sync(&self) -> SpoolSync {
        self.sync
    }

    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    pub fn new_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn problem(&self, kind: Problem, message: impl FnOnce() -> String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if !self.logged[kind as usize].swap(true, Ordering::Relaxed) {
            let m = format!("{} (spool_errors counts each; logged once)", message());
            self.unlogged
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(m);
        }
    }

    /// Logs what the spool has to say (called by the sender thread, holding no lock).
    pub fn emit_log(&self) {
        let msgs = std::mem::take(&mut *self.unlogged.lock().unwrap_or_else(|p| p.into_inner()));
        for m in msgs {
            log_at!(self.log, Level::Warn, "{m}");
        }
    }

    fn hold(&self, file: &File) {
        let fd = file.as_raw_fd();
        for slot in &self.fds {
            if slot
                .compare_exchange(-1, fd, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }

    fn unhold(&self, file: &File) {
        let fd = file.as_raw_fd();
        for slot in &self.fds {
            if slot
                .compare_exchange(fd, -1, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }

    /// In a child after fork(), on the spool inherited from the parent: closes this
    /// process's copies of the parent's locked files (no lock taken: the parent's threads
    /// may have held one at the fork). The inherited spool is never used again.
    pub fn close_inherited(&self) {
        for slot in &self.fds {
            let fd = slot.swap(-1, Ordering::AcqRel);
            if fd >= 0 {
                // SAFETY: `fd` was opened by the parent's spool and is inherited; nothing in
                // this process uses it (the inherited state is never touched again).
                unsafe { libc::close(fd) };
            }
        }
    }

    /// This target's spool files, oldest first (by start time, then process, then number).
    fn files(&self) -> Vec<(PathBuf, u64)> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let prefix = format!("{}.", self.target);
        let mut out: Vec<(Vec<u64>, PathBuf, u64)> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let rest = name.strip_prefix(&prefix)?.strip_suffix(".spool")?;
                let key: Vec<u64> = rest.split('.').filter_map(|p| p.parse().ok()).collect();
                let (pid, start, no) = (*key.first()?, *key.get(1)?, *key.get(2)?);
                let size = e.metadata().ok()?.len();
                Some((vec![start, pid, no], e.path(), size))
            })
            .collect();
        out.sort();
        out.into_iter().map(|(_, p, s)| (p, s)).collect()
    }

    fn rescan_size(&self) {
        let total: u64 = self.files().iter().map(|(_, s)| s).sum();
        self.lock().disk_bytes = total;
    }

    /// Opens the next segment: written under a temporary name, locked, then renamed, so
    /// that no claimer ever sees it unlocked.
    fn open_segment(&self, w: &mut Writer) -> std::io::Result<Segment> {
        let no = w.next_no;
        w.next_no += 1;
        let start = wall_ms(SystemTime::now());
        let name = format!("{}.{}.{}.{}.spool", self.target, w.pid, start, no);
        let path = self.dir.join(&name);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC)
            .open(&tmp)?;
        if !lock_exclusive_now(&file) {
            let _ = std::fs::remove_file(&tmp);
            return Err(std::io::Error::other("could not lock a new spool file"));
        }
        file.write_all(&format::header())?;
        std::fs::rename(&tmp, &path)?;
        self.hold(&file);
        Ok(Segment {
            no,
            file,
            path,
            size: format::HEADER_BYTES as u64,
            unacked: 0,
        })
    }

    /// Writes items; returns the segment they are in, or None when they could not be
    /// written (the spool is full or broken: counted and logged; the caller drops them).
    pub fn write(&self, items: &[ToWrite<'_>]) -> Option<u32> {
        if items.is_empty() {
            return None;
        }
        let mut buf = Vec::with_capacity(items.iter().map(|i| i.json.len() + 34).sum());
        for it in items {
            format::push_item(&mut buf, it.kind, it.id, it.wall_ms, it.json);
        }
        let mut w = self.lock();
        if w.pid != std::process::id() {
            // A child after fork(): the parent's files are the parent's.
            // (Closes this process's copies of the parent's files; the parent keeps its lock.)
            *w = Writer {
                current: None,
                older: Vec::new(),
                next_no: 0,
                disk_bytes: w.disk_bytes,
                pid: std::process::id(),
            };
        }
        if w.disk_bytes + buf.len() as u64 > self.max_bytes {
            let (have, max) = (w.disk_bytes, self.max_bytes);
            drop(w);
            self.problem(Problem::Full, || {
                format!("the spool is full ({have} of spool_max_bytes={max} bytes): items that cannot be sent are dropped as before; raise spool_max_bytes or find out why the API is unreachable")
            });
            return None;
        }
        let rotate = w.current.as_ref().is_some_and(|s| s.size >= SEGMENT_BYTES);
        if rotate {
            let full = w.current.take().expect("a current segment");
            if full.unacked > 0 {
                w.older.push(full);
            } else {
                self.unhold(&full.file);
                let _ = std::fs::remove_file(&full.path);
                w.disk_bytes = w.disk_bytes.saturating_sub(full.size);
            }
        }
        if w.current.is_none() {
            match self.open_segment(&mut w) {
                Ok(s) => {
                    w.disk_bytes += s.size;
                    w.current = Some(s);
                }
                Err(e) => {
                    let dir = self.dir.display().to_string();
                    drop(w);
                    self.problem(Problem::Write, || {
                        format!("cannot write to spool_dir {dir:?}: {e}; items that cannot be sent are dropped as before")
                    });
                    return None;
                }
            }
        }
        let seg = w.current.as_mut().expect("a current segment");
        match seg.file.write_all(&buf) {
            Ok(()) => {
                seg.size += buf.len() as u64;
                seg.unacked += items.len() as u64;
                let no = seg.no;
                w.disk_bytes += buf.len() as u64;
                Some(no)
            }
            Err(e) => {
                // Nothing of a failed write is kept: cut back to the last whole write, so that
                // items counted as dropped are never delivered later (and a full disk gets
                // its space back). Were the cut to fail, readers skip a torn record anyway.
                let _ = seg.file.set_len(seg.size);
                let path = seg.path.display().to_string();
                drop(w);
                self.problem(Problem::Write, || {
                    format!("writing the spool file {path:?} failed: {e}; items that cannot be sent are dropped as before")
                });
                None
            }
        }
    }

    /// Marks items of segment `no` done (delivered or given up). A full segment with
    /// nothing left is removed.
    pub fn ack(&self, no: u32, ids: &[u64]) {
        if ids.is_empty() {
            return;
        }
        let mut buf = Vec::new();
        format::push_ack(&mut buf, ids);
        let mut w = self.lock();
        if w.pid != std::process::id() {
            return;
        }
        let w = &mut *w;
        let in_current = w.current.as_ref().is_some_and(|s| s.no == no);
        let seg = if in_current {
            w.current.as_mut()
        } else {
            w.older.iter_mut().find(|s| s.no == no)
        };
        let Some(seg) = seg else { return };
        seg.unacked = seg.unacked.saturating_sub(ids.len() as u64);
        if seg.unacked == 0 && !in_current {
            self.unhold(&seg.file);
            let size = seg.size;
            let path = seg.path.clone();
            w.older.retain(|s| s.no != no);
            let _ = std::fs::remove_file(&path);
            w.disk_bytes = w.disk_bytes.saturating_sub(size);
            return;
        }
        if seg.file.write_all(&buf).is_ok() {
            seg.size += buf.len() as u64;
            w.disk_bytes += buf.len() as u64;
        }
    }

    /// At the end of the client in this process: files with nothing left are removed, the
    /// others released (unlocked) for the next claimer.
    pub fn close(&self) {
        let mut w = self.lock();
        if w.pid != std::process::id() {
            return;
        }
        let segments: Vec<Segment> = w
            .current
            .take()
            .into_iter()
            .chain(w.older.drain(..))
            .collect();
        for s in segments {
            self.unhold(&s.file);
            if s.unacked == 0 {
                let _ = std::fs::remove_file(&s.path);
                w.disk_bytes = w.disk_bytes.saturating_sub(s.size);
            }
        }
    }

    /// Claims the oldest spool file of this target that no other process holds and that
    /// has items left; files with nothing left are removed on the way. `own` are files this
    /// client already holds (never claimed by itself).
    pub fn claim(&self) -> Option<Claim> {
        let own: Vec<PathBuf> = {
            let w = self.lock();
            w.current
                .iter()
                .chain(w.older.iter())
                .map(|s| s.path.clone())
                .collect()
        };
        for (path, _) in self.files() {
            if own.contains(&path) || self.is_skipped(&path) {
                continue;
            }
            let Ok(mut file) = OpenOptions::new()
                .read(true)
                .append(true)
                .custom_flags(libc::O_CLOEXEC)
                .open(&path)
            else {
                continue;
            };
            if !lock_exclusive_now(&file) {
                continue; // its writer is alive, or another process is delivering it
            }
            // Removed by the claimer before us while we waited for nothing: skip.
            if std::fs::metadata(&path).is_err() {
                continue;
            }
            let mut bytes = Vec::new();
            if let Err(e) = file.read_to_end(&mut bytes) {
                let p = path.display().to_string();
                self.problem(Problem::Read, || {
                    format!("reading the spool file {p:?} failed: {e}")
                });
                continue;
            }
            let parsed = match format::parse(&bytes) {
                Ok(p) => p,
                Err(format::Unreadable::Foreign) => {
                    self.skip(&path);
                    let p = path.display().to_string();
                    self.problem(Problem::Foreign, || {
                        format!(
                            "{p:?} in spool_dir is not a libpirsch spool file; it is left alone"
                        )
                    });
                    continue;
                }
                Err(format::Unreadable::NewerVersion(v)) => {
                    self.skip(&path);
                    let p = path.display().to_string();
                    self.problem(Problem::Newer, || format!("{p:?} was written by a newer libpirsch (format {v}); it is left for that version"));
                    continue;
                }
            };
            if parsed.damaged > 0 {
                let p = path.display().to_string();
                let n = parsed.damaged;
                for _ in 1..n {
                    self.errors.fetch_add(1, Ordering::Relaxed);
                }
                self.problem(Problem::Damaged, || format!("the spool file {p:?} is damaged ({n} bad stretches skipped); its good records are still delivered"));
            }
            if parsed.items.is_empty() {
                let _ = std::fs::remove_file(&path);
                let mut w = self.lock();
                w.disk_bytes = w.disk_bytes.saturating_sub(bytes.len() as u64);
                continue;
            }
            self.hold(&file);
            return Some(Claim {
                file,
                path,
                size: bytes.len() as u64,
                left: parsed.items.len(),
                items: parsed.items,
            });
        }
        None
    }

    fn is_skipped(&self, path: &Path) -> bool {
        self.skipped
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(path)
    }

    fn skip(&self, path: &Path) {
        self.skipped
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(path.to_path_buf());
    }

    /// Ends a claim: a file with nothing left is removed; otherwise it is released.
    pub fn release(&self, claim: Claim) {
        self.unhold(&claim.file);
        if claim.left == 0 {
            let _ = std::fs::remove_file(&claim.path);
            let mut w = self.lock();
            w.disk_bytes = w.disk_bytes.saturating_sub(claim.size);
        }
    }

    /// How long a claim may go unrenewed before another scan (a claimer checks for new
    /// files this often while idle).
    pub const SCAN_EVERY: Duration = Duration::from_secs(5);
}

/// A spool file this process holds for delivery.
pub(crate) struct Claim {
    file: File,
    path: PathBuf,
    size: u64,
    /// Items not yet marked done.
    left: usize,
    /// The file's items not acked, in order (taken by the sender as it sends them).
    pub items: Vec<format::Item>,
}

impl Claim {
    /// Marks items done (delivered, refused or expired) in the file.
    pub fn ack(&mut self, ids: &[u64]) {
        let mut buf = Vec::new();
        format::push_ack(&mut buf, ids);
        if self.file.write_all(&buf).is_ok() {
            self.size += buf.len() as u64;
        }
        self.left = self.left.saturating_sub(ids.len());
    }
}
