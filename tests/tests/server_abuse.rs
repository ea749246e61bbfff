//! One node under abuse (issue 16, "Show": logins and connections), against a real
//! `basalt-server` process over real sockets:
//!
//! - 256 concurrent wrong-password clients, each from an address of its own (so the
//!   per-address throttle does not hide the pool): RSS stays under 200 MB, every refusal is
//!   401, 429 or 503 within a deadline, and a logged-in client is answered throughout;
//! - refusals of unknown and known users take the same time (medians within 2x);
//! - after 20 failures per user name or per address, attempts are delayed and then refused
//!   as `http::login` documents;
//! - 5,000 slow connections (a partial header, then a byte a second or nothing) against a
//!   server with 1,024 open files (issue 16's run had 2,048) do not stop a normal client, and each is
//!   closed at its header timeout or, when the places run out, to make room;
//! - an unterminated chunked body is cut by the body timeout.
//!
//! The tests take a lock so they run one at a time: each loads the two cores on purpose, and
//! a latency bound measured beside another test's flood would measure that test.
//! `BASALT_ABUSE_HEAVY=1` runs the heavy variants (a 60 s login flood, 12,000 slow
//! connections); see README's testing section.

#![allow(clippy::unwrap_used)] // Tests fail loudly on any unexpected error.

use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use basalt_tests::raw_http::{
    basic_auth, client_address, connect_from, exchange, open_files_limits, peer_closed, raise_open_files_limit,
    read_reply,
};
use basalt_tests::server::{proc_status_kb, wait_until, write_config, Client, PeakWatch, ServerProcess};
use serde_json::json;

const PASSWORD: &str = "abuse-root-secret";
/// How long a test client waits for any one answer before calling it a hang.
const ANSWER_DEADLINE: Duration = Duration::from_secs(20);

static SERIAL: Mutex<()> = Mutex::new(());

/// One test at a time (see the module doc).
fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

fn heavy() -> bool {
    std::env::var_os("BASALT_ABUSE_HEAVY").is_some_and(|v| v != "0")
}

fn start(home: &Path, config: &str) -> ServerProcess {
    write_config(home, config);
    ServerProcess::start(home, &["--no-demo", "--node-name", "n1"], &[("BASALT_ROOT_PASSWORD", PASSWORD)])
}

fn median(v: &mut [Duration]) -> Duration {
    assert!(!v.is_empty());
    v.sort();
    v[v.len() / 2]
}

fn connect(server: &ServerProcess, n: u32) -> TcpStream {
    connect_from(client_address(n), server.addr(), Duration::from_secs(10), ANSWER_DEADLINE)
        .unwrap_or_else(|e| panic!("connecting from {}: {e}", client_address(n)))
}

// --- 1. a flood of wrong passwords

/// What one flooding client saw.
#[derive(Debug, Default)]
struct FloodTally {
    /// Answers by status: 401, 429, 503, anything else.
    by_status: [u64; 4],
    /// Requests with no answer (timeout, or closed before answering).
    unanswered: Vec<String>,
    /// The slowest answer.
    slowest: Duration,
}

impl FloodTally {
    fn count(&mut self, status: u16) {
        let i = match status {
            401 => 0,
            429 => 1,
            503 => 2,
            _ => 3,
        };
        self.by_status[i] += 1;
    }
}

/// Client `i` of the flood: wrong passwords for `root` (even i) or for a name that is no
/// user (odd i), from its own address, on a keep-alive connection, until `stop`.
fn flood_client(server_addr: std::net::SocketAddr, i: u32, stop: Arc<AtomicBool>) -> FloodTally {
    let mut tally = FloodTally::default();
    let name = if i.is_multiple_of(2) { "root".to_string() } else { format!("nobody-{i}") };
    let mut conn: Option<TcpStream> = None;
    let mut k = 0u64;
    while !stop.load(Ordering::Relaxed) {
        k += 1;
        if conn.is_none() {
            match connect_from(client_address(i), server_addr, Duration::from_secs(10), ANSWER_DEADLINE) {
                Ok(s) => conn = Some(s),
                Err(e) => {
                    tally.unanswered.push(format!("connect: {e}"));
                    continue;
                }
            }
        }
        let Some(s) = conn.as_mut() else { continue };
        let auth = basic_auth(&name, &format!("wrong-{i}-{k}"));
        let sent = Instant::now();
        match exchange(s, "GET", "/listDatabases", &[("Authorization", &auth)], b"") {
            Ok(reply) => {
                tally.slowest = tally.slowest.max(sent.elapsed());
                tally.count(reply.status);
                if reply.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close")) {
                    conn = None;
                }
            }
            Err(e) => {
                tally.unanswered.push(format!("after {:?}: {e}", sent.elapsed()));
                conn = None;
            }
        }
    }
    tally
}

/// Probes of a client while the flood runs: latencies and statuses.
fn probe_during(client: &Client, until: Instant) -> Vec<(u16, Duration)> {
    let mut seen = Vec::new();
    while Instant::now() < until {
        let t = Instant::now();
        let status = client.try_request("GET", "/listDatabases", None, &[]).map(|r| r.status).unwrap_or(0);
        seen.push((status, t.elapsed()));
        std::thread::sleep(Duration::from_millis(50));
    }
    seen
}

/// The latency bound of a logged-in client's request during the flood. An idle server
/// answers `/listDatabases` in about a millisecond (measured as `idle` below). During the
/// flood, two argon2 workers keep both cores busy and 256 client threads of this test wake
/// for every answer; a request of a logged-in client needs no check, only a turn on a core,
/// and the kernel's scheduler gives every runnable thread one within a few of its periods
/// (tens of ms). Measured on the 2-core dev machine: median 62 ms, worst 332 ms. One
/// second leaves room for a loaded machine and still fails a server that makes cached
/// logins queue behind password checks (that queue alone is 32 checks of ~40 ms each per
/// worker).
const CACHED_LOGIN_BOUND: Duration = Duration::from_secs(1);

#[test]
fn wrong_password_flood_from_256_clients_keeps_rss_under_200_mb_and_others_are_served() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("home"), "");
    let root = server.client();
    for name in ["alice", "bob"] {
        let user = json!({"name": name, "password": format!("{name}-right-password"), "role": "reader"});
        assert_eq!(root.post_json("/users", &user).status, 201);
    }
    // alice logs in before the flood (her login is cached); bob logs in for the first time
    // during it (a password check that competes with the flood's).
    let alice = server.anonymous().login("alice", "alice-right-password");
    assert_eq!(alice.get("/listDatabases").status, 200);
    let mut idle: Vec<Duration> = (0..20)
        .map(|_| {
            let t = Instant::now();
            assert_eq!(alice.get("/listDatabases").status, 200);
            t.elapsed()
        })
        .collect();
    let idle = median(&mut idle);

    let pid = server.pid();
    let rss = PeakWatch::start(pid, "VmRSS");
    let stop = Arc::new(AtomicBool::new(false));
    let addr = server.addr();
    let clients: Vec<_> = (0..256)
        .map(|i| {
            let stop = stop.clone();
            std::thread::spawn(move || flood_client(addr, i, stop))
        })
        .collect();
    let flood_for = if heavy() { Duration::from_secs(60) } else { Duration::from_secs(8) };
    let until = Instant::now() + flood_for;
    let bob = server.anonymous().login("bob", "bob-right-password");
    let bob_prober = std::thread::spawn(move || {
        // bob honours Retry-After like a well-behaved client; each answer must come quickly.
        let mut seen = Vec::new();
        while Instant::now() < until {
            let t = Instant::now();
            let reply = bob.try_request("GET", "/listDatabases", None, &[]);
            let took = t.elapsed();
            let status = reply.as_ref().map(|r| r.status).unwrap_or(0);
            let retry = reply.as_ref().ok().and_then(|r| r.header("retry-after")).and_then(|v| v.parse::<u64>().ok());
            seen.push((status, took, retry));
            std::thread::sleep(Duration::from_secs(retry.unwrap_or(0)).max(Duration::from_millis(100)));
        }
        seen
    });
    let alice_seen = probe_during(&alice, until);
    stop.store(true, Ordering::Relaxed);
    let bob_seen = bob_prober.join().unwrap();
    let tallies: Vec<FloodTally> = clients.into_iter().map(|t| t.join().unwrap()).collect();
    let peak_rss_kb = rss.stop();
    let hwm_kb = proc_status_kb(pid, "VmHWM");

    let mut totals = [0u64; 4];
    for t in &tallies {
        for (a, b) in totals.iter_mut().zip(t.by_status) {
            *a += b;
        }
    }
    let unanswered: Vec<&String> = tallies.iter().flat_map(|t| &t.unanswered).collect();
    let slowest = tallies.iter().map(|t| t.slowest).max().unwrap_or_default();
    let alice_worst = alice_seen.iter().map(|s| s.1).max().unwrap_or_default();
    let mut alice_times: Vec<Duration> = alice_seen.iter().map(|s| s.1).collect();
    eprintln!(
        "flood {flood_for:?}: 401 {} / 429 {} / 503 {} / other {}; slowest refusal {slowest:?}; \
         peak VmRSS {} MB, VmHWM {} MB; alice idle median {idle:?}, during median {:?} worst {alice_worst:?} \
         over {} probes; bob {}",
        totals[0],
        totals[1],
        totals[2],
        totals[3],
        peak_rss_kb / 1024,
        hwm_kb / 1024,
        median(&mut alice_times),
        alice_seen.len(),
        bob_summary(&bob_seen)
    );
    assert!(hwm_kb < 200 * 1024, "VmHWM {hwm_kb} kB: the flood made the server hold more than 200 MB");
    assert!(peak_rss_kb < 200 * 1024, "peak VmRSS {peak_rss_kb} kB");
    assert!(unanswered.is_empty(), "{} requests got no answer, e.g. {:?}", unanswered.len(), &unanswered[..1]);
    assert_eq!(totals[3], 0, "every refusal is 401, 429 or 503");
    assert!(slowest < ANSWER_DEADLINE, "{slowest:?}");
    // The flood did reach every defence: checked failures, the throttle, and a full pool.
    assert!(totals[0] > 0 && totals[1] > 0 && totals[2] > 0, "{totals:?}");
    assert!(alice_seen.iter().all(|s| s.0 == 200), "alice was refused during the flood: {alice_seen:?}");
    assert!(alice_worst <= CACHED_LOGIN_BOUND, "alice waited {alice_worst:?} (idle: {idle:?})");
    // bob's first login competes with the flood for the pool: each answer is his 200 or the
    // pool's 503 with Retry-After, and comes as fast as a queued check can.
    for (status, took, retry) in &bob_seen {
        assert!(*status == 200 || (*status == 503 && retry.is_some()), "bob got {status} {retry:?}: {bob_seen:?}");
        assert!(*took < Duration::from_secs(5), "bob waited {took:?}");
    }
    assert_eq!(alice.get("/listDatabases").status, 200);
    assert_eq!(server.anonymous().login("bob", "bob-right-password").get("/listDatabases").status, 200);
    assert!(server.stderr().contains("login_overload"), "the full pool is in the audit log");
}

/// bob's answers in short: how many 200 and 503, the first 200 and the slowest.
fn bob_summary(seen: &[(u16, Duration, Option<u64>)]) -> String {
    let ok = seen.iter().filter(|s| s.0 == 200).count();
    let first_ok = seen.iter().position(|s| s.0 == 200);
    let slowest = seen.iter().map(|s| s.1).max().unwrap_or_default();
    format!("{ok} x 200, {} x 503, first 200 at try {first_ok:?}, slowest {slowest:?}", seen.len() - ok)
}

// --- 2. the same cost for unknown and known users

/// One refused login's round trip on a keep-alive connection.
fn refusal_time(conn: &mut TcpStream, user: &str, password: &str) -> Duration {
    let auth = basic_auth(user, password);
    let t = Instant::now();
    let reply = exchange(conn, "GET", "/listDatabases", &[("Authorization", &auth)], b"").unwrap();
    let took = t.elapsed();
    let content = reply.json()["errors"][0]["content"].as_str().unwrap().to_string();
    assert_eq!(reply.status, 401, "{content}");
    assert_eq!(content, format!("wrong user name or password for '{user}'"), "the answer does not tell them apart");
    took
}

/// The throttle is switched off here (`login_free_failures` far above the tries): the
/// known user is one name, so past the free failures its attempts would be delayed while
/// 200 distinct unknown names never would, and the comparison would measure the throttle,
/// not the check. (The throttle is the next test's subject.) Attempts alternate, so a
/// neighbour's load hits both series alike.
#[test]
fn refusals_of_unknown_and_known_users_take_the_same_time() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("home"), "[limits]\nlogin_free_failures = 1000000\n");
    let mut conn = connect(&server, 0);
    let (mut unknown, mut known) = (Vec::new(), Vec::new());
    for k in 0..200 {
        unknown.push(refusal_time(&mut conn, &format!("ghost-{k}"), &format!("guess-{k}")));
        known.push(refusal_time(&mut conn, "root", &format!("guess-{k}")));
    }
    let (u, kn) = (median(&mut unknown), median(&mut known));
    let ratio = u.as_secs_f64().max(kn.as_secs_f64()) / u.as_secs_f64().min(kn.as_secs_f64());
    eprintln!("200 tries each: unknown user median {u:?}, known user median {kn:?}, ratio {ratio:.2}");
    assert!(ratio <= 2.0, "unknown {u:?} vs known {kn:?}: the timing tells which names exist");
    // Both ran a real check (argon2 takes milliseconds; a lookup takes microseconds).
    assert!(u >= Duration::from_millis(2) && kn >= Duration::from_millis(2), "{u:?} {kn:?}");
}

// --- 3. the slow-down after 20 failures

/// The throttle of this test: 20 free failures, then 200 ms doubling, waits over 2 s refused.
const THROTTLE: &str = "[limits]\nlogin_free_failures = 20\nlogin_delay_base_ms = 200\n\
                        login_delay_max_ms = 10000\nlogin_wait_max_ms = 2000\n";
const FREE: u32 = 20;
const BASE: Duration = Duration::from_millis(200);
const WAIT_MAX: Duration = Duration::from_millis(2000);

/// The gap `http::login` reserves after attempt `n` (1-based): none for the free ones, then
/// BASE x 2^(n - FREE - 1).
fn gap(n: u32) -> Duration {
    if n <= FREE {
        Duration::ZERO
    } else {
        BASE * (1 << (n - FREE - 1))
    }
}

/// Makes failed attempts (`attempt(n)` sends number n, 1-based, on a fresh connection)
/// until one is refused with 429, and checks the schedule: the first 20 are answered at
/// check speed, attempt n + 1 is answered no sooner than `gap(n)` after attempt n was sent,
/// and the refusal comes once the wait would pass `WAIT_MAX`, at once, with Retry-After.
fn check_slow_down(what: &str, mut attempt: impl FnMut(u32) -> basalt_tests::server::Reply) {
    let mut sent = Vec::new();
    let mut answered = Vec::new();
    let mut n = 0;
    let refusal = loop {
        n += 1;
        assert!(n <= FREE + 8, "{what}: attempt {n} is still not refused");
        let t = Instant::now();
        let reply = attempt(n);
        sent.push(t);
        answered.push(Instant::now());
        match reply.status {
            401 => {}
            429 => break reply,
            s => panic!("{what}: attempt {n} got {s}: {}", reply.text()),
        }
    };
    let took: Vec<Duration> = sent.iter().zip(&answered).map(|(s, a)| *a - *s).collect();
    eprintln!("{what}: refused at attempt {n}; times {:?}", took.iter().map(|d| d.as_millis()).collect::<Vec<_>>());
    assert!(n > FREE + 1, "{what}: refused at attempt {n}, within the free failures");
    let mut free: Vec<Duration> = took[..FREE as usize].to_vec();
    assert!(median(&mut free) < BASE, "{what}: the free attempts were slow already: {free:?}");
    // Attempt m+1 (index m) answered >= gap(m) after attempt m (index m-1) was sent.
    for m in FREE..n - 1 {
        let between = answered[m as usize] - sent[m as usize - 1];
        assert!(between + Duration::from_millis(2) >= gap(m), "{what}: attempt {} came {between:?} after {m}", m + 1);
    }
    // Refused at once, not after the wait.
    assert!(took[n as usize - 1] < WAIT_MAX / 2, "{what}: the 429 took {:?}", took[n as usize - 1]);
    let retry: u64 = reply_retry_after(&refusal);
    assert!(retry >= 1, "{what}");
    let content = refusal.assert_error(429);
    assert!(content.contains("too many failed logins"), "{content}");
    // The rule predicts the refusal: the wait before attempt n passed WAIT_MAX.
    let reserved: Duration = (FREE + 1..n).map(gap).sum();
    assert!(reserved > WAIT_MAX, "{what}: refused at {n} though only {reserved:?} were reserved");
}

fn reply_retry_after(r: &basalt_tests::server::Reply) -> u64 {
    r.header("retry-after").and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("no Retry-After: {r:?}"))
}

#[test]
fn after_20_failures_per_user_or_per_address_logins_slow_down_then_are_refused() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("home"), THROTTLE);
    let get = |from: u32, user: &str, password: &str| {
        let mut conn = connect(&server, from);
        exchange(&mut conn, "GET", "/listDatabases", &[("Authorization", &basic_auth(user, password))], b"").unwrap()
    };
    // One user name, each attempt from an address of its own: the name's count slows it.
    check_slow_down("per user", |n| get(1000 + n, "root", &format!("guess-{n}")));
    // One address, each attempt a name of its own: the address's count slows it.
    check_slow_down("per address", |n| get(2000, &format!("ghost-{n}"), "guess"));
    // A fresh address and name are not slowed, and the right password still works from
    // elsewhere for a user that is not throttled.
    assert_eq!(get(3000, "someone", "guess").status, 401);
    assert!(server.stderr().contains("login_throttled"), "the throttle is in the audit log");
}

// --- 4. slow connections

/// A slow connection: partial header sent, maybe dribbling.
struct Slow {
    /// The socket.
    stream: TcpStream,
    /// When it was opened.
    opened: Instant,
    /// When the server closed it.
    closed: Option<Instant>,
    /// Sends a byte a second (else it idles after the partial header).
    dribbles: bool,
}

/// The effective `max_connections` of the server: the default 4096 lowered to fit its
/// open-file limit, as `http::conn` does (1,024 files: 768 places).
fn effective_cap(pid: u32) -> usize {
    let (soft, _) = open_files_limits(pid);
    let files = usize::try_from(soft).unwrap_or(usize::MAX);
    let allowed = files.saturating_sub(256).max(files / 2).max(16);
    allowed.min(4096)
}

/// The server's open-file limit in the slow-connection test. Issue 16's run had 2,048, and
/// new clients hung once about 2,040 slow ones were held; half of that here gives the server
/// 768 places, so the 5,000 outnumber them many times over even when a loaded machine opens
/// them slowly (the places fill at 96 a second against the 8 s header timeout).
const SERVER_FILES: u64 = 1024;

/// Starts the server through `sh -c 'ulimit -n FILES; exec basalt-server ...'`, so it runs
/// with that open-file limit (and the same PID) while this process keeps its own.
fn start_with_file_limit(home: &Path, files: u64, config: &str) -> ServerProcess {
    write_config(home, config);
    let script = home.parent().unwrap().join("server-with-file-limit.sh");
    let binary = basalt_tests::server::server_binary();
    std::fs::write(&script, format!("#!/bin/sh\nulimit -n {files} || exit 97\nexec '{}' \"$@\"\n", binary.display()))
        .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut launch = basalt_tests::server::Launch::new(home)
        .args(&["--no-demo", "--node-name", "n1"])
        .env("BASALT_ROOT_PASSWORD", PASSWORD);
    launch.program = Some(script);
    launch.start()
}

/// Threads opening the slow connections.
const OPENERS: usize = 4;

#[test]
fn slow_connections_do_not_lock_out_a_normal_client_and_close_at_the_header_timeout() {
    let _serial = serial();
    let wanted: usize = if heavy() { 12_000 } else { 5_000 };
    let limit = raise_open_files_limit(wanted as u64 + 1024);
    let n = wanted.min(usize::try_from(limit).unwrap_or(usize::MAX).saturating_sub(1024));
    if n < wanted {
        eprintln!("the open-file limit is {limit}: holding {n} slow connections instead of {wanted}");
    }
    assert!(n >= 1000, "the open-file limit ({limit}) leaves too few descriptors for this test");
    // Long enough to open most of them before the first are due (1-2 ms each against a
    // debug build).
    let header_timeout = Duration::from_secs(8);
    let dir = tempfile::tempdir().unwrap();
    let server = start_with_file_limit(&dir.path().join("home"), SERVER_FILES, "[limits]\nheader_timeout_ms = 8000\n");
    assert_eq!(open_files_limits(server.pid()).0, SERVER_FILES);
    let cap = effective_cap(server.pid());
    assert!(cap < n, "the slow connections ({n}) must outnumber the server's places ({cap})");
    let client = server.client();
    assert_eq!(client.get("/listDatabases").status, 200);

    // 250 per address (the per-address cap is 256), from addresses other than the client's.
    // Opened from a few threads, so the server's accepting, not one client, sets the pace.
    let addr = server.addr();
    let open_one = move |i: usize| {
        let from = client_address((i / 250) as u32);
        let mut stream = connect_from(from, addr, Duration::from_secs(10), ANSWER_DEADLINE).unwrap();
        use std::io::Write;
        stream.write_all(b"GET /listDatabases HTTP/1.1\r\nHost: x\r\nX-Slow: ").unwrap();
        Slow { stream, opened: Instant::now(), closed: None, dribbles: i.is_multiple_of(2) }
    };
    let mut slow: Vec<Slow> = std::thread::scope(|scope| {
        let openers: Vec<_> = (0..OPENERS)
            .map(|t| scope.spawn(move || (t..n).step_by(OPENERS).map(open_one).collect::<Vec<_>>()))
            .collect();
        openers.into_iter().flat_map(|o| o.join().unwrap()).collect()
    });
    slow.sort_by_key(|s| s.opened);
    let all_open = Instant::now();
    eprintln!("opened {n} slow connections in {:?} (server cap {cap})", all_open - slow[0].opened);

    // While they are held, a normal client (a new connection each time) is served.
    let mut probes = Vec::new();
    for _ in 0..5 {
        let fresh = server.client();
        let t = Instant::now();
        let reply = fresh.try_request("GET", "/listDatabases", None, &[]);
        probes.push((reply.map(|r| r.status).unwrap_or(0), t.elapsed()));
    }
    let held = slow.iter().filter(|s| !peer_closed(&s.stream)).count();
    // Those not yet due (on a slow machine the first may time out before the last opens).
    let not_due = slow.iter().filter(|s| s.opened.elapsed() + Duration::from_millis(500) < header_timeout).count();
    eprintln!("while {held} were held ({not_due} not yet due): normal client {probes:?}");
    assert!(probes.iter().all(|(s, t)| *s == 200 && *t < Duration::from_secs(2)), "{probes:?}");
    let expected = not_due.min(cap).saturating_sub(probes.len() + 64);
    assert!(held >= expected, "only {held} of {n} slow connections were held (cap {cap}, {not_due} not due)");

    // Dribble a byte a second and watch them close.
    let watch_start = Instant::now();
    let deadline = all_open + header_timeout + Duration::from_secs(5);
    let mut last_dribble = Instant::now();
    while Instant::now() < deadline && slow.iter().any(|s| s.closed.is_none()) {
        let now = Instant::now();
        let dribble = now - last_dribble >= Duration::from_secs(1);
        if dribble {
            last_dribble = now;
        }
        for s in slow.iter_mut().filter(|s| s.closed.is_none()) {
            use std::io::Write;
            let write_failed = dribble && s.dribbles && s.stream.write_all(b"a").is_err();
            if write_failed || peer_closed(&s.stream) {
                s.closed = Some(Instant::now());
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let open = slow.iter().filter(|s| s.closed.is_none()).count();
    assert_eq!(open, 0, "{open} slow connections outlived the {header_timeout:?} header timeout by 5 s");
    // A close is seen at the first look after it; looks start once all are open (with many,
    // after the first were due), so lateness counts from the deadline or the first look.
    let late = slow
        .iter()
        .filter(|s| {
            s.closed.unwrap().saturating_duration_since((s.opened + header_timeout).max(watch_start))
                > Duration::from_secs(3)
        })
        .count();
    assert_eq!(late, 0, "{late} slow connections were closed more than 3 s after their header timeout");
    // Closed early only to make room (the cap), never otherwise.
    let early = slow.iter().filter(|s| s.closed.unwrap() - s.opened + Duration::from_millis(300) < header_timeout);
    let early = early.count();
    let room_needed = n.saturating_sub(cap) + probes.len() + 1;
    eprintln!("{early} closed before their header timeout (room needed: {room_needed})");
    assert!(early <= room_needed + 16, "{early} closed early; only {room_needed} had to make room");
    assert!(early > 0, "the places never ran out, so making room was not tested");
    assert_eq!(client.get("/listDatabases").status, 200);
}

// --- 5. bodies that never end

#[test]
fn unterminated_chunked_bodies_are_cut_by_the_body_timeout() {
    use std::io::Write;
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("home"), "[limits]\nbody_timeout_ms = 1000\nidle_timeout_ms = 3000\n");
    let root = server.client();
    assert_eq!(root.post_empty("/database/t").status, 200);
    let auth = basic_auth("root", PASSWORD);
    let head = |auth: &str| {
        format!(
            "POST /command/t/sql HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nContent-Type: text/plain\r\n\
             Transfer-Encoding: chunked\r\n\r\n6\r\nSELECT\r\n"
        )
    };

    // Logged in: the body is read under the body timeout, then 408 and the connection closes.
    let mut conn = connect(&server, 0);
    let t = Instant::now();
    conn.write_all(head(&auth).as_bytes()).unwrap();
    let reply = read_reply(&mut conn).unwrap();
    let took = t.elapsed();
    let content = reply.assert_error(408);
    assert!(content.contains("body_timeout_ms = 1000"), "{content}");
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(4), "408 after {took:?}");
    assert!(wait_until(Duration::from_secs(2), || peer_closed(&conn)), "the connection stays open after the 408");

    // A body dribbled a byte at a time (never reaching its length) is cut alike.
    let mut conn = connect(&server, 1);
    let t = Instant::now();
    let dribbled = format!(
        "POST /command/t/sql HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nContent-Type: text/plain\r\n\
         Content-Length: 1000\r\n\r\nS"
    );
    conn.write_all(dribbled.as_bytes()).unwrap();
    conn.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let reply = loop {
        assert!(t.elapsed() < Duration::from_secs(5), "no answer to a dribbled body");
        let _ = conn.write_all(b"E");
        match read_reply(&mut conn) {
            Ok(r) => break r,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(e) => panic!("dribbled body: {e}"),
        }
    };
    reply.assert_error(408);

    // Not logged in: refused before any body is read, and the connection does not stay held.
    let mut conn = connect(&server, 2);
    conn.write_all(head(&basic_auth("root", "wrong-password")).as_bytes()).unwrap();
    let reply = read_reply(&mut conn).unwrap();
    assert_eq!(reply.status, 401);
    assert!(wait_until(Duration::from_secs(6), || peer_closed(&conn)), "an unauthenticated body holds its connection");
    assert_eq!(root.get("/listDatabases").status, 200);
}
