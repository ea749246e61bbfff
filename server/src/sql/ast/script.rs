//! Script blocks and script-only statements: `IF (cond) { ... }`, `WHILE (cond) { ... }`,
//! `FOREACH ($x IN expr) { ... }` and `CONSOLE.<level> expr`, as OrientDB's grammar has them
//! (`core/src/main/grammar/OrientSQL.jjt`: `IfStatement()`, `WhileBlock()`, `ForEachBlock()`,
//! `ConsoleStatement()`). OrientDB's IF has no ELSE; neither has this one.

use super::{Expr, Ident, Span, Statement};

/// `IF (condition) { body }`.
#[derive(Debug, Clone, PartialEq)]
pub struct IfBlock {
    /// Where the `IF` keyword is.
    pub span: Span,
    /// The condition, evaluated once.
    pub condition: Expr,
    /// The statements run when it holds.
    pub body: Vec<Statement>,
}

/// `WHILE (condition) { body }`.
#[derive(Debug, Clone, PartialEq)]
pub struct WhileBlock {
    /// Where the `WHILE` keyword is.
    pub span: Span,
    /// The condition, evaluated before each round.
    pub condition: Expr,
    /// The statements of one round.
    pub body: Vec<Statement>,
}

/// `FOREACH ($variable IN source) { body }`.
#[derive(Debug, Clone, PartialEq)]
pub struct ForEachBlock {
    /// Where the `FOREACH` keyword is.
    pub span: Span,
    /// The loop variable (without `$`).
    pub variable: Ident,
    /// The values to loop over (a list, or one value).
    pub source: Expr,
    /// The statements run for each value.
    pub body: Vec<Statement>,
}

/// `CONSOLE.<level> message`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsoleStatement {
    /// Where the `CONSOLE` keyword is.
    pub span: Span,
    /// `log`, `output`, `error`, `warn` or `debug` as written (checked when it runs, as
    /// OrientDB's `OConsoleStatement.executeSimple` does).
    pub level: Ident,
    /// What to print.
    pub message: Expr,
}

/// What `COMMIT RETRY n ELSE ...` does when every attempt conflicted (OrientDB's
/// `OCommitStatement.elseStatements` / `elseFail`, run by `RetryStep.internalStart`).
#[derive(Debug, Clone, PartialEq)]
pub struct CommitElse {
    /// The statements to run then (outside the transaction, which was rolled back).
    pub body: Vec<Statement>,
    /// `FAIL` (the default when not written): the script then fails with the conflict;
    /// `CONTINUE`: it goes on after the COMMIT.
    pub fail: bool,
}

/// The statements nested in a block statement (empty for any other statement).
pub fn block_body(s: &Statement) -> &[Statement] {
    match s {
        Statement::If(b) => &b.body,
        Statement::While(b) => &b.body,
        Statement::ForEach(b) => &b.body,
        Statement::Commit { otherwise: Some(e), .. } => &e.body,
        _ => &[],
    }
}
