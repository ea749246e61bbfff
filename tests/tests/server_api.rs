//! The HTTP API of the real `basalt-server` binary: databases, documents (vertices and
//! edges), users and roles, the error envelope for bad input of every kind (the server keeps
//! serving afterwards), `/metrics`, `/distributed/status`, `/distributed/node` and the digest.
//!
//! Each test runs its own server on its own temporary home and a free port.

use std::path::Path;

use basalt_server::config::{CONFIG_FILE, DEFAULT_DB_CONFIG_FILE};
use basalt_tests::server::{write_config, Client, ServerProcess};
use serde_json::{json, Value};

const PASSWORD: &str = "root-secret";

/// A server without the demo, with a known root password.
fn start(home: &Path) -> ServerProcess {
    ServerProcess::start(home, &["--no-demo", "--node-name", "n1"], &[("BASALT_ROOT_PASSWORD", PASSWORD)])
}

fn create_db(c: &Client, name: &str) {
    let r = c.post_empty(&format!("/database/{name}"));
    assert_eq!(r.status, 200, "{}", r.text());
}

/// Creates a record; returns it.
fn create(c: &Client, db: &str, doc: Value) -> Value {
    let r = c.post_json(&format!("/document/{db}"), &doc);
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

fn rid_path(db: &str, rec: &Value) -> String {
    let rid = rec["@rid"].as_str().expect("@rid");
    format!("/document/{db}/{}", rid.trim_start_matches('#'))
}

/// The value of a sample in Prometheus text (`name{labels}` exactly as written), or 0.
fn metric(text: &str, sample: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(sample).and_then(|rest| rest.strip_prefix(' ')))
        .map(|v| v.trim().parse().expect("a number"))
        .unwrap_or(0.0)
}

#[test]
fn databases_are_created_listed_and_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let server = start(home);
    let c = server.client();
    assert_eq!(
        c.get("/listDatabases").ok_json(),
        json!({"@type": "d", "@version": 0, "databases": [], "databaseStatus": {}})
    );

    let info = c.post_empty("/database/alpha").ok_json();
    assert_eq!(info["name"], "alpha");
    let classes: Vec<&str> = info["classes"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert!(classes.contains(&"V") && classes.contains(&"E"), "{info}");
    assert_eq!(c.post_empty("/database/beta/plocal").status, 200);
    c.post_empty("/database/gamma/rocks").assert_error(400);
    c.post_empty("/database/alpha").assert_error(409);
    c.post_empty("/database/bad%20name").assert_error(400);
    c.post_empty("/database/..").assert_error(400);
    assert_eq!(c.get("/listDatabases").ok_json()["databases"], json!(["alpha", "beta"]));
    assert_eq!(c.get("/database/beta").ok_json()["name"], "beta");
    c.get("/database/gamma").assert_error(404);

    // Each database gets the default distributed config, copied.
    let default = std::fs::read(home.join("config").join(DEFAULT_DB_CONFIG_FILE)).unwrap();
    for db in ["alpha", "beta"] {
        assert_eq!(std::fs::read(home.join("databases").join(db).join("distributed-config.json")).unwrap(), default);
    }

    create(&c, "alpha", json!({"@class": "V", "name": "x"}));
    assert_eq!(c.delete("/database/alpha").status, 204);
    assert!(!home.join("databases").join("alpha").exists());
    assert_eq!(c.get("/listDatabases").ok_json()["databases"], json!(["beta"]));
    c.delete("/database/alpha").assert_error(404);
    c.get("/document/alpha/9:0").assert_error(404);
    // A dropped name can be created again, empty.
    assert_eq!(c.post_empty("/database/alpha").status, 200);
    c.get("/document/alpha/9:0").assert_error(404);
    assert!(home.join("config").join(CONFIG_FILE).is_file());
}

#[test]
fn documents_vertices_and_edges() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let c = server.client();
    create_db(&c, "g");

    // Create, read, HEAD.
    let a = create(&c, "g", json!({"@class": "V", "name": "a", "n": 1, "tags": ["x", "y"], "nested": {"k": true}}));
    assert_eq!(a["@type"], "d");
    assert_eq!(a["@class"], "V");
    assert_eq!(a["@version"], 1);
    assert_eq!(a["tags"], json!(["x", "y"]));
    assert_eq!(a["nested"], json!({"k": true}));
    let a_path = rid_path("g", &a);
    assert_eq!(c.get(&a_path).ok_json(), a);
    assert_eq!(c.head(&a_path).status, 204);
    let b = create(&c, "g", json!({"@class": "V", "name": "b"}));
    let b_path = rid_path("g", &b);

    // PATCH keeps other fields; PUT replaces them; versions move.
    let patched = c.patch_json(&a_path, &json!({"n": 2, "@version": 1})).ok_json();
    assert_eq!(
        (patched["name"].clone(), patched["n"].clone(), patched["@version"].clone()),
        (json!("a"), json!(2), json!(2))
    );
    let put = c.put_json(&a_path, &json!({"@class": "V", "name": "a2", "@version": 2})).ok_json();
    assert_eq!(put["name"], "a2");
    assert!(put.get("n").is_none(), "PUT replaces the fields: {put}");
    assert_eq!(put["@version"], 3);
    // Stale versions conflict, and change nothing.
    let content = c.put_json(&a_path, &json!({"name": "stale", "@version": 1})).assert_error(409);
    assert!(content.contains("retry") || content.contains("version"), "{content}");
    c.patch_json(&a_path, &json!({"name": "stale", "@version": 2})).assert_error(409);
    assert_eq!(c.get(&a_path).ok_json()["name"], "a2");

    // An edge through POST /document with out and in.
    let e = create(&c, "g", json!({"@class": "E", "out": a["@rid"], "in": b["@rid"], "weight": 3}));
    let e_path = rid_path("g", &e);
    assert_eq!(
        (e["out"].clone(), e["in"].clone(), e["weight"].clone()),
        (a["@rid"].clone(), b["@rid"].clone(), json!(3))
    );
    let a_now = c.get(&a_path).ok_json();
    assert_eq!(a_now["out_E"], json!([e["@rid"]]), "{a_now}");
    let b_now = c.get(&b_path).ok_json();
    assert_eq!(b_now["in_E"], json!([e["@rid"]]), "{b_now}");
    // A client echoing a vertex back (link bags and all) does not lose its edges.
    let mut echo = b_now.clone();
    echo["name"] = json!("b2");
    let b2 = c.put_json(&b_path, &echo).ok_json();
    assert_eq!((b2["name"].clone(), b2["in_E"].clone()), (json!("b2"), json!([e["@rid"]])));
    // Edges need both ends, and vertices at them.
    c.post_json("/document/g", &json!({"@class": "E", "out": a["@rid"]})).assert_error(400);
    let r = c.post_json("/document/g", &json!({"@class": "E", "out": a["@rid"], "in": "#9:999"}));
    assert!(r.status == 404 || r.status == 400, "{}", r.text());
    r.assert_error(r.status);
    c.post_json("/document/g", &json!({"@class": "E", "out": e["@rid"], "in": b["@rid"]})).assert_error(400);
    c.post_json("/document/g", &json!({"@class": "NoSuchClass"})).assert_error(400);
    c.post_json("/document/g", &json!({"name": "no class"})).assert_error(400);

    // Deleting a vertex deletes its edges, and the other end forgets them.
    assert_eq!(c.delete(&a_path).status, 204);
    c.get(&a_path).assert_error(404);
    assert_eq!(c.head(&a_path).status, 404);
    c.get(&e_path).assert_error(404);
    let b_after = c.get(&b_path).ok_json();
    let in_e = b_after.get("in_E").cloned().unwrap_or(json!([]));
    assert_eq!(in_e, json!([]), "{b_after}");
    c.delete(&a_path).assert_error(404);
    c.put_json(&a_path, &json!({"name": "ghost"})).assert_error(404);
}

#[test]
fn the_schema_record_cannot_be_changed_through_the_document_api() {
    // Regression: PATCH /document/{db}/0:0 used to overwrite the schema record, and the
    // database then failed to open after a restart.
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path());
    let c = server.client();
    create_db(&c, "s");
    create(&c, "s", json!({"@class": "V", "name": "keep"}));
    c.patch_json("/document/s/0:0", &json!({"schema": "garbage"})).assert_error(400);
    c.put_json("/document/s/0:0", &json!({"x": 1})).assert_error(400);
    c.delete("/document/s/0:0").assert_error(400);
    assert!(server.terminate().success());
    let server = start(dir.path());
    let c = server.client();
    assert_eq!(c.get("/listDatabases").ok_json()["databases"], json!(["s"]), "{}", server.stderr());
    assert_eq!(c.get("/document/s/9:0").ok_json()["name"], "keep");
}

#[test]
fn users_and_roles() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let root = server.client();
    create_db(&root, "d");
    let rec = create(&root, "d", json!({"@class": "V", "name": "r"}));
    let rec_path = rid_path("d", &rec);

    // 401: none, wrong, unknown, malformed; each says how to authenticate.
    let anon = server.anonymous();
    for client in [anon.clone(), anon.login("root", "wrong"), anon.login("nobody", PASSWORD)] {
        let r = client.get("/listDatabases");
        r.assert_error(401);
        assert_eq!(r.header("www-authenticate"), Some("Basic realm=\"OrientDB Server\""), "{:?}", r.headers);
    }
    for header in ["Bearer abc", "Basic !!!", "Basic", "Basic cm9vdA=="] {
        let r = anon.try_request("GET", "/listDatabases", None, &[("Authorization", header)]).unwrap();
        r.assert_error(401);
    }
    assert!(anon.login("root", "wrong").get("/listDatabases").assert_error(401).contains("root"));

    // Users.
    assert_eq!(
        root.post_json("/users", &json!({"name": "wri", "password": "writer-pw", "role": "writer"})).status,
        201
    );
    assert_eq!(
        root.post_json("/users", &json!({"name": "rea", "password": "reader-pw", "role": "reader"})).status,
        201
    );
    root.post_json("/users", &json!({"name": "x", "password": "long-enough", "role": "superuser"})).assert_error(400);
    root.post_json("/users", &json!({"name": "x", "role": "reader"})).assert_error(400);
    root.post_json("/users", &json!({"name": "bad name", "password": "long-enough", "role": "reader"}))
        .assert_error(400);
    let short =
        root.post_json("/users", &json!({"name": "s", "password": "1234567", "role": "reader"})).assert_error(400);
    assert!(short.contains("at least 8"), "{short}");
    let listed = root.get("/users").ok_json();
    assert_eq!(listed["users"].as_array().unwrap().len(), 3, "{listed}");
    let writer = anon.login("wri", "writer-pw");
    let reader = anon.login("rea", "reader-pw");

    // Reader: reads only.
    assert_eq!(reader.get(&rec_path).ok_json()["name"], "r");
    assert_eq!(reader.get("/listDatabases").status, 200);
    let why = reader.post_json("/document/d", &json!({"@class": "V"})).assert_error(403);
    assert!(why.contains("rea") && why.contains("reader") && why.contains("writer"), "{why}");
    reader.patch_json(&rec_path, &json!({"name": "no"})).assert_error(403);
    reader.put_json(&rec_path, &json!({"name": "no"})).assert_error(403);
    reader.delete(&rec_path).assert_error(403);
    reader.post_empty("/database/r1").assert_error(403);

    // Writer: data yes; databases and users no.
    let w = create(&writer, "d", json!({"@class": "V", "name": "by writer"}));
    assert_eq!(writer.patch_json(&rid_path("d", &w), &json!({"n": 1})).status, 200);
    writer.post_empty("/database/w1").assert_error(403);
    writer.delete("/database/d").assert_error(403);
    writer.get("/users").assert_error(403);
    writer.post_json("/users", &json!({"name": "y", "password": "long-enough", "role": "admin"})).assert_error(403);
    writer.delete("/users/rea").assert_error(403);
    assert_eq!(root.get(&rec_path).ok_json()["name"], "r", "refused writes changed nothing");

    // Admin: changing a password logs the old one out; deleting a user too.
    assert_eq!(
        root.post_json("/users", &json!({"name": "wri", "password": "writer-pw2", "role": "writer"})).status,
        201
    );
    writer.get("/listDatabases").assert_error(401);
    assert_eq!(anon.login("wri", "writer-pw2").get("/listDatabases").status, 200);
    assert_eq!(root.delete("/users/rea").status, 204);
    reader.get("/listDatabases").assert_error(401);
    root.delete("/users/rea").assert_error(404);
    root.delete("/users/root").assert_error(400);
    // Nor can an admin demote themselves (that could leave no admin); changing their own
    // password is fine.
    root.post_json("/users", &json!({"name": "root", "password": PASSWORD, "role": "writer"})).assert_error(400);
    assert_eq!(root.post_json("/users", &json!({"name": "root", "password": PASSWORD, "role": "admin"})).status, 201);
    assert_eq!(root.post_empty("/database/byadmin").status, 200);
}

#[test]
fn bad_requests_get_the_error_envelope_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    // A small body limit, set before the first start.
    write_config(home, "[http]\nmax_body_bytes = 4096\n");
    let server = start(home);
    let c = server.client();
    create_db(&c, "db");
    let rec = create(&c, "db", json!({"@class": "V", "name": "survivor"}));
    let rec_path = rid_path("db", &rec);

    // Malformed bodies.
    for body in [&b"{bad json"[..], b"", b"\xff\xfe", b"[1, 2]", b"\"text\"", b"{\"@class\": 5}"] {
        c.send_raw("POST", "/document/db", body, "application/json").assert_error(400);
        c.send_raw("PATCH", &rec_path, body, "application/json").assert_error(400);
    }
    c.send_raw("POST", "/users", b"{nope", "application/json").assert_error(400);
    // Values nested deeper than the engine stores: refused before anything is logged
    // (regression: this answered 500 after logging an entry that could not be applied).
    let lsn = c.get("/database/db/digest").ok_json()["lsn"].clone();
    let mut deep = json!(1);
    for _ in 0..70 {
        deep = json!([deep]);
    }
    let content = c.post_json("/document/db", &json!({"@class": "V", "deep": deep})).assert_error(400);
    assert!(content.contains("deep"), "{content}");
    c.patch_json(&rec_path, &json!({"deep": {"nested": deep}})).assert_error(400);
    assert_eq!(c.get("/database/db/digest").ok_json()["lsn"], lsn, "nothing was logged");
    c.patch_json(&rec_path, &json!({"@version": "seven"})).assert_error(400);

    // Unknown paths and wrong methods.
    for path in ["/", "/nope", "/document", "/database", "/listDatabases/extra", "/document/db/9:0/more"] {
        let content = c.get(path).assert_error(404);
        assert!(content.contains(path), "{content}");
    }
    let r = c.request("PUT", "/listDatabases", None);
    r.assert_error(405);
    assert!(r.header("allow").is_some_and(|a| a.contains("GET")), "{:?}", r.headers);
    c.get("/document/db").assert_error(405);
    c.request("DELETE", "/metrics", None).assert_error(405);
    c.post_empty("/command/db/gremlin").assert_error(400);

    // Bodies over max_body_bytes: 413, small and large, with a length or chunked.
    for size in [4097usize, 64 << 10, 4 << 20] {
        let big = json!({"@class": "V", "pad": "x".repeat(size)}).to_string();
        let content = c.send_raw("POST", "/document/db", big.as_bytes(), "application/json").assert_error(413);
        assert!(content.contains("max_body_bytes"), "{content}");
    }
    c.send_raw("PUT", &rec_path, "y".repeat(10_000).as_bytes(), "application/json").assert_error(413);

    // Bad RIDs are 400; well-formed RIDs of nothing are 404; a missing database is 404.
    let bad =
        ["abc", "9", "9:", ":1", "9:x", "-1:0", "9:-1", "1:2:3", "99999999999:0", "9:99999999999999999999", "%FF"];
    for rid in bad {
        let path = format!("/document/db/{rid}");
        c.get(&path).assert_error(400);
        assert_eq!(c.head(&path).status, 400, "HEAD {path}");
        c.put_json(&path, &json!({"a": 1})).assert_error(400);
        c.patch_json(&path, &json!({"a": 1})).assert_error(400);
        c.delete(&path).assert_error(400);
    }
    for rid in ["9:12345", "999:0", "1:0", "%239:77"] {
        let path = format!("/document/db/{rid}");
        c.get(&path).assert_error(404);
        assert_eq!(c.head(&path).status, 404);
        c.put_json(&path, &json!({"a": 1})).assert_error(404);
        c.patch_json(&path, &json!({"a": 1})).assert_error(404);
        c.delete(&path).assert_error(404);
    }
    assert_eq!(c.get("/document/db/%239:0").ok_json()["name"], "survivor", "#9:0 is 9:0");
    c.get("/document/nodb/9:0").assert_error(404);
    c.post_json("/document/nodb", &json!({"@class": "V"})).assert_error(404);
    c.get("/database/nodb").assert_error(404);
    c.get("/database/nodb/digest").assert_error(404);
    c.delete("/database/nodb").assert_error(404);

    // Still serving, data intact, and the refusals were counted.
    assert_eq!(c.get(&rec_path).ok_json()["name"], "survivor");
    create(&c, "db", json!({"@class": "V", "name": "after"}));
    let metrics = c.get("/metrics").text();
    for status in ["400", "404", "405", "413"] {
        assert!(metric(&metrics, &format!("basalt_http_requests_total{{status=\"{status}\"}}")) > 0.0, "{status}");
    }
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
}

#[test]
fn metrics_status_node_and_digest() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let mut server = ServerProcess::start(
        home,
        &["--no-demo", "--node-name", "alpha", "--cluster-name", "blue"],
        &[("BASALT_ROOT_PASSWORD", PASSWORD)],
    );
    let c = server.client();
    create_db(&c, "m");

    // Digest: changes with a write, LSN moves.
    let d0 = c.get("/database/m/digest").ok_json();
    assert!(d0["digest"].as_str().is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_hexdigit())), "{d0}");
    let before = c.get("/metrics").text();
    let first = create(&c, "m", json!({"@class": "V", "name": "one"}));
    let d1 = c.get("/database/m/digest").ok_json();
    assert_ne!(d1["digest"], d0["digest"]);
    assert!(d1["lsn"].as_u64().unwrap() > d0["lsn"].as_u64().unwrap(), "{d0} {d1}");
    assert_eq!(c.get("/database/m/digest").ok_json(), d1, "reading does not change it");
    for i in 0..4 {
        create(&c, "m", json!({"@class": "V", "name": format!("v{i}")}));
    }
    assert_eq!(c.patch_json(&rid_path("m", &first), &json!({"n": 1})).status, 200);
    c.put_json(&rid_path("m", &first), &json!({"n": 2, "@version": 1})).assert_error(409);

    // Metrics moved.
    let after = c.get("/metrics").text();
    assert!(after.contains("# TYPE basalt_http_requests_total counter"), "{after}");
    let delta = |sample: &str| metric(&after, sample) - metric(&before, sample);
    assert!(delta("basalt_http_requests_total{status=\"201\"}") >= 5.0, "{after}");
    assert!(delta("basalt_http_requests_total{status=\"409\"}") >= 1.0, "{after}");
    assert_eq!(delta("basalt_commits_total{database=\"m\"}"), 6.0, "{after}");
    assert!(delta("basalt_commit_errors_total{database=\"m\"}") >= 1.0, "{after}");
    assert!(delta("basalt_commit_duration_seconds_count{database=\"m\"}") >= 6.0, "{after}");
    assert!(delta("basalt_wal_fsyncs_total{database=\"m\"}") >= 1.0, "{after}");
    assert!(metric(&after, "basalt_http_connections_total") >= 1.0);
    assert!(metric(&after, "basalt_applied_lsn{database=\"m\"}") >= d1["lsn"].as_f64().unwrap());

    // /distributed/status, the contract's shape.
    let st = c.get("/distributed/status").ok_json();
    assert_eq!(st["localNode"], "alpha");
    assert_eq!(st["clusterName"], "blue");
    let nodes = st["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 1, "{st}");
    let me = &nodes[0];
    assert_eq!(
        (me["name"].clone(), me["role"].clone(), me["reachable"].clone()),
        (json!("alpha"), json!("MASTER"), json!(true))
    );
    let http: std::net::SocketAddr = me["httpAddress"].as_str().unwrap().parse().expect("host:port");
    assert_eq!(http.port(), server.addr().port());
    let cluster = me["clusterAddress"].as_str().unwrap();
    assert!(cluster.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()), "{cluster}");
    assert_eq!(me["databases"]["m"]["status"], "ONLINE");
    assert!(me["databases"]["m"]["appliedLsn"].as_u64().is_some(), "{st}");
    assert_eq!(st["databases"]["m"]["leader"], "alpha");
    assert!(st["databases"]["m"]["writeQuorum"].as_u64().is_some_and(|q| q >= 1), "{st}");

    // /distributed/node, OrientDB's agent shape.
    let node = c.get("/distributed/node").ok_json();
    assert_eq!((node["localId"].clone(), node["localName"].clone()), (json!("alpha"), json!("alpha")));
    let members = node["members"].as_array().expect("members");
    assert_eq!(members.len(), 1);
    assert_eq!(members[0]["name"], "alpha");
    assert_eq!(members[0]["databases"], json!(["m"]));

    // The digest is the same after a restart (and after SIGKILL: recovery rebuilds the same state).
    let d = c.get("/database/m/digest").ok_json();
    assert!(server.terminate().success());
    let mut again = ServerProcess::start(home, &[], &[]);
    again.set_root_password(PASSWORD);
    assert_eq!(again.client().get("/database/m/digest").ok_json(), d);
    again.kill();
    let mut third = ServerProcess::start(home, &[], &[]);
    third.set_root_password(PASSWORD);
    assert_eq!(third.client().get("/database/m/digest").ok_json(), d);
}

/// Fails, saying what it waits for, while the SQL endpoints answer that the executor is
/// missing.
fn require_sql(c: &Client) {
    let r = c.get("/query/GratefulDeadConcerts/sql/select%201%20as%20one");
    if r.status == 400 && r.text().contains("not built yet") {
        panic!("waits for the SQL executor (server/src/sql, query::run): /query answered {}", r.text());
    }
}

#[test]
fn sql_endpoints_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &["--node-name", "n1"], &[("BASALT_ROOT_PASSWORD", PASSWORD)]);
    let c = server.client();
    require_sql(&c);
    let demo = "GratefulDeadConcerts";
    let q = |sql: &str, tail: &str| {
        c.get(&format!("/query/{demo}/sql/{}{tail}", basalt_tests::server::encode_path_segment(sql)))
    };
    // /query: read-only, 20 rows unless told, -1 for all.
    assert_eq!(q("select from V", "").ok_json()["result"].as_array().unwrap().len(), 20);
    assert_eq!(q("select from V", "/5").ok_json()["result"].as_array().unwrap().len(), 5);
    assert_eq!(q("select from V", "/-1").ok_json()["result"].as_array().unwrap().len(), 809);
    let song = q("select from V where name = 'HEY BO DIDDLEY'", "").ok_json();
    assert_eq!(song["result"][0]["@rid"], "#9:1", "{song}");
    q("select from V where", "").assert_error(400);
    let r = q("create vertex V set name = 'nope'", "");
    assert!(r.status == 400 || r.status == 403, "{}", r.text());
    r.assert_error(r.status);

    // /command: text or JSON with parameters.
    let n = c
        .post_json(
            &format!("/command/{demo}/sql"),
            &json!({"command": "select count(*) as n from V where type = ?", "parameters": ["song"]}),
        )
        .ok_json();
    assert_eq!(n["result"][0]["n"], 584, "{n}");
    let created =
        c.send_raw("POST", &format!("/command/{demo}/sql"), b"CREATE VERTEX V SET name = 'cmd'", "text/plain");
    assert_eq!(created.ok_json()["result"][0]["name"], "cmd");
    c.send_raw("POST", &format!("/command/{demo}/sql"), b"SELEKT 1", "text/plain").assert_error(400);

    // Roles apply to SQL too.
    assert_eq!(c.post_json("/users", &json!({"name": "ro", "password": "reader-pw", "role": "reader"})).status, 201);
    let reader = server.anonymous().login("ro", "reader-pw");
    reader
        .send_raw("POST", &format!("/command/{demo}/sql"), b"CREATE VERTEX V SET name = 'ro'", "text/plain")
        .assert_error(403);
    assert_eq!(reader.get(&format!("/query/{demo}/sql/select%20from%20V/1")).status, 200);

    // /batch: one transaction; a failing statement undoes the others.
    let batch = |names: &[&str], last: &str| {
        let mut script: Vec<String> = names.iter().map(|n| format!("CREATE VERTEX V SET name = '{n}'")).collect();
        script.push(last.to_string());
        json!({"transaction": true, "operations": [{"type": "script", "language": "sql", "script": script}]})
    };
    assert_eq!(c.post_json(&format!("/batch/{demo}"), &batch(&["b1", "b2"], "SELECT 1")).status, 200);
    assert_eq!(q("select from V where name = 'b1'", "").ok_json()["result"].as_array().unwrap().len(), 1);
    let failed = c.post_json(&format!("/batch/{demo}"), &batch(&["b3"], "SELEKT broken"));
    assert!(failed.status >= 400, "{}", failed.text());
    failed.assert_error(failed.status);
    assert_eq!(q("select from V where name = 'b3'", "").ok_json()["result"], json!([]));
}
