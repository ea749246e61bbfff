//! A database's Raft group of one, driven through the engine's commit path as the server
//! drives it: concurrent writers share log entries (the proposer's batches), every
//! acknowledged write is there after a reopen (redo reads the batches), and a transaction
//! too large for one log entry is refused without stopping the group.

use std::sync::Arc;
use std::time::Duration;

use basalt_engine::entry::{transactions_of, BATCH_KIND, ENTRY_KIND};
use basalt_engine::{Database, Document, Error, Options, SchemaRequest, Transaction, Value};
use basalt_server::replication::{Group, GroupOptions};
use basalt_wal::Lsn;

const WRITERS: usize = 32;
const EACH: usize = 40;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

fn create(dir: &std::path::Path) -> Arc<Database> {
    let (db, _) = Database::create(dir, Options::default()).expect("create the database");
    let mut tx = Transaction::new();
    tx.schema(SchemaRequest::CreateClass { name: "Person".into(), superclass: Some("V".into()), is_abstract: false });
    db.commit(&tx).expect("create the class");
    Arc::new(db)
}

fn start(rt: &tokio::runtime::Runtime, db: &Arc<Database>) -> Group {
    let options = GroupOptions::new(1, "127.0.0.1:0", "test");
    rt.block_on(Group::start(db.clone(), options, Duration::from_secs(30))).expect("start the group")
}

fn person(name: String) -> Transaction {
    let mut tx = Transaction::new();
    tx.create("Person", Document::new().with("name", Value::String(name)));
    tx
}

/// (log entries holding transactions, transactions in them, entries that are batches).
fn logged_transactions(db: &Database) -> (usize, usize, usize) {
    let (mut entries, mut txs, mut batches) = (0, 0, 0);
    for e in db.wal().reader(Lsn(1)) {
        let e = e.expect("read the WAL");
        if e.kind == ENTRY_KIND || e.kind == BATCH_KIND {
            entries += 1;
            txs += transactions_of(e.kind, &e.payload).expect("a batch decodes").len();
            batches += usize::from(e.kind == BATCH_KIND);
        }
    }
    (entries, txs, batches)
}

#[test]
fn concurrent_writers_share_log_entries_and_every_write_survives_a_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("db");
    let rt = runtime();
    let db = create(&path);
    let group = start(&rt, &db);
    std::thread::scope(|s| {
        for w in 0..WRITERS {
            let db = &db;
            s.spawn(move || {
                for i in 0..EACH {
                    db.commit(&person(format!("w{w}-{i}"))).expect("a committed write");
                }
            });
        }
    });
    let total = WRITERS * EACH;
    assert_eq!(db.snapshot().count("Person", false).expect("count"), total as u64);
    let (entries, txs, batches) = logged_transactions(&db);
    // The schema change went through the local WAL before the group started; every write
    // after it went through the log.
    assert_eq!(txs, total + 1, "every transaction is in the log once");
    assert!(batches > 0 && entries < txs, "{WRITERS} concurrent writers shared no entry: {entries} entries");
    rt.block_on(group.shutdown());
    Arc::into_inner(db).expect("the only handle").close().expect("close");

    let (db, report) = Database::open(&path, Options::default()).expect("reopen");
    assert!(report.failed_entries.is_empty(), "redo skipped entries: {:?}", report.failed_entries);
    let snap = db.snapshot();
    assert_eq!(snap.count("Person", false).expect("count"), total as u64);
    let mut names: Vec<String> = snap
        .scan("Person", false)
        .expect("scan")
        .map(|r| match r.expect("a record").field("name").expect("decode") {
            Some(Value::String(s)) => s,
            other => panic!("a Person without a name: {other:?}"),
        })
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), total, "no write lost or applied twice");
}

#[test]
fn a_transaction_too_large_for_one_log_entry_is_refused_and_the_group_goes_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rt = runtime();
    let db = create(&dir.path().join("db"));
    let group = start(&rt, &db);
    let huge = "x".repeat(db.wal().entry_bytes_max() + 1);
    match db.commit(&person(huge)) {
        Err(Error::Invalid(why)) => assert!(why.contains("too large"), "{why}"),
        other => panic!("a too-large transaction was not refused: {other:?}"),
    }
    db.commit(&person("after".into())).expect("the group still commits");
    assert_eq!(db.snapshot().count("Person", false).expect("count"), 1);
    rt.block_on(group.shutdown());
}
