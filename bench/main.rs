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
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().rsplit(' ').next().unwrap().to_string();
        let s = Standin { child, url };
        // Keep counting, stop keeping bodies: the stand-in's memory stays flat.
        ureq::post(&format!("{}/_standin/config", s.url))
            .send(r#"{"record":false}"#)
            .unwrap();
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
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
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
    println!(
        "  libpirsch pirsch_hit    median {:>8.0}/s  rounds {:?}",
        l,
        lib.iter().map(|x| x.round()).collect::<Vec<_>>()
    );
    println!(
        "  plain ureq POST         median {:>8.0}/s  rounds {:?}",
        p,
        plain.iter().map(|x| x.round()).collect::<Vec<_>>()
    );
    println!("  ratio libpirsch/plain   {:.2} (goal >= 0.80)", l / p);
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// A client of `url` (access key) with extra config keys.
fn client(url: &str, extra: &[(&str, &str)]) -> *mut pirsch_client {
    unsafe {
        let cfg = pirsch_config_new();
        pirsch_config_set(cfg, c("base_url").as_ptr(), c(url).as_ptr());
        // The benchmarks queue up to a million items: the bound in bytes (16 MiB by
        // default, about 40,000 page views) must not be what they measure.
        pirsch_config_set(cfg, c("queue_max_bytes").as_ptr(), c("1073741824").as_ptr());
        for (k, v) in extra {
            assert_eq!(
                pirsch_config_set(cfg, c(k).as_ptr(), c(v).as_ptr()),
                PIRSCH_OK,
                "{k}"
            );
        }
        let cl = pirsch_client_new(c("").as_ptr(), c(KEY).as_ptr(), cfg);
        pirsch_config_free(cfg);
        assert!(!cl.is_null());
        cl
    }
}

/// A typical page view: URL, address, a browser's user agent, language, title, referrer.
struct Page {
    _strings: Vec<CString>,
    opts: pirsch_hit_options,
}

fn typical_page(i: usize) -> Page {
    let strings = vec![
        c(&format!("https://example.com/blog/2026/11/some-article-{i}?utm_source=newsletter")),
        c("203.0.113.9"),
        c("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"),
        c("en-US,en;q=0.9"),
        c("Some article about analytics"),
        c("https://news.example.com/"),
    ];
    let mut o: pirsch_hit_options = unsafe { std::mem::zeroed() };
    o.struct_size = std::mem::size_of::<pirsch_hit_options>();
    o.url = strings[0].as_ptr();
    o.ip = strings[1].as_ptr();
    o.user_agent = strings[2].as_ptr();
    o.accept_language = strings[3].as_ptr();
    o.title = strings[4].as_ptr();
    o.referrer = strings[5].as_ptr();
    Page {
        _strings: strings,
        opts: o,
    }
}

fn stats(cl: *mut pirsch_client) -> pirsch_stats {
    let mut s: pirsch_stats = unsafe { std::mem::zeroed() };
    s.struct_size = std::mem::size_of::<pirsch_stats>();
    unsafe { pirsch_stats(cl, &mut s) };
    s
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize] as f64 / 1000.0
}

/// Enqueue latency while the API is stalled (every batch request hangs).
fn bench_enqueue_latency() {
    let standin = Standin::start();
    ureq::post(&format!("{}/_standin/faults", standin.url))
        .send(r#"{"path_prefix":"/api/v1/","delay_ms":600000}"#)
        .unwrap();
    let n = 200_000;
    let cl = client(
        &standin.url,
        &[("queue_capacity", "1000000"), ("shutdown_timeout_ms", "0")],
    );
    let pages: Vec<Page> = (0..1000).map(typical_page).collect();
    // Warm up: the sender thread starts on the first enqueue.
    for p in pages.iter().take(100) {
        unsafe { pirsch_hit_enqueue(cl, &p.opts) };
    }
    let mut lat = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let t = Instant::now();
        let rc = unsafe { pirsch_hit_enqueue(cl, &pages[i % pages.len()].opts) };
        lat.push(t.elapsed().as_nanos() as u64);
        assert_eq!(rc, PIRSCH_OK);
    }
    let total = start.elapsed();
    lat.sort_unstable();
    println!("enqueue latency, API stalled ({n} typical page views, one thread):");
    println!(
        "  p50 {:.2} us   p99 {:.2} us   p99.9 {:.2} us   max {:.1} us   ({:.0} enqueues/s)   goal: p99 < 5 us, p99.9 < 50 us",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        percentile(&lat, 0.999),
        *lat.last().unwrap() as f64 / 1000.0,
        n as f64 / total.as_secs_f64()
    );
    unsafe { pirsch_free(cl) };
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// Resident memory per queued page view (API stalled, so everything stays queued).
fn bench_memory() {
    let standin = Standin::start();
    ureq::post(&format!("{}/_standin/faults", standin.url))
        .send(r#"{"path_prefix":"/api/v1/","delay_ms":600000}"#)
        .unwrap();
    let n = 200_000;
    let cl = client(
        &standin.url,
        &[
            ("queue_capacity", "1000000"),
            ("shutdown_timeout_ms", "0"),
            ("batch_size", "100"),
        ],
    );
    let pages: Vec<Page> = (0..1000).map(typical_page).collect();
    unsafe { pirsch_hit_enqueue(cl, &pages[0].opts) };
    std::thread::sleep(std::time::Duration::from_millis(200));
    let before = rss_bytes();
    for i in 0..n {
        unsafe { pirsch_hit_enqueue(cl, &pages[i % pages.len()].opts) };
    }
    let after = rss_bytes();
    let s = stats(cl);
    println!("memory: {} page views queued (depth {}, in flight {}): RSS +{:.1} MiB = {:.0} bytes per queued page view (goal < 1024)",
        n, s.queue_depth, s.in_flight, (after - before) as f64 / 1048576.0, (after - before) as f64 / n as f64);
    unsafe { pirsch_free(cl) };
}

/// nginx answering `return 200;` on a free loopback port, if nginx is installed.
struct Nginx {
    child: std::process::Child,
    url: String,
    _dir: std::path::PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // QUIT to the master, which stops its workers too (SIGKILL would orphan them).
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGQUIT) };
        let _ = self.child.wait();
    }
}

fn start_nginx() -> Option<Nginx> {
    let bin = ["/usr/sbin/nginx", "/usr/local/sbin/nginx"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let dir = std::env::temp_dir().join(format!("pirsch-bench-nginx-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("logs")).ok()?;
    let conf = format!(
        "worker_processes 1;\nerror_log {d}/logs/error.log;\npid {d}/nginx.pid;\nevents {{ worker_connections 1024; }}\nhttp {{\n access_log off;\n client_body_temp_path {d};\n client_max_body_size 10m;\n client_body_buffer_size 1m;\n keepalive_requests 1000000;\n server {{ listen 127.0.0.1:{port}; location / {{ return 200; }} }}\n}}\n",
        d = dir.display()
    );
    std::fs::write(dir.join("nginx.conf"), conf).ok()?;
    let child = Command::new(bin)
        .args([
            "-p",
            &dir.display().to_string(),
            "-c",
            &dir.join("nginx.conf").display().to_string(),
            "-g",
            "daemon off;",
        ])
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(Nginx {
                child,
                url: format!("http://127.0.0.1:{port}"),
                _dir: dir,
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    None
}

/// Page views a second from one producer thread, enqueued and delivered (flush included).
fn queued_rate(url: &str, n: usize) -> (f64, pirsch_stats) {
    let cl = client(url, &[("queue_capacity", &(n + 1000).to_string())]);
    let pages: Vec<Page> = (0..1000).map(typical_page).collect();
    let start = Instant::now();
    for i in 0..n {
        let rc = unsafe { pirsch_hit_enqueue(cl, &pages[i % pages.len()].opts) };
        assert_eq!(rc, PIRSCH_OK);
    }
    assert_eq!(unsafe { pirsch_flush(cl, 120_000) }, PIRSCH_OK);
    let rate = n as f64 / start.elapsed().as_secs_f64();
    let s = stats(cl);
    assert_eq!(s.sent as usize, n, "every page view delivered");
    unsafe { pirsch_free(cl) };
    (rate, s)
}

fn blocking_rate(url: &str, n: usize) -> f64 {
    let cl = client(url, &[]);
    let p = typical_page(1);
    unsafe { pirsch_hit(cl, &p.opts) };
    let start = Instant::now();
    for _ in 0..n {
        assert_eq!(unsafe { pirsch_hit(cl, &p.opts) }, PIRSCH_OK);
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    unsafe { pirsch_free(cl) };
    rate
}

fn bench_throughput() {
    let rounds = 3;
    let n = 300_000;
    let nginx = start_nginx();
    match &nginx {
        Some(ng) => {
            let (mut q, mut b) = (Vec::new(), Vec::new());
            let mut last = None;
            for _ in 0..rounds {
                let (rate, s) = queued_rate(&ng.url, n);
                q.push(rate);
                last = Some(s);
                b.push(blocking_rate(&ng.url, 5000));
            }
            let s = last.unwrap();
            println!("delivered throughput into nginx `return 200;` (one producer thread, {n} page views, {rounds} rounds, flush included):");
            println!("  queued    median {:>9.0}/s  rounds {:?}  ({} batches of up to 100)", median(q.clone()), q.iter().map(|x| x.round()).collect::<Vec<_>>(), s.batches);
            println!("  blocking  median {:>9.0}/s  rounds {:?}", median(b.clone()), b.iter().map(|x| x.round()).collect::<Vec<_>>());
            println!("  queued/blocking {:.1}x   goal: 300,000/s queued", median(q) / median(b));
        }
        None => println!("delivered throughput into nginx: skipped (nginx is not installed; `apt-get install nginx`)"),
    }
    let standin = Standin::start();
    let (mut q, mut b) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        q.push(queued_rate(&standin.url, n / 2).0);
        b.push(blocking_rate(&standin.url, 5000));
    }
    println!("delivered throughput into the stand-in (validates every item; {} page views, {rounds} rounds):", n / 2);
    println!(
        "  queued    median {:>9.0}/s  rounds {:?}",
        median(q.clone()),
        q.iter().map(|x| x.round()).collect::<Vec<_>>()
    );
    println!(
        "  blocking  median {:>9.0}/s  rounds {:?}",
        median(b.clone()),
        b.iter().map(|x| x.round()).collect::<Vec<_>>()
    );
    println!("  queued/blocking {:.1}x", median(q) / median(b));
}

fn thread_cpu_ns(who: i32) -> u64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut ru) };
    let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    (us(ru.ru_utime) + us(ru.ru_stime)) * 1000
}

/// What one page view costs in CPU, called the way the nginx module calls the library (the
/// request's headers through pirsch_hit_options_from_headers, then pirsch_hit_enqueue):
/// on the calling thread (the visitor's request) and on the sender thread (delivery into
/// nginx `return 200;`), in nanoseconds of CPU time per page view.
fn bench_cost() {
    let Some(ng) = start_nginx() else {
        println!("cost per page view: skipped (nginx is not installed)");
        return;
    };
    let n = 300_000;
    let rounds = 5;
    let urls: Vec<CString> = (0..1000)
        .map(|i| {
            c(&format!(
                "http://example.test/blog/2026/11/some-article-{i}?utm_source=newsletter"
            ))
        })
        .collect();
    let peer = c("203.0.113.9");
    let names = [
        "Host",
        "User-Agent",
        "Accept",
        "Accept-Language",
        "Accept-Encoding",
        "Referer",
        "Sec-CH-UA",
        "Sec-CH-UA-Mobile",
        "Sec-CH-UA-Platform",
        "Connection",
        "Cookie",
    ];
    let values = [
        "example.test",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "en-US,en;q=0.9",
        "gzip, deflate, br",
        "https://news.example.com/",
        "\"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\"",
        "?0",
        "\"Linux\"",
        "keep-alive",
        "session=0123456789abcdef",
    ];
    let hs: Vec<(CString, CString)> = names
        .iter()
        .zip(values)
        .map(|(k, v)| (c(k), c(v)))
        .collect();
    let kv: Vec<pirsch_kv> = hs
        .iter()
        .map(|(k, v)| pirsch_kv {
            key: k.as_ptr(),
            value: v.as_ptr(),
        })
        .collect();
    let (mut caller, mut sender, mut wall) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let cl = client(&ng.url, &[("queue_capacity", &(n + 1000).to_string())]);
        let mut o: pirsch_hit_options = unsafe { std::mem::zeroed() };
        o.struct_size = std::mem::size_of::<pirsch_hit_options>();
        unsafe {
            pirsch_hit_options_from_headers(
                &mut o,
                urls[0].as_ptr(),
                peer.as_ptr(),
                kv.as_ptr(),
                kv.len(),
            )
        };
        unsafe { pirsch_hit_enqueue(cl, &o) };
        assert_eq!(unsafe { pirsch_flush(cl, 10_000) }, PIRSCH_OK);
        let (t0, p0, w0) = (
            thread_cpu_ns(libc::RUSAGE_THREAD),
            thread_cpu_ns(libc::RUSAGE_SELF),
            Instant::now(),
        );
        for i in 0..n {
            let mut o: pirsch_hit_options = unsafe { std::mem::zeroed() };
            o.struct_size = std::mem::size_of::<pirsch_hit_options>();
            let rc = unsafe {
                pirsch_hit_options_from_headers(
                    &mut o,
                    urls[i % urls.len()].as_ptr(),
                    peer.as_ptr(),
                    kv.as_ptr(),
                    kv.len(),
                )
            };
            assert_eq!(rc, PIRSCH_OK);
            assert_eq!(unsafe { pirsch_hit_enqueue(cl, &o) }, PIRSCH_OK);
        }
        let t1 = thread_cpu_ns(libc::RUSAGE_THREAD);
        let w1 = w0.elapsed();
        assert_eq!(unsafe { pirsch_flush(cl, 120_000) }, PIRSCH_OK);
        let p1 = thread_cpu_ns(libc::RUSAGE_SELF);
        assert_eq!(stats(cl).sent as usize, n + 1, "every page view delivered");
        unsafe { pirsch_free(cl) };
        let own = (t1 - t0) as f64 / n as f64;
        caller.push(own);
        sender.push(((p1 - p0) as f64 - (t1 - t0) as f64) / n as f64);
        wall.push(w1.as_nanos() as f64 / n as f64);
    }
    println!("CPU per page view, called as the nginx module does (headers -> from_headers -> enqueue; {n} page views delivered into nginx, {rounds} rounds):");
    println!(
        "  calling thread  median {:>6.0} ns   rounds {:?}",
        median(caller.clone()),
        caller.iter().map(|x| x.round()).collect::<Vec<_>>()
    );
    println!(
        "  sender thread   median {:>6.0} ns   rounds {:?}",
        median(sender.clone()),
        sender.iter().map(|x| x.round()).collect::<Vec<_>>()
    );
    println!("  wall per call   median {:>6.0} ns", median(wall));
    drop(ng);
}

/// The spool: enqueue cost in each spool_sync mode (API answering), spool write rate at
/// shutdown and replay rate into the stand-in, disk bytes per spooled page view.
fn bench_spool() {
    let dir = std::env::temp_dir().join(format!("pirsch-bench-spool-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.to_str().unwrap().to_string();
    let pages: Vec<Page> = (0..1000).map(typical_page).collect();
    let n = 50_000;
    let rounds = 5;
    println!("spool ({n} typical page views per round, {rounds} alternating rounds, one thread, API answering):");
    let modes = ["off", "shutdown", "interval", "always"];
    let mut per: Vec<Vec<f64>> = vec![Vec::new(); modes.len()];
    for _ in 0..rounds {
        for (m, mode) in modes.iter().enumerate() {
            let standin = Standin::start();
            let mut extra = vec![
                ("queue_capacity", "1000000"),
                ("shutdown_timeout_ms", "5000"),
            ];
            if *mode != "off" {
                extra.push(("spool_dir", d.as_str()));
                extra.push(("spool_sync", mode));
            }
            let cl = client(&standin.url, &extra);
            for p in pages.iter().take(100) {
                unsafe { pirsch_hit_enqueue(cl, &p.opts) };
            }
            let t = Instant::now();
            for i in 0..n {
                let rc = unsafe { pirsch_hit_enqueue(cl, &pages[i % pages.len()].opts) };
                assert_eq!(rc, PIRSCH_OK);
            }
            per[m].push(t.elapsed().as_nanos() as f64 / n as f64);
            unsafe { pirsch_flush(cl, 60_000) };
            unsafe { pirsch_free(cl) };
        }
    }
    let off = median(per[0].clone());
    for (m, mode) in modes.iter().enumerate() {
        let med = median(per[m].clone());
        println!(
            "  enqueue, spool {mode:<9} median {med:>7.0} ns   ({:.2}x off)",
            med / off
        );
    }
    // Shutdown with the API down: everything queued goes to the spool; then a client with
    // the API up delivers it.
    let standin = Standin::start();
    ureq::post(&format!("{}/_standin/faults", standin.url))
        .send(r#"{"path_prefix":"/api/v1/hit/batch","status":503}"#)
        .unwrap();
    let m = 100_000;
    let cl = client(
        &standin.url,
        &[
            ("queue_capacity", "1000000"),
            ("shutdown_timeout_ms", "0"),
            ("spool_dir", &d),
            ("spool_sync", "shutdown"),
            ("spool_max_bytes", "1073741824"),
        ],
    );
    for i in 0..m {
        unsafe { pirsch_hit_enqueue(cl, &pages[i % pages.len()].opts) };
    }
    let t = Instant::now();
    unsafe { pirsch_free(cl) };
    let write = t.elapsed();
    let bytes: u64 = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    ureq::delete(&format!("{}/_standin/faults", standin.url))
        .call()
        .unwrap();
    let cl = client(
        &standin.url,
        &[
            ("spool_dir", &d),
            ("spool_sync", "shutdown"),
            ("batch_size", "100"),
        ],
    );
    let t = Instant::now();
    unsafe { pirsch_hit_enqueue(cl, &pages[0].opts) };
    while stats(cl).unspooled < m as u64 {
        assert!(
            t.elapsed().as_secs() < 120,
            "replay stalled at {}",
            stats(cl).unspooled
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let replay = t.elapsed();
    unsafe { pirsch_free(cl) };
    println!(
        "  write at pirsch_free {:>9.0} page views/s ({m} in {:.0} ms)",
        m as f64 / write.as_secs_f64(),
        write.as_secs_f64() * 1000.0
    );
    println!(
        "  replay into the API  {:>9.0} page views/s (stand-in on loopback, batch_size 100)",
        m as f64 / replay.as_secs_f64()
    );
    println!(
        "  disk per spooled page view {:.0} bytes (JSON {} bytes + 34 of record)",
        bytes as f64 / m as f64,
        (bytes as f64 / m as f64 - 34.0).round()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Pins the calling thread (0 = this thread) or process `pid` to one CPU.
fn pin(pid: libc::pid_t, cpu: usize) {
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(pid, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// The nginx master and its workers, pinned to `cpu`.
fn pin_nginx(master: u32, cpu: usize) {
    pin(master as libc::pid_t, cpu);
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // pid (comm) state ppid ...
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(master) {
            pin(pid as libc::pid_t, cpu);
        }
    }
}

/// The exact bytes libpirsch sends for one blocking page view: read by a one-shot server.
fn captured_request(p: &Page) -> Vec<u8> {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = conn.read(&mut chunk).unwrap();
            buf.extend_from_slice(&chunk[..n]);
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map(|v| v.trim().parse().unwrap())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    buf.truncate(end + 4 + len);
                    break;
                }
            }
        }
        conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        buf
    });
    let cl = client(&url, &[]);
    assert_eq!(unsafe { pirsch_hit(cl, &p.opts) }, PIRSCH_OK);
    unsafe { pirsch_free(cl) };
    server.join().unwrap()
}

/// The reference: the same request bytes over one keep-alive connection, one write and one
/// read per request, nothing else (what wrk -c1 does).
fn raw_rate(url: &str, request: &[u8], n: usize) -> f64 {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    conn.set_nodelay(true).unwrap();
    let mut buf = [0u8; 4096];
    let mut one = |conn: &mut std::net::TcpStream| {
        conn.write_all(request).unwrap();
        let mut have = 0;
        loop {
            let got = conn.read(&mut buf[have..]).unwrap();
            assert!(got > 0, "the server closed the connection");
            have += got;
            if let Some(end) = buf[..have].windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                assert!(head.starts_with("http/1.1 200"), "{head}");
                assert!(head.contains("content-length: 0"), "{head}");
                break;
            }
        }
    };
    one(&mut conn);
    let start = Instant::now();
    for _ in 0..n {
        one(&mut conn);
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// Blocking page views into nginx `return 200;` against the reference client, pinned (nginx
/// on CPU 0, the caller on CPU 1), alternating rounds.
fn bench_blocking_reference() {
    let Some(ng) = start_nginx() else {
        println!("blocking against a raw client: skipped (nginx is not installed; `apt-get install nginx`)");
        return;
    };
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let pinned = cpus >= 2;
    if pinned {
        pin_nginx(ng.child.id(), 0);
        pin(0, 1);
    }
    let page = typical_page(1);
    let request = captured_request(&page);
    let (n, rounds) = (10_000, 15);
    // PIRSCH_BENCH_OTHER="name=command": a third client in the same rounds, e.g. the Go SDK
    // (bench/go-sdk). The command is given the URL and the count and prints page views/s.
    let other = std::env::var("PIRSCH_BENCH_OTHER").ok().map(|v| {
        let (name, cmd) = v.split_once('=').expect("PIRSCH_BENCH_OTHER=name=command");
        (name.to_string(), cmd.to_string())
    });
    let (mut lib, mut raw, mut oth) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        lib.push(blocking_rate(&ng.url, n));
        raw.push(raw_rate(&ng.url, &request, n));
        if let Some((_, cmd)) = &other {
            oth.push(other_rate(cmd, &ng.url, n));
        }
    }
    println!(
        "blocking page views into nginx `return 200;` over keep-alive ({}; {rounds} alternating rounds of {n}; the same {}-byte request):",
        if pinned { "pinned: nginx on CPU 0, caller on CPU 1" } else { "not pinned: one CPU" },
        request.len()
    );
    rates("libpirsch pirsch_hit", &lib, "");
    rates("raw keep-alive client", &raw, "  (one write, one read)");
    ratio("raw", &lib, &raw, "; goal >= 0.95");
    if let Some((name, _)) = &other {
        rates(name, &oth, "");
        ratio(name, &lib, &oth, "");
    }
}

/// One client's line of blocking-reference: the median rate and every round's.
fn rates(name: &str, rounds: &[f64], note: &str) {
    println!(
        "  {name:<27} median {:>8.0}/s  rounds {:?}{note}",
        median(rounds.to_vec()),
        rounds.iter().map(|x| x.round()).collect::<Vec<_>>()
    );
}

/// libpirsch's rate against another client's, round by round.
fn ratio(name: &str, lib: &[f64], other: &[f64], note: &str) {
    let pairs: Vec<f64> = lib.iter().zip(other).map(|(l, o)| l / o).collect();
    println!(
        "  ratio libpirsch/{name:<11} {:.2} (median of the rounds' ratios; of the medians {:.2}{note})",
        median(pairs),
        median(lib.to_vec()) / median(other.to_vec())
    );
}

/// Runs another client's benchmark (`cmd URL N`) and reads the page views per second it
/// prints. It inherits this thread's CPU (pinned to CPU 1 when the rounds are).
fn other_rate(cmd: &str, url: &str, n: usize) -> f64 {
    let out = Command::new(cmd)
        .args([url, &n.to_string()])
        .output()
        .expect("run PIRSCH_BENCH_OTHER");
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("PIRSCH_BENCH_OTHER prints page views per second")
}

const BENCHES: &[(&str, fn())] = &[
    ("blocking", bench_blocking),
    ("blocking-reference", bench_blocking_reference),
    ("enqueue", bench_enqueue_latency),
    ("memory", bench_memory),
    ("throughput", bench_throughput),
    ("cost", bench_cost),
    ("spool", bench_spool),
];

fn main() {
    let which: Vec<String> = std::env::args().skip(1).collect();
    if which.is_empty() {
        // Each benchmark in a fresh process, so that none inherits another's heap.
        let exe = std::env::current_exe().unwrap();
        println!("libpirsch {} benchmarks on {} cores (loopback; figures are medians of alternating rounds)\n", env!("CARGO_PKG_VERSION"), std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
        for (name, _) in BENCHES {
            let status = Command::new(&exe)
                .arg(name)
                .status()
                .expect("run benchmark");
            assert!(status.success(), "benchmark {name} failed");
            println!();
        }
        return;
    }
    for name in which {
        match BENCHES.iter().find(|(n, _)| *n == name) {
            Some((_, f)) => f(),
            None => panic!(
                "unknown benchmark {name:?}; known: blocking, blocking-reference, enqueue, memory, throughput, cost, spool"
            ),
        }
    }
}
