//! The persisted member set: `<home>/cluster/members.json`, and the atomic file write it
//! and `distributed-config.json` share.
//!
//! ```json
//! {"version": 1,
//!  "members": [{"name": "n2", "role": "MASTER", "clusterAddress": "10.0.0.2:2434",
//!               "httpAddress": "10.0.0.2:2480"}],
//!  "removed": ["n4"]}
//! ```
//!
//! Promises: a write replaces the file whole or not at all (written to `members.json.tmp`,
//! fsynced, renamed over the old one, the directory fsynced), so a crash leaves the old
//! set or the new one. A file that does not parse stops the start with an error naming it
//! and saying what to do; it is never overwritten silently.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use basalt_net::gossip::Status;
use basalt_net::membership::{MemberInfo, Role};
use serde_json::{json, Value};

/// The directory under the home.
pub const CLUSTER_DIR: &str = "cluster";
/// The file in it.
pub const MEMBERS_FILE: &str = "members.json";
/// The format version written.
const FORMAT_VERSION: u64 = 1;

/// Where the member set lives.
pub fn members_path(home: &Path) -> PathBuf {
    home.join(CLUSTER_DIR).join(MEMBERS_FILE)
}

/// Writes `bytes` to `path` atomically and durably (temporary file, fsync, rename, fsync of
/// the directory).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().ok_or_else(|| std::io::Error::other(format!("{} has no directory", path.display())))?;
    std::fs::create_dir_all(dir)?;
    let mut tmp_name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

/// The members and removals persisted by an earlier run (none if the file is absent).
pub fn load(home: &Path) -> Result<(Vec<MemberInfo>, Vec<String>), String> {
    let path = members_path(home);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    parse(&text).map_err(|e| {
        format!(
            "{} is not a valid member list: {e}; fix it, or delete it to learn the members again from the seeds",
            path.display()
        )
    })
}

fn parse(text: &str) -> Result<(Vec<MemberInfo>, Vec<String>), String> {
    let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if v["version"].as_u64() != Some(FORMAT_VERSION) {
        return Err(format!("version {} (this server reads version {FORMAT_VERSION})", v["version"]));
    }
    let mut members = Vec::new();
    for (i, m) in v["members"].as_array().ok_or("\"members\" is not a list")?.iter().enumerate() {
        let field = |k: &str| m[k].as_str().ok_or_else(|| format!("member {i} has no \"{k}\""));
        let role = Role::parse(field("role")?).ok_or_else(|| format!("member {i}: role must be MASTER or REPLICA"))?;
        let cluster_addr: SocketAddr =
            field("clusterAddress")?.parse().map_err(|e| format!("member {i}: clusterAddress: {e}"))?;
        members.push(MemberInfo {
            name: field("name")?.to_owned(),
            role,
            cluster_addr,
            http_address: field("httpAddress")?.to_owned(),
        });
    }
    let removed = match v.get("removed") {
        None => Vec::new(),
        Some(r) => r
            .as_array()
            .ok_or("\"removed\" is not a list")?
            .iter()
            .map(|n| n.as_str().map(str::to_owned).ok_or("\"removed\" holds a non-string"))
            .collect::<Result<_, _>>()?,
    };
    Ok((members, removed))
}

/// The file's text for `status`.
pub fn render(status: &Status) -> String {
    let members: Vec<Value> = status
        .members
        .iter()
        .map(|m| {
            json!({
                "name": m.info.name, "role": m.info.role.name(),
                "clusterAddress": m.info.cluster_addr.to_string(), "httpAddress": m.info.http_address,
            })
        })
        .collect();
    let v = json!({"version": FORMAT_VERSION, "members": members, "removed": status.removed});
    serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
}

/// Persists `status`'s member set; a failure is logged (the set in memory stays right and
/// the next change writes again).
pub fn save(home: &Path, status: &Status) {
    let path = members_path(home);
    if let Err(e) = write_atomically(&path, render(status).as_bytes()) {
        tracing::error!("cannot write the member list {}: {e}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use basalt_net::membership::{Member, Reach};

    #[test]
    fn the_member_set_round_trips_and_bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()).unwrap(), (vec![], vec![]));
        let info = |n: &str| MemberInfo {
            name: n.into(),
            role: Role::Replica,
            cluster_addr: "127.0.0.1:2435".parse().unwrap(),
            http_address: "127.0.0.1:2480".into(),
        };
        let status = Status {
            me: info("me"),
            members: vec![Member { info: info("n2"), reach: Reach::Down }],
            removed: vec!["n9".into()],
        };
        save(dir.path(), &status);
        assert_eq!(load(dir.path()).unwrap(), (vec![info("n2")], vec!["n9".to_string()]));
        assert!(!members_path(dir.path()).with_extension("json.tmp").exists());
        std::fs::write(members_path(dir.path()), "{\"version\": 1, \"members\": [{\"name\": \"x\"}]}").unwrap();
        let e = load(dir.path()).unwrap_err();
        assert!(e.contains("members.json is not a valid member list: member 0 has no \"role\""), "{e}");
        assert!(e.contains("delete it"), "{e}");
    }
}
