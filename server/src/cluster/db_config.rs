//! A database's `distributed-config.json`: which servers hold it and in which role, its
//! quorums, and a version that increases with each change.
//!
//! The file keeps OrientDB's layout (`OHazelcastPlugin`'s default config, in
//! `orientechnologies/orientdb`, `distributed/src/main/resources/default-distributed-db-config.json`):
//! `"servers"` maps a server name (or `*`, every other server) to `master` or `replica`,
//! `"writeQuorum"` is a number or `"majority"`, `"readQuorum"` a number; Basalt adds
//! `"version"` (absent in a fresh copy of the default: version 0). Unknown fields are kept.
//!
//! [`change`] is the one way to modify the file: it reads it, applies the caller's edit,
//! bumps the version and writes it atomically ([`super::store::write_atomically`]). Keeping
//! the file the same on every node is the replication layer's job: it will call [`change`]
//! when a configuration entry commits. Until then the only caller is `HA REMOVE SERVER`
//! (which drops the server from every database's config on the node that ran it).

use std::path::Path;

use basalt_net::membership::Role;
use serde_json::{Map, Value};

use crate::registry::DB_CONFIG_FILE;

/// The parsed file.
pub type DbConfig = Map<String, Value>;

/// Reads a database's config; an error names the file and what is wrong.
pub fn read(db_dir: &Path) -> Result<DbConfig, String> {
    let path = db_dir.join(DB_CONFIG_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    match serde_json::from_str(&text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(format!("{} is not a JSON object", path.display())),
        Err(e) => Err(format!("{} is not valid JSON: {e}", path.display())),
    }
}

/// The config's version (0 for a fresh copy of the default).
pub fn version(config: &DbConfig) -> u64 {
    config.get("version").and_then(Value::as_u64).unwrap_or(0)
}

/// Applies `edit` to the database's config, bumps its version and writes it atomically;
/// returns the new version. The seam replication calls for every committed config change.
pub fn change(db_dir: &Path, edit: impl FnOnce(&mut DbConfig)) -> Result<u64, String> {
    let mut config = read(db_dir)?;
    let next = version(&config) + 1;
    edit(&mut config);
    config.insert("version".into(), Value::from(next));
    let path = db_dir.join(DB_CONFIG_FILE);
    let text = serde_json::to_string_pretty(&Value::Object(config)).unwrap_or_default() + "\n";
    super::store::write_atomically(&path, text.as_bytes()).map_err(|e| format!("writing {}: {e}", path.display()))?;
    Ok(next)
}

/// Lists `name` with `role` under `"servers"`.
pub fn set_server(config: &mut DbConfig, name: &str, role: Role) {
    let servers = config.entry("servers").or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(m) = servers {
        m.insert(name.to_owned(), Value::from(role.name().to_ascii_lowercase()));
    }
}

/// Drops `name` from `"servers"`; true if it was listed.
pub fn remove_server(config: &mut DbConfig, name: &str) -> bool {
    config.get_mut("servers").and_then(Value::as_object_mut).is_some_and(|m| m.remove(name).is_some())
}

/// The role `name` has in this database (its own entry, else `*`'s, else MASTER).
pub fn role_of(config: &DbConfig, name: &str) -> Role {
    let servers = config.get("servers").and_then(Value::as_object);
    let named = servers.and_then(|m| m.get(name).or_else(|| m.get("*"))).and_then(Value::as_str);
    named.and_then(Role::parse).unwrap_or(Role::Master)
}

/// The write quorum in nodes for `masters` MASTER servers: a number as written (at most
/// `masters`, at least 1), or `"majority"` (and anything else): `masters / 2 + 1`.
pub fn write_quorum(config: &DbConfig, masters: usize) -> usize {
    let masters = masters.max(1);
    match config.get("writeQuorum").and_then(Value::as_u64) {
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX).clamp(1, masters),
        None => masters / 2 + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_bump_the_version_and_keep_other_fields() {
        let dir = tempfile::tempdir().unwrap();
        let default = crate::config::default_db_config_json();
        std::fs::write(dir.path().join(DB_CONFIG_FILE), default.to_string()).unwrap();
        let c = read(dir.path()).unwrap();
        assert_eq!((version(&c), role_of(&c, "n1"), write_quorum(&c, 3)), (0, Role::Master, 2));
        assert_eq!(change(dir.path(), |c| set_server(c, "n2", Role::Replica)).unwrap(), 1);
        let c = read(dir.path()).unwrap();
        assert_eq!((version(&c), role_of(&c, "n2"), role_of(&c, "n1")), (1, Role::Replica, Role::Master));
        assert_eq!(c["readYourWrites"], Value::Bool(true), "OrientDB's fields are kept");
        let mut removed = false;
        assert_eq!(change(dir.path(), |c| removed = remove_server(c, "n2")).unwrap(), 2);
        assert!(removed);
        assert_eq!(role_of(&read(dir.path()).unwrap(), "n2"), Role::Master);
        std::fs::write(dir.path().join(DB_CONFIG_FILE), "[1]").unwrap();
        assert!(change(dir.path(), |_| {}).unwrap_err().contains("is not a JSON object"));
        let mut c = DbConfig::new();
        c.insert("writeQuorum".into(), Value::from(5));
        assert_eq!(write_quorum(&c, 3), 3);
    }
}
