//! An ordered JSON value for the console.
//!
//! `serde_json::Value` keeps object keys sorted (the workspace does not enable serde_json's
//! `preserve_order`), but the console must show a record's fields, and a projection's columns,
//! in the order the server sent them. [`Json`] keeps object entries as a list in document order;
//! it deserializes from and serializes to ordinary JSON, so it can be pretty-printed unchanged.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// A JSON value whose objects keep their keys in document order.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, exactly as serde_json parsed it.
    Number(serde_json::Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object: its entries in the order they appeared.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Parses JSON text; the error names the line and column.
    pub fn parse(text: &str) -> Result<Json, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The value of `key` if this is an object holding it (the first one, if repeated).
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// The elements if this is an array.
    pub fn as_array(&self) -> Option<&[Json]> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The entries if this is an object.
    pub fn as_object(&self) -> Option<&[(String, Json)]> {
        match self {
            Json::Object(entries) => Some(entries),
            _ => None,
        }
    }

    /// Compact JSON text (`{"a":1}`).
    pub fn to_compact(&self) -> String {
        // Serializing an in-memory tree of strings and numbers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Indented JSON text, two spaces per level.
    pub fn to_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The value as a table cell: strings without quotes, `null` as `null`, everything else as
    /// compact JSON.
    pub fn to_cell(&self) -> String {
        match self {
            Json::String(s) => s.clone(),
            other => other.to_compact(),
        }
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_compact())
    }
}

impl From<serde_json::Value> for Json {
    fn from(value: serde_json::Value) -> Json {
        match value {
            serde_json::Value::Null => Json::Null,
            serde_json::Value::Bool(b) => Json::Bool(b),
            serde_json::Value::Number(n) => Json::Number(n),
            serde_json::Value::String(s) => Json::String(s),
            serde_json::Value::Array(items) => Json::Array(items.into_iter().map(Json::from).collect()),
            serde_json::Value::Object(map) => Json::Object(map.into_iter().map(|(k, v)| (k, Json::from(v))).collect()),
        }
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => serializer.serialize_unit(),
            Json::Bool(b) => serializer.serialize_bool(*b),
            Json::Number(n) => n.serialize(serializer),
            Json::String(s) => serializer.serialize_str(s),
            Json::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Object(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

/// Builds a [`Json`] from serde's callbacks, keeping map entries in the order visited.
struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json, D::Error> {
        Json::deserialize(deserializer)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json, E> {
        // JSON text cannot hold NaN or infinities, so this only fails for non-JSON sources.
        serde_json::Number::from_f64(v).map(Json::Number).ok_or_else(|| E::custom("a non-finite number"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut entries = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Json>()? {
            entries.push((key, value));
        }
        Ok(Json::Object(entries))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn keeps_key_order_and_round_trips() {
        let text = r#"{"zeta":1,"alpha":[true,null,"x"],"mid":{"b":2.5,"a":-3}}"#;
        let json = Json::parse(text).unwrap();
        let keys: Vec<&str> = json.as_object().unwrap().iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["zeta", "alpha", "mid"]);
        assert_eq!(json.to_compact(), text);
    }

    #[test]
    fn cells_show_strings_bare_and_the_rest_as_json() {
        assert_eq!(Json::String("a b".into()).to_cell(), "a b");
        assert_eq!(Json::Null.to_cell(), "null");
        assert_eq!(Json::parse("[1,\"#9:0\"]").unwrap().to_cell(), r##"[1,"#9:0"]"##);
        assert_eq!(Json::parse("12345678901234567890").unwrap().to_cell(), "12345678901234567890");
    }

    #[test]
    fn pretty_printing_indents_in_document_order() {
        let json = Json::parse(r#"{"b":1,"a":{"y":[],"x":null}}"#).unwrap();
        assert_eq!(json.to_pretty(), "{\n  \"b\": 1,\n  \"a\": {\n    \"y\": [],\n    \"x\": null\n  }\n}");
    }

    #[test]
    fn get_finds_keys_and_rejects_bad_text() {
        let json = Json::parse(r##"{"result":[{"@rid":"#1:0"}]}"##).unwrap();
        let first = &json.get("result").unwrap().as_array().unwrap()[0];
        assert_eq!(first.get("@rid").and_then(Json::as_str), Some("#1:0"));
        assert!(json.get("missing").is_none());
        assert!(Json::parse("{\"a\":").is_err());
    }
}
