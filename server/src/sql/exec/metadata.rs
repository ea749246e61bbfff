//! The metadata targets `SELECT FROM metadata:schema | metadata:indexmanager |
//! metadata:database | metadata:storage` and `SELECT FROM index:name`, as OrientDB's
//! `OSelectExecutionPlanner.handleMetadataAsTarget` and `FetchFromIndexStep` answer them:
//!
//! - `metadata:schema` is one row shaped as OrientDB's schema record
//!   (`OSchemaShared.toStream`, `OClassImpl.toStream`, `OPropertyImpl.toStream`):
//!   `schemaVersion`, `classes` (name, superClass, superClasses, clusterIds,
//!   defaultClusterId, abstract, strictMode, properties), `globalProperties`, `blobClusters`.
//! - `metadata:indexmanager` (also spelt `metadata:indexes`) is one row with `indexes`: name,
//!   type, class (`indexDefinition.className`), fields, unique.
//! - `metadata:database` and `metadata:storage` are one row of the database's settings
//!   (`FetchFromDatabaseMetadataStep`): Basalt stores dates in UTC with OrientDB's default
//!   formats.
//! - `index:name` is a row `{key, rid}` per entry, in key order (a composite key is the list
//!   of its parts).
//!
//! Not done: the database `name` in `metadata:database` (the executor is not told it).

use basalt_engine::{Document, Value};

use super::eval::Env;
use super::rows::{int_value, Res, Row};
use crate::sql::ast::Ident;

/// The metadata names a target may use.
const KNOWN: &[&str] = &["schema", "indexmanager", "indexes", "database", "storage"];

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

/// The row of `metadata:<name>`.
pub(crate) fn metadata_row(env: &Env<'_>, name: &Ident) -> Res<Row> {
    let doc = match name.name.to_ascii_lowercase().as_str() {
        "schema" => schema(env),
        "indexmanager" | "indexes" => index_manager(env),
        "database" | "storage" => database(),
        _ => {
            return Err(super::eval::invalid_at(
                name.span,
                format!("unknown metadata '{}'; expected one of {}", name.name, KNOWN.join(", ")),
            ))
        }
    };
    Ok(Row::doc(doc))
}

fn schema(env: &Env<'_>) -> Document {
    let schema = env.snap.schema();
    let classes = schema
        .classes
        .values()
        .map(|c| {
            let properties = c
                .properties
                .values()
                .map(|p| {
                    Value::Embedded(
                        Document::new()
                            .with("name", s(&p.name))
                            .with("type", s(p.ty.name()))
                            .with("linkedClass", p.linked_class.as_deref().map(s).unwrap_or(Value::Null))
                            .with("linkedType", p.linked_type.map(|t| s(t.name())).unwrap_or(Value::Null))
                            .with("mandatory", Value::Bool(p.mandatory))
                            .with("notNull", Value::Bool(p.not_null))
                            .with("readonly", Value::Bool(p.readonly)),
                    )
                })
                .collect();
            let superclass = c.superclass.as_deref().map(s).unwrap_or(Value::Null);
            let superclasses = match &c.superclass {
                Some(sc) => Value::List(vec![s(sc)]),
                None => Value::Null,
            };
            Value::Embedded(
                Document::new()
                    .with("name", s(&c.name))
                    .with("superClass", superclass)
                    .with("superClasses", superclasses)
                    .with(
                        "defaultClusterId",
                        c.clusters.first().map(|i| int_value(i64::from(*i))).unwrap_or(int_value(-1)),
                    )
                    .with("clusterIds", Value::List(c.clusters.iter().map(|i| int_value(i64::from(*i))).collect()))
                    .with("abstract", Value::Bool(c.is_abstract))
                    .with("strictMode", Value::Bool(c.strict))
                    .with("properties", Value::List(properties)),
            )
        })
        .collect();
    Document::new()
        .with("schemaVersion", int_value(4))
        .with("classes", Value::List(classes))
        .with("globalProperties", Value::List(Vec::new()))
        .with("blobClusters", Value::List(Vec::new()))
}

fn index_manager(env: &Env<'_>) -> Document {
    let indexes = env
        .snap
        .schema()
        .indexes
        .values()
        .map(|i| {
            Value::Embedded(
                Document::new()
                    .with("name", s(&i.name))
                    .with("type", s(&i.kind))
                    .with("class", s(&i.class))
                    .with("fields", Value::List(i.fields.iter().map(|f| s(f)).collect()))
                    .with("unique", Value::Bool(i.unique)),
            )
        })
        .collect();
    Document::new().with("indexes", Value::List(indexes))
}

fn database() -> Document {
    Document::new()
        .with("type", s("graph"))
        .with("status", s("OPEN"))
        .with("timezone", s("UTC"))
        .with("charset", s("UTF-8"))
        .with("dateFormat", s("yyyy-MM-dd"))
        .with("dateTimeFormat", s("yyyy-MM-dd HH:mm:ss"))
        .with("localeCountry", s(""))
        .with("localeLanguage", s("en"))
}

/// Hands `f` a row `{key, rid}` per entry of the index `name`, in key order.
pub(crate) fn for_each_entry(env: &Env<'_>, name: &Ident, f: &mut dyn FnMut(Row) -> Res<bool>) -> Res<()> {
    let Some(index) = env.snap.index(&name.name) else {
        let known: Vec<&str> = env.snap.schema().indexes.values().map(|i| i.name.as_str()).collect();
        let near = super::functions::nearest(&name.name, &known);
        let hint = if near.is_empty() { String::new() } else { format!("; the nearest known: {}", near.join(", ")) };
        return Err(super::eval::invalid_at(name.span, format!("index '{}' not found{hint}", name.name)));
    };
    // Each entry counts against the query's watch (its timeout and cancellation).
    for (key, rid) in index.iter() {
        env.tick()?;
        let key = match key.0.as_slice() {
            [one] => one.clone(),
            parts => Value::List(parts.to_vec()),
        };
        if !f(Row::doc(Document::new().with("key", key).with("rid", Value::Link(rid))))? {
            break;
        }
    }
    Ok(())
}
