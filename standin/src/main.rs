//! pirsch-standin: a local stand-in for the Pirsch Analytics API v1, used by
//! libpirsch's tests, demo and benchmarks. Hand-written HTTP/1.1 on std::net,
//! one thread per connection.

mod api;
mod control;
mod faults;
mod http;
mod items;
mod state;
mod stats;
mod timeutil;
mod urlenc;

use std::collections::{HashMap, HashSet};
use std::io::{self, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use http::{ReadError, Request, Response};
use state::{lock, State};

/// Most connections served at once; further ones wait in the listen backlog.
const MAX_CONNECTIONS: usize = 512;
/// An idle keep-alive connection is closed after this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(600);

const USAGE: &str = "usage: pirsch-standin [--port N] [--port-file PATH] [--token-ttl SECONDS] \
[--client ID:SECRET]... [--access-key KEY]... [--quiet]";

struct Cli {
    port: u16,
    port_file: Option<PathBuf>,
    ttl: u64,
    clients: HashMap<String, String>,
    keys: HashSet<String>,
    quiet: bool,
}

fn die(msg: &str) -> ! {
    let _ = writeln!(io::stderr(), "pirsch-standin: {msg}\n{USAGE}");
    std::process::exit(2);
}

fn parse_cli() -> Cli {
    let mut cli = Cli {
        port: 0,
        port_file: None,
        ttl: 3600,
        clients: HashMap::from([("standin-client".to_string(), "standin-secret".to_string())]),
        keys: HashSet::from(["pa_standin_key".to_string()]),
        quiet: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let value = |args: &mut dyn Iterator<Item = String>| -> String {
            inline
                .clone()
                .or_else(|| args.next())
                .unwrap_or_else(|| die(&format!("{name} needs a value")))
        };
        match name.as_str() {
            "--port" => {
                cli.port = value(&mut args)
                    .parse()
                    .unwrap_or_else(|_| die("--port: not a port number"))
            }
            "--port-file" => cli.port_file = Some(PathBuf::from(value(&mut args))),
            "--token-ttl" => {
                cli.ttl = value(&mut args)
                    .parse()
                    .unwrap_or_else(|_| die("--token-ttl: not a number of seconds"))
            }
            "--client" => {
                let v = value(&mut args);
                match v.split_once(':') {
                    Some((id, secret)) if !id.is_empty() => {
                        cli.clients.insert(id.to_string(), secret.to_string());
                    }
                    _ => die("--client: expected ID:SECRET"),
                }
            }
            "--access-key" => {
                let v = value(&mut args);
                if v.is_empty() {
                    die("--access-key: empty key");
                }
                cli.keys.insert(v);
            }
            "--quiet" | "-q" => cli.quiet = true,
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            _ => die(&format!("unknown argument {arg:?}")),
        }
    }
    cli
}

fn write_port_file(path: &PathBuf, port: u16) -> io::Result<()> {
    let mut tmp = path.clone().into_os_string();
    tmp.push(format!(".tmp.{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, format!("{port}\n"))?;
    std::fs::rename(&tmp, path)
}

fn main() {
    let cli = parse_cli();
    let listener = TcpListener::bind(("127.0.0.1", cli.port))
        .unwrap_or_else(|e| die(&format!("cannot listen on 127.0.0.1:{}: {e}", cli.port)));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(cli.port);
    {
        let mut out = io::stdout().lock();
        let _ = writeln!(out, "pirsch-standin listening on http://127.0.0.1:{port}");
        let _ = out.flush();
    }
    if let Some(pf) = &cli.port_file {
        if let Err(e) = write_port_file(pf, port) {
            let _ = writeln!(
                io::stderr(),
                "pirsch-standin: cannot write port file {}: {e}",
                pf.display()
            );
            std::process::exit(1);
        }
    }
    let state = Arc::new(State::new(cli.clients, cli.keys, cli.ttl, cli.quiet));
    let active = Arc::new((Mutex::new(0usize), Condvar::new()));
    loop {
        {
            let (m, cv) = &*active;
            let mut n = lock(m);
            while *n >= MAX_CONNECTIONS {
                n = cv.wait(n).unwrap_or_else(|e| e.into_inner());
            }
            *n += 1;
        }
        let stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(_) => {
                release(&active);
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        state.count_connection();
        let st = Arc::clone(&state);
        let act = Arc::clone(&active);
        let spawned = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || {
                let _guard = Slot(act);
                serve(&st, stream);
            });
        if spawned.is_err() {
            release(&active);
        }
    }
}

fn release(active: &(Mutex<usize>, Condvar)) {
    let (m, cv) = active;
    *lock(m) -= 1;
    cv.notify_one();
}

/// Frees a connection slot when the connection's thread ends (even by panic).
struct Slot(Arc<(Mutex<usize>, Condvar)>);

impl Drop for Slot {
    fn drop(&mut self) {
        release(&self.0);
    }
}

fn log(state: &State, method: &str, path: &str, status: Option<u16>) {
    if state.quiet {
        return;
    }
    let line = match status {
        Some(s) => format!("{method} {path} {s}\n"),
        None => format!("{method} {path} closed\n"),
    };
    let _ = io::stderr().write_all(line.as_bytes());
}

fn serve(state: &State, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(IDLE_TIMEOUT));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(60)));
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::with_capacity(64 * 1024, stream);
    let mut head = Vec::with_capacity(1024);
    loop {
        let req = match http::read_request(&mut reader, &mut writer, &mut head) {
            Ok(r) => r,
            Err((ReadError::Eof, _)) | Err((ReadError::Io, _)) => return,
            Err((ReadError::Bad(status, msg), req)) => {
                let resp = api::error(status, msg);
                let keep = match &req {
                    Some(r) => {
                        if r.path.starts_with("/api/v1/") || r.path == "/api/v1" {
                            state.count_api(&r.path, Some(status), None, false);
                        }
                        log(state, &r.method, &r.path, Some(status));
                        r.keep_alive
                    }
                    None => false,
                };
                let http10 = req.as_ref().is_some_and(|r| r.http10);
                if http::write_response(&mut writer, &resp, keep, http10).is_err() || !keep {
                    linger_close(&mut reader, &writer);
                    return;
                }
                continue;
            }
        };
        let resp = dispatch(state, &req);
        let resp = match resp {
            Some(r) => r,
            None => {
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
        };
        let keep = req.keep_alive && !resp.close;
        if http::write_response(&mut writer, &resp, keep, req.http10).is_err() {
            return;
        }
        if resp.exit_after {
            if !state.quiet {
                let _ = writeln!(io::stderr(), "pirsch-standin: shutdown requested");
            }
            std::process::exit(0);
        }
        if !keep {
            let _ = writer.shutdown(Shutdown::Write);
            return;
        }
    }
}

/// Closes after an error answer without losing it: stop writing, then read
/// and discard what the client still sends (briefly), so that unread data does
/// not make the kernel reset the connection before the client reads the answer.
fn linger_close(reader: &mut BufReader<TcpStream>, writer: &TcpStream) {
    use std::io::Read;
    let _ = writer.shutdown(Shutdown::Write);
    let _ = writer.set_read_timeout(Some(Duration::from_millis(500)));
    let mut buf = [0u8; 16 * 1024];
    let mut total = 0usize;
    while total < 4 * 1024 * 1024 {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
    }
}

/// Routes one request; None = close the connection without an answer.
fn dispatch(state: &State, req: &Request) -> Option<Response> {
    if req.path.starts_with("/_standin/") {
        let resp = control::handle(state, req);
        log(state, &req.method, &req.path, Some(resp.status));
        return Some(resp);
    }
    let out = api::handle(state, req);
    let status = out.resp.as_ref().map(|r| r.status);
    if req.path.starts_with("/api/v1/") || req.path == "/api/v1" {
        state.count_api(&req.path, status, out.accepted, out.faulted);
    }
    log(state, &req.method, &req.path, status);
    out.resp
}
