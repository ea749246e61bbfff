//! `wal-inspect` run as a program on logs written by `basalt-wal` in temporary directories:
//! the summary, `--records` with `--from`/`--to`, `--json`, `--verify` on healthy, damaged
//! and torn logs, bad input, usage errors, a live log, and a golden dump.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use basalt_wal::format::{self, FRAME_HEADER_BYTES_V2, HEADER_BYTES};
use basalt_wal::{DiskStorage, Kind, LogId, Lsn, Wal, WalOptions};

const LOG: LogId = LogId(0x000B_5E55_EDBA_5A17);

/// A deterministic payload for entry `i`.
fn payload(i: u64) -> Vec<u8> {
    format!("entry {i}: ").repeat((i % 5 + 1) as usize).into_bytes()
}

/// Writes a closed log of `count` entries with small segments into `dir`.
fn make_log(dir: &Path, count: u64) {
    let storage = Arc::new(DiskStorage::create_dir(dir).expect("create the log directory"));
    let options = WalOptions { segment_bytes_max: 400, ..WalOptions::new(LOG) };
    let (wal, _) = Wal::open(storage, options).expect("open a new log");
    for i in 1..=count {
        assert_eq!(wal.append(Kind((i % 3) as u8), &payload(i)).expect("append"), Lsn(i));
    }
    wal.close().expect("close");
}

fn segment_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list the log directory")
        .map(|e| e.expect("directory entry").file_name().into_string().expect("UTF-8 name"))
        .filter(|n| format::parse_segment_file_name(n).is_some())
        .collect();
    names.sort();
    names
}

/// Byte offsets where the frames of a healthy segment file start (current, version-2 frames).
fn frame_starts(bytes: &[u8]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut at = HEADER_BYTES;
    while at < bytes.len() {
        starts.push(at);
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
        at += FRAME_HEADER_BYTES_V2 + len;
    }
    assert_eq!(at, bytes.len(), "a closed segment ends at a frame boundary");
    starts
}

fn wal_inspect(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wal-inspect")).args(args).arg(dir).output().expect("run wal-inspect")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("UTF-8 error output")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("an exit code, not a signal")
}

/// Every file of the directory with its contents, to prove nothing was written.
fn contents(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| {
            let path = e.expect("entry").path();
            let bytes = std::fs::read(&path).expect("read");
            (path, bytes)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn summary_lists_every_segment_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    make_log(dir.path(), 40);
    let before = contents(dir.path());
    let out = wal_inspect(&[], dir.path());
    let text = stdout(&out);
    assert_eq!(code(&out), 0, "{text}{}", stderr(&out));
    let files = segment_files(dir.path());
    assert!(files.len() >= 4, "{files:?}");
    for (i, file) in files.iter().enumerate() {
        let line = text.lines().find(|l| l.starts_with(file.as_str())).unwrap_or_else(|| panic!("{file} in\n{text}"));
        let state = if i + 1 == files.len() { "open" } else { "sealed" };
        assert!(line.contains(state), "{line}");
    }
    assert!(text.contains(&format!("{} segments, 40 entries, LSNs 1..=40", files.len())), "{text}");
    assert!(text.contains("problems: none"), "{text}");
    assert!(!text.contains(&dir.path().display().to_string()), "no paths in the output:\n{text}");
    assert_eq!(contents(dir.path()), before, "wal-inspect must not write");
}

#[test]
fn records_respect_from_and_to() {
    let dir = tempfile::tempdir().expect("tempdir");
    make_log(dir.path(), 40);
    let out = wal_inspect(&["--records", "--from", "7", "--to", "23"], dir.path());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let header = text.lines().position(|l| l.trim_start().starts_with("LSN")).expect("records header");
    let lsns: Vec<u64> = text
        .lines()
        .skip(header + 1)
        .take_while(|l| !l.is_empty())
        .map(|l| l.split_whitespace().next().expect("LSN column").parse().expect("a number"))
        .collect();
    assert_eq!(lsns, (7..=23).collect::<Vec<_>>());
    // Sizes and kinds are the written ones.
    let row = text.lines().nth(header + 1).expect("first row");
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cols[1], "1", "kind of LSN 7: {row}");
    assert_eq!(cols[2], payload(7).len().to_string(), "size of LSN 7: {row}");
    assert_eq!(cols[3], "ok", "{row}");

    let out = wal_inspect(&["--from", "9", "--to", "3"], dir.path());
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("--from 9 is after --to 3"), "{}", stderr(&out));
}

#[test]
fn json_has_the_right_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    make_log(dir.path(), 40);
    let out = wal_inspect(&["--json", "--records", "--from", "10", "--to", "19"], dir.path());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let records = doc["records"].as_array().expect("records");
    assert_eq!(records.len(), 10);
    assert_eq!(records[0]["lsn"], 10);
    assert_eq!(records[9]["lsn"], 19);
    assert!(records.iter().all(|r| r["crc"] == "ok"));
    assert_eq!(doc["problems"].as_array().expect("problems").len(), 0);

    let out = wal_inspect(&["--json"], dir.path());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let segments = doc["segments"].as_array().expect("segments");
    assert_eq!(segments.len(), segment_files(dir.path()).len());
    let entries: u64 = segments.iter().map(|s| s["entries"].as_u64().expect("entries")).sum();
    assert_eq!(entries, 40);
    assert_eq!(doc["summary"]["entries"], 40);
    assert_eq!(doc["summary"]["first_lsn"], 1);
    assert_eq!(doc["summary"]["last_lsn"], 40);
    assert_eq!(doc["log_id"], LOG.to_string());
    assert!(doc.get("records").is_none(), "records only when asked");
    assert_eq!(segments.last().expect("a segment")["state"], "open");
}

#[test]
fn verify_passes_a_healthy_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    make_log(dir.path(), 40);
    let out = wal_inspect(&["--verify"], dir.path());
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).starts_with("ok: "), "{}", stdout(&out));
}

#[test]
fn verify_catches_one_flipped_byte_in_a_sealed_segment() {
    for (what, frame, within) in [("payload byte", 2, FRAME_HEADER_BYTES_V2 + 3), ("first byte of a frame", 1, 0)] {
        let dir = tempfile::tempdir().expect("tempdir");
        make_log(dir.path(), 40);
        let files = segment_files(dir.path());
        let victim = &files[1];
        let path = dir.path().join(victim);
        let mut bytes = std::fs::read(&path).expect("read the segment");
        let start = frame_starts(&bytes)[frame];
        bytes[start + within] ^= 0x10;
        std::fs::write(&path, &bytes).expect("write the damaged segment");

        let out = wal_inspect(&["--verify"], dir.path());
        let text = stdout(&out);
        assert_eq!(code(&out), 1, "{what}: {text}");
        let expected = format!("{victim}: byte offset {start}: ");
        assert!(text.lines().any(|l| l.starts_with(&expected)), "{what}: expected `{expected}` in\n{text}");

        // The summary (no --verify) shows it too, and still exits 0.
        let out = wal_inspect(&[], dir.path());
        assert_eq!(code(&out), 0);
        assert!(stdout(&out).contains(&format!("CORRUPT at byte offset {start}")), "{}", stdout(&out));
    }
}

#[test]
fn a_torn_open_tail_is_a_note_not_corruption() {
    let dir = tempfile::tempdir().expect("tempdir");
    make_log(dir.path(), 40);
    let files = segment_files(dir.path());
    let open = files.last().expect("a segment");
    let path = dir.path().join(open);
    let mut bytes = std::fs::read(&path).expect("read");
    let good_len = bytes.len();
    let mut frame = Vec::new();
    format::encode_frame(&mut frame, Lsn(41), Kind(1), &[9u8; 100]);
    bytes.extend_from_slice(&frame[..30]);
    std::fs::write(&path, &bytes).expect("write");

    let out = wal_inspect(&["--verify"], dir.path());
    let text = stdout(&out);
    assert_eq!(code(&out), 0, "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("note: ")
            && l.contains(&format!("{open}: open tail of 30 bytes at byte offset {good_len}"))),
        "{text}"
    );
    let out = wal_inspect(&["--records", "--from", "40"], dir.path());
    let text = stdout(&out);
    assert!(text.contains("not an entry"), "{text}");
    assert!(text.contains("problems: none"), "{text}");
}

/// Damages the log in `dir` as `how` says; returns the file that should be named.
fn damage(dir: &Path, how: &str) -> String {
    let files = segment_files(dir);
    let victim = files[2].clone();
    let path = dir.join(&victim);
    let mut bytes = std::fs::read(&path).expect("read");
    match how {
        "wrong magic" => bytes[0] = b'X',
        "wrong version" => bytes[8] = 7,
        "zero-length file" => bytes.clear(),
        "truncated header" => bytes.truncate(HEADER_BYTES - 10),
        "truncated sealed segment" => {
            let starts = frame_starts(&bytes);
            bytes.truncate(starts[starts.len() - 1] + 5);
        }
        "another log's segment" => {
            let first = format::parse_segment_file_name(&victim).expect("segment name");
            let header = format::SegmentHeader { log_id: LogId(0xD1FF), first_lsn: first, flags: 0 }.encode();
            bytes[..HEADER_BYTES].copy_from_slice(&header);
        }
        "gap in LSNs" => {
            std::fs::remove_file(&path).expect("remove a middle segment");
            return files[3].clone();
        }
        other => panic!("unknown damage {other}"),
    }
    std::fs::write(&path, &bytes).expect("write");
    victim
}

#[test]
fn bad_input_is_a_clear_problem_naming_the_file() {
    for how in [
        "wrong magic",
        "wrong version",
        "zero-length file",
        "truncated header",
        "truncated sealed segment",
        "another log's segment",
        "gap in LSNs",
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        make_log(dir.path(), 40);
        let named = damage(dir.path(), how);
        let before = contents(dir.path());
        let out = wal_inspect(&["--verify"], dir.path());
        let text = stdout(&out);
        assert_eq!(code(&out), 1, "{how}: {text}");
        assert!(text.lines().any(|l| l.starts_with(&format!("{named}: byte offset "))), "{how}: {text}");
        assert_eq!(contents(dir.path()), before, "{how}: nothing rewritten");
    }
}

#[test]
fn a_path_that_is_not_a_wal_directory_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = wal_inspect(&[], dir.path());
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("is not a WAL directory"), "{}", stderr(&out));

    let missing = dir.path().join("nothing-here");
    let out = wal_inspect(&["--verify"], &missing);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("cannot read") && stderr(&out).contains("nothing-here"), "{}", stderr(&out));

    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").expect("write");
    let out = wal_inspect(&[], &file);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("is not a directory"), "{}", stderr(&out));

    let out = Command::new(env!("CARGO_BIN_EXE_wal-inspect")).arg("--no-such-flag").output().expect("run");
    assert_eq!(code(&out), 2);
    let out = Command::new(env!("CARGO_BIN_EXE_wal-inspect")).arg("--help").output().expect("run");
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).contains("--verify"), "{}", stdout(&out));
}

#[test]
fn a_live_log_can_be_inspected() {
    // The log is open (locked, preallocated, being appended to) while wal-inspect runs.
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Arc::new(DiskStorage::create_dir(dir.path()).expect("dir"));
    let (wal, _) = Wal::open(storage, WalOptions::new(LOG)).expect("open");
    for i in 1..=25 {
        wal.append(Kind(1), &payload(i)).expect("append");
    }
    let out = wal_inspect(&["--verify"], dir.path());
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let out = wal_inspect(&["--json"], dir.path());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["summary"]["entries"], 25);
    assert!(doc["segments"][0]["preallocated_bytes"].as_u64().expect("a number") > 0, "{doc}");
    assert_eq!(wal.append(Kind(1), b"still works").expect("append after inspection"), Lsn(26));
}

#[test]
fn golden_records_dump() {
    let dir = tempfile::tempdir().expect("tempdir");
    make_log(dir.path(), 24);
    // A torn entry at the end of the open segment, as a crash would leave it.
    let files = segment_files(dir.path());
    let path = dir.path().join(files.last().expect("a segment"));
    let mut bytes = std::fs::read(&path).expect("read");
    let mut frame = Vec::new();
    format::encode_frame(&mut frame, Lsn(25), Kind(2), &payload(25));
    bytes.extend_from_slice(&frame[..frame.len() - 4]);
    std::fs::write(&path, &bytes).expect("write");

    let out = wal_inspect(&["--records"], dir.path());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let got = stdout(&out);
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testscripts/wal_inspect.golden");
    if std::env::var_os("UPDATE_GOLDENFILES").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(golden.parent().expect("parent")).expect("create testscripts/");
        std::fs::write(&golden, &got).expect("write the golden file");
    }
    let want = std::fs::read_to_string(&golden)
        .unwrap_or_else(|e| panic!("{}: {e} (regenerate with UPDATE_GOLDENFILES=1)", golden.display()));
    assert!(
        got == want,
        "wal-inspect --records differs from {} (regenerate with UPDATE_GOLDENFILES=1 and review the diff)\n--- got ---\n{got}",
        golden.display()
    );
}

/// A real database's directory: its `wal/` is found, each entry is decoded (schema change,
/// inserts with record kinds and sizes, links), and the checkpoint is marked.
#[test]
fn a_database_directory_shows_what_each_entry_does() {
    use basalt_engine::{Database, Document, Options, SchemaRequest, Transaction, Value};
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("db");
    let (db, _) = Database::create(&dir, Options::default()).expect("create");
    let mut tx = Transaction::new();
    tx.schema(SchemaRequest::CreateClass { name: "Person".into(), superclass: Some("V".into()), is_abstract: false });
    db.commit(&tx).expect("schema");
    let mut tx = Transaction::new();
    let a = tx.create("Person", Document::new().with("name", Value::String("Ada".into())));
    let b = tx.create("Person", Document::new());
    tx.create_edge("E", a, b, Document::new());
    db.commit(&tx).expect("graph");
    let checkpoint = db.checkpoint().expect("checkpoint");
    db.close().expect("close");
    let out = Command::new(env!("CARGO_BIN_EXE_wal-inspect")).arg(&dir).arg("--records").output().expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("schema: create class Person extends V"), "{text}");
    assert!(text.contains("insert vertex #"), "{text}");
    assert!(text.contains("insert edge #"), "{text}");
    assert!(text.contains(".out_E += #"), "{text}");
    assert!(text.contains(&format!("the database's checkpoint is at LSN {}", checkpoint.0)), "{text}");
    assert!(text.contains("[checkpoint]"), "{text}");
}

/// `--from`/`--to` take commit times: only the transactions committed in the range are listed,
/// each with its time; an LSN and a time bound combine.
#[test]
fn times_bound_the_records_and_each_transaction_shows_its_time() {
    use basalt_engine::entry::unix_micros_now;
    use basalt_engine::{Database, Document, Options, Transaction, Value};
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("db");
    let (db, _) = Database::create(&dir, Options::default()).expect("create");
    let mut marks = Vec::new();
    let mut lsns = Vec::new();
    for n in 0..6 {
        let mut tx = Transaction::new();
        tx.create("V", Document::new().with("n", Value::Long(n)));
        lsns.push(db.commit(&tx).expect("commit").lsn.0);
        // A time strictly between this commit and the next.
        let t = unix_micros_now();
        while unix_micros_now() <= t {}
        marks.push(t);
    }
    db.close().expect("close");
    let (from, to) = (basalt_tools::time::format_time_us(marks[1]), basalt_tools::time::format_time_us(marks[3]));
    let out = Command::new(env!("CARGO_BIN_EXE_wal-inspect"))
        .arg(&dir)
        .args(["--records", "--json", "--from", &from, "--until", &to])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let got: Vec<u64> =
        doc["records"].as_array().expect("records").iter().map(|r| r["lsn"].as_u64().expect("lsn")).collect();
    assert_eq!(got, lsns[2..=3].to_vec(), "{doc}");
    for r in doc["records"].as_array().expect("records") {
        let t = r["time_us"].as_u64().expect("a time");
        assert!(marks[1] < t && t <= marks[3], "{r}");
        assert!(r["what"].as_str().expect("what").contains("committed 20"), "{r}");
    }
    // With an LSN bound too: the intersection.
    let out = Command::new(env!("CARGO_BIN_EXE_wal-inspect"))
        .arg(&dir)
        .args(["--records", "--json", "--from", &from, "--to", &lsns[2].to_string()])
        .output()
        .expect("run");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["records"].as_array().expect("records").len(), 1, "{doc}");
    let out = wal_inspect(&["--from", "not a time"], &dir);
    assert_eq!(code(&out), 2, "bad usage");
}
