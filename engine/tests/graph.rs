//! The engine through its public API: creating, reading, updating and deleting vertices,
//! edges and documents; the schema; indexes; reopening; bad input.

#![allow(clippy::unwrap_used)] // Tests fail loudly on any unexpected error.

use basalt_engine::{
    Database, Direction, Document, Error, IndexDef, Options, PropertyDef, PropertyType, Rid, SchemaChange,
    SchemaRequest, Transaction, Value,
};

fn doc(pairs: &[(&str, Value)]) -> Document {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

fn create_class(db: &Database, name: &str, superclass: &str) {
    let mut tx = Transaction::new();
    tx.schema(SchemaRequest::CreateClass {
        name: name.into(),
        superclass: Some(superclass.into()),
        is_abstract: false,
    });
    db.commit(&tx).unwrap();
}

#[test]
fn vertices_and_edges_link_both_ends_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (db, report) = Database::create(dir.path(), Options::default()).unwrap();
    assert_eq!(report.redone_entries, 0);
    create_class(&db, "followed_by", "E");
    let mut tx = Transaction::new();
    let a = tx.create("V", doc(&[("name", s("HEY BO DIDDLEY"))]));
    let b = tx.create("V", doc(&[("name", s("IM A MAN"))]));
    let e = tx.create_edge("followed_by", a, b, doc(&[("weight", Value::Int(1))]));
    let c = db.commit(&tx).unwrap();
    let (a, b, e) = (c.rid(a), c.rid(b), c.rid(e));
    assert_eq!((a, b), (Rid::new(9, 0), Rid::new(9, 1)));
    assert_eq!(e, Rid::new(11, 0));
    {
        let snap = db.snapshot();
        let va = snap.get(a).unwrap().unwrap();
        assert_eq!(va.version, 1);
        assert_eq!(va.field("name").unwrap(), Some(s("HEY BO DIDDLEY")));
        assert_eq!(snap.neighbours(a, Some(Direction::Out), &["followed_by"]).unwrap(), vec![(e, b)]);
        assert_eq!(snap.neighbours(b, Some(Direction::In), &["E"]).unwrap(), vec![(e, a)]);
        assert!(snap.neighbours(a, Some(Direction::In), &[]).unwrap().is_empty());
        let edge = snap.get(e).unwrap().unwrap();
        assert_eq!(edge.edge_ends().unwrap(), Some((a, b)));
        assert_eq!(&*edge.class, "followed_by");
        assert_eq!(snap.count("V", true).unwrap(), 2);
        assert_eq!(snap.count("E", true).unwrap(), 1);
        assert_eq!(snap.count("E", false).unwrap(), 0);
        assert_eq!(snap.digest(), snap.full_digest().unwrap());
    }
    let digest = db.snapshot().digest();
    db.close().unwrap();
    let (db, report) = Database::open(dir.path(), Options::default()).unwrap();
    assert_eq!(report.redone_entries, 0, "close checkpointed everything");
    assert_eq!(db.snapshot().digest(), digest);
    assert_eq!(db.snapshot().neighbours(a, None, &[]).unwrap(), vec![(e, b)]);

    // Dropping without close: the WAL has it.
    let mut tx = Transaction::new();
    tx.update(a, Some(2), doc(&[("name", s("renamed"))]));
    let err = db.commit(&tx).unwrap_err();
    assert!(matches!(err, Error::Conflict { expected: 2, found: 1, .. }), "{err}");
    let mut tx = Transaction::new();
    tx.update(a, Some(1), doc(&[("name", s("renamed"))]));
    db.commit(&tx).unwrap();
    let digest = db.snapshot().digest();
    drop(db);
    let (db, report) = Database::open(dir.path(), Options::default()).unwrap();
    assert_eq!(report.redone_entries, 1);
    let snap = db.snapshot();
    assert_eq!(snap.digest(), digest);
    let va = snap.get(a).unwrap().unwrap();
    assert_eq!(va.version, 2);
    assert_eq!(va.field("name").unwrap(), Some(s("renamed")));
    assert_eq!(snap.neighbours(a, None, &[]).unwrap(), vec![(e, b)], "links kept across a field update");
}

#[test]
fn deleting_a_vertex_deletes_its_edges_and_unlinks_the_other_ends() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Database::create(dir.path(), Options::default()).unwrap();
    create_class(&db, "knows", "E");
    let mut tx = Transaction::new();
    let hub = tx.create("V", Document::new());
    let others: Vec<Rid> = (0..5).map(|_| tx.create("V", Document::new())).collect();
    for o in &others {
        tx.create_edge("knows", hub, *o, Document::new());
        tx.create_edge("knows", *o, hub, Document::new());
    }
    tx.create_edge("knows", hub, hub, Document::new());
    let c = db.commit(&tx).unwrap();
    let hub = c.rid(hub);
    assert_eq!(db.snapshot().count("knows", true).unwrap(), 11);
    let mut tx = Transaction::new();
    tx.delete(hub, None);
    db.commit(&tx).unwrap();
    let snap = db.snapshot();
    assert_eq!(snap.count("knows", true).unwrap(), 0);
    assert_eq!(snap.count("V", true).unwrap(), 5);
    for o in &others {
        let o = c.rid(*o);
        assert!(snap.neighbours(o, None, &[]).unwrap().is_empty());
        assert_eq!(snap.get(o).unwrap().unwrap().version, 2, "each end changed once");
    }
    assert_eq!(snap.digest(), snap.full_digest().unwrap());
}

#[test]
fn schema_types_and_unique_indexes_are_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Database::create(dir.path(), Options::default()).unwrap();
    let mut tx = Transaction::new();
    tx.schema(SchemaRequest::CreateClass { name: "Person".into(), superclass: Some("V".into()), is_abstract: false });
    tx.schema(SchemaRequest::Change(SchemaChange::CreateProperty {
        class: "Person".into(),
        property: PropertyDef::new("age", PropertyType::Integer),
    }));
    tx.schema(SchemaRequest::Change(SchemaChange::CreateProperty {
        class: "Person".into(),
        property: PropertyDef::new("email", PropertyType::String),
    }));
    tx.schema(SchemaRequest::Change(SchemaChange::CreateIndex {
        index: IndexDef {
            name: "Person.email".into(),
            class: "Person".into(),
            fields: vec!["email".into()],
            unique: true,
            kind: "UNIQUE".into(),
        },
    }));
    let p = tx.create("Person", doc(&[("email", s("a@x")), ("age", s("41"))]));
    let c = db.commit(&tx).unwrap();
    let p = c.rid(p);
    assert_eq!(db.snapshot().get(p).unwrap().unwrap().field("age").unwrap(), Some(Value::Int(41)));

    let mut tx = Transaction::new();
    tx.create("Person", doc(&[("email", s("a@x"))]));
    match db.commit(&tx).unwrap_err() {
        Error::DuplicateKey { existing, .. } => assert_eq!(existing, p),
        other => panic!("expected a duplicate key, got {other}"),
    }
    let mut tx = Transaction::new();
    tx.create("Person", doc(&[("age", s("old"))]));
    assert!(db.commit(&tx).unwrap_err().to_string().contains("INTEGER"));

    // Freeing a key and taking it in one transaction works.
    let mut tx = Transaction::new();
    tx.update(p, None, doc(&[("email", s("b@x"))]));
    tx.create("Person", doc(&[("email", s("a@x"))]));
    db.commit(&tx).unwrap();
    let snap = db.snapshot();
    let idx = snap.index("person.EMAIL").unwrap();
    assert_eq!(idx.len(), 2);
    drop(snap);

    let mut tx = Transaction::new();
    tx.schema(SchemaRequest::DropClass { name: "Person".into(), unsafe_drop: false });
    assert!(db.commit(&tx).unwrap_err().to_string().contains("UNSAFE"));
    let mut tx = Transaction::new();
    tx.schema(SchemaRequest::DropClass { name: "Person".into(), unsafe_drop: true });
    db.commit(&tx).unwrap();
    assert!(db.snapshot().schema().class("Person").is_none());
    assert!(db.snapshot().index("Person.email").is_none());
    db.close().unwrap();
    let (db, _) = Database::open(dir.path(), Options::default()).unwrap();
    assert!(db.snapshot().schema().class("Person").is_none());
    let names: Vec<_> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert!(!names.iter().any(|n| n.starts_with("cluster11.")), "dropped cluster files are deleted: {names:?}");
}

#[test]
fn large_records_and_many_records_round_trip_through_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options { checkpoint_dirty_pages: 16, ..Options::default() };
    let (db, _) = Database::create(dir.path(), opts.clone()).unwrap();
    let mut rids = Vec::new();
    for i in 0..60 {
        let mut tx = Transaction::new();
        let big = "x".repeat(i * 997);
        let r = tx.create("V", doc(&[("i", Value::Int(i as i32)), ("big", s(&big))]));
        rids.push(db.commit(&tx).unwrap().rid(r));
    }
    assert!(db.stats().checkpoints > 0, "small dirty limit forces checkpoints");
    let digest = db.snapshot().digest();
    drop(db);
    let (db, _) = Database::open(dir.path(), opts).unwrap();
    let snap = db.snapshot();
    assert_eq!(snap.digest(), digest);
    assert_eq!(snap.digest(), snap.full_digest().unwrap());
    for (i, r) in rids.iter().enumerate() {
        let rec = snap.get(*r).unwrap().unwrap();
        assert_eq!(rec.field("big").unwrap(), Some(s(&"x".repeat(i * 997))));
    }
}

#[test]
fn the_schema_record_and_over_nested_values_are_refused_before_logging() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Database::create(dir.path(), Options::default()).unwrap();
    let lsn = db.applied_lsn();
    let mut tx = Transaction::new();
    tx.update(Rid::new(0, 0), None, doc(&[("schema", s("{}"))]));
    let err = db.commit(&tx).unwrap_err();
    assert!(matches!(err, Error::Invalid(_)) && err.to_string().contains("internal"), "{err}");
    let mut tx = Transaction::new();
    tx.delete(Rid::new(0, 0), None);
    assert!(matches!(db.commit(&tx).unwrap_err(), Error::Invalid(_)));
    let mut deep = Value::Int(1);
    for _ in 0..100 {
        deep = Value::List(vec![deep]);
    }
    let mut tx = Transaction::new();
    tx.create("V", doc(&[("deep", deep)]));
    assert!(matches!(db.commit(&tx).unwrap_err(), Error::Invalid(_)));
    assert_eq!(db.applied_lsn(), lsn, "nothing was logged");
}
