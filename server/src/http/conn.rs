//! What one HTTP connection may hold, and for how long.
//!
//! **Caps.** At most `max_connections` connections are open (lowered at start to what the
//! open-file limit leaves after [`FD_RESERVE`] for the databases), and at most
//! `max_connections_per_address` from one client address (IPv6: its /64). When the total
//! is reached, the connection that has waited longest without a request in flight (an idle
//! keep-alive, or one still dribbling its headers) is closed to make room, so slow or idle
//! clients cannot lock out a client that sends requests. A connection that cannot get a
//! slot is answered `503` with a short JSON envelope and closed ([`refuse`]); at most
//! [`REFUSALS_MAX`] such answers are written at once, beyond that the socket is closed.
//!
//! **Timeouts.** With no request in flight, a connection must send the next request's
//! headers within `header_timeout_ms` (from its start, or from the first byte of a later
//! request), and an idle keep-alive connection is closed after `idle_timeout_ms` without
//! traffic. (The body deadline is in `read_body_in_time` of the HTTP module.) Each
//! connection sleeps until its own next deadline, so idle connections cost no wake-ups.

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::{Notify, Semaphore};
use tracing::warn;

use super::login::address_key;
use crate::config::Limits;

/// File descriptors kept for database files, WAL segments and the like.
pub const FD_RESERVE: usize = 256;
/// Most refusals being written at once.
pub const REFUSALS_MAX: usize = 64;
/// How long a refusal may take to write and drain.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(1);

/// Milliseconds since the process's first use of this module.
fn now_ms() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// What a connection is doing, shared by its IO, its service and the tracker.
#[derive(Debug, Default)]
pub struct Activity {
    /// Requests being handled.
    in_flight: AtomicU32,
    /// When the connection last had no request in flight (its start, or a response's end).
    waiting_since_ms: AtomicU64,
    /// When the first byte of the next request came (0: none yet).
    header_since_ms: AtomicU64,
    /// The last write to the client.
    last_write_ms: AtomicU64,
    /// At least one request was served.
    served: AtomicBool,
    /// Told to close (evicted).
    kill: Notify,
    /// Set with `kill`, so a close asked before the watchdog waits is not missed.
    killed: AtomicBool,
    /// What `/connections` shows of it.
    pub usage: Usage,
}

/// What `GET /connections` shows of a connection (OrientDB's `OServerInfo.getConnections`).
#[derive(Debug, Default)]
pub struct Usage {
    /// When it was accepted, in milliseconds since the Unix epoch.
    pub connected_on_ms: AtomicU64,
    /// When its last request came, in milliseconds since the Unix epoch.
    pub last_request_ms: AtomicU64,
    /// Requests it sent.
    pub requests: AtomicU64,
    /// The client's address.
    pub peer: Mutex<Option<std::net::SocketAddr>>,
    /// The user and database its last authenticated request named.
    pub last: Mutex<(String, String)>,
}

/// Milliseconds since the Unix epoch.
fn wall_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl Usage {
    /// Notes the user and database of an authenticated request.
    pub fn note(&self, user: &str, db: Option<&str>) {
        let mut l = lock(&self.last);
        *l = (user.to_string(), db.unwrap_or("-").to_string());
    }
}

/// Ends a request's in-flight count when dropped.
#[derive(Debug)]
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let a = &self.0;
        let now = now_ms();
        a.waiting_since_ms.store(now, Ordering::Relaxed);
        a.header_since_ms.store(0, Ordering::Relaxed);
        a.served.store(true, Ordering::Relaxed);
        a.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Activity {
    fn new() -> Activity {
        let a = Activity::default();
        a.waiting_since_ms.store(now_ms(), Ordering::Relaxed);
        a.usage.connected_on_ms.store(wall_ms(), Ordering::Relaxed);
        a
    }

    /// A request's headers arrived.
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.header_since_ms.store(0, Ordering::Relaxed);
        self.usage.requests.fetch_add(1, Ordering::Relaxed);
        self.usage.last_request_ms.store(wall_ms(), Ordering::Relaxed);
        InFlight(self.clone())
    }

    fn on_read(&self) {
        if self.in_flight.load(Ordering::Relaxed) == 0 && self.header_since_ms.load(Ordering::Relaxed) == 0 {
            self.header_since_ms.store(now_ms().max(1), Ordering::Relaxed);
        }
    }

    /// When this connection is to be closed if nothing changes (None: a request is in
    /// flight; look again after `recheck`).
    fn deadline_ms(&self, t: &Timeouts) -> Option<u64> {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let header = self.header_since_ms.load(Ordering::Relaxed);
        if header != 0 {
            return Some(header + t.header_ms);
        }
        let since = self.waiting_since_ms.load(Ordering::Relaxed).max(self.last_write_ms.load(Ordering::Relaxed));
        let limit = if self.served.load(Ordering::Relaxed) { t.idle_ms } else { t.header_ms };
        Some(since + limit)
    }

    /// Closes the connection (from elsewhere).
    fn close(&self) {
        self.killed.store(true, Ordering::Relaxed);
        self.kill.notify_one();
    }
}

/// The timeouts the watchdog applies.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Headers must arrive within this long.
    header_ms: u64,
    /// Idle keep-alive connections close after this long.
    idle_ms: u64,
}

/// Why a connection ended by the watchdog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// Its headers did not arrive in time.
    HeaderTimeout,
    /// It was idle too long.
    Idle,
    /// It was evicted to make room.
    Evicted,
}

/// Waits until `activity`'s connection should be closed, and says why.
pub async fn watchdog(activity: &Activity, t: Timeouts) -> Closed {
    loop {
        if activity.killed.load(Ordering::Relaxed) {
            return Closed::Evicted;
        }
        let now = now_ms();
        let wake = match activity.deadline_ms(&t) {
            Some(d) if d <= now => {
                return if activity.header_since_ms.load(Ordering::Relaxed) != 0
                    || !activity.served.load(Ordering::Relaxed)
                {
                    Closed::HeaderTimeout
                } else {
                    Closed::Idle
                };
            }
            Some(d) => d - now,
            None => t.header_ms,
        };
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(wake)) => {}
            _ = activity.kill.notified() => return Closed::Evicted,
        }
    }
}

/// A socket that reports its traffic to an [`Activity`].
#[derive(Debug)]
pub struct Watched<S> {
    /// The socket.
    inner: S,
    /// Its connection's activity.
    activity: Arc<Activity>,
}

impl<S> Watched<S> {
    /// Wraps a socket.
    pub fn new(inner: S, activity: Arc<Activity>) -> Watched<S> {
        Watched { inner, activity }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.on_read();
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.last_write_ms.store(now_ms(), Ordering::Relaxed);
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The open connections of a server.
#[derive(Debug)]
pub struct Tracker {
    /// Most open connections.
    max_total: usize,
    /// Most open connections per address.
    max_per_address: usize,
    /// The timeouts.
    timeouts: Timeouts,
    /// Open connections by id.
    live: Mutex<HashMap<u64, Arc<Activity>>>,
    /// Open connections per address key.
    per_address: Mutex<HashMap<IpAddr, usize>>,
    /// The next connection id.
    next_id: AtomicU64,
    /// Refusals being written.
    refusals: Arc<Semaphore>,
    /// Refusals since the last refusal log line, and when that was.
    refused: Mutex<(u64, Option<Instant>)>,
}

/// A connection's place; dropping it frees the place.
#[derive(Debug)]
pub struct Slot {
    /// The tracker.
    tracker: Arc<Tracker>,
    /// The connection id.
    id: u64,
    /// The address key.
    address: IpAddr,
    /// The connection's activity.
    pub activity: Arc<Activity>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        lock(&self.tracker.live).remove(&self.id);
        let mut per = lock(&self.tracker.per_address);
        if let Some(n) = per.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                per.remove(&self.address);
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The soft limit on open files, from `/proc/self/limits` (None if unreadable).
fn open_files_limit() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line.trim_start_matches("Max open files").split_whitespace().next()?;
    if soft == "unlimited" {
        return Some(usize::MAX);
    }
    soft.parse().ok()
}

impl Tracker {
    /// A tracker for `limits`, with the total lowered to what the open-file limit allows.
    pub fn new(limits: &Limits) -> Tracker {
        let mut max_total = limits.max_connections;
        if let Some(files) = open_files_limit() {
            let allowed = files.saturating_sub(FD_RESERVE).max(files / 2).max(16);
            if allowed < max_total {
                warn!(
                    max_connections = max_total,
                    open_files_limit = files,
                    using = allowed,
                    "max_connections lowered to fit the open-file limit (raise it with ulimit -n or LimitNOFILE)"
                );
                max_total = allowed;
            }
        }
        Tracker {
            max_total,
            max_per_address: limits.max_connections_per_address,
            timeouts: Timeouts { header_ms: limits.header_timeout_ms, idle_ms: limits.idle_timeout_ms },
            live: Mutex::new(HashMap::new()),
            per_address: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            refusals: Arc::new(Semaphore::new(REFUSALS_MAX)),
            refused: Mutex::new((0, None)),
        }
    }

    /// The open connections by id, in id order.
    pub fn connections(&self) -> Vec<(u64, Arc<Activity>)> {
        let mut v: Vec<_> = lock(&self.live).iter().map(|(id, a)| (*id, a.clone())).collect();
        v.sort_by_key(|(id, _)| *id);
        v
    }

    /// The timeouts.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// A place for a connection from `ip`, or why there is none.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, String> {
        let address = address_key(ip);
        {
            let mut per = lock(&self.per_address);
            let n = per.entry(address).or_insert(0);
            if *n >= self.max_per_address {
                return Err(format!(
                    "too many connections from {ip} ({} open); close some and retry",
                    self.max_per_address
                ));
            }
            *n += 1;
        }
        let mut live = lock(&self.live);
        if live.len() >= self.max_total {
            let victim = live
                .values()
                .filter(|a| a.in_flight.load(Ordering::Relaxed) == 0 && !a.killed.load(Ordering::Relaxed))
                .min_by_key(|a| {
                    a.header_since_ms.load(Ordering::Relaxed).max(a.waiting_since_ms.load(Ordering::Relaxed))
                });
            match victim {
                Some(v) => v.close(),
                None => {
                    drop(live);
                    self.release_address(address);
                    return Err(format!("the server has {} connections open, all busy; retry shortly", self.max_total));
                }
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let activity = Arc::new(Activity::new());
        live.insert(id, activity.clone());
        Ok(Slot { tracker: self.clone(), id, address, activity })
    }

    fn release_address(&self, address: IpAddr) {
        let mut per = lock(&self.per_address);
        if let Some(n) = per.get_mut(&address) {
            *n -= 1;
            if *n == 0 {
                per.remove(&address);
            }
        }
    }

    /// Answers a connection that got no place with a 503 (plain HTTP) or closes it (TLS),
    /// without holding more than [`REFUSALS_MAX`] such sockets at once.
    pub fn refuse(&self, stream: tokio::net::TcpStream, plain_http: bool, why: String) {
        self.note_refusal(&why);
        let Ok(permit) = self.refusals.clone().try_acquire_owned() else { return };
        if !plain_http {
            return;
        }
        tokio::spawn(async move {
            let _permit = permit;
            let _ = tokio::time::timeout(REFUSAL_TIMEOUT, write_refusal(stream, &why)).await;
        });
    }

    /// Logs refusals at most once a second, with the count since the last line.
    fn note_refusal(&self, why: &str) {
        let mut r = lock(&self.refused);
        r.0 += 1;
        if r.1.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            warn!(refused = r.0, reason = %why, "connections refused: no connection place");
            *r = (0, Some(Instant::now()));
        }
    }
}

/// Writes the 503 envelope, then reads (and drops) what the client sent, so closing does not
/// reset the connection before it read the answer.
async fn write_refusal(mut stream: tokio::net::TcpStream, why: &str) {
    use tokio::io::AsyncReadExt;
    let body =
        serde_json::json!({"errors": [{"code": 503, "reason": "Service unavailable", "content": why}]}).to_string();
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n",
        body.len()
    );
    if stream.write_all(head.as_bytes()).await.is_err() || stream.write_all(body.as_bytes()).await.is_err() {
        return;
    }
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 4096];
    let mut read = 0usize;
    while read < 64 << 10 {
        match stream.read(&mut sink).await {
            Ok(0) | Err(_) => break,
            Ok(n) => read += n,
        }
    }
}

/// Backs off after failed `accept`s (EMFILE and the like) and logs once per burst.
#[derive(Debug, Default)]
pub struct AcceptBackoff {
    /// Failures in this burst.
    failures: u64,
    /// When the burst started.
    since: Option<Instant>,
}

impl AcceptBackoff {
    /// The shortest wait after a failure.
    const MIN: Duration = Duration::from_millis(10);
    /// The longest wait after a failure.
    const MAX: Duration = Duration::from_secs(1);

    /// Counts a failure (logging the first of a burst) and returns how long to wait.
    pub fn failed(&mut self, e: &std::io::Error) -> Duration {
        if self.failures == 0 {
            warn!(error = %e, "accept failed; backing off until it works again (logged once per burst)");
            self.since = Some(Instant::now());
        }
        self.failures += 1;
        let doublings = (self.failures - 1).min(7) as u32;
        Self::MIN.saturating_mul(1 << doublings).min(Self::MAX)
    }

    /// An accept worked: ends a burst (logging its size).
    pub fn succeeded(&mut self) {
        if self.failures > 0 {
            let ms = self.since.map(|s| s.elapsed().as_millis() as u64).unwrap_or(0);
            warn!(failures = self.failures, ms, "accept works again");
            self.failures = 0;
            self.since = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(total: usize, per: usize) -> Limits {
        Limits { max_connections: total, max_connections_per_address: per, ..Limits::default() }
    }

    #[test]
    fn per_address_and_total_caps_hold_and_idle_connections_make_room() {
        let t = Arc::new(Tracker::new(&limits(3, 2)));
        let a = IpAddr::from([10, 0, 0, 1]);
        let s1 = t.admit(a).unwrap();
        let s2 = t.admit(a).unwrap();
        assert!(t.admit(a).unwrap_err().contains("too many connections from 10.0.0.1"));
        let busy = s1.activity.begin();
        let _busy2 = s2.activity.begin();
        let s3 = t.admit(IpAddr::from([10, 0, 0, 2])).unwrap();
        // Full: the only connection without a request in flight is closed for the newcomer.
        let s4 = t.admit(IpAddr::from([10, 0, 0, 3])).unwrap();
        assert!(s3.activity.killed.load(Ordering::Relaxed));
        drop(s3);
        let _busy4 = s4.activity.begin();
        assert!(t.admit(IpAddr::from([10, 0, 0, 4])).unwrap_err().contains("all busy"));
        drop(busy);
        drop(s1);
        assert!(t.admit(a).is_ok(), "a closed connection frees its places");
    }

    #[test]
    fn deadlines_follow_the_phase() {
        let t = Timeouts { header_ms: 100, idle_ms: 1000 };
        let a = Arc::new(Activity::new());
        let start = a.waiting_since_ms.load(Ordering::Relaxed);
        assert_eq!(a.deadline_ms(&t), Some(start + 100), "the first request's headers");
        let g = a.begin();
        assert_eq!(a.deadline_ms(&t), None, "in flight");
        drop(g);
        let idle = a.deadline_ms(&t).unwrap();
        assert!(idle >= start + 1000, "idle keep-alive");
        a.on_read();
        assert!(a.deadline_ms(&t).unwrap() < idle, "a request started: its headers are due");
    }

    #[test]
    fn accept_backoff_grows_and_is_bounded() {
        let mut b = AcceptBackoff::default();
        let e = std::io::Error::from_raw_os_error(24);
        let waits: Vec<Duration> = (0..12).map(|_| b.failed(&e)).collect();
        assert_eq!(waits[0], AcceptBackoff::MIN);
        assert!(waits.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(*waits.last().unwrap(), AcceptBackoff::MAX);
        b.succeeded();
        assert_eq!(b.failed(&e), AcceptBackoff::MIN);
    }
}
