//! Recursive-descent parser over the lexer's token stream.
//!
//! Owns token lookahead, keyword matching (contextual, case-insensitive, never on quoted
//! names), error construction with "expected ..." lists, the nesting bound, script
//! splitting and statement dispatch. The grammar itself lives in the submodules: `expr`
//! (expressions and conditions), `query` (SELECT, TRAVERSE, shared clauses), `dml` (INSERT,
//! UPDATE, DELETE, CREATE VERTEX/EDGE), `schema` (DDL) and `match_` (MATCH).
//!
//! Error positions: an error names the token where parsing could not go on; the `expected`
//! list gathers every alternative tried at that very token (a classic "furthest failure"
//! record), so it lists the optional clauses that could have come there too.

mod dml;
mod expr;
mod match_;
mod query;
mod schema;
mod script;

use std::collections::VecDeque;

use super::ast::{Ident, IntArg, Parameter, Span, Statement};
use super::lexer::{Lexer, Token, TokenKind};
use super::{ParseError, MAX_INPUT_BYTES, MAX_NESTING_DEPTH, MAX_PARSER_STACK_BYTES};

type Result<T> = std::result::Result<T, ParseError>;

/// Statement keywords accepted at the start of a statement, for the "unknown statement" list.
const STATEMENT_KEYWORDS: &[&str] = &[
    "SELECT", "TRAVERSE", "MATCH", "INSERT", "UPDATE", "DELETE", "CREATE", "ALTER", "DROP", "TRUNCATE", "EXPLAIN",
    "PROFILE", "BEGIN", "COMMIT", "ROLLBACK", "LET", "RETURN", "SLEEP", "IF", "WHILE", "FOREACH", "CONSOLE",
];

/// Statement keywords that may follow `LET name =` without parentheses.
const LET_STATEMENT_KEYWORDS: &[&str] = &["SELECT", "TRAVERSE", "MATCH", "INSERT", "UPDATE", "DELETE", "CREATE"];

/// The parser state for one input.
pub(crate) struct Parser<'a> {
    /// The token source.
    lexer: Lexer<'a>,
    /// Tokens read from the lexer but not yet consumed.
    lookahead: VecDeque<Token>,
    /// How many tokens were consumed; identifies "this position" for the expected list.
    consumed: usize,
    /// Line on which the last consumed token ended (0 before the first).
    prev_end_line: u32,
    /// Alternatives tried at token number `expected_at`.
    expected: Vec<String>,
    /// The token number (`consumed` at the time) that `expected` describes.
    expected_at: usize,
    /// Current nesting depth (bounded by MAX_NESTING_DEPTH).
    depth: usize,
    /// Next positional parameter index.
    next_positional: usize,
    /// Address of a local at the entry point; see [`Parser::enter`].
    stack_base: usize,
    /// Parsing a script: a line break before a statement keyword may end a statement.
    script_mode: bool,
    /// How many parenthesised subqueries enclose the current token.
    subquery_depth: usize,
}

/// The address of a local in the current frame: a cheap, safe reading of how deep the stack is.
#[inline(never)]
fn stack_address() -> usize {
    let marker = 0u8;
    std::ptr::addr_of!(marker) as usize
}

impl<'a> Parser<'a> {
    /// A parser over `text`, or an error if the text is over [`MAX_INPUT_BYTES`].
    pub(crate) fn new(text: &'a str) -> Result<Self> {
        if text.len() > MAX_INPUT_BYTES {
            return Err(ParseError {
                line: 1,
                column: 1,
                message: format!("input is {} bytes, more than the limit of {MAX_INPUT_BYTES} bytes", text.len()),
                expected: Vec::new(),
            });
        }
        Ok(Parser {
            lexer: Lexer::new(text),
            lookahead: VecDeque::new(),
            consumed: 0,
            prev_end_line: 0,
            expected: Vec::new(),
            expected_at: usize::MAX,
            depth: 0,
            next_positional: 0,
            stack_base: stack_address(),
            script_mode: false,
            subquery_depth: 0,
        })
    }

    // ---- entry points -------------------------------------------------------------------

    /// Exactly one statement, optionally followed by `;`s.
    pub(crate) fn parse_single(mut self) -> Result<Statement> {
        self.stack_base = stack_address();
        let statement = self.parse_statement()?;
        while self.eat(TokenKind::Semicolon) {}
        self.expect_end()?;
        Ok(statement)
    }

    /// One or more statements separated by `;` or by line breaks.
    pub(crate) fn parse_script(mut self) -> Result<Vec<Statement>> {
        self.stack_base = stack_address();
        self.script_mode = true;
        let mut statements = Vec::new();
        while self.check(&TokenKind::Semicolon) {
            self.advance();
        }
        loop {
            if self.at_end() {
                if statements.is_empty() {
                    self.note("a statement");
                    return Err(self.error_expected());
                }
                return Ok(statements);
            }
            let statement = self.parse_statement()?;
            let block = script::is_block(&statement);
            statements.push(statement);
            self.expect_separator(block, false)?;
        }
    }

    fn expect_end(&mut self) -> Result<()> {
        if self.at_end() {
            return Ok(());
        }
        self.note_kind(&TokenKind::Semicolon);
        self.note("end of input");
        Err(self.error_expected())
    }

    fn at_end(&mut self) -> bool {
        matches!(self.peek().kind, TokenKind::Eof)
    }

    // ---- statements ---------------------------------------------------------------------

    /// Any statement, dispatched on its first keyword(s).
    pub(crate) fn parse_statement(&mut self) -> Result<Statement> {
        self.enter()?;
        let Some(word) = self.peek_keyword() else {
            return Err(self.unknown_statement());
        };
        let statement = match word.as_str() {
            "SELECT" => Statement::Select(Box::new(self.parse_select()?)),
            "TRAVERSE" => Statement::Traverse(Box::new(self.parse_traverse()?)),
            "MATCH" => Statement::Match(Box::new(self.parse_match()?)),
            "INSERT" => Statement::Insert(Box::new(self.parse_insert()?)),
            "UPDATE" => Statement::Update(Box::new(self.parse_update()?)),
            "DELETE" => self.parse_delete()?,
            "CREATE" => self.parse_create()?,
            "ALTER" => self.parse_alter()?,
            "DROP" => self.parse_drop()?,
            "TRUNCATE" => self.parse_truncate()?,
            "EXPLAIN" | "PROFILE" => {
                self.advance();
                let inner = Box::new(self.parse_statement()?);
                if word == "EXPLAIN" {
                    Statement::Explain(inner)
                } else {
                    Statement::Profile(inner)
                }
            }
            "BEGIN" => {
                self.advance();
                Statement::Begin
            }
            "COMMIT" => self.parse_commit()?,
            "ROLLBACK" => {
                self.advance();
                Statement::Rollback
            }
            "LET" => self.parse_script_let()?,
            "RETURN" | "IF" | "WHILE" | "FOREACH" | "CONSOLE" => self.parse_script_statement(&word)?,
            "SLEEP" => {
                self.advance();
                Statement::Sleep(self.parse_int_arg("a number of milliseconds")?)
            }
            _ => return Err(self.unknown_statement()),
        };
        self.leave(1);
        Ok(statement)
    }

    fn unknown_statement(&mut self) -> ParseError {
        if let Some(err) = self.lexer_error() {
            return err;
        }
        for kw in STATEMENT_KEYWORDS {
            self.note(kw);
        }
        let token = self.peek().clone();
        let found = self.describe_found(&token);
        let mut message = match token.kind {
            TokenKind::Ident(_) => {
                format!("unknown statement {found}; expected one of {}", STATEMENT_KEYWORDS.join(", "))
            }
            _ => format!("expected a statement ({}), found {found}", STATEMENT_KEYWORDS.join(", ")),
        };
        if let TokenKind::Ident(word) = &token.kind {
            if let Some(hint) = closest_keyword(word, STATEMENT_KEYWORDS.iter().copied()) {
                message.push_str(&format!("; did you mean {hint}?"));
            }
        }
        self.error_at(token.span, message)
    }

    fn parse_commit(&mut self) -> Result<Statement> {
        self.expect_keyword("COMMIT")?;
        let retry = if self.eat_keyword("RETRY") {
            let token = self.peek().clone();
            match token.kind {
                // OSqlScriptExecutor.executeInternal refuses "Invalid retry number: 0".
                TokenKind::Integer(0) => {
                    return Err(self.error_at(token.span, "invalid retry number 0: RETRY needs at least 1".into()))
                }
                TokenKind::Integer(n) if n <= u64::from(u32::MAX) => {
                    self.advance();
                    Some(n as u32)
                }
                _ => {
                    self.note("a number of retries");
                    return Err(self.error_expected());
                }
            }
        } else {
            None
        };
        let otherwise = match retry {
            Some(_) => self.parse_commit_else()?,
            None => None,
        };
        Ok(Statement::Commit { retry, otherwise })
    }

    /// Script `LET [$]name = <statement or expression>`.
    fn parse_script_let(&mut self) -> Result<Statement> {
        self.expect_keyword("LET")?;
        let name = self.parse_let_name()?;
        self.expect(TokenKind::Eq)?;
        let is_statement = self.peek_keyword().is_some_and(|w| LET_STATEMENT_KEYWORDS.contains(&w.as_str()));
        let value = if is_statement {
            super::ast::LetValue::Statement(Box::new(self.parse_statement()?))
        } else {
            super::ast::LetValue::Expr(self.parse_expr()?)
        };
        Ok(Statement::Let { name, value })
    }

    /// A LET variable name: `$name` or `name`.
    pub(crate) fn parse_let_name(&mut self) -> Result<Ident> {
        let token = self.peek().clone();
        match token.kind {
            TokenKind::Variable(name) => {
                self.advance();
                Ok(Ident { name, span: token.span })
            }
            _ => self.parse_ident("a variable name"),
        }
    }

    // ---- tokens -------------------------------------------------------------------------

    fn fill(&mut self, n: usize) {
        while self.lookahead.len() <= n {
            let token = self.lexer.next_token();
            self.lookahead.push_back(token);
        }
    }

    /// The current token.
    pub(crate) fn peek(&mut self) -> &Token {
        self.peek_nth(0)
    }

    /// The token `n` places ahead.
    pub(crate) fn peek_nth(&mut self, n: usize) -> &Token {
        self.fill(n);
        &self.lookahead[n]
    }

    /// Consumes the current token.
    pub(crate) fn advance(&mut self) -> Token {
        self.fill(0);
        let token = match self.lookahead.pop_front() {
            Some(t) => t,
            None => self.lexer.next_token(),
        };
        if !matches!(token.kind, TokenKind::Eof | TokenKind::Error) {
            self.consumed += 1;
            self.prev_end_line = token.end_line;
        }
        token
    }

    /// The current token's keyword (upper case) if it is a bare word.
    pub(crate) fn peek_keyword(&mut self) -> Option<String> {
        match &self.peek().kind {
            TokenKind::Ident(word) => Some(word.to_ascii_uppercase()),
            _ => None,
        }
    }

    /// Whether the token `n` ahead is the bare word `kw` (no expected-list bookkeeping).
    pub(crate) fn is_keyword_at(&mut self, n: usize, kw: &str) -> bool {
        matches!(&self.peek_nth(n).kind, TokenKind::Ident(word) if word.eq_ignore_ascii_case(kw))
    }

    /// Whether the current token is the keyword `kw`; if not, `kw` joins the expected list.
    pub(crate) fn at_keyword(&mut self, kw: &str) -> bool {
        if self.is_keyword_at(0, kw) {
            true
        } else {
            self.note(kw);
            false
        }
    }

    /// Consumes the keyword `kw` if it is next.
    pub(crate) fn eat_keyword(&mut self, kw: &str) -> bool {
        if self.at_keyword(kw) {
            self.advance();
            true
        } else {
            false
        }
    }

    /// Consumes the keyword `kw` or fails.
    pub(crate) fn expect_keyword(&mut self, kw: &str) -> Result<Span> {
        if self.at_keyword(kw) {
            Ok(self.advance().span)
        } else {
            Err(self.error_expected())
        }
    }

    /// Whether a script statement starts here rather than the current one going on: in a
    /// script, outside parentheses, a statement keyword that begins a new line ends the
    /// statement wherever the statement could stop (`LET b = ...` after `LET a = SELECT FROM V`
    /// is a new line of the script, not the SELECT's LET clause).
    pub(crate) fn at_statement_boundary(&mut self) -> bool {
        if !self.script_mode || self.subquery_depth > 0 || self.peek().span.line <= self.prev_end_line {
            return false;
        }
        STATEMENT_KEYWORDS.iter().any(|kw| self.is_keyword_at(0, kw))
    }

    /// Consumes an optional clause keyword (`LET`, `RETURN`) unless a script statement starts
    /// there (see [`Parser::at_statement_boundary`]).
    pub(crate) fn eat_clause_keyword(&mut self, kw: &str) -> bool {
        if self.at_statement_boundary() {
            return false;
        }
        self.eat_keyword(kw)
    }

    /// A statement inside parentheses (a subquery), where line breaks never end it.
    pub(crate) fn parse_nested_statement(&mut self) -> Result<Statement> {
        self.subquery_depth += 1;
        let statement = self.parse_statement()?;
        self.subquery_depth -= 1;
        Ok(statement)
    }

    /// Consumes keywords `a` then `b` (`GROUP BY`, `IF EXISTS`) if `a` is next.
    pub(crate) fn eat_keyword_pair(&mut self, a: &str, b: &str) -> Result<bool> {
        if self.is_keyword_at(0, a) {
            self.advance();
            self.expect_keyword(b)?;
            Ok(true)
        } else {
            self.note(&format!("{a} {b}"));
            Ok(false)
        }
    }

    /// Whether the current token is `kind`; if not, it joins the expected list.
    pub(crate) fn at(&mut self, kind: &TokenKind) -> bool {
        if &self.peek().kind == kind {
            true
        } else {
            self.note_kind(kind);
            false
        }
    }

    /// Whether the current token is `kind` (no expected-list bookkeeping).
    pub(crate) fn check(&mut self, kind: &TokenKind) -> bool {
        &self.peek().kind == kind
    }

    /// Consumes a punctuation token of `kind` if it is next.
    pub(crate) fn eat(&mut self, kind: TokenKind) -> bool {
        if self.at(&kind) {
            self.advance();
            true
        } else {
            false
        }
    }

    /// Consumes a punctuation token of `kind` or fails.
    pub(crate) fn expect(&mut self, kind: TokenKind) -> Result<Token> {
        if self.at(&kind) {
            Ok(self.advance())
        } else {
            Err(self.error_expected())
        }
    }

    /// An identifier (bare or quoted; bare keywords are accepted as names here).
    pub(crate) fn parse_ident(&mut self, what: &str) -> Result<Ident> {
        let token = self.peek().clone();
        match token.kind {
            TokenKind::Ident(name) | TokenKind::QuotedIdent(name) => {
                self.advance();
                Ok(Ident { name, span: token.span })
            }
            _ => {
                self.note(what);
                Err(self.error_expected())
            }
        }
    }

    /// A comma-separated list of identifiers (at least one).
    pub(crate) fn parse_ident_list(&mut self, what: &str) -> Result<Vec<Ident>> {
        let mut names = vec![self.parse_ident(what)?];
        while self.eat(TokenKind::Comma) {
            names.push(self.parse_ident(what)?);
        }
        Ok(names)
    }

    /// `n`, `-n`, `?` or `:name`.
    pub(crate) fn parse_int_arg(&mut self, what: &str) -> Result<IntArg> {
        if let Some(parameter) = self.try_parse_parameter()? {
            return Ok(IntArg::Parameter(parameter));
        }
        let negative = self.eat(TokenKind::Minus);
        let token = self.peek().clone();
        if let TokenKind::Integer(n) = token.kind {
            self.advance();
            let value = if negative { 0i64.checked_sub_unsigned(n) } else { i64::try_from(n).ok() };
            return value
                .map(IntArg::Value)
                .ok_or_else(|| self.error_at(token.span, format!("integer {n} is out of range")));
        }
        self.note(what);
        self.note("a parameter");
        Err(self.error_expected())
    }

    /// `?` or `:name` if next (the name must touch the colon).
    pub(crate) fn try_parse_parameter(&mut self) -> Result<Option<Parameter>> {
        let token = self.peek().clone();
        match token.kind {
            TokenKind::Question => {
                self.advance();
                let index = self.next_positional;
                self.next_positional += 1;
                Ok(Some(Parameter::Positional { index, span: token.span }))
            }
            TokenKind::Colon => {
                let next = self.peek_nth(1).clone();
                match next.kind {
                    TokenKind::Ident(name) if next.span.offset as usize == token.end => {
                        self.advance();
                        self.advance();
                        Ok(Some(Parameter::Named { name, span: token.span }))
                    }
                    _ => {
                        self.advance();
                        self.note("a parameter name right after ':'");
                        Err(self.error_expected())
                    }
                }
            }
            _ => Ok(None),
        }
    }

    // ---- nesting bound ------------------------------------------------------------------

    /// One more nesting level; fails cleanly beyond [`MAX_NESTING_DEPTH`] levels, or when the
    /// parser has used [`MAX_PARSER_STACK_BYTES`] of stack since its entry point (frames are
    /// several times larger in debug builds, where that budget is reached first).
    pub(crate) fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING_DEPTH || stack_address().abs_diff(self.stack_base) > MAX_PARSER_STACK_BYTES {
            return Err(self.too_deep());
        }
        Ok(())
    }

    #[cold]
    fn too_deep(&mut self) -> ParseError {
        let span = self.peek().span;
        self.error_at(span, format!("query nested too deeply (more than {MAX_NESTING_DEPTH} levels)"))
    }

    /// Leaves `levels` nesting levels entered with [`Parser::enter`].
    pub(crate) fn leave(&mut self, levels: usize) {
        assert!(self.depth >= levels, "nesting depth underflow");
        self.depth -= levels;
    }

    // ---- errors -------------------------------------------------------------------------

    /// Records `what` as acceptable at the current token.
    pub(crate) fn note(&mut self, what: &str) {
        if self.expected_at != self.consumed {
            self.expected.clear();
            self.expected_at = self.consumed;
        }
        if !self.expected.iter().any(|e| e == what) {
            self.expected.push(what.to_string());
        }
    }

    fn note_kind(&mut self, kind: &TokenKind) {
        self.note(kind.describe());
    }

    fn lexer_error(&mut self) -> Option<ParseError> {
        if matches!(self.peek().kind, TokenKind::Error) {
            self.lexer.error.clone()
        } else {
            None
        }
    }

    /// "expected A, B or C, found X" at the current token.
    pub(crate) fn error_expected(&mut self) -> ParseError {
        if let Some(err) = self.lexer_error() {
            return err;
        }
        let token = self.peek().clone();
        let expected = if self.expected_at == self.consumed { self.expected.clone() } else { Vec::new() };
        let found = self.describe_found(&token);
        let mut message = if expected.is_empty() {
            format!("unexpected {found}")
        } else {
            format!("expected {}, found {found}", join_alternatives(&expected))
        };
        if let TokenKind::Ident(word) = &token.kind {
            let keywords = expected.iter().map(String::as_str).filter(|e| e.chars().all(|c| c.is_ascii_uppercase()));
            if let Some(hint) = closest_keyword(word, keywords) {
                message.push_str(&format!("; did you mean {hint}?"));
            }
        }
        ParseError { line: token.span.line as usize, column: token.span.column as usize, message, expected }
    }

    /// An error with a custom message at `span` (the expected list is kept if it is for there).
    pub(crate) fn error_at(&mut self, span: Span, message: String) -> ParseError {
        if let Some(err) = self.lexer_error() {
            if self.peek().span.offset <= span.offset {
                return err;
            }
        }
        let expected = if self.expected_at == self.consumed && self.peek().span.offset == span.offset {
            self.expected.clone()
        } else {
            Vec::new()
        };
        ParseError { line: span.line as usize, column: span.column as usize, message, expected }
    }

    /// How a token reads after "found".
    pub(crate) fn describe_found(&self, token: &Token) -> String {
        match &token.kind {
            TokenKind::Eof => "end of input".to_string(),
            TokenKind::Str(_) => format!("string {}", self.source_excerpt(token)),
            _ => format!("'{}'", self.source_excerpt(token)),
        }
    }

    fn source_excerpt(&self, token: &Token) -> String {
        let src = self.lexer.source();
        let start = token.span.offset as usize;
        let text = src.get(start..token.end).unwrap_or("");
        const MAX_CHARS: usize = 40;
        if text.chars().count() > MAX_CHARS {
            let cut: String = text.chars().take(MAX_CHARS).collect();
            format!("{cut}...")
        } else {
            text.to_string()
        }
    }
}

/// "A", "A or B", "A, B or C".
fn join_alternatives(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// The keyword closest to `word` when the difference looks like a typo.
fn closest_keyword<'k>(word: &str, keywords: impl Iterator<Item = &'k str>) -> Option<&'k str> {
    let upper = word.to_ascii_uppercase();
    if upper.chars().count() < 3 {
        return None;
    }
    keywords
        .filter(|kw| *kw != upper)
        .map(|kw| (edit_distance(&upper, kw), kw))
        .filter(|(d, kw)| *d <= if kw.len() <= 4 { 1 } else { 2 })
        .min_by_key(|(d, _)| *d)
        .map(|(_, kw)| kw)
}

/// Optimal-string-alignment distance (adjacent swaps cost 1), for typo hints.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1).min(rows[i][j - 1] + 1).min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typo_hints() {
        assert_eq!(edit_distance("FORM", "FROM"), 1);
        assert_eq!(edit_distance("SELEC", "SELECT"), 1);
        assert_eq!(closest_keyword("form", ["FROM", "WHERE"].into_iter()), Some("FROM"));
        assert_eq!(closest_keyword("xyz", ["FROM", "WHERE"].into_iter()), None);
        assert_eq!(join_alternatives(&["A".into(), "B".into(), "C".into()]), "A, B or C");
    }
}
