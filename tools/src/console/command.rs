//! Recognizing console commands.
//!
//! A statement is either one of the console's own commands (OrientDB's console spellings,
//! case-insensitive) or SQL for the server. [`parse_command`] decides which, and parses the
//! command's arguments; it does no I/O. Arguments are separated by spaces; an argument holding
//! spaces may be quoted with `'` or `"`.

use std::fmt;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An aligned text table and a summary line.
    Table,
    /// The server's JSON answer, pretty-printed.
    Json,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Table => "table",
            Format::Json => "json",
        })
    }
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
    /// `HA STATUS`: the cluster's nodes and their databases.
    HaStatus,
    /// `SET` alone: show the settings.
    ShowSettings,
    /// `SET format json|table`.
    SetFormat(Format),
    /// `SET maxwidth <n>`: the widest table cell, in characters.
    SetMaxWidth(usize),
    /// `SET timeout <ms>` (sent as `X-Basalt-Timeout-Ms` with every request) or `SET timeout
    /// default` (`None`: the server's default).
    SetTimeout(Option<u64>),
    /// `INFO`: where the console is connected.
    Info,
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
    /// Anything else: SQL for `/command/{db}/sql`.
    Sql(String),
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
    &["SET"],
    &["INFO"],
    &["HELP"],
    &["EXIT"],
    &["QUIT"],
    &["BEGIN"],
    &["COMMIT"],
    &["ROLLBACK"],
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
    let two = if first == "LIST" || first == "CREATE" || first == "DROP" || first == "HA" { 2 } else { 1 };
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
        "HA STATUS" => no_args(Command::HaStatus),
        "SET" => parse_set(args),
        "INFO" => no_args(Command::Info),
        // HELP ignores a topic: the whole list is short.
        "HELP" => Ok(Command::Help),
        "EXIT" | "QUIT" => no_args(Command::Exit),
        "BEGIN" => no_args(Command::Begin),
        "COMMIT" => no_args(Command::Commit),
        "ROLLBACK" => no_args(Command::Rollback),
        _ => Ok(Command::Sql(statement.to_owned())),
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

fn parse_set(args: &[String]) -> Result<Command, String> {
    let usage = "usage: SET format json|table, SET maxwidth <characters>, or SET timeout <milliseconds>|default";
    match args {
        [] => Ok(Command::ShowSettings),
        [key, value] if key.eq_ignore_ascii_case("format") => match value.to_lowercase().as_str() {
            "json" => Ok(Command::SetFormat(Format::Json)),
            "table" => Ok(Command::SetFormat(Format::Table)),
            _ => Err(format!("unknown format '{value}'; {usage}")),
        },
        [key, value] if key.eq_ignore_ascii_case("maxwidth") => match value.parse::<usize>() {
            Ok(width) if width >= 4 => Ok(Command::SetMaxWidth(width)),
            _ => Err(format!("maxwidth must be a whole number of at least 4, got '{value}'")),
        },
        [key, value] if key.eq_ignore_ascii_case("timeout") => match value.parse::<u64>() {
            _ if value.eq_ignore_ascii_case("default") => Ok(Command::SetTimeout(None)),
            Ok(ms) if ms >= 1 => Ok(Command::SetTimeout(Some(ms))),
            _ => Err(format!("timeout must be a whole number of milliseconds (at least 1) or default, got '{value}'")),
        },
        _ => Err(usage.to_owned()),
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
        assert_eq!(parse_command("ha status"), Ok(Command::HaStatus));
        assert_eq!(parse_command("disconnect"), Ok(Command::Disconnect));
        assert_eq!(parse_command("INFO"), Ok(Command::Info));
        assert_eq!(parse_command("help connect"), Ok(Command::Help));
        assert_eq!(parse_command("begin"), Ok(Command::Begin));
        assert_eq!(parse_command("Commit"), Ok(Command::Commit));
        assert_eq!(parse_command("ROLLBACK"), Ok(Command::Rollback));
        assert_eq!(parse_command("set"), Ok(Command::ShowSettings));
        assert_eq!(parse_command("set FORMAT Json"), Ok(Command::SetFormat(Format::Json)));
        assert_eq!(parse_command("SET maxwidth 12"), Ok(Command::SetMaxWidth(12)));
        assert_eq!(parse_command("SET timeout 5000"), Ok(Command::SetTimeout(Some(5000))));
        assert_eq!(parse_command("set TIMEOUT default"), Ok(Command::SetTimeout(None)));
        assert!(parse_command("SET timeout 0").is_err());
        assert!(parse_command("SET timeout soon").is_err());
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
        assert!(parse_command("HA STATUS -all").unwrap_err().contains("takes no arguments"));
        assert!(parse_command("SET format xml").unwrap_err().contains("unknown format"));
        assert!(parse_command("SET maxwidth 2").unwrap_err().contains("at least 4"));
        assert!(parse_command("SET colour red").unwrap_err().contains("usage"));
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
}
