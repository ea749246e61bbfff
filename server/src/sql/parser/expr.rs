//! Expressions and conditions, by precedence climbing.
//!
//! Binding powers, loosest first: `OR` (1), `AND` (2), prefix `NOT` (its operand starts at 3),
//! predicates `= <> < <= > >= LIKE MATCHES [NOT] IN CONTAINS... BETWEEN IS INSTANCEOF` (4,
//! not chainable), `+ -` (5), `* / %` (6), unary `-` (7), then postfix `.x`, `.f()`, `[i]`
//! binding tightest. `AND`/`OR` chains are collected into one n-ary node. Every level of
//! the tree built here (recursion, postfix steps, left-associative chains) counts against
//! [`super::super::MAX_NESTING_DEPTH`].

use super::super::ast::{
    ArithmeticOp, CompareOp, ContainsOp, Expr, FunctionCall, Ident, Literal, MapEntry, Member, RecordAttribute,
    RecordId,
};
use super::super::lexer::TokenKind;
use super::{Parser, Result};

/// Operand floor for the right side of `OR`.
const BP_OR_OPERAND: u8 = 2;
/// Operand floor for the right side of `AND` and for `NOT`.
const BP_AND_OPERAND: u8 = 3;
/// Binding power of predicates.
const BP_PREDICATE: u8 = 4;
/// Binding power of `+ -`.
const BP_ADDITIVE: u8 = 5;
/// Binding power of `* / %`.
const BP_MULTIPLICATIVE: u8 = 6;
/// Operand floor of unary minus.
const BP_UNARY: u8 = 7;

/// An infix operator found at the current token.
enum Infix {
    Or,
    And,
    Compare(CompareOp),
    In { negated: bool },
    Contains(ContainsOp),
    Between,
    Is,
    InstanceOf,
    Arithmetic(ArithmeticOp),
}

impl Infix {
    fn binding_power(&self) -> u8 {
        match self {
            Infix::Or => 1,
            Infix::And => 2,
            Infix::Arithmetic(ArithmeticOp::Add | ArithmeticOp::Sub) => BP_ADDITIVE,
            Infix::Arithmetic(_) => BP_MULTIPLICATIVE,
            _ => BP_PREDICATE,
        }
    }
}

impl Parser<'_> {
    /// A full expression or condition.
    pub(crate) fn parse_expr(&mut self) -> Result<Expr> {
        self.parse_bp(1)
    }

    /// The whole text as one expression (`eval('1 + 4')`).
    pub(crate) fn parse_whole_expr(mut self) -> Result<Expr> {
        self.stack_base = super::stack_address();
        let expr = self.parse_expr()?;
        self.expect_end()?;
        Ok(expr)
    }

    /// An operand that cannot be a bare condition (for `BETWEEN` bounds, `CUSTOM` values, ...).
    pub(crate) fn parse_operand(&mut self) -> Result<Expr> {
        self.parse_bp(BP_ADDITIVE)
    }

    /// An expression whose operators all bind at least as tightly as `min`.
    ///
    /// This function and the other links of the recursion (`parse_prefix`, `parse_primary`,
    /// `parse_parenthesised`, `parse_postfix`, ...) are kept small, with rare paths moved to
    /// helpers: debug builds give every local of a function its own stack slot, and the deepest
    /// accepted nesting must fit a 2 MiB thread stack.
    fn parse_bp(&mut self, min: u8) -> Result<Expr> {
        self.enter()?;
        let mut left = self.parse_prefix()?;
        let mut levels = 1;
        let mut after_predicate = false;
        while let Some(op) = self.peek_infix(min) {
            let is_predicate = op.binding_power() == BP_PREDICATE;
            if is_predicate && after_predicate {
                return Err(self.chained_comparison_error());
            }
            after_predicate = is_predicate;
            left = self.parse_infix(op, left)?;
            self.enter()?;
            levels += 1;
        }
        self.leave(levels);
        Ok(left)
    }

    #[cold]
    fn chained_comparison_error(&mut self) -> super::ParseError {
        let span = self.peek().span;
        self.error_at(span, "comparisons cannot be chained; combine them with AND or parentheses".into())
    }

    /// The infix operator at the current token binding at least as tightly as `min`, without
    /// consuming it.
    fn peek_infix(&mut self, min: u8) -> Option<Infix> {
        let op = self.peek_any_infix();
        if op.is_none() {
            self.note("an operator");
        }
        op.filter(|op| op.binding_power() >= min)
    }

    fn peek_any_infix(&mut self) -> Option<Infix> {
        let kind = self.peek().kind.clone();
        let op = match kind {
            TokenKind::Eq => Infix::Compare(CompareOp::Eq),
            TokenKind::Ne => Infix::Compare(CompareOp::Ne),
            TokenKind::Lt => Infix::Compare(CompareOp::Lt),
            TokenKind::Le => Infix::Compare(CompareOp::Le),
            TokenKind::Gt => Infix::Compare(CompareOp::Gt),
            TokenKind::Ge => Infix::Compare(CompareOp::Ge),
            TokenKind::Plus => Infix::Arithmetic(ArithmeticOp::Add),
            TokenKind::Minus => Infix::Arithmetic(ArithmeticOp::Sub),
            TokenKind::Star => Infix::Arithmetic(ArithmeticOp::Mul),
            TokenKind::Slash => Infix::Arithmetic(ArithmeticOp::Div),
            TokenKind::Percent => Infix::Arithmetic(ArithmeticOp::Mod),
            TokenKind::Ident(word) => match word.to_ascii_uppercase().as_str() {
                "OR" => Infix::Or,
                "AND" => Infix::And,
                "LIKE" => Infix::Compare(CompareOp::Like),
                "MATCHES" => Infix::Compare(CompareOp::Matches),
                "IN" => Infix::In { negated: false },
                "NOT" if self.is_keyword_at(1, "IN") => Infix::In { negated: true },
                "CONTAINS" => Infix::Contains(ContainsOp::Contains),
                "CONTAINSALL" => Infix::Contains(ContainsOp::ContainsAll),
                "CONTAINSANY" => Infix::Contains(ContainsOp::ContainsAny),
                "CONTAINSKEY" => Infix::Contains(ContainsOp::ContainsKey),
                "CONTAINSVALUE" => Infix::Contains(ContainsOp::ContainsValue),
                "CONTAINSTEXT" => Infix::Contains(ContainsOp::ContainsText),
                "BETWEEN" => Infix::Between,
                "IS" => Infix::Is,
                "INSTANCEOF" => Infix::InstanceOf,
                _ => return None,
            },
            _ => return None,
        };
        Some(op)
    }

    /// Consumes the operator `op` and its right side.
    fn parse_infix(&mut self, op: Infix, left: Expr) -> Result<Expr> {
        match op {
            Infix::Or => self.parse_chain(left, "OR", BP_OR_OPERAND).map(Expr::Or),
            Infix::And => self.parse_chain(left, "AND", BP_AND_OPERAND).map(Expr::And),
            Infix::Compare(op) => {
                let (left, right) = self.parse_right_operand(left, BP_ADDITIVE)?;
                Ok(Expr::Compare { op, left, right })
            }
            Infix::In { negated } => {
                if negated {
                    self.advance();
                }
                let (left, right) = self.parse_right_operand(left, BP_ADDITIVE)?;
                Ok(Expr::In { left, right, negated })
            }
            Infix::Contains(op) => {
                let (left, right) = self.parse_right_operand(left, BP_ADDITIVE)?;
                // Only a parenthesised condition can arrive here as a condition.
                Ok(if op.accepts_condition() && right.is_condition() {
                    Expr::ContainsCondition { op, left, condition: right }
                } else {
                    Expr::Contains { op, left, right }
                })
            }
            Infix::Between => self.parse_between(left),
            Infix::Is => self.parse_is(left),
            Infix::InstanceOf => self.parse_instanceof(left),
            Infix::Arithmetic(op) => {
                let additive = op == ArithmeticOp::Add || op == ArithmeticOp::Sub;
                let floor = if additive { BP_MULTIPLICATIVE } else { BP_UNARY };
                let (left, right) = self.parse_right_operand(left, floor)?;
                Ok(Expr::Arithmetic { op, left, right })
            }
        }
    }

    /// Consumes a one-token operator and parses its right operand.
    fn parse_right_operand(&mut self, left: Expr, floor: u8) -> Result<(Box<Expr>, Box<Expr>)> {
        self.advance();
        let right = self.parse_bp(floor)?;
        Ok((Box::new(left), Box::new(right)))
    }

    /// `left AND b AND c` / `left OR b OR c`, flattened.
    fn parse_chain(&mut self, left: Expr, keyword: &str, floor: u8) -> Result<Vec<Expr>> {
        let mut items = vec![left];
        while self.eat_keyword(keyword) {
            items.push(self.parse_bp(floor)?);
        }
        Ok(items)
    }

    /// `value BETWEEN low AND high`.
    fn parse_between(&mut self, value: Expr) -> Result<Expr> {
        self.advance();
        let low = Box::new(self.parse_bp(BP_ADDITIVE)?);
        self.expect_keyword("AND")?;
        let high = Box::new(self.parse_bp(BP_ADDITIVE)?);
        Ok(Expr::Between { value: Box::new(value), low, high })
    }

    /// `value IS [NOT] NULL|DEFINED`.
    fn parse_is(&mut self, value: Expr) -> Result<Expr> {
        self.advance();
        let negated = self.eat_keyword("NOT");
        let value = Box::new(value);
        if self.eat_keyword("NULL") {
            Ok(Expr::IsNull { value, negated })
        } else if self.eat_keyword("DEFINED") {
            Ok(Expr::IsDefined { value, negated })
        } else {
            Err(self.error_expected())
        }
    }

    /// `value INSTANCEOF Class` or `INSTANCEOF 'Class'`.
    fn parse_instanceof(&mut self, value: Expr) -> Result<Expr> {
        self.advance();
        let token = self.peek().clone();
        let class = match token.kind {
            TokenKind::Str(name) => {
                self.advance();
                Ident { name, span: token.span }
            }
            _ => self.parse_ident("a class name")?,
        };
        Ok(Expr::InstanceOf { value: Box::new(value), class })
    }

    /// Prefix `-`, prefix `NOT`, or a primary with its postfix chain.
    fn parse_prefix(&mut self) -> Result<Expr> {
        if self.check(&TokenKind::Minus) {
            return self.parse_negation();
        }
        if self.is_keyword_at(0, "NOT") {
            self.advance();
            return Ok(Expr::Not(Box::new(self.parse_bp(BP_AND_OPERAND)?)));
        }
        let primary = self.parse_primary()?;
        self.parse_postfix(primary)
    }

    /// `-operand`, folded into numeric literals.
    fn parse_negation(&mut self) -> Result<Expr> {
        self.advance();
        // `-<integer>` directly: lets i64::MIN through. A postfix after the digits binds
        // tighter than the minus, so then take the general path.
        if let TokenKind::Integer(n) = self.peek().kind {
            if !matches!(self.peek_nth(1).kind, TokenKind::Dot | TokenKind::LBracket) {
                let digits = self.advance();
                return 0i64
                    .checked_sub_unsigned(n)
                    .map(Expr::integer)
                    .ok_or_else(|| self.error_at(digits.span, format!("integer -{n} is out of range")));
            }
        }
        let operand = self.parse_bp(BP_UNARY)?;
        Ok(negate(operand))
    }

    /// `.field`, `.@attr`, `.$var`, `.method(args)`, `[index]` and `[condition]` chains.
    fn parse_postfix(&mut self, mut expr: Expr) -> Result<Expr> {
        let mut levels = 0;
        loop {
            // `a..b` inside brackets is a range: the dots are not member steps.
            if self.check(&TokenKind::Dot) && !matches!(self.peek_nth(1).kind, TokenKind::Dot) {
                expr = self.parse_member(expr)?;
            } else if self.check(&TokenKind::LBracket) {
                expr = self.parse_index(expr)?;
            } else {
                break;
            }
            self.enter()?;
            levels += 1;
        }
        self.leave(levels);
        Ok(expr)
    }

    /// `.name`, `.name(args)`, `.$var` or `.@attr` after `target`.
    fn parse_member(&mut self, target: Expr) -> Result<Expr> {
        self.advance();
        let token = self.peek().clone();
        let member = match token.kind {
            TokenKind::Ident(name) | TokenKind::QuotedIdent(name) => {
                self.advance();
                let name = Ident { name, span: token.span };
                if self.check(&TokenKind::LParen) {
                    let args = self.parse_call_args()?;
                    let call = Box::new(FunctionCall { name, args });
                    return Ok(Expr::MethodCall { target: Box::new(target), call });
                }
                Member::Field(name)
            }
            TokenKind::Variable(name) => {
                self.advance();
                Member::Variable(Ident { name, span: token.span })
            }
            TokenKind::Attribute(_) => Member::Attribute(self.parse_record_attribute()?),
            _ => {
                self.note("a field or method name");
                return Err(self.error_expected());
            }
        };
        Ok(Expr::Member { target: Box::new(target), member })
    }

    /// `[index]`, `[a, b]`, `[from..to]`, `[from...to]`, `[condition]` or a condition on the
    /// element itself, `[= 'x']`, `[LIKE 'a%']`, `[IN [...]]` (OrientDB's `OArraySelector`,
    /// `OArraySingleValuesSelector`, `OArrayRangeSelector` and `OCollectionFilter`), after
    /// `target`.
    fn parse_index(&mut self, target: Expr) -> Result<Expr> {
        self.advance();
        let target = Box::new(target);
        if let Some(condition) = self.parse_element_condition()? {
            self.expect(TokenKind::RBracket)?;
            return Ok(Expr::Filter { target, condition: Box::new(condition) });
        }
        let inner = self.parse_bp(1)?;
        if self.check(&TokenKind::Dot) {
            return self.parse_range_rest(target, inner);
        }
        if self.check(&TokenKind::Comma) {
            let mut indexes = vec![inner];
            while self.eat(TokenKind::Comma) {
                indexes.push(self.parse_operand()?);
            }
            self.expect(TokenKind::RBracket)?;
            return Ok(Expr::Index { target, index: Box::new(Expr::Array(indexes)) });
        }
        self.expect(TokenKind::RBracket)?;
        Ok(if inner.is_condition() {
            Expr::Filter { target, condition: Box::new(inner) }
        } else {
            Expr::Index { target, index: Box::new(inner) }
        })
    }

    /// A bracket opening with an operator (`= 'x'`, `< 5`, `LIKE 'a%'`, `[NOT] IN [...]`): a
    /// condition on the element itself, read as `$current <op> ...`.
    fn parse_element_condition(&mut self) -> Result<Option<Expr>> {
        let span = self.peek().span;
        let op = match self.peek_any_infix() {
            Some(op @ (Infix::Compare(_) | Infix::In { .. })) => op,
            _ => return Ok(None),
        };
        let current = Expr::Variable(Ident { name: "current".into(), span });
        self.parse_infix(op, current).map(Some)
    }

    /// `..to]` or `...to]` after the first position of a range.
    fn parse_range_rest(&mut self, target: Box<Expr>, from: Expr) -> Result<Expr> {
        self.expect(TokenKind::Dot)?;
        self.expect(TokenKind::Dot)?;
        let inclusive = self.eat(TokenKind::Dot);
        let to = self.parse_operand()?;
        self.expect(TokenKind::RBracket)?;
        Ok(Expr::Range { target, from: Box::new(from), to: Box::new(to), inclusive })
    }

    /// `@rid`, `@class`, ... at the current token.
    pub(crate) fn parse_record_attribute(&mut self) -> Result<RecordAttribute> {
        let token = self.peek().clone();
        if let TokenKind::Attribute(name) = &token.kind {
            if let Some(attr) = RecordAttribute::from_name(name) {
                self.advance();
                return Ok(attr);
            }
            let known: Vec<String> = RecordAttribute::ALL.iter().map(|a| format!("@{}", a.name())).collect();
            let message = format!("unknown record attribute '@{name}'; expected one of {}", known.join(", "));
            return Err(self.error_at(token.span, message));
        }
        self.note("a record attribute");
        Err(self.error_expected())
    }

    /// Literals, parameters, names, calls, variables, attributes, `(...)`, `[...]`, `{...}`.
    fn parse_primary(&mut self) -> Result<Expr> {
        match self.peek().kind {
            TokenKind::LParen => self.parse_parenthesised(),
            TokenKind::LBracket => {
                self.advance();
                Ok(Expr::Array(self.parse_expr_list_until(TokenKind::RBracket)?))
            }
            TokenKind::LBrace => self.parse_map(),
            TokenKind::Ident(_) | TokenKind::QuotedIdent(_) => self.parse_name(),
            _ => self.parse_atom(),
        }
    }

    /// A field, a call `name(args)`, or `true` / `false` / `null`.
    fn parse_name(&mut self) -> Result<Expr> {
        let token = self.advance();
        let (name, quoted) = match token.kind {
            TokenKind::Ident(name) => (name, false),
            TokenKind::QuotedIdent(name) => (name, true),
            // parse_primary only calls this on a name; stay graceful regardless.
            _ => return Err(self.error_at(token.span, "expected a name".into())),
        };
        if !quoted && is_literal_keyword(&name) {
            return Ok(Expr::Literal(match name.to_ascii_uppercase().as_str() {
                "TRUE" => Literal::Bool(true),
                "FALSE" => Literal::Bool(false),
                _ => Literal::Null,
            }));
        }
        let name = Ident { name, span: token.span };
        if self.check(&TokenKind::LParen) {
            let args = self.parse_call_args()?;
            return Ok(Expr::Call(Box::new(FunctionCall { name, args })));
        }
        Ok(Expr::Field(name))
    }

    /// Single-token primaries: numbers, strings, RIDs, parameters, `$var`, `@attr`.
    fn parse_atom(&mut self) -> Result<Expr> {
        if let Some(parameter) = self.try_parse_parameter()? {
            return Ok(Expr::Parameter(parameter));
        }
        let token = self.peek().clone();
        let expr = match token.kind {
            TokenKind::Integer(n) => {
                let value =
                    i64::try_from(n).map_err(|_| self.error_at(token.span, format!("integer {n} is out of range")))?;
                Expr::integer(value)
            }
            TokenKind::Float(v) => Expr::Literal(Literal::Float(v)),
            TokenKind::Str(s) => Expr::Literal(Literal::String(s)),
            TokenKind::Rid { cluster, position } => Expr::Literal(Literal::Rid(RecordId { cluster, position })),
            TokenKind::Variable(name) => Expr::Variable(Ident { name, span: token.span }),
            TokenKind::Attribute(_) => return Ok(Expr::Attribute(self.parse_record_attribute()?)),
            _ => {
                self.note("an expression");
                return Err(self.error_expected());
            }
        };
        self.advance();
        Ok(expr)
    }

    /// `( query )`, `( expr )` or `( expr, expr, ... )` (an array, as in `IN ('a', 'b')`).
    fn parse_parenthesised(&mut self) -> Result<Expr> {
        self.advance();
        if self.at_query_keyword() {
            return self.parse_subquery_rest();
        }
        let first = self.parse_bp(1)?;
        if self.check(&TokenKind::Comma) {
            return self.parse_tuple_rest(first);
        }
        self.expect(TokenKind::RParen)?;
        Ok(first)
    }

    /// The query and `)` of a parenthesised subquery.
    fn parse_subquery_rest(&mut self) -> Result<Expr> {
        let statement = self.parse_nested_statement()?;
        self.expect(TokenKind::RParen)?;
        Ok(Expr::Subquery(Box::new(statement)))
    }

    /// `, b, c)` after the first item of `(a, b, c)`.
    fn parse_tuple_rest(&mut self, first: Expr) -> Result<Expr> {
        let mut items = vec![first];
        while self.eat(TokenKind::Comma) {
            items.push(self.parse_bp(1)?);
        }
        self.expect(TokenKind::RParen)?;
        Ok(Expr::Array(items))
    }

    /// Whether a query statement (SELECT, TRAVERSE, MATCH) starts here.
    pub(crate) fn at_query_keyword(&mut self) -> bool {
        ["SELECT", "TRAVERSE", "MATCH"].iter().any(|kw| self.is_keyword_at(0, kw))
    }

    /// `(args)` of a call: empty, `*`, or expressions.
    fn parse_call_args(&mut self) -> Result<Vec<Expr>> {
        self.expect(TokenKind::LParen)?;
        if self.at(&TokenKind::Star) && matches!(self.peek_nth(1).kind, TokenKind::RParen) {
            self.advance();
            self.advance();
            return Ok(vec![Expr::Star]);
        }
        self.parse_expr_list_until(TokenKind::RParen)
    }

    /// Comma-separated expressions up to and including `close` (possibly none).
    pub(crate) fn parse_expr_list_until(&mut self, close: TokenKind) -> Result<Vec<Expr>> {
        let mut items = Vec::new();
        if self.eat(close.clone()) {
            return Ok(items);
        }
        loop {
            items.push(self.parse_expr()?);
            if self.eat(close.clone()) {
                return Ok(items);
            }
            self.expect(TokenKind::Comma)?;
        }
    }

    /// A map key and its `:`.
    fn parse_map_key(&mut self) -> Result<String> {
        let token = self.peek().clone();
        let key = match token.kind {
            TokenKind::Str(s) | TokenKind::Ident(s) | TokenKind::QuotedIdent(s) => s,
            TokenKind::Attribute(name) => format!("@{name}"),
            _ => {
                self.note("a map key");
                return Err(self.error_expected());
            }
        };
        self.advance();
        self.expect(TokenKind::Colon)?;
        Ok(key)
    }

    /// `{ key: value, ... }` with string, bare-name or `@attr` keys.
    fn parse_map(&mut self) -> Result<Expr> {
        self.expect(TokenKind::LBrace)?;
        let mut entries = Vec::new();
        if self.eat(TokenKind::RBrace) {
            return Ok(Expr::Map(entries));
        }
        loop {
            let key = self.parse_map_key()?;
            let value = self.parse_bp(1)?;
            entries.push(MapEntry { key, value });
            if self.eat(TokenKind::RBrace) {
                return Ok(Expr::Map(entries));
            }
            self.expect(TokenKind::Comma)?;
        }
    }
}

/// `TRUE`, `FALSE`, `NULL` (bare words only).
fn is_literal_keyword(word: &str) -> bool {
    ["TRUE", "FALSE", "NULL"].iter().any(|kw| word.eq_ignore_ascii_case(kw))
}

/// Unary minus, folded into numeric literals when that is exact.
fn negate(operand: Expr) -> Expr {
    match operand {
        Expr::Literal(Literal::Integer(n)) if n.checked_neg().is_some() => Expr::integer(-n),
        Expr::Literal(Literal::Float(v)) => Expr::Literal(Literal::Float(-v)),
        other => Expr::Negate(Box::new(other)),
    }
}
