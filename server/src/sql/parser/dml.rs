//! Record-changing statements: INSERT, UPDATE, DELETE FROM / VERTEX / EDGE, CREATE VERTEX and
//! CREATE EDGE.

use super::super::ast::{
    ArithmeticOp, Assignment, CreateEdgeStatement, CreateVertexStatement, DeleteEdgeStatement, DeleteStatement,
    DeleteVertexStatement, Expr, InsertBody, InsertStatement, InsertTarget, PutItem, RecordBody, RemoveItem,
    ReturnTiming, Statement, Target, UpdateOperation, UpdateReturn, UpdateStatement,
};
use super::super::lexer::TokenKind;
use super::query::TargetKinds;
use super::{Parser, Result};

/// Keywords that end an optional expression position inside UPDATE (`RETURN AFTER` with no
/// projection is followed by one of these or by the end).
const UPDATE_TAIL_KEYWORDS: &[&str] = &["WHERE", "LIMIT", "TIMEOUT"];

impl Parser<'_> {
    /// `INSERT INTO ...`.
    pub(crate) fn parse_insert(&mut self) -> Result<InsertStatement> {
        self.expect_keyword("INSERT")?;
        self.expect_keyword("INTO")?;
        let is_cluster = self.is_keyword_at(0, "CLUSTER") && matches!(self.peek_nth(1).kind, TokenKind::Colon);
        let target = if is_cluster {
            self.advance();
            self.advance();
            InsertTarget::Cluster(self.parse_ident("a cluster name")?)
        } else {
            InsertTarget::Class(self.parse_ident("a class name")?)
        };
        // OrientSQL.jjt InsertStatement: a body, then RETURN, then a query with or without
        // FROM and parentheses (`INSERT INTO c (SELECT ...)`, `INSERT INTO c SELECT ...`).
        let query_next = self.at_query_keyword()
            || (self.at(&TokenKind::LParen)
                && ["SELECT", "TRAVERSE", "MATCH"].iter().any(|kw| self.is_keyword_at(1, kw)));
        let body = if query_next {
            None
        } else if self.at(&TokenKind::LParen) {
            Some(self.parse_insert_values()?)
        } else if self.eat_keyword("SET") {
            Some(InsertBody::Set(self.parse_assignments()?))
        } else if self.eat_keyword("CONTENT") {
            Some(InsertBody::Content(self.parse_content(true)?))
        } else if self.is_keyword_at(0, "FROM") || self.is_keyword_at(0, "RETURN") {
            None
        } else {
            self.note("SELECT");
            return Err(self.error_expected());
        };
        let mut return_expr = if self.eat_clause_keyword("RETURN") { Some(self.parse_expr()?) } else { None };
        let body = match body {
            Some(body) => body,
            None => {
                self.eat_keyword("FROM");
                let query = InsertBody::FromQuery(Box::new(self.parse_insert_source()?));
                if return_expr.is_none() && self.eat_clause_keyword("RETURN") {
                    return_expr = Some(self.parse_expr()?);
                }
                query
            }
        };
        Ok(InsertStatement { target, body, return_expr })
    }

    /// `(a, b) VALUES (1, 2), (3, 4)`; rows must match the field count.
    fn parse_insert_values(&mut self) -> Result<InsertBody> {
        self.expect(TokenKind::LParen)?;
        let fields = self.parse_ident_list("a field name")?;
        self.expect(TokenKind::RParen)?;
        self.expect_keyword("VALUES")?;
        let mut rows = Vec::new();
        loop {
            let open = self.expect(TokenKind::LParen)?;
            let row = self.parse_expr_list_until(TokenKind::RParen)?;
            if row.len() != fields.len() {
                let message = format!("VALUES row has {} values but {} fields are named", row.len(), fields.len());
                return Err(self.error_at(open.span, message));
            }
            rows.push(row);
            if !self.eat(TokenKind::Comma) {
                return Ok(InsertBody::Values { fields, rows });
            }
        }
    }

    /// The query after `INSERT ... FROM`: parenthesised or bare.
    fn parse_insert_source(&mut self) -> Result<Statement> {
        let parenthesised = self.eat(TokenKind::LParen);
        if !self.at_query_keyword() {
            self.note("SELECT");
            self.note("TRAVERSE");
            self.note("MATCH");
            return Err(self.error_expected());
        }
        if !parenthesised {
            return self.parse_statement();
        }
        let statement = self.parse_nested_statement()?;
        self.expect(TokenKind::RParen)?;
        Ok(statement)
    }

    /// `a = expr, b += expr` (at least one). The compound forms `+= -= *= /=` are OrientDB's
    /// `OUpdateItem` operators, which compute `a + (expr)` with the math operator
    /// (`OUpdateItem.calculateNewValue`): they are read as that assignment.
    pub(crate) fn parse_assignments(&mut self) -> Result<Vec<Assignment>> {
        let mut items = Vec::new();
        loop {
            let field = self.parse_ident("a field name")?;
            let compound = match self.peek().kind {
                TokenKind::Plus => Some(ArithmeticOp::Add),
                TokenKind::Minus => Some(ArithmeticOp::Sub),
                TokenKind::Star => Some(ArithmeticOp::Mul),
                TokenKind::Slash => Some(ArithmeticOp::Div),
                _ => None,
            };
            if compound.is_some() {
                self.advance();
            } else {
                self.note("'+=', '-=', '*=' or '/='");
            }
            self.expect(TokenKind::Eq)?;
            let value = self.parse_expr()?;
            let value = match compound {
                Some(op) => Expr::Arithmetic { op, left: Box::new(Expr::Field(field.clone())), right: Box::new(value) },
                None => value,
            };
            items.push(Assignment { field, value });
            if !self.eat(TokenKind::Comma) {
                return Ok(items);
            }
        }
    }

    /// The value of CONTENT or MERGE: a map, a parameter, or (when `allow_array`) an array.
    fn parse_content(&mut self, allow_array: bool) -> Result<Expr> {
        let start = self.peek().clone();
        let ok = match start.kind {
            TokenKind::LBrace | TokenKind::Question | TokenKind::Colon => true,
            TokenKind::LBracket => allow_array,
            _ => false,
        };
        if !ok {
            self.note("'{' JSON '}'");
            if allow_array {
                self.note("'[' JSON objects ']'");
            }
            self.note("a parameter");
            return Err(self.error_expected());
        }
        let content = self.parse_operand()?;
        match content {
            Expr::Map(_) | Expr::Parameter(_) => Ok(content),
            Expr::Array(_) if allow_array => Ok(content),
            _ => Err(self.error_at(start.span, "CONTENT and MERGE take a JSON object or a parameter".into())),
        }
    }

    /// `SET ...` or `CONTENT ...` if next.
    fn parse_record_body(&mut self) -> Result<Option<RecordBody>> {
        if self.eat_keyword("SET") {
            Ok(Some(RecordBody::Set(self.parse_assignments()?)))
        } else if self.eat_keyword("CONTENT") {
            Ok(Some(RecordBody::Content(self.parse_content(false)?)))
        } else {
            Ok(None)
        }
    }

    /// `UPDATE ...`.
    pub(crate) fn parse_update(&mut self) -> Result<UpdateStatement> {
        self.expect_keyword("UPDATE")?;
        let target = self.parse_target(TargetKinds::Any)?;
        let mut operations = Vec::new();
        while let Some(op) = self.parse_update_operation()? {
            operations.push(op);
        }
        if operations.is_empty() {
            return Err(self.error_expected());
        }
        let upsert = self.eat_keyword("UPSERT");
        let return_clause = if self.eat_clause_keyword("RETURN") { Some(self.parse_update_return()?) } else { None };
        let where_clause = if self.eat_keyword("WHERE") { Some(self.parse_expr()?) } else { None };
        let limit = if self.eat_keyword("LIMIT") { Some(self.parse_int_arg("a number")?) } else { None };
        let timeout = if self.eat_keyword("TIMEOUT") { Some(self.parse_int_arg("milliseconds")?) } else { None };
        Ok(UpdateStatement { target, operations, upsert, return_clause, where_clause, limit, timeout })
    }

    /// One SET / INCREMENT / REMOVE / ADD / PUT / CONTENT / MERGE clause, if next.
    fn parse_update_operation(&mut self) -> Result<Option<UpdateOperation>> {
        let op = if self.eat_keyword("SET") {
            UpdateOperation::Set(self.parse_assignments()?)
        } else if self.eat_keyword("INCREMENT") {
            UpdateOperation::Increment(self.parse_assignments()?)
        } else if self.eat_keyword("ADD") {
            UpdateOperation::Add(self.parse_assignments()?)
        } else if self.eat_keyword("REMOVE") {
            UpdateOperation::Remove(self.parse_remove_items()?)
        } else if self.eat_keyword("PUT") {
            UpdateOperation::Put(self.parse_put_items()?)
        } else if self.eat_keyword("CONTENT") {
            UpdateOperation::Content(self.parse_content(false)?)
        } else if self.eat_keyword("MERGE") {
            UpdateOperation::Merge(self.parse_content(false)?)
        } else {
            return Ok(None);
        };
        Ok(Some(op))
    }

    /// `a [= value], b`.
    fn parse_remove_items(&mut self) -> Result<Vec<RemoveItem>> {
        let mut items = Vec::new();
        loop {
            let field = self.parse_ident("a field name")?;
            let value = if self.eat(TokenKind::Eq) { Some(self.parse_expr()?) } else { None };
            items.push(RemoveItem { field, value });
            if !self.eat(TokenKind::Comma) {
                return Ok(items);
            }
        }
    }

    /// `map = key, value, other = key, value`.
    fn parse_put_items(&mut self) -> Result<Vec<PutItem>> {
        let mut items = Vec::new();
        loop {
            let field = self.parse_ident("a field name")?;
            self.expect(TokenKind::Eq)?;
            let key = self.parse_expr()?;
            self.expect(TokenKind::Comma)?;
            let value = self.parse_expr()?;
            items.push(PutItem { field, key, value });
            if !self.eat(TokenKind::Comma) {
                return Ok(items);
            }
        }
    }

    /// `BEFORE|AFTER [projection]` after UPDATE's RETURN.
    fn parse_update_return(&mut self) -> Result<UpdateReturn> {
        let timing = if self.eat_keyword("BEFORE") {
            ReturnTiming::Before
        } else if self.eat_keyword("AFTER") {
            ReturnTiming::After
        } else {
            return Err(self.error_expected());
        };
        let ends_here = matches!(self.peek().kind, TokenKind::Eof | TokenKind::Semicolon | TokenKind::RParen)
            || UPDATE_TAIL_KEYWORDS.iter().any(|kw| self.is_keyword_at(0, kw))
            || self.at_statement_boundary();
        let projection = if ends_here {
            for kw in UPDATE_TAIL_KEYWORDS {
                self.note(kw);
            }
            self.note("a projection");
            None
        } else {
            Some(self.parse_expr()?)
        };
        Ok(UpdateReturn { timing, projection })
    }

    /// `DELETE FROM ...`, `DELETE VERTEX ...` or `DELETE EDGE ...`.
    pub(crate) fn parse_delete(&mut self) -> Result<Statement> {
        self.expect_keyword("DELETE")?;
        if self.eat_keyword("VERTEX") {
            self.eat_keyword("FROM");
            let target = self.parse_target(TargetKinds::Any)?;
            let where_clause = if self.eat_keyword("WHERE") { Some(self.parse_expr()?) } else { None };
            let limit = if self.eat_keyword("LIMIT") { Some(self.parse_int_arg("a number")?) } else { None };
            return Ok(Statement::DeleteVertex(Box::new(DeleteVertexStatement { target, where_clause, limit })));
        }
        if self.eat_keyword("EDGE") {
            return Ok(Statement::DeleteEdge(Box::new(self.parse_delete_edge()?)));
        }
        self.expect_keyword("FROM")?;
        let target = self.parse_target(TargetKinds::Any)?;
        let return_before = if self.eat_clause_keyword("RETURN") {
            self.expect_keyword("BEFORE")?;
            true
        } else {
            false
        };
        let where_clause = if self.eat_keyword("WHERE") { Some(self.parse_expr()?) } else { None };
        let limit = if self.eat_keyword("LIMIT") { Some(self.parse_int_arg("a number")?) } else { None };
        let unsafe_mode = self.eat_keyword("UNSAFE");
        Ok(Statement::Delete(Box::new(DeleteStatement { target, return_before, where_clause, limit, unsafe_mode })))
    }

    /// After `DELETE EDGE`: `[rid | [rids]] | [class]`, `[FROM x] [TO y] [WHERE] [LIMIT]`.
    fn parse_delete_edge(&mut self) -> Result<DeleteEdgeStatement> {
        let start = self.peek().span;
        let mut edges = None;
        let mut class = None;
        let clause_next =
            ["FROM", "TO", "WHERE", "LIMIT"].iter().any(|kw| self.is_keyword_at(0, kw)) || self.at_statement_boundary();
        match self.peek().kind {
            TokenKind::Rid { .. } | TokenKind::LBracket => edges = Some(self.parse_target(TargetKinds::Records)?),
            TokenKind::Ident(_) if clause_next => {}
            TokenKind::Ident(_) | TokenKind::QuotedIdent(_) => class = Some(self.parse_ident("an edge class")?),
            _ => {
                self.note("an edge RID");
                self.note("'[' RIDs ']'");
                self.note("an edge class");
            }
        }
        let from = if self.eat_keyword("FROM") { Some(self.parse_target(TargetKinds::Records)?) } else { None };
        let to = if self.eat_keyword("TO") { Some(self.parse_target(TargetKinds::Records)?) } else { None };
        let where_clause = if self.eat_keyword("WHERE") { Some(self.parse_expr()?) } else { None };
        let limit = if self.eat_keyword("LIMIT") { Some(self.parse_int_arg("a number")?) } else { None };
        if edges.is_none() && class.is_none() && from.is_none() && to.is_none() && where_clause.is_none() {
            let message = "DELETE EDGE needs an edge RID, an edge class, FROM, TO or WHERE".to_string();
            return Err(self.error_at(start, message));
        }
        Ok(DeleteEdgeStatement { edges, class, from, to, where_clause, limit })
    }

    /// After `CREATE VERTEX`: `[class] [CLUSTER name] [SET ... | CONTENT ...]`.
    pub(crate) fn parse_create_vertex(&mut self) -> Result<CreateVertexStatement> {
        let class = if ["SET", "CONTENT", "CLUSTER"].iter().any(|kw| self.is_keyword_at(0, kw))
            || self.at(&TokenKind::LParen)
            || self.at_statement_boundary()
        {
            None
        } else {
            match self.peek().kind {
                TokenKind::Ident(_) | TokenKind::QuotedIdent(_) => Some(self.parse_ident("a vertex class")?),
                _ => {
                    self.note("a vertex class");
                    None
                }
            }
        };
        let cluster = if self.eat_keyword("CLUSTER") { Some(self.parse_ident("a cluster name")?) } else { None };
        let body = if self.at(&TokenKind::LParen) {
            Some(self.parse_insert_values()?)
        } else if self.eat_keyword("SET") {
            Some(InsertBody::Set(self.parse_assignments()?))
        } else if self.eat_keyword("CONTENT") {
            Some(InsertBody::Content(self.parse_content(true)?))
        } else {
            self.note("'(' fields ')' VALUES");
            None
        };
        Ok(CreateVertexStatement { class, cluster, body })
    }

    /// After `CREATE EDGE`: `[class] [UPSERT] FROM x TO y [SET ... | CONTENT ...]`.
    pub(crate) fn parse_create_edge(&mut self) -> Result<CreateEdgeStatement> {
        let class = if self.is_keyword_at(0, "FROM") || self.is_keyword_at(0, "UPSERT") {
            None
        } else {
            self.note("FROM");
            self.note("UPSERT");
            Some(self.parse_ident("an edge class")?)
        };
        let upsert = self.eat_keyword("UPSERT");
        self.expect_keyword("FROM")?;
        let from = self.parse_target(TargetKinds::Records)?;
        self.expect_keyword("TO")?;
        let to: Target = self.parse_target(TargetKinds::Records)?;
        let body = self.parse_record_body()?;
        Ok(CreateEdgeStatement { class, upsert, from, to, body })
    }
}
