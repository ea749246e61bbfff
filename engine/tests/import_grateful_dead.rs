//! Loading OrientDB's GratefulDeadConcerts GraphML with the engine's loader gives the RIDs,
//! counts and neighbourhoods that `tests/data/grateful-dead/expected.py` computed from the
//! file independently.

#![allow(clippy::unwrap_used)] // Tests fail loudly on any unexpected error.

use std::path::PathBuf;

use basalt_engine::import::{load, GraphmlReader, LoadOptions};
use basalt_engine::{Database, Direction, Options, Rid, Value};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn expected() -> serde_json::Value {
    let text = std::fs::read_to_string(root().join("tests/data/grateful-dead/expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn value<'a>(e: &'a serde_json::Value, path: &[&str]) -> &'a serde_json::Value {
    let mut cur = e;
    for p in path {
        cur = &cur[*p];
    }
    &cur["value"]
}

#[test]
fn the_demo_graph_loads_with_orientdbs_rids_and_shape() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Database::create(dir.path(), Options::default()).unwrap();
    let file = std::fs::File::open(root().join("data/grateful-dead/graph-example-2.xml")).unwrap();
    let reader = GraphmlReader::new(std::io::BufReader::new(file), "graph-example-2.xml");
    let report = load(&db, reader, LoadOptions { batch: 1000, ..LoadOptions::default() }, |_| {}).unwrap();
    let e = expected();
    assert_eq!(report.vertices, value(&e, &["counts", "vertex_count"]).as_u64().unwrap());
    assert_eq!(report.edges, value(&e, &["counts", "edge_count"]).as_u64().unwrap());
    assert_eq!(report.classes_created, vec!["followed_by", "written_by", "sung_by"]);

    let snap = db.snapshot();
    for label in ["followed_by", "sung_by", "written_by"] {
        let n = value(&e, &["counts", "edge_count_by_label", label]).as_u64().unwrap();
        assert_eq!(snap.count(label, true).unwrap(), n, "{label}");
    }
    for (rid, name) in e["rids"]["name_by_rid"].as_object().unwrap() {
        let r = snap.get(Rid::parse(rid).unwrap()).unwrap().unwrap();
        let got = r.field("name").unwrap();
        match name["value"].as_str() {
            Some(n) => assert_eq!(got, Some(Value::String(n.into())), "{rid}"),
            None => assert_eq!(got, None, "{rid} has no name"),
        }
    }
    let first = snap.get(Rid::new(9, 0)).unwrap().unwrap();
    assert!(first.fields().unwrap().is_empty(), "vertex 0 has no properties");
    let hey = snap.get(Rid::new(9, 1)).unwrap().unwrap();
    assert_eq!(hey.field("performances").unwrap(), Some(Value::Int(5)));

    for (song, facts) in e["songs"].as_object().unwrap() {
        let rid = Rid::parse(facts["rid"]["value"].as_str().unwrap()).unwrap();
        let out = snap.neighbours(rid, Some(Direction::Out), &["followed_by"]).unwrap();
        let inn = snap.neighbours(rid, Some(Direction::In), &["followed_by"]).unwrap();
        assert_eq!(out.len() as u64, facts["followed_by_out_degree"]["value"].as_u64().unwrap(), "{song} out");
        assert_eq!(inn.len() as u64, facts["followed_by_in_degree"]["value"].as_u64().unwrap(), "{song} in");
        let mut weight = 0;
        let mut two_hop = std::collections::BTreeSet::new();
        for (edge, next) in &out {
            weight += snap.get(*edge).unwrap().unwrap().field("weight").unwrap().and_then(|v| v.as_i64()).unwrap();
            for (_, n2) in snap.neighbours(*next, Some(Direction::Out), &["followed_by"]).unwrap() {
                two_hop.insert(n2);
            }
        }
        assert_eq!(weight, facts["followed_by_out_weight_sum"]["value"].as_i64().unwrap(), "{song} weight");
        assert_eq!(two_hop.len() as u64, facts["two_hop_distinct"]["value"].as_u64().unwrap(), "{song} 2-hop");
    }
    assert_eq!(snap.digest(), snap.full_digest().unwrap());
}
