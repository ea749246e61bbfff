//! Makes a database of at least a given size for `benches/run-snapshot-vs-zstd.sh`: `Doc`
//! vertices with a name, a number and a text field of seeded words (so the bytes compress
//! like real text, neither like zeros nor like noise), each linked by a `next` edge to a
//! random earlier one, committed in batches, then checkpointed.
//!
//! `cargo run --release -p basalt-benches --example make_snapshot_db -- DB_DIR MIB`
//!
//! Prints one JSON line: the database directory's bytes (cluster files, no WAL), vertices,
//! and seconds. The same arguments make the same records (SplitMix64, fixed seed).

use std::path::Path;
use std::time::Instant;

use basalt_benches::SplitMix64;
use basalt_engine::{Database, Document, Options, SchemaRequest, Transaction, Value};

/// Vertices per transaction.
const BATCH: usize = 2_000;
/// Words in the text field of each vertex (about 1.3 KiB).
const WORDS: usize = 200;
/// The vocabulary the text is drawn from.
const VOCABULARY: &[&str] = &[
    "basalt", "graph", "vertex", "edge", "record", "cluster", "page", "commit", "replica", "leader", "quorum",
    "segment", "snapshot", "restore", "archive", "index", "query", "select", "traverse", "match", "person", "city",
    "river", "mountain", "concert", "song", "artist", "year", "the", "of", "and", "a", "to", "in", "is", "was", "for",
    "on", "with", "as", "by", "at", "from", "that", "this", "which", "or", "an", "be", "are",
];

fn text(rng: &mut SplitMix64) -> String {
    let mut out = String::with_capacity(WORDS * 7);
    for i in 0..WORDS {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(VOCABULARY[rng.below(VOCABULARY.len() as u64) as usize]);
        if rng.below(8) == 0 {
            out.push_str(&rng.below(100_000).to_string());
        }
    }
    out
}

/// Bytes of the files directly in `dir` (the cluster files, checkpoint; not `wal/`).
fn dir_bytes(dir: &Path) -> Result<u64, String> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        let meta = entry.metadata().map_err(|e| e.to_string())?;
        if meta.is_file() {
            total += meta.len();
        }
    }
    Ok(total)
}

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(mib)) = (args.next(), args.next()) else {
        return Err("usage: make_snapshot_db DB_DIR MIB".into());
    };
    let want: u64 = mib.parse::<u64>().map_err(|e| format!("MIB {mib:?}: {e}"))? << 20;
    let dir = Path::new(&dir);
    let started = Instant::now();
    let options = Options { wal_segment_bytes: 256 << 20, ..Options::default() };
    let (db, _) = Database::create(dir, options).map_err(|e| e.to_string())?;
    let mut tx = Transaction::new();
    tx.schema(SchemaRequest::CreateClass { name: "Doc".into(), superclass: Some("V".into()), is_abstract: false });
    tx.schema(SchemaRequest::CreateClass { name: "next".into(), superclass: Some("E".into()), is_abstract: false });
    db.commit(&tx).map_err(|e| e.to_string())?;
    let mut rng = SplitMix64::new(0x5EED_5A4E);
    let mut rids = Vec::new();
    let mut n: i64 = 0;
    while dir_bytes(dir)? < want {
        let mut tx = Transaction::new();
        let mut temps = Vec::with_capacity(BATCH);
        for _ in 0..BATCH {
            let doc = Document::new()
                .with("name", Value::String(format!("doc-{n}")))
                .with("n", Value::Long(n))
                .with("text", Value::String(text(&mut rng)));
            let v = tx.create("Doc", doc);
            if !rids.is_empty() {
                let to = rids[rng.below(rids.len() as u64) as usize];
                tx.create_edge("next", v, to, Document::new());
            }
            temps.push(v);
            n += 1;
        }
        let committed = db.commit(&tx).map_err(|e| e.to_string())?;
        rids.extend(temps.iter().filter_map(|t| committed.rids.get(t).copied()));
        db.checkpoint().map_err(|e| e.to_string())?;
    }
    db.close().map_err(|e| e.to_string())?;
    println!(
        "{{\"bytes\": {}, \"vertices\": {n}, \"seconds\": {:.1}}}",
        dir_bytes(dir)?,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
