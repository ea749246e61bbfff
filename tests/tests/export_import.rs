//! OrientDB's export and import against a real server: `GET /export/{db}` of the Grateful
//! Dead demo imported with `POST /import/{db}` gives the same records (counts per class,
//! the same edges between the same vertices, the same property values; RIDs may differ, so
//! records are compared by content, edges by their ends' names); `EXPORT`, `IMPORT` and
//! `BACKUP DATABASE` write and read files under `<home>/backup/` only; a hand-written
//! OrientDB export (`tests/data/orientdb-3.2-export.json`, written from `ODatabaseExport`'s
//! attribute order) imports; and damaged or oversized inputs are refused, leaving no
//! database and no staging directory behind, and an import never doubles a database.

#![allow(clippy::unwrap_used)] // Tests fail loudly on any unexpected error.

use std::path::Path;
use std::process::Command;

use basalt_tests::server::{encode_path_segment, snapshot_binary, write_config, ServerProcess};
use serde_json::{json, Value};

const PASSWORD: &str = "export-secret";
const DB: &str = "GratefulDeadConcerts";

fn start(home: &Path, demo: bool) -> ServerProcess {
    let mut args = vec!["--node-name", "n1"];
    if !demo {
        args.push("--no-demo");
    }
    ServerProcess::start(home, &args, &[("BASALT_ROOT_PASSWORD", PASSWORD)])
}

fn sql(server: &ServerProcess, db: &str, text: &str) -> basalt_tests::server::Reply {
    server.client().send_raw("POST", &format!("/command/{db}/sql"), text.as_bytes(), "text/plain")
}

fn rows(server: &ServerProcess, db: &str, text: &str) -> Vec<Value> {
    let reply = sql(server, db, text);
    assert_eq!(reply.status, 200, "{text}: {}", reply.text());
    reply.json()["result"].as_array().unwrap().clone()
}

fn count(server: &ServerProcess, db: &str, class: &str) -> u64 {
    rows(server, db, &format!("SELECT count(*) AS n FROM {class}"))[0]["n"].as_u64().unwrap()
}

/// The database's records by content: vertices with their properties, edges with their
/// class, weight and the names of their ends, each list sorted.
fn contents(server: &ServerProcess, db: &str) -> (Vec<String>, Vec<String>) {
    let mut vertices: Vec<String> = rows(server, db, "SELECT @class AS c, name, type, song_type, performances FROM V")
        .iter()
        .map(|r| r.to_string())
        .collect();
    let mut edges: Vec<String> = rows(server, db, "SELECT @class AS c, out.name AS o, in.name AS i, weight FROM E")
        .iter()
        .map(|r| r.to_string())
        .collect();
    vertices.sort();
    edges.sort();
    (vertices, edges)
}

fn staging_left(home: &Path) -> Vec<String> {
    std::fs::read_dir(home.join("databases"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".import-"))
        .collect()
}

#[test]
fn grateful_dead_exports_and_imports_over_http_and_sql() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let server = start(&home, true);
    let root = server.client();

    let export = root.get(&format!("/export/{DB}"));
    assert_eq!(export.status, 200, "{}", export.text());
    assert_eq!(export.header("content-type"), Some("application/x-gzip"));
    assert!(export.header("content-disposition").unwrap().contains("GratefulDeadConcerts.gz"));
    assert_eq!(&export.body[..2], &[0x1f, 0x8b], "the export is gzip");

    let imported = root.send_raw("POST", "/import/copy", &export.body, "application/octet-stream");
    assert_eq!(imported.status, 200, "{}", imported.text());
    let report = &imported.json()["report"];
    assert_eq!((report["vertices"].as_u64(), report["edges"].as_u64()), (Some(809), Some(8049)));

    for class in ["V", "E", "followed_by", "sung_by", "written_by"] {
        assert_eq!(count(&server, "copy", class), count(&server, DB, class), "count of {class}");
    }
    assert_eq!(count(&server, "copy", "V"), 809);
    let original = contents(&server, DB);
    assert_eq!(original.0.len(), 809);
    assert_eq!(original.1.len(), 8049);
    assert_eq!(contents(&server, "copy"), original, "records and edges by content");

    // The same through SQL and files under <home>/backup/.
    let exported = rows(&server, DB, "EXPORT DATABASE nightly/gd");
    assert_eq!(exported[0]["records"].as_u64(), Some(809 + 8049));
    assert!(home.join("backup/nightly/gd.gz").is_file(), ".gz is appended as ODatabaseExport does");
    assert_eq!(root.post_empty("/database/fromsql").status, 200);
    let row = rows(&server, "fromsql", "IMPORT DATABASE 'nightly/gd.gz'");
    assert_eq!(row[0]["report"]["edges"].as_u64(), Some(8049));
    assert_eq!(contents(&server, "fromsql"), original);
    let again = sql(&server, DB, "EXPORT DATABASE nightly/gd.gz");
    assert!(again.assert_error(409).contains("exists"), "an existing file is not overwritten");

    // BACKUP DATABASE writes a snapshot that basalt-snapshot verifies.
    let backup = rows(&server, DB, "BACKUP DATABASE gd.snap");
    let digest = root.get(&format!("/database/{DB}/digest")).json()["digest"].clone();
    assert_eq!(backup[0]["digest"], digest);
    let verify = Command::new(snapshot_binary())
        .args(["verify", home.join("backup/gd.snap").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));

    // Paths escaping backup/ are refused.
    for bad in ["BACKUP DATABASE ../config/x.snap", "EXPORT DATABASE /tmp/x.gz", "IMPORT DATABASE /etc/passwd"] {
        let text = sql(&server, DB, bad).assert_error(400);
        assert!(text.contains("'..'") || text.contains("outside"), "{bad}: {text}");
    }
    // Only administrators.
    let user = json!({"name": "wri", "password": "writer-pw", "role": "writer"});
    assert_eq!(root.post_json("/users", &user).status, 201);
    let writer = root.login("wri", "writer-pw");
    assert_eq!(writer.get(&format!("/export/{DB}")).status, 403);
    assert_eq!(
        writer.send_raw("POST", &format!("/command/{DB}/sql"), b"BACKUP DATABASE w.snap", "text/plain").status,
        403
    );
    assert!(!home.join("backup/w.snap").exists());
}

#[test]
fn imports_never_double_a_database_and_damage_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let server = start(&home, true);
    let root = server.client();
    let export = root.get(&format!("/export/{DB}")).body;

    // Into a database that holds data: refused, unchanged.
    let twice = root.send_raw("POST", &format!("/import/{DB}"), &export, "application/octet-stream");
    assert!(twice.assert_error(409).contains("already holds records"));
    assert_eq!(count(&server, DB, "V"), 809);
    let sql_twice = sql(&server, DB, "IMPORT DATABASE nothing.gz");
    assert_eq!(sql_twice.status, 409, "{}", sql_twice.text());

    // Truncated and corrupted gzip, malformed JSON: 400 naming what and where; no database.
    let mut flipped = export.clone();
    let at = flipped.len() / 3;
    flipped[at] ^= 0xff;
    let fixture =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/orientdb-3.2-export.json")).unwrap();
    let cut_json = fixture.as_bytes()[..fixture.find("\"#21:1\"").unwrap()].to_vec();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated", export[..export.len() / 2].to_vec(), "gzip stream is damaged or truncated"),
        ("flipped", flipped, "POST /import/flipped"),
        ("cutjson", cut_json, "line"),
        ("notjson", b"{\"info\": {\"name\": }".to_vec(), "malformed JSON in section \"info\""),
    ];
    for (name, body, words) in cases {
        let reply = root.send_raw("POST", &format!("/import/{name}"), &body, "application/octet-stream");
        let text = reply.assert_error(400);
        assert!(text.contains(words), "{name}: '{text}' lacks '{words}'");
        assert_eq!(root.get(&format!("/database/{name}")).status, 404, "{name}: a database was left behind");
        assert!(!home.join("databases").join(name).exists());
    }
    assert_eq!(staging_left(&home), Vec::<String>::new());
    assert_eq!(root.send_raw("POST", "/import/empty", b"", "application/octet-stream").status, 400);

    // A hand-written OrientDB export (plain JSON) imports into a new database.
    let reply = root.send_raw("POST", "/import/social", fixture.as_bytes(), "application/json");
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["responseText"], "Database imported correctly");
    assert_eq!(count(&server, "social", "Person"), 3);
    assert_eq!(count(&server, "social", "Knows"), 2);
    let ada = rows(
        &server,
        "social",
        "SELECT name, age, address.city AS city, out('Knows').name AS knows FROM Person WHERE name = 'Ada'",
    );
    assert_eq!(ada[0]["age"], 36);
    assert_eq!(ada[0]["city"], "London");
    assert_eq!(ada[0]["knows"], json!(["Grace"]));
    let q = format!("/query/social/sql/{}", encode_path_segment("SELECT FROM OUser"));
    assert_eq!(root.get(&q).status, 400, "OrientDB's users are not imported as data");
}

#[test]
fn an_import_body_over_max_body_bytes_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    write_config(&home, "[http]\nmax_body_bytes = 4096\n");
    let server = start(&home, false);
    let big = vec![b' '; 64 << 10];
    let reply = server.client().send_raw("POST", "/import/big", &big, "application/json");
    assert!(reply.assert_error(413).contains("max_body_bytes"));
    assert_eq!(server.client().get("/database/big").status, 404);
}

// ---- basalt-import ----

fn graphml() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/grateful-dead/graph-example-2.xml")
}

fn import_tool(args: &[&str]) -> std::process::Output {
    Command::new(basalt_tests::server::import_binary()).args(args).env_remove("BASALT_PASSWORD").output().unwrap()
}

fn vertices_in(dir: &Path) -> u64 {
    let (db, _) = basalt_engine::Database::open(dir, basalt_engine::Options::default()).unwrap();
    let n = db.snapshot().count("V", true).unwrap();
    db.close().unwrap();
    n
}

fn failed(out: &std::process::Output) -> String {
    assert!(!out.status.success(), "basalt-import succeeded: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn succeeded(out: &std::process::Output) -> String {
    assert!(out.status.success(), "basalt-import failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn leftovers(parent: &Path) -> Vec<String> {
    std::fs::read_dir(parent)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

#[test]
fn basalt_import_never_doubles_a_database_and_a_failure_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("gd");
    let d = dir.to_str().unwrap();
    let g = graphml();
    let g = g.to_str().unwrap();
    succeeded(&import_tool(&["--db", d, "--create", "--quiet", "--graphml", g]));
    assert_eq!(vertices_in(&dir), 809);

    // Again without --create: refused, unchanged.
    let err = failed(&import_tool(&["--db", d, "--quiet", "--graphml", g]));
    assert!(err.contains("already holds 8858 records") && err.contains("--append"), "{err}");
    assert_eq!(vertices_in(&dir), 809);
    // --create onto it: refused.
    assert!(failed(&import_tool(&["--db", d, "--create", "--graphml", g])).contains("exists"));

    // A broken file: --create leaves no directory, --append leaves the database as it was.
    let text = std::fs::read_to_string(graphml()).unwrap();
    let broken = tmp.path().join("broken.xml");
    std::fs::write(&broken, &text[..text.len() / 2]).unwrap();
    let b = broken.to_str().unwrap();
    let fresh = tmp.path().join("fresh");
    let err = failed(&import_tool(&["--db", fresh.to_str().unwrap(), "--create", "--quiet", "--graphml", b]));
    assert!(err.contains("broken.xml") && err.contains("no database was created"), "{err}");
    assert!(!fresh.exists());
    let err = failed(&import_tool(&["--db", d, "--append", "--quiet", "--graphml", b]));
    assert!(err.contains("the database is as it was"), "{err}");
    assert_eq!(vertices_in(&dir), 809);
    assert_eq!(leftovers(tmp.path()), Vec::<String>::new());

    // --append adds a second copy on purpose.
    let out = succeeded(&import_tool(&["--db", d, "--append", "--quiet", "--json", "--graphml", g]));
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["vertices"], 809);
    assert_eq!(vertices_in(&dir), 1618);
}

#[test]
fn basalt_import_reads_orientdb_exports_offline_and_online() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/orientdb-3.2-export.json");
    let f = fixture.to_str().unwrap();
    let dir = tmp.path().join("social");
    let out =
        succeeded(&import_tool(&["--db", dir.to_str().unwrap(), "--create", "--quiet", "--json", "--orientdb", f]));
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (report["vertices"].as_u64(), report["edges"].as_u64(), report["documents"].as_u64()),
        (Some(4), Some(2), Some(1))
    );
    assert_eq!(vertices_in(&dir), 4);
    // Only into an empty database.
    let err = failed(&import_tool(&["--db", dir.to_str().unwrap(), "--append", "--orientdb", f]));
    assert!(err.contains("an OrientDB export goes into an empty or new database"), "{err}");

    // Online, into a running server; its home is refused offline meanwhile.
    let home = tmp.path().join("home");
    let server = start(&home, false);
    let url = server.base_url();
    let online = succeeded(&import_tool(&[
        "--url",
        &url,
        "--user",
        "root",
        "--password",
        PASSWORD,
        "--database",
        "moved",
        "--orientdb",
        f,
        "--json",
    ]));
    let answer: Value = serde_json::from_str(&online).unwrap();
    assert_eq!(answer["edges"], 2);
    assert_eq!(count(&server, "moved", "Person"), 3);
    // GraphML through --url: sent as an export, the same graph on the server.
    let g = graphml();
    succeeded(&import_tool(&[
        "--url",
        &url,
        "--user",
        "root",
        "--password",
        PASSWORD,
        "--database",
        "gd",
        "--graphml",
        g.to_str().unwrap(),
        "--quiet",
    ]));
    assert_eq!((count(&server, "gd", "V"), count(&server, "gd", "followed_by")), (809, 7047));
    let dark_star =
        rows(&server, "gd", "SELECT performances, out('followed_by').size() AS n FROM V WHERE name = 'DARK STAR'");
    assert_eq!(dark_star.len(), 1);
    assert_eq!((&dark_star[0]["performances"], &dark_star[0]["n"]), (&json!(219), &json!(34)));
    let again = import_tool(&[
        "--url",
        &url,
        "--user",
        "root",
        "--password",
        PASSWORD,
        "--database",
        "gd",
        "--graphml",
        g.to_str().unwrap(),
    ]);
    assert!(failed(&again).contains("already holds records"));
    assert_eq!(count(&server, "gd", "V"), 809, "never a second copy online either");
    let err = failed(&import_tool(&["--home", home.to_str().unwrap(), "--database", "x", "--create", "--orientdb", f]));
    assert!(err.contains("is running on") && err.contains("--url"), "{err}");
    assert!(!home.join("databases/x").exists());
}

// ---- the console ----

fn console(server: &ServerProcess, db: &str, command: &str, cwd: &Path) -> std::process::Output {
    Command::new(basalt_tests::server::console_binary())
        .current_dir(cwd)
        .args(["-s", &server.base_url(), "-u", "root", "-p", PASSWORD, "--db", db, "-c", command])
        .output()
        .unwrap()
}

#[test]
fn console_backs_up_exports_imports_and_explains_restore() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let server = start(&home, true);
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();

    let out = console(&server, DB, "EXPORT DATABASE gd", &work);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("exported to gd.gz"));
    let exported = std::fs::read(work.join("gd.gz")).unwrap();
    assert_eq!(&exported[..2], &[0x1f, 0x8b]);
    // Never over an existing file.
    let again = console(&server, DB, "EXPORT DATABASE gd.gz", &work);
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("exists"));

    let out = console(&server, DB, "BACKUP DATABASE gd.snap", &work);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let digest = server.client().get(&format!("/database/{DB}/digest")).json()["digest"].as_str().unwrap().to_string();
    assert!(String::from_utf8_lossy(&out.stdout).contains(&digest), "the backup names the digest");
    let verify =
        Command::new(snapshot_binary()).args(["verify", work.join("gd.snap").to_str().unwrap()]).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));

    assert_eq!(server.client().post_empty("/database/console").status, 200);
    let out = console(&server, "console", "IMPORT DATABASE gd.gz", &work);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("809 vertices, 8049 edges"));
    assert_eq!(count(&server, "console", "E"), 8049);
    // Into a database with data: the server's refusal is shown, nothing changes.
    let twice = console(&server, "console", "IMPORT DATABASE gd.gz", &work);
    assert!(!twice.status.success() && String::from_utf8_lossy(&twice.stderr).contains("already holds records"));
    assert_eq!(count(&server, "console", "V"), 809);

    let restore = console(&server, DB, "RESTORE DATABASE gd.snap", &work);
    assert!(!restore.status.success());
    let text = String::from_utf8_lossy(&restore.stderr);
    assert!(text.contains("basalt-snapshot restore gd.snap --home") && text.contains("Stop the server"), "{text}");
}
