//! MATCH: patterns of node filters joined by graph steps, then RETURN and its modifiers.
//!
//! Steps are `.fn(args)` (any function: `out`, `inE`, `outV`, `both`, ...) optionally
//! followed by a filter, or the arrows `-L->`, `<-L-`, `-L-` (always followed by a filter),
//! which are normalised to `out('L')`, `in('L')`, `both('L')`, and their unlabelled forms
//! `-->`, `<--`, `--` (`out()`, `in()`, `both()`), as in OrientDB's `OutPathItem`,
//! `InPathItem` and `BothPathItem` (`core/src/main/grammar/OrientSQL.jjt`).

use super::super::ast::{
    Expr, FunctionCall, Ident, MatchFilter, MatchFilterItem, MatchPattern, MatchStatement, MatchStep, Span,
};
use super::super::lexer::TokenKind;
use super::{Parser, Result};

/// Filter keys as written in canonical form.
const FILTER_KEYS: &[&str] =
    &["class", "as", "rid", "where", "while", "maxDepth", "optional", "depthAlias", "pathAlias"];

impl Parser<'_> {
    /// `MATCH ...`.
    pub(crate) fn parse_match(&mut self) -> Result<MatchStatement> {
        self.expect_keyword("MATCH")?;
        let mut patterns = vec![self.parse_match_pattern(false)?];
        while self.eat(TokenKind::Comma) {
            let negated = self.eat_keyword("NOT");
            patterns.push(self.parse_match_pattern(negated)?);
        }
        self.expect_keyword("RETURN")?;
        let distinct = self.is_keyword_at(0, "DISTINCT") && !matches!(self.peek_nth(1).kind, TokenKind::LParen);
        if distinct {
            self.advance();
        }
        let mut returns = vec![self.parse_aliased_expr()?];
        while self.eat(TokenKind::Comma) {
            returns.push(self.parse_aliased_expr()?);
        }
        let group_by = if self.eat_keyword_pair("GROUP", "BY")? { self.parse_expr_list()? } else { Vec::new() };
        let order_by = self.parse_order_by()?;
        let unwind = self.parse_unwind()?;
        let (skip, limit) = self.parse_skip_limit()?;
        Ok(MatchStatement { patterns, distinct, returns, group_by, order_by, unwind, skip, limit })
    }

    /// `{...}` followed by steps.
    fn parse_match_pattern(&mut self, negated: bool) -> Result<MatchPattern> {
        let origin = self.parse_match_filter()?;
        let mut steps = Vec::new();
        while let Some(step) = self.parse_match_step()? {
            steps.push(step);
        }
        Ok(MatchPattern { negated, origin, steps })
    }

    /// One step, if next.
    fn parse_match_step(&mut self) -> Result<Option<MatchStep>> {
        let token = self.peek().clone();
        match token.kind {
            TokenKind::Dot => {
                self.advance();
                let name = self.parse_ident("a graph function (out, in, both, outE, ...)")?;
                if !self.at(&TokenKind::LParen) {
                    return Err(self.error_expected());
                }
                let call = self.parse_call(name)?;
                let filter = if self.at(&TokenKind::LBrace) {
                    self.parse_match_filter()?
                } else {
                    MatchFilter { items: Vec::new(), span: token.span }
                };
                Ok(Some(MatchStep { traversal: call, filter }))
            }
            TokenKind::Minus => {
                self.advance();
                let label = self.parse_arrow_label()?;
                let direction = if self.eat(TokenKind::Gt) { "out" } else { "both" };
                Ok(Some(self.arrow_step(direction, token.span, label)?))
            }
            TokenKind::Lt => {
                self.advance();
                self.expect(TokenKind::Minus)?;
                let label = self.parse_arrow_label()?;
                Ok(Some(self.arrow_step("in", token.span, label)?))
            }
            _ => {
                self.note("'.'");
                self.note("'-' label '->'");
                self.note("'<-' label '-'");
                Ok(None)
            }
        }
    }

    /// After an arrow's first `-`: `-` (no label) or `label -`.
    fn parse_arrow_label(&mut self) -> Result<Option<Ident>> {
        if self.eat(TokenKind::Minus) {
            return Ok(None);
        }
        let label = self.parse_ident("an edge label")?;
        self.expect(TokenKind::Minus)?;
        Ok(Some(label))
    }

    /// An arrow step normalised to `direction('label')` (or `direction()` without a label),
    /// with its mandatory filter.
    fn arrow_step(&mut self, direction: &str, span: Span, label: Option<Ident>) -> Result<MatchStep> {
        let args = label.map(|l| vec![Expr::string(l.name)]).unwrap_or_default();
        let traversal = FunctionCall { name: Ident { name: direction.to_string(), span }, args };
        let filter = self.parse_match_filter()?;
        Ok(MatchStep { traversal, filter })
    }

    /// `name(args)` when `name` was already read.
    fn parse_call(&mut self, name: Ident) -> Result<FunctionCall> {
        self.expect(TokenKind::LParen)?;
        let args = self.parse_expr_list_until(TokenKind::RParen)?;
        Ok(FunctionCall { name, args })
    }

    /// `{key: value, ...}`.
    fn parse_match_filter(&mut self) -> Result<MatchFilter> {
        let open = self.expect(TokenKind::LBrace)?;
        let mut filter = MatchFilter { items: Vec::new(), span: open.span };
        if self.eat(TokenKind::RBrace) {
            return Ok(filter);
        }
        loop {
            let key = self.peek().clone();
            let word = match &key.kind {
                TokenKind::Ident(w) | TokenKind::QuotedIdent(w) => {
                    FILTER_KEYS.iter().find(|k| k.eq_ignore_ascii_case(w)).copied()
                }
                _ => None,
            };
            let Some(word) = word else {
                for k in FILTER_KEYS {
                    self.note(k);
                }
                return Err(self.error_expected());
            };
            self.advance();
            self.expect(TokenKind::Colon)?;
            let item = self.parse_match_filter_value(word)?;
            if filter.items.iter().any(|i| std::mem::discriminant(i) == std::mem::discriminant(&item)) {
                return Err(self.error_at(key.span, format!("'{word}' given twice in one MATCH filter")));
            }
            filter.items.push(item);
            if self.eat(TokenKind::RBrace) {
                return Ok(filter);
            }
            self.expect(TokenKind::Comma)?;
        }
    }

    /// The value after `key:` in a filter.
    fn parse_match_filter_value(&mut self, key: &str) -> Result<MatchFilterItem> {
        let item = match key {
            "class" => {
                let token = self.peek().clone();
                if let TokenKind::Str(name) = token.kind {
                    self.advance();
                    MatchFilterItem::Class(Ident { name, span: token.span })
                } else {
                    MatchFilterItem::Class(self.parse_ident("a class name")?)
                }
            }
            "as" => MatchFilterItem::As(self.parse_ident("an alias")?),
            "rid" => MatchFilterItem::Rid(self.parse_operand()?),
            "where" => MatchFilterItem::Where(self.parse_expr()?),
            "while" => MatchFilterItem::While(self.parse_expr()?),
            "maxDepth" => MatchFilterItem::MaxDepth(self.parse_int_arg("a depth")?),
            "optional" => {
                if self.eat_keyword("TRUE") {
                    MatchFilterItem::Optional(true)
                } else {
                    self.expect_keyword("FALSE")?;
                    MatchFilterItem::Optional(false)
                }
            }
            "depthAlias" => MatchFilterItem::DepthAlias(self.parse_ident("an alias")?),
            _ => MatchFilterItem::PathAlias(self.parse_ident("an alias")?),
        };
        Ok(item)
    }
}
