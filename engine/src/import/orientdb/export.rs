//! Writing OrientDB's export: `info`, `clusters`, `schema`, `records`, `brokenRids`,
//! `indexes`, in `ODatabaseExport.exportDatabase`'s order and with its attribute names, from
//! one [`Snapshot`] (so the export is one LSN's state while writes go on).

use std::io::{self, Write};

use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::{json, Map, Value as Json};

use super::values::{push_type, write_fields, FIELD_TYPES};
use super::{OrientError, EXPORTER_VERSION};
use crate::record::{Direction, Record, RecordKind};
use crate::schema::{ClassDef, IndexDef, PropertyType, Schema};
use crate::snapshot::Snapshot;

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportReport {
    /// Records written.
    pub records: u64,
    /// Classes in the schema section.
    pub classes: u64,
    /// Indexes in the indexes section.
    pub indexes: u64,
    /// The LSN the export reflects.
    pub lsn: u64,
}

/// Writes the export of `snap` (database `name`) to `out` as gzip (`Deflater.BEST_SPEED`, as
/// `ODatabaseExport` does) and returns `out` once the gzip trailer is written.
pub fn export_gz<W: Write>(
    snap: &Snapshot<'_>,
    name: &str,
    out: W,
    progress: impl FnMut(u64),
) -> Result<(ExportReport, W), OrientError> {
    let mut gz = GzEncoder::new(out, Compression::fast());
    let report = export(snap, name, &mut gz, progress)?;
    let out = gz.finish().map_err(io_err)?;
    Ok((report, out))
}

fn io_err(source: io::Error) -> OrientError {
    OrientError::Io { what: "the export stream".into(), source }
}

fn put(out: &mut impl Write, bytes: &[u8]) -> Result<(), OrientError> {
    out.write_all(bytes).map_err(io_err)
}

fn put_json(out: &mut impl Write, j: &Json) -> Result<(), OrientError> {
    serde_json::to_writer(&mut *out, j).map_err(|e| io_err(io::Error::other(e)))
}

/// Writes the export of `snap` as plain JSON, calling `progress` with the records written
/// every few thousand records.
pub fn export(
    snap: &Snapshot<'_>,
    name: &str,
    mut out: impl Write,
    mut progress: impl FnMut(u64),
) -> Result<ExportReport, OrientError> {
    let schema = snap.schema();
    let mut report = ExportReport { lsn: snap.applied_lsn().0, ..ExportReport::default() };
    put(&mut out, b"{\"info\":")?;
    put_json(&mut out, &info(name))?;
    put(&mut out, b",\"clusters\":")?;
    let clusters: Vec<Json> = schema.clusters.values().map(|c| json!({"name": c.name, "id": c.id})).collect();
    put_json(&mut out, &Json::Array(clusters))?;
    put(&mut out, b",\"schema\":")?;
    let classes = schema_json(schema);
    report.classes = classes["classes"].as_array().map(|a| a.len() as u64).unwrap_or(0);
    put_json(&mut out, &classes)?;
    put(&mut out, b",\"records\":[")?;
    for &cluster in schema.clusters.keys() {
        if schema.class_of_cluster(cluster).is_none() {
            continue;
        }
        for record in snap.scan_cluster(cluster) {
            let record = record.map_err(|source| OrientError::Database {
                context: format!("reading cluster {cluster} for the export"),
                source,
            })?;
            if report.records > 0 {
                put(&mut out, b",")?;
            }
            put(&mut out, b"\n")?;
            put_json(&mut out, &record_json(&record)?)?;
            report.records += 1;
            if report.records.is_multiple_of(4096) {
                progress(report.records);
            }
        }
    }
    put(&mut out, b"\n],\"brokenRids\":[],\"indexes\":")?;
    let indexes: Vec<Json> = schema.indexes.values().map(|i| index_json(schema, i)).collect();
    report.indexes = indexes.len() as u64;
    put_json(&mut out, &Json::Array(indexes))?;
    put(&mut out, b"}\n")?;
    out.flush().map_err(io_err)?;
    progress(report.records);
    Ok(report)
}

/// `exportInfo`'s attributes. Basalt has no schema or index-manager records, so their ids
/// are OrientDB's usual `#0:1` and `#0:2` (no record in the export has them).
fn info(name: &str) -> Json {
    json!({
        "name": name,
        "default-cluster-id": crate::schema::VERTEX_CLUSTER,
        "exporter-version": EXPORTER_VERSION,
        "engine-version": format!("Basalt {}", env!("CARGO_PKG_VERSION")),
        "storage-config-version": 23,
        "schema-version": 4,
        "schemaRecordId": "#0:1",
        "indexMgrRecordId": "#0:2",
    })
}

/// `exportSchema`: classes sorted by name, each with its declared properties sorted by name.
fn schema_json(schema: &Schema) -> Json {
    let mut classes: Vec<&ClassDef> = schema.classes.values().collect();
    classes.sort_by(|a, b| a.name.cmp(&b.name));
    let classes: Vec<Json> = classes.into_iter().map(class_json).collect();
    json!({"version": schema.next_cluster_id, "blob-clusters": [], "classes": classes})
}

fn class_json(c: &ClassDef) -> Json {
    let mut m = Map::new();
    m.insert("name".into(), json!(c.name));
    let default = c.clusters.first().copied().unwrap_or(-1);
    m.insert("default-cluster-id".into(), json!(default));
    let ids = if c.clusters.is_empty() { vec![-1] } else { c.clusters.clone() };
    m.insert("cluster-ids".into(), json!(ids));
    if c.strict {
        m.insert("strictMode".into(), json!(true));
    }
    if let Some(s) = &c.superclass {
        m.insert("super-classes".into(), json!([s]));
    }
    if c.is_abstract {
        m.insert("abstract".into(), json!(true));
    }
    m.insert("cluster-selection".into(), json!("round-robin"));
    if !c.properties.is_empty() {
        let mut props: Vec<_> = c.properties.values().collect();
        props.sort_by(|a, b| a.name.cmp(&b.name));
        let props: Vec<Json> = props
            .into_iter()
            .map(|p| {
                let mut o = Map::new();
                o.insert("name".into(), json!(p.name));
                o.insert("type".into(), json!(p.ty.name()));
                for (flag, on) in [("mandatory", p.mandatory), ("readonly", p.readonly), ("not-null", p.not_null)] {
                    if on {
                        o.insert(flag.into(), json!(true));
                    }
                }
                if let Some(l) = &p.linked_class {
                    o.insert("linked-class".into(), json!(l));
                }
                if let Some(t) = p.linked_type {
                    o.insert("linked-type".into(), json!(t.name()));
                }
                Json::Object(o)
            })
            .collect();
        m.insert("properties".into(), Json::Array(props));
    }
    Json::Object(m)
}

/// One record as `ORecordSerializerJSON` writes it for an export: signature, fields, the
/// vertex's link bags as `out_<label>`/`in_<label>` lists of edge RIDs (type `g`), then
/// `@fieldTypes`.
fn record_json(r: &Record) -> Result<Json, OrientError> {
    let damaged = |e: crate::codec::DecodeError| OrientError::Database {
        context: format!("record {} (class {})", r.rid, r.class),
        source: crate::Error::corrupt(std::path::Path::new(""), None, e.to_string()),
    };
    let mut m = Map::new();
    m.insert("@type".into(), json!("d"));
    m.insert("@rid".into(), json!(r.rid.to_string()));
    m.insert("@version".into(), json!(r.version));
    m.insert("@class".into(), json!(&*r.class));
    let fields = r.fields().map_err(damaged)?;
    write_fields(&mut m, fields.iter());
    if r.kind() == RecordKind::Vertex {
        let mut types = match m.remove(FIELD_TYPES) {
            Some(Json::String(s)) => s,
            _ => String::new(),
        };
        for dir in [Direction::Out, Direction::In] {
            for bag in r.bags().map_err(damaged)?.into_iter().filter(|b| b.direction == dir) {
                let name = bag.field_name();
                let edges: Vec<Json> = bag.links.iter().map(|(e, _)| json!(e.to_string())).collect();
                m.insert(name.clone(), Json::Array(edges));
                push_type(&mut types, &name, 'g');
            }
        }
        if !types.is_empty() {
            m.insert(FIELD_TYPES.into(), json!(types));
        }
    }
    Ok(Json::Object(m))
}

/// `exportIndexDefinitions`: the definition's class and `toStream()` document, as
/// `OPropertyIndexDefinition` / `OCompositeIndexDefinition` write them.
fn index_json(schema: &Schema, i: &IndexDef) -> Json {
    let key_type = |field: &str| {
        schema.properties_of(&i.class).get(&field.to_lowercase()).map(|p| p.ty).unwrap_or(PropertyType::String).name()
    };
    let single = |field: &str| json!({"className": i.class, "field": field, "keyType": key_type(field), "collate": "default", "nullValuesIgnored": false});
    let definition = if i.fields.len() == 1 {
        json!({"defClass": "com.orientechnologies.orient.core.index.OPropertyIndexDefinition", "stream": single(&i.fields[0])})
    } else {
        let defs: Vec<Json> = i.fields.iter().map(|f| single(f)).collect();
        let classes: Vec<Json> = i
            .fields
            .iter()
            .map(|_| json!("com.orientechnologies.orient.core.index.OPropertyIndexDefinition"))
            .collect();
        json!({"defClass": "com.orientechnologies.orient.core.index.OCompositeIndexDefinition",
               "stream": {"className": i.class, "indexDefinitions": defs, "indClasses": classes, "nullValuesIgnored": false}})
    };
    let clusters: Vec<Json> = schema
        .with_subclasses(&i.class)
        .iter()
        .flat_map(|c| c.clusters.iter())
        .filter_map(|id| schema.clusters.get(id).map(|c| json!(c.name)))
        .collect();
    json!({"name": i.name, "type": i.kind, "algorithm": "CELL_BTREE", "clustersToIndex": clusters, "definition": definition})
}
