//! The `basalt` command line: flags and environment, then one-shot (`-c`, `--file`) or the REPL.
//!
//! Exit codes: 0 when every statement succeeded; 1 when one failed (the run stops at the first
//! failure in one-shot mode) or the command line is wrong; 2 when no server could be reached.

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::TypedValueParser as _;
use clap::Parser;

use super::client::{ClientOptions, Credentials, TlsOptions};
use super::command::Format;
use super::error::ConsoleError;
use super::repl::run_repl;
use super::script::split_script;
use super::servers::parse_target;
use super::session::{Flow, Session, Settings};
use super::table::DEFAULT_MAX_WIDTH;

/// Shown after the flags in `basalt --help`.
const AFTER_HELP: &str = "\
Examples:
  BASALT_PASSWORD=secret basalt --server http://localhost:2480/demo --user root
      an interactive console on database demo (HELP lists the console commands)
  basalt -s db1:2480,db2:2480,db3:2480 -d demo -c \"SELECT FROM Person LIMIT 5\"
      one query; if db1 cannot be reached, db2 and then db3 are tried
  basalt -s https://db1:2480 --ca-cert cluster-ca.pem -c \"HA STATUS\"
      the cluster's nodes, roles, database status and leaders
  basalt -s localhost/demo --format json -c \"SELECT name FROM Person\" | jq '.result[].name'
  basalt -s localhost/demo --file schema.sql
      statements end at ';' (or a blank line); BEGIN ... COMMIT runs as one transaction
  basalt -s localhost/demo < queries.sql

Server addresses: http://host:2480/db, https://host:2480/db, remote:host:2480/db, host:2480 or host
(port 2480 by default); a comma-separated list for failover.

Environment:
  BASALT_SERVERS   the server list when --server is not given
  BASALT_USER      the user when --user is not given (default root)
  BASALT_PASSWORD  the password when --password is not given (safer: not visible in ps)
  BASALT_HISTORY   the history file (default ~/.basalt_history)

Exit codes: 0 success; 1 a statement failed; 2 no server could be reached.";

/// `basalt`: the Basalt console.
#[derive(Debug, Parser)]
#[command(
    name = "basalt",
    version,
    about = "The Basalt console: run SQL, HA STATUS and database commands against Basalt servers, failing over between them",
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// Server(s), first tried first; a comma-separated list for failover [env: BASALT_SERVERS]
    #[arg(short = 's', long, value_name = "URL[,URL...]")]
    pub server: Option<String>,

    /// User name [env: BASALT_USER] [default: root]
    #[arg(short = 'u', long)]
    pub user: Option<String>,

    /// Password (prefer BASALT_PASSWORD: a flag is visible to other users in ps) [env: BASALT_PASSWORD]
    #[arg(short = 'p', long)]
    pub password: Option<String>,

    /// Database to use (overrides one named in the server URL)
    #[arg(short = 'd', long = "db", value_name = "NAME")]
    pub db: Option<String>,

    /// Run these statements (separated by ';') and exit
    #[arg(short = 'c', long = "command", value_name = "SQL", conflicts_with = "file")]
    pub command: Option<String>,

    /// Run the statements in this file ('-' for standard input) and exit
    #[arg(short = 'f', long, value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// How results are printed
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// The widest table cell, in characters; longer values end in '...'
    #[arg(long, value_name = "CHARS", default_value_t = DEFAULT_MAX_WIDTH, value_parser = clap::value_parser!(u16).range(4..).map(usize::from))]
    pub max_width: usize,

    /// Seconds to wait for a connection to one server before trying the next
    #[arg(long, value_name = "SECS", default_value_t = 3.0)]
    pub connect_timeout: f64,

    /// Seconds one request may take on one server
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    pub timeout: f64,

    /// Accept any server certificate (testing only: the connection can then be intercepted)
    #[arg(long, conflicts_with = "ca_cert")]
    pub insecure: bool,

    /// Trust the certificates in this PEM file (e.g. the cluster's self-signed CA) for https servers
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
}

/// Parses the process arguments and runs; the process's exit code.
pub fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(run(Cli::parse()))
}

/// Runs the console as `cli` says; returns the exit code.
pub fn run(cli: Cli) -> u8 {
    let mut session = match build_session(&cli) {
        Ok(session) => session,
        Err(error) => {
            eprintln!("Error: {error}");
            return error.exit_code();
        }
    };
    if let Some(text) = &cli.command {
        return run_script(&mut session, text);
    }
    if let Some(path) = &cli.file {
        let text = if path.as_os_str() == "-" {
            std::io::read_to_string(std::io::stdin())
        } else {
            std::fs::read_to_string(path)
        };
        return match text {
            Ok(text) => run_script(&mut session, &text),
            Err(e) => {
                session.report(&ConsoleError::Usage(format!("cannot read {}: {e}", path.display())));
                1
            }
        };
    }
    run_repl(&mut session)
}

/// The session the flags and environment describe.
fn build_session(cli: &Cli) -> Result<Session, ConsoleError> {
    let options = ClientOptions {
        connect_timeout: seconds("--connect-timeout", cli.connect_timeout)?,
        request_timeout: seconds("--timeout", cli.timeout)?,
        tls: TlsOptions { insecure: cli.insecure, ca_cert: cli.ca_cert.clone() },
        query_timeout_ms: None,
    };
    if cli.insecure {
        eprintln!("Warning: --insecure: server certificates are not checked, so the connection can be intercepted.");
    }
    let settings = Settings { format: cli.format, max_width: cli.max_width, ..Settings::default() };
    let mut session = Session::new(options, settings, Box::new(std::io::stdout()), Box::new(std::io::stderr()));
    let password = cli.password.clone().or_else(|| env("BASALT_PASSWORD"));
    let user = cli.user.clone().or_else(|| env("BASALT_USER")).unwrap_or_else(|| "root".to_owned());
    let credentials = password.map(|password| Credentials { user, password });
    match cli.server.clone().or_else(|| env("BASALT_SERVERS")) {
        Some(text) => {
            let target = parse_target(&text).map_err(|why| ConsoleError::Usage(format!("--server: {why}")))?;
            let database = cli.db.clone().or(target.database);
            session.use_servers(target.servers, credentials, database)?;
        }
        None if cli.db.is_some() => {
            return Err(ConsoleError::Usage("--db needs a server: pass --server (or set BASALT_SERVERS)".into()));
        }
        None => session.set_credentials(credentials),
    }
    Ok(session)
}

/// Runs a whole script, stopping at the first failure; the exit code.
fn run_script(session: &mut Session, text: &str) -> u8 {
    let statements = match split_script(text) {
        Ok(statements) => statements,
        Err(why) => {
            session.report(&ConsoleError::Usage(why));
            return 1;
        }
    };
    for statement in &statements {
        match session.execute(statement) {
            Ok(Flow::Continue) => {}
            Ok(Flow::Exit) => return 0,
            Err(error) => {
                session.report(&error);
                return error.exit_code();
            }
        }
    }
    match session.finish() {
        Ok(()) => 0,
        Err(error) => {
            session.report(&error);
            error.exit_code()
        }
    }
}

/// A non-empty environment variable.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// A positive, finite number of seconds as a duration.
fn seconds(flag: &str, secs: f64) -> Result<Duration, ConsoleError> {
    match Duration::try_from_secs_f64(secs) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        _ => Err(ConsoleError::Usage(format!("{flag} must be a positive number of seconds, got {secs}"))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn flags_parse() {
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from([
            "basalt",
            "-s",
            "a:1,b:2/demo",
            "-u",
            "me",
            "-c",
            "SELECT 1",
            "--format",
            "json",
            "--timeout",
            "2.5",
        ])
        .unwrap();
        assert_eq!(cli.server.as_deref(), Some("a:1,b:2/demo"));
        assert_eq!(cli.format, Format::Json);
        assert_eq!(seconds("--timeout", cli.timeout).unwrap(), Duration::from_millis(2500));
        assert_eq!(cli.max_width, DEFAULT_MAX_WIDTH);
        assert!(Cli::try_parse_from(["basalt", "-c", "x", "-f", "y"]).is_err());
        assert!(Cli::try_parse_from(["basalt", "--insecure", "--ca-cert", "x"]).is_err());
        assert!(Cli::try_parse_from(["basalt", "--max-width", "3"]).is_err());
        assert!(Cli::try_parse_from(["basalt", "--format", "xml"]).is_err());
    }

    #[test]
    fn bad_timeouts_are_rejected() {
        assert!(seconds("--timeout", 0.0).unwrap_err().to_string().contains("positive"));
        assert!(seconds("--timeout", -1.0).is_err());
        assert!(seconds("--timeout", f64::NAN).is_err());
    }
}
