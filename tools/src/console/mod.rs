//! The `basalt` console: an interactive and one-shot client for Basalt servers, in the manner of
//! OrientDB's console.
//!
//! It owns: parsing server lists ([`servers`]), splitting input into statements ([`script`]),
//! recognizing console commands ([`command`]), collecting `BEGIN ... COMMIT` into one batch
//! ([`batch`]), the HTTP client with failover between servers ([`client`]), rendering tables
//! ([`table`]), the vertical and CSV forms, terminal size and pager ([`output`]), running
//! statements ([`session`]) with the record commands and default limit ([`records`]) and the
//! schema and cluster commands ([`inspect`], [`schema`], [`ha`]), tab completion
//! ([`complete`]), the REPL ([`repl`]) and the command line ([`cli`]).
//!
//! The commands, their syntax and the shape of their output follow OrientDB's console:
//! `tools/src/main/java/com/orientechnologies/orient/console/OConsoleDatabaseApp.java` and
//! `OTableFormatter.java`, and `core/.../common/console/OConsoleApplication.java`, in
//! `orientechnologies/orientdb`. Each module names the methods it follows.
//!
//! It speaks the HTTP API of DESIGN.md's interface contract: `POST /command/{db}/sql`,
//! `GET /query/{db}/sql/{sql}/{limit}`, `POST /batch/{db}`, `GET /listDatabases`,
//! `POST|GET|DELETE /database/{db}`, `GET /document/{db}/{rid}`, `GET /server`,
//! `GET /distributed/status` and `DELETE /distributed/nodes/{name}`, with HTTP Basic auth and
//! the optional `X-Basalt-Timeout-Ms` header, and reads the `{"errors": [...]}` envelope.
//! It links nothing from the server: a console built from this crate works against any server
//! that keeps the contract.

pub mod batch;
pub mod cli;
pub mod client;
pub mod command;
pub mod complete;
pub mod error;
pub mod files;
pub mod ha;
pub mod inspect;
pub mod json;
pub mod output;
pub mod records;
pub mod repl;
pub mod schema;
pub mod script;
pub mod servers;
pub mod session;
pub mod table;
