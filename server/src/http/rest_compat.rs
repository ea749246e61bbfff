//! What OrientDB's REST clients send and expect beyond plain JSON and exact paths:
//!
//! - **Relaxed JSON** in record bodies, as OrientDB's `ODocument.fromJSON` reads it:
//!   unquoted keys (`{@class:'V', name:'Jay'}`) and single-quoted strings. Strict JSON is
//!   tried first; the relaxed reader is bounded in depth ([`RELAXED_DEPTH_MAX`]) and names
//!   the byte offset of what it cannot read.
//! - **`@fieldTypes`**: the `name=t,...` string OrientDB's JSON writer adds for the values
//!   plain JSON loses (`OJSONFetchContext.manageTypes`), sent with the records the
//!   `/document` endpoints answer, and honoured on input with the type letters of
//!   `OFieldTypesString.getType` (l long, f float, d double, s short, b byte or binary, a
//!   date, t datetime, x link, z link list, n link set, e set, m link map). DECIMAL (`c`)
//!   is refused: Basalt has no decimal type.
//! - **Paths** as OrientDB's `OServerCommandAbstract.checkSyntax` splits them: empty
//!   segments (a trailing slash, `//`) are dropped and every segment is decoded with
//!   `java.net.URLDecoder`, so `+` is a space. [`normalize_path`] rewrites the request's path
//!   to that form before routing.

use basalt_engine::json::{base64_decode, parse_datetime, to_json};
use basalt_engine::{Document, Record, Rid, Value};
use serde_json::{Map, Value as Json};

use super::ApiError;
use crate::records::{client_record, record_json, ClientRecord};

/// Deepest nesting the relaxed JSON reader follows.
pub const RELAXED_DEPTH_MAX: usize = 128;

/// Reads a record body: strict JSON, else OrientDB's relaxed JSON.
pub fn parse_body(body: &[u8]) -> Result<Json, ApiError> {
    match serde_json::from_slice(body) {
        Ok(j) => Ok(j),
        Err(strict) => {
            let text = std::str::from_utf8(body).map_err(|_| ApiError::bad_request("the body is not UTF-8 text"))?;
            parse_relaxed(text).map_err(|relaxed| {
                ApiError::bad_request(format!(
                    "the body is not valid JSON: {strict}; nor OrientDB's relaxed JSON: {relaxed}"
                ))
            })
        }
    }
}

/// Reads a client's record (`@class`, `@version`, fields) from a body, with `@fieldTypes`
/// applied. Also answers the `@rid` the body names, if any.
pub fn record_from_body(body: &[u8]) -> Result<(ClientRecord, Option<Rid>), ApiError> {
    let j = parse_body(body)?;
    let mut rec = client_record(&j).map_err(ApiError::bad_request)?;
    let rid = match j.get("@rid") {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => Some(Rid::parse(s).filter(|r| !r.is_temporary()).ok_or_else(|| {
            ApiError::bad_request(format!("\"@rid\": '{s}' is not a record id; write it as #cluster:position"))
        })?),
        Some(other) => return Err(ApiError::bad_request(format!("\"@rid\" must be a string, not {other}"))),
    };
    if let Some(types) = j.get("@fieldTypes") {
        let types = types.as_str().ok_or_else(|| ApiError::bad_request("\"@fieldTypes\" must be a string"))?;
        apply_field_types(&mut rec.fields, types).map_err(ApiError::bad_request)?;
    }
    Ok((rec, rid))
}

/// A record as OrientDB's JSON with its `@fieldTypes` (when any value needs one).
pub fn document_json(r: &Record) -> Result<Json, ApiError> {
    let mut j = record_json(r).map_err(ApiError::internal)?;
    let fields = r.fields().map_err(|e| ApiError::internal(format!("record {}: {e}", r.rid)))?;
    let mut types: Vec<String> =
        fields.iter().filter_map(|(k, v)| type_letter(v).map(|t| format!("{k}={t}"))).collect();
    for bag in r.bags().map_err(|e| ApiError::internal(format!("record {}: {e}", r.rid)))? {
        types.push(format!("{}=g", bag.field_name()));
    }
    if let (false, Some(o)) = (types.is_empty(), j.as_object_mut()) {
        o.insert("@fieldTypes".into(), Json::String(types.join(",")));
    }
    Ok(j)
}

/// The `@fieldTypes` letter of a value (`OJSONFetchContext.manageTypes`); None where plain
/// JSON says enough.
fn type_letter(v: &Value) -> Option<char> {
    let all_links = |items: &[Value]| !items.is_empty() && items.iter().all(|x| matches!(x, Value::Link(_)));
    match v {
        Value::Long(_) => Some('l'),
        Value::Link(_) => Some('x'),
        Value::Float(_) => Some('f'),
        Value::Short(_) => Some('s'),
        Value::Double(_) => Some('d'),
        Value::DateTime(_) => Some('t'),
        Value::Byte(_) | Value::Binary(_) => Some('b'),
        Value::Set(items) => Some(if all_links(items) { 'n' } else { 'e' }),
        Value::List(items) if all_links(items) => Some('z'),
        Value::Map(m) if !m.is_empty() && m.values().all(|x| matches!(x, Value::Link(_))) => Some('m'),
        _ => None,
    }
}

/// Converts the fields named in a `@fieldTypes` string (`name=l,other=t`).
pub fn apply_field_types(fields: &mut Document, spec: &str) -> Result<(), String> {
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((name, letter)) = part.split_once('=') else {
            return Err(format!("@fieldTypes: '{part}' is not name=type"));
        };
        let mut letters = letter.trim().chars();
        let (Some(t), None) = (letters.next(), letters.next()) else {
            return Err(format!("@fieldTypes: the type of '{name}' must be one letter, not '{letter}'"));
        };
        let Some(v) = fields.get(name.trim()).cloned() else { continue };
        let typed = typed_value(&v, t).map_err(|e| format!("@fieldTypes: field '{name}': {e}"))?;
        fields.set(name.trim(), typed);
    }
    Ok(())
}

fn typed_value(v: &Value, t: char) -> Result<Value, String> {
    let num = |v: &Value| -> Result<f64, String> {
        match v {
            Value::String(s) => s.trim().parse::<f64>().map_err(|_| format!("'{s}' is not a number")),
            other => other.as_f64().ok_or_else(|| format!("{} is not a number", to_json(other))),
        }
    };
    let int = |v: &Value| -> Result<i64, String> {
        match v {
            Value::String(s) => s.trim().parse::<i64>().map_err(|_| format!("'{s}' is not a whole number")),
            other => other.as_i64().ok_or_else(|| format!("{} is not a whole number", to_json(other))),
        }
    };
    let range = |n: i64, lo: i64, hi: i64, ty: &str| {
        if (lo..=hi).contains(&n) {
            Ok(n)
        } else {
            Err(format!("{n} does not fit in a {ty}"))
        }
    };
    Ok(match t {
        'l' => Value::Long(int(v)?),
        'f' => Value::Float(num(v)? as f32),
        'd' => Value::Double(num(v)?),
        's' => Value::Short(range(int(v)?, i16::MIN.into(), i16::MAX.into(), "SHORT")? as i16),
        // OFieldTypesString.getType: 'b' is a BYTE when the text has 1 to 3 characters,
        // BINARY (base64) otherwise.
        'b' => match v {
            Value::String(s) if s.len() > 3 => {
                Value::Binary(base64_decode(s).ok_or_else(|| format!("'{s}' is not base64"))?)
            }
            other => Value::Byte(range(int(other)?, i8::MIN.into(), i8::MAX.into(), "BYTE")? as i8),
        },
        'a' | 't' => match v {
            Value::String(s) => Value::DateTime(
                parse_datetime(s)
                    .ok_or_else(|| format!("'{s}' is not a date; write yyyy-MM-dd or yyyy-MM-dd HH:mm:ss (UTC)"))?,
            ),
            other => Value::DateTime(int(other)?),
        },
        'x' => Value::Link(link(v)?),
        'z' => Value::List(items(v)?.iter().map(link).map(|r| r.map(Value::Link)).collect::<Result<_, _>>()?),
        'n' => Value::Set(items(v)?.iter().map(link).map(|r| r.map(Value::Link)).collect::<Result<_, _>>()?),
        'e' => Value::Set(items(v)?.to_vec()),
        'g' => Value::List(items(v)?.iter().map(link).map(|r| r.map(Value::Link)).collect::<Result<_, _>>()?),
        'm' => match v {
            Value::Map(m) => Value::Map(
                m.iter().map(|(k, x)| Ok((k.clone(), Value::Link(link(x)?)))).collect::<Result<_, String>>()?,
            ),
            other => return Err(format!("{} is not an object of links", to_json(other))),
        },
        'c' => return Err("DECIMAL is not supported; send the value as a double ('d') or a string".into()),
        other => return Err(format!("'{other}' is not a type letter OrientDB knows")),
    })
}

fn items(v: &Value) -> Result<&[Value], String> {
    match v {
        Value::List(x) | Value::Set(x) => Ok(x),
        other => Err(format!("{} is not a list", to_json(other))),
    }
}

fn link(v: &Value) -> Result<Rid, String> {
    match v {
        Value::Link(r) => Ok(*r),
        Value::String(s) => Rid::parse(s).ok_or_else(|| format!("'{s}' is not a record id (#cluster:position)")),
        other => Err(format!("{} is not a record id", to_json(other))),
    }
}

/// Reads OrientDB's relaxed JSON: unquoted keys, single- or double-quoted strings.
pub fn parse_relaxed(text: &str) -> Result<Json, String> {
    let mut r = Relaxed { s: text.as_bytes(), at: 0 };
    let v = r.value(0)?;
    r.skip_ws();
    if r.at != r.s.len() {
        return Err(format!("unexpected text at byte {}", r.at));
    }
    Ok(v)
}

/// A cursor over relaxed JSON.
struct Relaxed<'a> {
    /// The text.
    s: &'a [u8],
    /// The next byte.
    at: usize,
}

impl Relaxed<'_> {
    fn skip_ws(&mut self) {
        while self.at < self.s.len() && self.s[self.at].is_ascii_whitespace() {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.at).copied()
    }

    fn expect(&mut self, b: u8) -> Result<(), String> {
        if self.peek() == Some(b) {
            self.at += 1;
            Ok(())
        } else {
            Err(format!("expected '{}' at byte {}", b as char, self.at))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        if depth > RELAXED_DEPTH_MAX {
            return Err(format!("nested deeper than {RELAXED_DEPTH_MAX} levels at byte {}", self.at));
        }
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(q @ (b'"' | b'\'')) => self.string(q).map(Json::String),
            Some(_) => self.bare(),
            None => Err("the text ends where a value was expected".into()),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json, String> {
        self.expect(b'{')?;
        let mut m = Map::new();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(Json::Object(m));
        }
        loop {
            let key = match self.peek() {
                Some(q @ (b'"' | b'\'')) => self.string(q)?,
                _ => self.word().ok_or_else(|| format!("expected a field name at byte {}", self.at))?,
            };
            self.expect(b':')?;
            let v = self.value(depth + 1)?;
            m.insert(key, v);
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Json::Object(m));
                }
                _ => return Err(format!("expected ',' or '}}' at byte {}", self.at)),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Json, String> {
        self.expect(b'[')?;
        let mut items = Vec::new();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(Json::Array(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(Json::Array(items));
                }
                _ => return Err(format!("expected ',' or ']' at byte {}", self.at)),
            }
        }
    }

    /// A quoted string; the quote is `"` or `'`. Escapes as in JSON.
    fn string(&mut self, quote: u8) -> Result<String, String> {
        let start = self.at;
        self.at += 1;
        let mut out = Vec::new();
        while let Some(&b) = self.s.get(self.at) {
            self.at += 1;
            match b {
                _ if b == quote => {
                    return String::from_utf8(out).map_err(|_| format!("the string at byte {start} is not UTF-8"))
                }
                b'\\' => {
                    let e = *self.s.get(self.at).ok_or_else(|| format!("unterminated string at byte {start}"))?;
                    self.at += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let hex = self.s.get(self.at..self.at + 4).and_then(|h| std::str::from_utf8(h).ok());
                            let c = hex
                                .and_then(|h| u32::from_str_radix(h, 16).ok())
                                .and_then(char::from_u32)
                                .ok_or_else(|| format!("bad \\u escape at byte {}", self.at))?;
                            self.at += 4;
                            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                        }
                        other => out.push(other),
                    }
                }
                other => out.push(other),
            }
        }
        Err(format!("unterminated string at byte {start}"))
    }

    /// An unquoted word: a field name or a literal.
    fn word(&mut self) -> Option<String> {
        let start = self.at;
        while self.at < self.s.len()
            && (self.s[self.at].is_ascii_alphanumeric() || b"@_$-.+#:".contains(&self.s[self.at]))
        {
            // A ':' ends a key; only RIDs (#9:1) keep theirs.
            if self.s[self.at] == b':' && self.s[start] != b'#' {
                break;
            }
            self.at += 1;
        }
        (self.at > start).then(|| String::from_utf8_lossy(&self.s[start..self.at]).into_owned())
    }

    /// `true`, `false`, `null`, a number, or a bare RID.
    fn bare(&mut self) -> Result<Json, String> {
        let start = self.at;
        let w = self.word().ok_or_else(|| format!("unexpected character at byte {start}"))?;
        match w.as_str() {
            "true" => Ok(Json::Bool(true)),
            "false" => Ok(Json::Bool(false)),
            "null" => Ok(Json::Null),
            _ if w.starts_with('#') => Ok(Json::String(w)),
            _ => serde_json::from_str::<serde_json::Number>(&w)
                .map(Json::Number)
                .map_err(|_| format!("'{w}' at byte {start} is not a value (quote strings)")),
        }
    }
}

/// The request path as OrientDB's `checkSyntax` sees it: without empty segments (so a
/// trailing slash is accepted) and with `+` meaning a space (`URLDecoder`). Answers None
/// when the path is already in that form.
pub fn normalize_path(path: &str) -> Option<String> {
    let needs = path.contains('+') || path.contains("//") || (path.len() > 1 && path.ends_with('/'));
    if !needs {
        return None;
    }
    let segments: Vec<String> = path.split('/').filter(|s| !s.is_empty()).map(|s| s.replace('+', "%20")).collect();
    Some(format!("/{}", segments.join("/")))
}

/// Rewrites the request's URI with [`normalize_path`], keeping the query string.
pub fn normalize_request<B>(req: &mut axum::http::Request<B>) {
    let uri = req.uri();
    let Some(path) = normalize_path(uri.path()) else { return };
    let rebuilt = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    if let Ok(pq) = rebuilt.parse::<axum::http::uri::PathAndQuery>() {
        let mut parts = uri.clone().into_parts();
        parts.path_and_query = Some(pq);
        if let Ok(u) = axum::http::Uri::from_parts(parts) {
            *req.uri_mut() = u;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn relaxed_json_as_orientdb_tests_send_it() {
        // HttpDocumentTest.create's body.
        let j = parse_relaxed("{@class:'V', name:'Jay', surname:'Miner',age:99, \"@version\":100}").unwrap();
        assert_eq!(j, json!({"@class": "V", "name": "Jay", "surname": "Miner", "age": 99, "@version": 100}));
        assert_eq!(parse_relaxed("{age:1,@version:1}").unwrap(), json!({"age": 1, "@version": 1}));
        assert_eq!(
            parse_relaxed("{a: [1, 'x', {b: null}], c: -2.5, d: true, e: 'it\\'s', f: #9:1}").unwrap(),
            json!({"a": [1, "x", {"b": null}], "c": -2.5, "d": true, "e": "it's", "f": "#9:1"})
        );
        assert!(parse_relaxed("{a: }").unwrap_err().contains("byte"));
        assert!(parse_relaxed("{a: 'x'").is_err());
        assert!(parse_relaxed("{a: bareword}").unwrap_err().contains("quote strings"));
        let deep = format!("{}{}", "[".repeat(RELAXED_DEPTH_MAX + 2), "]".repeat(RELAXED_DEPTH_MAX + 2));
        assert!(parse_relaxed(&deep).unwrap_err().contains("deeper"));
    }

    #[test]
    fn field_types_are_honoured_on_input() {
        let mut d = Document::new()
            .with("n", Value::Int(5))
            .with("f", Value::Double(1.5))
            .with("t", Value::String("2020-01-02 03:04:05".into()))
            .with("a", Value::String("2020-01-02".into()))
            .with("x", Value::String("#9:1".into()))
            .with("bin", Value::String("AAEC".into()))
            .with("byte", Value::Int(7))
            .with("links", Value::List(vec![Value::String("#9:2".into())]));
        apply_field_types(&mut d, "n=l,f=f,t=t,a=a,x=x,bin=b,byte=b,links=z,missing=l").unwrap();
        assert_eq!(d.get("n"), Some(&Value::Long(5)));
        assert_eq!(d.get("f"), Some(&Value::Float(1.5)));
        assert_eq!(d.get("t"), Some(&Value::DateTime(parse_datetime("2020-01-02 03:04:05").unwrap())));
        assert_eq!(d.get("a"), Some(&Value::DateTime(parse_datetime("2020-01-02").unwrap())));
        assert_eq!(d.get("x"), Some(&Value::Link(Rid::new(9, 1))));
        assert_eq!(d.get("bin"), Some(&Value::Binary(vec![0, 1, 2])));
        assert_eq!(d.get("byte"), Some(&Value::Byte(7)));
        assert_eq!(d.get("links"), Some(&Value::List(vec![Value::Link(Rid::new(9, 2))])));
        assert!(apply_field_types(&mut d, "byte=c").unwrap_err().contains("DECIMAL"));
        assert!(apply_field_types(&mut d, "x=q").is_err());
        let mut bad = Document::new().with("t", Value::String("yesterday".into()));
        assert!(apply_field_types(&mut bad, "t=t").unwrap_err().contains("'t'"));
    }

    #[test]
    fn paths_lose_empty_segments_and_plus_is_a_space() {
        assert_eq!(normalize_path("/command/db/sql/").as_deref(), Some("/command/db/sql"));
        assert_eq!(
            normalize_path("/query/db/sql/select+from+V/10").as_deref(),
            Some("/query/db/sql/select%20from%20V/10")
        );
        assert_eq!(normalize_path("/connections/").as_deref(), Some("/connections"));
        assert_eq!(normalize_path("/query/db/sql/select%20from%20V"), None);
        assert_eq!(normalize_path("/"), None);
    }
}
