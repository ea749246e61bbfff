//! `BACKUP DATABASE path`, `EXPORT DATABASE path` and `IMPORT DATABASE path`: recognising
//! them and resolving their server-side paths. They are not SQL over records (they read
//! and write files of the server, need the administrator role, and run outside any
//! transaction), so the HTTP command handler asks [`parse`] first and runs them itself
//! (`http/export.rs`); the SQL parser never sees them.
//!
//! # Where the files are
//! Every path is resolved under the server's `<home>/backup/` directory: a relative path
//! lands there (`BACKUP DATABASE nightly/mon.snap` writes `<home>/backup/nightly/mon.snap`),
//! an absolute path is accepted only if it lies inside it, and a path with a `..` component
//! is refused. An operator who wants another place (a mounted volume) links it into
//! `backup/`: the rule is on the path as written, so such a link is followed. As
//! `ODatabaseExport` does, an export's name gets `.gz` appended unless it ends with it.
//! An existing file is never overwritten: choose another name, or delete it first.

use std::path::{Component, Path, PathBuf};

/// The directory of the home that backup paths resolve under.
pub const BACKUP_DIR: &str = "backup";

/// Which statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `BACKUP DATABASE`: a snapshot file (the `basalt-snapshot` format).
    Backup,
    /// `EXPORT DATABASE`: OrientDB's gzipped JSON export.
    Export,
    /// `IMPORT DATABASE`: reads OrientDB's export into the (empty) current database.
    Import,
}

impl Kind {
    /// The statement's words, for messages and results.
    pub fn words(self) -> &'static str {
        match self {
            Kind::Backup => "BACKUP DATABASE",
            Kind::Export => "EXPORT DATABASE",
            Kind::Import => "IMPORT DATABASE",
        }
    }
}

/// A parsed statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Which one.
    pub kind: Kind,
    /// The path as written.
    pub path: String,
}

/// `Some` if `text` is one of these statements, `Err` if it is one but malformed, `None`
/// for anything else (ordinary SQL).
pub fn parse(text: &str) -> Result<Option<Statement>, String> {
    let text = text.trim().trim_end_matches(';').trim_end();
    let mut words = text.splitn(3, char::is_whitespace).filter(|w| !w.is_empty());
    let (Some(first), Some(second)) = (words.next(), words.next()) else { return Ok(None) };
    let kind = match first.to_ascii_uppercase().as_str() {
        "BACKUP" => Kind::Backup,
        "EXPORT" => Kind::Export,
        "IMPORT" => Kind::Import,
        _ => return Ok(None),
    };
    if !second.eq_ignore_ascii_case("DATABASE") {
        return Err(format!("expected {} <path>, found '{first} {second}'", kind.words()));
    }
    let rest = text.split_once(second).map(|(_, r)| r.trim()).unwrap_or("");
    let (path, tail) = path_token(rest).map_err(|e| format!("{}: {e}", kind.words()))?;
    if path.is_empty() {
        return Err(format!("{} needs a path, e.g. {} mydb.{}", kind.words(), kind.words(), suffix(kind)));
    }
    if let Some(option) = tail.split_whitespace().next() {
        return Err(format!("{}: option '{option}' is not supported (the statement takes only a path)", kind.words()));
    }
    Ok(Some(Statement { kind, path }))
}

fn suffix(kind: Kind) -> &'static str {
    match kind {
        Kind::Backup => "snap",
        Kind::Export | Kind::Import => "json.gz",
    }
}

/// The path (quoted with `'` or `"`, or up to the first blank) and what follows it.
fn path_token(s: &str) -> Result<(String, &str), String> {
    match s.chars().next() {
        Some(q @ ('\'' | '"')) => {
            let body = &s[1..];
            let end = body.find(q).ok_or_else(|| format!("the path has no closing {q}"))?;
            Ok((body[..end].to_string(), &body[end + 1..]))
        }
        Some(_) => {
            let end = s.find(char::is_whitespace).unwrap_or(s.len());
            Ok((s[..end].to_string(), &s[end..]))
        }
        None => Ok((String::new(), "")),
    }
}

/// Resolves `path` (as written) under `<home>/backup/` (see the module docs); for an
/// export, appends `.gz` as `ODatabaseExport` does.
pub fn resolve(home: &Path, kind: Kind, path: &str) -> Result<PathBuf, String> {
    let root = home.join(BACKUP_DIR);
    let written = Path::new(path);
    if written.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(format!("'{path}': '..' is not allowed in a backup path"));
    }
    let full = if written.is_absolute() {
        if !written.starts_with(&root) {
            return Err(format!(
                "'{path}' is outside {}: a relative path lands there; to write elsewhere, link that place into it",
                root.display()
            ));
        }
        written.to_path_buf()
    } else {
        root.join(written)
    };
    if full == root {
        return Err(format!("'{path}' names the backup directory itself, not a file"));
    }
    let full = if kind == Kind::Export && !path.ends_with(".gz") {
        PathBuf::from(format!("{}.gz", full.display()))
    } else {
        full
    };
    Ok(full)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_three_statements_and_nothing_else() {
        let p = |s: &str| parse(s).unwrap();
        assert_eq!(
            p("backup database nightly.snap"),
            Some(Statement { kind: Kind::Backup, path: "nightly.snap".into() })
        );
        assert_eq!(
            p("EXPORT DATABASE 'my dir/x.json.gz';"),
            Some(Statement { kind: Kind::Export, path: "my dir/x.json.gz".into() })
        );
        assert_eq!(p("Import Database \"a.gz\""), Some(Statement { kind: Kind::Import, path: "a.gz".into() }));
        assert_eq!(p("SELECT FROM V"), None);
        assert_eq!(p("export"), None);
        assert!(parse("EXPORT CLASS x").unwrap_err().contains("expected EXPORT DATABASE <path>"));
        assert!(parse("BACKUP DATABASE").unwrap_err().contains("needs a path"));
        assert!(parse("IMPORT DATABASE 'x").unwrap_err().contains("no closing '"));
        assert!(parse("IMPORT DATABASE x.gz -merge=true")
            .unwrap_err()
            .contains("option '-merge=true' is not supported"));
    }

    #[test]
    fn paths_stay_under_the_backup_directory() {
        let home = Path::new("/srv/basalt");
        assert_eq!(resolve(home, Kind::Backup, "a/b.snap").unwrap(), Path::new("/srv/basalt/backup/a/b.snap"));
        assert_eq!(resolve(home, Kind::Export, "x").unwrap(), Path::new("/srv/basalt/backup/x.gz"));
        assert_eq!(resolve(home, Kind::Export, "x.json.gz").unwrap(), Path::new("/srv/basalt/backup/x.json.gz"));
        assert_eq!(
            resolve(home, Kind::Import, "/srv/basalt/backup/in.gz").unwrap(),
            Path::new("/srv/basalt/backup/in.gz")
        );
        assert!(resolve(home, Kind::Backup, "../config/basalt.toml").unwrap_err().contains("'..' is not allowed"));
        assert!(resolve(home, Kind::Backup, "a/../../x").unwrap_err().contains("'..'"));
        assert!(resolve(home, Kind::Import, "/etc/passwd").unwrap_err().contains("outside /srv/basalt/backup"));
        assert!(resolve(home, Kind::Backup, "/srv/basalt/backupx/y").unwrap_err().contains("outside"));
        assert!(resolve(home, Kind::Backup, ".").unwrap_err().contains("backup directory itself"));
    }
}
