//! The table renderer: query results and `HA STATUS` as aligned text tables.
//!
//! ```text
//! +---+-------+--------+------+-----+
//! | # | @RID  | @CLASS | name | age |
//! +---+-------+--------+------+-----+
//! | 0 | #12:0 | Person | Ann  | 31  |
//! +---+-------+--------+------+-----+
//! ```
//!
//! Result tables have a `#` column (the row number), `@RID` and `@CLASS` when any row has them,
//! then one column per field, the union of all rows' fields in order of first appearance. Other
//! `@` metadata (`@type`, `@version`, ...) is left out. Strings show without quotes, other values
//! as compact JSON, a missing field as an empty cell. Control characters are escaped (a newline
//! shows as `\n`) so a row stays on one line, and cells longer than the maximum width are cut
//! with `...`. Widths count characters, not terminal columns.
//!
//! [`fit_to_width`] fits a table to the terminal: while the table is wider than the screen it
//! narrows the widest column by one character (never below [`NARROWEST_COLUMN`]) and cuts the
//! cells that no longer fit with `...`, as OrientDB's `OTableFormatter` shrinks its widest
//! columns to `maxWidthSize`.

use super::json::{Json, JsonText};

/// The widest a cell is by default, in characters.
pub const DEFAULT_MAX_WIDTH: usize = 40;

/// Renders a table: a header row and the rows, each cell already a single line. Returns the
/// table's lines, each ending in `\n`. Rows shorter than the header get empty cells.
pub fn render_table(headers: &[String], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(widths.len()) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let rule = widths.iter().fold(String::from("+"), |mut line, w| {
        line.push_str(&"-".repeat(w + 2));
        line.push('+');
        line
    }) + "\n";
    let line = |cells: &[String]| {
        let mut out = String::from("|");
        for (i, width) in widths.iter().enumerate() {
            let cell = cells.get(i).map_or("", String::as_str);
            let pad = width - cell.chars().count();
            out.push(' ');
            out.push_str(cell);
            out.push_str(&" ".repeat(pad + 1));
            out.push('|');
        }
        out + "\n"
    };
    let mut out = rule.clone();
    out.push_str(&line(headers));
    out.push_str(&rule);
    for row in rows {
        out.push_str(&line(row));
    }
    out.push_str(&rule);
    out
}

/// The narrowest a column gets when a table is fitted to the screen.
pub const NARROWEST_COLUMN: usize = 5;

/// Narrows the table so that [`render_table`] draws it at most `width` characters wide (see
/// the module doc). A table that cannot be narrowed enough stays as narrow as it can get.
pub fn fit_to_width(headers: Vec<String>, rows: Vec<Vec<String>>, width: usize) -> (Vec<String>, Vec<Vec<String>>) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate().take(widths.len()) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    // `| a | b |`: three characters per column and one more.
    let budget = width.saturating_sub(3 * widths.len() + 1);
    let mut total: usize = widths.iter().sum();
    while total > budget {
        let Some((widest, &w)) = widths.iter().enumerate().max_by_key(|(_, w)| **w) else { break };
        if w <= NARROWEST_COLUMN {
            break;
        }
        widths[widest] -= 1;
        total -= 1;
    }
    let cut = |cells: Vec<String>| -> Vec<String> {
        cells
            .into_iter()
            .enumerate()
            .map(|(i, cell)| match widths.get(i) {
                Some(&w) if cell.chars().count() > w => cell_text(&cell, w),
                _ => cell,
            })
            .collect()
    };
    (cut(headers), rows.into_iter().map(cut).collect())
}

/// Makes text fit one cell: control characters escaped, cut to `max_width` characters with a
/// trailing `...` when longer.
pub fn cell_text(text: &str, max_width: usize) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\t' => escaped.push_str("\\t"),
            c if c.is_control() => escaped.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => escaped.push(c),
        }
    }
    if escaped.chars().count() <= max_width {
        return escaped;
    }
    let keep = max_width.saturating_sub(3);
    let mut cut: String = escaped.chars().take(keep).collect();
    cut.push_str(&"...".chars().take(max_width).collect::<String>());
    cut
}

/// The headers and rows of a result table (see the module doc).
pub fn result_table(items: &[Json], max_width: usize) -> (Vec<String>, Vec<Vec<String>>) {
    let has = |key: &str| items.iter().any(|item| item.get(key).is_some());
    let (with_rid, with_class) = (has("@rid"), has("@class"));
    let mut fields: Vec<&str> = Vec::new();
    let mut with_value = false;
    for item in items {
        match item.as_object() {
            Some(entries) => {
                for (key, _) in entries {
                    if !key.starts_with('@') && !fields.contains(&key.as_str()) {
                        fields.push(key);
                    }
                }
            }
            None => with_value = true,
        }
    }
    let mut headers = vec!["#".to_owned()];
    if with_rid {
        headers.push("@RID".into());
    }
    if with_class {
        headers.push("@CLASS".into());
    }
    headers.extend(fields.iter().map(|f| cell_text(f, max_width)));
    if with_value {
        headers.push("value".into());
    }
    let cell = |value: Option<&Json>| value.map_or(String::new(), |v| cell_text(&v.to_cell(), max_width));
    let rows = items
        .iter()
        .enumerate()
        .map(|(n, item)| {
            let mut row = vec![n.to_string()];
            if with_rid {
                row.push(cell(item.get("@rid")));
            }
            if with_class {
                row.push(cell(item.get("@class")));
            }
            row.extend(fields.iter().map(|f| cell(item.get(f))));
            if with_value {
                row.push(if item.as_object().is_some() { String::new() } else { cell(Some(item)) });
            }
            row
        })
        .collect();
    (headers, rows)
}

/// The summary printed under a result: `3 item(s) found. Query executed in 0.012 sec(s).`
pub fn summary_line(items: usize, seconds: f64) -> String {
    format!("{items} item(s) found. Query executed in {seconds:.3} sec(s).")
}

/// Renders a `/distributed/status` answer: a heading naming the cluster and the answering node,
/// one row per node and database, and a line per database with its leader and write quorum.
pub fn ha_status_table(status: &Json, max_width: usize) -> String {
    let text = |value: Option<&Json>| value.map_or(String::new(), |v| cell_text(&v.to_cell(), max_width));
    let local = status.get("localNode").and_then(Json::as_str).unwrap_or("?");
    let cluster = status.get("clusterName").and_then(Json::as_str).unwrap_or("?");
    let no_databases = serde_json::Map::new();
    let databases = status.get("databases").and_then(Json::as_object).unwrap_or(&no_databases);
    let leader_of = |db: &str| databases.get(db).and_then(|v| v.get("leader")).and_then(Json::as_str);
    let headers: Vec<String> =
        ["NODE", "ROLE", "HTTP", "REACHABLE", "DATABASE", "STATUS", "APPLIED LSN", "LEADER"].map(String::from).into();
    let mut rows = Vec::new();
    for node in status.get("nodes").and_then(Json::as_array).map(Vec::as_slice).unwrap_or(&[]) {
        let name = node.get("name").and_then(Json::as_str).unwrap_or("?");
        let shown_name = if name == local { format!("{name} (*)") } else { name.to_owned() };
        let node_cells = vec![
            cell_text(&shown_name, max_width),
            text(node.get("role")),
            text(node.get("httpAddress")),
            text(node.get("reachable")),
        ];
        let node_dbs = node.get("databases").and_then(Json::as_object).unwrap_or(&no_databases);
        if node_dbs.is_empty() {
            rows.push(node_cells);
            continue;
        }
        for (db, db_status) in node_dbs {
            let mut row = node_cells.clone();
            row.push(cell_text(db, max_width));
            row.push(text(db_status.get("status")));
            row.push(text(db_status.get("appliedLsn")));
            row.push(if leader_of(db) == Some(name) { "yes".into() } else { String::new() });
            rows.push(row);
        }
    }
    let mut out = format!("Cluster '{cluster}', as seen by node {local} (*):\n");
    out.push_str(&render_table(&headers, &rows));
    for (db, info) in databases {
        let leader = match info.get("leader") {
            None | Some(Json::Null) => "none".to_owned(),
            Some(leader) => leader.to_cell(),
        };
        let quorum = info.get("writeQuorum").map_or("?".to_owned(), JsonText::to_cell);
        out.push_str(&format!("Database '{db}': leader {leader}, write quorum {quorum}\n"));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn items(text: &str) -> Vec<Json> {
        crate::console::json::parse(text).unwrap().as_array().unwrap().to_vec()
    }

    fn render(text: &str, max_width: usize) -> String {
        let (headers, rows) = result_table(&items(text), max_width);
        render_table(&headers, &rows)
    }

    #[test]
    fn records_golden() {
        let got = render(
            r##"[
              {"@type":"d","@rid":"#12:0","@version":3,"@class":"Person","name":"Ann","age":31},
              {"@type":"d","@rid":"#12:1","@version":1,"@class":"Person","name":"Bob","city":"Oslo",
               "out_Knows":["#20:0","#20:1"],"address":{"zip":"0150","n":null}}
            ]"##,
            40,
        );
        let want = r##"
+---+-------+--------+------+-----+------+-------------------+-------------------------+
| # | @RID  | @CLASS | name | age | city | out_Knows         | address                 |
+---+-------+--------+------+-----+------+-------------------+-------------------------+
| 0 | #12:0 | Person | Ann  | 31  |      |                   |                         |
| 1 | #12:1 | Person | Bob  |     | Oslo | ["#20:0","#20:1"] | {"zip":"0150","n":null} |
+---+-------+--------+------+-----+------+-------------------+-------------------------+
"##;
        assert_eq!(got, want.trim_start());
    }

    #[test]
    fn projections_golden() {
        let got = render(r#"[{"name":"a","count":2,"ok":true},{"count":10,"name":"longer name"}]"#, 40);
        let want = "\
+---+-------------+-------+------+
| # | name        | count | ok   |
+---+-------------+-------+------+
| 0 | a           | 2     | true |
| 1 | longer name | 10    |      |
+---+-------------+-------+------+
";
        assert_eq!(got, want);
    }

    #[test]
    fn truncation_escaping_and_scalars_golden() {
        let got = render(r#"[{"text":"line one\nline two, quite a bit longer"},"bare",7]"#, 16);
        let want = r"
+---+------------------+-------+
| # | text             | value |
+---+------------------+-------+
| 0 | line one\nlin... |       |
| 1 |                  | bare  |
| 2 |                  | 7     |
+---+------------------+-------+
";
        assert_eq!(got, want.trim_start());
    }

    #[test]
    fn tables_fit_the_width() {
        let headers = vec!["#".to_owned(), "name".to_owned(), "description".to_owned()];
        let rows = vec![vec!["0".to_owned(), "Ann".to_owned(), "a rather long description of Ann".to_owned()]];
        let (h, r) = fit_to_width(headers.clone(), rows.clone(), 30);
        let table = render_table(&h, &r);
        assert!(table.lines().all(|l| l.chars().count() <= 30), "{table}");
        assert!(table.contains("| 0 | Ann  | a rather lon... |"), "{table}");
        // Wide enough: unchanged.
        assert_eq!(fit_to_width(headers.clone(), rows.clone(), 200), (headers.clone(), rows.clone()));
        // Too narrow for anything: every column stops at the narrowest width.
        let (_, r) = fit_to_width(headers, rows, 3);
        assert_eq!(r[0][2], "a ...");
    }

    #[test]
    fn cell_text_limits() {
        assert_eq!(cell_text("abcdef", 6), "abcdef");
        assert_eq!(cell_text("abcdefg", 6), "abc...");
        assert_eq!(cell_text("ééééééé", 5), "éé...");
        assert_eq!(cell_text("a\tb\u{1}", 40), "a\\tb\\u{1}");
        assert_eq!(cell_text("abcdef", 2), "..");
    }

    #[test]
    fn empty_result_still_has_a_header() {
        let got = render("[]", 40);
        assert_eq!(got, "+---+\n| # |\n+---+\n+---+\n");
        assert_eq!(summary_line(0, 0.0041), "0 item(s) found. Query executed in 0.004 sec(s).");
    }

    #[test]
    fn ha_status_golden() {
        let status = crate::console::json::parse(
            r#"{"localNode":"n1","clusterName":"prod","nodes":[
              {"name":"n1","role":"MASTER","httpAddress":"10.0.0.1:2480","clusterAddress":"10.0.0.1:2434",
               "reachable":true,"databases":{"demo":{"status":"ONLINE","appliedLsn":120},"logs":{"status":"ONLINE","appliedLsn":7}}},
              {"name":"n2","role":"REPLICA","httpAddress":"10.0.0.2:2480","reachable":false,
               "databases":{"demo":{"status":"SYNCHRONIZING","appliedLsn":99}}},
              {"name":"n3","role":"MASTER","httpAddress":"10.0.0.3:2480","reachable":true,"databases":{}}],
             "databases":{"demo":{"leader":"n1","writeQuorum":2},"logs":{"leader":null,"writeQuorum":1}}}"#,
        )
        .unwrap();
        let want = "\
Cluster 'prod', as seen by node n1 (*):
+--------+---------+---------------+-----------+----------+---------------+-------------+--------+
| NODE   | ROLE    | HTTP          | REACHABLE | DATABASE | STATUS        | APPLIED LSN | LEADER |
+--------+---------+---------------+-----------+----------+---------------+-------------+--------+
| n1 (*) | MASTER  | 10.0.0.1:2480 | true      | demo     | ONLINE        | 120         | yes    |
| n1 (*) | MASTER  | 10.0.0.1:2480 | true      | logs     | ONLINE        | 7           |        |
| n2     | REPLICA | 10.0.0.2:2480 | false     | demo     | SYNCHRONIZING | 99          |        |
| n3     | MASTER  | 10.0.0.3:2480 | true      |          |               |             |        |
+--------+---------+---------------+-----------+----------+---------------+-------------+--------+
Database 'demo': leader n1, write quorum 2
Database 'logs': leader none, write quorum 1
";
        assert_eq!(ha_status_table(&status, 40), want);
    }
}
