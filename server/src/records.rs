//! Records as OrientDB's JSON: `@type`, `@rid`, `@version`, `@class`, the fields in order,
//! then a vertex's link bags as `out_<label>` / `in_<label>` lists of edge RIDs.

use basalt_engine::json::{document_from_json, to_json};
use basalt_engine::{Document, Record};
use serde_json::{Map, Value as Json};

/// A record as JSON.
pub fn record_json(r: &Record) -> Result<Json, String> {
    let mut m = Map::new();
    m.insert("@type".into(), Json::String("d".into()));
    m.insert("@rid".into(), Json::String(r.rid.to_string()));
    m.insert("@version".into(), Json::from(r.version));
    m.insert("@class".into(), Json::String(r.class.to_string()));
    let fields = r.fields().map_err(|e| format!("record {}: {e}", r.rid))?;
    for (k, v) in fields.iter() {
        m.insert(k.to_string(), to_json(v));
    }
    for bag in r.bags().map_err(|e| format!("record {}: {e}", r.rid))? {
        let rids = bag.links.iter().map(|(e, _)| Json::String(e.to_string())).collect();
        m.insert(bag.field_name(), Json::Array(rids));
    }
    Ok(Json::Object(m))
}

/// The parts of a record sent by a client: class, version, fields.
#[derive(Debug, Clone, Default)]
pub struct ClientRecord {
    /// `@class`.
    pub class: Option<String>,
    /// `@version`.
    pub version: Option<u32>,
    /// Every field that is not an `@` attribute.
    pub fields: Document,
}

/// Reads a client's JSON record.
pub fn client_record(j: &Json) -> Result<ClientRecord, String> {
    let o = j.as_object().ok_or("the body must be a JSON object (a record)")?;
    let class = match o.get("@class") {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => Some(s.clone()),
        Some(other) => return Err(format!("@class must be a string, not {other}")),
    };
    let version = match o.get("@version") {
        None | Some(Json::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| format!("@version must be a version number, not {v}"))?,
        ),
    };
    Ok(ClientRecord { class, version, fields: document_from_json(o) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use basalt_engine::record::{encode_body, Direction, LinkBag, RecordKind};
    use basalt_engine::{Rid, Value};
    use std::sync::Arc;

    #[test]
    fn vertices_render_fields_then_bags() {
        let fields =
            Document::new().with("name", Value::String("DARK STAR".into())).with("performances", Value::Int(219));
        let bags = vec![LinkBag {
            direction: Direction::Out,
            label: "followed_by".into(),
            links: vec![(Rid::new(11, 3), Rid::new(9, 2))],
        }];
        let r = Record {
            rid: Rid::new(9, 164),
            version: 7,
            class: Arc::from("V"),
            body: encode_body(RecordKind::Vertex, &bags, &fields),
        };
        let j = record_json(&r).unwrap();
        assert_eq!(
            serde_json::to_string(&j).unwrap(),
            r##"{"@type":"d","@rid":"#9:164","@version":7,"@class":"V","name":"DARK STAR","performances":219,"out_followed_by":["#11:3"]}"##
        );
        let back = client_record(&j).unwrap();
        assert_eq!(back.class.as_deref(), Some("V"));
        assert_eq!(back.version, Some(7));
        assert_eq!(back.fields.get("performances"), Some(&Value::Int(219)));
        assert!(client_record(&serde_json::json!([1])).is_err());
        assert!(client_record(&serde_json::json!({"@version": "x"})).is_err());
    }
}
