//! Recognizing console commands.
//!
//! A statement is either one of the console's own commands (OrientDB's console spellings,
//! case-insensitive) or SQL for the server. [`parse_command`] decides which, and parses the
//! command's arguments; it does no I/O. Arguments are separated by spaces; an argument holding
//! spaces may be quoted with `'` or `"`.
//!
//! The commands and their arguments follow OrientDB's console, `OConsoleDatabaseApp.java` in
//! `orientechnologies/orientdb` (`tools/src/main/java/com/orientechnologies/orient/console/`):
//! `connect`, `listDatabases`, `listClasses` (alias `classes`), `infoClass`, `listClusters`
//! (`clusters`), `listIndexes` (`indexes`), `info`, `displayRecord` (`display`; the argument is a
//! row number of the last result), `displayRawRecord` (a row number or a RID), `loadRecord`,
//! `browseClass`, `browseCluster`, `set`, `config`; and `HA STATUS [-servers] [-db] [-latency]
//! [-all]` / `HA REMOVE SERVER <name>` as OrientDB's SQL parser spells them
//! (`OHaStatusStatement.java`, `OHaRemoveServerStatement.java`).

use std::fmt;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An aligned text table and a summary line.
    Table,
    /// One `field | value` block per record, for wide records.
    Vertical,
    /// Comma-separated values (RFC 4180) with a header line; notices go to stderr.
    Csv,
    /// The server's JSON answer, pretty-printed.
    Json,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Table => "table",
            Format::Vertical => "vertical",
            Format::Csv => "csv",
            Format::Json => "json",
        })
    }
}

/// Which parts `HA STATUS` shows (OrientDB's `-servers`, `-db`, `-latency`; `-all` is all three).
/// None set: the console's summary table of nodes and databases.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HaParts {
    /// `-servers`: one row per server with its databases.
    pub servers: bool,
    /// `-db`: the current database on each server.
    pub db: bool,
    /// `-latency`: replication latency between servers.
    pub latency: bool,
}

/// A console setting changed with `SET <name> <value>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// `SET format|output table|vertical|csv|json`.
    Format(Format),
    /// `SET maxwidth <n>`: the widest table cell, in characters.
    MaxWidth(usize),
    /// `SET limit <n>`: rows shown for a query without LIMIT; -1 for all (OrientDB's `limit`).
    Limit(i64),
    /// `SET timeout <ms>`, sent as `X-Basalt-Timeout-Ms`; `0`, `off` or `default` for none (the server's default).
    Timeout(Option<u64>),
    /// `SET width <n>`, `0` or `auto` for the terminal's: the width tables are fitted to.
    Width(Option<usize>),
    /// `SET maxBinaryDisplay <n>`: bytes DISPLAY RAW RECORD prints (OrientDB's setting).
    MaxBinaryDisplay(usize),
}

/// One statement, recognized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `CONNECT <url> [<user> <password>]`: switch to these servers (and database).
    Connect {
        /// The address or server list, as typed.
        url: String,
        /// New credentials; `None` keeps the current ones.
        login: Option<Login>,
    },
    /// `DISCONNECT`: forget the servers, database and credentials.
    Disconnect,
    /// `LIST DATABASES`.
    ListDatabases,
    /// `CREATE DATABASE <name> [<storage>]` or `CREATE DATABASE <url/db> <user> <password> [<storage>]`.
    CreateDatabase(DatabaseTarget),
    /// `DROP DATABASE [<name>]` or `DROP DATABASE <url/db> <user> <password>`.
    DropDatabase(DatabaseTarget),
    /// `HA STATUS [-servers] [-db] [-latency] [-all]`: the cluster's nodes and their databases.
    HaStatus(HaParts),
    /// `HA REMOVE SERVER <name>`: drop a node from the cluster configuration.
    HaRemoveServer(String),
    /// `SET` alone (or `PROPERTIES`): show the settings.
    ShowSettings,
    /// `SET <name> <value>`.
    Set(Setting),
    /// `INFO`: where the console is connected, and the database's clusters, classes, indexes.
    Info,
    /// `LIST CLASSES` or `CLASSES`.
    ListClasses,
    /// `INFO CLASS <name>`.
    InfoClass(String),
    /// `LIST CLUSTERS` or `CLUSTERS`.
    ListClusters,
    /// `LIST INDEXES` or `INDEXES`.
    ListIndexes,
    /// `DISPLAY RECORD [<n>]`: row `n` of the last result (the current record without `n`).
    DisplayRecord(Option<usize>),
    /// `DISPLAY RAW RECORD <n>|<rid>`: a record as the server sent it.
    DisplayRawRecord(RecordRef),
    /// `LOAD RECORD <rid>`: fetch a record and make it the current one.
    LoadRecord(Rid),
    /// `BROWSE CLASS <name>`.
    BrowseClass(String),
    /// `BROWSE CLUSTER <name>`.
    BrowseCluster(String),
    /// `CONFIG`: the server's configuration as it reports it.
    Config,
    /// `HELP`.
    Help,
    /// `EXIT` or `QUIT`.
    Exit,
    /// `BEGIN`: start collecting statements for one transaction.
    Begin,
    /// `COMMIT`: send the collected statements as one `/batch` script.
    Commit,
    /// `ROLLBACK`: drop the collected statements.
    Rollback,
    /// `BACKUP DATABASE <file>`: the current database's snapshot, saved to a local file.
    BackupDatabase(String),
    /// `EXPORT DATABASE <file>`: OrientDB's export of the current database, to a local file.
    ExportDatabase(String),
    /// `IMPORT DATABASE <file>`: a local OrientDB export into the current (empty) database.
    ImportDatabase(String),
    /// `RESTORE DATABASE <file>`: says how to restore (it needs the server stopped).
    RestoreDatabase(String),
    /// Anything else: SQL for `/command/{db}/sql`.
    Sql(String),
}

/// A record id, `#<cluster>:<position>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rid {
    /// The cluster id.
    pub cluster: u32,
    /// The position in the cluster.
    pub position: u64,
}

impl fmt::Display for Rid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}:{}", self.cluster, self.position)
    }
}

impl Rid {
    /// Parses `#12:0` (the `#` may be left out).
    pub fn parse(text: &str) -> Result<Rid, String> {
        let bad = || format!("'{text}' is not a record id: expected #<cluster>:<position>, e.g. #12:0");
        let (cluster, position) = text.strip_prefix('#').unwrap_or(text).split_once(':').ok_or_else(bad)?;
        Ok(Rid { cluster: cluster.parse().map_err(|_| bad())?, position: position.parse().map_err(|_| bad())? })
    }
}

/// A record named by its row in the last result or by its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordRef {
    /// Row `n` of the last result.
    Row(usize),
    /// A record id.
    Rid(Rid),
}

/// A user name and password typed in a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
}

/// Which database a CREATE or DROP DATABASE means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseTarget {
    /// A database name (on the current servers), or a URL naming servers and the database;
    /// `None` for DROP DATABASE alone (the current database).
    pub name_or_url: Option<String>,
    /// Credentials given with a URL.
    pub login: Option<Login>,
    /// Storage type (`plocal`, `memory`) for CREATE DATABASE, passed to the server as is.
    pub storage: Option<String>,
}

impl DatabaseTarget {
    /// True when `name_or_url` names servers (a URL), not just a database.
    pub fn is_url(&self) -> bool {
        self.name_or_url.as_deref().is_some_and(looks_like_url)
    }
}

/// The storage types CREATE DATABASE accepts after a URL without credentials.
const STORAGE_TYPES: &[&str] = &["plocal", "memory"];

/// True for text that names a server rather than being a bare database name.
fn looks_like_url(text: &str) -> bool {
    text.contains(':') || text.contains('/') || text.contains(',')
}

/// The words each console command starts with (upper case); everything else is SQL.
const COMMAND_STARTS: &[&[&str]] = &[
    &["CONNECT"],
    &["DISCONNECT"],
    &["LIST", "DATABASES"],
    &["CREATE", "DATABASE"],
    &["DROP", "DATABASE"],
    &["HA", "STATUS"],
    &["HA", "REMOVE"],
    &["SET"],
    &["PROPERTIES"],
    &["INFO"],
    &["LIST", "CLASSES"],
    &["CLASSES"],
    &["LIST", "CLUSTERS"],
    &["CLUSTERS"],
    &["LIST", "INDEXES"],
    &["INDEXES"],
    &["DISPLAY"],
    &["LOAD", "RECORD"],
    &["BROWSE"],
    &["CONFIG"],
    &["HELP"],
    &["EXIT"],
    &["QUIT"],
    &["BEGIN"],
    &["COMMIT"],
    &["ROLLBACK"],
    &["BACKUP", "DATABASE"],
    &["EXPORT", "DATABASE"],
    &["IMPORT", "DATABASE"],
    &["RESTORE", "DATABASE"],
];

/// True if `line` starts with a console command's words. Such a statement ends at the end of
/// its line, without a `;`.
pub fn is_console_command(line: &str) -> bool {
    let words: Vec<String> = line.split_whitespace().take(2).map(|w| w.trim_end_matches(';').to_uppercase()).collect();
    COMMAND_STARTS.iter().any(|start| start.len() <= words.len() && start.iter().zip(&words).all(|(a, b)| a == b))
}

/// Recognizes one statement (already split, without its `;`).
pub fn parse_command(statement: &str) -> Result<Command, String> {
    let statement = statement.trim();
    if !is_console_command(statement) {
        return Ok(Command::Sql(statement.to_owned()));
    }
    let words = split_arguments(statement)?;
    let upper: Vec<String> = words.iter().map(|w| w.to_uppercase()).collect();
    let first = upper[0].as_str();
    let two = matches!(
        first,
        "LIST" | "CREATE" | "DROP" | "HA" | "LOAD" | "BROWSE" | "BACKUP" | "EXPORT" | "IMPORT" | "RESTORE"
    ) && upper.len() > 1;
    let two = if two { 2 } else { 1 };
    let name = upper[..two].join(" ");
    let args = &words[two..];
    let no_args = |command: Command| {
        if args.is_empty() {
            Ok(command)
        } else {
            Err(format!("{name} takes no arguments (got '{}')", args.join(" ")))
        }
    };
    match name.as_str() {
        "CONNECT" => parse_connect(args),
        "DISCONNECT" => no_args(Command::Disconnect),
        "LIST DATABASES" => no_args(Command::ListDatabases),
        "CREATE DATABASE" => parse_database_target(args, true).map(Command::CreateDatabase),
        "DROP DATABASE" => parse_database_target(args, false).map(Command::DropDatabase),
        "HA STATUS" => parse_ha_status(args),
        "HA REMOVE" => match args {
            [server, name] if server.eq_ignore_ascii_case("SERVER") => Ok(Command::HaRemoveServer(name.clone())),
            _ => Err("usage: HA REMOVE SERVER <server-name>".into()),
        },
        "SET" => parse_set(args),
        "PROPERTIES" => no_args(Command::ShowSettings),
        "INFO" => match args {
            [] => Ok(Command::Info),
            [class, name] if class.eq_ignore_ascii_case("CLASS") => Ok(Command::InfoClass(name.clone())),
            _ => Err("usage: INFO, or INFO CLASS <class-name>".into()),
        },
        "LIST CLASSES" | "CLASSES" => no_args(Command::ListClasses),
        "LIST CLUSTERS" | "CLUSTERS" => no_args(Command::ListClusters),
        "LIST INDEXES" | "INDEXES" => no_args(Command::ListIndexes),
        "DISPLAY" => parse_display(args),
        "LOAD RECORD" => match args {
            [rid] => Rid::parse(rid).map(Command::LoadRecord),
            _ => Err("usage: LOAD RECORD <record-id>, e.g. LOAD RECORD #12:0".into()),
        },
        "BROWSE CLASS" | "BROWSE CLUSTER" => match args {
            [target] if name == "BROWSE CLASS" => Ok(Command::BrowseClass(target.clone())),
            [target] => Ok(Command::BrowseCluster(target.clone())),
            _ => Err(format!("usage: {name} <name>")),
        },
        _ if first == "BROWSE" => Err("usage: BROWSE CLASS <class-name>, or BROWSE CLUSTER <cluster-name>".into()),
        "CONFIG" => no_args(Command::Config),
        // HELP ignores a topic: the whole list is short.
        "HELP" => Ok(Command::Help),
        "EXIT" | "QUIT" => no_args(Command::Exit),
        "BEGIN" => no_args(Command::Begin),
        "COMMIT" => no_args(Command::Commit),
        "ROLLBACK" => no_args(Command::Rollback),
        "BACKUP DATABASE" | "EXPORT DATABASE" | "IMPORT DATABASE" | "RESTORE DATABASE" => {
            parse_file_command(&name, args)
        }
        _ => Ok(Command::Sql(statement.to_owned())),
    }
}

/// `BACKUP|EXPORT|IMPORT|RESTORE DATABASE <file>`; OrientDB's options (`-excludeAll`,
/// `-merge=true`, ...) are refused by name.
fn parse_file_command(name: &str, args: &[String]) -> Result<Command, String> {
    match args {
        [file] if !file.starts_with('-') => Ok(match name {
            "BACKUP DATABASE" => Command::BackupDatabase(file.clone()),
            "EXPORT DATABASE" => Command::ExportDatabase(file.clone()),
            "IMPORT DATABASE" => Command::ImportDatabase(file.clone()),
            _ => Command::RestoreDatabase(file.clone()),
        }),
        [_, option, ..] if option.starts_with('-') => Err(format!("{name}: option '{option}' is not supported")),
        _ => Err(format!("usage: {name} <file>")),
    }
}

fn parse_connect(args: &[String]) -> Result<Command, String> {
    match args {
        [url] => Ok(Command::Connect { url: url.clone(), login: None }),
        [url, user, password] => Ok(Command::Connect {
            url: url.clone(),
            login: Some(Login { user: user.clone(), password: password.clone() }),
        }),
        [_, _] => Err("CONNECT needs both a user and a password, or neither".to_owned()),
        _ => {
            Err("usage: CONNECT <url> [<user> <password>], e.g. CONNECT remote:localhost:2480/demo root secret".into())
        }
    }
}

fn parse_database_target(args: &[String], create: bool) -> Result<DatabaseTarget, String> {
    let usage = if create {
        "usage: CREATE DATABASE <name> [<storage>] or CREATE DATABASE <url/db> <user> <password> [<storage>]"
    } else {
        "usage: DROP DATABASE [<name>] or DROP DATABASE <url/db> <user> <password>"
    };
    let Some(first) = args.first() else {
        return if create {
            Err(usage.to_owned())
        } else {
            Ok(DatabaseTarget { name_or_url: None, login: None, storage: None })
        };
    };
    let rest = &args[1..];
    let is_storage = |word: &String| STORAGE_TYPES.iter().any(|t| word.eq_ignore_ascii_case(t));
    let (login, rest) = match rest {
        [user, password, more @ ..] if looks_like_url(first) => {
            (Some(Login { user: user.clone(), password: password.clone() }), more)
        }
        // `CREATE DATABASE url user` would otherwise read the user as a storage type.
        [word] if looks_like_url(first) && !is_storage(word) => {
            return Err(format!("a user needs a password too; {usage}"));
        }
        _ => (None, rest),
    };
    let storage = match rest {
        [] => None,
        [storage] if create => Some(storage.to_lowercase()),
        _ => return Err(usage.to_owned()),
    };
    Ok(DatabaseTarget { name_or_url: Some(first.clone()), login, storage })
}

/// The settings `SET` knows, for its usage line.
const SET_USAGE: &str = "usage: SET format table|vertical|csv|json, SET limit <rows>|-1, SET timeout <ms>|default, \
                         SET width <columns>|auto, SET maxwidth <characters>, SET maxBinaryDisplay <bytes>";

fn parse_set(args: &[String]) -> Result<Command, String> {
    let [key, value] = args else {
        return if args.is_empty() { Ok(Command::ShowSettings) } else { Err(SET_USAGE.to_owned()) };
    };
    let number = |min: i64| -> Result<i64, String> {
        value
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= min)
            .ok_or_else(|| format!("{key} must be a whole number of at least {min}, got '{value}'"))
    };
    let off = ["off", "none", "auto", "default"].iter().any(|w| value.eq_ignore_ascii_case(w));
    let setting = match key.to_lowercase().as_str() {
        "format" | "output" => Setting::Format(match value.to_lowercase().as_str() {
            "table" => Format::Table,
            "vertical" => Format::Vertical,
            "csv" => Format::Csv,
            "json" => Format::Json,
            _ => return Err(format!("unknown format '{value}'; {SET_USAGE}")),
        }),
        "maxwidth" => Setting::MaxWidth(number(4)? as usize),
        // OrientDB: "Limit must be > 0 or = -1 (no limit)".
        "limit" => match value.parse::<i64>() {
            Ok(n) if n > 0 || n == -1 => Setting::Limit(n),
            _ => return Err(format!("limit must be > 0, or -1 for no limit; got '{value}'")),
        },
        "timeout" if off => Setting::Timeout(None),
        "timeout" => Setting::Timeout(Some(number(0)? as u64).filter(|ms| *ms > 0)),
        "width" if off => Setting::Width(None),
        "width" => Setting::Width(Some(number(0)? as usize).filter(|w| *w > 0)),
        "maxbinarydisplay" => Setting::MaxBinaryDisplay(number(1)? as usize),
        _ => return Err(format!("unknown setting '{key}'; {SET_USAGE}")),
    };
    Ok(Command::Set(setting))
}

fn parse_ha_status(args: &[String]) -> Result<Command, String> {
    let mut parts = HaParts::default();
    for arg in args {
        match arg.to_lowercase().as_str() {
            "-servers" => parts.servers = true,
            "-db" => parts.db = true,
            "-latency" => parts.latency = true,
            "-all" => parts = HaParts { servers: true, db: true, latency: true },
            // OrientDB's text output is the only output here.
            "-output=text" => {}
            _ => {
                return Err(format!(
                    "unknown HA STATUS option '{arg}'; usage: HA STATUS [-servers] [-db] [-latency] [-all]"
                ))
            }
        }
    }
    Ok(Command::HaStatus(parts))
}

fn parse_display(args: &[String]) -> Result<Command, String> {
    let upper: Vec<String> = args.iter().map(|a| a.to_uppercase()).collect();
    let row =
        |text: &str| text.parse::<usize>().map_err(|_| format!("'{text}' is not a row number of the last result"));
    match upper.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["RECORD"] | [] => Ok(Command::DisplayRecord(None)),
        ["RECORD", _] => row(&args[1]).map(|n| Command::DisplayRecord(Some(n))),
        ["RAW", "RECORD", _] => {
            let target = &args[2];
            if target.contains(':') {
                Rid::parse(target).map(|rid| Command::DisplayRawRecord(RecordRef::Rid(rid)))
            } else {
                row(target).map(|n| Command::DisplayRawRecord(RecordRef::Row(n)))
            }
        }
        _ => Err("usage: DISPLAY RECORD [<row>], or DISPLAY RAW RECORD <row>|<record-id>".into()),
    }
}

/// Splits command arguments on whitespace; `'...'` and `"..."` group words (no escapes).
pub fn split_arguments(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&c) = chars.peek() else { break };
        let mut word = String::new();
        if c == '\'' || c == '"' {
            chars.next();
            loop {
                match chars.next() {
                    Some(ch) if ch == c => break,
                    Some(ch) => word.push(ch),
                    // The text is not echoed: it may hold a password.
                    None => return Err(format!("a {c} quote is not closed")),
                }
            }
        } else {
            while let Some(ch) = chars.next_if(|ch| !ch.is_whitespace()) {
                word.push(ch);
            }
        }
        words.push(word);
    }
    Ok(words)
}

/// True for SQL that only reads, so repeating it on another server after a lost connection is
/// harmless. Anything else might already have been applied when the connection broke.
pub fn is_read_only_sql(sql: &str) -> bool {
    let first = sql.split_whitespace().next().unwrap_or("").to_uppercase();
    matches!(first.as_str(), "SELECT" | "MATCH" | "TRAVERSE" | "EXPLAIN")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn login(user: &str, password: &str) -> Option<Login> {
        Some(Login { user: user.into(), password: password.into() })
    }

    #[test]
    fn recognizes_console_commands_case_insensitively() {
        assert_eq!(parse_command("exit"), Ok(Command::Exit));
        assert_eq!(parse_command("Quit"), Ok(Command::Exit));
        assert_eq!(parse_command("list  databases"), Ok(Command::ListDatabases));
        assert_eq!(parse_command("ha status"), Ok(Command::HaStatus(HaParts::default())));
        assert_eq!(parse_command("disconnect"), Ok(Command::Disconnect));
        assert_eq!(parse_command("INFO"), Ok(Command::Info));
        assert_eq!(parse_command("help connect"), Ok(Command::Help));
        assert_eq!(parse_command("begin"), Ok(Command::Begin));
        assert_eq!(parse_command("Commit"), Ok(Command::Commit));
        assert_eq!(parse_command("ROLLBACK"), Ok(Command::Rollback));
        assert_eq!(parse_command("set"), Ok(Command::ShowSettings));
        assert_eq!(parse_command("set FORMAT Json"), Ok(Command::Set(Setting::Format(Format::Json))));
        assert_eq!(parse_command("SET output csv"), Ok(Command::Set(Setting::Format(Format::Csv))));
        assert_eq!(parse_command("SET maxwidth 12"), Ok(Command::Set(Setting::MaxWidth(12))));
    }

    #[test]
    fn orientdb_commands() {
        assert_eq!(parse_command("CLASSES"), Ok(Command::ListClasses));
        assert_eq!(parse_command("list classes"), Ok(Command::ListClasses));
        assert_eq!(parse_command("clusters"), Ok(Command::ListClusters));
        assert_eq!(parse_command("LIST INDEXES"), Ok(Command::ListIndexes));
        assert_eq!(parse_command("info class Person"), Ok(Command::InfoClass("Person".into())));
        assert_eq!(parse_command("DISPLAY RECORD 3"), Ok(Command::DisplayRecord(Some(3))));
        assert_eq!(parse_command("display"), Ok(Command::DisplayRecord(None)));
        assert_eq!(parse_command("display raw record 2"), Ok(Command::DisplayRawRecord(RecordRef::Row(2))));
        let rid = Rid { cluster: 9, position: 1 };
        assert_eq!(parse_command("DISPLAY RAW RECORD #9:1"), Ok(Command::DisplayRawRecord(RecordRef::Rid(rid))));
        assert_eq!(parse_command("load record #9:1"), Ok(Command::LoadRecord(rid)));
        assert_eq!(parse_command("BROWSE CLASS V"), Ok(Command::BrowseClass("V".into())));
        assert_eq!(parse_command("browse cluster v"), Ok(Command::BrowseCluster("v".into())));
        assert_eq!(parse_command("config"), Ok(Command::Config));
        assert_eq!(parse_command("properties"), Ok(Command::ShowSettings));
        let all = HaParts { servers: true, db: true, latency: true };
        assert_eq!(parse_command("HA STATUS -all -output=text"), Ok(Command::HaStatus(all)));
        let some = HaParts { servers: true, db: false, latency: true };
        assert_eq!(parse_command("ha status -servers -latency"), Ok(Command::HaStatus(some)));
        assert_eq!(parse_command("HA REMOVE SERVER n2"), Ok(Command::HaRemoveServer("n2".into())));
        assert_eq!(parse_command("SET limit -1"), Ok(Command::Set(Setting::Limit(-1))));
        assert_eq!(parse_command("SET timeout 250"), Ok(Command::Set(Setting::Timeout(Some(250)))));
        assert_eq!(parse_command("SET timeout 0"), Ok(Command::Set(Setting::Timeout(None))));
        assert_eq!(parse_command("set timeout OFF"), Ok(Command::Set(Setting::Timeout(None))));
        assert_eq!(parse_command("SET width 80"), Ok(Command::Set(Setting::Width(Some(80)))));
        assert_eq!(parse_command("SET maxBinaryDisplay 10"), Ok(Command::Set(Setting::MaxBinaryDisplay(10))));
        for sql in ["CLASSES", "INDEXES"] {
            assert!(is_console_command(sql));
        }
    }

    #[test]
    fn orientdb_command_errors() {
        assert!(parse_command("LOAD RECORD 9").unwrap_err().contains("not a record id"));
        assert!(parse_command("LOAD RECORD #x:1").unwrap_err().contains("not a record id"));
        assert!(parse_command("DISPLAY RECORD x").unwrap_err().contains("not a row number"));
        assert!(parse_command("DISPLAY RAW RECORD #1").unwrap_err().contains("not a row number"));
        assert!(parse_command("DISPLAY RAW RECORD #a:b").unwrap_err().contains("not a record id"));
        assert!(parse_command("INFO CLASS").unwrap_err().contains("usage"));
        assert!(parse_command("BROWSE CLASS").unwrap_err().contains("usage"));
        assert!(parse_command("BROWSE FOO x").unwrap_err().contains("usage: BROWSE CLASS"));
        assert!(parse_command("HA REMOVE SERVER").unwrap_err().contains("usage"));
        assert!(parse_command("SET limit 0").unwrap_err().contains("-1 for no limit"));
        assert!(parse_command("SET limit -2").unwrap_err().contains("-1 for no limit"));
        assert!(parse_command("SET timeout soon").unwrap_err().contains("whole number"));
        assert!(parse_command("SET colour red").unwrap_err().contains("unknown setting"));
    }

    #[test]
    fn everything_else_is_sql() {
        for sql in [
            "SELECT FROM V",
            "select exit from Foo",
            "CREATE CLASS Person EXTENDS V",
            "DROP CLASS Person",
            "create vertex Person set name = 'x'",
            "listing",
            "UPDATE V SET a = 1",
            "commitment",
        ] {
            assert_eq!(parse_command(sql), Ok(Command::Sql(sql.into())), "{sql}");
            assert!(!is_console_command(sql), "{sql}");
        }
    }

    #[test]
    fn connect_arguments() {
        assert_eq!(
            parse_command("CONNECT remote:localhost:2480/demo root 'pass word'"),
            Ok(Command::Connect { url: "remote:localhost:2480/demo".into(), login: login("root", "pass word") })
        );
        assert_eq!(
            parse_command("connect http://a,http://b"),
            Ok(Command::Connect { url: "http://a,http://b".into(), login: None })
        );
        assert!(parse_command("connect x root").unwrap_err().contains("both a user and a password"));
        assert!(parse_command("connect").unwrap_err().contains("usage"));
        assert!(parse_command("connect x u 'open").unwrap_err().contains("quote is not closed"));
    }

    #[test]
    fn database_commands() {
        let named = |n: &str, storage: Option<&str>| DatabaseTarget {
            name_or_url: Some(n.into()),
            login: None,
            storage: storage.map(Into::into),
        };
        assert_eq!(parse_command("CREATE DATABASE demo"), Ok(Command::CreateDatabase(named("demo", None))));
        assert_eq!(
            parse_command("create database demo PLOCAL"),
            Ok(Command::CreateDatabase(named("demo", Some("plocal"))))
        );
        let created = parse_command("CREATE DATABASE remote:h:2480/demo root pw memory").unwrap();
        let Command::CreateDatabase(target) = created else { panic!("{created:?}") };
        assert!(target.is_url());
        assert_eq!(target.login, login("root", "pw"));
        assert_eq!(target.storage.as_deref(), Some("memory"));
        assert!(parse_command("CREATE DATABASE").unwrap_err().contains("usage"));
        assert!(parse_command("CREATE DATABASE http://h/db root").unwrap_err().contains("needs a password"));
        let Ok(Command::CreateDatabase(target)) = parse_command("CREATE DATABASE http://h/db plocal") else { panic!() };
        assert_eq!((target.login, target.storage.as_deref()), (None, Some("plocal")));
        assert!(parse_command("CREATE DATABASE a b c").unwrap_err().contains("usage"));
        assert_eq!(
            parse_command("drop database"),
            Ok(Command::DropDatabase(DatabaseTarget { name_or_url: None, login: None, storage: None }))
        );
        assert_eq!(parse_command("DROP DATABASE old"), Ok(Command::DropDatabase(named("old", None))));
        assert!(parse_command("DROP DATABASE old plocal").unwrap_err().contains("usage"));
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert!(parse_command("EXIT now").unwrap_err().contains("takes no arguments"));
        assert!(parse_command("HA STATUS all").unwrap_err().contains("unknown HA STATUS option"));
        assert!(parse_command("SET format xml").unwrap_err().contains("unknown format"));
        assert!(parse_command("SET maxwidth 2").unwrap_err().contains("at least 4"));
        assert!(parse_command("SET a b c").unwrap_err().contains("usage"));
    }

    #[test]
    fn read_only_sql() {
        assert!(is_read_only_sql("  select from V"));
        assert!(is_read_only_sql("MATCH {class: V} RETURN $elements"));
        assert!(is_read_only_sql("traverse out() from #9:0"));
        assert!(!is_read_only_sql("INSERT INTO V SET a = 1"));
        assert!(!is_read_only_sql("create vertex V"));
        assert!(!is_read_only_sql(""));
    }

    #[test]
    fn file_commands_take_one_local_path() {
        assert_eq!(parse_command("export database gd"), Ok(Command::ExportDatabase("gd".into())));
        assert_eq!(
            parse_command("BACKUP DATABASE '/tmp/my gd.snap'"),
            Ok(Command::BackupDatabase("/tmp/my gd.snap".into()))
        );
        assert_eq!(parse_command("IMPORT DATABASE gd.gz"), Ok(Command::ImportDatabase("gd.gz".into())));
        assert_eq!(parse_command("RESTORE DATABASE gd.snap"), Ok(Command::RestoreDatabase("gd.snap".into())));
        assert_eq!(
            parse_command("IMPORT DATABASE gd.gz -merge=true"),
            Err("IMPORT DATABASE: option '-merge=true' is not supported".into())
        );
        assert_eq!(parse_command("EXPORT DATABASE"), Err("usage: EXPORT DATABASE <file>".into()));
        assert!(is_console_command("backup database x"));
        assert_eq!(parse_command("EXPORT something"), Ok(Command::Sql("EXPORT something".into())));
    }
}
