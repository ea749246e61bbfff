//! Damaged files: each open either succeeds with the data intact (where the damage is one a
//! crash can cause and the design repairs: a torn or garbage double-write file, an
//! interrupted checkpoint, a torn WAL tail) or fails with an error naming the file (and the
//! page, for a page), having changed nothing on disk and served nothing.
//!
//! Damage done: a flipped byte in pages of every cluster file, truncated and extended
//! cluster files, cluster files of another database, a missing cluster file, a checkpoint
//! record that lacks a cluster the schema names, a damaged checkpoint record, garbage, torn
//! and foreign double-write files, a complete double-write file of an interrupted
//! checkpoint (with a torn page in a cluster file), flipped bytes in sealed and open WAL
//! segments, a torn last WAL frame.

#![allow(clippy::unwrap_used)] // Tests fail loudly on any unexpected error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use basalt_engine::checkpoint::{self, CheckpointRecord};
use basalt_engine::page::PAGE_SIZE;
use basalt_engine::{
    Database, Document, IndexDef, Options, Record, Rid, SchemaChange, SchemaRequest, Transaction, Value,
};
use basalt_wal::{DiskStorage, Lsn};

/// Every file under `dir` (relative path to bytes).
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    for (rel, bytes) in files(from) {
        let p = to.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

fn options() -> Options {
    Options { purge_wal_after_checkpoint: false, ..Options::default() }
}

fn doc(pairs: &[(&str, Value)]) -> Document {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

/// Classes Person (vertices, cluster 11), Knows (edges, 12), Note (documents, 13), and a
/// deterministic graph with large records, updates and deletes: two databases filled alike
/// have files of the same sizes, page for page.
fn fill(db: &Database) {
    let mut tx = Transaction::new();
    for (name, superclass) in [("Person", Some("V")), ("Knows", Some("E")), ("Note", None)] {
        let superclass = superclass.map(str::to_string);
        tx.schema(SchemaRequest::CreateClass { name: name.into(), superclass, is_abstract: false });
    }
    tx.schema(SchemaRequest::Change(SchemaChange::CreateIndex {
        index: IndexDef {
            name: "Person.name".into(),
            class: "Person".into(),
            fields: vec!["name".into()],
            unique: true,
            kind: "UNIQUE".into(),
        },
    }));
    db.commit(&tx).unwrap();
    let mut people = Vec::new();
    for i in 0..120i64 {
        let mut tx = Transaction::new();
        let bio = "b".repeat(if i % 9 == 0 { 9000 } else { (i as usize * 37) % 300 });
        let p = tx.create("Person", doc(&[("name", Value::String(format!("p{i}"))), ("bio", Value::String(bio))]));
        if let Some(prev) = people.last() {
            tx.create_edge("Knows", p, *prev, doc(&[("since", Value::Long(i))]));
        }
        tx.create("Note", doc(&[("text", Value::String(format!("note {i}")))]));
        let c = db.commit(&tx).unwrap();
        people.push(c.rid(p));
    }
    for (i, p) in people.iter().enumerate().step_by(7) {
        let mut tx = Transaction::new();
        if i % 2 == 0 {
            tx.update(*p, None, doc(&[("name", Value::String(format!("renamed {i}")))]));
        } else {
            tx.delete(*p, None);
        }
        db.commit(&tx).unwrap();
    }
}

/// Every record of every cluster, and the digest.
fn state(db: &Database) -> (u128, Vec<Record>) {
    let snap = db.snapshot();
    assert_eq!(snap.digest(), snap.full_digest().unwrap());
    let ids: Vec<i32> = snap.schema().clusters.keys().copied().collect();
    let records =
        ids.into_iter().flat_map(|id| snap.scan_cluster(id).map(|r| r.unwrap()).collect::<Vec<_>>()).collect();
    (snap.digest().value, records)
}

/// A closed database and its state.
fn pristine(id: Option<u128>) -> (tempfile::TempDir, (u128, Vec<Record>)) {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Database::create(dir.path(), Options { database_id: id, ..options() }).unwrap();
    fill(&db);
    let st = state(&db);
    db.close().unwrap();
    (dir, st)
}

/// Opens `dir`, which must be refused with a message naming every one of `names`, without a
/// byte changed on disk; returns the message.
fn refused(dir: &Path, names: &[&str]) -> String {
    let before = files(dir);
    let err = match Database::open(dir, options()) {
        Ok(_) => panic!("a damaged database opened; expected an error naming {names:?}"),
        Err(e) => e,
    };
    let msg = err.to_string();
    assert!(!err.is_deterministic(), "damage is a local problem, not a client error: {msg}");
    for n in names {
        assert!(msg.contains(n), "the error should name {n:?}: {msg}");
    }
    let after = files(dir);
    let changed: Vec<_> =
        after.keys().chain(before.keys()).filter(|k| before.get(*k) != after.get(*k)).cloned().collect();
    assert!(changed.is_empty(), "the refused open changed {changed:?} ({msg})");
    let again = Database::open(dir, options()).err().map(|e| e.to_string());
    assert_eq!(again.as_deref(), Some(msg.as_str()), "a second open fails the same way");
    msg
}

/// Opens `dir`, which must hold exactly `expected`.
fn intact(dir: &Path, expected: &(u128, Vec<Record>)) -> basalt_engine::OpenReport {
    let (db, report) = Database::open(dir, options()).unwrap();
    let st = state(&db);
    assert_eq!(st.0, expected.0, "digest");
    assert_eq!(st.1.len(), expected.1.len(), "record count");
    for (a, b) in st.1.iter().zip(&expected.1) {
        assert_eq!(a, b, "record {}", a.rid);
    }
    db.close().unwrap();
    report
}

fn flip(path: &Path, at: u64) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at as usize] ^= 0x20;
    std::fs::write(path, bytes).unwrap();
}

fn cluster_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = files(dir)
        .into_keys()
        .filter_map(|p| p.to_str().map(str::to_string))
        .filter(|n| n.starts_with("cluster"))
        .collect();
    names.sort();
    names
}

#[test]
fn a_flipped_byte_in_any_cluster_page_is_refused_naming_file_and_page() {
    let (dir, st) = pristine(None);
    let names = cluster_files(dir.path());
    assert_eq!(names.len(), 12, "six clusters of two files: {names:?}");
    let mut cases = 0;
    for name in &names {
        let len = std::fs::metadata(dir.path().join(name)).unwrap().len();
        let pages = len / PAGE_SIZE as u64;
        let mut picks = vec![0, pages / 2, pages - 1];
        picks.dedup();
        for page in picks {
            for at in [0u64, 5, 17, 1000, PAGE_SIZE as u64 - 1] {
                let copy = tempfile::tempdir().unwrap();
                copy_dir(dir.path(), copy.path());
                flip(&copy.path().join(name), page * PAGE_SIZE as u64 + at);
                refused(copy.path(), &[name, &format!("page {page}")]);
                cases += 1;
            }
        }
    }
    assert!(cases >= 100, "{cases}");
    intact(dir.path(), &st);
}

#[test]
fn truncated_or_extended_cluster_files_are_refused() {
    let (dir, st) = pristine(None);
    for (name, new_len) in [
        ("cluster11.pcl", -100i64),
        ("cluster11.pcl", -(PAGE_SIZE as i64)),
        ("cluster12.cpm", -(PAGE_SIZE as i64)),
        ("cluster13.pcl", PAGE_SIZE as i64),
        ("cluster0.pcl", 1),
    ] {
        let copy = tempfile::tempdir().unwrap();
        copy_dir(dir.path(), copy.path());
        let p = copy.path().join(name);
        let len = std::fs::metadata(&p).unwrap().len() as i64;
        let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
        f.set_len((len + new_len) as u64).unwrap();
        let msg = refused(copy.path(), &[name]);
        assert!(msg.contains("the checkpoint says"), "{msg}");
    }
    intact(dir.path(), &st);
}

#[test]
fn cluster_files_of_another_database_are_refused() {
    let (dir, st) = pristine(None);
    let (other, other_st) = pristine(None);
    assert_eq!(st.1.len(), other_st.1.len(), "both filled alike");
    for names in [&["cluster11.pcl", "cluster11.cpm"][..], &["cluster13.cpm"][..]] {
        let copy = tempfile::tempdir().unwrap();
        copy_dir(dir.path(), copy.path());
        for n in names {
            std::fs::copy(other.path().join(n), copy.path().join(n)).unwrap();
        }
        let msg = refused(copy.path(), &[names[0], "page 0"]);
        assert!(msg.contains("belongs to database"), "{msg}");
    }
    intact(dir.path(), &st);
}

#[test]
fn missing_cluster_files_are_refused_and_nothing_is_deleted() {
    let (dir, st) = pristine(None);
    // A cluster file the checkpoint lists is gone.
    let copy = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), copy.path());
    std::fs::remove_file(copy.path().join("cluster12.pcl")).unwrap();
    refused(copy.path(), &["cluster12.pcl"]);

    // The checkpoint record lacks a cluster the schema names (its files still there, or not).
    for keep_files in [true, false] {
        let copy = tempfile::tempdir().unwrap();
        copy_dir(dir.path(), copy.path());
        let mut record = checkpoint::read_record(copy.path()).unwrap();
        assert!(record.clusters.remove(&13).is_some());
        checkpoint::write_record(copy.path(), &record).unwrap();
        if !keep_files {
            std::fs::remove_file(copy.path().join("cluster13.pcl")).unwrap();
            std::fs::remove_file(copy.path().join("cluster13.cpm")).unwrap();
        }
        let msg = refused(copy.path(), &["cluster13.pcl"]);
        assert!(msg.contains("schema names cluster 13"), "{msg}");
    }
    intact(dir.path(), &st);
}

#[test]
fn a_damaged_checkpoint_record_is_refused() {
    let (dir, st) = pristine(None);
    let len = std::fs::metadata(dir.path().join(checkpoint::CHECKPOINT_FILE)).unwrap().len();
    for at in [0, 9, 40, len - 1] {
        let copy = tempfile::tempdir().unwrap();
        copy_dir(dir.path(), copy.path());
        flip(&copy.path().join(checkpoint::CHECKPOINT_FILE), at);
        refused(copy.path(), &[checkpoint::CHECKPOINT_FILE]);
    }
    let copy = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), copy.path());
    let p = copy.path().join(checkpoint::CHECKPOINT_FILE);
    std::fs::OpenOptions::new().write(true).open(&p).unwrap().set_len(len / 2).unwrap();
    refused(copy.path(), &[checkpoint::CHECKPOINT_FILE]);
    intact(dir.path(), &st);
}

/// The double-write file of a checkpoint from the files `old` to the files `new` (both
/// closed databases): `new`'s checkpoint record and every page that differs, built by hand
/// from the format in `checkpoint.rs`.
fn doublewrite_between(old: &Path, new: &Path) -> (Vec<u8>, Vec<(String, u64)>) {
    let record = std::fs::read(new.join(checkpoint::CHECKPOINT_FILE)).unwrap();
    CheckpointRecord::decode(&record).unwrap();
    let mut pages = Vec::new();
    let mut changed = Vec::new();
    for name in cluster_files(new) {
        let (id, file) = match name.strip_prefix("cluster").unwrap().split_once('.').unwrap() {
            (id, "pcl") => (id.parse::<i32>().unwrap(), 0u8),
            (id, _) => (id.parse::<i32>().unwrap(), 1u8),
        };
        let now = std::fs::read(new.join(&name)).unwrap();
        let before = std::fs::read(old.join(&name)).unwrap_or_default();
        for (n, page) in now.chunks(PAGE_SIZE).enumerate() {
            let at = n * PAGE_SIZE;
            if before.get(at..at + PAGE_SIZE) != Some(page) {
                pages.push((id, file, n as u64, page.to_vec()));
                changed.push((name.clone(), n as u64));
            }
        }
    }
    let mut b = b"BSLTDWB1".to_vec();
    b.extend_from_slice(&(record.len() as u32).to_le_bytes());
    b.extend_from_slice(&record);
    b.extend_from_slice(&(pages.len() as u64).to_le_bytes());
    for (id, file, n, bytes) in &pages {
        b.extend_from_slice(&id.to_le_bytes());
        b.push(*file);
        b.extend_from_slice(&[0; 3]);
        b.extend_from_slice(&n.to_le_bytes());
        b.extend_from_slice(bytes);
    }
    let crc = crc32fast::hash(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    (b, changed)
}

/// A checkpoint interrupted after its double-write file was synced, while it wrote pages.
struct Interrupted {
    /// Before any page was written: the old checkpoint record and cluster files, the WAL
    /// with every entry.
    clean: tempfile::TempDir,
    /// As `clean`, with some pages written, one of them torn halfway.
    dir: tempfile::TempDir,
    /// The state after the checkpoint.
    expected: (u128, Vec<Record>),
    /// The double-write file's bytes.
    doublewrite: Vec<u8>,
    /// Pages it holds.
    pages: usize,
    /// The pages it holds, in its order: (cluster file, page number).
    changed: Vec<(String, u64)>,
    /// The page written halfway in `dir`.
    torn: (String, u64),
}

fn interrupted_checkpoint() -> Interrupted {
    let (dir, _) = pristine(None);
    let old = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), old.path());
    let (db, _) = Database::open(dir.path(), options()).unwrap();
    let mut tx = Transaction::new();
    tx.schema(SchemaRequest::CreateClass { name: "Extra".into(), superclass: Some("V".into()), is_abstract: false });
    db.commit(&tx).unwrap();
    for i in 0..40i64 {
        let mut tx = Transaction::new();
        let x = tx.create("Extra", doc(&[("i", Value::Long(i)), ("pad", Value::String("e".repeat(700)))]));
        // Even positions: `fill` deleted only odd ones.
        tx.create_edge("Knows", Rid::new(11, i * 2), x, Document::new());
        tx.update(Rid::new(13, i), None, doc(&[("text", Value::String(format!("changed {i}")))]));
        db.commit(&tx).unwrap();
    }
    let expected = state(&db);
    db.close().unwrap();
    let (doublewrite, changed) = doublewrite_between(old.path(), dir.path());
    assert!(changed.iter().any(|(n, _)| n.starts_with("cluster14.")), "the new cluster's pages are in it");

    let clean = tempfile::tempdir().unwrap();
    copy_dir(old.path(), clean.path());
    std::fs::remove_dir_all(clean.path().join("wal")).unwrap();
    copy_dir(&dir.path().join("wal"), &clean.path().join("wal"));

    let out = tempfile::tempdir().unwrap();
    copy_dir(clean.path(), out.path());
    let write_page = |name: &str, page: u64, half: bool| {
        let at = page as usize * PAGE_SIZE;
        let now = std::fs::read(dir.path().join(name)).unwrap();
        let mut file = std::fs::read(out.path().join(name)).unwrap_or_default();
        let end = at + if half { PAGE_SIZE / 2 } else { PAGE_SIZE };
        if file.len() < end {
            file.resize(end, 0);
        }
        file[at..end].copy_from_slice(&now[at..end]);
        std::fs::write(out.path().join(name), file).unwrap();
    };
    let (torn_name, torn_page) = changed.iter().find(|(n, p)| n == "cluster11.pcl" && *p > 0).unwrap().clone();
    for (name, page) in changed.iter().filter(|(n, _)| n == "cluster13.pcl").take(3) {
        write_page(name, *page, false);
    }
    write_page(&torn_name, torn_page, true);
    let pages = changed.len();
    Interrupted { clean, dir: out, expected, doublewrite, pages, changed, torn: (torn_name, torn_page) }
}

/// A double-write file with another checkpoint record in it (checksum recomputed).
fn with_record(dw: &[u8], record: &CheckpointRecord) -> Vec<u8> {
    let len = u32::from_le_bytes(dw[8..12].try_into().unwrap()) as usize;
    let mut b = dw[..8].to_vec();
    let encoded = record.encode();
    b.extend_from_slice(&(encoded.len() as u32).to_le_bytes());
    b.extend_from_slice(&encoded);
    b.extend_from_slice(&dw[12 + len..dw.len() - 4]);
    let crc = crc32fast::hash(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    b
}

#[test]
fn an_interrupted_checkpoint_is_finished_from_the_doublewrite_file() {
    let case = interrupted_checkpoint();
    // Without the double-write file the torn page is refused ...
    refused(case.dir.path(), &["cluster11.pcl", "page "]);
    // ... with it, opening finishes the checkpoint.
    std::fs::write(case.dir.path().join(checkpoint::DOUBLEWRITE_FILE), &case.doublewrite).unwrap();
    let report = intact(case.dir.path(), &case.expected);
    assert_eq!(report.repair.pages_rewritten, case.pages);
    assert_eq!(report.redone_entries, 0, "the finished checkpoint holds every entry");
    assert!(!case.dir.path().join(checkpoint::DOUBLEWRITE_FILE).exists());
    intact(case.dir.path(), &case.expected);
}

/// The double-write file of `case` with one byte flipped in the middle of the page it holds
/// for `page` (so its whole-file checksum and that page's checksum both fail).
fn doublewrite_damaged_at(case: &Interrupted, page: &(String, u64)) -> Vec<u8> {
    let dw = &case.doublewrite;
    let record_len = u32::from_le_bytes(dw[8..12].try_into().unwrap()) as usize;
    let i = case.changed.iter().position(|c| c == page).unwrap();
    let entry = 8 + 4 + record_len + 8 + i * (16 + PAGE_SIZE);
    let mut damaged = dw.clone();
    damaged[entry + 16 + PAGE_SIZE / 2 + 7] ^= 0x40;
    damaged
}

#[test]
fn a_damaged_doublewrite_page_already_in_place_is_salvaged() {
    // Issue 16: damage to a complete double-write file. The damaged page was written in
    // full before the crash (cluster13.pcl's first pages), so every other page comes from
    // the double-write file and the checkpoint finishes.
    let case = interrupted_checkpoint();
    let in_place = case.changed.iter().find(|(n, _)| n == "cluster13.pcl").unwrap().clone();
    std::fs::write(case.dir.path().join(checkpoint::DOUBLEWRITE_FILE), doublewrite_damaged_at(&case, &in_place))
        .unwrap();
    let report = intact(case.dir.path(), &case.expected);
    let salvaged = report.repair.salvaged_doublewrite.clone().unwrap_or_else(|| panic!("{:?}", report.repair));
    assert!(salvaged.contains("1 damaged pages were already in place"), "{salvaged}");
    assert!(!case.dir.path().join(checkpoint::DOUBLEWRITE_FILE).exists());
    intact(case.dir.path(), &case.expected);
}

#[test]
fn a_damaged_doublewrite_page_not_in_place_is_refused_naming_the_doublewrite_file() {
    // The damaged page is the one torn in its cluster file: neither copy is good, and the
    // cluster files hold neither checkpoint's state. Open refuses, names the double-write
    // file (not the cluster file, as it did) and says what to do, and changes nothing.
    let case = interrupted_checkpoint();
    std::fs::write(case.dir.path().join(checkpoint::DOUBLEWRITE_FILE), doublewrite_damaged_at(&case, &case.torn))
        .unwrap();
    let msg =
        refused(case.dir.path(), &[checkpoint::DOUBLEWRITE_FILE, "damaged", "Restore the database from a backup"]);
    assert!(msg.contains("not yet in its place"), "{msg}");
    assert!(case.dir.path().join(checkpoint::DOUBLEWRITE_FILE).exists(), "kept for diagnosis");
}

#[test]
fn torn_garbage_or_foreign_doublewrite_files_are_ignored() {
    // A crash while the double-write file was written: no cluster page was touched, and the
    // WAL redoes everything after the old checkpoint.
    let case = interrupted_checkpoint();
    let dw = &case.doublewrite;
    let mut record =
        CheckpointRecord::decode(&dw[12..12 + u32::from_le_bytes(dw[8..12].try_into().unwrap()) as usize]).unwrap();
    record.database_id ^= 1;
    let foreign = with_record(dw, &record);
    let garbage: Vec<u8> = (0..20_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    for (what, bytes) in [
        ("torn", dw[..dw.len() / 2].to_vec()),
        ("cut by a byte", dw[..dw.len() - 1].to_vec()),
        ("garbage", garbage),
        ("empty", Vec::new()),
        ("of another database", foreign),
    ] {
        let copy = tempfile::tempdir().unwrap();
        copy_dir(case.clean.path(), copy.path());
        std::fs::write(copy.path().join(checkpoint::DOUBLEWRITE_FILE), &bytes).unwrap();
        let report = intact(copy.path(), &case.expected);
        assert!(report.repair.ignored_doublewrite.is_some(), "{what}: {:?}", report.repair);
        assert_eq!(report.repair.pages_rewritten, 0, "{what}");
        assert!(report.redone_entries > 0, "{what}: the WAL redid the lost checkpoint");
        assert!(!copy.path().join(checkpoint::DOUBLEWRITE_FILE).exists(), "{what}");
    }
}

/// Frames of the WAL in `dir`: (segment file, byte offset, LSN).
fn frames(dir: &Path) -> Vec<(String, u64, Lsn)> {
    let storage = DiskStorage::existing(dir.join(basalt_engine::WAL_DIR));
    let mut out = Vec::new();
    basalt_wal::inspect::inspect(&storage, |f| out.push((f.file.to_string(), f.offset, f.header.lsn))).unwrap();
    out
}

#[test]
fn flipped_bytes_in_wal_segments_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options { wal_segment_bytes: 16 << 10, ..options() };
    let (db, _) = Database::create(dir.path(), opts).unwrap();
    fill(&db);
    let st = state(&db);
    db.close().unwrap();
    let frames = frames(dir.path());
    let segments: Vec<&String> = {
        let mut s: Vec<&String> = frames.iter().map(|f| &f.0).collect();
        s.dedup();
        s
    };
    assert!(segments.len() > 3, "small segments roll: {}", segments.len());
    // A sealed segment: refused whatever the LSN.
    let (seg, offset, _) = frames.iter().find(|f| f.0 == *segments[1]).unwrap().clone();
    let copy = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), copy.path());
    flip(&copy.path().join("wal").join(&seg), offset + 20);
    refused(copy.path(), &[&seg]);
    // The open segment, in entries the checkpoint holds: they were durable before the
    // checkpoint was taken, so this is damage, not a torn write; nothing may be cut.
    let last = segments.last().unwrap();
    for f in frames.iter().filter(|f| f.0 == **last) {
        let copy = tempfile::tempdir().unwrap();
        copy_dir(dir.path(), copy.path());
        flip(&copy.path().join("wal").join(&f.0), f.1 + 3);
        refused(copy.path(), &[&f.0]);
    }
    intact(dir.path(), &st);
}

#[test]
fn a_torn_last_wal_frame_loses_only_that_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Database::create(dir.path(), options()).unwrap();
    fill(&db);
    let before_last = state(&db);
    let mut tx = Transaction::new();
    tx.create("Note", doc(&[("text", Value::String("the last".into()))]));
    db.commit(&tx).unwrap();
    drop(db); // No checkpoint: the last entries exist only in the WAL.
    let frames = frames(dir.path());
    let (seg, offset, _) = frames.last().unwrap().clone();
    let p = dir.path().join("wal").join(&seg);
    std::fs::OpenOptions::new().write(true).open(&p).unwrap().set_len(offset + 25).unwrap();
    let report = intact(dir.path(), &before_last);
    assert!(report.wal.torn_tail.is_some());
    assert!(report.redone_entries > 0);
}

/// Replaces the first `from` in a page of `path` by `to` (same length) and seals the page
/// again: damage no checksum catches (a bug, not the disk). Returns the page number.
fn rewrite_sealed(path: &Path, from: &[u8], to: &[u8]) -> usize {
    let mut bytes = std::fs::read(path).unwrap();
    for (n, p) in bytes.chunks_mut(PAGE_SIZE).enumerate().skip(1) {
        if let Some(at) = p.windows(from.len()).position(|w| w == from) {
            p[at..at + to.len()].copy_from_slice(to);
            basalt_engine::page::seal(p);
            std::fs::write(path, &bytes).unwrap();
            return n;
        }
    }
    panic!("{from:?} is in no page of {}", path.display());
}

#[test]
fn a_schema_record_or_indexed_record_that_does_not_decode_is_refused_naming_the_file() {
    let (dir, st) = pristine(None);
    // The schema record's JSON, damaged under a valid page checksum.
    let copy = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), copy.path());
    rewrite_sealed(&copy.path().join("cluster0.pcl"), b"\"classes\"", b"\"klasses\"");
    let msg = refused(copy.path(), &["cluster0.pcl"]);
    assert!(msg.contains("schema"), "{msg}");
    // A record of an indexed class whose fields do not decode: the index rebuild at open
    // reads it.
    let copy = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), copy.path());
    let body = st.1.iter().find(|r| r.rid == Rid::new(11, 2)).unwrap().body.clone();
    let at = body.windows(5).position(|w| w == b"\x04name").unwrap();
    let mut damaged = body.clone();
    damaged[at] = 0xf0;
    rewrite_sealed(&copy.path().join("cluster11.pcl"), &body, &damaged);
    let msg = refused(copy.path(), &["cluster11.pcl"]);
    assert!(msg.contains("#11:2"), "{msg}");
    // Two stored records holding one key of a unique index.
    let copy = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), copy.path());
    let body = st.1.iter().find(|r| r.rid == Rid::new(11, 10)).unwrap().body.clone();
    let at = body.windows(4).position(|w| w == b"\x03p10").unwrap();
    let mut damaged = body.clone();
    damaged[at + 3] = b'1';
    rewrite_sealed(&copy.path().join("cluster11.pcl"), &body, &damaged);
    let msg = refused(copy.path(), &["cluster11.pcl"]);
    assert!(msg.contains("Person.name"), "{msg}");
    intact(dir.path(), &st);
}
