//! OrientDB's HTTP sessions (`OHttpSessionManager`, `OServerCommandGetConnect`,
//! `OServerCommandGetDisconnect`): `GET /connect/{db}` with Basic credentials answers 204
//! and the cookie `OSESSIONID=<id>; Path=/; HttpOnly; SameSite=Strict`; later requests that
//! carry the cookie and no credentials are authenticated by it; `GET /disconnect` forgets it
//! and answers 401 "Logged out".
//!
//! Promises:
//! - A session belongs to one database (as in `OServerCommandAuthenticatedDbAbstract`): used
//!   on a path naming another database it is removed and the request answered 401. It
//!   authenticates only paths that name a database (`/{command}/{db}/...`); server paths
//!   (`/listDatabases`, `/server`, ...) need credentials.
//! - Basic credentials of another user on the same request win over the cookie.
//! - The table is bounded: at most `max_sessions` sessions ([limits] of basalt.toml); a new
//!   one past the bound replaces the least recently used. A session unused for
//!   `session_timeout_ms` expires. Ids are 128 random bits from the OS.
//! - A session acts with its user's current role (the user list is checked on every use);
//!   removing the user ends the session at its next use.
//!
//! The table is sans-IO: every method takes `now`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap};

use super::Caller;
use crate::users::Role;

/// The cookie's name.
pub const COOKIE: &str = "OSESSIONID";
/// The cookie value OrientDB sets on logout (`SESSIONID_UNAUTHORIZED`).
pub const LOGGED_OUT: &str = "-";

/// One session.
#[derive(Debug, Clone)]
struct Session {
    /// Who logged in.
    user: String,
    /// Their role then.
    role: Role,
    /// The database it belongs to.
    db: String,
    /// Its last use.
    last_used: Instant,
}

/// Why a cookie did not authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// No such session (never existed, expired, or evicted): try the credentials.
    Unknown,
    /// The session belongs to another database; it was removed.
    OtherDatabase(String),
}

/// The session table.
#[derive(Debug)]
pub struct Sessions {
    /// Most sessions held.
    max: usize,
    /// A session unused this long expires.
    ttl: Duration,
    /// Sessions by id.
    table: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// A table of at most `max` sessions (at least 1) expiring after `ttl` unused.
    pub fn new(max: usize, ttl: Duration) -> Sessions {
        Sessions { max: max.max(1), ttl, table: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens a session of `caller` on `db`; answers its id.
    pub fn create(&self, caller: &Caller, db: &str, now: Instant) -> String {
        let id = new_id();
        let mut t = self.lock();
        t.retain(|_, s| now.saturating_duration_since(s.last_used) < self.ttl);
        while t.len() >= self.max {
            let Some(oldest) = t.iter().min_by_key(|(_, s)| s.last_used).map(|(k, _)| k.clone()) else { break };
            t.remove(&oldest);
        }
        t.insert(
            id.clone(),
            Session { user: caller.user.clone(), role: caller.role, db: db.to_string(), last_used: now },
        );
        assert!(t.len() <= self.max, "the session table holds more than its bound");
        id
    }

    /// The caller a session id stands for on a request naming database `db`.
    pub fn caller(&self, id: &str, db: &str, now: Instant) -> Result<Caller, Refused> {
        let mut t = self.lock();
        let Some(s) = t.get_mut(id) else { return Err(Refused::Unknown) };
        if now.saturating_duration_since(s.last_used) >= self.ttl {
            t.remove(id);
            return Err(Refused::Unknown);
        }
        if s.db != db {
            let other = s.db.clone();
            t.remove(id);
            return Err(Refused::OtherDatabase(other));
        }
        s.last_used = now;
        Ok(Caller { user: s.user.clone(), role: s.role })
    }

    /// The user a session belongs to (for the "other user's credentials win" rule).
    pub fn user_of(&self, id: &str) -> Option<String> {
        self.lock().get(id).map(|s| s.user.clone())
    }

    /// Forgets a session; true if it existed.
    pub fn remove(&self, id: &str) -> bool {
        self.lock().remove(id).is_some()
    }

    /// Sessions held now (expired ones included until they are next looked at).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no session is held.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// 128 random bits, as OrientDB's ids start: `OS` and hex.
fn new_id() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("OS{hex}")
}

/// The `OSESSIONID` cookie of a request (not the logged-out marker).
pub fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| k.trim() == COOKIE)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| v.len() > 1)
}

/// The `Set-Cookie` value for a session id (OrientDB's `OHttpResponseImpl.send`, with
/// `SameSite=Strict` as `network.http.session.cookie.sameSite` defaults to): a page of
/// another site cannot make the browser send it.
pub fn set_cookie(id: &str) -> String {
    format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict")
}

/// The database a path names (`/{command}/{db}/...`), if any. `/distributed/...` and
/// `/users/...` name none.
pub fn path_database(path: &str) -> Option<String> {
    let mut parts = path.trim_start_matches('/').split('/');
    let command = parts.next()?;
    let db = parts.next().filter(|d| !d.is_empty())?;
    if ["distributed", "users", "connections", "listDatabases", "server", "metrics"].contains(&command) {
        return None;
    }
    let decoded = percent_decode(db);
    Some(decoded)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex =
            b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(x)) => {
                out.push(x);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(user: &str) -> Caller {
        Caller { user: user.into(), role: Role::Writer }
    }

    #[test]
    fn sessions_are_bounded_expire_and_stay_in_their_database() {
        let t0 = Instant::now();
        let s = Sessions::new(3, Duration::from_secs(60));
        let ids: Vec<String> = (0..5).map(|i| s.create(&caller("u"), "db", t0 + Duration::from_secs(i))).collect();
        assert_eq!(s.len(), 3, "the table keeps its bound");
        // The two least recently used were replaced.
        let now = t0 + Duration::from_secs(10);
        assert_eq!(s.caller(&ids[0], "db", now).err(), Some(Refused::Unknown));
        assert_eq!(s.caller(&ids[1], "db", now).err(), Some(Refused::Unknown));
        assert_eq!(s.caller(&ids[4], "db", now).map(|c| c.user), Ok("u".to_string()));
        // Another database: refused and removed.
        assert_eq!(s.caller(&ids[3], "other", now).err(), Some(Refused::OtherDatabase("db".into())));
        assert_eq!(s.caller(&ids[3], "db", now).err(), Some(Refused::Unknown));
        // Unused for the timeout: expired. A use renews it.
        let late = now + Duration::from_secs(59);
        assert!(s.caller(&ids[4], "db", late).is_ok());
        assert_eq!(s.caller(&ids[2], "db", late).err(), Some(Refused::Unknown));
        assert_eq!(s.caller(&ids[4], "db", late + Duration::from_secs(60)).err(), Some(Refused::Unknown));
        assert!(s.is_empty());
        assert_ne!(new_id(), new_id());
    }

    #[test]
    fn cookies_and_paths() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=b; OSESSIONID=OSabc; c=d".parse().unwrap());
        assert_eq!(cookie(&h).as_deref(), Some("OSabc"));
        h.insert(header::COOKIE, "OSESSIONID=-".parse().unwrap());
        assert_eq!(cookie(&h), None);
        assert_eq!(path_database("/query/my%20db/sql/x").as_deref(), Some("my db"));
        assert_eq!(path_database("/connect/db").as_deref(), Some("db"));
        assert_eq!(path_database("/listDatabases"), None);
        assert_eq!(path_database("/distributed/status"), None);
    }
}
