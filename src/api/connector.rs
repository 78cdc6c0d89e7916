//! A lean plain-TCP transport for ureq: a request goes out in one write, socket timeouts are
//! set only when they change, and the pool's "is the connection still open" check is one
//! non-blocking peek instead of three system calls. TLS (rustls) and proxies are chained
//! around it exactly as in ureq's default connector.
//!
//! Per request on a kept-alive connection: one `sendto` (headers and body together), one
//! `recvfrom` for the answer, and one `recvfrom(MSG_PEEK|MSG_DONTWAIT)` when the pool hands
//! the connection out after more than 50 ms without an answer on it (none when it takes it
//! back right after the answer was read, or hands it out again sooner). ureq's
//! own TCP transport makes about 12: two writes, three timeout `setsockopt`s, and two probes
//! of three calls each.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, ShutdownHandle,
    Transport,
};

/// Output is written when the response is awaited, or once this much is pending.
const MAX_PENDING: usize = 64 * 1024;

/// A socket timeout already set is kept while the one asked for is within this much above
/// it (the remaining time of a request shrinks by microseconds between calls: a request may
/// time out up to this much early) or below it (up to this much late).
/// A connection whose last answer was read this recently is handed out without a probe.
const FRESH: Duration = Duration::from_millis(50);

const TIMEOUT_EARLY: Duration = Duration::from_millis(20);
const TIMEOUT_LATE: Duration = Duration::from_millis(2);

/// Opens plain TCP connections (when no proxy connector has opened one already).
#[derive(Debug, Default)]
pub(crate) struct LeanTcpConnector;

impl<In: Transport> Connector<In> for LeanTcpConnector {
    type Out = Either<In, LeanTcp>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        if chained.is_some() {
            // A proxy connector (CONNECT or SOCKS) opened the connection already.
            return Ok(chained.map(Either::A));
        }
        let stream = connect_any(&details.addrs, details.timeout)?;
        if details.config.no_delay() {
            stream.set_nodelay(true)?;
        }
        let stream = Arc::new(stream);
        // Agent::shutdown (pirsch_free at its deadline) shuts this socket down while in use.
        (details.register_shutdown)(Arc::downgrade(&stream) as Weak<dyn ShutdownHandle>)?;
        Ok(Some(Either::B(LeanTcp {
            stream,
            buffers: LazyBuffers::new(
                details.config.input_buffer_size(),
                details.config.output_buffer_size(),
            ),
            pending: Vec::new(),
            read_timeout: None,
            write_timeout: None,
            just_read: false,
            read_at: None,
        })))
    }
}

/// Tries each resolved address in turn, the first with half the time left, the next with
/// half of the rest, and so on (at least 10 ms each).
fn connect_any(addrs: &[SocketAddr], timeout: NextTimeout) -> Result<TcpStream, ureq::Error> {
    let started = Instant::now();
    let total = timeout.not_zero().map(|t| *t);
    let mut last = None;
    for (i, addr) in addrs.iter().enumerate() {
        let result = match total {
            None => TcpStream::connect(addr),
            Some(total) => {
                let left = total.saturating_sub(started.elapsed());
                if left.is_zero() {
                    return Err(ureq::Error::Timeout(timeout.reason));
                }
                let share = if i + 1 == addrs.len() { left } else { left / 2 };
                TcpStream::connect_timeout(addr, share.max(Duration::from_millis(10)))
            }
        };
        match result {
            Ok(s) => return Ok(s),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                last = Some(ureq::Error::Timeout(ureq::Timeout::Connect))
            }
            Err(e) => last = Some(ureq::Error::Io(e)),
        }
    }
    Err(last.unwrap_or_else(|| {
        ureq::Error::Io(io::Error::new(
            io::ErrorKind::ConnectionRefused,
            "no address to connect to",
        ))
    }))
}

pub(crate) struct LeanTcp {
    stream: Arc<TcpStream>,
    buffers: LazyBuffers,
    /// Request bytes ureq has handed over but that are not written yet.
    pending: Vec<u8>,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    /// A read just succeeded and nothing was sent since: the pool's check when the
    /// connection goes back (right after its answer was read) needs no system call; the
    /// check when it is taken out again does one.
    just_read: bool,
    /// When an answer was last read on this connection.
    read_at: Option<Instant>,
}

impl std::fmt::Debug for LeanTcp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeanTcp")
            .field("peer", &self.stream.peer_addr().ok())
            .finish()
    }
}

/// The time left, or a timeout error when none is.
fn left(timeout: NextTimeout) -> Result<Option<Duration>, ureq::Error> {
    if timeout.after.is_zero() {
        return Err(ureq::Error::Timeout(timeout.reason));
    }
    Ok(timeout.not_zero().map(|t| *t))
}

/// Whether a socket timeout must be set again for `want` when `have` is set.
fn needs_update(have: Option<Duration>, want: Option<Duration>) -> bool {
    match (have, want) {
        (Some(h), Some(w)) => w + TIMEOUT_LATE < h || w > h + TIMEOUT_EARLY,
        (h, w) => h != w,
    }
}

fn timed_out(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

impl LeanTcp {
    fn write_pending(&mut self, timeout: NextTimeout) -> Result<(), ureq::Error> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let timeout = timeout.for_write();
        let want = left(timeout)?;
        if needs_update(self.write_timeout, want) {
            self.stream.set_write_timeout(want)?;
            self.write_timeout = want;
        }
        let result = (&*self.stream).write_all(&self.pending);
        self.pending.clear();
        match result {
            Ok(()) => Ok(()),
            Err(e) if timed_out(&e) => Err(ureq::Error::Timeout(timeout.reason)),
            Err(e) => Err(e.into()),
        }
    }
}

impl Transport for LeanTcp {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        left(timeout.for_write())?;
        self.just_read = false;
        self.pending
            .extend_from_slice(&self.buffers.output()[..amount]);
        if self.pending.len() >= MAX_PENDING {
            self.write_pending(timeout)?;
        }
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        // The request (headers and body) goes out in one write, now that it is complete.
        self.write_pending(timeout)?;
        let timeout = timeout.for_read();
        let want = left(timeout)?;
        if needs_update(self.read_timeout, want) {
            self.stream.set_read_timeout(want)?;
            self.read_timeout = want;
        }
        let input = self.buffers.input_append_buf();
        let n = loop {
            match (&*self.stream).read(input) {
                // A signal (SO_RCVTIMEO reads are not restarted): read again; the timeout
                // starts over, which a signal storm could stretch, as with ureq's own.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if timed_out(&e) => return Err(ureq::Error::Timeout(timeout.reason)),
                Err(e) => return Err(e.into()),
                Ok(n) => break n,
            }
        };
        self.buffers.input_appended(n);
        self.just_read = n > 0;
        if n > 0 {
            self.read_at = Some(Instant::now());
        }
        Ok(n > 0)
    }

    fn is_open(&mut self) -> bool {
        if !self.pending.is_empty() {
            return false;
        }
        if std::mem::take(&mut self.just_read) {
            return true;
        }
        // Taken out again within FRESH of its last answer: no server closes a kept-alive
        // connection that soon without saying so in that answer (which ureq heeds), and a
        // close racing this check is as possible with a peek as without (a request that
        // finds the connection gone is tried again by the caller's retry rules).
        if self.read_at.is_some_and(|t| t.elapsed() < FRESH) {
            return true;
        }
        // One non-blocking peek: "would block" is the healthy answer; data the server sent
        // unasked, an end of stream or an error mean the connection is not reusable.
        let mut byte = 0u8;
        // SAFETY: a valid socket and a one-byte buffer; MSG_PEEK leaves the data queued.
        let n = unsafe {
            libc::recv(
                self.stream.as_raw_fd(),
                (&mut byte as *mut u8).cast(),
                1,
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_is_set_again_only_when_it_changed() {
        let s = |ms| Some(Duration::from_millis(ms));
        assert!(needs_update(None, s(5000)));
        assert!(!needs_update(s(5000), s(5000)));
        assert!(
            !needs_update(s(5000), s(4999)),
            "1 ms less: kept (1 ms late at most)"
        );
        assert!(needs_update(s(5000), s(4990)), "10 ms less: set");
        assert!(
            !needs_update(s(4990), s(5000)),
            "10 ms more: kept (10 ms early)"
        );
        assert!(needs_update(s(4000), s(5000)));
        assert!(needs_update(s(5000), None));
    }
}
