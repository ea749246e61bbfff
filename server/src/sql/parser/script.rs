//! Script blocks and script-only statements, after OrientDB's grammar
//! (`core/src/main/grammar/OrientSQL.jjt`, `IfStatement()`, `WhileBlock()`, `ForEachBlock()`,
//! `ConsoleStatement()`, `ReturnStatement()`):
//!
//! - `IF (cond) { ... }`, `WHILE (cond) { ... }`, `FOREACH ($x IN expr) { ... }`; a body holds
//!   statements separated by `;` or line breaks, and other blocks; a block needs no `;` after
//!   its `}` (OrientDB's tests write `}SELECT FROM c` and `};`);
//! - `CONSOLE.<level> expr` (the level is checked when it runs, as OrientDB does);
//! - `RETURN` with or without an expression.

use super::{Parser, Result};
use crate::sql::ast::{CommitElse, ConsoleStatement, Expr, ForEachBlock, IfBlock, Statement, WhileBlock};
use crate::sql::lexer::TokenKind;

impl Parser<'_> {
    /// `RETURN`, a block or `CONSOLE`, named by its first keyword (upper case). Kept out of
    /// `parse_statement` so that its frame, on every level of a nested query, stays small.
    #[inline(never)]
    pub(super) fn parse_script_statement(&mut self, keyword: &str) -> Result<Statement> {
        match keyword {
            "IF" => self.parse_if(),
            "WHILE" => self.parse_while(),
            "FOREACH" => self.parse_foreach(),
            "CONSOLE" => self.parse_console(),
            _ => self.parse_return(),
        }
    }

    /// `IF (cond) { ... }`.
    pub(super) fn parse_if(&mut self) -> Result<Statement> {
        let span = self.expect_keyword("IF")?;
        let condition = self.parse_block_condition()?;
        let body = self.parse_block_body()?;
        Ok(Statement::If(Box::new(IfBlock { span, condition, body })))
    }

    /// `WHILE (cond) { ... }`.
    pub(super) fn parse_while(&mut self) -> Result<Statement> {
        let span = self.expect_keyword("WHILE")?;
        let condition = self.parse_block_condition()?;
        let body = self.parse_block_body()?;
        Ok(Statement::While(Box::new(WhileBlock { span, condition, body })))
    }

    /// `FOREACH ($x IN expr) { ... }`.
    pub(super) fn parse_foreach(&mut self) -> Result<Statement> {
        let span = self.expect_keyword("FOREACH")?;
        self.expect(TokenKind::LParen)?;
        let variable = self.parse_let_name()?;
        self.expect_keyword("IN")?;
        let source = self.parse_nested(Parser::parse_expr)?;
        self.expect(TokenKind::RParen)?;
        let body = self.parse_block_body()?;
        Ok(Statement::ForEach(Box::new(ForEachBlock { span, variable, source, body })))
    }

    /// `CONSOLE.<level> expr`.
    pub(super) fn parse_console(&mut self) -> Result<Statement> {
        let span = self.expect_keyword("CONSOLE")?;
        self.expect(TokenKind::Dot)?;
        let level = self.parse_ident("a console level (log, output, error, warn, debug)")?;
        let message = self.parse_expr()?;
        Ok(Statement::Console(Box::new(ConsoleStatement { span, level, message })))
    }

    /// `RETURN [expr]`: no expression when the statement ends right there.
    pub(super) fn parse_return(&mut self) -> Result<Statement> {
        self.expect_keyword("RETURN")?;
        let ends = matches!(self.peek().kind, TokenKind::Semicolon | TokenKind::RBrace | TokenKind::Eof)
            || self.at_statement_boundary();
        if ends {
            return Ok(Statement::Return(None));
        }
        Ok(Statement::Return(Some(self.parse_expr()?)))
    }

    /// `ELSE { ... } [AND CONTINUE | AND FAIL]` or `ELSE CONTINUE | FAIL` after `COMMIT
    /// RETRY n` (OrientSQL.jjt `CommitStatement()`; no `AND` means FAIL).
    pub(super) fn parse_commit_else(&mut self) -> Result<Option<Box<CommitElse>>> {
        if self.at_statement_boundary() || !self.eat_keyword("ELSE") {
            return Ok(None);
        }
        let mut body = Vec::new();
        let mut fail = true;
        if self.check(&TokenKind::LBrace) {
            body = self.parse_block_body()?;
            if self.eat_keyword("AND") {
                fail = self.parse_continue_or_fail()?;
            }
        } else {
            self.note_kind(&TokenKind::LBrace);
            fail = self.parse_continue_or_fail()?;
        }
        Ok(Some(Box::new(CommitElse { body, fail })))
    }

    /// `CONTINUE` (false) or `FAIL` (true).
    fn parse_continue_or_fail(&mut self) -> Result<bool> {
        if self.eat_keyword("CONTINUE") {
            return Ok(false);
        }
        self.expect_keyword("FAIL")?;
        Ok(true)
    }

    /// `( condition )` of IF and WHILE; line breaks inside never end a statement.
    fn parse_block_condition(&mut self) -> Result<Expr> {
        self.expect(TokenKind::LParen)?;
        let condition = self.parse_nested(Parser::parse_expr)?;
        self.expect(TokenKind::RParen)?;
        Ok(condition)
    }

    /// Runs `f` as inside parentheses (a line break there does not end the script line).
    fn parse_nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.subquery_depth += 1;
        let out = f(self);
        self.subquery_depth -= 1;
        out
    }

    /// `{ statements }`: statements separated by `;` or line breaks; blocks need no `;`.
    fn parse_block_body(&mut self) -> Result<Vec<Statement>> {
        self.expect(TokenKind::LBrace)?;
        // Statements in a block are script lines again, even inside a parenthesised context.
        let outer_depth = std::mem::replace(&mut self.subquery_depth, 0);
        let body = self.parse_block_statements();
        self.subquery_depth = outer_depth;
        let body = body?;
        self.expect(TokenKind::RBrace)?;
        Ok(body)
    }

    fn parse_block_statements(&mut self) -> Result<Vec<Statement>> {
        let mut body = Vec::new();
        loop {
            while self.eat(TokenKind::Semicolon) {}
            if self.check(&TokenKind::RBrace) {
                return Ok(body);
            }
            if self.at_end() {
                self.note_kind(&TokenKind::RBrace);
                self.note("a statement");
                return Err(self.error_expected());
            }
            let statement = self.parse_statement()?;
            let block = is_block(&statement);
            body.push(statement);
            self.expect_separator(block, true)?;
        }
    }

    /// After a script statement: a `;`, a line break, the end (of input, or of the block
    /// when `in_block`), or nothing after a block's `}`.
    pub(super) fn expect_separator(&mut self, after_block: bool, in_block: bool) -> Result<()> {
        let mut separated = after_block;
        while self.eat(TokenKind::Semicolon) {
            separated = true;
        }
        let at_close = in_block && self.check(&TokenKind::RBrace);
        if separated || at_close || self.at_end() || self.peek().span.line > self.prev_end_line {
            return Ok(());
        }
        self.note_kind(&TokenKind::Semicolon);
        if in_block {
            self.note_kind(&TokenKind::RBrace);
        } else {
            self.note("end of input");
        }
        self.note("a line break");
        Err(self.error_expected())
    }
}

/// Whether a statement ends with a block's `}`.
pub(super) fn is_block(s: &Statement) -> bool {
    matches!(s, Statement::If(_) | Statement::While(_) | Statement::ForEach(_))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use crate::sql::ast::Statement;
    use crate::sql::{parse_script, parse_statement};

    #[test]
    fn blocks_parse_with_or_without_separators_and_print_back() {
        let scripts = [
            "IF (1 = 1) { SELECT 1 AS a; }",
            "LET $i = 0;WHILE ($i < 3){\n  INSERT INTO c SET value = $i;\n  LET $i = $i + 1;}SELECT FROM c",
            "FOREACH ($val IN [1, 2, 3]) {\n  INSERT INTO c SET value = $val;\n  if ($val = 2) {\n    RETURN;\n  }\n}",
            "IF ($a[0] != $b[0])\n{\nCREATE EDGE E FROM $a TO $b;\n};\ncommit retry 10;",
            "IF (true) { IF (true) { SELECT 1 } WHILE (false) {} }",
            "CONSOLE.log 'foo ' + $x",
            "LET $1 = SELECT count(*) AS count FROM c; RETURN $1[0].count",
            "BEGIN; COMMIT RETRY 3 ELSE { INSERT INTO c SET a = 1; } AND CONTINUE; SELECT 1",
            "BEGIN; COMMIT RETRY 2 ELSE FAIL\nBEGIN; COMMIT RETRY 2 ELSE CONTINUE",
            "BEGIN\nCOMMIT RETRY 10 ELSE {\nINSERT INTO c SET name = 'foo';\n}",
        ];
        for text in scripts {
            let parsed = parse_script(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            let printed = parsed.iter().map(|s| format!("{s};")).collect::<Vec<_>>().join("\n");
            let again = parse_script(&printed).unwrap_or_else(|e| panic!("{printed}: {e}"));
            assert_eq!(parsed, again, "{printed}");
        }
    }

    #[test]
    fn return_without_an_expression_ends_where_the_line_ends() {
        let s = parse_script("IF (true) { RETURN }\nRETURN\nSELECT 1").unwrap();
        assert_eq!(s.len(), 3);
        assert!(matches!(s[1], Statement::Return(None)));
        assert!(matches!(parse_statement("RETURN 'x'").unwrap(), Statement::Return(Some(_))));
    }

    #[test]
    fn broken_blocks_name_the_position_and_what_was_expected() {
        let e = parse_script("IF (1 = 1) { SELECT 1").unwrap_err();
        assert_eq!((e.line, e.column), (1, 22));
        assert!(e.expected.contains(&"'}'".to_string()), "{e:?}");
        let e = parse_script("WHILE (true)\nSELECT 1").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("'{'"), "{e}");
        let e = parse_script("FOREACH (x [1]) {}").unwrap_err();
        assert!(e.message.contains("IN"), "{e}");
        let e = parse_script("IF (true) { SELECT 1 } SELECT 2 SELECT 3").unwrap_err();
        assert_eq!(e.column, 33, "{e}");
    }
}
