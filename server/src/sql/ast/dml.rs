//! Record-changing statements: INSERT, UPDATE, DELETE, CREATE VERTEX / EDGE.

use super::{Expr, Ident, IntArg, Statement, Target};

/// `name = value` in SET, INCREMENT, ADD and `LET`.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// The field.
    pub field: Ident,
    /// The value.
    pub value: Expr,
}

/// Where INSERT writes.
#[derive(Debug, Clone, PartialEq)]
pub enum InsertTarget {
    /// A class.
    Class(Ident),
    /// `cluster:name`.
    Cluster(Ident),
}

/// The fields of a new record (CREATE VERTEX, CREATE EDGE).
#[derive(Debug, Clone, PartialEq)]
pub enum RecordBody {
    /// `SET a = 1, b = 2`.
    Set(Vec<Assignment>),
    /// `CONTENT {...}` (a map literal or a parameter).
    Content(Expr),
}

/// What INSERT inserts.
#[derive(Debug, Clone, PartialEq)]
pub enum InsertBody {
    /// `SET a = 1, b = 2`.
    Set(Vec<Assignment>),
    /// `CONTENT {...}`: a map, an array of maps, or a parameter.
    Content(Expr),
    /// `(a, b) VALUES (1, 2), (3, 4)`; every row has as many values as there are fields.
    Values {
        /// Field names.
        fields: Vec<Ident>,
        /// Rows of values.
        rows: Vec<Vec<Expr>>,
    },
    /// `FROM (SELECT ...)`: one record per result.
    FromQuery(Box<Statement>),
}

/// `INSERT INTO ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct InsertStatement {
    /// Class or cluster.
    pub target: InsertTarget,
    /// The content.
    pub body: InsertBody,
    /// `RETURN expr` (evaluated on each inserted record).
    pub return_expr: Option<Expr>,
}

/// `REMOVE field [= value]` item of UPDATE.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoveItem {
    /// The field.
    pub field: Ident,
    /// With a value: remove that value from the collection; without: remove the field.
    pub value: Option<Expr>,
}

/// `PUT field = key, value` item of UPDATE.
#[derive(Debug, Clone, PartialEq)]
pub struct PutItem {
    /// The map field.
    pub field: Ident,
    /// The key.
    pub key: Expr,
    /// The value.
    pub value: Expr,
}

/// One operation clause of UPDATE; several may follow each other.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateOperation {
    /// `SET a = e, ...`.
    Set(Vec<Assignment>),
    /// `INCREMENT a = n, ...`.
    Increment(Vec<Assignment>),
    /// `REMOVE a [= value], ...`.
    Remove(Vec<RemoveItem>),
    /// `ADD a = v, ...` (append to a collection).
    Add(Vec<Assignment>),
    /// `PUT a = key, value, ...` (into a map).
    Put(Vec<PutItem>),
    /// `CONTENT {...}`: replace the content.
    Content(Expr),
    /// `MERGE {...}`: merge into the content.
    Merge(Expr),
}

/// BEFORE or AFTER in `RETURN BEFORE|AFTER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnTiming {
    /// The records as they were.
    Before,
    /// The records as updated.
    After,
}

/// `RETURN BEFORE|AFTER [projection]` of UPDATE.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateReturn {
    /// Before or after the update.
    pub timing: ReturnTiming,
    /// What to return of each record (`@rid`, `$current.name`, ...); whole records if `None`.
    pub projection: Option<Expr>,
}

/// `UPDATE ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateStatement {
    /// Class, cluster, RID(s), subquery, parameter or variable.
    pub target: Target,
    /// The operations, in order (at least one).
    pub operations: Vec<UpdateOperation>,
    /// `UPSERT`.
    pub upsert: bool,
    /// `RETURN BEFORE|AFTER ...`.
    pub return_clause: Option<UpdateReturn>,
    /// `WHERE`.
    pub where_clause: Option<Expr>,
    /// `LIMIT n`.
    pub limit: Option<IntArg>,
    /// `TIMEOUT n` in milliseconds.
    pub timeout: Option<IntArg>,
}

/// `DELETE FROM ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteStatement {
    /// Class, cluster, RID(s), ...
    pub target: Target,
    /// `RETURN BEFORE`: return the deleted records.
    pub return_before: bool,
    /// `WHERE`.
    pub where_clause: Option<Expr>,
    /// `LIMIT n`.
    pub limit: Option<IntArg>,
    /// `UNSAFE`: allow deleting vertices and edges without graph bookkeeping.
    pub unsafe_mode: bool,
}

/// `DELETE VERTEX ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteVertexStatement {
    /// RID, RIDs, class, subquery, parameter or variable (the optional `FROM` is not kept).
    pub target: Target,
    /// `WHERE`.
    pub where_clause: Option<Expr>,
    /// `LIMIT n`.
    pub limit: Option<IntArg>,
}

/// `DELETE EDGE ...`; at least one of the selectors is present.
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteEdgeStatement {
    /// The edges themselves: [`Target::Rid`] or [`Target::Rids`].
    pub edges: Option<Target>,
    /// Edge class (`E` or a subclass).
    pub class: Option<Ident>,
    /// `FROM vertex`: only edges leaving these vertices.
    pub from: Option<Target>,
    /// `TO vertex`: only edges arriving at these vertices.
    pub to: Option<Target>,
    /// `WHERE` on the edges.
    pub where_clause: Option<Expr>,
    /// `LIMIT n`.
    pub limit: Option<IntArg>,
}

/// `CREATE VERTEX ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateVertexStatement {
    /// The class (`V` when omitted).
    pub class: Option<Ident>,
    /// `CLUSTER name`.
    pub cluster: Option<Ident>,
    /// `SET ...`, `CONTENT ...` or `(a, b) VALUES (...), ...`, as INSERT takes them (OrientDB's
    /// `CreateVertexStatement` takes an `InsertBody`); never [`InsertBody::FromQuery`].
    pub body: Option<InsertBody>,
}

/// `CREATE EDGE ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateEdgeStatement {
    /// The class (`E` when omitted).
    pub class: Option<Ident>,
    /// `UPSERT`: do not create a second edge of this class between the same vertices.
    pub upsert: bool,
    /// Source vertices: RID, RIDs, subquery, parameter or variable.
    pub from: Target,
    /// Destination vertices, same forms.
    pub to: Target,
    /// `SET ...` or `CONTENT ...`.
    pub body: Option<RecordBody>,
}
