//! Where and how output goes: the vertical and CSV forms of a result, the terminal's size, and
//! the pager.
//!
//! - **Vertical** (`SET format vertical`): one block per record, `-[ RECORD n ]---` and then a
//!   `field | value` line per field, for records too wide for a table.
//! - **CSV** (`SET format csv`): RFC 4180, a header line and one line per record; a value
//!   holding `,`, `"` or a line break is quoted with `"` doubled. Values are not cut.
//! - **Terminal size**: `COLUMNS` / `LINES` when set (as shells export them), else the
//!   terminal's own (rustyline asks it with the `TIOCGWINSZ` ioctl) when standard output is a
//!   terminal, else unknown: then tables are not fitted and nothing is paged.
//! - **Pager**: only when both standard input and output are a terminal and the REPL runs (never
//!   for `-c`, `--file`, pipes or redirections): output taller than the screen goes to `$PAGER`
//!   (run by `sh -c`), else to `less -FRX` when `less` is on the `PATH`, else straight out.

use std::io::{IsTerminal, Write};
use std::process::{Command, Stdio};

use super::json::{Json, JsonText};
use super::table::cell_text;

/// The terminal's width and height in characters, when known (see the module doc).
pub fn terminal_size() -> (Option<usize>, Option<usize>) {
    let from_env =
        |name: &str| std::env::var(name).ok().and_then(|v| v.trim().parse::<usize>().ok()).filter(|n| *n > 0);
    let (mut columns, mut rows) = (from_env("COLUMNS"), from_env("LINES"));
    if (columns.is_none() || rows.is_none()) && std::io::stdout().is_terminal() {
        if let Ok(mut editor) = rustyline::DefaultEditor::new() {
            if let Some((c, r)) = editor.dimensions() {
                columns = columns.or(Some(usize::from(c)).filter(|c| *c > 0));
                rows = rows.or(Some(usize::from(r)).filter(|r| *r > 0));
            }
        }
    }
    (columns, rows)
}

/// The fields a record shows, in order: `@rid` and `@class` first when present, then its
/// fields, other `@` metadata left out. A value that is not an object shows as `value`.
pub fn record_fields(item: &Json) -> Vec<(String, &Json)> {
    let Some(entries) = item.as_object() else { return vec![("value".to_owned(), item)] };
    let mut fields = Vec::new();
    for key in ["@rid", "@class"] {
        if let Some(value) = entries.get(key) {
            fields.push((key.to_uppercase(), value));
        }
    }
    for (key, value) in entries {
        if !key.starts_with('@') {
            fields.push((key.clone(), value));
        }
    }
    fields
}

/// Records as vertical blocks; values are cut to what fits in `width` (when known) and
/// `max_width`, whichever is wider.
pub fn vertical(items: &[Json], max_width: usize, width: Option<usize>) -> String {
    let mut out = String::new();
    for (n, item) in items.iter().enumerate() {
        let fields = record_fields(item);
        let label = fields.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
        let room = width.map_or(usize::MAX, |w| w.saturating_sub(label + 3)).max(max_width);
        let heading = format!("-[ RECORD {n} ]");
        let rule = width.unwrap_or(40).min(60).saturating_sub(heading.chars().count()).max(3);
        out.push_str(&format!("{heading}{}\n", "-".repeat(rule)));
        for (key, value) in fields {
            let pad = " ".repeat(label - key.chars().count());
            out.push_str(&format!("{key}{pad} | {}\n", cell_text(&value.to_cell(), room)));
        }
    }
    out
}

/// One CSV field (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// Records as CSV: the union of their fields (in order of first appearance) as the header.
pub fn csv(items: &[Json]) -> String {
    let mut columns: Vec<String> = Vec::new();
    for item in items {
        for (key, _) in record_fields(item) {
            if !columns.contains(&key) {
                columns.push(key);
            }
        }
    }
    let line = |cells: Vec<String>| cells.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(",") + "\r\n";
    let mut out = line(columns.clone());
    for item in items {
        let fields = record_fields(item);
        let cells = columns
            .iter()
            .map(|column| match fields.iter().find(|(k, _)| k == column) {
                Some((_, Json::Null)) | None => String::new(),
                Some((_, value)) => value.to_cell(),
            })
            .collect();
        out.push_str(&line(cells));
    }
    out
}

/// True when the pager may be used at all: a person at a terminal, both ways.
pub fn pager_allowed() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// The pager command line: `$PAGER`, else `less -FRX` when `less` is on the `PATH`.
pub fn pager_command() -> Option<String> {
    if let Some(pager) = std::env::var("PAGER").ok().filter(|p| !p.trim().is_empty()) {
        return Some(pager);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).any(|dir| dir.join("less").is_file()).then(|| "less -FRX".to_owned())
}

/// Shows `text` through the pager; false (nothing shown) if the pager could not be started,
/// so the caller prints it itself.
pub fn page(command: &str, text: &str) -> bool {
    let child = Command::new("sh").arg("-c").arg(command).stdin(Stdio::piped()).spawn();
    let Ok(mut child) = child else { return false };
    if let Some(mut stdin) = child.stdin.take() {
        // A pager quit before reading everything (`q` in less) closes the pipe: not an error.
        let _ = stdin.write_all(text.as_bytes());
    }
    child.wait().is_ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn items() -> Vec<Json> {
        serde_json::from_str(
            r##"[{"@type":"d","@rid":"#12:0","@version":1,"@class":"Person","name":"Ann","note":"say \"hi\", then go"},
                 {"@rid":"#12:1","@class":"Person","name":"Bob","age":3,"tags":["x"]}, 7]"##,
        )
        .unwrap()
    }

    #[test]
    fn vertical_golden() {
        let want = "\
-[ RECORD 0 ]---------------------------
@RID   | #12:0
@CLASS | Person
name   | Ann
note   | say \"hi\", then go
-[ RECORD 1 ]---------------------------
@RID   | #12:1
@CLASS | Person
name   | Bob
age    | 3
tags   | [\"x\"]
-[ RECORD 2 ]---------------------------
value | 7
";
        assert_eq!(vertical(&items(), 40, None), want);
        // Values are cut to the room the width leaves, but never below max_width.
        let cut = vertical(&items()[..1], 10, Some(20));
        assert!(cut.contains("note   | say \"hi\"...\n"), "{cut}");
        assert!(cut.starts_with("-[ RECORD 0 ]-------\n"), "the rule fits the width: {cut}");
    }

    #[test]
    fn csv_golden() {
        let want = "@RID,@CLASS,name,note,age,tags,value\r\n\
                    #12:0,Person,Ann,\"say \"\"hi\"\", then go\",,,\r\n\
                    #12:1,Person,Bob,,3,\"[\"\"x\"\"]\",\r\n\
                    ,,,,,,7\r\n";
        assert_eq!(csv(&items()), want);
        assert_eq!(csv_field("a\nb"), "\"a\nb\"");
        assert_eq!(csv(&[]), "\r\n");
    }
}
