//! Logins under abuse: password checks on a small fixed pool, failed attempts slowed per
//! client address and per user name, and failures written to the audit log.
//!
//! **Bounded work.** A login not in the cache of successful ones (`Users::cached`) becomes a
//! job for one of `login_workers` threads (one per core by default) through a queue of
//! `login_queue` places; a full queue is refused at once with 503 and `Retry-After`. Each
//! worker reuses its own argon2 memory, so all checks together hold at most workers x
//! 19 MiB (see `users`), however many clients knock.
//!
//! **Slowed failures.** Each client address (IPv6: its /64) and each user name has a
//! failure count. Past `login_free_failures`, each attempt reserves a slot
//! `login_delay_base_ms` x 2^(n - free - 1) after the previous one (at most
//! `login_delay_max_ms`); attempts in flight count too, so parallel guesses queue behind each
//! other. An attempt whose slot is at most `login_wait_max_ms` away waits for it; a later one
//! is refused at once with 429 and `Retry-After`. A success clears the user name's count;
//! counts are forgotten after `login_forget_ms` without a failure. Both tables are bounded
//! ([`TABLE_MAX`] entries; the oldest entry goes first), so fresh names or addresses cannot
//! grow memory. Names are kept as keyed hashes, never as sent.
//!
//! **Audit.** Events go to `tracing` with `target: "audit"` and an `event` field:
//! `login_failed` (each checked failure), `login_throttled` (once per throttled spell of an
//! address or name), `login_overload` (at most once a second while the queue refuses).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::warn;

use super::ApiError;
use crate::config::Limits;
use crate::users::{Checked, Role, Users};

/// Most entries in each failure table (addresses, names).
pub const TABLE_MAX: usize = 8192;
/// Longest user name written to the audit log.
const LOGGED_NAME_MAX: usize = 64;

/// The failure-slowing knobs, from `[limits]`.
#[derive(Debug, Clone, Copy)]
struct Schedule {
    /// Failures that are not slowed.
    free: u32,
    /// The first delay.
    base: Duration,
    /// The longest delay.
    max: Duration,
    /// The longest wait an attempt sits out; beyond it, 429.
    wait_max: Duration,
    /// Counts are forgotten after this long without a failure.
    forget: Duration,
}

impl Schedule {
    /// The gap reserved after attempt number `n` (1-based, failures and attempts in flight).
    fn gap(&self, n: u32) -> Duration {
        if n <= self.free {
            return Duration::ZERO;
        }
        let doublings = (n - self.free - 1).min(30);
        self.base.saturating_mul(1u32 << doublings).min(self.max)
    }
}

/// One address's or name's failures.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Failed checks counted.
    failures: u32,
    /// Attempts admitted and not finished.
    pending: u32,
    /// The earliest time the next attempt may run.
    next_slot: Instant,
    /// The last failure (or creation).
    last: Instant,
    /// A throttled refusal was logged in this spell.
    throttle_logged: bool,
}

/// A bounded map of failure entries.
#[derive(Debug)]
struct Table<K> {
    /// Entries by key.
    map: HashMap<K, Entry>,
}

impl<K: Hash + Eq + Clone> Table<K> {
    fn new() -> Table<K> {
        Table { map: HashMap::new() }
    }

    /// The entry of `key`, made (evicting if the table is full) or refreshed.
    fn entry(&mut self, key: &K, now: Instant, schedule: &Schedule) -> &mut Entry {
        if !self.map.contains_key(key) && self.map.len() >= TABLE_MAX {
            self.map.retain(|_, e| e.pending > 0 || now.duration_since(e.last) < schedule.forget);
            if self.map.len() >= TABLE_MAX {
                let oldest = self.map.iter().filter(|(_, e)| e.pending == 0).min_by_key(|(_, e)| e.last);
                let victim = oldest.or_else(|| self.map.iter().min_by_key(|(_, e)| e.last)).map(|(k, _)| k.clone());
                if let Some(k) = victim {
                    self.map.remove(&k);
                }
            }
        }
        let e = self.map.entry(key.clone()).or_insert(Entry {
            failures: 0,
            pending: 0,
            next_slot: now,
            last: now,
            throttle_logged: false,
        });
        if e.pending == 0 && now.duration_since(e.last) >= schedule.forget {
            *e = Entry { failures: 0, pending: 0, next_slot: now, last: now, throttle_logged: false };
        }
        e
    }
}

/// The failure tables.
#[derive(Debug)]
struct Throttle {
    /// The schedule.
    schedule: Schedule,
    /// The key for name hashes.
    seed: u64,
    /// Entries by client address.
    addresses: Mutex<Table<IpAddr>>,
    /// Entries by keyed hash of the user name.
    names: Mutex<Table<u64>>,
}

/// An admitted attempt; dropping it unfinished releases its reservation.
#[derive(Debug)]
struct Ticket {
    /// The tables.
    throttle: Arc<Throttle>,
    /// The client address, if known.
    address: Option<IpAddr>,
    /// The name's key.
    name: u64,
    /// Recorded already.
    done: bool,
}

impl Ticket {
    /// Records the outcome of the check.
    fn finish(mut self, ok: bool) {
        self.done = true;
        self.throttle.release(self.address, self.name, Some(ok));
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if !self.done {
            self.throttle.release(self.address, self.name, None);
        }
    }
}

/// Keys an address by itself (IPv4) or its /64 (IPv6: one subscriber's block).
pub(super) fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Throttle {
    fn name_key(&self, name: &str) -> u64 {
        xxhash_rust::xxh3::xxh3_64_with_seed(name.as_bytes(), self.seed)
    }

    /// Admits an attempt after a wait, or refuses it with the seconds to wait.
    fn admit(self: &Arc<Self>, address: Option<IpAddr>, name: &str) -> Result<(Ticket, Duration), u64> {
        let now = Instant::now();
        let s = self.schedule;
        let key = self.name_key(name);
        let mut addresses = lock(&self.addresses);
        let mut names = lock(&self.names);
        let mut by_address = address.map(|a| *addresses.entry(&address_key(a), now, &s));
        let mut by_name = *names.entry(&key, now, &s);
        let wait = [by_address.as_ref(), Some(&by_name)]
            .into_iter()
            .flatten()
            .map(|e| e.next_slot.saturating_duration_since(now))
            .max()
            .unwrap_or_default();
        if wait > s.wait_max {
            let first_refusal = !by_name.throttle_logged || by_address.is_some_and(|e| !e.throttle_logged);
            if first_refusal {
                warn!(target: "audit", event = "login_throttled", user = ?logged_name(name), address = ?address,
                      retry_after_ms = wait.as_millis() as u64, "logins slowed after repeated failures");
            }
            if let Some(a) = address {
                addresses.entry(&address_key(a), now, &s).throttle_logged = true;
            }
            names.entry(&key, now, &s).throttle_logged = true;
            return Err(wait.as_secs() + 1);
        }
        for e in by_address.iter_mut().chain(std::iter::once(&mut by_name)) {
            e.pending += 1;
            e.next_slot = e.next_slot.max(now) + s.gap(e.failures + e.pending);
            e.throttle_logged = false;
        }
        if let (Some(a), Some(e)) = (address, by_address) {
            *addresses.entry(&address_key(a), now, &s) = e;
        }
        *names.entry(&key, now, &s) = by_name;
        Ok((Ticket { throttle: self.clone(), address, name: key, done: false }, wait))
    }

    /// Ends an attempt: `Some(ok)` after a check, `None` if it never ran.
    fn release(&self, address: Option<IpAddr>, name: u64, outcome: Option<bool>) {
        let now = Instant::now();
        let s = self.schedule;
        let update = |e: &mut Entry, reset: bool| {
            e.pending = e.pending.saturating_sub(1);
            match outcome {
                Some(false) => {
                    e.failures = e.failures.saturating_add(1);
                    e.last = now;
                }
                Some(true) if reset => {
                    *e = Entry { failures: 0, pending: e.pending, next_slot: now, last: now, throttle_logged: false }
                }
                _ => {}
            }
        };
        if let Some(a) = address {
            update(lock(&self.addresses).entry(&address_key(a), now, &s), false);
        }
        update(lock(&self.names).entry(&name, now, &s), true);
    }
}

/// A password check for a worker.
struct Job {
    /// The user name.
    name: String,
    /// The password.
    password: String,
    /// The client address (for the audit log).
    address: Option<IpAddr>,
    /// The attempt's reservation.
    ticket: Ticket,
    /// Where the outcome goes.
    reply: tokio::sync::oneshot::Sender<Checked>,
}

/// The login pool and failure tables of a server.
#[derive(Debug)]
pub struct LoginGuard {
    /// The users.
    users: Arc<Users>,
    /// The job queue (bounded).
    queue: SyncSender<Job>,
    /// Worker threads.
    workers: usize,
    /// Queue places.
    queue_max: usize,
    /// The failure tables.
    throttle: Arc<Throttle>,
    /// Logins refused because the queue was full.
    refused: AtomicU64,
    /// When the last `login_overload` event was logged.
    overload_logged: Mutex<Option<Instant>>,
}

fn logged_name(name: &str) -> &str {
    let mut end = name.len().min(LOGGED_NAME_MAX);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// A worker: checks passwords until the guard is dropped.
fn worker(users: Arc<Users>, jobs: Arc<Mutex<Receiver<Job>>>) {
    loop {
        let job = match lock(&jobs).recv() {
            Ok(j) => j,
            Err(_) => return,
        };
        let checked = users.check(&job.name, &job.password);
        job.ticket.finish(checked.role.is_some());
        if checked.role.is_none() {
            warn!(target: "audit", event = "login_failed", user = ?logged_name(&job.name), address = ?job.address,
                  known_user = checked.known_user, "failed login");
        }
        let _ = job.reply.send(checked);
    }
}

impl LoginGuard {
    /// Starts the workers.
    pub fn new(users: Arc<Users>, limits: &Limits) -> LoginGuard {
        let workers = match limits.login_workers {
            0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            n => n,
        };
        let queue_max = limits.login_queue.max(1);
        let (queue, rx) = sync_channel(queue_max);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..workers {
            let (u, r) = (users.clone(), rx.clone());
            if let Err(e) = std::thread::Builder::new().name(format!("basalt-login-{i}")).spawn(move || worker(u, r)) {
                warn!(error = %e, "cannot start a login worker");
            }
        }
        let schedule = Schedule {
            free: limits.login_free_failures,
            base: Duration::from_millis(limits.login_delay_base_ms),
            max: Duration::from_millis(limits.login_delay_max_ms),
            wait_max: Duration::from_millis(limits.login_wait_max_ms),
            forget: Duration::from_millis(limits.login_forget_ms),
        };
        let throttle = Arc::new(Throttle {
            schedule,
            seed: rand::random(),
            addresses: Mutex::new(Table::new()),
            names: Mutex::new(Table::new()),
        });
        LoginGuard {
            users,
            queue,
            workers,
            queue_max,
            throttle,
            refused: AtomicU64::new(0),
            overload_logged: Mutex::new(None),
        }
    }

    /// The role of `name` if `password` is right; otherwise the answer to send (401, 429
    /// when this address or name must wait, 503 when the pool is full).
    pub async fn login(&self, address: Option<IpAddr>, name: &str, password: &str) -> Result<Role, ApiError> {
        if let Some(role) = self.users.cached(name, password) {
            return Ok(role);
        }
        let (ticket, wait) = self.throttle.admit(address, name).map_err(|retry_s| {
            ApiError::too_many_requests(
                format!(
                    "too many failed logins from this address or for user '{}'; retry in {retry_s} s",
                    logged_name(name)
                ),
                retry_s,
            )
        })?;
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let (reply, outcome) = tokio::sync::oneshot::channel();
        let job = Job { name: name.to_string(), password: password.to_string(), address, ticket, reply };
        match self.queue.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.note_overload();
                return Err(ApiError::busy(
                    format!(
                        "too many logins are being checked right now ({} at once, {} waiting); retry in 1 s",
                        self.workers, self.queue_max
                    ),
                    1,
                ));
            }
        }
        let checked = outcome.await.map_err(|_| ApiError::internal("the login check was lost"))?;
        checked
            .role
            .ok_or_else(|| ApiError::unauthorized(format!("wrong user name or password for '{}'", logged_name(name))))
    }

    /// Counts a refusal for a full queue; logs at most once a second.
    fn note_overload(&self) {
        let refused = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
        let mut last = lock(&self.overload_logged);
        if last.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            *last = Some(Instant::now());
            warn!(target: "audit", event = "login_overload", refused_total = refused, workers = self.workers,
                  queue = self.queue_max, "login checks refused: the queue is full");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(free: u32) -> Arc<Throttle> {
        Arc::new(Throttle {
            schedule: Schedule {
                free,
                base: Duration::from_millis(100),
                max: Duration::from_secs(10),
                wait_max: Duration::from_secs(2),
                forget: Duration::from_secs(600),
            },
            seed: 7,
            addresses: Mutex::new(Table::new()),
            names: Mutex::new(Table::new()),
        })
    }

    #[test]
    fn failures_past_the_free_ones_are_spaced_exponentially_then_refused() {
        let t = throttle(2);
        let ip = Some(IpAddr::from([10, 0, 0, 1]));
        let mut waits = Vec::new();
        for _ in 0..8 {
            match t.admit(ip, "root") {
                Ok((ticket, wait)) => {
                    waits.push(wait);
                    ticket.finish(false);
                }
                Err(retry) => {
                    assert!(retry >= 2, "{retry}");
                    break;
                }
            }
        }
        assert_eq!(waits[0], Duration::ZERO);
        assert_eq!(waits[1], Duration::ZERO);
        assert!(waits.len() < 8, "refused once the wait passes wait_max: {waits:?}");
        assert!(waits.windows(2).all(|w| w[1] >= w[0]), "{waits:?}");
        // Another name from the same address waits too; the same name from elsewhere too.
        assert!(t.admit(ip, "other").is_err());
        assert!(t.admit(Some(IpAddr::from([10, 0, 0, 2])), "root").is_err());
        assert!(t.admit(Some(IpAddr::from([10, 0, 0, 3])), "fresh").is_ok());
    }

    #[test]
    fn the_tables_are_bounded() {
        let t = throttle(0);
        for i in 0..(TABLE_MAX as u32 + 500) {
            let ip = IpAddr::from(i.to_be_bytes());
            if let Ok((ticket, _)) = t.admit(Some(ip), &format!("user{i}")) {
                ticket.finish(false);
            }
        }
        assert!(lock(&t.addresses).map.len() <= TABLE_MAX);
        assert!(lock(&t.names).map.len() <= TABLE_MAX);
    }

    #[test]
    fn ipv6_addresses_are_keyed_by_their_64_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        let c: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(address_key(c), IpAddr::from([10, 0, 0, 1]));
    }
}
