//! Where the server writes: the log on stderr (text, or one JSON object per line), and the
//! "screen" on stdout (the ready line, the first-run banner and next steps).
//!
//! With `--log-format json` both streams carry only JSON objects, one per line, each with
//! `timestamp` (RFC 3339, UTC), `level`, `target`, `message` and the event's fields at the top
//! level. A field that is a list (logged with `?` on a `Vec`) is a JSON array, not a string.
//! Screen lines are objects of the same shape with `target` `basalt_server::screen`.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::config::LogFormat;

/// Sets up logging to stderr. `BASALT_LOG` (a filter such as `info,audit=info`) overrides
/// `level`. openraft's own lines are kept to warnings unless asked for (`openraft=info`):
/// at info it narrates every election in internal terms; Basalt logs what an operator
/// needs of them (`replication::group`).
pub fn init_logging(format: LogFormat, level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BASALT_LOG").unwrap_or_else(|_| {
        let level = if level.contains("openraft") { level.to_string() } else { format!("{level},openraft=warn") };
        tracing_subscriber::EnvFilter::new(level)
    });
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(false);
    let _ = match format {
        LogFormat::Json => builder.event_format(JsonLines).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Writes one screen message on stdout: as text lines, or as one JSON object with `fields`.
pub fn screen(format: LogFormat, text: &str, message: &str, fields: Map<String, Value>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = match format {
        LogFormat::Text => writeln!(out, "{text}"),
        LogFormat::Json => {
            let mut obj = base_object("INFO", "basalt_server::screen");
            obj.insert("message".into(), Value::from(message));
            obj.extend(fields);
            writeln!(out, "{}", Value::Object(obj))
        }
    };
    let _ = out.flush();
}

fn timestamp() -> String {
    let mut s = String::new();
    let _ = tracing_subscriber::fmt::time::SystemTime.format_time(&mut Writer::new(&mut s));
    s
}

fn base_object(level: &str, target: &str) -> Map<String, Value> {
    let mut obj = Map::new();
    obj.insert("timestamp".into(), Value::from(timestamp()));
    obj.insert("level".into(), Value::from(level));
    obj.insert("target".into(), Value::from(target));
    obj
}

/// The JSON event format (see the module doc).
struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let meta = event.metadata();
        let mut obj = base_object(meta.level().as_str(), meta.target());
        let mut fields = Fields(Map::new());
        event.record(&mut fields);
        if let Some(scope) = ctx.event_scope() {
            let spans: Vec<Value> = scope.from_root().map(|s| Value::from(s.name())).collect();
            if !spans.is_empty() {
                obj.insert("spans".into(), Value::Array(spans));
            }
        }
        obj.extend(fields.0);
        writeln!(writer, "{}", Value::Object(obj))
    }
}

/// Collects an event's fields as JSON values.
struct Fields(Map<String, Value>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        // A list logged with `?` (a Vec's Debug) is valid JSON for strings and numbers: keep
        // it as an array.
        let v = match serde_json::from_str::<Value>(&text) {
            Ok(a @ Value::Array(_)) if text.starts_with('[') => a,
            _ => Value::from(text),
        };
        self.0.insert(field.name().into(), v);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), Value::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), Value::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), Value::from(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_become_arrays_and_other_values_strings() {
        let mut f = Fields(Map::new());
        let names = vec!["a".to_string(), "b\"c".to_string()];
        let callsite = tracing::field::FieldSet::new(&["list", "text"], tracing_core_identity());
        let list = callsite.field("list").unwrap();
        let text = callsite.field("text").unwrap();
        f.record_debug(&list, &names);
        f.record_debug(&text, &format_args!("[not json"));
        assert_eq!(f.0["list"], serde_json::json!(["a", "b\"c"]));
        assert_eq!(f.0["text"], Value::from("[not json"));
    }

    fn tracing_core_identity() -> tracing::callsite::Identifier {
        struct Cs;
        impl tracing::Callsite for Cs {
            fn set_interest(&self, _: tracing::subscriber::Interest) {}
            fn metadata(&self) -> &tracing::Metadata<'_> {
                unreachable!("not registered")
            }
        }
        static CS: Cs = Cs;
        tracing::callsite::Identifier(&CS)
    }
}
