//! Tests of the export format: a hand-written OrientDB 3.2 export (`testdata/`, written
//! from `ODatabaseExport`'s attribute order), a Basalt export read back, the Grateful Dead
//! graph round trip, and damaged inputs.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use flate2::write::GzEncoder;
use flate2::Compression;

use super::{export_gz, holds_data, import_new, ImportOptions, OrientError, Source};
use crate::import::{load as load_graph, GraphmlReader, LoadOptions};
use crate::value::{Document, Rid, Value};
use crate::{Database, Options};

const FIXTURE: &str = include_str!("testdata/orientdb-3.2-export.json");

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn import_bytes(dir: &Path, name: &str, bytes: Vec<u8>) -> Result<super::ImportReport, OrientError> {
    let source = Source::memory(name, Arc::new(bytes));
    import_new(dir, Options::default(), &source, &ImportOptions { batch: 3 }, |_| {})
}

/// Every record of `class` (not its subclasses) as (rid, fields).
fn records(db: &Database, class: &str) -> Vec<(Rid, Document)> {
    let snap = db.snapshot();
    snap.scan(class, false).unwrap().map(|r| r.unwrap()).map(|r| (r.rid, r.fields().unwrap())).collect()
}

fn by_name(db: &Database, class: &str, name: &str) -> (Rid, Document) {
    records(db, class)
        .into_iter()
        .find(|(_, d)| d.get("name") == Some(&Value::String(name.into())))
        .unwrap_or_else(|| panic!("no {class} named {name}"))
}

#[test]
fn imports_a_hand_written_orientdb_export() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("social");
    let report = import_bytes(&dir, "social.json.gz", gzip(FIXTURE.as_bytes())).unwrap();
    assert_eq!(report.source_database.as_deref(), Some("social"));
    assert_eq!(report.exporter_version, Some(13));
    assert_eq!((report.vertices, report.edges, report.documents), (4, 2, 1));
    assert_eq!(report.skipped.get("records of OrientDB's class OUser"), Some(&1));
    assert_eq!(report.skipped.get("records without a class (OrientDB's internal records)"), Some(&1));
    assert_eq!(report.dangling_links, 0);
    assert_eq!(report.indexes_created, vec!["Person.name".to_string(), "Person.name_age".to_string()]);

    let (db, _) = Database::open(&dir, Options::default()).unwrap();
    {
        let snap = db.snapshot();
        let schema = snap.schema();
        assert!(schema.class("OUser").is_none(), "OrientDB's own classes are not imported");
        assert!(schema.is_subclass_of("Employee", "Person"), "a subclass listed before its superclass");
        assert!(schema.is_subclass_of("Knows", "E"));
        assert!(!schema.is_subclass_of("Note", "V"));
        let person = schema.properties_of("Person");
        assert!(person["name"].mandatory);
        assert_eq!(person["age"].ty, crate::PropertyType::Integer);
        assert!(schema.index("Person.name").unwrap().unique);
        assert_eq!(schema.index("Person.name_age").unwrap().fields, vec!["name".to_string(), "age".to_string()]);
    }
    let (ada, a) = by_name(&db, "Person", "Ada");
    let (grace, _) = by_name(&db, "Person", "Grace");
    let (linus, l) = by_name(&db, "Person", "Linus");
    assert_eq!(a.get("age"), Some(&Value::Int(36)));
    assert_eq!(a.get("born"), Some(&Value::DateTime(-4_102_444_800_000)));
    assert_eq!(a.get("score"), Some(&Value::Double(2.5)));
    assert_eq!(a.get("avatar"), Some(&Value::Binary(vec![0, 1, 2, 255])));
    assert_eq!(a.get("tags"), Some(&Value::List(vec![Value::String("math".into()), Value::String("engines".into())])));
    let Some(Value::Embedded(address)) = a.get("address") else { panic!("address: {:?}", a.get("address")) };
    assert_eq!(address.get("zip"), Some(&Value::Long(12345)));
    assert!(a.get("out_Knows").is_none(), "link bags become edges, not fields");
    assert_eq!(l.get("weight"), Some(&Value::Float(72.5)));
    assert_eq!(l.get("visits"), Some(&Value::Long(9_000_000_000)));
    // Links point at the new RIDs of the same records.
    let (post, p) = records(&db, "Post").pop().unwrap();
    assert_eq!(a.get("best"), Some(&Value::Link(post)));
    assert_eq!(p.get("likes"), Some(&Value::List(vec![Value::Link(grace), Value::Link(linus)])));
    let (_, note) = records(&db, "Note").pop().unwrap();
    assert_eq!(note.get("about"), Some(&Value::Link(linus)));
    // Edges join the right vertices and keep their fields.
    let snap = db.snapshot();
    let out_of_ada = snap.neighbours(ada, Some(crate::Direction::Out), &["Knows"]).unwrap();
    assert_eq!(out_of_ada.len(), 1);
    assert_eq!(out_of_ada[0].1, grace);
    let edge = snap.get(out_of_ada[0].0).unwrap().unwrap();
    assert_eq!(edge.field("since").unwrap(), Some(Value::DateTime(1_262_304_000_000)));
    assert_eq!(snap.neighbours(grace, Some(crate::Direction::Out), &[]).unwrap()[0].1, linus);
    drop(snap);
    db.close().unwrap();
}

/// Loads the Grateful Dead graph (`data/grateful-dead/graph-example-2.xml`).
fn grateful_dead(dir: &Path) -> Database {
    let (db, _) = Database::create(dir, Options::default()).unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/grateful-dead/graph-example-2.xml");
    let reader = GraphmlReader::open(&path).unwrap();
    load_graph(&db, reader, LoadOptions::default(), |_| {}).unwrap();
    db
}

/// Per class, the sorted record contents with links replaced by the linked record's
/// `name` (RIDs differ after an import, the records must not).
fn contents(db: &Database) -> BTreeMap<String, Vec<String>> {
    let snap = db.snapshot();
    let name_of = |rid: Rid| -> String {
        let r = snap.get(rid).unwrap().unwrap();
        r.field("name").unwrap().map(|v| format!("{v:?}")).unwrap_or_else(|| r.class.to_string())
    };
    let mut out = BTreeMap::new();
    for class in snap.schema().classes.values() {
        let mut rows: Vec<String> = snap
            .scan(&class.name, false)
            .unwrap()
            .map(|r| {
                let r = r.unwrap();
                let mut fields: Vec<String> = r
                    .fields()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| match v {
                        Value::Link(l) => format!("{k}->{}", name_of(*l)),
                        other => format!("{k}={other:?}"),
                    })
                    .collect();
                fields.sort();
                let mut bags: Vec<String> = r
                    .bags()
                    .unwrap()
                    .iter()
                    .flat_map(|b| b.links.iter().map(move |(_, v)| (b.field_name(), *v)))
                    .map(|(f, v)| format!("{f}:{}", name_of(v)))
                    .collect();
                bags.sort();
                format!("{} | {}", fields.join(","), bags.join(","))
            })
            .collect();
        rows.sort();
        out.insert(class.name.clone(), rows);
    }
    out
}

#[test]
fn grateful_dead_round_trips_through_the_export() {
    let tmp = tempfile::tempdir().unwrap();
    let db = grateful_dead(&tmp.path().join("gd"));
    let (report, bytes) = export_gz(&db.snapshot(), "GratefulDeadConcerts", Vec::new(), |_| {}).unwrap();
    assert_eq!(report.records, 809 + 8049);
    let imported = import_bytes(&tmp.path().join("copy"), "gd.json.gz", bytes).unwrap();
    assert_eq!((imported.vertices, imported.edges), (809, 8049));
    let (copy, _) = Database::open(tmp.path().join("copy"), Options::default()).unwrap();
    let (before, after) = (contents(&db), contents(&copy));
    assert_eq!(before.keys().collect::<Vec<_>>(), after.keys().collect::<Vec<_>>());
    for (class, rows) in &before {
        assert_eq!(rows.len(), after[class].len(), "count of {class}");
        assert_eq!(rows, &after[class], "records of {class}");
    }
    copy.close().unwrap();
    db.close().unwrap();
}

#[test]
fn every_value_type_survives_an_export() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, _) = Database::create(tmp.path().join("a"), Options::default()).unwrap();
    let mut tx = crate::Transaction::new();
    tx.schema(crate::SchemaRequest::CreateClass { name: "Doc".into(), superclass: None, is_abstract: false });
    db.commit(&tx).unwrap();
    let fields = Document::new()
        .with("name", Value::String("all".into()))
        .with("n", Value::Null)
        .with("t", Value::Bool(true))
        .with("b", Value::Byte(-3))
        .with("s", Value::Short(300))
        .with("i", Value::Int(-7))
        .with("l", Value::Long(1 << 40))
        .with("f", Value::Float(1.25))
        .with("d", Value::Double(-0.1))
        .with("bin", Value::Binary(vec![9, 8, 7]))
        .with("when", Value::DateTime(1_700_000_000_123))
        .with("set", Value::Set(vec![Value::String("x".into())]))
        .with("map", Value::Map([("k".to_string(), Value::Int(1))].into_iter().collect()))
        .with("emb", Value::Embedded(Document::new().with("deep", Value::Long(5))));
    let mut tx = crate::Transaction::new();
    let first = tx.create("Doc", fields.clone());
    let committed = db.commit(&tx).unwrap();
    let mut tx = crate::Transaction::new();
    tx.create(
        "Doc",
        Document::new().with("name", Value::String("linker".into())).with("to", Value::Link(committed.rid(first))),
    );
    db.commit(&tx).unwrap();
    let (_, bytes) = export_gz(&db.snapshot(), "a", Vec::new(), |_| {}).unwrap();
    import_bytes(&tmp.path().join("b"), "a.json.gz", bytes).unwrap();
    let (copy, _) = Database::open(tmp.path().join("b"), Options::default()).unwrap();
    let (rid, got) = by_name(&copy, "Doc", "all");
    assert_eq!(got, fields);
    assert_eq!(by_name(&copy, "Doc", "linker").1.get("to"), Some(&Value::Link(rid)));
    copy.close().unwrap();
    db.close().unwrap();
}

/// Asserts that importing `bytes` fails with an error whose text has each of `words`, and
/// that no database directory is left behind.
fn refused(bytes: Vec<u8>, words: &[&str]) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("target");
    let err = import_bytes(&dir, "bad.json.gz", bytes).expect_err("a damaged export was imported").to_string();
    for w in words {
        assert!(err.contains(w), "'{err}' does not mention '{w}'");
    }
    assert!(!dir.exists(), "a failed import left {} behind", dir.display());
    err
}

#[test]
fn damaged_exports_are_refused_and_leave_nothing() {
    let good = gzip(FIXTURE.as_bytes());
    // Cut short: in the middle of the deflate stream, and just before the trailer.
    refused(good[..good.len() / 2].to_vec(), &["bad.json.gz", "gzip", "truncated"]);
    refused(good[..good.len() - 4].to_vec(), &["gzip"]);
    // A flipped byte in the compressed data (the CRC or the deflate stream catches it).
    let mut flipped = good.clone();
    let at = flipped.len() / 2;
    flipped[at] ^= 0x55;
    refused(flipped, &["bad.json.gz"]);
    // Plain JSON cut inside the records, and a malformed record.
    let cut = &FIXTURE[..FIXTURE.find("\"#21:1\"").unwrap()];
    refused(cut.as_bytes().to_vec(), &["bad.json.gz", "line", "ends"]);
    let broken = FIXTURE.replace("\"name\":\"Grace\",", "\"name\":\"Grace\",,");
    refused(broken.into_bytes(), &["bad.json.gz", "line 80", "record 5"]);
    // An edge to a vertex the export lacks.
    let dangling = FIXTURE.replace("\"in\":\"#17:3\"", "\"in\":\"#17:99\"");
    refused(dangling.into_bytes(), &["record #21:1 (class Knows)", "#17:99", "broken edge"]);
    // A record of a class the schema does not declare; an unknown section.
    refused(FIXTURE.replace("\"@class\":\"Post\"", "\"@class\":\"Nope\"").into_bytes(), &["unknown class 'Nope'"]);
    refused(FIXTURE.replace("\"brokenRids\"", "\"whatever\"").into_bytes(), &["unknown section \"whatever\""]);
    refused(b"not json at all".to_vec(), &["expected '{'"]);
}

#[test]
fn holds_data_sees_records_and_classes() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, _) = Database::create(tmp.path().join("a"), Options::default()).unwrap();
    assert!(!holds_data(&db));
    let mut tx = crate::Transaction::new();
    tx.create("V", Document::new());
    db.commit(&tx).unwrap();
    assert!(holds_data(&db));
    db.close().unwrap();
}
