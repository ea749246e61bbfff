//! JSON as the console handles it: `serde_json::Value`, whose objects keep the order the
//! server sent (the workspace enables serde_json's `preserve_order`), so a record's fields
//! and a projection's columns show in the server's order. Plus the text forms the console
//! prints.

/// A JSON value.
pub type Json = serde_json::Value;

/// Parses JSON text; the error names the line and column.
pub fn parse(text: &str) -> Result<Json, serde_json::Error> {
    serde_json::from_str(text)
}

/// The text forms of a value.
pub trait JsonText {
    /// Compact JSON text (`{"a":1}`).
    fn to_compact(&self) -> String;
    /// Indented JSON text, two spaces per level.
    fn to_pretty(&self) -> String;
    /// The value as a table cell: strings without quotes, everything else as compact JSON.
    fn to_cell(&self) -> String;
}

impl JsonText for Json {
    fn to_compact(&self) -> String {
        // Serializing an in-memory tree of strings and numbers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    fn to_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    fn to_cell(&self) -> String {
        match self {
            Json::String(s) => s.clone(),
            other => other.to_compact(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_keep_the_order_they_arrived_in() {
        let j = parse(r#"{"z": 1, "a": {"y": 2, "b": 3}, "m": "text"}"#).unwrap();
        assert_eq!(j.to_compact(), r#"{"z":1,"a":{"y":2,"b":3},"m":"text"}"#);
        let keys: Vec<&String> = j.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["z", "a", "m"]);
        assert_eq!(j["m"].to_cell(), "text");
        assert_eq!(j["a"].to_cell(), r#"{"y":2,"b":3}"#);
    }
}
