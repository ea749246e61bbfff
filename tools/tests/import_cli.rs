//! `basalt-import` end to end: CSV and GraphML into a database, and its errors.

#![allow(clippy::unwrap_used)] // Tests fail loudly on any unexpected error.

use std::process::Command;

use basalt_engine::{Database, Direction, Options, Rid, Value};

fn import(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_basalt-import")).args(args).output().unwrap()
}

#[test]
fn csv_files_import_with_classes_types_and_links() {
    let dir = tempfile::tempdir().unwrap();
    let v = dir.path().join("people.csv");
    let e = dir.path().join("knows.csv");
    std::fs::write(&v, "id,class,name,age:int\na,Person,Ann,41\nb,Person,\"Bob, Jr.\",\nc,,Cy,7\n").unwrap();
    std::fs::write(&e, "source,target,label,since:int\na,b,knows,2001\nb,c,knows,\nc,d,likes,3\n").unwrap();
    let db = dir.path().join("db");
    let out = import(&[
        "--db",
        db.to_str().unwrap(),
        "--create",
        "--vertices",
        v.to_str().unwrap(),
        "--edges",
        e.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("imported 4 vertices and 3 edges"), "{stdout}");

    let (db, _) = Database::open(&db, Options::default()).unwrap();
    let snap = db.snapshot();
    assert_eq!(snap.count("Person", false).unwrap(), 2);
    assert_eq!(snap.count("V", true).unwrap(), 4, "vertex d was created by its edge");
    let ann = snap.scan("Person", false).unwrap().next().unwrap().unwrap();
    assert_eq!(ann.field("age").unwrap(), Some(Value::Int(41)));
    let bob = snap.get(Rid::new(ann.rid.cluster, 1)).unwrap().unwrap();
    assert_eq!(bob.field("name").unwrap(), Some(Value::String("Bob, Jr.".into())));
    assert_eq!(bob.field("age").unwrap(), None, "an empty cell is an absent property");
    assert_eq!(snap.neighbours(ann.rid, Some(Direction::Out), &["knows"]).unwrap().len(), 1);
    assert_eq!(snap.count("likes", false).unwrap(), 1);
}

#[test]
fn the_demo_graphml_imports_and_bad_input_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gd");
    let xml = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/grateful-dead/graph-example-2.xml");
    let out = import(&["--db", db.to_str().unwrap(), "--create", "--graphml", xml]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("809 vertices and 8049 edges"));

    let bad = dir.path().join("bad.xml");
    std::fs::write(&bad, "<graphml><key id=\"p\" for=\"node\" attr.name=\"p\" attr.type=\"int\"/><graph>\n<node id=\"1\"><data key=\"p\">lots</data></node></graph></graphml>").unwrap();
    let out = import(&["--db", dir.path().join("x").to_str().unwrap(), "--create", "--graphml", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.xml") && err.contains("lots"), "{err}");

    let out = import(&["--db", dir.path().join("nope").to_str().unwrap(), "--graphml", xml]);
    assert!(!out.status.success(), "a missing database without --create is an error");
}
