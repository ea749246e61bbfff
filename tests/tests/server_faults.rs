//! IO faults against a real `basalt-server`: a database that cannot open, a full disk on a
//! loop-mounted filesystem, and an injected fdatasync failure (libfiu). The database must
//! show OFFLINE with its reason, answer 503 (never 404), log the failure at ERROR, and come
//! back by itself, with no restart, once the cause is gone.
//!
//! The disk-full test needs root and loop devices (it skips with a message otherwise); the
//! fsync test needs `fiu-run` and `fiu-ctrl` (`apt-get install -y fiu-utils`, done by
//! `.ci/run`).

#![allow(clippy::unwrap_used)] // Tests fail loudly on any unexpected error.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use basalt_tests::server::{wait_until, write_config, Client, Launch, ServerProcess};
use serde_json::{json, Value};

const PASSWORD: &str = "faults-secret";
/// Reopen tries come quickly in these tests.
const LIMITS: &str = "[limits]\nreopen_backoff_initial_ms = 200\nreopen_backoff_max_ms = 1000\n";

fn start(home: &Path) -> ServerProcess {
    write_config(home, LIMITS);
    ServerProcess::start(home, &["--no-demo", "--node-name", "n1"], &[("BASALT_ROOT_PASSWORD", PASSWORD)])
}

fn status_of(c: &Client, db: &str) -> Value {
    let list = c.get("/listDatabases").ok_json();
    assert!(list["databases"].as_array().unwrap().iter().any(|n| n == db), "{list}");
    list["databaseStatus"][db].clone()
}

#[test]
fn a_database_that_cannot_open_answers_503_with_the_reason_and_comes_back_when_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let mut server = start(&home);
    let c = server.client();
    assert_eq!(c.post_empty("/database/dmg").status, 200);
    assert_eq!(c.post_empty("/database/ok").status, 200);
    let rec = c.post_json("/document/dmg", &json!({"@class": "V", "name": "x"})).ok_json();
    let rid = rec["@rid"].as_str().unwrap().trim_start_matches('#').to_string();
    server.terminate();

    // Damage the first page of the record's cluster file.
    let cluster = rid.split(':').next().unwrap();
    let pcl = home.join("databases/dmg").join(format!("cluster{cluster}.pcl"));
    let original = std::fs::read(&pcl).unwrap();
    let mut bad = original.clone();
    for b in bad.iter_mut().take(64) {
        *b ^= 0x5a;
    }
    std::fs::write(&pcl, &bad).unwrap();

    let mut server = ServerProcess::start(&home, &[], &[]);
    server.set_root_password(PASSWORD);
    let c = server.client();
    let status = status_of(&c, "dmg");
    assert_eq!(status["status"], "OFFLINE", "{status}");
    assert!(status["reason"].as_str().unwrap().contains("cluster"), "{status}");
    assert_eq!(status_of(&c, "ok")["status"], "ONLINE");
    let why = c.get(&format!("/document/dmg/{rid}")).assert_error(503);
    assert!(why.contains("OFFLINE") && why.contains(&format!("cluster{cluster}.pcl")), "{why}");
    c.get("/database/dmg").assert_error(503);
    let node = c.get("/distributed/status").ok_json();
    assert_eq!(node["nodes"][0]["databases"]["dmg"]["status"], "OFFLINE", "{node}");
    assert!(server.stderr().contains("ERROR"), "{}", server.stderr());

    // Repaired: it is retried and serves again, without a restart.
    std::fs::write(&pcl, &original).unwrap();
    assert!(wait_until(Duration::from_secs(30), || status_of(&c, "dmg")["status"] == "ONLINE"), "{}", server.stderr());
    assert_eq!(c.get(&format!("/document/dmg/{rid}")).ok_json()["name"], "x");
    assert!(server.stderr().contains("ONLINE again"), "{}", server.stderr());
}

/// Writes one record with key `k`; returns the status.
fn write_key(c: &Client, k: u64) -> u16 {
    match c.try_request(
        "POST",
        "/document/d",
        Some((json!({"@class": "V", "k": k, "pad": "x".repeat(2000)}).to_string().as_bytes(), "application/json")),
        &[],
    ) {
        Ok(r) => r.status,
        Err(_) => 0,
    }
}

/// The keys present in database `d`.
fn keys(c: &Client) -> BTreeSet<u64> {
    let q = basalt_tests::server::encode_path_segment("SELECT k FROM V");
    let rows = c.get(&format!("/query/d/sql/{q}/-1")).ok_json();
    rows["result"].as_array().unwrap().iter().filter_map(|r| r["k"].as_u64()).collect()
}

/// The written keys by answer.
#[derive(Debug, Default)]
struct Outcomes {
    /// Answered 201.
    ok: BTreeSet<u64>,
    /// Answered as failed (503 and the like).
    failed: BTreeSet<u64>,
    /// Answered 504 "outcome unknown".
    unknown: BTreeSet<u64>,
}

impl Outcomes {
    fn write(&mut self, c: &Client, k: u64) -> u16 {
        let s = write_key(c, k);
        match s {
            201 => self.ok.insert(k),
            504 => self.unknown.insert(k),
            _ => self.failed.insert(k),
        };
        s
    }

    /// Every acknowledged write is there; none answered as failed is.
    fn check(&self, present: &BTreeSet<u64>) {
        let lost: Vec<_> = self.ok.difference(present).collect();
        assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
        let resurrected: Vec<_> = self.failed.intersection(present).collect();
        assert!(
            resurrected.is_empty(),
            "writes answered as failed (not \"outcome unknown\") are present: {resurrected:?} ({} failed, {} unknown)",
            self.failed.len(),
            self.unknown.len()
        );
    }
}

/// A loop-mounted ext4 filesystem, unmounted on drop.
struct LoopFs {
    /// The mount point.
    mnt: std::path::PathBuf,
    /// Keeps the image's directory.
    _dir: tempfile::TempDir,
}

impl Drop for LoopFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.mnt).status();
    }
}

fn sh(cmd: &str) -> bool {
    Command::new("sh").args(["-c", cmd]).status().is_ok_and(|s| s.success())
}

fn loop_fs(mib: u64) -> Option<LoopFs> {
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root || !Path::new("/dev/loop-control").exists() {
        eprintln!("SKIPPED: the disk-full test needs root and loop devices (/dev/loop-control)");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("disk.img");
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let img_s = img.display();
    assert!(sh(&format!("truncate -s {mib}M {img_s} && mkfs.ext4 -q -F -m 0 {img_s} >/dev/null 2>&1")), "mkfs.ext4");
    assert!(
        sh(&format!("mount -o loop {img_s} {}", mnt.display())),
        "mount -o loop failed (as root, with loop devices)"
    );
    Some(LoopFs { mnt, _dir: dir })
}

#[test]
fn a_full_disk_takes_the_database_offline_and_it_comes_back_when_space_returns() {
    let Some(fs) = loop_fs(48) else { return };
    let home = fs.mnt.join("home");
    let server = start(&home);
    let c = server.client();
    assert_eq!(c.post_empty("/database/d").status, 200);
    let mut out = Outcomes::default();
    for k in 0..20 {
        assert_eq!(out.write(&c, k), 201);
    }
    // Fill the disk.
    let filler = fs.mnt.join("filler");
    sh(&format!("dd if=/dev/zero of={} bs=1M status=none 2>/dev/null", filler.display()));
    let mut k = 1000;
    let mut failures = 0;
    while failures < 5 && k < 5000 {
        if out.write(&c, k) != 201 {
            failures += 1;
        }
        k += 1;
    }
    assert!(failures >= 5, "writes kept succeeding on a full disk");
    assert!(wait_until(Duration::from_secs(10), || status_of(&c, "d")["status"] == "OFFLINE"), "{}", server.stderr());
    let status = status_of(&c, "d");
    assert!(status["reason"].as_str().unwrap().contains("No space left"), "{status}");
    assert!(server.stderr().contains("ERROR"), "{}", server.stderr());
    c.get("/document/d/9:0").assert_error(503);

    std::fs::remove_file(&filler).unwrap();
    assert!(wait_until(Duration::from_secs(30), || status_of(&c, "d")["status"] == "ONLINE"), "{}", server.stderr());
    for k in 10_000..10_020 {
        assert_eq!(out.write(&c, k), 201, "writes resume with no restart");
    }
    assert!(server.stderr().contains("ONLINE again"));
    out.check(&keys(&c));
}

fn have_fiu() -> bool {
    let ok = |p: &str| Command::new(p).arg("-h").output().is_ok();
    ok("fiu-run") && ok("fiu-ctrl")
}

#[test]
fn a_failed_fdatasync_takes_the_database_offline_logs_an_error_and_it_comes_back() {
    if !have_fiu() {
        eprintln!("SKIPPED: needs fiu-run and fiu-ctrl (apt-get install -y fiu-utils)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    write_config(&home, LIMITS);
    let bin = basalt_tests::server::server_binary();
    let mut launch = Launch::new(&home)
        .args(&[
            "-x",
            bin.to_str().unwrap(),
            "--home",
            home.to_str().unwrap(),
            "--http-port",
            "0",
            "--http-bind",
            "127.0.0.1",
            "--no-demo",
            "--node-name",
            "n1",
        ])
        .env("BASALT_ROOT_PASSWORD", PASSWORD);
    launch.program = Some("fiu-run".into());
    launch.home = None;
    launch.free_port = false;
    let server = launch.start();
    let c = server.client();
    assert_eq!(c.post_empty("/database/d").status, 200);
    let mut out = Outcomes::default();
    for k in 0..10 {
        assert_eq!(out.write(&c, k), 201);
    }
    let pid = server.pid().to_string();
    let fiu = |cmd: &str| assert!(Command::new("fiu-ctrl").args(["-c", cmd, &pid]).status().unwrap().success());
    fiu("enable name=posix/io/sync/fdatasync");
    let mut k = 100;
    while k < 110 {
        out.write(&c, k);
        k += 1;
    }
    assert!(!out.failed.is_empty() || !out.unknown.is_empty(), "no write failed under a failing fdatasync");
    assert!(wait_until(Duration::from_secs(10), || status_of(&c, "d")["status"] == "OFFLINE"));
    assert!(server.stderr().lines().any(|l| l.contains("ERROR") && l.contains("OFFLINE")), "{}", server.stderr());
    fiu("disable name=posix/io/sync/fdatasync");
    assert!(wait_until(Duration::from_secs(30), || status_of(&c, "d")["status"] == "ONLINE"), "{}", server.stderr());
    for k in 1000..1010 {
        assert_eq!(out.write(&c, k), 201, "writes resume with no restart");
    }
    out.check(&keys(&c));
}
