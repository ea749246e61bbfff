//! Canonical SQL printing of the AST.
//!
//! Promises: for every tree the parser produces, the printed text parses back to an equal
//! tree. Canonical form: upper-case keywords, single spaces, `, ` between items, strings in
//! single quotes, map keys in double quotes, parentheses only where precedence needs them,
//! names backtick-quoted when they are not plain words or could read as a keyword.
//!
//! Layout: names, literals and expressions here; clauses and statements in `statements.rs`.
//!
//! Known limits (trees the parser never produces): NaN or infinite floats, an empty name,
//! `SELECT` with neither projections nor FROM, and `SELECT DISTINCT` whose first projection
//! prints starting with `(` (it would read as a call of the `distinct()` function).

use std::fmt::{self, Display, Formatter, Write};

use super::ast::*;
use super::lexer::{is_ident_continue, is_ident_start};

mod statements;

/// Words the parser treats as keywords somewhere a name could also stand; names spelled like
/// them are printed in backticks.
const RESERVED: &[&str] = &[
    "ADD",
    "AFTER",
    "ALTER",
    "AND",
    "AS",
    "ASC",
    "BEFORE",
    "BEGIN",
    "BETWEEN",
    "BY",
    "CLUSTER",
    "COMMIT",
    "CONTAINS",
    "CONTAINSALL",
    "CONTAINSANY",
    "CONTAINSKEY",
    "CONTAINSTEXT",
    "CONTAINSVALUE",
    "CONTENT",
    "CREATE",
    "DEFINED",
    "DELETE",
    "DESC",
    "DISTINCT",
    "DROP",
    "EDGE",
    "EXPLAIN",
    "FALSE",
    "FROM",
    "GROUP",
    "IF",
    "IN",
    "INCREMENT",
    "INSERT",
    "INSTANCEOF",
    "INTO",
    "IS",
    "LET",
    "LIKE",
    "LIMIT",
    "MATCH",
    "MATCHES",
    "MAXDEPTH",
    "MERGE",
    "NOT",
    "NULL",
    "ON",
    "OR",
    "ORDER",
    "PROFILE",
    "PUT",
    "REMOVE",
    "RETURN",
    "ROLLBACK",
    "SELECT",
    "SET",
    "SKIP",
    "SLEEP",
    "STRATEGY",
    "TIMEOUT",
    "TO",
    "TRAVERSE",
    "TRUE",
    "TRUNCATE",
    "UNSAFE",
    "UNWIND",
    "UPDATE",
    "UPSERT",
    "VALUES",
    "VERTEX",
    "WHERE",
    "WHILE",
];

/// Reserved words that are still safe, and common, as function names (`in('x')`, `set(a)`,
/// `if(c, a, b)`, `distinct(x)`): no expression position tests for them as keywords.
const SAFE_FUNCTION_NAMES: &[&str] = &["IN", "SET", "IF", "DISTINCT"];

fn is_plain_word(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(is_ident_start) && chars.all(is_ident_continue)
}

fn is_reserved(name: &str) -> bool {
    RESERVED.iter().any(|kw| kw.eq_ignore_ascii_case(name))
}

pub(super) fn write_quoted_ident(f: &mut Formatter<'_>, name: &str) -> fmt::Result {
    f.write_char('`')?;
    for c in name.chars() {
        if c == '`' || c == '\\' {
            f.write_char('\\')?;
        }
        f.write_char(c)?;
    }
    f.write_char('`')
}

fn write_name(f: &mut Formatter<'_>, name: &str, quote: bool) -> fmt::Result {
    if quote {
        write_quoted_ident(f, name)
    } else {
        f.write_str(name)
    }
}

impl Display for Ident {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_name(f, &self.name, !is_plain_word(&self.name) || is_reserved(&self.name))
    }
}

/// A function or method name.
fn write_function_name(f: &mut Formatter<'_>, name: &Ident) -> fmt::Result {
    let safe = SAFE_FUNCTION_NAMES.iter().any(|kw| kw.eq_ignore_ascii_case(&name.name));
    write_name(f, &name.name, !is_plain_word(&name.name) || (is_reserved(&name.name) && !safe))
}

/// A `$variable` or LET name.
pub(super) fn write_variable(f: &mut Formatter<'_>, name: &Ident) -> fmt::Result {
    let digits_first = name.name.starts_with(|c: char| c.is_ascii_digit()) && name.name.chars().all(is_ident_continue);
    if is_plain_word(&name.name) || digits_first {
        write!(f, "${}", name.name)
    } else {
        write_quoted_ident(f, &name.name)
    }
}

pub(super) fn write_string(f: &mut Formatter<'_>, value: &str, quote: char) -> fmt::Result {
    f.write_char(quote)?;
    for c in value.chars() {
        match c {
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if c == quote => write!(f, "\\{c}")?,
            c if (c as u32) < 0x20 || c == '\u{7f}' => write!(f, "\\u{:04x}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char(quote)
}

pub(super) fn write_list<T>(
    f: &mut Formatter<'_>,
    items: &[T],
    mut each: impl FnMut(&mut Formatter<'_>, &T) -> fmt::Result,
) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        each(f, item)?;
    }
    Ok(())
}

impl Display for RecordId {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "#{}:{}", self.cluster, self.position)
    }
}

impl Display for Literal {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Null => f.write_str("null"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Integer(n) => write!(f, "{n}"),
            // `{:?}` keeps a `.0` or an exponent, so the value reads back as a float.
            Literal::Float(v) => write!(f, "{v:?}"),
            Literal::String(s) => write_string(f, s, '\''),
            Literal::Rid(rid) => write!(f, "{rid}"),
        }
    }
}

impl Display for Parameter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Parameter::Positional { .. } => f.write_str("?"),
            Parameter::Named { name, .. } => write!(f, ":{name}"),
        }
    }
}

impl Display for RecordAttribute {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "@{}", self.name())
    }
}

impl Display for IntArg {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            IntArg::Value(v) => write!(f, "{v}"),
            IntArg::Parameter(p) => write!(f, "{p}"),
        }
    }
}

impl Display for FunctionCall {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_function_name(f, &self.name)?;
        f.write_char('(')?;
        write_list(f, &self.args, |f, a| write!(f, "{a}"))?;
        f.write_char(')')
    }
}

impl CompareOp {
    /// The operator as printed.
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "<>",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
            CompareOp::Like => "LIKE",
            CompareOp::Matches => "MATCHES",
        }
    }
}

impl ContainsOp {
    /// The keyword as printed.
    pub fn keyword(self) -> &'static str {
        match self {
            ContainsOp::Contains => "CONTAINS",
            ContainsOp::ContainsAll => "CONTAINSALL",
            ContainsOp::ContainsAny => "CONTAINSANY",
            ContainsOp::ContainsKey => "CONTAINSKEY",
            ContainsOp::ContainsValue => "CONTAINSVALUE",
            ContainsOp::ContainsText => "CONTAINSTEXT",
        }
    }
}

impl ArithmeticOp {
    /// The operator as printed.
    pub fn symbol(self) -> &'static str {
        match self {
            ArithmeticOp::Add => "+",
            ArithmeticOp::Sub => "-",
            ArithmeticOp::Mul => "*",
            ArithmeticOp::Div => "/",
            ArithmeticOp::Mod => "%",
        }
    }
}

/// Printing precedence; mirrors the parser's binding powers (see `parser/expr.rs`).
fn precedence(expr: &Expr) -> u8 {
    match expr {
        Expr::Or(_) => 1,
        Expr::And(_) => 2,
        Expr::Not(_) => 3,
        Expr::Compare { .. }
        | Expr::In { .. }
        | Expr::Contains { .. }
        | Expr::ContainsCondition { .. }
        | Expr::Between { .. }
        | Expr::IsNull { .. }
        | Expr::IsDefined { .. }
        | Expr::InstanceOf { .. } => 4,
        Expr::Arithmetic { op: ArithmeticOp::Add | ArithmeticOp::Sub, .. } => 5,
        Expr::Arithmetic { .. } => 6,
        Expr::Negate(_) => 7,
        Expr::Literal(Literal::Integer(n)) if *n < 0 => 7,
        Expr::Literal(Literal::Float(v)) if v.is_sign_negative() => 7,
        _ => 8,
    }
}

/// Whether the printed form starts with `-` (so it must not follow another `-`).
fn starts_with_minus(expr: &Expr) -> bool {
    matches!(expr, Expr::Negate(_)) || precedence(expr) == 7
}

/// Prints `expr`, parenthesised if it binds more loosely than `min`.
pub(super) fn write_expr(f: &mut Formatter<'_>, expr: &Expr, min: u8) -> fmt::Result {
    if precedence(expr) < min {
        write!(f, "({expr})")
    } else {
        write!(f, "{expr}")
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Literal(lit) => write!(f, "{lit}"),
            Expr::Parameter(p) => write!(f, "{p}"),
            Expr::Field(name) => write!(f, "{name}"),
            Expr::Attribute(attr) => write!(f, "{attr}"),
            Expr::Variable(name) => write_variable(f, name),
            Expr::Star => f.write_char('*'),
            Expr::Array(items) => {
                f.write_char('[')?;
                write_list(f, items, |f, e| write!(f, "{e}"))?;
                f.write_char(']')
            }
            Expr::Map(entries) => {
                f.write_char('{')?;
                write_list(f, entries, |f, e| {
                    write_string(f, &e.key, '"')?;
                    write!(f, ": {}", e.value)
                })?;
                f.write_char('}')
            }
            Expr::Call(call) => write!(f, "{call}"),
            Expr::Member { target, member } => {
                write_expr(f, target, 8)?;
                match member {
                    Member::Field(name) => write!(f, ".{name}"),
                    Member::Attribute(attr) => write!(f, ".{attr}"),
                    Member::Variable(name) => {
                        f.write_char('.')?;
                        write_variable(f, name)
                    }
                }
            }
            Expr::MethodCall { target, call } => {
                write_expr(f, target, 8)?;
                write!(f, ".{call}")
            }
            Expr::Index { target, index: inner } | Expr::Filter { target, condition: inner } => {
                write_expr(f, target, 8)?;
                write!(f, "[{inner}]")
            }
            Expr::Range { target, from, to, inclusive } => {
                write_expr(f, target, 8)?;
                write!(f, "[{from}{}{to}]", if *inclusive { "..." } else { ".." })
            }
            Expr::Negate(operand) => {
                f.write_char('-')?;
                if starts_with_minus(operand) {
                    write!(f, "({operand})")
                } else {
                    write_expr(f, operand, 7)
                }
            }
            Expr::Arithmetic { op, left, right } => {
                let (lmin, rmin) = if matches!(op, ArithmeticOp::Add | ArithmeticOp::Sub) { (5, 6) } else { (6, 7) };
                write_expr(f, left, lmin)?;
                write!(f, " {} ", op.symbol())?;
                write_expr(f, right, rmin)
            }
            Expr::Subquery(statement) => write!(f, "({statement})"),
            Expr::Compare { .. }
            | Expr::In { .. }
            | Expr::Contains { .. }
            | Expr::ContainsCondition { .. }
            | Expr::Between { .. }
            | Expr::IsNull { .. }
            | Expr::IsDefined { .. }
            | Expr::InstanceOf { .. }
            | Expr::And(_)
            | Expr::Or(_)
            | Expr::Not(_) => write_condition(f, self),
        }
    }
}

/// The boolean-shaped expressions (the only variants `Expr::fmt` passes here).
fn write_condition(f: &mut Formatter<'_>, expr: &Expr) -> fmt::Result {
    match expr {
        Expr::Compare { op, left, right } => {
            write_expr(f, left, 5)?;
            write!(f, " {} ", op.symbol())?;
            write_expr(f, right, 5)
        }
        Expr::In { left, right, negated } => {
            write_expr(f, left, 5)?;
            f.write_str(if *negated { " NOT IN " } else { " IN " })?;
            write_expr(f, right, 5)
        }
        Expr::Contains { op, left, right } => {
            write_expr(f, left, 5)?;
            write!(f, " {} ", op.keyword())?;
            write_expr(f, right, 5)
        }
        Expr::ContainsCondition { op, left, condition } => {
            write_expr(f, left, 5)?;
            write!(f, " {} ({condition})", op.keyword())
        }
        Expr::Between { value, low, high } => {
            write_expr(f, value, 5)?;
            f.write_str(" BETWEEN ")?;
            write_expr(f, low, 5)?;
            f.write_str(" AND ")?;
            write_expr(f, high, 5)
        }
        Expr::IsNull { value, negated } | Expr::IsDefined { value, negated } => {
            write_expr(f, value, 5)?;
            let what = if matches!(expr, Expr::IsNull { .. }) { "NULL" } else { "DEFINED" };
            write!(f, " IS {}{what}", if *negated { "NOT " } else { "" })
        }
        Expr::InstanceOf { value, class } => {
            write_expr(f, value, 5)?;
            write!(f, " INSTANCEOF {class}")
        }
        Expr::And(items) | Expr::Or(items) => {
            let (word, min) = if matches!(expr, Expr::And(_)) { (" AND ", 3) } else { (" OR ", 2) };
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(word)?;
                }
                write_expr(f, item, min)?;
            }
            Ok(())
        }
        Expr::Not(operand) => {
            f.write_str("NOT ")?;
            write_expr(f, operand, 3)
        }
        _ => Ok(()),
    }
}
