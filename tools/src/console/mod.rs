//! The `basalt` console: an interactive and one-shot client for Basalt servers, in the manner of
//! OrientDB's console.
//!
//! It owns: parsing server lists ([`servers`]), splitting input into statements ([`script`]),
//! recognizing console commands ([`command`]), collecting `BEGIN ... COMMIT` into one batch
//! ([`batch`]), the HTTP client with failover between servers ([`client`]), rendering tables
//! ([`table`]), running statements ([`session`]), the REPL ([`repl`]) and the command line
//! ([`cli`]).
//!
//! It speaks the HTTP API of DESIGN.md's interface contract: `POST /command/{db}/sql`,
//! `POST /batch/{db}`, `GET /listDatabases`, `POST|GET|DELETE /database/{db}` and
//! `GET /distributed/status`, with HTTP Basic auth, and reads the `{"errors": [...]}` envelope.
//! It links nothing from the server: a console built from this crate works against any server
//! that keeps the contract.

pub mod batch;
pub mod cli;
pub mod client;
pub mod command;
pub mod error;
pub mod json;
pub mod repl;
pub mod script;
pub mod servers;
pub mod session;
pub mod table;
