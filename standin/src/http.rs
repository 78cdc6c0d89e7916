//! Minimal HTTP/1.1 server side: request heads, Content-Length and chunked
//! request bodies, keep-alive, responses that always carry Content-Length.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;

/// Largest request head (request line + headers) accepted.
pub const MAX_HEAD: usize = 64 * 1024;
/// Largest request body accepted (1 MB); larger bodies get 413.
pub const MAX_BODY: u64 = 1024 * 1024;
/// A too-large Content-Length body up to this size is read and discarded so
/// the client reliably sees the 413; beyond it the connection is closed.
const MAX_DRAIN: u64 = 64 * 1024 * 1024;

pub struct Request {
    pub method: String,
    pub path: String,
    pub query: String,
    pub keep_alive: bool,
    pub http10: bool,
    pub authorization: Option<String>,
    content_length: Option<u64>,
    chunked: bool,
    expect_continue: bool,
    pub body: Vec<u8>,
}

pub struct Response {
    pub status: u16,
    /// JSON text, or empty.
    pub body: Vec<u8>,
    pub retry_after: Option<String>,
    pub allow: Option<&'static str>,
    pub close: bool,
    pub exit_after: bool,
}

impl Response {
    pub fn json(status: u16, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            body: body.into(),
            retry_after: None,
            allow: None,
            close: false,
            exit_after: false,
        }
    }
    pub fn empty(status: u16) -> Response {
        Response::json(status, Vec::new())
    }
}

pub enum ReadError {
    /// Clean end of the connection between requests.
    Eof,
    Io,
    /// Answer with this status and message, then close.
    Bad(u16, &'static str),
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

fn find_head_end(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\n' {
            if b.get(i + 1) == Some(&b'\n') {
                return Some(i + 2);
            }
            if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') {
                return Some(i + 3);
            }
        }
        i += 1;
    }
    None
}

/// Reads bytes up to and including the blank line that ends a request head.
fn read_head(r: &mut BufReader<TcpStream>, buf: &mut Vec<u8>) -> Result<(), ReadError> {
    buf.clear();
    loop {
        let avail = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => {
                return Err(if buf.is_empty() {
                    ReadError::Eof
                } else {
                    ReadError::Io
                })
            }
        };
        if avail.is_empty() {
            return Err(if buf.is_empty() {
                ReadError::Eof
            } else {
                ReadError::Io
            });
        }
        let n = avail.len();
        // Tolerate stray CRLFs between requests.
        if buf.is_empty() {
            let skip = avail
                .iter()
                .take_while(|&&c| c == b'\r' || c == b'\n')
                .count();
            if skip > 0 {
                r.consume(skip);
                continue;
            }
        }
        let start = buf.len().saturating_sub(2);
        buf.extend_from_slice(avail);
        if let Some(pos) = find_head_end(&buf[start..]) {
            let end = start + pos;
            let excess = buf.len() - end;
            r.consume(n - excess);
            buf.truncate(end);
            return Ok(());
        }
        r.consume(n);
        if buf.len() > MAX_HEAD {
            return Err(ReadError::Bad(431, "request head too large"));
        }
    }
}

fn parse_head(head: &[u8]) -> Result<Request, ReadError> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let line = lines.next().unwrap_or("");
    let mut parts = line.split(' ');
    let (method, target, version) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v), None) if !m.is_empty() && !t.is_empty() => (m, t, v),
        _ => return Err(ReadError::Bad(400, "malformed request line")),
    };
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => return Err(ReadError::Bad(400, "unsupported HTTP version")),
    };
    if !target.starts_with('/') {
        return Err(ReadError::Bad(
            400,
            "request target must be an absolute path",
        ));
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, q),
        None => (target, ""),
    };
    let path = path.split('#').next().unwrap_or(path);
    let mut req = Request {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        keep_alive: !http10,
        http10,
        authorization: None,
        content_length: None,
        chunked: false,
        expect_continue: false,
        body: Vec::new(),
    };
    let mut ka_token = false;
    let mut close_token = false;
    for l in lines {
        if l.is_empty() {
            continue;
        }
        if l.starts_with(' ') || l.starts_with('\t') {
            return Err(ReadError::Bad(400, "obsolete header line folding"));
        }
        let (name, value) = match l.split_once(':') {
            Some((n, v)) => (n.trim(), v.trim()),
            None => return Err(ReadError::Bad(400, "malformed header line")),
        };
        if name.eq_ignore_ascii_case("content-length") {
            let v: u64 = match value.parse() {
                Ok(v) if value.bytes().all(|c| c.is_ascii_digit()) => v,
                _ => return Err(ReadError::Bad(400, "invalid Content-Length")),
            };
            if req.content_length.is_some_and(|old| old != v) {
                return Err(ReadError::Bad(400, "conflicting Content-Length headers"));
            }
            req.content_length = Some(v);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            let last = value.rsplit(',').next().unwrap_or("").trim();
            if last.eq_ignore_ascii_case("chunked") {
                req.chunked = true;
            } else {
                return Err(ReadError::Bad(501, "unsupported Transfer-Encoding"));
            }
        } else if name.eq_ignore_ascii_case("connection") {
            for tok in value.split(',') {
                let tok = tok.trim();
                if tok.eq_ignore_ascii_case("close") {
                    close_token = true;
                } else if tok.eq_ignore_ascii_case("keep-alive") {
                    ka_token = true;
                }
            }
        } else if name.eq_ignore_ascii_case("authorization") {
            req.authorization = Some(value.to_string());
        } else if name.eq_ignore_ascii_case("expect") && value.eq_ignore_ascii_case("100-continue")
        {
            req.expect_continue = true;
        }
    }
    if close_token {
        req.keep_alive = false;
    } else if http10 && ka_token {
        req.keep_alive = true;
    }
    if req.chunked && req.content_length.is_some() {
        // RFC 9112: Transfer-Encoding wins; close afterwards to be safe.
        req.content_length = None;
        req.keep_alive = false;
    }
    Ok(req)
}

fn read_line_limited(r: &mut BufReader<TcpStream>, out: &mut Vec<u8>) -> Result<(), ReadError> {
    out.clear();
    let n = (&mut *r)
        .take(4096)
        .read_until(b'\n', out)
        .map_err(|_| ReadError::Io)?;
    if n == 0 || out.last() != Some(&b'\n') {
        return Err(if n >= 4096 {
            ReadError::Bad(400, "chunk line too long")
        } else {
            ReadError::Io
        });
    }
    Ok(())
}

fn read_chunked(r: &mut BufReader<TcpStream>, body: &mut Vec<u8>) -> Result<(), ReadError> {
    let mut line = Vec::new();
    loop {
        read_line_limited(r, &mut line)?;
        let s = String::from_utf8_lossy(&line);
        let size_str = s.trim_end().split(';').next().unwrap_or("").trim();
        let size = u64::from_str_radix(size_str, 16)
            .map_err(|_| ReadError::Bad(400, "invalid chunk size"))?;
        if size == 0 {
            // Trailer section up to the blank line.
            loop {
                read_line_limited(r, &mut line)?;
                if line == b"\r\n" || line == b"\n" {
                    return Ok(());
                }
            }
        }
        if body.len() as u64 + size > MAX_BODY {
            return Err(ReadError::Bad(413, "request body too large"));
        }
        let start = body.len();
        body.resize(start + size as usize, 0);
        r.read_exact(&mut body[start..])
            .map_err(|_| ReadError::Io)?;
        read_line_limited(r, &mut line)?;
        if line != b"\r\n" && line != b"\n" {
            return Err(ReadError::Bad(400, "malformed chunk"));
        }
    }
}

/// Reads the next request, head and body. `head_buf` is a reusable buffer.
/// On `Bad(413, ..)` with a Content-Length body that was drained, the request
/// (without body) is returned in the error slot so it can be answered and counted.
pub fn read_request(
    r: &mut BufReader<TcpStream>,
    w: &mut TcpStream,
    head_buf: &mut Vec<u8>,
) -> Result<Request, (ReadError, Option<Box<Request>>)> {
    read_head(r, head_buf).map_err(|e| (e, None))?;
    let mut req = parse_head(head_buf).map_err(|e| (e, None))?;
    let has_body = req.chunked || req.content_length.unwrap_or(0) > 0;
    if let Some(len) = req.content_length {
        if len > MAX_BODY {
            if req.expect_continue || len > MAX_DRAIN {
                req.keep_alive = false;
            } else {
                let copied = io::copy(&mut (&mut *r).take(len), &mut io::sink()).unwrap_or(0);
                if copied != len {
                    req.keep_alive = false;
                }
            }
            return Err((
                ReadError::Bad(413, "request body too large"),
                Some(Box::new(req)),
            ));
        }
    }
    if has_body && req.expect_continue && !req.http10 {
        w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .map_err(|_| (ReadError::Io, None))?;
    }
    if req.chunked {
        let mut body = Vec::new();
        match read_chunked(r, &mut body) {
            Ok(()) => req.body = body,
            Err(e) => {
                req.keep_alive = false;
                return Err((e, Some(Box::new(req))));
            }
        }
    } else if let Some(len) = req.content_length {
        let mut body = vec![0u8; len as usize];
        r.read_exact(&mut body).map_err(|_| (ReadError::Io, None))?;
        req.body = body;
    }
    Ok(req)
}

/// Writes one response; `keep_alive` is what the connection will do next.
pub fn write_response(
    w: &mut TcpStream,
    resp: &Response,
    keep_alive: bool,
    http10: bool,
) -> io::Result<()> {
    let mut out = Vec::with_capacity(160 + resp.body.len());
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(resp.status.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(reason(resp.status).as_bytes());
    out.extend_from_slice(b"\r\nServer: pirsch-standin\r\nContent-Length: ");
    out.extend_from_slice(resp.body.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    if !resp.body.is_empty() {
        out.extend_from_slice(b"Content-Type: application/json\r\n");
    }
    if let Some(ra) = &resp.retry_after {
        out.extend_from_slice(b"Retry-After: ");
        out.extend_from_slice(ra.replace(['\r', '\n'], " ").as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if let Some(allow) = resp.allow {
        out.extend_from_slice(b"Allow: ");
        out.extend_from_slice(allow.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !keep_alive {
        out.extend_from_slice(b"Connection: close\r\n");
    } else if http10 {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&resp.body);
    w.write_all(&out)?;
    w.flush()
}
