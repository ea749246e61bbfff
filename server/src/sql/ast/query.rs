//! Query shapes: projections, targets, SELECT, TRAVERSE and MATCH.

use super::{Expr, FunctionCall, Ident, IntArg, Parameter, RecordId, Span, Statement};

/// An expression with an optional `AS alias`.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasedExpr {
    /// The expression.
    pub expr: Expr,
    /// The alias after `AS`.
    pub alias: Option<Ident>,
}

/// One item of a SELECT projection list.
#[derive(Debug, Clone, PartialEq)]
pub enum Projection {
    /// `*`: every field.
    All,
    /// `expr [AS alias]`.
    Expr(AliasedExpr),
}

/// Sort direction in ORDER BY.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortDirection {
    /// `ASC` (the default when omitted).
    #[default]
    Asc,
    /// `DESC`.
    Desc,
}

/// One ORDER BY item.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    /// The sort key.
    pub expr: Expr,
    /// The direction.
    pub direction: SortDirection,
}

/// What a statement reads from or writes to.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A class (polymorphic).
    Class(Ident),
    /// `cluster:name`.
    Cluster(Ident),
    /// One record `#12:3`.
    Rid(RecordId),
    /// A list of records `[#12:3, #12:4]`.
    Rids(Vec<RecordId>),
    /// `(SELECT ...)`, `(TRAVERSE ...)` or `(MATCH ...)`.
    Subquery(Box<Statement>),
    /// `?` or `:name` bound to a RID, a record or a list of them.
    Parameter(Parameter),
    /// `$name`: a LET variable.
    Variable(Ident),
    /// `metadata:schema`, `metadata:indexmanager`, `metadata:database`, ...
    Metadata(Ident),
    /// `index:name`: the index's entries as `{key, rid}` rows.
    Index(Ident),
}

/// One `LET name = value` item of a SELECT.
#[derive(Debug, Clone, PartialEq)]
pub struct LetItem {
    /// Variable name, without `$` (referenced as `$name`).
    pub name: Ident,
    /// The value; a parenthesised query is an [`Expr::Subquery`].
    pub value: Expr,
}

/// `SELECT ...`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SelectStatement {
    /// `SELECT DISTINCT`.
    pub distinct: bool,
    /// Projections; empty means none were written (`SELECT FROM V`: whole records).
    pub projections: Vec<Projection>,
    /// `FROM target`; `None` for `SELECT 1 + 1 AS two`.
    pub from: Option<Target>,
    /// `LET` items, in order.
    pub let_items: Vec<LetItem>,
    /// `WHERE` condition.
    pub where_clause: Option<Expr>,
    /// `GROUP BY` keys.
    pub group_by: Vec<Expr>,
    /// `ORDER BY` items.
    pub order_by: Vec<OrderItem>,
    /// `UNWIND` fields.
    pub unwind: Vec<Ident>,
    /// `SKIP n`.
    pub skip: Option<IntArg>,
    /// `LIMIT n`.
    pub limit: Option<IntArg>,
    /// `TIMEOUT n [RETURN | EXCEPTION]`.
    pub timeout: Option<Timeout>,
}

/// `TIMEOUT n [RETURN | EXCEPTION]` of a SELECT (OrientDB's `OTimeout`): the longest the
/// statement may run, in milliseconds, and what happens then.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeout {
    /// Milliseconds.
    pub ms: IntArg,
    /// `RETURN` or `EXCEPTION` as written (`None`: not written, which means EXCEPTION).
    pub strategy: Option<TimeoutStrategy>,
}

impl Timeout {
    /// Whether the statement answers the rows it found by then (`RETURN`) instead of failing.
    pub fn returns(&self) -> bool {
        self.strategy == Some(TimeoutStrategy::Return)
    }
}

/// What a SELECT does when its `TIMEOUT` passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutStrategy {
    /// `RETURN`: end the result there.
    Return,
    /// `EXCEPTION`: fail (the default).
    Exception,
}

/// Traversal order of TRAVERSE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraverseStrategy {
    /// `DEPTH_FIRST` (OrientDB's default).
    DepthFirst,
    /// `BREADTH_FIRST`.
    BreadthFirst,
}

/// `TRAVERSE ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct TraverseStatement {
    /// What to follow: `*`, fields (`out_followed_by`) or graph functions (`out('x')`); at
    /// least one.
    pub projections: Vec<Projection>,
    /// Where to start.
    pub target: Target,
    /// `MAXDEPTH n`.
    pub max_depth: Option<IntArg>,
    /// `WHILE condition` (with `$depth` etc. in scope).
    pub while_condition: Option<Expr>,
    /// `LIMIT n`.
    pub limit: Option<IntArg>,
    /// `STRATEGY ...`.
    pub strategy: Option<TraverseStrategy>,
}

/// One `key: value` item of a MATCH node filter `{...}`, in source order.
#[derive(Debug, Clone, PartialEq)]
pub enum MatchFilterItem {
    /// `class: Name`.
    Class(Ident),
    /// `as: alias`.
    As(Ident),
    /// `rid: #9:1` (or a parameter).
    Rid(Expr),
    /// `where: (condition)`.
    Where(Expr),
    /// `while: (condition)`: keep following the step while it holds (recursive step).
    While(Expr),
    /// `maxDepth: n`.
    MaxDepth(IntArg),
    /// `optional: true|false`.
    Optional(bool),
    /// `depthAlias: name`: binds the depth reached.
    DepthAlias(Ident),
    /// `pathAlias: name`: binds the path followed.
    PathAlias(Ident),
}

/// A MATCH node filter `{class: V, as: a, where: (...)}`; each key at most once.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MatchFilter {
    /// The items in source order.
    pub items: Vec<MatchFilterItem>,
    /// Where the `{` was written (or the step, when the filter was omitted).
    pub span: Span,
}

impl MatchFilter {
    /// `class:`, if given.
    pub fn class(&self) -> Option<&Ident> {
        self.items.iter().find_map(|i| if let MatchFilterItem::Class(c) = i { Some(c) } else { None })
    }
    /// `as:`, if given.
    pub fn alias(&self) -> Option<&Ident> {
        self.items.iter().find_map(|i| if let MatchFilterItem::As(c) = i { Some(c) } else { None })
    }
    /// `rid:`, if given.
    pub fn rid(&self) -> Option<&Expr> {
        self.items.iter().find_map(|i| if let MatchFilterItem::Rid(c) = i { Some(c) } else { None })
    }
    /// `where:`, if given.
    pub fn where_condition(&self) -> Option<&Expr> {
        self.items.iter().find_map(|i| if let MatchFilterItem::Where(c) = i { Some(c) } else { None })
    }
    /// `while:`, if given.
    pub fn while_condition(&self) -> Option<&Expr> {
        self.items.iter().find_map(|i| if let MatchFilterItem::While(c) = i { Some(c) } else { None })
    }
    /// `maxDepth:`, if given.
    pub fn max_depth(&self) -> Option<&IntArg> {
        self.items.iter().find_map(|i| if let MatchFilterItem::MaxDepth(c) = i { Some(c) } else { None })
    }
    /// `optional:` (false when absent).
    pub fn optional(&self) -> bool {
        self.items.iter().any(|i| matches!(i, MatchFilterItem::Optional(true)))
    }
    /// `depthAlias:`, if given.
    pub fn depth_alias(&self) -> Option<&Ident> {
        self.items.iter().find_map(|i| if let MatchFilterItem::DepthAlias(c) = i { Some(c) } else { None })
    }
    /// `pathAlias:`, if given.
    pub fn path_alias(&self) -> Option<&Ident> {
        self.items.iter().find_map(|i| if let MatchFilterItem::PathAlias(c) = i { Some(c) } else { None })
    }
}

/// One hop of a MATCH pattern: a graph function and the filter on where it lands.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchStep {
    /// `.out('L')`, `.inE()`, `.both()`, ... The arrow forms are normalised here:
    /// `-L->` is `out('L')`, `<-L-` is `in('L')`, `-L-` is `both('L')`.
    pub traversal: FunctionCall,
    /// The filter after the step; empty when omitted.
    pub filter: MatchFilter,
}

/// One comma-separated chain `{...}.out(){...}...` of a MATCH.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchPattern {
    /// `NOT {...}...`: the chain must not match (its aliases must be bound elsewhere).
    pub negated: bool,
    /// The starting node filter.
    pub origin: MatchFilter,
    /// The hops, in order.
    pub steps: Vec<MatchStep>,
}

/// `MATCH ... RETURN ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchStatement {
    /// The patterns (at least one).
    pub patterns: Vec<MatchPattern>,
    /// `RETURN DISTINCT`.
    pub distinct: bool,
    /// The RETURN items (aliases, `alias.field`, `$matches`, `$paths`, `$elements`, ...).
    pub returns: Vec<AliasedExpr>,
    /// `GROUP BY` keys.
    pub group_by: Vec<Expr>,
    /// `ORDER BY` items.
    pub order_by: Vec<OrderItem>,
    /// `UNWIND` fields.
    pub unwind: Vec<Ident>,
    /// `SKIP n`.
    pub skip: Option<IntArg>,
    /// `LIMIT n`.
    pub limit: Option<IntArg>,
}
