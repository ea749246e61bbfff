//! SELECT and TRAVERSE, and the clauses other statements share with them: targets,
//! projections, LET, ORDER BY, GROUP BY, UNWIND, SKIP and LIMIT.

use super::super::ast::{
    AliasedExpr, Expr, IntArg, LetItem, OrderItem, Projection, RecordId, SelectStatement, SortDirection, Target,
    Timeout, TimeoutStrategy, TraverseStatement, TraverseStrategy,
};
use super::super::lexer::TokenKind;
use super::{Parser, Result};

/// Which target forms a statement accepts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum TargetKinds {
    /// Everything: class, cluster, RID(s), subquery, parameter, variable.
    Any,
    /// Records only (edge endpoints): RID(s), subquery, parameter, variable.
    Records,
}

impl Parser<'_> {
    /// `SELECT ...`.
    pub(crate) fn parse_select(&mut self) -> Result<SelectStatement> {
        self.expect_keyword("SELECT")?;
        let mut select = SelectStatement::default();
        // `SELECT distinct(x)` is the function; `SELECT DISTINCT x` the modifier.
        if self.is_keyword_at(0, "DISTINCT") && !matches!(self.peek_nth(1).kind, TokenKind::LParen) {
            self.advance();
            select.distinct = true;
        }
        if !self.at_keyword("FROM") {
            select.projections = self.parse_projections(true)?;
            self.check_misspelled_from(&select.projections)?;
        }
        if self.eat_keyword("FROM") {
            select.from = Some(self.parse_target(TargetKinds::Any)?);
        }
        if self.eat_clause_keyword("LET") {
            select.let_items = self.parse_let_items()?;
        }
        if self.eat_keyword("WHERE") {
            select.where_clause = Some(self.parse_expr()?);
        }
        if self.eat_keyword_pair("GROUP", "BY")? {
            select.group_by = self.parse_expr_list()?;
        }
        select.order_by = self.parse_order_by()?;
        select.unwind = self.parse_unwind()?;
        (select.skip, select.limit) = self.parse_skip_limit()?;
        if self.eat_keyword("TIMEOUT") {
            let ms = self.parse_int_arg("milliseconds")?;
            let strategy = if self.eat_keyword("RETURN") {
                Some(TimeoutStrategy::Return)
            } else if self.eat_keyword("EXCEPTION") {
                Some(TimeoutStrategy::Exception)
            } else {
                None
            };
            select.timeout = Some(Timeout { ms, strategy });
        }
        Ok(select)
    }

    /// `SELECT FORM V`: a lone bare name that looks like FROM followed by another name is
    /// almost surely a misspelt FROM; say so at the name rather than at what follows.
    fn check_misspelled_from(&mut self, projections: &[Projection]) -> Result<()> {
        let [Projection::Expr(AliasedExpr { expr: Expr::Field(name), alias: None })] = projections else {
            return Ok(());
        };
        let next_is_name = matches!(self.peek().kind, TokenKind::Ident(_) | TokenKind::QuotedIdent(_));
        if !next_is_name || self.is_clause_keyword() {
            return Ok(());
        }
        if super::edit_distance(&name.name.to_ascii_uppercase(), "FROM") <= 2 && !name.name.eq_ignore_ascii_case("FROM")
        {
            let message = format!("expected FROM or a projection list, found '{}'; did you mean FROM?", name.name);
            let mut err = self.error_at(name.span, message);
            err.expected = vec!["FROM".into(), "a projection".into()];
            return Err(err);
        }
        Ok(())
    }

    /// Whether the current token is a keyword that may continue a SELECT.
    fn is_clause_keyword(&mut self) -> bool {
        ["FROM", "LET", "WHERE", "GROUP", "ORDER", "UNWIND", "SKIP", "LIMIT", "AS"]
            .iter()
            .any(|kw| self.is_keyword_at(0, kw))
    }

    /// Projection items: `*` (when `allow_star`) or `expr [AS alias]`, comma separated.
    pub(crate) fn parse_projections(&mut self, allow_star: bool) -> Result<Vec<Projection>> {
        let mut items = Vec::new();
        loop {
            if allow_star && self.eat(TokenKind::Star) {
                items.push(Projection::All);
            } else {
                items.push(Projection::Expr(self.parse_aliased_expr()?));
            }
            if !self.eat(TokenKind::Comma) {
                return Ok(items);
            }
        }
    }

    /// `expr [AS alias]`.
    pub(crate) fn parse_aliased_expr(&mut self) -> Result<AliasedExpr> {
        let expr = self.parse_expr()?;
        let alias = if self.eat_keyword("AS") { Some(self.parse_ident("an alias")?) } else { None };
        Ok(AliasedExpr { expr, alias })
    }

    /// Comma-separated expressions (at least one).
    pub(crate) fn parse_expr_list(&mut self) -> Result<Vec<Expr>> {
        let mut items = vec![self.parse_expr()?];
        while self.eat(TokenKind::Comma) {
            items.push(self.parse_expr()?);
        }
        Ok(items)
    }

    /// `[ORDER BY expr [ASC|DESC], ...]`.
    pub(crate) fn parse_order_by(&mut self) -> Result<Vec<OrderItem>> {
        let mut items = Vec::new();
        if !self.eat_keyword_pair("ORDER", "BY")? {
            return Ok(items);
        }
        loop {
            let expr = self.parse_expr()?;
            let direction = if self.eat_keyword("DESC") {
                SortDirection::Desc
            } else {
                self.eat_keyword("ASC");
                SortDirection::Asc
            };
            items.push(OrderItem { expr, direction });
            if !self.eat(TokenKind::Comma) {
                return Ok(items);
            }
        }
    }

    /// `[UNWIND a, b]`.
    pub(crate) fn parse_unwind(&mut self) -> Result<Vec<super::super::ast::Ident>> {
        if self.eat_keyword("UNWIND") {
            self.parse_ident_list("a field name")
        } else {
            Ok(Vec::new())
        }
    }

    /// `[SKIP n] [LIMIT n]` in either order.
    pub(crate) fn parse_skip_limit(&mut self) -> Result<(Option<IntArg>, Option<IntArg>)> {
        let mut skip = None;
        let mut limit = None;
        if self.eat_keyword("SKIP") {
            skip = Some(self.parse_int_arg("a number")?);
            if self.eat_keyword("LIMIT") {
                limit = Some(self.parse_int_arg("a number")?);
            }
        } else if self.eat_keyword("LIMIT") {
            limit = Some(self.parse_int_arg("a number")?);
            if self.eat_keyword("SKIP") {
                skip = Some(self.parse_int_arg("a number")?);
            }
        }
        Ok((skip, limit))
    }

    /// `LET $a = expr, b = (SELECT ...)` items (after the LET keyword).
    fn parse_let_items(&mut self) -> Result<Vec<LetItem>> {
        let mut items = Vec::new();
        loop {
            let name = self.parse_let_name()?;
            self.expect(TokenKind::Eq)?;
            let value = self.parse_expr()?;
            items.push(LetItem { name, value });
            if !self.eat(TokenKind::Comma) {
                return Ok(items);
            }
        }
    }

    /// A statement target.
    pub(crate) fn parse_target(&mut self, kinds: TargetKinds) -> Result<Target> {
        if let Some(parameter) = self.try_parse_parameter()? {
            return Ok(Target::Parameter(parameter));
        }
        let token = self.peek().clone();
        match token.kind {
            TokenKind::Rid { cluster, position } => {
                self.advance();
                Ok(Target::Rid(RecordId { cluster, position }))
            }
            TokenKind::LBracket => Ok(Target::Rids(self.parse_rid_list()?)),
            TokenKind::LParen => {
                self.advance();
                if !self.at_query_keyword() {
                    self.note("SELECT");
                    self.note("TRAVERSE");
                    self.note("MATCH");
                    return Err(self.error_expected());
                }
                let statement = self.parse_nested_statement()?;
                self.expect(TokenKind::RParen)?;
                Ok(Target::Subquery(Box::new(statement)))
            }
            TokenKind::Variable(name) => {
                self.advance();
                Ok(Target::Variable(super::super::ast::Ident { name, span: token.span }))
            }
            TokenKind::Ident(_) | TokenKind::QuotedIdent(_) if kinds == TargetKinds::Any => {
                if let Some(target) = self.parse_prefixed_target()? {
                    return Ok(target);
                }
                Ok(Target::Class(self.parse_ident("a class name")?))
            }
            _ => {
                if kinds == TargetKinds::Any {
                    self.note("a class name");
                    self.note("cluster:name");
                }
                for what in ["a RID", "'[' RIDs ']'", "'(' subquery ')'", "a parameter", "a $variable"] {
                    self.note(what);
                }
                Err(self.error_expected())
            }
        }
    }

    /// `cluster:name`, `metadata:name` or `index:name`, if the next tokens are one. Kept out
    /// of [`Self::parse_target`], which nested subqueries recurse through: its frame stays small.
    #[inline(never)]
    fn parse_prefixed_target(&mut self) -> Result<Option<Target>> {
        let word = match &self.peek().kind {
            TokenKind::Ident(w) => w.to_ascii_uppercase(),
            _ => return Ok(None),
        };
        if !matches!(self.peek_nth(1).kind, TokenKind::Colon) {
            return Ok(None);
        }
        let make: fn(super::super::ast::Ident) -> Target = match word.as_str() {
            "CLUSTER" => Target::Cluster,
            "METADATA" => Target::Metadata,
            "INDEX" => Target::Index,
            _ => return Ok(None),
        };
        self.advance();
        self.advance();
        let what = match word.as_str() {
            "CLUSTER" => "a cluster name",
            "METADATA" => "a metadata name",
            _ => "an index name",
        };
        Ok(Some(make(self.parse_ident(what)?)))
    }

    /// `[#1:2, #1:3]`.
    pub(crate) fn parse_rid_list(&mut self) -> Result<Vec<RecordId>> {
        self.expect(TokenKind::LBracket)?;
        let mut rids = Vec::new();
        if self.eat(TokenKind::RBracket) {
            return Ok(rids);
        }
        loop {
            let token = self.peek().clone();
            let TokenKind::Rid { cluster, position } = token.kind else {
                self.note("a RID");
                return Err(self.error_expected());
            };
            self.advance();
            rids.push(RecordId { cluster, position });
            if self.eat(TokenKind::RBracket) {
                return Ok(rids);
            }
            self.expect(TokenKind::Comma)?;
        }
    }

    /// `TRAVERSE ...`.
    pub(crate) fn parse_traverse(&mut self) -> Result<TraverseStatement> {
        self.expect_keyword("TRAVERSE")?;
        let projections = self.parse_projections(true)?;
        self.expect_keyword("FROM")?;
        let target = self.parse_target(TargetKinds::Any)?;
        let max_depth = if self.eat_keyword("MAXDEPTH") { Some(self.parse_int_arg("a depth")?) } else { None };
        let while_condition = if self.eat_keyword("WHILE") { Some(self.parse_expr()?) } else { None };
        let limit = if self.eat_keyword("LIMIT") { Some(self.parse_int_arg("a number")?) } else { None };
        let strategy = if self.eat_keyword("STRATEGY") {
            if self.eat_keyword("DEPTH_FIRST") {
                Some(TraverseStrategy::DepthFirst)
            } else if self.eat_keyword("BREADTH_FIRST") {
                Some(TraverseStrategy::BreadthFirst)
            } else {
                return Err(self.error_expected());
            }
        } else {
            None
        };
        Ok(TraverseStatement { projections, target, max_depth, while_condition, limit, strategy })
    }
}
