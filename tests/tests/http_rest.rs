//! The REST API against the assertions of OrientDB's own HTTP tests
//! (`server/src/test/java/com/orientechnologies/orient/test/server/network/http/Http*Test.java`
//! of `orientechnologies/orientdb`, branch `develop`) and the handlers they drive
//! (`server/src/main/java/.../server/network/protocol/http/command/`). Each test names the
//! OrientDB test or handler it follows. Where OrientDB's tests use its built-in `OUser`
//! class or the password `admin`, these use a class of their own and a password Basalt's
//! minimum length accepts.
//!
//! Each test runs its own server on its own temporary home and a free port.

use std::path::Path;

use basalt_tests::server::{write_config, Client, Reply, ServerProcess};
use serde_json::{json, Value};

const PASSWORD: &str = "root-secret";

fn start(home: &Path) -> ServerProcess {
    ServerProcess::start(home, &["--no-demo", "--node-name", "n1"], &[("BASALT_ROOT_PASSWORD", PASSWORD)])
}

fn create_db(c: &Client, name: &str) {
    let r = c.post_empty(&format!("/database/{name}"));
    assert_eq!(r.status, 200, "{}", r.text());
}

fn send(c: &Client, method: &str, path: &str, body: &str, headers: &[(&str, &str)]) -> Reply {
    c.try_request(method, path, Some((body.as_bytes(), "application/json")), headers).unwrap_or_else(|e| panic!("{e}"))
}

/// Sends a text/plain body (OrientDB's tests send SQL as `CONTENT.TEXT`).
fn send_text(c: &Client, path: &str, body: &str) -> Reply {
    c.try_request("POST", path, Some((body.as_bytes(), "text/plain")), &[]).unwrap_or_else(|e| panic!("{e}"))
}

fn sql(c: &Client, db: &str, text: &str) -> Value {
    let r = send_text(c, &format!("/command/{db}/sql/"), text);
    assert_eq!(r.status, 200, "{text}: {}", r.text());
    r.json()
}

fn rid_path(db: &str, rec: &Value) -> String {
    format!("/document/{db}/{}", rec["@rid"].as_str().expect("@rid").trim_start_matches('#'))
}

/// HttpDocumentTest: create, read, updateFull, updateFullNoVersion, updateFullBadVersion,
/// updatePartial, patchPartial, deleteByRid, with its relaxed-JSON bodies; and
/// OServerCommandPutDocument: `@rid` in the body, `If-Match`, the `ETag`.
#[test]
fn documents_update_as_orientdb_does() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let c = server.client();
    create_db(&c, "httpdocument");
    let db = "httpdocument";
    let new = |c: &Client| {
        let r = send(c, "POST", "/document/httpdocument", "{@class:'V', name:'Jay', surname:'Miner',age:0}", &[]);
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()
    };

    // create: the client's @version is ignored.
    let r = send(
        &c,
        "POST",
        "/document/httpdocument",
        "{@class:'V', name:'Jay', surname:'Miner',age:99, \"@version\":100}",
        &[],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.json();
    assert_eq!(
        (created["name"].clone(), created["age"].clone(), created["@version"].clone()),
        (json!("Jay"), json!(99), json!(1))
    );
    // read
    let read = c.get(&rid_path(db, &created));
    assert_eq!(read.ok_json()["surname"], "Miner");
    assert_eq!(read.header("etag"), Some("1"));

    // updateFull: the whole record echoed back with changes.
    let mut full = new(&c);
    full["name"] = json!("Jay2");
    full["surname"] = json!("Miner2");
    full["age"] = json!(1);
    let updated = c.put_json(&rid_path(db, &full), &full).ok_json();
    assert_eq!(
        (updated["name"].clone(), updated["age"].clone(), updated["@version"].clone()),
        (json!("Jay2"), json!(1), json!(2))
    );

    // updateFullNoVersion: relaxed JSON, no version, the fields replaced.
    let rec = new(&c);
    let r = send(&c, "PUT", &rid_path(db, &rec), "{name:'Jay2', surname:'Miner2',age:1}", &[]);
    let updated = r.ok_json();
    assert_eq!((updated["surname"].clone(), updated["@version"].clone()), (json!("Miner2"), json!(2)));
    assert_eq!(r.header("etag"), Some("2"));
    // Full mode drops the fields the body leaves out.
    let fewer = send(&c, "PUT", &rid_path(db, &rec), "{name:'only'}", &[]).ok_json();
    assert_eq!(fewer["name"], "only");
    assert!(fewer.get("surname").is_none() && fewer.get("age").is_none(), "{fewer}");

    // updateFullBadVersion: 409, nothing changes.
    let rec = new(&c);
    send(&c, "PUT", &rid_path(db, &rec), "{name:'Jay2', surname:'Miner2',age:1, @version: 2}", &[]).assert_error(409);
    assert_eq!(c.get(&rid_path(db, &rec)).ok_json()["name"], "Jay");
    // If-Match is the version when given.
    send(&c, "PUT", &rid_path(db, &rec), "{name:'x'}", &[("If-Match", "7")]).assert_error(409);
    assert_eq!(send(&c, "PUT", &rid_path(db, &rec), "{name:'x'}", &[("If-Match", "1")]).ok_json()["@version"], 2);

    // updatePartial: ?updateMode=partial keeps the other fields.
    let rec = new(&c);
    let merged = send(&c, "PUT", &format!("{}?updateMode=partial", rid_path(db, &rec)), "{age:1}", &[]).ok_json();
    assert_eq!(
        (merged["name"].clone(), merged["surname"].clone(), merged["age"].clone(), merged["@version"].clone()),
        (json!("Jay"), json!("Miner"), json!(1), json!(2))
    );
    // ... and so does the updateMode header.
    let merged = send(&c, "PUT", &rid_path(db, &rec), "{age:2}", &[("updateMode", "partial")]).ok_json();
    assert_eq!((merged["name"].clone(), merged["age"].clone()), (json!("Jay"), json!(2)));

    // patchPartial
    let rec = new(&c);
    let patched = send(&c, "PATCH", &rid_path(db, &rec), "{age:1,@version:1}", &[]).ok_json();
    assert_eq!(
        (patched["name"].clone(), patched["surname"].clone(), patched["age"].clone(), patched["@version"].clone()),
        (json!("Jay"), json!("Miner"), json!(1), json!(2))
    );

    // PUT /document/{db} with @rid in the body.
    let rid = rec["@rid"].as_str().unwrap();
    let body = format!("{{\"@rid\": \"{rid}\", \"name\": \"by-body\"}}");
    let by_body = send(&c, "PUT", "/document/httpdocument?updateMode=partial", &body, &[]).ok_json();
    assert_eq!(
        (by_body["name"].clone(), by_body["surname"].clone(), by_body["@rid"].clone()),
        (json!("by-body"), json!("Miner"), json!(rid))
    );
    send(&c, "PUT", "/document/httpdocument", "{name:'no rid'}", &[]).assert_error(400);
    send(&c, "PUT", "/document/httpdocument", "{\"@rid\": \"#9:999\", name:'x'}", &[]).assert_error(404);

    // deleteByRid: 204, then 404.
    assert_eq!(c.delete(&rid_path(db, &rec)).status, 204);
    c.get(&rid_path(db, &rec)).assert_error(404);
    // A body that is neither JSON nor relaxed JSON names what is wrong.
    let content = send(&c, "POST", "/document/httpdocument", "{@class:'V', name: Jay}", &[]).assert_error(400);
    assert!(content.contains("byte"), "{content}");
}

/// HttpCommandTest (`command/<db>/sql/` with a trailing slash, text and JSON bodies, named
/// and positional parameters), HttpQueryTest (`URLEncoder` writes spaces as `+`),
/// OServerCommandPostCommand (`command/<db>/<lang>/<text>[/limit][/<fetchPlan>]`, the body
/// replacing the text) and OServerCommandGetQuery (`query/.../<limit>/<fetchPlan>`).
#[test]
fn sql_paths_as_orientdb_accepts_them() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let c = server.client();
    create_db(&c, "httpcommand");
    sql(&c, "httpcommand", "create class Person extends V");
    for n in ["admin", "reader", "writer"] {
        sql(&c, "httpcommand", &format!("insert into Person set name = '{n}'"));
    }
    let names = |j: &Value| -> Vec<String> {
        j["result"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap_or("").to_string()).collect()
    };

    // commandWithNamedParams / commandWithPosParams (sent as text/plain, as the test does).
    let named = r#"{"command":"select from Person where name = :name","parameters":{"name":"admin"}}"#;
    let r = send_text(&c, "/command/httpcommand/sql/", named);
    assert_eq!(names(&r.ok_json()), ["admin"]);
    let positional = r#"{"command":"select from Person where name = ?","parameters":["admin"]}"#;
    assert_eq!(names(&send(&c, "POST", "/command/httpcommand/sql/", positional, &[]).ok_json()), ["admin"]);

    // '+' is a space in a path; the trailing slash is fine too.
    let q = c.get("/query/httpcommand/sql/select+from+Person+where+name+%3D+%27reader%27/10/");
    assert_eq!(names(&q.ok_json()), ["reader"]);
    // A literal '+' is sent encoded and stays one.
    let q = c.get("/query/httpcommand/sql/select+1%2B1+as+two/10");
    assert_eq!(q.ok_json()["result"][0]["two"], 2);

    // Limit and fetch plan in the path; the body replaces the path's text.
    let r = send_text(&c, "/command/httpcommand/sql/-/2", "select from Person order by name");
    assert_eq!(names(&r.ok_json()), ["admin", "reader"]);
    let r = send_text(&c, "/command/httpcommand/sql/-/1/*:1", "select from Person order by name");
    assert_eq!(names(&r.ok_json()), ["admin"]);
    let r = c.request("POST", "/command/httpcommand/sql/select%20from%20Person/-1/*:0", None);
    assert_eq!(names(&r.ok_json()).len(), 3);
    let q = c.get("/query/httpcommand/sql/select%20from%20Person%20order%20by%20name/2/*:-1");
    assert_eq!(names(&q.ok_json()), ["admin", "reader"]);
    c.request("POST", "/command/httpcommand/sql/-/many", None).assert_error(400);

    // HttpErrorsTest.testCommandWrongMethod: POST /listDatabases is 405.
    c.post_empty("/listDatabases").assert_error(405);
}

/// HttpXRequestedWithXMLHttpRequestTest (no `WWW-Authenticate` for an AJAX request) and
/// ODefaultSecuritySystem.getAuthenticationHeader (the realms).
#[test]
fn unauthorized_answers_carry_orientdb_realms() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    create_db(&server.client(), "httpclassxrequested");
    let bad = server.anonymous().login("root", "wrong-password");
    let r = bad.get("/class/httpclassxrequested/V");
    r.assert_error(401);
    assert_eq!(r.header("www-authenticate"), Some("Basic realm=\"OrientDB db-httpclassxrequested\""));
    let r = bad
        .try_request("GET", "/class/httpclassxrequested/V", None, &[("X-Requested-With", "XMLHttpRequest")])
        .unwrap();
    r.assert_error(401);
    assert_eq!(r.header("www-authenticate"), None, "{:?}", r.headers);
    let r = server.anonymous().get("/listDatabases");
    r.assert_error(401);
    assert_eq!(r.header("www-authenticate"), Some("Basic realm=\"OrientDB Server\""));
}

/// HttpClassTest (200 for a class, 404 for none, 201 on create, 204 on drop) and
/// HttpClusterTest (200 for a cluster, 404 for none); OServerCommandGetCluster's limit.
#[test]
fn class_and_cluster_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let c = server.client();
    create_db(&c, "httpclass");
    let v = c.get("/class/httpclass/V").ok_json();
    assert_eq!(
        (v["name"].clone(), v["superClass"].clone(), v["abstract"].clone()),
        (json!("V"), json!(""), json!(false))
    );
    c.get("/class/httpclass/NonExistentCLass").assert_error(404);

    let r = c.post_empty("/class/httpclass/NewClass");
    assert_eq!(r.status, 201, "{}", r.text());
    let classes = c.get("/database/httpclass").ok_json()["classes"].as_array().unwrap().len();
    assert_eq!(r.json(), json!(classes), "the answer is the number of classes");
    c.post_empty("/class/httpclass/NewClass").assert_error(409);
    assert_eq!(c.post_empty("/class/httpclass/NewClassToDrop").status, 201);
    assert_eq!(c.delete("/class/httpclass/NewClassToDrop").status, 204);
    c.get("/class/httpclass/NewClassToDrop").assert_error(404);
    c.delete("/class/httpclass/NewClassToDrop").assert_error(404);
    // A class with records is not dropped.
    sql(&c, "httpclass", "insert into NewClass set n = 1");
    c.delete("/class/httpclass/NewClass").assert_error(409);
    assert_eq!(c.get("/class/httpclass/NewClass").ok_json()["records"], 1);

    // Clusters by name: the records, 20 at most unless a limit is given.
    for i in 0..25 {
        sql(&c, "httpclass", &format!("insert into NewClass set n = {i}"));
    }
    let name = c.get("/database/httpclass").ok_json()["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["class"] == "NewClass")
        .map(|k| k["name"].as_str().unwrap().to_string())
        .unwrap();
    assert_eq!(c.get(&format!("/cluster/httpclass/{name}")).ok_json()["result"].as_array().unwrap().len(), 20);
    assert_eq!(c.get(&format!("/cluster/httpclass/{name}/3")).ok_json()["result"].as_array().unwrap().len(), 3);
    assert_eq!(c.get(&format!("/cluster/httpclass/{name}/0")).ok_json()["result"].as_array().unwrap().len(), 26);
    c.get("/cluster/httpclass/NonExistentCLass").assert_error(404);
}

/// HttpConnectionTest.testConnect (204), OServerCommandAuthenticatedDbAbstract (the cookie
/// authenticates, only on its database), OServerCommandGetDisconnect (401 "Logged out"),
/// and the session table's bound (`[limits] max_sessions`).
#[test]
fn sessions_from_connect_authenticate_until_disconnect() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "[limits]\nmax_sessions = 3\n");
    let server = start(dir.path());
    let root = server.client();
    create_db(&root, "httpconnection");
    create_db(&root, "other");
    let r = root.get("/connect/httpconnection");
    assert_eq!(r.status, 204, "{}", r.text());
    let set = r.header("set-cookie").expect("a session cookie").to_string();
    assert!(
        set.starts_with("OSESSIONID=OS")
            && set.contains("Path=/")
            && set.contains("HttpOnly")
            && set.contains("SameSite=Strict"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_string();
    root.get("/connect/nosuchdb").assert_error(404);

    // The cookie alone authenticates requests on its database ...
    let anon = server.anonymous();
    let with = |path: &str, cookie: &str| anon.try_request("GET", path, None, &[("Cookie", cookie)]).unwrap();
    assert_eq!(with("/query/httpconnection/sql/select+1+as+x", &cookie).ok_json()["result"][0]["x"], 1);
    assert_eq!(with("/database/httpconnection", &cookie).status, 200);
    // ... not server paths ...
    with("/listDatabases", &cookie).assert_error(401);
    // ... and used on another database it is refused and closed.
    let r = with("/query/other/sql/select+1", &cookie);
    assert!(r.assert_error(401).contains("httpconnection"));
    with("/query/httpconnection/sql/select+1", &cookie).assert_error(401);

    // Disconnect forgets the session.
    let cookie =
        root.get("/connect/httpconnection").header("set-cookie").unwrap().split(';').next().unwrap().to_string();
    assert_eq!(with("/database/httpconnection", &cookie).status, 200);
    let r = with("/disconnect", &cookie);
    assert!(r.assert_error(401).contains("Logged out"));
    assert!(r.header("set-cookie").is_some_and(|s| s.starts_with("OSESSIONID=-")), "{:?}", r.headers);
    with("/database/httpconnection", &cookie).assert_error(401);

    // The bound: a fourth session replaces the least recently used.
    let cookies: Vec<String> = (0..4)
        .map(|_| {
            root.get("/connect/httpconnection").header("set-cookie").unwrap().split(';').next().unwrap().to_string()
        })
        .collect();
    with("/database/httpconnection", &cookies[0]).assert_error(401);
    for c in &cookies[1..] {
        assert_eq!(with("/database/httpconnection", c).status, 200);
    }
    // A forged id is no session.
    with("/database/httpconnection", "OSESSIONID=OS0000").assert_error(401);
}

/// HttpServerTest.testGetServer and testGetConnections (`connections/` with its slash).
#[test]
fn server_lists_its_connections() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let c = server.client();
    create_db(&c, "server");
    assert_eq!(c.get("/database/server").status, 200);
    let info = c.get("/server").ok_json();
    let conns = info["connections"].as_array().expect("connections");
    assert!(!conns.is_empty(), "{info}");
    assert!(conns.iter().all(|k| k["protocol"] == "http" && k["totalRequests"].as_u64().is_some()), "{info}");
    assert!(conns.iter().any(|k| k["user"] == "root"), "{info}");
    let listed = c.get("/connections/").ok_json();
    assert!(listed["connections"].as_array().is_some_and(|a| !a.is_empty()), "{listed}");
    let of_db = c.get("/connections/server").ok_json();
    assert!(of_db["connections"].as_array().unwrap().iter().all(|k| k["db"] == "server"), "{of_db}");
}

/// OFieldTypesString.getType (input) and OJSONFetchContext.manageTypes (output).
#[test]
fn field_types_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let c = server.client();
    create_db(&c, "types");
    let target = c.post_json("/document/types", &json!({"@class": "V", "name": "t"})).ok_json();
    let body = json!({
        "@class": "V", "big": 5, "ratio": 0.5, "born": "2020-01-02 03:04:05", "day": "2021-06-07",
        "friend": target["@rid"], "blob": "AAECAw==", "small": 7,
        "@fieldTypes": "big=l,ratio=f,born=t,day=a,friend=x,blob=b,small=s"
    });
    let made = c.post_json("/document/types", &body);
    assert_eq!(made.status, 201, "{}", made.text());
    let got = c.get(&rid_path("types", &made.json())).ok_json();
    assert_eq!(got["big"], 5);
    assert_eq!(got["born"], "2020-01-02 03:04:05");
    assert_eq!(got["day"], "2021-06-07 00:00:00");
    assert_eq!(got["friend"], target["@rid"]);
    assert_eq!(got["blob"], "AAECAw==");
    let types: Vec<&str> = got["@fieldTypes"].as_str().expect("@fieldTypes").split(',').collect();
    for t in ["big=l", "ratio=f", "born=t", "day=t", "friend=x", "blob=b", "small=s"] {
        assert!(types.contains(&t), "{t} in {types:?}");
    }
    // Queried back by type: the link is a link, the long compares as a number.
    let r = sql(&c, "types", &format!("select from V where friend = {} and big = 5", target["@rid"].as_str().unwrap()));
    assert_eq!(r["result"].as_array().unwrap().len(), 1, "{r}");
    let bad = json!({"@class": "V", "when": "soon", "@fieldTypes": "when=t"});
    assert!(c.post_json("/document/types", &bad).assert_error(400).contains("when"));
    let bad = json!({"@class": "V", "price": 1, "@fieldTypes": "price=c"});
    assert!(c.post_json("/document/types", &bad).assert_error(400).contains("DECIMAL"));
}

/// HttpBatchTest.batchUpdate (`u` with the current version, with the next one, then the
/// stale one: 409) and OServerCommandPostBatch (`c`, `d`, `cmd`, `script`).
#[test]
fn batch_record_operations() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let c = server.client();
    create_db(&c, "httpscript");
    sql(&c, "httpscript", "create class User");
    let inserted = sql(&c, "httpscript", "insert into User content {\"userID\": \"35862601\"}")["result"][0].clone();
    let (rid, version) = (inserted["@rid"].as_str().unwrap().to_string(), inserted["@version"].as_u64().unwrap());
    let update = |v: u64| {
        json!({"transaction": true, "operations": [{"type": "u", "record": {
            "userID": "35862601", "externalID": "35862601", "@rid": rid, "@class": "User", "@version": v}}]})
    };
    let r = c.post_json("/batch/httpscript/sql/", &update(version));
    assert_eq!(r.ok_json()["result"][0]["externalID"], "35862601");
    assert_eq!(c.post_json("/batch/httpscript/sql/", &update(version + 1)).status, 200);
    c.post_json("/batch/httpscript/sql/", &update(version + 1)).assert_error(409);

    // c then d in one batch, all or nothing: a failing d undoes the c.
    let before = sql(&c, "httpscript", "select count(*) as n from User")["result"][0]["n"].clone();
    let bad = json!({"operations": [
        {"type": "c", "record": {"@class": "User", "userID": "new"}},
        {"type": "d", "record": {"@rid": rid, "@version": 1}}]});
    c.post_json("/batch/httpscript", &bad).assert_error(409);
    assert_eq!(sql(&c, "httpscript", "select count(*) as n from User")["result"][0]["n"], before);
    let ok = json!({"operations": [{"type": "c", "record": {"@class": "User", "userID": "new"}}]});
    let made = c.post_json("/batch/httpscript", &ok).ok_json();
    assert_eq!(made["result"][0]["userID"], "new");
    let del = json!({"operations": [{"type": "d", "record": {"@rid": made["result"][0]["@rid"]}}]});
    assert_eq!(c.post_json("/batch/httpscript", &del).ok_json()["result"][0], made["result"][0]["@rid"]);

    // cmd and script.
    let cmd = json!({"operations": [{"type": "cmd", "language": "sql", "command": "select from User where userID = '35862601'"}]});
    assert_eq!(c.post_json("/batch/httpscript", &cmd).ok_json()["result"][0]["externalID"], "35862601");
    let script = json!({"operations": [{"type": "script", "language": "SQL",
        "script": ["insert into User set userID = 's1'", "select from User where userID = 's1'"]}]});
    assert_eq!(c.post_json("/batch/httpscript", &script).ok_json()["result"][0]["userID"], "s1");
    // Mixed record and SQL operations are refused, naming why.
    let mixed = json!({"operations": [{"type": "c", "record": {"@class": "User"}}, {"type": "cmd", "language": "sql", "command": "select 1"}]});
    assert!(c.post_json("/batch/httpscript", &mixed).assert_error(400).contains("two batches"));
    c.post_json("/batch/httpscript", &json!({"operations": [{"type": "x"}]})).assert_error(400);
    c.post_json("/batch/httpscript", &json!({"operations": []})).assert_error(400);
}

/// HttpDatabaseTest.testCreateAndGetDatabase (`adminPassword`, then `server.version` read
/// by that admin) and testCreateDatabaseWrongPassword (401).
#[test]
fn create_database_with_admin_password() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let c = server.client();
    // A password the user table refuses creates nothing.
    c.post_json("/database/httpdb/memory", &json!({"adminPassword": "short"})).assert_error(400);
    c.get("/database/httpdb").assert_error(404);
    let r = c.post_json("/database/httpdb/memory", &json!({"adminPassword": "admin-password"}));
    assert_eq!(r.status, 200, "{}", r.text());
    let admin = server.anonymous().login("admin", "admin-password");
    let info = admin.get("/database/httpdb").ok_json();
    assert_eq!(info["server"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(admin.get("/query/httpdb/sql/select+1+as+one/10").ok_json()["result"][0]["one"], 1);
    // An existing admin with another password is not overwritten.
    c.post_json("/database/httpdb2", &json!({"adminPassword": "another-password"})).assert_error(409);
    c.get("/database/httpdb2").assert_error(404);
    assert_eq!(c.post_json("/database/httpdb2", &json!({"adminPassword": "admin-password"})).status, 200);
    server.anonymous().login("root", "wrongPasswod").post_empty("/database/wrongpasswd").assert_error(401);
    assert_eq!(c.delete("/database/httpdb").status, 204);
}

/// OServerCommandGetDatabase.exportClass: superClass(es), strictmode, properties with their
/// attributes, indexes.
#[test]
fn database_exports_each_class() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let c = server.client();
    create_db(&c, "schema");
    for s in [
        "create class Person extends V",
        "create property Person.name string",
        "alter property Person.name mandatory true",
        "create property Person.friend link Person",
        "create index Person.name on Person (name) unique",
        "alter class Person strictmode true",
    ] {
        sql(&c, "schema", s);
    }
    let info = c.get("/database/schema").ok_json();
    let classes = info["classes"].as_array().unwrap();
    let names: Vec<&str> = classes.iter().map(|k| k["name"].as_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "classes are sorted by name");
    let p = classes.iter().find(|k| k["name"] == "Person").unwrap();
    assert_eq!((p["superClass"].clone(), p["superClasses"].clone()), (json!("V"), json!(["V"])), "{p}");
    assert_eq!(p["strictmode"], true, "{p}");
    assert_eq!(p["defaultCluster"], p["clusters"][0], "{p}");
    assert_eq!(p["indexes"], json!([{"name": "Person.name", "type": "UNIQUE", "fields": ["name"]}]), "{p}");
    let props = p["properties"].as_array().unwrap();
    let name = props.iter().find(|x| x["name"] == "name").unwrap();
    for key in ["type", "mandatory", "readonly", "notNull", "min", "max", "regexp", "collate", "defaultValue"] {
        assert!(name.get(key).is_some(), "{key} in {name}");
    }
    assert_eq!((name["type"].clone(), name["mandatory"].clone()), (json!("STRING"), json!(true)));
    let friend = props.iter().find(|x| x["name"] == "friend").unwrap();
    assert_eq!((friend["type"].clone(), friend["linkedClass"].clone()), (json!("LINK"), json!("Person")));
    // The same export for one class.
    let mut one = c.get("/class/schema/Person").ok_json();
    one["strictMode"] = one["strictmode"].clone();
    assert_eq!(&one, p);
}

/// OServerCommandOptions (a preflight without credentials) and the configured CORS origins.
#[test]
fn cors_preflight_and_origins() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "[http]\ncors_allowed_origins = [\"https://studio.example\"]\n");
    let server = start(dir.path());
    let anon = server.anonymous();
    let r = anon.try_request("OPTIONS", "/command/any/sql", None, &[("Origin", "https://studio.example")]).unwrap();
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(r.header("access-control-allow-methods").is_some_and(|m| m.contains("POST") && m.contains("OPTIONS")));
    assert!(r.header("access-control-allow-headers").is_some_and(|h| h.contains("authorization")));
    assert_eq!(r.header("access-control-max-age"), Some("1728000"));
    assert_eq!(r.header("access-control-allow-origin"), Some("https://studio.example"));
    let ok =
        server.client().try_request("GET", "/listDatabases", None, &[("Origin", "https://studio.example")]).unwrap();
    assert_eq!(ok.header("access-control-allow-origin"), Some("https://studio.example"));
    assert_eq!(ok.header("access-control-allow-credentials"), Some("true"));
    let other =
        server.client().try_request("GET", "/listDatabases", None, &[("Origin", "https://evil.example")]).unwrap();
    assert_eq!(other.status, 200);
    assert_eq!(other.header("access-control-allow-origin"), None);
}

/// The README's table of OrientDB REST endpoints stays true: each row marked supported or
/// partly is routed (no "no such path" 404, no 405), and each row marked not is not.
#[test]
fn readme_rest_table_is_routed() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).unwrap();
    let rows: Vec<(String, String, String)> = readme
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            let (method, path) = cells.first()?.trim_matches('`').split_once(' ')?;
            Some((method.to_string(), path.to_string(), cells.get(1)?.to_string()))
        })
        .collect();
    assert!(rows.len() >= 20, "the README's REST table was not found: {rows:?}");
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let c = server.client();
    create_db(&c, "t");
    for (method, template, status) in rows {
        let path = template
            .replace("{db}", "t")
            .replace("{storage}", "plocal")
            .replace("{lang}", "sql")
            .replace("{text}", "select%201")
            .replace("{limit}", "5")
            .replace("{plan}", "*:0")
            .replace("{rid}", "9:0")
            .replace("{class}", "V")
            .replace("{name}", "v")
            .replace("{key}", "k");
        let r = c.request(&method, &path, None);
        let unrouted = r.status == 405 || (r.status == 404 && r.text().contains("no such path"));
        match status.as_str() {
            "supported" | "partly" => assert!(!unrouted, "{method} {template} is listed as {status}: {}", r.text()),
            "not" => assert!(unrouted, "{method} {template} is listed as not supported but answers {}", r.status),
            other => panic!("{method} {template}: unknown status '{other}'"),
        }
    }
}

/// HttpGraphTest.updateWithEdges: a vertex read back and sent whole with `PUT` keeps its
/// edges (its `out_*` list is not a field to write).
#[test]
fn put_of_an_echoed_vertex_keeps_its_edges() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let c = server.client();
    create_db(&c, "httpgraph");
    sql(&c, "httpgraph", "create class Foo extends V");
    sql(&c, "httpgraph", "create class FooEdge extends E");
    let v1 = sql(&c, "httpgraph", "create vertex Foo set name = 'foo1'")["result"][0].clone();
    let v2 = sql(&c, "httpgraph", "create vertex Foo set name = 'foo2'")["result"][0].clone();
    let (a, b) = (v1["@rid"].as_str().unwrap(), v2["@rid"].as_str().unwrap());
    sql(&c, "httpgraph", &format!("create edge FooEdge from {a} to {b}"));
    let mut created = c.get(&rid_path("httpgraph", &v1)).ok_json();
    assert_eq!(created["out_FooEdge"].as_array().map(Vec::len), Some(1), "{created}");
    created["name"] = json!("fooUpdated");
    let updated = c.put_json(&rid_path("httpgraph", &created), &created).ok_json();
    assert_eq!(updated["name"], "fooUpdated");
    assert_eq!(updated["out_FooEdge"], created["out_FooEdge"], "{updated}");
    assert_eq!(updated["@fieldTypes"].as_str().map(|t| t.contains("out_FooEdge=g")), Some(true), "{updated}");
}
