//! The abstract syntax tree of Basalt's SQL dialect (OrientDB's).
//!
//! Owns the shapes the parser produces and the executor walks. Promises:
//! - every clause the grammar accepts is represented here; nothing is parsed and dropped;
//! - `Display` (in `display.rs`) prints canonical SQL that parses back to an equal tree;
//! - [`Span`]s never take part in equality, so a tree parsed from canonical text equals the
//!   tree it was printed from;
//! - the tree holds no engine types: literals are [`Literal`]s, record ids are [`RecordId`]s.
//!
//! Layout: this file holds the shared atoms (spans, names, literals, parameters), [`Expr`] and
//! the top-level [`Statement`]; `query.rs` the SELECT / TRAVERSE / MATCH shapes, `dml.rs` the
//! record-changing statements, `schema.rs` the DDL.
//!
//! Conditions are expressions: `WHERE`, `WHILE`, filters and projections all hold an [`Expr`];
//! [`Expr::is_condition`] tells the boolean-shaped ones apart.

use std::fmt;

mod dml;
mod query;
mod schema;
mod script;

pub use dml::*;
pub use query::*;
pub use schema::*;
pub use script::*;

/// Where a node started in the source text: byte offset, 1-based line, 1-based column
/// counted in characters. Equality ignores spans (any two spans are equal) so that ASTs
/// compare by meaning; inputs are at most [`super::MAX_INPUT_BYTES`], so `u32` fits.
#[derive(Debug, Clone, Copy, Default)]
pub struct Span {
    /// Byte offset of the first character.
    pub offset: u32,
    /// Line number, starting at 1.
    pub line: u32,
    /// Column number in characters, starting at 1.
    pub column: u32,
}

impl PartialEq for Span {
    fn eq(&self, _other: &Self) -> bool {
        // Deliberate: positions are diagnostics, not meaning.
        true
    }
}

impl Eq for Span {}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// A name as written: class, property, field, alias, function, cluster or index name.
/// Backtick-quoted names arrive unquoted here; keywords are matched case-insensitively by the
/// parser but identifiers keep their case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    /// The name, without backticks or escapes.
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

impl Ident {
    /// An identifier with a default (zero) span, for building trees by hand.
    pub fn new(name: impl Into<String>) -> Self {
        Ident { name: name.into(), span: Span::default() }
    }
}

/// A record id literal `#cluster:position` (positions may be negative for temporary records).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId {
    /// Cluster id.
    pub cluster: i32,
    /// Position inside the cluster.
    pub position: i64,
}

/// A constant written in the query.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer, with or without the `L` suffix; negative numbers are folded in.
    Integer(i64),
    /// A floating point number (always finite); negative numbers are folded in.
    Float(f64),
    /// A string in single or double quotes, escapes resolved.
    String(String),
    /// A record id `#12:3`.
    Rid(RecordId),
}

/// A query parameter, bound by the caller at execution time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parameter {
    /// `?`: numbered from 0 in order of appearance across the whole parsed text.
    Positional {
        /// 0-based index among the positional parameters of the text.
        index: usize,
        /// Where the `?` was written.
        span: Span,
    },
    /// `:name`.
    Named {
        /// The name, without the colon.
        name: String,
        /// Where the `:` was written.
        span: Span,
    },
}

impl Parameter {
    /// Where the parameter was written.
    pub fn span(&self) -> Span {
        match self {
            Parameter::Positional { span, .. } | Parameter::Named { span, .. } => *span,
        }
    }
}

/// A record attribute: `@rid`, `@class`, ... (case-insensitive in the source).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordAttribute {
    /// `@rid`: the record id.
    Rid,
    /// `@class`: the class name.
    Class,
    /// `@version`: the record version.
    Version,
    /// `@type`: the record type (`d` for documents).
    Type,
    /// `@size`: the serialized size.
    Size,
    /// `@this`: the record itself.
    This,
    /// `@fields`: the field names.
    Fields,
}

impl RecordAttribute {
    /// All attributes, for error messages and tests.
    pub const ALL: [RecordAttribute; 7] = [
        RecordAttribute::Rid,
        RecordAttribute::Class,
        RecordAttribute::Version,
        RecordAttribute::Type,
        RecordAttribute::Size,
        RecordAttribute::This,
        RecordAttribute::Fields,
    ];

    /// The name after `@`, lower case.
    pub fn name(self) -> &'static str {
        match self {
            RecordAttribute::Rid => "rid",
            RecordAttribute::Class => "class",
            RecordAttribute::Version => "version",
            RecordAttribute::Type => "type",
            RecordAttribute::Size => "size",
            RecordAttribute::This => "this",
            RecordAttribute::Fields => "fields",
        }
    }

    /// Looks an attribute up by its name after `@`, case-insensitively.
    pub fn from_name(name: &str) -> Option<Self> {
        RecordAttribute::ALL.into_iter().find(|a| a.name().eq_ignore_ascii_case(name))
    }
}

/// A function call `name(args)`. The parser does not restrict names: any identifier followed
/// by `(` is a call (`count`, `out`, `expand`, `ifnull`, ...); the executor resolves them.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionCall {
    /// Function name as written (resolve case-insensitively); its span locates the call.
    pub name: Ident,
    /// Arguments in order. `count(*)` has the single argument [`Expr::Star`].
    pub args: Vec<Expr>,
}

/// What follows a `.` in a path (other than a method call).
#[derive(Debug, Clone, PartialEq)]
pub enum Member {
    /// `.name`: a field of the value on the left (of each element for collections).
    Field(Ident),
    /// `.@rid`, `.@class`, ...
    Attribute(RecordAttribute),
    /// `.$current`, `.$depth`, ... (as in `$parent.$current`).
    Variable(Ident),
}

/// Arithmetic operators (`+` also concatenates strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithmeticOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
}

/// Binary comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `=` (also written `==`)
    Eq,
    /// `<>` or `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `LIKE` with `%` and `_` wildcards.
    Like,
    /// `MATCHES` a regular expression.
    Matches,
}

/// The `CONTAINS` family of operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainsOp {
    /// `CONTAINS`: the collection holds the value.
    Contains,
    /// `CONTAINSALL`: holds every element of the right side.
    ContainsAll,
    /// `CONTAINSANY`: holds at least one element of the right side.
    ContainsAny,
    /// `CONTAINSKEY`: the map has the key.
    ContainsKey,
    /// `CONTAINSVALUE`: the map has the value.
    ContainsValue,
    /// `CONTAINSTEXT`: the string contains the substring.
    ContainsText,
}

impl ContainsOp {
    /// Whether `left OP (condition)` means "elements matching the condition" for this operator
    /// (OrientDB allows it for CONTAINS, CONTAINSALL, CONTAINSANY and CONTAINSVALUE).
    pub fn accepts_condition(self) -> bool {
        matches!(
            self,
            ContainsOp::Contains | ContainsOp::ContainsAll | ContainsOp::ContainsAny | ContainsOp::ContainsValue
        )
    }
}

/// One `key: value` entry of a map literal (`{"a": 1}`, JSON content).
#[derive(Debug, Clone, PartialEq)]
pub struct MapEntry {
    /// The key (quoted or bare in the source, always a string here).
    pub key: String,
    /// The value.
    pub value: Expr,
}

/// An expression or condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A constant.
    Literal(Literal),
    /// `?` or `:name`.
    Parameter(Parameter),
    /// A bare identifier: a field of the current record (in MATCH `RETURN`, possibly an alias).
    Field(Ident),
    /// `@rid`, `@class`, ... of the current record.
    Attribute(RecordAttribute),
    /// `$name`: a context variable (`$parent`, `$current`, `$depth`, `$matches`, a LET name).
    /// The name is stored without `$`.
    Variable(Ident),
    /// `*` as the sole argument of a function call (`count(*)`); produced nowhere else.
    Star,
    /// `[a, b, ...]` (also `(a, b, ...)`, as in `x IN ('a', 'b')`).
    Array(Vec<Expr>),
    /// `{"key": value, ...}`: map literal and JSON content.
    Map(Vec<MapEntry>),
    /// `name(args)`.
    Call(Box<FunctionCall>),
    /// `target.member`: field path step, `.@attr` or `.$var`.
    Member {
        /// The value the member is read from.
        target: Box<Expr>,
        /// What is read.
        member: Member,
    },
    /// `target.name(args)`: a method (`.size()`, `.toLowerCase()`) or graph step (`.out('x')`).
    MethodCall {
        /// The receiver.
        target: Box<Expr>,
        /// Method name and arguments.
        call: Box<FunctionCall>,
    },
    /// `target[index]`: list position or map key (the index is never a condition);
    /// `target[a, b]` is an [`Expr::Array`] index: the value at each.
    Index {
        /// The collection.
        target: Box<Expr>,
        /// The position or key.
        index: Box<Expr>,
    },
    /// `target[from..to]` (`to` excluded) or `target[from...to]` (`to` included): the
    /// positions of a collection in that range (OrientDB's `OArrayRangeSelector`).
    Range {
        /// The collection.
        target: Box<Expr>,
        /// The first position.
        from: Box<Expr>,
        /// The end position.
        to: Box<Expr>,
        /// `...`: the end position is included.
        inclusive: bool,
    },
    /// `target[condition]`: keep the elements for which the condition holds.
    Filter {
        /// The collection.
        target: Box<Expr>,
        /// The condition, evaluated against each element.
        condition: Box<Expr>,
    },
    /// Unary minus on a non-literal (`-x`); `-5` is folded into [`Literal::Integer`].
    Negate(Box<Expr>),
    /// `left op right` for `+ - * / %`.
    Arithmetic {
        /// The operator.
        op: ArithmeticOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
    },
    /// `left op right` for comparisons, LIKE and MATCHES.
    Compare {
        /// The operator.
        op: CompareOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
    },
    /// `left [NOT] IN right`.
    In {
        /// The value looked for.
        left: Box<Expr>,
        /// The collection (array, subquery, parameter, field, ...).
        right: Box<Expr>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `left CONTAINS... right` with a value on the right.
    Contains {
        /// The operator.
        op: ContainsOp,
        /// The collection, map or string.
        left: Box<Expr>,
        /// The value.
        right: Box<Expr>,
    },
    /// `left CONTAINS (condition)`: some/all elements (per `op`) satisfy the condition,
    /// evaluated with each element as the current record. Only for operators where
    /// [`ContainsOp::accepts_condition`] holds.
    ContainsCondition {
        /// The operator.
        op: ContainsOp,
        /// The collection.
        left: Box<Expr>,
        /// The condition.
        condition: Box<Expr>,
    },
    /// `value BETWEEN low AND high` (inclusive).
    Between {
        /// The tested value.
        value: Box<Expr>,
        /// Lower bound.
        low: Box<Expr>,
        /// Upper bound.
        high: Box<Expr>,
    },
    /// `value IS [NOT] NULL`.
    IsNull {
        /// The tested value.
        value: Box<Expr>,
        /// `IS NOT NULL`.
        negated: bool,
    },
    /// `value IS [NOT] DEFINED` (the field exists, even if null).
    IsDefined {
        /// The tested value.
        value: Box<Expr>,
        /// `IS NOT DEFINED`.
        negated: bool,
    },
    /// `value INSTANCEOF Class` (class given bare or as a string).
    InstanceOf {
        /// The tested record.
        value: Box<Expr>,
        /// The class.
        class: Ident,
    },
    /// `a AND b AND ...` (two or more operands, flattened for one chain).
    And(Vec<Expr>),
    /// `a OR b OR ...` (two or more operands, flattened for one chain).
    Or(Vec<Expr>),
    /// `NOT condition`.
    Not(Box<Expr>),
    /// `(SELECT ...)`, `(TRAVERSE ...)` or `(MATCH ...)` used as a value.
    Subquery(Box<Statement>),
}

impl Expr {
    /// Whether the expression is boolean-shaped (a comparison, IN, CONTAINS..., BETWEEN, IS,
    /// INSTANCEOF, AND, OR, NOT). `x[cond]` is a filter exactly when the bracket holds one.
    pub fn is_condition(&self) -> bool {
        matches!(
            self,
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
                | Expr::Not(_)
        )
    }

    /// A string literal expression.
    pub fn string(value: impl Into<String>) -> Expr {
        Expr::Literal(Literal::String(value.into()))
    }

    /// An integer literal expression.
    pub fn integer(value: i64) -> Expr {
        Expr::Literal(Literal::Integer(value))
    }

    /// A bare field reference.
    pub fn field(name: impl Into<String>) -> Expr {
        Expr::Field(Ident::new(name))
    }
}

/// A whole-number argument that may be bound later: `LIMIT 10`, `LIMIT ?`, `SKIP :s`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntArg {
    /// A literal (may be negative: `LIMIT -1` means no limit in OrientDB).
    Value(i64),
    /// A parameter.
    Parameter(Parameter),
}

/// The right side of a script `LET`.
#[derive(Debug, Clone, PartialEq)]
pub enum LetValue {
    /// `LET a = <statement>` (no parentheses): the statement's result.
    Statement(Box<Statement>),
    /// `LET a = <expression>` (a parenthesised query is an [`Expr::Subquery`]).
    Expr(Expr),
}

/// One statement. Queries and commands, DDL, and script lines (`BEGIN`, `LET`, `RETURN`...).
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `SELECT ...`.
    Select(Box<SelectStatement>),
    /// `TRAVERSE ...`.
    Traverse(Box<TraverseStatement>),
    /// `MATCH ...`.
    Match(Box<MatchStatement>),
    /// `INSERT INTO ...`.
    Insert(Box<InsertStatement>),
    /// `UPDATE ...`.
    Update(Box<UpdateStatement>),
    /// `DELETE FROM ...`.
    Delete(Box<DeleteStatement>),
    /// `DELETE VERTEX ...`.
    DeleteVertex(Box<DeleteVertexStatement>),
    /// `DELETE EDGE ...`.
    DeleteEdge(Box<DeleteEdgeStatement>),
    /// `CREATE VERTEX ...`.
    CreateVertex(Box<CreateVertexStatement>),
    /// `CREATE EDGE ...`.
    CreateEdge(Box<CreateEdgeStatement>),
    /// `CREATE CLASS ...`.
    CreateClass(Box<CreateClassStatement>),
    /// `ALTER CLASS ...`.
    AlterClass(Box<AlterClassStatement>),
    /// `DROP CLASS ...`.
    DropClass(Box<DropClassStatement>),
    /// `TRUNCATE CLASS ...`.
    TruncateClass(Box<TruncateClassStatement>),
    /// `CREATE PROPERTY ...`.
    CreateProperty(Box<CreatePropertyStatement>),
    /// `ALTER PROPERTY ...`.
    AlterProperty(Box<AlterPropertyStatement>),
    /// `DROP PROPERTY ...`.
    DropProperty(Box<DropPropertyStatement>),
    /// `CREATE INDEX ...`.
    CreateIndex(Box<CreateIndexStatement>),
    /// `DROP INDEX ...`.
    DropIndex(Box<DropIndexStatement>),
    /// `CREATE CLUSTER ...`.
    CreateCluster(Box<CreateClusterStatement>),
    /// `DROP CLUSTER ...`.
    DropCluster(Box<DropClusterStatement>),
    /// `TRUNCATE CLUSTER ...`.
    TruncateCluster(Box<TruncateClusterStatement>),
    /// `EXPLAIN <statement>`: plan only.
    Explain(Box<Statement>),
    /// `PROFILE <statement>`: run and report the plan with timings.
    Profile(Box<Statement>),
    /// `BEGIN`.
    Begin,
    /// `COMMIT [RETRY n [ELSE ...]]`.
    Commit {
        /// `RETRY n`: run the transaction up to n times in all while its commit conflicts
        /// (OrientDB's `RetryStep`); at least 1.
        retry: Option<u32>,
        /// `ELSE { ... } [AND CONTINUE | AND FAIL]` or `ELSE CONTINUE | FAIL`: what runs when
        /// the last attempt conflicted too.
        otherwise: Option<Box<CommitElse>>,
    },
    /// `ROLLBACK`.
    Rollback,
    /// Script `LET name = <statement or expression>` (the name is stored without `$`).
    Let {
        /// Variable name.
        name: Ident,
        /// The value.
        value: LetValue,
    },
    /// Script `RETURN [expr]`: ends the script with this value (none: `{"value": null}`).
    Return(Option<Expr>),
    /// `SLEEP n` milliseconds.
    Sleep(IntArg),
    /// Script `IF (cond) { ... }`.
    If(Box<IfBlock>),
    /// Script `WHILE (cond) { ... }`.
    While(Box<WhileBlock>),
    /// Script `FOREACH ($x IN expr) { ... }`.
    ForEach(Box<ForEachBlock>),
    /// `CONSOLE.<level> message`.
    Console(Box<ConsoleStatement>),
}

impl Statement {
    /// Whether running the statement can change no record and no schema: SELECT, TRAVERSE,
    /// MATCH, EXPLAIN of anything, PROFILE of a read, and script lines that only read
    /// (`LET x = <read>`, `RETURN`, `SLEEP`, `BEGIN`, `COMMIT`, `ROLLBACK`). Subqueries are
    /// always reads, so expressions never make a statement writing.
    pub fn is_read_only(&self) -> bool {
        match self {
            Statement::Select(_) | Statement::Traverse(_) | Statement::Match(_) | Statement::Explain(_) => true,
            Statement::Profile(inner) => inner.is_read_only(),
            Statement::Let { value: LetValue::Statement(inner), .. } => inner.is_read_only(),
            Statement::Let { value: LetValue::Expr(_), .. }
            | Statement::Return(_)
            | Statement::Sleep(_)
            | Statement::Begin
            | Statement::Commit { otherwise: None, .. }
            | Statement::Rollback
            | Statement::Console(_) => true,
            Statement::If(_) | Statement::While(_) | Statement::ForEach(_) | Statement::Commit { .. } => {
                block_body(self).iter().all(Statement::is_read_only)
            }
            _ => false,
        }
    }

    /// Whether the statement changes the schema (classes, properties, indexes, clusters), which
    /// OrientDB reserves to administrators. TRUNCATE counts: it drops records wholesale.
    pub fn is_schema_change(&self) -> bool {
        match self {
            Statement::CreateClass(_)
            | Statement::AlterClass(_)
            | Statement::DropClass(_)
            | Statement::TruncateClass(_)
            | Statement::CreateProperty(_)
            | Statement::AlterProperty(_)
            | Statement::DropProperty(_)
            | Statement::CreateIndex(_)
            | Statement::DropIndex(_)
            | Statement::CreateCluster(_)
            | Statement::DropCluster(_)
            | Statement::TruncateCluster(_) => true,
            Statement::Profile(inner) => inner.is_schema_change(),
            Statement::Let { value: LetValue::Statement(inner), .. } => inner.is_schema_change(),
            Statement::If(_) | Statement::While(_) | Statement::ForEach(_) | Statement::Commit { .. } => {
                block_body(self).iter().any(Statement::is_schema_change)
            }
            _ => false,
        }
    }
}
