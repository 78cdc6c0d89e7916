//! TLS: a private CA (ca_file) and the system store (tls_roots) against a real HTTPS server
//! whose certificate only that CA vouches for. Verification is never turned off: without the
//! CA the same server is refused. (One test: the system store is read from SSL_CERT_FILE.)

mod common;
use common::*;
use pirsch::ffi::*;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl (apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, and a certificate for localhost/127.0.0.1 signed by it.
fn make_ca(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=libpirsch test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    std::fs::write(dir.join("ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n").unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
            "-out",
            "server.pem",
        ],
    );
}

const SERVER: &str = r#"
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(sys.argv[1], sys.argv[2])
s.socket = ctx.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
s.serve_forever()
"#;

struct Server(Child, u16);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn hit(base: &str, extra: &[(&str, &str)]) -> (pirsch_result, String) {
    let mut settings = vec![
        ("base_url", base),
        ("max_retries", "0"),
        ("timeout_ms", "3000"),
    ];
    settings.extend_from_slice(extra);
    let c = try_client("", ACCESS_KEY, &settings).unwrap_or_else(|| panic!("{}", last_error()));
    let rc = c.hit(&HitData::page("https://example.com/tls", "198.51.100.1"));
    (rc, last_error())
}

#[test]
fn a_private_ca_is_trusted_only_when_given_and_verification_stays_on() {
    let dir = std::env::temp_dir().join(format!("pirsch-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    make_ca(&dir);
    let mut child = Command::new("python3")
        .args([
            "-c",
            SERVER,
            dir.join("server.pem").to_str().unwrap(),
            dir.join("server.key").to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let server = Server(child, line.trim().parse().expect("the server's port"));
    let base = format!("https://localhost:{}", server.1);
    let ca = dir.join("ca.pem");
    let ca = ca.to_str().unwrap();

    // Mozilla's roots (the default) do not know this CA: refused, and the message says TLS.
    let (rc, msg) = hit(&base, &[]);
    assert_eq!(rc, PIRSCH_ERR_NETWORK);
    assert!(msg.contains("TLS"), "{msg}");
    // The CA as ca_file: trusted, in addition to the bundled roots or the system's.
    for roots in ["bundled", "both"] {
        let (rc, msg) = hit(&base, &[("ca_file", ca), ("tls_roots", roots)]);
        assert_eq!(rc, PIRSCH_OK, "tls_roots={roots}: {msg}");
    }
    // The system store, here SSL_CERT_FILE: trusted there, refused where the store lacks it.
    std::env::set_var("SSL_CERT_FILE", ca);
    let (rc, msg) = hit(&base, &[("tls_roots", "system")]);
    assert_eq!(rc, PIRSCH_OK, "{msg}");
    std::env::set_var("SSL_CERT_FILE", dir.join("server.key"));
    let refused = try_client("", ACCESS_KEY, &[("tls_roots", "system")]).is_none();
    assert!(
        refused && last_error().contains("trust store"),
        "{}",
        last_error()
    );
    std::env::remove_var("SSL_CERT_FILE");

    // Bad values say what is wrong; nothing turns verification off.
    for (k, v, want) in [
        ("ca_file", "/nonexistent/ca.pem", "cannot read"),
        (
            "ca_file",
            dir.join("ext.cnf").to_str().unwrap(),
            "no PEM certificate",
        ),
        ("tls_roots", "none", "always verified"),
        ("tls_verify", "false", "unknown config key"),
    ] {
        let (rc, msg) = try_setting(k, v);
        assert_eq!(rc, PIRSCH_ERR_INVALID_ARGUMENT, "{k}={v}");
        assert!(msg.contains(want), "{k}={v}: {msg}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
