//! Conforming a document to its class: converting values to declared property types and
//! enforcing mandatory, not-null, read-only and strict. Runs when a transaction is formed,
//! so the logged content is already typed and every node stores the same bytes.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::json::{base64_decode, parse_datetime};
use crate::record::Direction;
use crate::schema::{PropertyType, Schema};
use crate::value::{Document, Rid, Value};

/// Converts a value to a declared type, or says why it cannot.
pub fn coerce(v: Value, ty: PropertyType, linked: Option<PropertyType>) -> std::result::Result<Value, String> {
    use PropertyType as T;
    if v.is_null() {
        return Ok(v);
    }
    let fail = |v: &Value| Err(format!("cannot convert {} value {} to {}", v.type_name(), short(v), ty.name()));
    Ok(match ty {
        T::Any => v,
        T::Boolean => match &v {
            Value::Bool(_) => v,
            Value::String(s) if s.eq_ignore_ascii_case("true") => Value::Bool(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Value::Bool(false),
            _ => match v.as_i64() {
                Some(0) => Value::Bool(false),
                Some(1) => Value::Bool(true),
                _ => return fail(&v),
            },
        },
        T::Byte | T::Short | T::Integer | T::Long => {
            let i = match &v {
                Value::String(s) => s.trim().parse::<i64>().ok(),
                Value::Float(_) | Value::Double(_) => {
                    v.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e18).map(|f| f as i64)
                }
                Value::DateTime(ms) => Some(*ms),
                _ => v.as_i64(),
            };
            let Some(i) = i else { return fail(&v) };
            match ty {
                T::Byte => i8::try_from(i).map(Value::Byte).or_else(|_| fail(&v))?,
                T::Short => i16::try_from(i).map(Value::Short).or_else(|_| fail(&v))?,
                T::Integer => i32::try_from(i).map(Value::Int).or_else(|_| fail(&v))?,
                _ => Value::Long(i),
            }
        }
        T::Float | T::Double | T::Decimal => {
            let f = match &v {
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => v.as_f64(),
            };
            let Some(f) = f else { return fail(&v) };
            if ty == T::Float {
                Value::Float(f as f32)
            } else {
                Value::Double(f)
            }
        }
        T::String => match v {
            Value::String(_) => v,
            Value::Link(r) => Value::String(r.to_string()),
            Value::Bool(_) | Value::Byte(_) | Value::Short(_) | Value::Int(_) | Value::Long(_) => {
                Value::String(v.as_i64().map(|i| i.to_string()).unwrap_or_else(|| short(&v)))
            }
            Value::Float(_) | Value::Double(_) => Value::String(v.as_f64().unwrap_or_default().to_string()),
            _ => return fail(&v),
        },
        T::Datetime | T::Date => match &v {
            Value::DateTime(_) => v,
            Value::String(s) => match parse_datetime(s) {
                Some(ms) => Value::DateTime(ms),
                None => return fail(&v),
            },
            _ => match v.as_i64() {
                Some(ms) => Value::DateTime(ms),
                None => return fail(&v),
            },
        },
        T::Binary => match &v {
            Value::Binary(_) => v,
            Value::String(s) => match base64_decode(s) {
                Some(b) => Value::Binary(b),
                None => return fail(&v),
            },
            _ => return fail(&v),
        },
        T::Link => Value::Link(to_rid(&v).ok_or_else(|| format!("cannot convert {} to a LINK", short(&v)))?),
        T::Linklist | T::Linkset | T::Linkbag => {
            let items = into_items(v).map_err(|v| format!("cannot convert {} to {}", short(&v), ty.name()))?;
            let mut links = Vec::with_capacity(items.len());
            for item in &items {
                links.push(Value::Link(
                    to_rid(item).ok_or_else(|| format!("cannot convert {} to a LINK", short(item)))?,
                ));
            }
            if ty == T::Linkset {
                Value::Set(dedup(links))
            } else {
                Value::List(links)
            }
        }
        T::Linkmap => match v {
            Value::Map(m) => {
                let mut out = BTreeMap::new();
                for (k, item) in m {
                    let r = to_rid(&item).ok_or_else(|| format!("cannot convert {} to a LINK", short(&item)))?;
                    out.insert(k, Value::Link(r));
                }
                Value::Map(out)
            }
            other => return fail(&other),
        },
        T::Embedded => match v {
            Value::Embedded(_) => v,
            Value::Map(m) => Value::Embedded(m.into_iter().collect()),
            other => return fail(&other),
        },
        T::Embeddedlist | T::Embeddedset => {
            let items = into_items(v).map_err(|v| format!("cannot convert {} to {}", short(&v), ty.name()))?;
            let items = match linked {
                Some(t) => items.into_iter().map(|i| coerce(i, t, None)).collect::<std::result::Result<Vec<_>, _>>()?,
                None => items,
            };
            if ty == T::Embeddedset {
                Value::Set(dedup(items))
            } else {
                Value::List(items)
            }
        }
        T::Embeddedmap => match v {
            Value::Map(m) => match linked {
                Some(t) => {
                    let mut out = BTreeMap::new();
                    for (k, i) in m {
                        out.insert(k, coerce(i, t, None)?);
                    }
                    Value::Map(out)
                }
                None => Value::Map(m),
            },
            Value::Embedded(d) => Value::Map(d.into_fields().into_iter().collect()),
            other => return fail(&other),
        },
    })
}

fn into_items(v: Value) -> std::result::Result<Vec<Value>, Value> {
    match v {
        Value::List(i) | Value::Set(i) => Ok(i),
        Value::Link(_) | Value::String(_) => Ok(vec![v]),
        other => Err(other),
    }
}

fn dedup(items: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    for i in items {
        if !out.iter().any(|o| o.loose_eq(&i)) {
            out.push(i);
        }
    }
    out
}

fn to_rid(v: &Value) -> Option<Rid> {
    match v {
        Value::Link(r) => Some(*r),
        Value::String(s) => Rid::parse(s),
        Value::Embedded(d) => d.get("@rid").and_then(to_rid),
        Value::Map(m) => m.get("@rid").and_then(to_rid),
        _ => None,
    }
}

fn short(v: &Value) -> String {
    let s = crate::json::to_json(v).to_string();
    if s.chars().count() > 60 {
        format!("{}...", s.chars().take(57).collect::<String>())
    } else {
        s
    }
}

/// How deep a value nests, as the record format counts it (a scalar: 0). Stops counting
/// past the limit, so a hostile value costs no more than the limit allows.
fn nesting(v: &Value) -> usize {
    fn walk(v: &Value, depth: usize) -> usize {
        if depth > crate::record::MAX_NESTING {
            return depth;
        }
        match v {
            Value::List(items) | Value::Set(items) => items.iter().map(|i| walk(i, depth + 1)).max().unwrap_or(depth),
            Value::Map(m) => m.values().map(|i| walk(i, depth + 1)).max().unwrap_or(depth),
            Value::Embedded(d) => d.iter().map(|(_, i)| walk(i, depth + 1)).max().unwrap_or(depth),
            _ => depth,
        }
    }
    walk(v, 0)
}

/// True if a field name is reserved for a vertex's link bags (`out_*`, `in_*`) or an edge's
/// ends (`out`, `in`).
pub fn is_graph_field(name: &str) -> bool {
    name == "out"
        || name == "in"
        || name.starts_with(Direction::Out.prefix())
        || name.starts_with(Direction::In.prefix())
}

/// Conforms `fields` to `class`: converts declared properties, checks mandatory, not-null,
/// strict and read-only (against `old`, the current fields on an update).
pub fn conform(schema: &Schema, class: &str, fields: Document, old: Option<&Document>) -> Result<Document> {
    for (name, v) in fields.iter() {
        if nesting(v) > crate::record::MAX_NESTING {
            return Err(Error::Invalid(format!(
                "field '{name}' nests lists, maps or documents deeper than {} levels",
                crate::record::MAX_NESTING
            )));
        }
    }
    let props = schema.properties_of(class);
    let strict = schema.is_strict(class);
    if props.is_empty() && !strict {
        // Nothing to check or convert (a schemaless class): the fields stay as they are,
        // without rebuilding the document (this runs for every record formed).
        if let Some(name) = fields.names().find(|n| n.starts_with('@')) {
            return Err(Error::Invalid(format!("'{name}' is a record attribute, not a field")));
        }
        return Ok(fields);
    }
    let mut out = Document::new();
    for (name, v) in fields.into_fields() {
        if name.starts_with('@') {
            return Err(Error::Invalid(format!("'{name}' is a record attribute, not a field")));
        }
        match props.get(&name.to_lowercase()) {
            Some(p) => {
                let v = coerce(v, p.ty, p.linked_type)
                    .map_err(|why| Error::Invalid(format!("property '{class}.{}': {why}", p.name)))?;
                if p.not_null && v.is_null() {
                    return Err(Error::Invalid(format!("property '{class}.{}' may not be null", p.name)));
                }
                out.set(name, v);
            }
            None if strict => {
                return Err(Error::Invalid(format!("class '{class}' is strict and has no property '{name}'")));
            }
            None => out.set(name, v),
        }
    }
    for p in props.values() {
        let present = out.iter().any(|(n, _)| n.eq_ignore_ascii_case(&p.name));
        if p.mandatory && !present {
            return Err(Error::Invalid(format!("property '{class}.{}' is mandatory", p.name)));
        }
        if let (true, Some(old)) = (p.readonly, old) {
            let before = old.iter().find(|(n, _)| n.eq_ignore_ascii_case(&p.name)).map(|(_, v)| v);
            let after = out.iter().find(|(n, _)| n.eq_ignore_ascii_case(&p.name)).map(|(_, v)| v);
            if before.is_some() && before != after {
                return Err(Error::Invalid(format!("property '{class}.{}' is read-only", p.name)));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{PropertyDef, SchemaChange};

    #[test]
    fn values_convert_to_declared_types() {
        assert_eq!(coerce(Value::Int(5), PropertyType::Long, None), Ok(Value::Long(5)));
        assert_eq!(coerce(Value::String("12".into()), PropertyType::Integer, None), Ok(Value::Int(12)));
        assert!(coerce(Value::Long(1 << 40), PropertyType::Integer, None).is_err());
        assert_eq!(coerce(Value::String("#9:1".into()), PropertyType::Link, None), Ok(Value::Link(Rid::new(9, 1))));
        assert_eq!(
            coerce(Value::List(vec![Value::String("#9:1".into())]), PropertyType::Linklist, None),
            Ok(Value::List(vec![Value::Link(Rid::new(9, 1))]))
        );
        assert_eq!(
            coerce(Value::String("1970-01-01 00:00:01".into()), PropertyType::Datetime, None),
            Ok(Value::DateTime(1000))
        );
        assert!(coerce(Value::String("abc".into()), PropertyType::Double, None).unwrap_err().contains("DOUBLE"));
        assert_eq!(coerce(Value::Null, PropertyType::Integer, None), Ok(Value::Null));
    }

    #[test]
    fn values_nested_deeper_than_the_record_format_allows_are_refused() {
        let s = Schema::initial();
        let nested = |levels: usize| {
            let mut v = Value::Int(1);
            for _ in 0..levels {
                v = Value::List(vec![v]);
            }
            Document::new().with("f", v)
        };
        assert!(conform(&s, "V", nested(crate::record::MAX_NESTING), None).is_ok());
        let err = conform(&s, "V", nested(crate::record::MAX_NESTING + 1), None).unwrap_err();
        assert!(err.to_string().contains("deeper than 64"), "{err}");
        // What conform accepts, the record format reads back.
        let body =
            crate::record::encode_body(crate::record::RecordKind::Vertex, &[], &nested(crate::record::MAX_NESTING));
        assert!(crate::record::validate_body(&body).is_ok());
    }

    #[test]
    fn conform_enforces_the_schema() {
        let mut s = Schema::initial();
        s.apply(&SchemaChange::CreateClass {
            name: "P".into(),
            superclass: None,
            is_abstract: false,
            cluster: Some(11),
        })
        .unwrap();
        let mut age = PropertyDef::new("age", PropertyType::Integer);
        age.mandatory = true;
        s.apply(&SchemaChange::CreateProperty { class: "P".into(), property: age }).unwrap();
        let d = Document::new().with("age", Value::String("41".into())).with("x", Value::Bool(true));
        assert_eq!(conform(&s, "P", d, None).unwrap().get("age"), Some(&Value::Int(41)));
        let err = conform(&s, "P", Document::new(), None).unwrap_err();
        assert!(err.to_string().contains("mandatory"), "{err}");
        s.apply(&SchemaChange::SetStrict { name: "P".into(), strict: true }).unwrap();
        let d = Document::new().with("age", Value::Int(1)).with("x", Value::Bool(true));
        assert!(conform(&s, "P", d, None).unwrap_err().to_string().contains("strict"));
    }
}
