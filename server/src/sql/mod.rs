//! The SQL dialect of Basalt: OrientDB's SQL, parsed into an [`ast`] that the executor walks.
//!
//! Owns lexing, parsing, the AST and its canonical printing. Pure: no IO, no engine types, no
//! global state; safe to call from any thread.
//!
//! Promises:
//! - [`parse_statement`] and [`parse_script`] never panic, whatever the input; every failure is
//!   a [`ParseError`] with a 1-based line and column (in characters) inside the input, a
//!   message, and the list of what would have been accepted there;
//! - inputs are bounded: at most [`MAX_INPUT_BYTES`] bytes and [`MAX_NESTING_DEPTH`] levels of
//!   nesting (sub-expressions, subqueries, paths), beyond which a clean error is returned; the
//!   parser also stops cleanly before using [`MAX_PARSER_STACK_BYTES`] of stack, so a deep
//!   query is an error, never a stack overflow, even in debug builds;
//! - keywords are case-insensitive and contextual: a property called `type`, `name`, `in`,
//!   `out` or `value` works wherever a name is expected; identifiers may be quoted with
//!   backticks and keep their case;
//! - `Display` on the AST prints canonical SQL that parses back to an equal AST;
//! - positional parameters `?` are numbered 0, 1, ... in order of appearance over the whole
//!   parsed text (a script numbers across its statements).
//!
//! Scripts: statements are separated by `;`, or by a line break when the next statement
//! starts on a new line. Statements may span lines; outside parentheses, a line that starts
//! with a statement keyword (`LET`, `RETURN`, `SELECT`, `CREATE`, ...) starts a new statement
//! wherever the current one could end, so `LET a = SELECT FROM V` followed by a `LET b = ...`
//! line is two statements, not a SELECT with a LET clause. A SELECT's `LET` clause or an
//! INSERT's `RETURN` clause in a script therefore goes on the line of what precedes it (or
//! inside parentheses). [`parse_statement`] has no such rule.
//!
//! Blocks (`IF (c) { ... }`, `WHILE (c) { ... }`, `FOREACH ($x IN e) { ... }`) hold script
//! lines and need no `;` after their `}`; `$1` is a variable name like any other.
//!
//! Not supported yet: `IF ... ELSE` (OrientDB has none either), `BEGIN ISOLATION ...`, `FETCHPLAN`, `LOCK`, `PARALLEL`, `BATCH`,
//! `index:` targets, `UPDATE EDGE`, `CREATE EDGE ... RETRY`, range selectors `x[1..3]`,
//! `MATCH` arrows without a label (`-->`, which reads as a comment).

pub mod ast;
mod display;
pub mod exec;
mod lexer;
mod parser;

pub use ast::Statement;

/// Longest accepted input, in bytes (16 MiB).
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;

/// Deepest accepted nesting of expressions, paths, subqueries and statements.
pub const MAX_NESTING_DEPTH: usize = 256;

/// Most stack the parser uses, whatever the nesting: a safety net under
/// [`MAX_NESTING_DEPTH`] for debug builds, whose frames are several times larger. Callers
/// need this much free stack (threads get 2 MiB by default; tokio workers too).
pub const MAX_PARSER_STACK_BYTES: usize = 1024 * 1024;

/// A syntax error, located in the source text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ParseError {
    /// 1-based line of the offending token.
    pub line: usize,
    /// 1-based column of the offending token, counted in characters.
    pub column: usize,
    /// What went wrong, e.g. `expected FROM, found 'FORM'`.
    pub message: String,
    /// What would have been accepted at that point (keywords upper case, punctuation quoted,
    /// categories in words such as `an expression`); may be empty.
    pub expected: Vec<String>,
}

/// Parses exactly one statement (a trailing `;` is allowed).
pub fn parse_statement(text: &str) -> Result<Statement, ParseError> {
    parser::Parser::new(text)?.parse_single()
}

/// Parses a script: one or more statements separated by `;` or line breaks, including
/// `BEGIN`, `COMMIT [RETRY n [ELSE ...]]`, `ROLLBACK`, `LET name = ...`, `RETURN [expr]`,
/// `SLEEP n`, `CONSOLE.level expr` and the blocks `IF`, `WHILE` and `FOREACH`.
pub fn parse_script(text: &str) -> Result<Vec<Statement>, ParseError> {
    parser::Parser::new(text)?.parse_script()
}
