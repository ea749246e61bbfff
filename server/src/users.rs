//! Server users and roles: who may do what, with passwords stored as argon2 hashes in
//! `<home>/config/users.json` (mode 0600).
//!
//! Checking an argon2 hash takes tens of milliseconds on purpose, too slow for every HTTP
//! request, so a successful check is remembered under a keyed hash of (user, password) that
//! only this process can compute; changing users clears it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use serde::{Deserialize, Serialize};

/// The users file name under `<home>/config/`.
pub const USERS_FILE: &str = "users.json";
/// Most remembered successful logins.
const LOGIN_CACHE_MAX: usize = 10_000;

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
}

fn hash_password(password: &str) -> Result<String, UserError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| UserError::Hash(e.to_string()))
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
        Ok(Users { path, users: Mutex::new(users), logins: Mutex::new(HashMap::new()), cache_key: rand::random() })
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
        if password.is_empty() {
            return Err(UserError::Bad("the password may not be empty".into()));
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

    /// The role of a user whose password matches, or `None`.
    pub fn authenticate(&self, name: &str, password: &str) -> Option<Role> {
        let key = {
            let mut h = xxhash_rust::xxh3::Xxh3::with_seed(self.cache_key as u64);
            h.update(&self.cache_key.to_le_bytes());
            h.update(name.as_bytes());
            h.update(&[0]);
            h.update(password.as_bytes());
            h.digest128()
        };
        if let Some(role) = self.logins.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Some(*role);
        }
        let user = self.lock().get(name).cloned()?;
        let parsed = PasswordHash::new(&user.hash).ok()?;
        Argon2::default().verify_password(password.as_bytes(), &parsed).ok()?;
        let mut logins = self.logins.lock().unwrap_or_else(|p| p.into_inner());
        if logins.len() >= LOGIN_CACHE_MAX {
            logins.clear();
        }
        logins.insert(key, user.role);
        Some(user.role)
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
        users.set("root", "s3cret", Role::Admin).unwrap();
        users.set("ro", "pw", Role::Reader).unwrap();
        let text = std::fs::read_to_string(dir.path().join(USERS_FILE)).unwrap();
        assert!(!text.contains("s3cret"), "only hashes are stored");
        assert!(text.contains("$argon2"));
        assert_eq!(users.authenticate("root", "s3cret"), Some(Role::Admin));
        assert_eq!(users.authenticate("root", "s3cret"), Some(Role::Admin), "cached");
        assert_eq!(users.authenticate("root", "wrong"), None);
        assert_eq!(users.authenticate("nobody", "x"), None);
        let again = Users::load(dir.path()).unwrap();
        assert_eq!(again.authenticate("ro", "pw"), Some(Role::Reader));
        again.remove("ro").unwrap();
        assert_eq!(again.authenticate("ro", "pw"), None);
        assert!(again.set("bad name", "x", Role::Reader).is_err());
    }
}
