//! Results and records: running SQL with the default limit, showing a result in the chosen
//! format, and the record commands `DISPLAY RECORD`, `DISPLAY RAW RECORD`, `LOAD RECORD`,
//! `BROWSE CLASS` and `BROWSE CLUSTER`.
//!
//! **The default limit** follows OrientDB's console (`OConsoleDatabaseApp.select` and
//! `browseRecords` in `orientechnologies/orientdb`): a `SELECT`, `MATCH` or `TRAVERSE` without a
//! `LIMIT` of its own is asked for `limit + 1` rows (`GET /query/{db}/sql/{sql}/{limit+1}`, the
//! contract's read path, whose limit applies only when the statement has none); `limit` rows
//! are shown, and when the extra row came back the notice `LIMIT EXCEEDED: resultset contains
//! more items not displayed (limit=20)` says more exist. `SET limit -1` shows everything.
//! Everything else, and a statement too long for a URL, goes to `POST /command/{db}/sql` (a
//! long SELECT is then cut on this side, with the same notice).
//!
//! **The last result** (the rows shown) is kept for `DISPLAY RECORD n` and `DISPLAY RAW
//! RECORD n`, where `n` is the `#` column of the table; its first row, or the record `LOAD
//! RECORD` fetched, is the current record (`DISPLAY RECORD` without a number).

use super::client::{encode_segment, Method, Request};
use super::command::{is_read_only_sql, Format, RecordRef, Rid};
use super::error::ConsoleError;
use super::json::{Json, JsonText};
use super::output::{csv, record_fields, terminal_size, vertical};
use super::schema::Schema;
use super::session::Session;
use super::table::{cell_text, fit_to_width, render_table, result_table, summary_line};

/// The longest request path the console sends as a GET; longer statements go by POST.
const PATH_CHARS_MAX: usize = 8000;

/// True for statements the default limit applies to.
fn is_limitable(sql: &str) -> bool {
    let first = sql.split_whitespace().next().unwrap_or("").to_uppercase();
    matches!(first.as_str(), "SELECT" | "MATCH" | "TRAVERSE")
}

/// True when the statement has a `LIMIT` of its own, outside quotes and brackets.
pub fn has_own_limit(sql: &str) -> bool {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut word = String::new();
    for c in sql.chars().chain(std::iter::once(' ')) {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' && q != '`' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        if depth == 0 && word.eq_ignore_ascii_case("LIMIT") {
            return true;
        }
        word.clear();
        match c {
            '\'' | '"' | '`' => quote = Some(c),
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// True for SQL that may change the schema (then completion's names are fetched again).
pub fn is_schema_change(sql: &str) -> bool {
    let first = sql.split_whitespace().next().unwrap_or("").to_uppercase();
    matches!(first.as_str(), "CREATE" | "ALTER" | "DROP" | "TRUNCATE")
}

/// The rows of an answer: its `result` array, or the answer itself.
fn items_of(body: &Json) -> Vec<Json> {
    match body.get("result").unwrap_or(body) {
        Json::Array(items) => items.clone(),
        Json::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

impl Session {
    /// Runs SQL and shows its result (the default limit applied, see the module doc).
    pub(super) fn run_sql(&mut self, sql: String) -> Result<(), ConsoleError> {
        let db = self.require_database()?;
        let limit =
            (self.settings.limit > 0 && is_limitable(&sql) && !has_own_limit(&sql)).then_some(self.settings.limit);
        let query_path =
            limit.map(|n| format!("/query/{}/sql/{}/{}", encode_segment(&db), encode_segment(&sql), n + 1));
        let request = match query_path.filter(|p| p.len() <= PATH_CHARS_MAX) {
            Some(path) => Request { method: Method::Get, path, body: None, repeatable: true },
            None => Request {
                method: Method::Post,
                path: format!("/command/{}/sql", encode_segment(&db)),
                body: Some(serde_json::json!({"command": sql, "parameters": {}})),
                repeatable: is_read_only_sql(&sql),
            },
        };
        let answer = self.send(request)?;
        self.show_answer(&answer.body, answer.elapsed.as_secs_f64(), limit)?;
        if is_schema_change(&sql) {
            self.refresh_vocabulary();
        }
        Ok(())
    }

    /// Shows an answer's rows in the chosen format, keeping them as the last result; with a
    /// limit, at most that many rows, and a notice when there were more.
    pub(super) fn show_answer(&mut self, body: &Json, seconds: f64, limit: Option<i64>) -> Result<(), ConsoleError> {
        let mut items = items_of(body);
        let shown = limit.and_then(|n| usize::try_from(n).ok());
        let exceeded = shown.is_some_and(|n| items.len() > n);
        if let (Some(n), true) = (shown, exceeded) {
            items.truncate(n);
        }
        let notice = shown.filter(|_| exceeded).map(|n| {
            format!("LIMIT EXCEEDED: resultset contains more items not displayed (limit={n}); SET limit shows more")
        });
        let width = self.table_width();
        let text = match self.settings.format {
            Format::Json => {
                let mut body = body.clone();
                if let Some(result) = body.get_mut("result").filter(|_| exceeded) {
                    *result = Json::Array(items.clone());
                }
                format!("{}\n", body.to_pretty())
            }
            Format::Csv => csv(&items),
            Format::Table | Format::Vertical => {
                let mut text = String::new();
                if self.settings.format == Format::Vertical {
                    text.push_str(&vertical(&items, self.settings.max_width, width));
                } else if !items.is_empty() {
                    let (headers, rows) = result_table(&items, self.settings.max_width);
                    let (headers, rows) = match width {
                        Some(w) => fit_to_width(headers, rows, w),
                        None => (headers, rows),
                    };
                    text.push_str(&render_table(&headers, &rows));
                }
                if let Some(notice) = &notice {
                    text.push_str(&format!("\n{notice}\n"));
                }
                text.push_str(&summary_line(items.len(), seconds));
                text.push('\n');
                text
            }
        };
        if matches!(self.settings.format, Format::Json | Format::Csv) {
            if let Some(notice) = &notice {
                self.note(notice);
            }
        }
        self.current_record = items.first().cloned();
        self.last_result = items;
        self.print(&text)
    }

    /// The width tables are fitted to: `SET width`, else the terminal's when known.
    pub(super) fn table_width(&self) -> Option<usize> {
        self.settings.width.or_else(|| terminal_size().0)
    }

    /// The current database's schema, fetched now.
    pub(super) fn fetch_schema(&mut self) -> Result<Schema, ConsoleError> {
        let db = self.require_database()?;
        let path = format!("/database/{}", encode_segment(&db));
        let answer = self.send(Request { method: Method::Get, path, body: None, repeatable: true })?;
        Ok(Schema::from_json(&answer.body))
    }

    /// Fetches the names completion offers again (when the REPL completes; errors only leave
    /// the old names).
    pub(super) fn refresh_vocabulary(&mut self) {
        if self.vocabulary.is_none() || self.database.is_none() || self.client.is_none() {
            return;
        }
        if let Ok(schema) = self.fetch_schema() {
            let (classes, properties, clusters) = schema.names();
            if let Some(vocabulary) = &self.vocabulary {
                *vocabulary.borrow_mut() = super::complete::Vocabulary { classes, properties, clusters };
            }
        }
    }

    /// `DISPLAY RECORD [n]`.
    pub(super) fn display_record(&mut self, row: Option<usize>) -> Result<(), ConsoleError> {
        self.require_database()?;
        let record = match row {
            None => self.current_record.clone().ok_or_else(|| {
                ConsoleError::Usage("there is no current record: run a query or LOAD RECORD first".into())
            })?,
            Some(n) => self.row(n)?,
        };
        self.current_record = Some(record.clone());
        self.show_record(&record)
    }

    /// Row `n` of the last result, or OrientDB's errors for a missing one.
    fn row(&self, n: usize) -> Result<Json, ConsoleError> {
        if self.last_result.is_empty() {
            return Err(ConsoleError::Usage(
                "No result set where to find the requested record. Execute a query first.".into(),
            ));
        }
        self.last_result.get(n).cloned().ok_or_else(|| {
            ConsoleError::Usage(format!(
                "The record requested is not part of current result set (0-{})",
                self.last_result.len() - 1
            ))
        })
    }

    /// A record field by field: `DOCUMENT @class:C @rid:#c:p @version:v` and a NAME/VALUE
    /// table, as OrientDB's `dumpRecordDetails`; the JSON itself in JSON format.
    fn show_record(&mut self, record: &Json) -> Result<(), ConsoleError> {
        if self.settings.format == Format::Json {
            return self.print(&format!("{}\n", record.to_pretty()));
        }
        let meta = |key: &str| record.get(key).map_or_else(|| "?".to_owned(), JsonText::to_cell);
        let mut text = String::new();
        if record.get("@rid").is_some() || record.get("@class").is_some() {
            text.push_str(&format!(
                "\nDOCUMENT @class:{} @rid:{} @version:{}\n",
                meta("@class"),
                meta("@rid"),
                meta("@version")
            ));
        }
        let rows: Vec<Vec<String>> = record_fields(record)
            .into_iter()
            .filter(|(k, _)| !k.starts_with('@'))
            .map(|(k, v)| vec![k, cell_text(&v.to_cell(), self.settings.max_width.max(80))])
            .collect();
        let headers = vec!["NAME".to_owned(), "VALUE".to_owned()];
        let (headers, rows) = match self.table_width() {
            Some(w) => fit_to_width(headers, rows, w),
            None => (headers, rows),
        };
        text.push_str(&render_table(&headers, &rows));
        self.print(&text)
    }

    /// `GET /document/{db}/{c}:{p}`.
    fn fetch_record(&mut self, rid: Rid) -> Result<Json, ConsoleError> {
        let db = self.require_database()?;
        let path = format!("/document/{}/{}:{}", encode_segment(&db), rid.cluster, rid.position);
        Ok(self.send(Request { method: Method::Get, path, body: None, repeatable: true })?.body)
    }

    /// `DISPLAY RAW RECORD n|rid`: the record as the server serialized it, cut to
    /// `maxBinaryDisplay` bytes, in OrientDB's words.
    pub(super) fn display_raw_record(&mut self, target: RecordRef) -> Result<(), ConsoleError> {
        self.require_database()?;
        let rid = match target {
            RecordRef::Rid(rid) => rid,
            RecordRef::Row(n) => {
                let row = self.row(n)?;
                let text = row.get("@rid").and_then(Json::as_str).unwrap_or("");
                Rid::parse(text).map_err(|_| {
                    ConsoleError::Usage(format!("row {n} of the last result is not a stored record (it has no @rid)"))
                })?
            }
        };
        let raw = self.fetch_record(rid)?.to_compact();
        let mut end = raw.len().min(self.settings.max_binary_display);
        while !raw.is_char_boundary(end) {
            end -= 1;
        }
        self.print(&format!(
            "\nRaw record content. The size is {} bytes, while settings force to print first {end} bytes:\n\n{}\n",
            raw.len(),
            &raw[..end]
        ))
    }

    /// `LOAD RECORD rid`: fetches the record, makes it the current one and shows it.
    pub(super) fn load_record(&mut self, rid: Rid) -> Result<(), ConsoleError> {
        let record = self.fetch_record(rid)?;
        self.current_record = Some(record.clone());
        self.show_record(&record)
    }

    /// `BROWSE CLASS name`: the class's records (subclasses' too), up to the limit.
    pub(super) fn browse_class(&mut self, name: &str) -> Result<(), ConsoleError> {
        let schema = self.fetch_schema()?;
        let class = schema.class(name).ok_or_else(|| self.no_such("class", name))?.name.clone();
        self.run_sql(format!("SELECT FROM `{class}`"))
    }

    /// `BROWSE CLUSTER name`: the cluster's records, up to the limit.
    pub(super) fn browse_cluster(&mut self, name: &str) -> Result<(), ConsoleError> {
        let schema = self.fetch_schema()?;
        let cluster = schema.cluster(name).ok_or_else(|| self.no_such("cluster", name))?.name.clone();
        self.run_sql(format!("SELECT FROM cluster:{cluster}"))
    }

    /// `class 'X' does not exist in the database 'demo'`, as OrientDB says it.
    pub(super) fn no_such(&self, what: &str, name: &str) -> ConsoleError {
        let db = self.database.as_deref().unwrap_or("?");
        ConsoleError::Usage(format!("{what} '{name}' does not exist in the database '{db}'"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_limits_are_found_outside_quotes_and_brackets() {
        assert!(has_own_limit("SELECT FROM V LIMIT 5"));
        assert!(has_own_limit("select from V limit\n5"));
        assert!(!has_own_limit("SELECT FROM V"));
        assert!(!has_own_limit("SELECT FROM V WHERE name = 'no limit here'"));
        assert!(!has_own_limit("SELECT FROM (SELECT FROM V LIMIT 3)"));
        assert!(!has_own_limit("SELECT limited FROM V"));
        assert!(!has_own_limit("SELECT FROM V WHERE a = \"x\\\" LIMIT 3\""));
        assert!(has_own_limit("MATCH {class: V, as: v} RETURN v LIMIT 2"));
    }

    #[test]
    fn what_is_limited_and_what_changes_the_schema() {
        assert!(is_limitable("select from V"));
        assert!(is_limitable("TRAVERSE out() FROM #9:1"));
        assert!(!is_limitable("EXPLAIN SELECT FROM V"));
        assert!(!is_limitable("INSERT INTO V SET a = 1"));
        assert!(is_schema_change("create class X extends V"));
        assert!(is_schema_change("DROP PROPERTY X.a"));
        assert!(!is_schema_change("SELECT FROM V"));
    }
}
