//! Server users and roles: who may do what, with passwords stored as argon2 hashes in
//! `<home>/config/users.json` (mode 0600).
//!
//! Checking an argon2 hash takes tens of milliseconds on purpose, too slow for every HTTP
//! request, so a successful check is remembered under a keyed hash of (user, password) that
//! only this process can compute; changing users clears it.
//!
//! **Cost, bounded and equal.** New hashes are argon2id v19 with [`ARGON2_MEMORY_KIB`] KiB,
//! [`ARGON2_PASSES`] passes and [`ARGON2_LANES`] lane. A check runs in memory owned by the
//! calling thread and reused (the login workers of `http::login` are a fixed few, so the
//! memory of all checks is workers x the hash's memory cost); a stored hash asking for more
//! than [`ARGON2_MEMORY_KIB_MAX`] is refused. A name that is not a user is checked against a
//! dummy hash with the same parameters, so a refusal costs the same whether the name exists
//! or not.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use argon2::password_hash::{Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use serde::{Deserialize, Serialize};

/// The users file name under `<home>/config/`.
pub const USERS_FILE: &str = "users.json";
/// Most remembered successful logins.
const LOGIN_CACHE_MAX: usize = 10_000;
/// argon2 memory cost of new hashes, in KiB (19 MiB: OWASP's argon2id minimum).
pub const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
/// argon2 passes of new hashes.
pub const ARGON2_PASSES: u32 = 2;
/// argon2 lanes of new hashes.
pub const ARGON2_LANES: u32 = 1;
/// The most memory a stored hash may make one check use, in KiB.
pub const ARGON2_MEMORY_KIB_MAX: u32 = 64 * 1024;
/// The default shortest password.
pub const MIN_PASSWORD_LENGTH: usize = 8;
/// The longest password accepted.
pub const MAX_PASSWORD_LENGTH: usize = 1024;

thread_local! {
    /// The argon2 working memory of this thread, reused by every check it runs.
    static ARGON2_BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read data.
    Reader,
    /// Read and write data.
    Writer,
    /// Everything: schema, databases, users.
    Admin,
}

impl Role {
    /// Parses a role name.
    pub fn parse(s: &str) -> Option<Role> {
        match s.to_ascii_lowercase().as_str() {
            "reader" => Some(Role::Reader),
            "writer" => Some(Role::Writer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// The role's name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Writer => "writer",
            Role::Admin => "admin",
        }
    }
}

/// A stored user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    /// Role.
    pub role: Role,
    /// argon2 PHC string.
    pub hash: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct UsersFile {
    users: BTreeMap<String, User>,
}

/// Why a user operation failed.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// IO on the users file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The users file is damaged.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Hashing failed.
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// Bad user name or password.
    #[error("{0}")]
    Bad(String),
    /// No such user.
    #[error("user '{0}' not found")]
    NotFound(String),
}

/// The users of a server.
#[derive(Debug)]
pub struct Users {
    /// The users file.
    path: PathBuf,
    /// Users by name.
    users: Mutex<BTreeMap<String, User>>,
    /// Remembered logins: keyed hash of (user, password) → role.
    logins: Mutex<HashMap<u128, Role>>,
    /// This process's key for the login cache.
    cache_key: u128,
    /// Shortest password for new users and changed passwords.
    min_password_length: usize,
    /// The hash unknown names are checked against (made on first use).
    dummy_hash: OnceLock<String>,
}

/// What a password check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    /// The user's role if the password matched.
    pub role: Option<Role>,
    /// Whether the name is a user (for the audit log only; never tell the client).
    pub known_user: bool,
}

/// The argon2 instance new hashes are made with.
fn hasher() -> Argon2<'static> {
    let params = Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, ARGON2_LANES, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_password(password: &str) -> Result<String, UserError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| UserError::Hash(e.to_string()))
}

/// Checks `password` against a PHC string, in this thread's reused memory. False for a
/// wrong password and for a hash that cannot be checked (malformed, or too costly).
fn verify_phc(phc: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else { return false };
    let Ok(params) = Params::try_from(&parsed) else { return false };
    if params.m_cost() > ARGON2_MEMORY_KIB_MAX {
        return false;
    }
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else { return false };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return false };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else { return false };
    let mut out = vec![0u8; expected.len()];
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let hashed = ARGON2_BLOCKS.with(|memory| {
        let mut memory = memory.borrow_mut();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        argon2.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut memory[..blocks])
    });
    // `Output`'s equality is constant-time.
    hashed.is_ok() && Output::new(&out).is_ok_and(|o| o == expected)
}

/// A random password of 24 letters and digits.
pub fn generate_password() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..24).map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char).collect()
}

fn valid_user_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
}

impl Users {
    /// Loads the users file of a home (creating an empty set if it does not exist).
    pub fn load(config_dir: &Path) -> Result<Users, UserError> {
        let path = config_dir.join(USERS_FILE);
        let users = match std::fs::read_to_string(&path) {
            Ok(text) => {
                serde_json::from_str::<UsersFile>(&text)
                    .map_err(|e| UserError::Invalid { path: path.clone(), message: e.to_string() })?
                    .users
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(UserError::Io { path, source: e }),
        };
        Ok(Users {
            path,
            users: Mutex::new(users),
            logins: Mutex::new(HashMap::new()),
            cache_key: rand::random(),
            min_password_length: MIN_PASSWORD_LENGTH,
            dummy_hash: OnceLock::new(),
        })
    }

    /// Sets the shortest password [`set`](Self::set) accepts.
    pub fn with_min_password_length(mut self, chars: usize) -> Users {
        self.min_password_length = chars.max(1);
        self
    }

    /// The shortest password [`set`](Self::set) accepts.
    pub fn min_password_length(&self) -> usize {
        self.min_password_length
    }

    /// True when no user exists yet (the first run).
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, User>> {
        self.users.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn save(&self, users: &BTreeMap<String, User>) -> Result<(), UserError> {
        let text = serde_json::to_string_pretty(&UsersFile { users: users.clone() })
            .map_err(|e| UserError::Invalid { path: self.path.clone(), message: e.to_string() })?;
        let tmp = self.path.with_extension("json.tmp");
        let io = |source| UserError::Io { path: tmp.clone(), source };
        {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(io)?;
            f.write_all(text.as_bytes()).map_err(|source| UserError::Io { path: tmp.clone(), source })?;
            f.sync_all().map_err(|source| UserError::Io { path: tmp.clone(), source })?;
        }
        std::fs::rename(&tmp, &self.path).map_err(|source| UserError::Io { path: self.path.clone(), source })?;
        self.logins.lock().unwrap_or_else(|p| p.into_inner()).clear();
        Ok(())
    }

    /// Adds or replaces a user.
    pub fn set(&self, name: &str, password: &str, role: Role) -> Result<(), UserError> {
        if !valid_user_name(name) {
            return Err(UserError::Bad(format!("'{name}' is not a valid user name (letters, digits, - _ . @)")));
        }
        let chars = password.chars().count();
        if chars < self.min_password_length {
            return Err(UserError::Bad(format!(
                "the password has {chars} characters; it needs at least {} (min_password_length in [limits] of basalt.toml)",
                self.min_password_length
            )));
        }
        if password.len() > MAX_PASSWORD_LENGTH {
            return Err(UserError::Bad(format!("the password is longer than {MAX_PASSWORD_LENGTH} bytes")));
        }
        let hash = hash_password(password)?;
        let mut users = self.lock();
        users.insert(name.to_string(), User { role, hash });
        self.save(&users)
    }

    /// Removes a user.
    pub fn remove(&self, name: &str) -> Result<(), UserError> {
        let mut users = self.lock();
        if users.remove(name).is_none() {
            return Err(UserError::NotFound(name.to_string()));
        }
        self.save(&users)
    }

    /// Names and roles.
    pub fn list(&self) -> Vec<(String, Role)> {
        self.lock().iter().map(|(n, u)| (n.clone(), u.role)).collect()
    }

    /// The role of a user whose password matches, or `None` (cache, then a full check).
    pub fn authenticate(&self, name: &str, password: &str) -> Option<Role> {
        self.cached(name, password).or_else(|| self.check(name, password).role)
    }

    fn cache_key(&self, name: &str, password: &str) -> u128 {
        let mut h = xxhash_rust::xxh3::Xxh3::with_seed(self.cache_key as u64);
        h.update(&self.cache_key.to_le_bytes());
        h.update(name.as_bytes());
        h.update(&[0]);
        h.update(password.as_bytes());
        h.digest128()
    }

    /// The role of a login that succeeded before (no argon2 work), or `None`.
    pub fn cached(&self, name: &str, password: &str) -> Option<Role> {
        let key = self.cache_key(name, password);
        self.logins.lock().unwrap_or_else(|p| p.into_inner()).get(&key).copied()
    }

    /// Checks a password with argon2: exactly one check whether or not `name` is a user
    /// (unknown names are checked against a dummy hash). Slow on purpose: run it on a login
    /// worker. A success is remembered for [`cached`](Self::cached).
    pub fn check(&self, name: &str, password: &str) -> Checked {
        let user = self.lock().get(name).cloned();
        let Some(user) = user else {
            let dummy = self.dummy_hash.get_or_init(|| hash_password(&generate_password()).unwrap_or_default());
            verify_phc(dummy, password);
            return Checked { role: None, known_user: false };
        };
        if !verify_phc(&user.hash, password) {
            return Checked { role: None, known_user: true };
        }
        let key = self.cache_key(name, password);
        let mut logins = self.logins.lock().unwrap_or_else(|p| p.into_inner());
        if logins.len() >= LOGIN_CACHE_MAX {
            logins.clear();
        }
        logins.insert(key, user.role);
        Checked { role: Some(user.role), known_user: true }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hashed_checked_and_persisted() {
        let dir = tempfile::tempdir().unwrap();
        let users = Users::load(dir.path()).unwrap();
        assert!(users.is_empty());
        users.set("root", "s3cret-pw", Role::Admin).unwrap();
        users.set("ro", "reader-pw", Role::Reader).unwrap();
        let text = std::fs::read_to_string(dir.path().join(USERS_FILE)).unwrap();
        assert!(!text.contains("s3cret"), "only hashes are stored");
        assert!(text.contains("$argon2"));
        assert_eq!(users.authenticate("root", "s3cret-pw"), Some(Role::Admin));
        assert_eq!(users.cached("root", "s3cret-pw"), Some(Role::Admin), "cached");
        assert_eq!(users.authenticate("root", "s3cret-pw"), Some(Role::Admin));
        assert_eq!(users.authenticate("root", "wrong"), None);
        assert_eq!(users.authenticate("nobody", "x"), None);
        let again = Users::load(dir.path()).unwrap();
        assert_eq!(again.authenticate("ro", "reader-pw"), Some(Role::Reader));
        again.remove("ro").unwrap();
        assert_eq!(again.authenticate("ro", "reader-pw"), None);
        assert!(again.set("bad name", "long-enough", Role::Reader).is_err());
    }

    #[test]
    fn short_passwords_are_refused_and_unknown_names_cost_a_check() {
        let dir = tempfile::tempdir().unwrap();
        let users = Users::load(dir.path()).unwrap();
        let err = users.set("u", "1234567", Role::Reader).unwrap_err().to_string();
        assert!(err.contains("at least 8"), "{err}");
        users.set("u", "12345678", Role::Reader).unwrap();
        let text = std::fs::read_to_string(dir.path().join(USERS_FILE)).unwrap();
        assert!(text.contains("$argon2id$v=19$m=19456,t=2,p=1$"), "{text}");
        assert_eq!(users.check("u", "nope-nope"), Checked { role: None, known_user: true });
        assert_eq!(users.check("ghost", "nope-nope"), Checked { role: None, known_user: false });
        assert!(users.dummy_hash.get().is_some_and(|h| h.starts_with("$argon2id$")), "unknown names hit argon2");
        let short = Users::load(dir.path()).unwrap().with_min_password_length(3);
        short.set("v", "abc", Role::Reader).unwrap();
        // A stored hash asking for more memory than the bound is never checked.
        let costly = "$argon2id$v=19$m=1048576,t=2,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert!(!verify_phc(costly, "x"));
    }
}
