//! The life of the real `basalt-server` process: restarts keep the data (after SIGINT,
//! SIGTERM and SIGKILL), SIGTERM lets the commits in flight finish and closes cleanly,
//! SIGKILL during concurrent writes loses no acknowledged write, databases found on disk
//! are opened (getting the default distributed config on their first load), a second
//! server on the same home is refused naming the running PID, and HTTPS with a configured
//! certificate.
//!
//! `BASALT_KILL_ROUNDS=n` runs the SIGKILL test for n rounds (default 200);
//! `BASALT_KILL_SEED=s` repeats a run's kill points (the seed is printed on failure).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use basalt_server::app::LOCK_FILE;
use basalt_tests::server::{wait_until, write_config, Client, Launch, ServerProcess};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

const PASSWORD: &str = "lifecycle-secret";
/// Threads writing at once.
const WRITERS: usize = 4;

fn start(home: &Path) -> ServerProcess {
    ServerProcess::start(home, &["--no-demo", "--node-name", "n1"], &[("BASALT_ROOT_PASSWORD", PASSWORD)])
}

fn rid_path(db: &str, rid: &str) -> String {
    format!("/document/{db}/{}", rid.trim_start_matches('#'))
}

/// The fields a writer sent, which the stored record must hold.
fn doc(round: u64, thread: usize, seq: u64) -> Value {
    // Varying sizes, now and then larger than a page, so a kill can land in a big write.
    let pad = "p".repeat(((seq * 7919 + thread as u64 * 104_729) % 12_000) as usize);
    json!({"@class": "V", "round": round, "thread": thread, "seq": seq, "pad": pad})
}

/// A write the server acknowledged with 201.
#[derive(Debug, Clone)]
struct Ack {
    rid: String,
    round: u64,
    thread: usize,
    seq: u64,
}

/// Threads POSTing documents until stopped or until the server stops answering.
struct Writers {
    stop: Arc<AtomicBool>,
    acked: Arc<AtomicUsize>,
    refused: Arc<AtomicUsize>,
    threads: Vec<JoinHandle<(Vec<Ack>, Vec<String>)>>,
}

impl Writers {
    fn start(client: &Client, db: &str, round: u64) -> Writers {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(AtomicUsize::new(0));
        let threads = (0..WRITERS)
            .map(|thread| {
                let (client, db, stop, acked) = (client.clone(), db.to_string(), stop.clone(), acked.clone());
                let refused = refused.clone();
                std::thread::spawn(move || {
                    let mut acks = Vec::new();
                    let mut refusals = Vec::new();
                    let mut seq = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let body = doc(round, thread, seq).to_string();
                        let path = format!("/document/{db}");
                        match client.try_request("POST", &path, Some((body.as_bytes(), "application/json")), &[]) {
                            Ok(r) if r.status == 201 => {
                                let rid = r.json()["@rid"].as_str().expect("@rid").to_string();
                                acks.push(Ack { rid, round, thread, seq });
                                acked.fetch_add(1, Ordering::Relaxed);
                                seq += 1;
                            }
                            // An answer that is not an acknowledgement (e.g. 503 while stopping).
                            Ok(r) => {
                                refusals.push(format!("{} {}", r.status, r.text()));
                                refused.fetch_add(1, Ordering::Relaxed);
                                seq += 1;
                            }
                            // No answer: the server is gone.
                            Err(_) => break,
                        }
                    }
                    (acks, refusals)
                })
            })
            .collect();
        Writers { stop, acked, refused, threads }
    }

    /// Waits until `n` writes were acknowledged (panics after a minute).
    fn wait_for(&self, n: usize) {
        let acked = self.acked.clone();
        assert!(
            wait_until(Duration::from_secs(60), || acked.load(Ordering::Relaxed) >= n),
            "only {} writes acknowledged",
            self.acked.load(Ordering::Relaxed)
        );
    }

    fn finish(self) -> (Vec<Ack>, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        let mut acks = Vec::new();
        let mut refusals = Vec::new();
        for t in self.threads {
            let (a, r) = t.join().expect("writer thread");
            acks.extend(a);
            refusals.extend(r);
        }
        (acks, refusals)
    }
}

/// Every acknowledged write is there with its content, at version 1.
fn check_acks(c: &Client, db: &str, acks: &[Ack]) -> Result<(), String> {
    for a in acks {
        let r = c.get(&rid_path(db, &a.rid));
        if r.status != 200 {
            return Err(format!("acknowledged {a:?} is missing: {} {}", r.status, r.text()));
        }
        let got = r.json();
        let want = doc(a.round, a.thread, a.seq);
        for field in ["round", "thread", "seq", "pad"] {
            if got[field] != want[field] {
                return Err(format!("acknowledged {a:?}: field {field} is {} not {}", got[field], want[field]));
            }
        }
        if got["@version"] != 1 {
            return Err(format!("acknowledged {a:?} has version {}", got["@version"]));
        }
    }
    Ok(())
}

/// Reads cluster 9 from position 0 to a little past the last acknowledged one: each record
/// there is either acknowledged or the one write each thread had in flight at the kill (its
/// next `seq`), never anything else.
fn check_no_strangers(c: &Client, db: &str, acks: &[Ack]) -> Result<usize, String> {
    let by_rid: BTreeMap<&str, &Ack> = acks.iter().map(|a| (a.rid.as_str(), a)).collect();
    let mut next_seq: BTreeMap<(u64, usize), u64> = BTreeMap::new();
    for a in acks {
        let n = next_seq.entry((a.round, a.thread)).or_insert(0);
        *n = (*n).max(a.seq + 1);
    }
    let last = acks.iter().filter_map(|a| a.rid.rsplit(':').next()?.parse::<u64>().ok()).max().unwrap_or(0);
    let mut found = 0;
    for pos in 0..=last + 2 * WRITERS as u64 {
        let rid = format!("#9:{pos}");
        let r = c.get(&rid_path(db, &rid));
        match r.status {
            404 => continue,
            200 => found += 1,
            other => return Err(format!("GET {rid}: {other} {}", r.text())),
        }
        if by_rid.contains_key(rid.as_str()) {
            continue;
        }
        let j = r.json();
        let (round, thread, seq) = (j["round"].as_u64(), j["thread"].as_u64(), j["seq"].as_u64());
        let (Some(round), Some(thread), Some(seq)) = (round, thread, seq) else {
            return Err(format!("{rid} is not a record the writers sent: {j}"));
        };
        let in_flight = next_seq.get(&(round, thread as usize)).copied().unwrap_or(0);
        if seq < in_flight && by_rid.values().any(|a| a.round == round && a.thread == thread as usize && a.seq == seq) {
            return Err(format!("{rid} duplicates an acknowledged write: {j}"));
        }
        if seq > in_flight {
            return Err(format!("{rid} is a write nobody sent yet (seq {seq}, next was {in_flight}): {j}"));
        }
        let want = doc(round, thread as usize, seq);
        if j["pad"] != want["pad"] {
            return Err(format!("{rid}: an unacknowledged write survived with other content: {j}"));
        }
    }
    Ok(found)
}

fn digest(c: &Client, db: &str) -> Value {
    c.get(&format!("/database/{db}/digest")).ok_json()
}

#[test]
fn restarts_keep_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let mut server = start(home);
    let c = server.client();
    assert_eq!(c.post_empty("/database/keep").status, 200);
    let mut rids = Vec::new();
    for i in 0..20 {
        let r = c.post_json("/document/keep", &json!({"@class": "V", "i": i, "name": format!("v{i}")}));
        rids.push(r.ok_json()["@rid"].as_str().unwrap().to_string());
    }
    let e = c.post_json("/document/keep", &json!({"@class": "E", "out": rids[0], "in": rids[1]})).ok_json();
    assert_eq!(c.patch_json(&rid_path("keep", &rids[2]), &json!({"changed": true})).status, 200);
    assert_eq!(c.delete(&rid_path("keep", &rids[3])).status, 204);
    assert_eq!(c.post_json("/users", &json!({"name": "w", "password": "writer-pw", "role": "writer"})).status, 201);
    let before: Vec<Value> = rids.iter().map(|r| c.get(&rid_path("keep", r)).json()).collect();
    let d = digest(&c, "keep");

    // SIGINT: a clean stop.
    let status = server.signal_and_wait("INT", Duration::from_secs(60));
    assert!(status.success(), "{status}: {}", server.stderr());
    assert!(server.stderr().contains("SIGINT received"), "{}", server.stderr());
    assert!(server.stderr().contains("database closed cleanly"), "{}", server.stderr());

    let mut again = start(home);
    let c = again.client();
    let after: Vec<Value> = rids.iter().map(|r| c.get(&rid_path("keep", r)).json()).collect();
    assert_eq!(after, before);
    assert_eq!(after[0]["out_E"], json!([e["@rid"]]));
    assert_eq!(after[2]["changed"], true);
    assert_eq!(after[3]["errors"][0]["code"], 404);
    assert_eq!(digest(&c, "keep"), d);
    assert_eq!(c.logout().login("w", "writer-pw").get("/listDatabases").status, 200, "users are kept");
    // Recovery had nothing to redo after a clean stop.
    assert!(again.stderr().contains("recovered_entries=0"), "{}", again.stderr());

    // After SIGKILL too (the log is replayed).
    c.post_json("/document/keep", &json!({"@class": "V", "late": 1})).ok_json();
    let d2 = digest(&c, "keep");
    again.kill();
    let third = start(home);
    assert_eq!(digest(&third.client(), "keep"), d2, "{}", third.stderr());
}

#[test]
fn sigterm_lets_commits_in_flight_finish_and_closes_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let mut server = start(home);
    let c = server.client();
    assert_eq!(c.post_empty("/database/t").status, 200);
    let writers = Writers::start(&c, "t", 0);
    writers.wait_for(40);
    let status = server.terminate();
    let (acks, refusals) = writers.finish();
    let log = server.stderr();
    assert!(status.success(), "{status}: {log}");
    for line in ["SIGTERM received", "database closed cleanly", "basalt-server stopped"] {
        assert!(log.contains(line), "the log lacks {line:?}:\n{log}");
    }
    assert!(!log.contains("still in use at shutdown"), "{log}");
    assert!(refusals.iter().all(|r| r.starts_with("503")), "answers that were neither 201 nor 503: {refusals:?}");

    let again = start(home);
    let c = again.client();
    check_acks(&c, "t", &acks).unwrap();
    check_no_strangers(&c, "t", &acks).unwrap();
    assert!(again.stderr().contains("recovered_entries=0"), "a clean close leaves nothing to redo: {}", again.stderr());
}

/// Every acknowledged write is present exactly once, and every other record is the one
/// write its thread had in flight at a kill (never a duplicate, never one nobody sent). One
/// query over the whole class, so it stays cheap after thousands of rounds; returns the
/// number of records.
fn check_all(c: &Client, db: &str, acks: &[Ack]) -> Result<usize, String> {
    let r = c.post_json(
        &format!("/command/{db}/sql"),
        &json!({"command": "SELECT @rid AS rid, round, thread, seq FROM V LIMIT -1"}),
    );
    if r.status != 200 {
        return Err(format!("listing the records: {} {}", r.status, r.text()));
    }
    let rows = r.json()["result"].as_array().cloned().unwrap_or_default();
    let mut seen: BTreeMap<(u64, u64, u64), Vec<String>> = BTreeMap::new();
    for row in &rows {
        let key = (row["round"].as_u64(), row["thread"].as_u64(), row["seq"].as_u64());
        let (Some(round), Some(thread), Some(seq)) = key else {
            return Err(format!("a record the writers did not send: {row}"));
        };
        seen.entry((round, thread, seq)).or_default().push(row["rid"].to_string());
    }
    let mut next_seq: BTreeMap<(u64, u64), u64> = BTreeMap::new();
    for a in acks {
        let n = next_seq.entry((a.round, a.thread as u64)).or_insert(0);
        *n = (*n).max(a.seq + 1);
        match seen.get(&(a.round, a.thread as u64, a.seq)) {
            Some(rids) if rids.len() == 1 => {}
            Some(rids) => return Err(format!("acknowledged {a:?} is there {} times: {rids:?}", rids.len())),
            None => return Err(format!("acknowledged {a:?} is missing")),
        }
    }
    let acked: std::collections::BTreeSet<(u64, u64, u64)> =
        acks.iter().map(|a| (a.round, a.thread as u64, a.seq)).collect();
    for ((round, thread, seq), rids) in &seen {
        if acked.contains(&(*round, *thread, *seq)) {
            continue;
        }
        let in_flight = next_seq.get(&(*round, *thread)).copied().unwrap_or(0);
        if *seq != in_flight || rids.len() != 1 {
            return Err(format!(
                "unacknowledged record round {round} thread {thread} seq {seq} ({rids:?}): only seq {in_flight}, once, may be there"
            ));
        }
    }
    Ok(rows.len())
}

/// SIGKILL at random moments while four writers go on, through the server and its
/// replicated log: every acknowledged write survives, none is applied twice. 200 rounds by
/// default (`BASALT_KILL_ROUNDS=n` for more, `BASALT_KILL_SEED=s` to replay).
#[test]
fn sigkill_during_concurrent_writes_loses_no_acknowledged_write() {
    let rounds: u64 = std::env::var("BASALT_KILL_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let seed: u64 = std::env::var("BASALT_KILL_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(rand::random);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let mut all_acks: Vec<Ack> = Vec::new();
    let mut last_round: Vec<Ack> = Vec::new();
    let started = std::time::Instant::now();
    for round in 0..rounds {
        let mut server = start(home);
        let c = server.client();
        if round == 0 {
            assert_eq!(c.post_empty("/database/k").status, 200);
        } else {
            // The last round's writes with their content; every round's writes by one listing
            // every tenth round (and after the last kill).
            let checked = check_acks(&c, "k", &last_round).and_then(|()| {
                if round % 10 == 0 {
                    check_all(&c, "k", &all_acks).map(|_| ())
                } else {
                    Ok(())
                }
            });
            if let Err(e) = checked {
                panic!("round {round} (BASALT_KILL_SEED={seed}): {e}\nlog of the recovery:\n{}", server.stderr());
            }
        }
        let writers = Writers::start(&c, "k", round);
        writers.wait_for(rng.gen_range(1..60));
        // Kill at a random moment a little later, while the writers keep going.
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..30)));
        server.kill();
        let (acks, refusals) = writers.finish();
        assert!(refusals.is_empty(), "round {round}: {refusals:?}");
        all_acks.extend(acks.iter().cloned());
        last_round = acks;
    }
    let server = start(home);
    let c = server.client();
    let found = match check_acks(&c, "k", &last_round).and_then(|()| check_all(&c, "k", &all_acks)) {
        Ok(found) => found,
        Err(e) => panic!("after the last kill (BASALT_KILL_SEED={seed}): {e}\nlog:\n{}", server.stderr()),
    };
    assert!(found >= all_acks.len());
    // Still writable after all that.
    assert_eq!(c.post_json("/document/k", &json!({"@class": "V", "after": true})).status, 201);
    eprintln!(
        "{rounds} kills in {:.1?}, {} acknowledged writes, {found} records (seed {seed})",
        started.elapsed(),
        all_acks.len()
    );
}

#[test]
fn dropping_a_database_while_writers_use_it() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let server = start(home);
    let c = server.client();
    assert_eq!(c.post_empty("/database/busy").status, 200);
    let writers = Writers::start(&c, "busy", 0);
    writers.wait_for(20);
    let dropped = c.delete("/database/busy");
    let acked_at_drop = writers.acked.load(Ordering::Relaxed);
    // Let every writer run into the dropped database a few times.
    let refused = writers.refused.clone();
    assert!(wait_until(Duration::from_secs(30), || refused.load(Ordering::Relaxed) >= 3 * WRITERS));
    let (acks, refusals) = writers.finish();
    if dropped.status == 204 {
        assert!(!home.join("databases").join("busy").exists());
        assert!(refusals.iter().all(|r| r.starts_with("404")), "{refusals:?}");
        // Only requests already in flight when the drop began were acknowledged after it.
        assert!(acks.len() <= acked_at_drop + WRITERS, "{} acks, {acked_at_drop} at the drop", acks.len());
    } else {
        // Requests kept it busy: refused as locked, and the data is intact.
        dropped.assert_error(423);
        check_acks(&c, "busy", &acks).unwrap();
    }
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
    assert_eq!(c.post_empty("/database/other").status, 200, "still serving");
}

/// Records per class of the demo database, as `GET /database/{db}` reports them.
fn demo_counts(c: &Client) -> BTreeMap<String, u64> {
    let info = c.get("/database/GratefulDeadConcerts").ok_json();
    let classes = info["classes"].as_array().expect("classes");
    classes
        .iter()
        .map(|k| (k["name"].as_str().expect("name").to_string(), k["records"].as_u64().expect("records")))
        .collect()
}

fn assert_whole_demo(c: &Client) {
    let counts = demo_counts(c);
    let expected = [("V", 809), ("followed_by", 7047), ("sung_by", 501), ("written_by", 501)];
    for (class, n) in expected {
        assert_eq!(counts.get(class), Some(&n), "{class}: {counts:?}");
    }
}

fn generated_password(lines: &[String]) -> Option<String> {
    lines.iter().find_map(|l| l.strip_prefix(basalt_tests::server::PASSWORD_PREFIX).map(str::to_string))
}

#[test]
fn a_stop_during_the_first_start_leaves_the_whole_demo_or_none() {
    // Regression: SIGTERM while the first start loaded the demo killed the process (no
    // handler yet), and the half-loaded demo stayed so forever.
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("term");
    let mut starting = Launch::new(&home).spawn().expect("spawn");
    let p = starting.process();
    assert!(p.wait_for_log("basalt-server starting", Duration::from_secs(60)), "{}", p.stderr());
    let status = p.signal_and_wait("TERM", Duration::from_secs(120));
    assert!(status.success(), "{status}: {}", p.stderr());
    assert!(p.stderr().contains("SIGTERM received") && p.stderr().contains("basalt-server stopped"), "{}", p.stderr());
    let password = generated_password(&p.stdout_lines()).expect("the first start got as far as the root user");
    let mut server = Launch::new(&home).start();
    server.set_root_password(&password);
    assert_whole_demo(&server.client());
    drop(server);

    // SIGKILL in the middle of the load: the next start loads the demo again, whole.
    let home = dir.path().join("kill");
    let mut starting = Launch::new(&home).spawn().expect("spawn");
    let p = starting.process();
    assert!(p.wait_for_log("basalt-server starting", Duration::from_secs(60)), "{}", p.stderr());
    std::thread::sleep(Duration::from_millis(300));
    p.kill();
    let first = generated_password(&p.stdout_lines());
    let mut server = Launch::new(&home).start();
    let password = first.or_else(|| server.generated_password().map(str::to_string)).expect("a password, once");
    server.set_root_password(&password);
    assert_whole_demo(&server.client());
    assert!(!home.join("databases").join(".GratefulDeadConcerts.loading").exists());
}

#[test]
fn databases_on_disk_are_opened_and_get_the_default_config_on_first_load() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let mut server = start(home);
    let c = server.client();
    assert_eq!(c.post_empty("/database/moved").status, 200);
    c.post_json("/document/moved", &json!({"@class": "V", "name": "still here"})).ok_json();
    assert!(server.terminate().success());

    // A database copied in from elsewhere has no distributed-config.json yet; the default
    // changed meanwhile; a directory that is no database sits beside it.
    let db_dir = home.join("databases").join("moved");
    std::fs::remove_file(db_dir.join("distributed-config.json")).unwrap();
    let default_path = home.join("config").join(basalt_server::config::DEFAULT_DB_CONFIG_FILE);
    let mut default: Value = serde_json::from_str(&std::fs::read_to_string(&default_path).unwrap()).unwrap();
    default["writeQuorum"] = json!(2);
    std::fs::write(&default_path, serde_json::to_string_pretty(&default).unwrap()).unwrap();
    std::fs::create_dir(home.join("databases").join("junk")).unwrap();
    std::fs::write(home.join("databases").join("junk").join("not-a-cluster"), b"hello").unwrap();

    let server = start(home);
    let c = server.client();
    let listed = c.get("/listDatabases").ok_json();
    assert!(listed["databases"].as_array().unwrap().contains(&json!("moved")), "{listed}");
    assert_eq!(c.get("/document/moved/9:0").ok_json()["name"], "still here");
    let copied: Value =
        serde_json::from_str(&std::fs::read_to_string(db_dir.join("distributed-config.json")).unwrap()).unwrap();
    assert_eq!(copied, default);
    // The directory that is no database is listed OFFLINE with the reason (issue 16: a
    // database that cannot open is shown, never hidden), named in the log, and left alone;
    // the others serve.
    assert_eq!(listed["databaseStatus"]["junk"]["status"], "OFFLINE", "{listed}");
    assert!(listed["databaseStatus"]["junk"]["reason"].as_str().unwrap().contains("no database"), "{listed}");
    let log = server.stderr();
    assert!(log.lines().any(|l| l.contains("failed to open") && l.contains("junk")), "{log}");
    assert_eq!(std::fs::read(home.join("databases").join("junk").join("not-a-cluster")).unwrap(), b"hello");
}

#[test]
fn a_second_server_on_the_same_home_is_refused_naming_the_running_pid() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let mut first = start(home);
    let lock = std::fs::read_to_string(home.join(LOCK_FILE)).unwrap();
    assert_eq!(lock.trim(), first.pid().to_string());

    let failure = Launch::new(home).args(&["--no-demo"]).try_start().expect_err("a second server must not start");
    let status = failure.status.expect("it exits by itself");
    assert!(!status.success(), "{failure}");
    assert!(failure.stderr.contains(&format!("PID {}", first.pid())), "{failure}");
    assert!(failure.stderr.contains(&home.display().to_string()), "{failure}");
    // The first one is untouched and serving.
    assert_eq!(std::fs::read_to_string(home.join(LOCK_FILE)).unwrap(), lock);
    assert_eq!(first.client().get("/listDatabases").status, 200);

    // A stale lock file (its server SIGKILLed) does not block the next start.
    first.kill();
    let next = start(home);
    assert_eq!(std::fs::read_to_string(home.join(LOCK_FILE)).unwrap().trim(), next.pid().to_string());
}

#[test]
fn https_with_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("certificate");
    let cert_pem = certified.cert.pem();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, &cert_pem).unwrap();
    std::fs::write(&key_path, certified.signing_key.serialize_pem()).unwrap();
    write_config(
        &home,
        &format!("[http]\ntls_cert = \"{}\"\ntls_key = \"{}\"\n", cert_path.display(), key_path.display()),
    );
    let mut server = start(&home);
    assert_eq!(server.scheme(), "https", "{:?}", server.stdout_lines());
    server.trust_pem(cert_pem.as_bytes());
    let c = server.client();
    assert_eq!(c.get("/listDatabases").ok_json()["databases"], json!([]));
    assert_eq!(c.post_empty("/database/secure").status, 200);
    c.get("/document/secure/9:0").assert_error(404);
    server.anonymous().get("/listDatabases").assert_error(401);

    // Plain HTTP to the HTTPS port gets no HTTP answer; a client that does not trust the
    // certificate cannot connect; the server keeps serving.
    let plain = Client::new(&format!("http://{}", server.addr())).login("root", PASSWORD);
    let r = plain.try_request("GET", "/listDatabases", None, &[]);
    assert!(r.as_ref().is_err() || r.as_ref().is_ok_and(|r| r.status >= 400), "plain HTTP answered: {r:?}");
    let untrusting = Client::new(&server.base_url()).login("root", PASSWORD);
    assert!(untrusting.try_request("GET", "/listDatabases", None, &[]).is_err());
    assert_eq!(c.get("/listDatabases").status, 200);

    // Half a TLS setup, or a missing file, stops the start with a clear message.
    let half = dir.path().join("half");
    write_config(&half, &format!("[http]\ntls_cert = \"{}\"\n", cert_path.display()));
    let failure = Launch::new(&half).args(&["--no-demo"]).try_start().unwrap_err();
    assert!(failure.status.is_some_and(|s| !s.success()) && failure.stderr.contains("tls_key"), "{failure}");
    let missing = dir.path().join("missing");
    let nowhere = dir.path().join("nowhere.pem");
    write_config(
        &missing,
        &format!("[http]\ntls_cert = \"{}\"\ntls_key = \"{}\"\n", nowhere.display(), key_path.display()),
    );
    let failure = Launch::new(&missing).args(&["--no-demo"]).try_start().unwrap_err();
    assert!(failure.status.is_some_and(|s| !s.success()), "{failure}");
    assert!(failure.stderr.contains("nowhere.pem"), "{failure}");
}
