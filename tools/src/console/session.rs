//! A console session: the connection, the settings and an open transaction, and the execution
//! of one statement at a time.
//!
//! [`Session::execute`] runs one statement (a console command or SQL), prints its output to the
//! session's output, notes (failovers) to its error stream, and returns an error value for the
//! caller to print; the REPL and one-shot runners decide what an error means for the exit code.

use std::io::Write;

use super::batch::{batch_body, Transaction};
use super::client::{encode_segment, Answer, Client, ClientOptions, Credentials, Method, Request};
use super::command::{parse_command, Command, DatabaseTarget, Format, Login};
use super::complete::SharedVocabulary;
use super::error::ConsoleError;
use super::json::{Json, JsonText};
use super::output::{page, pager_command, terminal_size};
use super::servers::{parse_target, Server};
use super::table::DEFAULT_MAX_WIDTH;

/// Rows shown for a query without LIMIT, as in OrientDB's console (`limit` = 20 in
/// `OConsoleDatabaseApp.onBefore`).
pub const DEFAULT_LIMIT: i64 = 20;

/// Bytes `DISPLAY RAW RECORD` prints by default (OrientDB's `maxBinaryDisplay`).
pub const DEFAULT_MAX_BINARY_DISPLAY: usize = 160;

/// The console's help text (the HELP command).
pub const HELP: &str = "\
Console commands (case-insensitive; a command ends at the end of its line, SQL at ';' or a blank line):
  CONNECT <url> [<user> <password>]   connect, e.g. CONNECT remote:localhost:2480/demo root secret
                                      <url>: http://host:2480/db, https://..., remote:host:port/db, host:port,
                                      or a comma-separated list of servers to fail over between
  DISCONNECT                          forget the servers, database and credentials
  LIST DATABASES                      the databases on the server
  CREATE DATABASE <name> [<storage>]  create a database on the connected server and use it
  CREATE DATABASE <url/db> <user> <password> [<storage>]
  DROP DATABASE [<name>]              drop a database (the current one without a name)
  DROP DATABASE <url/db> <user> <password>
  BACKUP DATABASE <file>              save the database's snapshot (basalt-snapshot format) to a local file
  EXPORT DATABASE <file>              save OrientDB's gzipped JSON export of the database to a local file
  IMPORT DATABASE <file>              load a local OrientDB export into the current (empty) database
  RESTORE DATABASE <file>             how to restore a snapshot (basalt-snapshot restore, server stopped)
  INFO                                the connection, and the database's properties, clusters, classes, indexes
  LIST CLASSES | CLASSES              the classes with their clusters and record counts
  INFO CLASS <class>                  a class: superclass, clusters, properties, indexes
  LIST CLUSTERS | CLUSTERS            the clusters with their classes and record counts
  LIST INDEXES | INDEXES              the indexes
  BROWSE CLASS <class>                the records of a class (up to the limit)
  BROWSE CLUSTER <cluster>            the records of a cluster (up to the limit)
  LOAD RECORD <rid>                   fetch one record, e.g. LOAD RECORD #9:1, and make it the current one
  DISPLAY RECORD [<n>]                row n of the last result, field by field (the current record without n)
  DISPLAY RAW RECORD <n>|<rid>        a record as the server sent it
  HA STATUS [-servers] [-db] [-latency] [-all]
                                      the cluster's nodes, databases and replication latency
  HA REMOVE SERVER <name>             remove a server from the cluster configuration
  CONFIG                              the server's configuration as it reports it
  BEGIN ... COMMIT | ROLLBACK         collect statements and send them at COMMIT as one transaction
  SET format table|vertical|csv|json  how results are printed (SET output ... too)
  SET limit <n>|-1                    rows shown for a query without LIMIT (default 20; -1: all)
  SET timeout <ms>|default            ask the server to stop a statement after <ms> ms (default: its own)
  SET width <n>|auto                  the width tables are fitted to (auto: the terminal's)
  SET maxwidth <n>                    the widest table cell, in characters
  SET maxBinaryDisplay <n>            bytes DISPLAY RAW RECORD prints
  SET | PROPERTIES                    show the settings
  HELP                                this text
  EXIT | QUIT                         leave (Ctrl-D too; Ctrl-C cancels the line being typed)
Anything else is sent as SQL to the current database, e.g. SELECT FROM V WHERE name = 'x';
Tab completes keywords, classes and properties. On a terminal, output taller than the screen goes
through $PAGER (else less -FRX).
";

/// What the caller should do after a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Read the next statement.
    Continue,
    /// Stop: EXIT or QUIT.
    Exit,
}

/// How results are shown, and what every request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Table, vertical, CSV or JSON.
    pub format: Format,
    /// The widest table cell, in characters.
    pub max_width: usize,
    /// Rows shown for a SELECT, MATCH or TRAVERSE without its own LIMIT; -1 for all.
    pub limit: i64,
    /// The server-side time limit of every request, in milliseconds (`X-Basalt-Timeout-Ms`).
    pub timeout_ms: Option<u64>,
    /// The width tables are fitted to; `None`: the terminal's, when there is one.
    pub width: Option<usize>,
    /// Bytes DISPLAY RAW RECORD prints.
    pub max_binary_display: usize,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            format: Format::Table,
            max_width: DEFAULT_MAX_WIDTH,
            limit: DEFAULT_LIMIT,
            timeout_ms: None,
            width: None,
            max_binary_display: DEFAULT_MAX_BINARY_DISPLAY,
        }
    }
}

/// One console session.
pub struct Session {
    /// Timeouts and TLS settings for every client this session makes.
    pub(super) options: ClientOptions,
    /// The credentials in use (also for clients made later by CONNECT without a login).
    pub(super) credentials: Option<Credentials>,
    /// The servers, once connected.
    pub(super) client: Option<Client>,
    /// The current database.
    pub(super) database: Option<String>,
    /// Output settings.
    pub(super) settings: Settings,
    /// Statements collected since BEGIN.
    pub(super) transaction: Transaction,
    /// Whether a person is typing (then confirmations like "Transaction started" are shown).
    pub(super) interactive: bool,
    /// The rows of the last result, for DISPLAY RECORD n (OrientDB's `currentResultSet`).
    pub(super) last_result: Vec<Json>,
    /// The current record: the first row of the last result, or the one LOAD RECORD loaded.
    pub(super) current_record: Option<Json>,
    /// The names tab completion offers, when the REPL has an editor.
    pub(super) vocabulary: Option<SharedVocabulary>,
    /// Output held back while a statement runs, to page it when it is taller than the screen.
    pub(super) held: Option<String>,
    /// Where results go.
    pub(super) out: Box<dyn Write>,
    /// Where notes go.
    pub(super) err: Box<dyn Write>,
}

impl Session {
    /// A session not yet connected anywhere.
    pub fn new(options: ClientOptions, settings: Settings, out: Box<dyn Write>, err: Box<dyn Write>) -> Session {
        Session {
            options,
            credentials: None,
            client: None,
            database: None,
            settings,
            transaction: Transaction::default(),
            interactive: false,
            last_result: Vec::new(),
            current_record: None,
            vocabulary: None,
            held: None,
            out,
            err,
        }
    }

    /// Fills `vocabulary` with the current database's names now and after schema changes.
    pub fn set_vocabulary(&mut self, vocabulary: SharedVocabulary) {
        self.vocabulary = Some(vocabulary);
        self.refresh_vocabulary();
    }

    /// Holds the output of the next statement back for [`Session::release_output`].
    pub fn hold_output(&mut self) {
        self.held = Some(String::new());
    }

    /// Prints the held output: through the pager when it is taller than the terminal (and a
    /// pager is there), else straight out.
    pub fn release_output(&mut self) {
        let Some(text) = self.held.take() else { return };
        let (_, rows) = terminal_size();
        let taller = rows.is_some_and(|rows| text.lines().count() >= rows);
        if taller {
            if let Some(command) = pager_command() {
                if page(&command, &text) {
                    return;
                }
            }
        }
        // An output that cannot be written is reported by the next statement's print.
        let _ = self.print(&text);
    }

    /// Shows confirmations meant for a person at a terminal.
    pub fn set_interactive(&mut self, interactive: bool) {
        self.interactive = interactive;
    }

    /// Uses these servers, credentials and database without contacting them yet (the command
    /// line's `--server`); the first statement finds out whether they answer.
    pub fn use_servers(
        &mut self,
        servers: Vec<Server>,
        credentials: Option<Credentials>,
        database: Option<String>,
    ) -> Result<(), ConsoleError> {
        self.client = Some(Client::new(servers, credentials.clone(), &self.options)?);
        self.credentials = credentials;
        self.database = database;
        Ok(())
    }

    /// Sets the credentials used by later clients (before any server is known).
    pub fn set_credentials(&mut self, credentials: Option<Credentials>) {
        self.credentials = credentials;
    }

    /// The main prompt, OrientDB's (`getPrompt`/`getContext` in `OConsoleDatabaseApp.java`):
    /// `orientdb {db=demo}> `, `orientdb {server=http://h:2480}> ` when connected without a
    /// database, `orientdb> ` when not connected; ` tx=[n entries]` while a transaction
    /// collects statements.
    pub fn prompt(&self) -> String {
        let tx = if self.transaction.is_open() {
            format!(" tx=[{} entries]", self.transaction.len())
        } else {
            String::new()
        };
        match (&self.database, &self.client) {
            (Some(db), _) => format!("orientdb {{db={db}{tx}}}> "),
            (None, Some(client)) => format!("orientdb {{server={}{tx}}}> ", client.current_server()),
            (None, None) => "orientdb> ".to_owned(),
        }
    }

    /// True while statements are being collected after BEGIN.
    pub fn in_transaction(&self) -> bool {
        self.transaction.is_open()
    }

    /// Ends the input: an error if a transaction is still open (its statements are dropped).
    pub fn finish(&mut self) -> Result<(), ConsoleError> {
        match self.transaction.rollback() {
            Ok(count) => Err(ConsoleError::Usage(format!(
                "the input ended inside a transaction: {count} statement(s) after BEGIN were not committed"
            ))),
            Err(_) => Ok(()),
        }
    }

    /// Prints an error as `Error: <message>` on the error stream.
    pub fn report(&mut self, error: &ConsoleError) {
        // Nothing sensible is left to do if stderr itself cannot be written.
        let _ = writeln!(self.err, "Error: {error}");
        let _ = self.err.flush();
    }

    /// Runs one statement (without its `;`).
    pub fn execute(&mut self, statement: &str) -> Result<Flow, ConsoleError> {
        let command = parse_command(statement)?;
        if self.transaction.is_open() {
            match command {
                Command::Sql(sql) => {
                    self.transaction.collect(sql);
                    return Ok(Flow::Continue);
                }
                Command::Commit | Command::Rollback | Command::Help | Command::Info | Command::ShowSettings => {}
                Command::Set(_) | Command::Begin => {}
                Command::Exit => {
                    let count = self.transaction.rollback().unwrap_or(0);
                    if count > 0 {
                        self.note(&format!("leaving inside a transaction: {count} statement(s) not committed"));
                    }
                    return Ok(Flow::Exit);
                }
                _ => {
                    // The statement is not echoed: it may hold a password.
                    return Err(ConsoleError::Usage(
                        "only SQL, COMMIT, ROLLBACK, SET, INFO, HELP and EXIT can run inside a transaction; \
                         COMMIT or ROLLBACK first"
                            .into(),
                    ));
                }
            }
        }
        match command {
            Command::Sql(sql) => self.run_sql(sql)?,
            Command::Connect { url, login } => self.connect(&url, login)?,
            Command::Disconnect => self.disconnect()?,
            Command::ListDatabases => self.list_databases()?,
            Command::CreateDatabase(target) => self.create_database(target)?,
            Command::DropDatabase(target) => self.drop_database(target)?,
            Command::HaStatus(parts) => self.ha_status(parts)?,
            Command::HaRemoveServer(name) => self.ha_remove_server(&name)?,
            Command::ShowSettings => self.show_settings()?,
            Command::Set(setting) => self.set(setting)?,
            Command::Info => self.info()?,
            Command::ListClasses => self.list_classes()?,
            Command::InfoClass(name) => self.info_class(&name)?,
            Command::ListClusters => self.list_clusters()?,
            Command::ListIndexes => self.list_indexes()?,
            Command::DisplayRecord(row) => self.display_record(row)?,
            Command::DisplayRawRecord(target) => self.display_raw_record(target)?,
            Command::LoadRecord(rid) => self.load_record(rid)?,
            Command::BrowseClass(name) => self.browse_class(&name)?,
            Command::BrowseCluster(name) => self.browse_cluster(&name)?,
            Command::Config => self.config()?,
            Command::BackupDatabase(file) => self.backup_database(&file)?,
            Command::ExportDatabase(file) => self.export_database(&file)?,
            Command::ImportDatabase(file) => self.import_database(&file)?,
            Command::RestoreDatabase(file) => self.restore_database(&file)?,
            Command::Help => self.print(HELP)?,
            Command::Exit => return Ok(Flow::Exit),
            Command::Begin => {
                self.require_database()?;
                self.transaction.begin()?;
                if self.interactive {
                    self.print("Transaction started: statements are collected and sent together at COMMIT.\n")?;
                }
            }
            Command::Commit => self.commit()?,
            Command::Rollback => {
                let count = self.transaction.rollback()?;
                if self.interactive {
                    self.print(&format!("Transaction rolled back: {count} statement(s) dropped.\n"))?;
                }
            }
        }
        Ok(Flow::Continue)
    }

    fn commit(&mut self) -> Result<(), ConsoleError> {
        let statements = self.transaction.commit()?;
        if statements.is_empty() {
            return self.print("Nothing to commit.\n");
        }
        let db = self.require_database()?;
        let path = format!("/batch/{}", encode_segment(&db));
        let request = Request { method: Method::Post, path, body: Some(batch_body(&statements)), repeatable: false };
        let answer = self.send(request)?;
        self.show_answer(&answer.body, answer.elapsed.as_secs_f64(), None)?;
        self.refresh_vocabulary();
        Ok(())
    }

    fn connect(&mut self, url: &str, login: Option<Login>) -> Result<(), ConsoleError> {
        let target = parse_target(url)?;
        let credentials =
            login.map(|l| Credentials { user: l.user, password: l.password }).or(self.credentials.clone());
        let mut client = Client::new(target.servers, credentials.clone(), &self.options)?;
        let path = match &target.database {
            Some(db) => format!("/database/{}", encode_segment(db)),
            None => "/listDatabases".to_owned(),
        };
        let result = client.send(&Request { method: Method::Get, path, body: None, repeatable: true });
        self.show_notes(&mut client);
        let answer = result.map_err(|e| with_login_hint(e, credentials.is_none()))?;
        let who = credentials.as_ref().map_or(String::new(), |c| format!(" as {}", c.user));
        let message = match &target.database {
            Some(db) => format!("Connected to database '{db}' on {}{who}.\n", answer.server),
            None => format!("Connected to {}{who} (no database selected).\n", answer.server),
        };
        self.client = Some(client);
        self.credentials = credentials;
        self.database = target.database;
        self.last_result.clear();
        self.current_record = None;
        self.print(&message)?;
        self.refresh_vocabulary();
        Ok(())
    }

    fn disconnect(&mut self) -> Result<(), ConsoleError> {
        let was = self.client.take().is_some();
        self.database = None;
        self.credentials = None;
        self.print(if was { "Disconnected.\n" } else { "Not connected.\n" })
    }

    fn list_databases(&mut self) -> Result<(), ConsoleError> {
        let request = Request { method: Method::Get, path: "/listDatabases".into(), body: None, repeatable: true };
        let answer = self.send(request)?;
        if self.settings.format == Format::Json {
            return self.print(&format!("{}\n", answer.body.to_pretty()));
        }
        let names: Vec<String> = answer
            .body
            .get("databases")
            .and_then(Json::as_array)
            .map(|a| a.iter().map(JsonText::to_cell).collect())
            .unwrap_or_default();
        let mut text = format!("Found {} database(s):\n", names.len());
        for name in names {
            text.push_str(&format!("  * {name}\n"));
        }
        self.print(&text)
    }

    fn create_database(&mut self, target: DatabaseTarget) -> Result<(), ConsoleError> {
        let (client, db) = self.database_client(&target, "CREATE DATABASE")?;
        let mut path = format!("/database/{}", encode_segment(&db));
        if let Some(storage) = &target.storage {
            path.push('/');
            path.push_str(&encode_segment(storage));
        }
        let request = Request { method: Method::Post, path, body: None, repeatable: false };
        let answer = self.send_with(client, request)?;
        if let Some(other) = answer.1 {
            self.client = Some(other.client);
            self.credentials = other.credentials;
        }
        self.database = Some(db.clone());
        match self.settings.format {
            Format::Json if answer.0.body != Json::Null => self.print(&format!("{}\n", answer.0.body.to_pretty())),
            Format::Json => Ok(()),
            Format::Table | Format::Vertical | Format::Csv => {
                self.print(&format!("Database '{db}' created on {}; now using it.\n", answer.0.server))
            }
        }
    }

    fn drop_database(&mut self, target: DatabaseTarget) -> Result<(), ConsoleError> {
        let (client, db) = match &target.name_or_url {
            Some(_) => self.database_client(&target, "DROP DATABASE")?,
            None => (None, self.require_database()?),
        };
        let same_servers = client.is_none();
        let request = Request {
            method: Method::Delete,
            path: format!("/database/{}", encode_segment(&db)),
            body: None,
            repeatable: false,
        };
        let answer = self.send_with(client, request)?;
        if same_servers && self.database.as_deref() == Some(db.as_str()) {
            self.database = None;
        }
        match self.settings.format {
            Format::Json if answer.0.body != Json::Null => self.print(&format!("{}\n", answer.0.body.to_pretty())),
            Format::Json => Ok(()),
            Format::Table | Format::Vertical | Format::Csv => {
                self.print(&format!("Database '{db}' dropped on {}.\n", answer.0.server))
            }
        }
    }

    /// For CREATE/DROP DATABASE: a new client when the target is a URL (else `None`: use the
    /// session's), and the database name.
    fn database_client(
        &mut self,
        target: &DatabaseTarget,
        what: &str,
    ) -> Result<(Option<OtherServers>, String), ConsoleError> {
        let Some(name_or_url) = &target.name_or_url else {
            return Ok((None, self.require_database()?));
        };
        if !target.is_url() {
            self.require_client()?;
            return Ok((None, name_or_url.clone()));
        }
        let parsed = parse_target(name_or_url)?;
        let db = parsed.database.ok_or_else(|| {
            ConsoleError::Usage(format!("{what} needs the database name in the URL, e.g. remote:localhost:2480/demo"))
        })?;
        let credentials = match &target.login {
            Some(l) => Some(Credentials { user: l.user.clone(), password: l.password.clone() }),
            None => self.credentials.clone(),
        };
        let client = Client::new(parsed.servers, credentials.clone(), &self.options)?;
        Ok((Some(OtherServers { client, credentials }), db))
    }

    /// Sends with a given client (then returned on success, for the session to adopt) or with
    /// the session's.
    fn send_with(
        &mut self,
        other: Option<OtherServers>,
        request: Request,
    ) -> Result<(Answer, Option<OtherServers>), ConsoleError> {
        match other {
            None => Ok((self.send(request)?, None)),
            Some(mut other) => {
                let result = other.client.send(&request);
                self.show_notes(&mut other.client);
                let answer = result.map_err(|e| with_login_hint(e, other.credentials.is_none()))?;
                Ok((answer, Some(other)))
            }
        }
    }

    /// Sends with the session's client, showing failover notes and adding a login hint to 401s.
    pub(super) fn send(&mut self, request: Request) -> Result<Answer, ConsoleError> {
        let no_credentials = self.credentials.is_none();
        let mut client = self.client.take().ok_or_else(not_connected)?;
        let result = client.send(&request);
        self.show_notes(&mut client);
        self.client = Some(client);
        result.map_err(|e| with_login_hint(e, no_credentials))
    }

    fn show_notes(&mut self, client: &mut Client) {
        for note in client.take_notes() {
            self.note(&note);
        }
    }

    pub(super) fn note(&mut self, note: &str) {
        let _ = writeln!(self.err, "Note: {note}");
        let _ = self.err.flush();
    }

    /// Writes text to the session's output (held back while [`Session::hold_output`] is on).
    pub fn print(&mut self, text: &str) -> Result<(), ConsoleError> {
        if let Some(held) = &mut self.held {
            held.push_str(text);
            return Ok(());
        }
        self.out
            .write_all(text.as_bytes())
            .and_then(|()| self.out.flush())
            .map_err(|e| ConsoleError::Usage(format!("cannot write the output: {e}")))
    }

    pub(super) fn require_client(&self) -> Result<&Client, ConsoleError> {
        self.client.as_ref().ok_or_else(not_connected)
    }

    pub(super) fn require_database(&self) -> Result<String, ConsoleError> {
        self.require_client()?;
        self.database.clone().ok_or_else(|| {
            ConsoleError::Usage(
                "no database selected: CONNECT with one (e.g. CONNECT http://host:2480/demo user password) or pass --db"
                    .into(),
            )
        })
    }
}

/// Servers named in a CREATE/DROP DATABASE URL, with the credentials typed for them.
struct OtherServers {
    /// A client for those servers.
    client: Client,
    /// Its credentials (the session adopts them after CREATE DATABASE).
    credentials: Option<Credentials>,
}

fn not_connected() -> ConsoleError {
    ConsoleError::Usage(
        "not connected: use CONNECT <url> <user> <password> (e.g. CONNECT remote:localhost:2480/demo root secret) \
         or start with --server"
            .into(),
    )
}

/// Explains a 401 when no credentials were sent.
fn with_login_hint(error: ConsoleError, no_credentials: bool) -> ConsoleError {
    match error {
        ConsoleError::Http { status: 401, reason, content, retry_after } if no_credentials => {
            let hint = "no credentials were sent: pass --user and --password (or set BASALT_PASSWORD), \
                        or CONNECT <url> <user> <password>";
            let content = if content.is_empty() { hint.to_owned() } else { format!("{content} ({hint})") };
            ConsoleError::Http { status: 401, reason, content, retry_after }
        }
        other => other,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::super::servers::Scheme;
    use super::*;

    /// A writer tests can read back.
    #[derive(Clone, Default)]
    struct Shared(Rc<RefCell<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(self.0.borrow().clone()).unwrap()
        }
    }

    fn session() -> (Session, Shared, Shared) {
        let (out, err) = (Shared::default(), Shared::default());
        let session =
            Session::new(ClientOptions::default(), Settings::default(), Box::new(out.clone()), Box::new(err.clone()));
        (session, out, err)
    }

    fn closed_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
    }

    #[test]
    fn settings_and_help_need_no_server() {
        let (mut s, out, _) = session();
        assert_eq!(s.execute("SET format json"), Ok(Flow::Continue));
        assert_eq!(s.execute("set maxwidth 12"), Ok(Flow::Continue));
        s.execute("SET").unwrap();
        assert_eq!(
            out.text(),
            "format = json\nlimit = 20\ntimeout = the server's default\nwidth = auto\nmaxwidth = 12\nmaxBinaryDisplay = 160\n"
        );
        s.execute("help").unwrap();
        assert!(out.text().contains("HA STATUS"));
        assert_eq!(s.execute("QUIT"), Ok(Flow::Exit));
        assert_eq!(s.prompt(), "orientdb> ");
    }

    #[test]
    fn sql_without_a_connection_says_how_to_connect() {
        let (mut s, _, _) = session();
        let error = s.execute("SELECT FROM V").unwrap_err();
        assert!(error.to_string().contains("not connected: use CONNECT"), "{error}");
        assert!(s.execute("LIST DATABASES").unwrap_err().to_string().contains("not connected"));
        assert!(s.execute("BEGIN").unwrap_err().to_string().contains("not connected"));
    }

    #[test]
    fn transactions_collect_until_commit() {
        let (mut s, out, _) = session();
        let server = Server { scheme: Scheme::Http, host: "127.0.0.1".into(), port: closed_port() };
        s.use_servers(vec![server], None, Some("demo".into())).unwrap();
        assert_eq!(s.prompt(), "orientdb {db=demo}> ");
        s.execute("BEGIN").unwrap();
        assert!(s.in_transaction());
        assert_eq!(s.prompt(), "orientdb {db=demo tx=[0 entries]}> ");
        s.execute("INSERT INTO V SET a = 1").unwrap();
        s.execute("INSERT INTO V SET a = 2").unwrap();
        assert!(out.text().is_empty(), "nothing is sent before COMMIT");
        let error = s.execute("CONNECT localhost:1/x u p").unwrap_err();
        assert!(error.to_string().contains("inside a transaction"), "{error}");
        assert!(s.execute("BEGIN").unwrap_err().to_string().contains("already open (2 statement(s)"));
        // COMMIT sends the batch; nothing listens, so it fails, and the transaction is over.
        assert_eq!(s.execute("COMMIT").unwrap_err().exit_code(), 2);
        assert!(!s.in_transaction());
        s.execute("BEGIN").unwrap();
        s.execute("DELETE VERTEX V").unwrap();
        let error = s.finish().unwrap_err();
        assert!(error.to_string().contains("1 statement(s) after BEGIN were not committed"), "{error}");
        s.execute("BEGIN").unwrap();
        s.execute("ROLLBACK").unwrap();
        assert_eq!(s.finish(), Ok(()));
        s.execute("BEGIN").unwrap();
        s.execute("COMMIT").unwrap();
        assert_eq!(out.text(), "Nothing to commit.\n");
    }

    #[test]
    fn bad_commands_are_usage_errors() {
        let (mut s, _, _) = session();
        let error = s.execute("SET format yaml").unwrap_err();
        assert_eq!(error.exit_code(), 1);
        assert!(error.to_string().contains("unknown format"));
        assert!(s.execute("CONNECT ftp://x").unwrap_err().to_string().contains("unsupported scheme"));
        assert!(s.execute("DROP DATABASE").unwrap_err().to_string().contains("not connected"));
    }
}
