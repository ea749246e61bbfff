//! The workload of the engine crash test, shared by the child it kills
//! (`engine-crash-child`) and the test (`tests/engine_crash.rs`), which replays it into a
//! model database.
//!
//! Transaction `c` of thread `t` is decided by `(t, c)` and by the records of thread `t`
//! only, so replaying the applied transactions in their log order into a fresh database
//! gives exactly the same records, versions and RIDs. Every transaction:
//! - updates thread `t`'s counter record from `n = c` to `n = c + 1` (with its version);
//! - creates a `Log` document `{thread, counter}`: the `Log` cluster hands out positions in
//!   log order, so scanning it tells which transactions were applied and in which order;
//! - creates an `Item` vertex keyed `t:c` (unique index), now and then large enough to
//!   spill into overflow pages, linked by a `Next` edge to item `t:(c-1)` if that still
//!   exists, sometimes with a self-loop too;
//! - every third, updates item `t:(c-2)`; every fifth, deletes item `t:(c-4)` with its edges.
//!
//! A transaction applied in part breaks one of: counter `n` equals the number of `Log`
//! documents of its thread, each thread's `Log` counters are `0, 1, 2, ...`, or the digest
//! equals the model's.

use basalt_engine::index::Key;
use basalt_engine::{
    Database, Document, IndexDef, Options, PropertyDef, PropertyType, Rid, SchemaChange, SchemaRequest, Snapshot,
    Transaction, Value,
};

/// Committing threads in the child.
pub const THREADS: u64 = 4;
/// The thread number of the transactions the test itself commits between rounds.
pub const TEST_THREAD: u64 = THREADS;
/// The unique index on `Item.key`.
pub const KEY_INDEX: &str = "Item.key";

/// Options of the crash test's database: checkpoints every few commits, so kills land in
/// them (the double-write path), and small WAL segments, so segments roll and are purged.
pub fn options() -> Options {
    Options { checkpoint_dirty_pages: 12, wal_segment_bytes: 64 << 10, ..Options::default() }
}

/// Creates the schema and one counter record per thread (the test's included).
pub fn setup(db: &Database) -> Result<(), String> {
    let mut tx = Transaction::new();
    for (name, superclass) in [("Item", Some("V")), ("Next", Some("E")), ("Log", None), ("Counter", None)] {
        let superclass = superclass.map(str::to_string);
        tx.schema(SchemaRequest::CreateClass { name: name.into(), superclass, is_abstract: false });
    }
    tx.schema(SchemaRequest::Change(SchemaChange::CreateProperty {
        class: "Item".into(),
        property: PropertyDef::new("key", PropertyType::String),
    }));
    tx.schema(SchemaRequest::Change(SchemaChange::CreateIndex {
        index: IndexDef {
            name: KEY_INDEX.into(),
            class: "Item".into(),
            fields: vec!["key".into()],
            unique: true,
            kind: "UNIQUE".into(),
        },
    }));
    for t in 0..=TEST_THREAD {
        tx.create("Counter", counter_fields(t, 0));
    }
    db.commit(&tx).map(|_| ()).map_err(|e| format!("setup: {e}"))
}

fn counter_fields(t: u64, n: u64) -> Document {
    Document::new().with("thread", Value::Long(t as i64)).with("n", Value::Long(n as i64))
}

fn cluster_of(snap: &Snapshot<'_>, class: &str) -> Result<i32, String> {
    snap.clusters_of(class, false)
        .map_err(|e| e.to_string())?
        .first()
        .copied()
        .ok_or_else(|| format!("class {class} has no cluster"))
}

/// The counter record of a thread (created in thread order by `setup`).
pub fn counter_rid(snap: &Snapshot<'_>, t: u64) -> Result<Rid, String> {
    Ok(Rid::new(cluster_of(snap, "Counter")?, t as i64))
}

/// How many transactions of thread `t` are applied, by its counter.
pub fn counter(snap: &Snapshot<'_>, t: u64) -> Result<u64, String> {
    let rid = counter_rid(snap, t)?;
    let r = snap.get(rid).map_err(|e| e.to_string())?.ok_or_else(|| format!("counter {rid} is missing"))?;
    match r.field("n").map_err(|e| e.to_string())? {
        Some(Value::Long(n)) if n >= 0 => Ok(n as u64),
        other => Err(format!("counter {rid} holds n = {other:?}")),
    }
}

/// Every `Log` document as (thread, counter), in position order: the applied transactions in
/// the order they were logged.
pub fn applied(snap: &Snapshot<'_>) -> Result<Vec<(u64, u64)>, String> {
    let mut out = Vec::new();
    for r in snap.scan("Log", false).map_err(|e| e.to_string())? {
        let r = r.map_err(|e| e.to_string())?;
        let get = |name: &str| match r.field(name) {
            Ok(Some(Value::Long(v))) if v >= 0 => Ok(v as u64),
            other => Err(format!("log record {}: {name} is {other:?}", r.rid)),
        };
        out.push((get("thread")?, get("counter")?));
    }
    Ok(out)
}

fn item(snap: &Snapshot<'_>, t: u64, c: u64) -> Result<Option<(Rid, u32, Document)>, String> {
    let index = snap.index(KEY_INDEX).ok_or("the key index is missing")?;
    let Some(rid) = index.get(&Key::new(vec![Value::String(format!("{t}:{c}"))])).first().copied() else {
        return Ok(None);
    };
    let r = snap.get(rid).map_err(|e| e.to_string())?.ok_or_else(|| format!("indexed item {rid} is missing"))?;
    Ok(Some((rid, r.version, r.fields().map_err(|e| e.to_string())?)))
}

/// Filler making item `(t, c)` sometimes larger than a page.
fn pad(t: u64, c: u64) -> String {
    let x = (t.wrapping_mul(0x9E37_79B9) ^ c.wrapping_mul(0x85EB_CA6B)) % 97;
    let len = if c % 7 == 3 { 5000 + x as usize * 31 } else { x as usize };
    "p".repeat(len)
}

/// Transaction `c` of thread `t`, formed against `snap` (whose counter for `t` must be `c`).
pub fn transaction(snap: &Snapshot<'_>, t: u64, c: u64) -> Result<Transaction, String> {
    let rid = counter_rid(snap, t)?;
    let found = counter(snap, t)?;
    if found != c {
        return Err(format!("thread {t} is at transaction {found}, not {c}"));
    }
    let version = snap.get(rid).map_err(|e| e.to_string())?.map(|r| r.version);
    let mut tx = Transaction::new();
    tx.update(rid, version, counter_fields(t, c + 1));
    tx.create("Log", Document::new().with("thread", Value::Long(t as i64)).with("counter", Value::Long(c as i64)));
    let fields = Document::new()
        .with("key", Value::String(format!("{t}:{c}")))
        .with("thread", Value::Long(t as i64))
        .with("counter", Value::Long(c as i64))
        .with("pad", Value::String(pad(t, c)));
    let new = tx.create("Item", fields);
    if let Some((prev, _, _)) = c.checked_sub(1).map(|p| item(snap, t, p)).transpose()?.flatten() {
        tx.create_edge("Next", new, prev, Document::new().with("c", Value::Long(c as i64)));
    }
    if c.is_multiple_of(6) {
        tx.create_edge("Next", new, new, Document::new());
    }
    if c.is_multiple_of(3) {
        if let Some((old, version, mut fields)) = c.checked_sub(2).map(|p| item(snap, t, p)).transpose()?.flatten() {
            fields.set("touched", Value::Long(c as i64));
            tx.update(old, Some(version), fields);
        }
    }
    if c % 5 == 4 {
        if let Some((old, version, _)) = item(snap, t, c - 4)? {
            tx.delete(old, Some(version));
        }
    }
    Ok(tx)
}

/// Forms and commits transaction `c` of thread `t`; returns its LSN.
pub fn commit(db: &Database, t: u64, c: u64) -> Result<u64, String> {
    let tx = {
        let snap = db.snapshot();
        transaction(&snap, t, c)?
    };
    db.commit(&tx).map(|done| done.lsn.0).map_err(|e| format!("thread {t} transaction {c}: {e}"))
}
