//! `make bench`: figures, not pass/fail. Starts the stand-in on loopback and compares
//! libpirsch (through its C entry points) with a plain ureq client sending the same requests.

use pirsch::ffi::*;
use std::ffi::CString;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

struct Standin {
    child: std::process::Child,
    url: String,
}

impl Standin {
    fn start() -> Standin {
        let exe = std::env::current_exe().unwrap();
        let bin = exe.parent().unwrap().join("pirsch-standin");
        let mut child = Command::new(&bin)
            .args(["--port", "0", "--quiet"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e} (run `make build`)", bin.display()));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url = line.trim().rsplit(' ').next().unwrap().to_string();
        let s = Standin { child, url };
        // Keep counting, stop keeping bodies: the stand-in's memory stays flat.
        ureq::post(&format!("{}/_standin/config", s.url)).send(r#"{"record":false}"#).unwrap();
        s
    }
}

impl Drop for Standin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

const KEY: &str = "pa_standin_key";

fn blocking_library(url: &str, n: usize) -> f64 {
    let cfg = pirsch_config_new();
    let c = |s: &str| CString::new(s).unwrap();
    unsafe {
        pirsch_config_set(cfg, c("base_url").as_ptr(), c(url).as_ptr());
        let client = pirsch_client_new(c("").as_ptr(), c(KEY).as_ptr(), cfg);
        pirsch_config_free(cfg);
        let u = c("https://example.com/bench/page?x=1");
        let ip = c("203.0.113.9");
        let ua = c("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36");
        let lang = c("en-US,en;q=0.9");
        let title = c("Bench page");
        let mut o: pirsch_hit_options = std::mem::zeroed();
        o.struct_size = std::mem::size_of::<pirsch_hit_options>();
        o.url = u.as_ptr();
        o.ip = ip.as_ptr();
        o.user_agent = ua.as_ptr();
        o.accept_language = lang.as_ptr();
        o.title = title.as_ptr();
        assert_eq!(pirsch_hit(client, &o), PIRSCH_OK); // warm: connection open
        let start = Instant::now();
        for _ in 0..n {
            let rc = pirsch_hit(client, &o);
            assert_eq!(rc, PIRSCH_OK);
        }
        let rate = n as f64 / start.elapsed().as_secs_f64();
        pirsch_free(client);
        rate
    }
}

fn plain_ureq(url: &str, n: usize) -> f64 {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let body = serde_json::json!({
        "url": "https://example.com/bench/page?x=1",
        "ip": "203.0.113.9",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
        "accept_language": "en-US,en;q=0.9",
        "title": "Bench page",
    })
    .to_string();
    let endpoint = format!("{url}/api/v1/hit");
    let auth = format!("Bearer {KEY}");
    let send = || {
        let mut r = agent
            .post(&endpoint)
            .header("Authorization", &auth)
            .header("Content-Type", "application/json")
            .send(body.as_bytes())
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let _ = r.body_mut().read_to_vec();
    };
    send();
    let start = Instant::now();
    for _ in 0..n {
        send();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn bench_blocking() {
    let standin = Standin::start();
    let n = 4000;
    let rounds = 5;
    let (mut lib, mut plain) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        lib.push(blocking_library(&standin.url, n));
        plain.push(plain_ureq(&standin.url, n));
    }
    let (l, p) = (median(lib.clone()), median(plain.clone()));
    println!("blocking page views into the stand-in over keep-alive ({rounds} alternating rounds of {n}):");
    println!("  libpirsch pirsch_hit    median {:>8.0}/s  rounds {:?}", l, lib.iter().map(|x| x.round()).collect::<Vec<_>>());
    println!("  plain ureq POST         median {:>8.0}/s  rounds {:?}", p, plain.iter().map(|x| x.round()).collect::<Vec<_>>());
    println!("  ratio libpirsch/plain   {:.2} (goal >= 0.80)", l / p);
}

fn main() {
    let which: Vec<String> = std::env::args().skip(1).collect();
    let all = which.is_empty();
    if all || which.iter().any(|w| w == "blocking") {
        bench_blocking();
    }
}
