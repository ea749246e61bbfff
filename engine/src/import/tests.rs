//! Tests of the parsers on the real Grateful Dead files, against the answers that
//! `tests/data/grateful-dead/expected.py` computed independently (Python's XML parser).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::{GraphmlReader, ImportEdge, ImportItem, ImportVertex, PropValue};

/// `data/grateful-dead/graph-example-2.xml` in the repository.
fn graph_example_2() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/grateful-dead/graph-example-2.xml")
}

/// `data/grateful-dead/grateful-dead.xml` in the repository (TinkerPop 3 names).
fn grateful_dead_tinkerpop3() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/grateful-dead/grateful-dead.xml")
}

/// `tests/data/grateful-dead/expected.json`.
fn expected() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/grateful-dead/expected.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The value of the fact at `path` (`["counts", "vertex_count"]`) in expected.json.
fn fact<'a>(expected: &'a serde_json::Value, path: &[&str]) -> &'a serde_json::Value {
    let entry = path.iter().fold(expected, |value, key| &value[*key]);
    assert!(entry["sql"].is_string(), "{path:?} is not a fact");
    &entry["value"]
}

/// All items of a GraphML file, and the reader's final position.
fn read_all(path: &Path) -> (Vec<ImportVertex>, Vec<ImportEdge>, u64) {
    let mut reader = GraphmlReader::open(path).unwrap_or_else(|e| panic!("{e}"));
    let (mut vertices, mut edges) = (Vec::new(), Vec::new());
    for item in reader.by_ref() {
        match item.unwrap_or_else(|e| panic!("{e}")) {
            ImportItem::Vertex(vertex) => vertices.push(vertex),
            ImportItem::Edge(edge) => edges.push(edge),
        }
    }
    (vertices, edges, reader.position())
}

fn prop<'a>(vertex: &'a ImportVertex, name: &str) -> Option<&'a PropValue> {
    vertex.props.iter().find(|(n, _)| n == name).map(|(_, value)| value)
}

fn string(value: &str) -> PropValue {
    PropValue::String(value.to_owned())
}

fn label_counts(edges: &[ImportEdge]) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for edge in edges {
        *counts.entry(edge.label.clone()).or_default() += 1;
    }
    counts
}

#[test]
fn graph_example_2_gives_the_counts_and_items_python_found() {
    let path = graph_example_2();
    let expected = expected();
    let (vertices, edges, position) = read_all(&path);
    assert_eq!(position, std::fs::metadata(&path).unwrap().len(), "progress ends at the file size");
    assert_eq!(vertices.len(), 809);
    assert_eq!(edges.len(), 8049);
    assert_eq!(fact(&expected, &["counts", "vertex_count"]), 809);
    assert_eq!(fact(&expected, &["counts", "edge_count"]), 8049);
    let by_label = &expected["counts"]["edge_count_by_label"];
    let python: BTreeMap<String, u64> =
        by_label.as_object().unwrap().iter().map(|(label, f)| (label.clone(), f["value"].as_u64().unwrap())).collect();
    assert_eq!(label_counts(&edges), python);
    assert_eq!(python.get("followed_by"), Some(&7047));

    assert_eq!(vertices[0], ImportVertex { id: "0".into(), class: None, props: vec![] });
    let hey_bo_diddley = vec![
        ("name".to_string(), string("HEY BO DIDDLEY")),
        ("song_type".to_string(), string("cover")),
        ("performances".to_string(), PropValue::Int(5)),
        ("type".to_string(), string("song")),
    ];
    assert_eq!(vertices[1], ImportVertex { id: "1".into(), class: None, props: hey_bo_diddley });
    let first_edge = ImportEdge {
        id: Some("0".into()),
        label: "followed_by".into(),
        source: "1".into(),
        target: "2".into(),
        props: vec![("weight".to_string(), PropValue::Int(1))],
    };
    assert_eq!(edges[0], first_edge);
    assert!(edges
        .iter()
        .all(|e| (e.label == "followed_by") == matches!(prop_of(e, "weight"), Some(PropValue::Int(_)))));
}

fn prop_of<'a>(edge: &'a ImportEdge, name: &str) -> Option<&'a PropValue> {
    edge.props.iter().find(|(n, _)| n == name).map(|(_, value)| value)
}

#[test]
fn graph_example_2_aggregates_match_python() {
    let expected = expected();
    let (vertices, edges, _) = read_all(&graph_example_2());
    let songs: Vec<_> = vertices.iter().filter(|v| prop(v, "type") == Some(&string("song"))).collect();
    assert_eq!(fact(&expected, &["counts", "song_count"]), songs.len());
    let no_name = vertices.iter().filter(|v| prop(v, "name").is_none()).count();
    assert_eq!(fact(&expected, &["counts", "vertices_without_name"]), no_name);
    let weights: i64 = edges
        .iter()
        .filter_map(|e| match prop_of(e, "weight") {
            Some(PropValue::Int(w)) => Some(i64::from(*w)),
            _ => None,
        })
        .sum();
    assert_eq!(fact(&expected, &["counts", "followed_by_weight_sum"]), weights);
    let performances: Vec<i64> = songs
        .iter()
        .filter_map(|v| match prop(v, "performances") {
            Some(PropValue::Int(p)) => Some(i64::from(*p)),
            _ => None,
        })
        .collect();
    assert_eq!(fact(&expected, &["performances", "performances_sum"]), performances.iter().sum::<i64>());
    assert_eq!(fact(&expected, &["performances", "performances_max"]), *performances.iter().max().unwrap());
    assert_eq!(fact(&expected, &["performances", "songs_with_performances_over_100"]), {
        performances.iter().filter(|&&p| p > 100).count()
    });
    let without_song_type = songs.iter().filter(|v| prop(v, "song_type").is_none()).count();
    assert_eq!(fact(&expected, &["performances", "songs_without_song_type"]), without_song_type);
}

#[test]
fn item_order_reproduces_orientdb_rids() {
    // A loader that creates vertices at first appearance (node, or edge source then target)
    // gives the n-th one #9:n; the RIDs Python computed must follow from the item stream.
    let expected = expected();
    let mut reader = GraphmlReader::open(&graph_example_2()).unwrap();
    let mut order: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    let mut names = HashMap::new();
    for item in reader.by_ref() {
        match item.unwrap() {
            ImportItem::Vertex(v) => {
                if seen.insert(v.id.clone()) {
                    order.push(v.id.clone());
                }
                if let Some(PropValue::String(name)) = prop(&v, "name") {
                    names.insert(name.clone(), v.id.clone());
                }
            }
            ImportItem::Edge(e) => {
                for id in [e.source, e.target] {
                    if seen.insert(id.clone()) {
                        order.push(id);
                    }
                }
            }
        }
    }
    let rid_by_name = expected["rids"]["rid_by_name"].as_object().unwrap();
    assert!(rid_by_name.len() >= 5);
    for (name, entry) in rid_by_name {
        let position = order.iter().position(|id| *id == names[name]).unwrap();
        assert_eq!(entry["value"], format!("#9:{position}"), "{name}");
    }
    assert_eq!(fact(&expected, &["rids", "rid_by_name", "HEY BO DIDDLEY"]), "#9:1");
    assert_eq!(fact(&expected, &["rids", "name_by_rid", "#9:2"]), "IM A MAN");
}

#[test]
fn grateful_dead_tinkerpop3_file_has_labels_and_the_same_graph() {
    let path = grateful_dead_tinkerpop3();
    assert!(path.exists(), "{} is missing", path.display());
    let (vertices, edges, position) = read_all(&path);
    assert_eq!(position, std::fs::metadata(&path).unwrap().len());
    assert_eq!(vertices.len(), 808);
    assert_eq!(edges.len(), 8049);
    let classes = vertices.iter().fold(BTreeMap::new(), |mut counts, v| {
        *counts.entry(v.class.clone()).or_insert(0u64) += 1;
        counts
    });
    assert_eq!(classes, BTreeMap::from([(Some("artist".to_string()), 224), (Some("song".to_string()), 584)]));
    let expected: BTreeMap<String, u64> =
        [("followedBy", 7047), ("sungBy", 501), ("writtenBy", 501)].map(|(l, n)| (l.to_string(), n)).into();
    assert_eq!(label_counts(&edges), expected);
    let first = &vertices[0];
    assert_eq!((first.id.as_str(), first.class.as_deref()), ("1", Some("song")));
    let props = vec![
        ("name".to_string(), string("HEY BO DIDDLEY")),
        ("songType".to_string(), string("cover")),
        ("performances".to_string(), PropValue::Int(5)),
    ];
    assert_eq!(first.props, props, "labelV is the class, not a property");
    assert!(edges.iter().all(|e| e.props.iter().all(|(name, _)| name == "weight")));

    // Same ids, names, endpoints and weights as graph-example-2.xml (labels renamed).
    let (old_vertices, old_edges, _) = read_all(&graph_example_2());
    let old_names: HashMap<_, _> = old_vertices.iter().map(|v| (v.id.clone(), prop(v, "name"))).collect();
    for vertex in &vertices {
        assert_eq!(old_names[&vertex.id], prop(vertex, "name"), "vertex {}", vertex.id);
    }
    let rename = |label: &str| match label {
        "followed_by" => "followedBy",
        "sung_by" => "sungBy",
        "written_by" => "writtenBy",
        other => panic!("unexpected label {other}"),
    };
    let describe =
        |e: &ImportEdge, label: &str| (e.id.clone(), format!("{label} {}->{} {:?}", e.source, e.target, e.props));
    let old: BTreeMap<_, _> = old_edges.iter().map(|e| describe(e, rename(&e.label))).collect();
    let new: BTreeMap<_, _> = edges.iter().map(|e| describe(e, &e.label)).collect();
    assert_eq!(old.len(), 8049, "edge ids are unique");
    assert_eq!(old, new);
}

#[test]
fn the_real_file_cut_short_fails_with_a_position() {
    let bytes = std::fs::read(graph_example_2()).unwrap();
    // Cut just after a line break, so the input ends between elements or inside a node.
    let cut = 500_000 + bytes[500_000..].iter().position(|&b| b == b'\n').unwrap() + 1;
    let mut reader = GraphmlReader::new(&bytes[..cut], "graph-example-2.xml");
    let mut items = 0;
    let error = loop {
        match reader.next() {
            Some(Ok(_)) => items += 1,
            Some(Err(error)) => break error,
            None => panic!("a cut file must not end cleanly"),
        }
    };
    assert!(items > 1000);
    let at = error.location().unwrap();
    let line = 1 + bytes[..cut].iter().filter(|&&b| b == b'\n').count() as u64;
    assert_eq!((at.byte, at.line), (cut as u64, line), "{error}");
    assert!(error.to_string().starts_with(&format!("graph-example-2.xml:{line} (byte {cut}): input ends inside")));
}
