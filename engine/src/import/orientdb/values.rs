//! Field values to and from OrientDB's export JSON: the value itself plus its letter in
//! `@fieldTypes` (the letters of `OJSONFetchContext.manageTypes`, read back as
//! `OFieldTypesString.getType` does; see the parent module).

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value as Json};

use crate::json::{base64_decode, base64_encode, parse_datetime};
use crate::value::{Document, Rid, Value};

/// The `@fieldTypes` attribute's name.
pub(super) const FIELD_TYPES: &str = "@fieldTypes";

fn all_links(items: &[Value]) -> bool {
    !items.is_empty() && items.iter().all(|v| matches!(v, Value::Link(_)))
}

fn number(f: f64) -> Json {
    serde_json::Number::from_f64(f).map(Json::Number).unwrap_or(Json::Null)
}

/// A value as JSON and its type letter (none for what JSON says by itself).
pub(super) fn to_json(v: &Value) -> (Json, Option<char>) {
    match v {
        Value::Null => (Json::Null, None),
        Value::Bool(b) => (Json::Bool(*b), None),
        Value::Byte(b) => (Json::from(*b), Some('b')),
        Value::Short(s) => (Json::from(*s), Some('s')),
        Value::Int(i) => (Json::from(*i), None),
        Value::Long(l) => (Json::from(*l), Some('l')),
        Value::Float(f) => (number(f64::from(*f)), Some('f')),
        Value::Double(d) => (number(*d), Some('d')),
        Value::String(s) => (Json::String(s.clone()), None),
        Value::Binary(b) => (Json::String(base64_encode(b)), Some('b')),
        Value::DateTime(ms) => (Json::from(*ms), Some('t')),
        Value::Link(r) => (Json::String(r.to_string()), Some('x')),
        Value::List(items) => (nested_array(items), all_links(items).then_some('z')),
        Value::Set(items) => (nested_array(items), Some(if all_links(items) { 'n' } else { 'e' })),
        Value::Map(m) => {
            let links = !m.is_empty() && m.values().all(|v| matches!(v, Value::Link(_)));
            (Json::Object(m.iter().map(|(k, v)| (k.clone(), to_json(v).0)).collect()), links.then_some('m'))
        }
        Value::Embedded(d) => (embedded_to_json(d), None),
    }
}

fn nested_array(items: &[Value]) -> Json {
    Json::Array(items.iter().map(|v| to_json(v).0).collect())
}

/// An embedded document: `@type` `d` (so the reader tells it from a map), its fields and
/// their types.
fn embedded_to_json(d: &Document) -> Json {
    let mut m = Map::new();
    m.insert("@type".into(), Json::String("d".into()));
    m.insert("@version".into(), Json::from(0));
    write_fields(&mut m, d.iter());
    Json::Object(m)
}

/// Appends fields to `m`, then `@fieldTypes` if any field needs a letter.
pub(super) fn write_fields<'a>(m: &mut Map<String, Json>, fields: impl Iterator<Item = (&'a str, &'a Value)>) {
    let mut types = String::new();
    for (name, v) in fields {
        let (j, ty) = to_json(v);
        m.insert(name.to_string(), j);
        if let Some(c) = ty {
            push_type(&mut types, name, c);
        }
    }
    if !types.is_empty() {
        m.insert(FIELD_TYPES.into(), Json::String(types));
    }
}

/// Appends `name=c` to a `@fieldTypes` list.
pub(super) fn push_type(types: &mut String, name: &str, c: char) {
    if !types.is_empty() {
        types.push(',');
    }
    types.push_str(name);
    types.push('=');
    types.push(c);
}

/// Parses `@fieldTypes` (`a=l,b=x`), as `OFieldTypesString.loadFieldTypesV0` does.
pub(super) fn field_types(o: &Map<String, Json>) -> HashMap<String, char> {
    let mut out = HashMap::new();
    if let Some(Json::String(s)) = o.get(FIELD_TYPES) {
        for part in s.split(',') {
            if let Some((name, ty)) = part.split_once('=') {
                if let Some(c) = ty.chars().next() {
                    out.insert(name.to_string(), c);
                }
            }
        }
    }
    out
}

/// A value from the export, with its field's type letter if any. Errors say what did not
/// fit the letter.
pub(super) fn from_json(j: &Json, ty: Option<char>) -> Result<Value, String> {
    let bad = |what: &str| format!("{j} is not a valid {what}");
    Ok(match (ty, j) {
        (_, Json::Null) => Value::Null,
        (Some('l'), Json::Number(n)) => Value::Long(n.as_i64().ok_or_else(|| bad("long"))?),
        (Some('s'), Json::Number(n)) => {
            Value::Short(n.as_i64().and_then(|i| i16::try_from(i).ok()).ok_or_else(|| bad("short"))?)
        }
        (Some('b'), Json::Number(n)) => {
            Value::Byte(n.as_i64().and_then(|i| i8::try_from(i).ok()).ok_or_else(|| bad("byte"))?)
        }
        (Some('b'), Json::String(s)) => Value::Binary(base64_decode(s).ok_or_else(|| bad("base64 binary"))?),
        (Some('f'), Json::Number(n)) => Value::Float(n.as_f64().ok_or_else(|| bad("float"))? as f32),
        (Some('d' | 'c'), Json::Number(n)) => Value::Double(n.as_f64().ok_or_else(|| bad("double"))?),
        (Some('c'), Json::String(s)) => Value::Double(s.trim().parse().map_err(|_| bad("decimal"))?),
        (Some('t' | 'a'), Json::Number(n)) => Value::DateTime(n.as_i64().ok_or_else(|| bad("date"))?),
        (Some('t' | 'a'), Json::String(s)) => Value::DateTime(parse_datetime(s).ok_or_else(|| bad("date"))?),
        (Some('x'), Json::String(s)) => Value::Link(link(s).ok_or_else(|| bad("link"))?),
        (Some('z' | 'g'), Json::Array(a)) => Value::List(links(a).ok_or_else(|| bad("link list"))?),
        (Some('n'), Json::Array(a)) => Value::Set(links(a).ok_or_else(|| bad("link set"))?),
        (Some('e'), Json::Array(a)) => Value::Set(a.iter().map(|v| from_json(v, None)).collect::<Result<_, _>>()?),
        (Some('m'), Json::Object(o)) => {
            let mut m = BTreeMap::new();
            for (k, v) in o {
                let Json::String(s) = v else { return Err(bad("link map")) };
                m.insert(k.clone(), Value::Link(link(s).ok_or_else(|| bad("link map"))?));
            }
            Value::Map(m)
        }
        (_, Json::Bool(b)) => Value::Bool(*b),
        (_, Json::Number(n)) => match n.as_i64() {
            Some(i) => i32::try_from(i).map(Value::Int).unwrap_or(Value::Long(i)),
            None => Value::Double(n.as_f64().ok_or_else(|| bad("number"))?),
        },
        (_, Json::String(s)) => Value::String(s.clone()),
        (_, Json::Array(a)) => Value::List(a.iter().map(|v| from_json(v, None)).collect::<Result<_, _>>()?),
        (_, Json::Object(o)) if o.contains_key("@type") => Value::Embedded(fields_from_json(o)?),
        (_, Json::Object(o)) => {
            let mut m = BTreeMap::new();
            for (k, v) in o {
                m.insert(k.clone(), from_json(v, None)?);
            }
            Value::Map(m)
        }
    })
}

/// The fields of an exported object (every name not starting with `@`), typed by its
/// `@fieldTypes`. `skip` leaves out fields the caller handles itself.
pub(super) fn fields_from_json(o: &Map<String, Json>) -> Result<Document, String> {
    fields_except(o, |_| false)
}

/// As [`fields_from_json`], leaving out the fields `skip` names.
pub(super) fn fields_except(o: &Map<String, Json>, skip: impl Fn(&str) -> bool) -> Result<Document, String> {
    let types = field_types(o);
    let mut d = Document::new();
    for (k, v) in o {
        if k.starts_with('@') || skip(k) {
            continue;
        }
        let value = from_json(v, types.get(k).copied()).map_err(|e| format!("field '{k}': {e}"))?;
        d.set(k.clone(), value);
    }
    Ok(d)
}

/// `#c:p` as a RID.
pub(super) fn link(s: &str) -> Option<Rid> {
    Rid::parse(s).filter(|r| !r.is_temporary())
}

fn links(a: &[Json]) -> Option<Vec<Value>> {
    a.iter().map(|v| v.as_str().and_then(link).map(Value::Link)).collect()
}

/// Rewrites every link in `v` through `map`; a link with no entry becomes null. Returns
/// how many did.
pub(super) fn remap(v: &mut Value, map: &impl Fn(Rid) -> Option<Rid>) -> u64 {
    match v {
        Value::Link(r) => match map(*r) {
            Some(n) => {
                *r = n;
                0
            }
            None => {
                *v = Value::Null;
                1
            }
        },
        Value::List(items) | Value::Set(items) => items.iter_mut().map(|i| remap(i, map)).sum(),
        Value::Map(m) => m.values_mut().map(|i| remap(i, map)).sum(),
        Value::Embedded(d) => d.iter_mut().map(|(_, i)| remap(i, map)).sum(),
        _ => 0,
    }
}

/// Whether `v` holds a link anywhere.
pub(super) fn has_link(v: &Value) -> bool {
    match v {
        Value::Link(_) => true,
        Value::List(items) | Value::Set(items) => items.iter().any(has_link),
        Value::Map(m) => m.values().any(has_link),
        Value::Embedded(d) => d.iter().any(|(_, i)| has_link(i)),
        _ => false,
    }
}
