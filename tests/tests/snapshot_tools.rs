//! `basalt-snapshot` against real servers: an online snapshot taken while writes go on and an
//! offline one from the stopped home restore to databases with the same digest at the same
//! LSN; a restore never overwrites a database unasked, moves it to `backup/databases/` when
//! asked, and that backup directory restores too; a running server's home is refused; and a
//! damaged, truncated or newer-format snapshot is refused before anything is installed.

#![allow(clippy::unwrap_used)] // Tests fail loudly on any unexpected error.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use basalt_tests::server::{run_snapshot as snapshot, snapshot_ok as ok, snapshot_refused as refused, ServerProcess};
use serde_json::{json, Value};

const PASSWORD: &str = "snapshot-secret";
const DB: &str = "GratefulDeadConcerts";

fn start(home: &Path, demo: bool) -> ServerProcess {
    let mut args = vec!["--node-name", "n1"];
    if !demo {
        args.push("--no-demo");
    }
    ServerProcess::start(home, &args, &[("BASALT_ROOT_PASSWORD", PASSWORD)])
}

fn inspect(file: &Path) -> Value {
    serde_json::from_str(&ok(snapshot(&["inspect", "--json", file.to_str().unwrap()]))).unwrap()
}

fn digest_of(server: &ServerProcess, db: &str) -> (String, u64) {
    let d = server.client().get(&format!("/database/{db}/digest")).json();
    (d["digest"].as_str().unwrap().to_string(), d["lsn"].as_u64().unwrap())
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn online_and_offline_snapshots_restore_with_the_same_digest() {
    let tmp = tempfile::tempdir().unwrap();
    let (home_a, home_b) = (tmp.path().join("a"), tmp.path().join("b"));
    let (online, offline) = (tmp.path().join("online.snap"), tmp.path().join("offline.snap"));
    let mut a = start(&home_a, true);

    // Writes go on during the online snapshot.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (client, stop) = (a.client(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let r = client.post_json(
                    &format!("/command/{DB}/sql"),
                    &json!({"command": "CREATE VERTEX V SET during = ?", "parameters": [n]}),
                );
                assert_eq!(r.status, 200, "{}", r.text());
                n += 1;
            }
            n
        })
    };
    let url = a.base_url();
    ok(snapshot(&[
        "create",
        "--quiet",
        "--url",
        &url,
        "--user",
        "root",
        "--password",
        PASSWORD,
        "--db",
        DB,
        p(&online),
    ]));
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert!(written > 0);
    assert!(!PathBuf::from(format!("{}.partial", online.display())).exists());

    let header = inspect(&online)["header"].clone();
    assert_eq!(header["database"], DB);
    assert!(header["classes"]["V"].as_u64().unwrap() >= 809, "{header}");
    let verified = ok(snapshot(&["verify", "--quiet", p(&online)]));
    assert!(verified.contains("OK"), "{verified}");

    // The stopped home's snapshot holds the final state.
    let final_digest = digest_of(&a, DB);
    a.terminate();
    ok(snapshot(&["create", "--quiet", "--home", p(&home_a), "--db", DB, p(&offline)]));
    let off = inspect(&offline)["header"].clone();
    assert_eq!((off["digest"].as_str().unwrap().to_string(), off["lsn"].as_u64().unwrap()), final_digest);

    // Restore both into another home and compare through its server.
    std::fs::create_dir_all(&home_b).unwrap();
    ok(snapshot(&["restore", "--quiet", p(&online), "--home", p(&home_b), "--as", "Online"]));
    ok(snapshot(&["restore", "--quiet", p(&offline), "--home", p(&home_b)]));
    let b = ServerProcess::start(&home_b, &["--node-name", "n2", "--no-demo"], &[("BASALT_ROOT_PASSWORD", PASSWORD)]);
    // Another node's copy: its first start here writes this node's membership into its log
    // and elects it, so the LSN moves past the image's while the data digest stays the same.
    let (online_digest, online_lsn) = digest_of(&b, "Online");
    assert_eq!(online_digest, header["digest"].as_str().unwrap());
    assert!(online_lsn > header["lsn"].as_u64().unwrap(), "{online_lsn} vs {header}");
    let (restored_digest, restored_lsn) = digest_of(&b, DB);
    assert_eq!(restored_digest, final_digest.0);
    assert!(restored_lsn > final_digest.1);
    assert!(b.stderr().contains("taking it over as the only voter"), "{}", b.stderr());
    assert_eq!(b.client().post_json(&format!("/document/{DB}"), &json!({"@class": "V", "after": 1})).status, 201);
    let count = b.client().get("/query/Online/sql/SELECT%20count(*)%20AS%20n%20FROM%20V").json();
    assert_eq!(count["result"][0]["n"].as_u64(), header["classes"]["V"].as_u64());

    // A running server's home is refused, naming its PID.
    let err = refused(snapshot(&["restore", "--quiet", p(&offline), "--home", p(&home_b), "--as", "X"]));
    assert!(err.contains("is running") && err.contains(&b.pid().to_string()), "{err}");
    drop(b);
}

#[test]
fn restore_moves_what_it_replaces_to_backup_and_a_backup_dir_restores() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("h");
    let file = tmp.path().join("gd.snap");
    let mut server = start(&home, true);
    let before = digest_of(&server, DB);
    let r = server.client().post_json(&format!("/command/{DB}/sql"), &json!({"command": "DELETE VERTEX V"}));
    assert_eq!(r.status, 200, "{}", r.text());
    let emptied = digest_of(&server, DB);
    server.terminate();
    ok(snapshot(&["create", "--quiet", "--home", p(&home), "--db", DB, p(&file)]));

    // The snapshot holds the emptied database; the original is gone. Restoring over the
    // existing database needs --replace, and moves it aside.
    let err = refused(snapshot(&["restore", "--quiet", p(&file), "--home", p(&home)]));
    assert!(err.contains("--replace"), "{err}");
    let report: Value = serde_json::from_str(&ok(snapshot(&[
        "restore",
        "--json",
        "--quiet",
        p(&file),
        "--home",
        p(&home),
        "--replace",
    ])))
    .unwrap();
    let backup = PathBuf::from(report["movedToBackup"].as_str().unwrap());
    assert!(backup.starts_with(home.join("backup").join("databases")), "{}", backup.display());
    assert!(backup.join("checkpoint").is_file());

    // The backup directory restores as its own database, with the contents it had.
    ok(snapshot(&["restore", "--quiet", p(&backup), "--home", p(&home), "--as", "Old"]));
    assert!(backup.is_dir(), "restoring from a backup directory copies it; the backup stays");
    let server = start(&home, false);
    assert_eq!(digest_of(&server, DB).0, emptied.0);
    assert_eq!(digest_of(&server, "Old").0, emptied.0, "the backup held the database as it was when replaced");
    assert_ne!(before.0, emptied.0);
    let listed = server.client().get("/listDatabases").json();
    let names: Vec<&str> = listed["databases"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
    assert!(names.contains(&"Old") && names.contains(&DB), "{listed}");
}

#[test]
fn damaged_snapshots_are_refused_before_anything_is_installed() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("h");
    let file = tmp.path().join("gd.snap");
    let mut server = start(&home, true);
    server.terminate();
    ok(snapshot(&["create", "--quiet", "--home", p(&home), "--db", DB, p(&file)]));
    let good = std::fs::read(&file).unwrap();
    let target = tmp.path().join("target");
    std::fs::create_dir_all(&target).unwrap();

    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut flipped = good.clone();
    flipped[good.len() / 2] ^= 0x01;
    cases.push(("a flipped byte", flipped));
    cases.push(("a truncation", good[..good.len() * 2 / 3].to_vec()));
    let mut newer = good.clone();
    newer[8] = 99;
    cases.push(("a newer version", newer));
    for (what, bytes) in cases {
        let bad = tmp.path().join("bad.snap");
        std::fs::write(&bad, &bytes).unwrap();
        let err = refused(snapshot(&["verify", "--quiet", p(&bad)]));
        match what {
            "a flipped byte" => assert!(err.contains("chunk") && err.contains("damaged"), "{what}: {err}"),
            "a truncation" => assert!(err.contains("truncated"), "{what}: {err}"),
            _ => assert!(err.contains("version 99"), "{what}: {err}"),
        }
        let err = refused(snapshot(&["restore", "--quiet", p(&bad), "--home", p(&target), "--as", "X"]));
        assert!(!err.is_empty());
        let databases = target.join("databases");
        let left: Vec<_> = std::fs::read_dir(&databases).unwrap().collect();
        assert!(left.is_empty(), "{what}: a restore left {left:?} behind");
    }
}
