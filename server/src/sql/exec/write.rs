//! Statements that change records: INSERT, CREATE VERTEX, CREATE EDGE, UPDATE, DELETE,
//! DELETE VERTEX, DELETE EDGE. Each is *planned* under a snapshot into [`Op`]s (what to ask
//! the engine's transaction) and an [`Output`] (what to answer); `mod.rs` commits them (or
//! adds them to the script's open transaction) after the snapshot is dropped.
//!
//! UPDATE operations follow OrientDB: `SET` assigns, `INCREMENT` adds (a missing field
//! starts at the increment), `ADD` appends to a list or set (creating a list), `REMOVE f`
//! drops a field and `REMOVE f = v` removes a value from a collection (a key from a map),
//! `PUT f = k, v` sets a map entry, `CONTENT` replaces every field, `MERGE` sets the given
//! ones. Expressions see the record as it was before the statement. `UPSERT` creates a
//! record from the WHERE's `field = constant` members when nothing matches.

use std::collections::BTreeMap;
use std::rc::Rc;

use basalt_engine::{Document, Record, RecordKind, Rid, SchemaRequest, Value};

use super::eval::{decode_error, eval, invalid_at, items, test, Ctx, Env};
use super::functions::constant;
use super::ops::{arithmetic, value_text, values_eq};
use super::plan::{class_name, cluster_id, for_each_source};
use super::rows::{dedup_values, show, Res, Row};
use super::select::limit_of;
use crate::query::QueryError;
use crate::sql::ast::{
    ArithmeticOp, Assignment, CompareOp, CreateEdgeStatement, CreateVertexStatement, DeleteEdgeStatement,
    DeleteStatement, DeleteVertexStatement, Expr, Ident, InsertBody, InsertStatement, InsertTarget, RecordBody,
    ReturnTiming, Target, UpdateOperation, UpdateStatement,
};

/// One change to ask the engine for.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    /// A new record (a vertex if the class extends V).
    Create {
        /// Its class.
        class: String,
        /// Its fields.
        fields: Document,
    },
    /// A new edge.
    CreateEdge {
        /// Its class.
        class: String,
        /// The `out` vertex (may be a temporary RID of the open transaction).
        from: Rid,
        /// The `in` vertex.
        to: Rid,
        /// Its fields.
        fields: Document,
    },
    /// New fields for a record read at `version`.
    Update {
        /// The record.
        rid: Rid,
        /// The version read.
        version: u32,
        /// Its class.
        class: String,
        /// The new fields.
        fields: Document,
    },
    /// Deletes a record read at `version`.
    Delete {
        /// The record.
        rid: Rid,
        /// The version read.
        version: u32,
    },
    /// A schema change.
    Schema(SchemaRequest),
}

/// What a DDL answer needs from the committed schema.
#[derive(Debug, Clone)]
pub(crate) enum Enrich {
    /// Nothing.
    None,
    /// The cluster id of a class, as `clusterId`.
    ClusterOf(String),
    /// The entries of an index, as `entries`.
    IndexSize(String),
}

/// What a write statement answers.
#[derive(Debug, Clone)]
pub(crate) enum Output {
    /// The records created, or a projection of each (`INSERT ... RETURN expr`).
    Created(Option<Expr>),
    /// `{"count": n}`.
    Count(usize),
    /// Rows known when planning (`RETURN BEFORE`).
    Rows(Vec<Row>),
    /// The records updated or upserted, as they are after the commit (`RETURN AFTER`).
    After(Option<Expr>),
    /// A description of a schema change.
    Describe(Document, Enrich),
}

/// A planned write.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    /// The changes, in order.
    pub ops: Vec<Op>,
    /// The answer.
    pub output: Output,
}

/// A record's own fields (a vertex's link bags are not fields).
fn fields_of(r: &Record) -> Res<Document> {
    r.fields().map_err(|e| decode_error(r.rid, e))
}

/// The fields of a `CONTENT`/`MERGE` value, in the order written for a literal object.
pub(crate) fn content_doc(env: &Env<'_>, ctx: &Ctx<'_>, e: &Expr) -> Res<Document> {
    if let Expr::Map(entries) = e {
        let mut d = Document::new();
        for en in entries.iter().filter(|en| !en.key.starts_with('@')) {
            d.set(en.key.clone(), eval(env, ctx, &en.value)?);
        }
        return Ok(d);
    }
    doc_of_value(eval(env, ctx, e)?, e)
}

fn doc_of_value(v: Value, e: &Expr) -> Res<Document> {
    match v {
        Value::Map(m) => Ok(m.into_iter().filter(|(k, _)| !k.starts_with('@')).collect()),
        Value::Embedded(d) => Ok(d.into_fields().into_iter().filter(|(k, _)| !k.starts_with('@')).collect()),
        Value::List(items) if items.len() == 1 => doc_of_value(items.into_iter().next().unwrap_or(Value::Null), e),
        other => Err(QueryError::Invalid(format!(
            "CONTENT and MERGE need a JSON object, not {} {} (in `{e}`)",
            other.type_name(),
            show(&other)
        ))),
    }
}

fn set_doc(env: &Env<'_>, ctx: &Ctx<'_>, assigns: &[Assignment]) -> Res<Document> {
    let mut d = Document::new();
    for a in assigns {
        d.set(a.field.name.clone(), eval(env, ctx, &a.value)?);
    }
    Ok(d)
}

fn body_doc(env: &Env<'_>, ctx: &Ctx<'_>, body: Option<&RecordBody>) -> Res<Document> {
    match body {
        None => Ok(Document::new()),
        Some(RecordBody::Set(assigns)) => set_doc(env, ctx, assigns),
        Some(RecordBody::Content(e)) => content_doc(env, ctx, e),
    }
}

/// A class for writing: its canonical name, or the name as written when only the open
/// transaction knows it.
fn write_class(env: &Env<'_>, c: &Ident) -> Res<String> {
    Ok(class_name(env, c)?.unwrap_or_else(|| c.name.clone()))
}

fn kind_of(env: &Env<'_>, class: &str) -> Option<RecordKind> {
    env.snap.schema().class(class).map(|_| env.snap.schema().kind_of(class))
}

/// INSERT.
pub(crate) fn insert(env: &Env<'_>, s: &InsertStatement) -> Res<Planned> {
    let class = match &s.target {
        InsertTarget::Class(c) => write_class(env, c)?,
        InsertTarget::Cluster(c) => {
            let id = cluster_id(env, c)?;
            env.snap
                .schema()
                .class_of_cluster(id)
                .map(|d| d.name.clone())
                .ok_or_else(|| invalid_at(c.span, format!("cluster '{}' belongs to no class", c.name)))?
        }
    };
    if kind_of(env, &class) == Some(RecordKind::Edge) {
        return Err(QueryError::Invalid(format!(
            "'{class}' is an edge class: create edges with CREATE EDGE {class} FROM ... TO ..."
        )));
    }
    let docs = insert_docs(env, &s.body)?;
    let ops = docs.into_iter().map(|fields| Op::Create { class: class.clone(), fields }).collect();
    Ok(Planned { ops, output: Output::Created(s.return_expr.clone()) })
}

/// The documents an INSERT or CREATE VERTEX body makes, one per record.
fn insert_docs(env: &Env<'_>, body: &InsertBody) -> Res<Vec<Document>> {
    let ctx = Ctx::default();
    let docs = match body {
        InsertBody::Set(assigns) => vec![set_doc(env, &ctx, assigns)?],
        InsertBody::Content(Expr::Array(items)) => {
            items.iter().map(|i| content_doc(env, &ctx, i)).collect::<Res<Vec<_>>>()?
        }
        InsertBody::Content(e) => match eval(env, &ctx, e)? {
            Value::List(items) => items.into_iter().map(|v| doc_of_value(v, e)).collect::<Res<Vec<_>>>()?,
            _ => vec![content_doc(env, &ctx, e)?],
        },
        InsertBody::Values { fields, rows } => {
            let mut docs = Vec::with_capacity(rows.len());
            for (n, row) in rows.iter().enumerate() {
                if row.len() != fields.len() {
                    return Err(invalid_at(
                        fields.first().map(|f| f.span).unwrap_or_default(),
                        format!("VALUES row {} has {} values for {} fields", n + 1, row.len(), fields.len()),
                    ));
                }
                let mut d = Document::new();
                for (f, e) in fields.iter().zip(row) {
                    d.set(f.name.clone(), eval(env, &ctx, e)?);
                }
                docs.push(d);
            }
            docs
        }
        InsertBody::FromQuery(q) => {
            let rows = super::run_read(env, None, q, None)?;
            let mut docs = Vec::with_capacity(rows.len());
            for r in rows.iter() {
                let d = match &r.data {
                    super::rows::Data::Record(rec) => fields_of(rec)?,
                    _ => doc_of_value(r.to_value(), &Expr::Subquery(q.clone()))?,
                };
                docs.push(d);
            }
            docs
        }
    };
    Ok(docs)
}

/// CREATE VERTEX.
pub(crate) fn create_vertex(env: &Env<'_>, s: &CreateVertexStatement) -> Res<Planned> {
    let class = match &s.class {
        Some(c) => write_class(env, c)?,
        None => "V".to_string(),
    };
    if let Some(k) = kind_of(env, &class) {
        if k != RecordKind::Vertex {
            let span = s.class.as_ref().map(|c| c.span).unwrap_or_default();
            return Err(invalid_at(span, format!("'{class}' is not a vertex class (vertex classes extend V)")));
        }
    }
    if let Some(c) = &s.cluster {
        let id = cluster_id(env, c)?;
        let owner = env.snap.schema().class_of_cluster(id).map(|d| d.name.clone());
        if !owner.as_deref().is_some_and(|o| o.eq_ignore_ascii_case(&class)) {
            return Err(invalid_at(c.span, format!("cluster '{}' does not belong to class '{class}'", c.name)));
        }
    }
    let docs = match &s.body {
        Some(body) => insert_docs(env, body)?,
        None => vec![Document::new()],
    };
    let ops = docs.into_iter().map(|fields| Op::Create { class: class.clone(), fields }).collect();
    Ok(Planned { ops, output: Output::Created(None) })
}

/// Record ids a FROM / TO / target names, without loading them (temporary RIDs of the open
/// transaction included).
pub(crate) fn target_rids(env: &Env<'_>, t: &Target) -> Res<Vec<Rid>> {
    fn collect(v: &Value, out: &mut Vec<Rid>) {
        match v {
            Value::Link(r) => out.push(*r),
            Value::String(s) => out.extend(Rid::parse(s)),
            Value::List(items) | Value::Set(items) => items.iter().for_each(|i| collect(i, out)),
            Value::Embedded(d) => match d.get("@rid") {
                Some(r) => collect(r, out),
                None if d.len() == 1 => d.iter().for_each(|(_, v)| collect(v, out)),
                None => {}
            },
            _ => {}
        }
    }
    let ctx = Ctx::default();
    let mut out = Vec::new();
    match t {
        Target::Rid(r) => out.push(Rid::new(r.cluster, r.position)),
        Target::Rids(rs) => out.extend(rs.iter().map(|r| Rid::new(r.cluster, r.position))),
        Target::Parameter(p) => collect(&super::eval::parameter(env, p)?, &mut out),
        Target::Variable(v) => collect(&super::eval::variable(env, &ctx, v)?, &mut out),
        Target::Metadata(_) | Target::Index(_) => {
            return Err(QueryError::Invalid(format!("{t} is read-only: only SELECT may read it")))
        }
        Target::Subquery(_) | Target::Class(_) | Target::Cluster(_) => {
            for_each_source(env, &ctx, t, None, &mut |row| {
                match row.rid() {
                    Some(r) => out.push(r),
                    None => collect(&row.to_value(), &mut out),
                }
                Ok(true)
            })?;
        }
    }
    Ok(out)
}

fn check_vertex(env: &Env<'_>, rid: Rid, side: &str) -> Res<()> {
    if rid.is_temporary() {
        return Ok(());
    }
    match env.load(rid)? {
        None => Err(QueryError::Invalid(format!("CREATE EDGE: the {side} vertex {rid} does not exist"))),
        Some(r) if r.kind() != RecordKind::Vertex => Err(QueryError::Invalid(format!(
            "CREATE EDGE: the {side} record {rid} is not a vertex (its class is '{}')",
            r.class
        ))),
        Some(_) => Ok(()),
    }
}

/// CREATE EDGE.
pub(crate) fn create_edge(env: &Env<'_>, s: &CreateEdgeStatement) -> Res<Planned> {
    let class = match &s.class {
        Some(c) => write_class(env, c)?,
        None => "E".to_string(),
    };
    if let Some(k) = kind_of(env, &class) {
        if k != RecordKind::Edge {
            let span = s.class.as_ref().map(|c| c.span).unwrap_or_default();
            return Err(invalid_at(span, format!("'{class}' is not an edge class (edge classes extend E)")));
        }
    }
    let from = target_rids(env, &s.from)?;
    let to = target_rids(env, &s.to)?;
    if from.is_empty() {
        return Err(QueryError::Invalid(format!("CREATE EDGE: FROM {} names no vertex; no edge was created", s.from)));
    }
    if to.is_empty() {
        return Err(QueryError::Invalid(format!("CREATE EDGE: TO {} names no vertex; no edge was created", s.to)));
    }
    for r in &from {
        check_vertex(env, *r, "FROM")?;
    }
    for r in &to {
        check_vertex(env, *r, "TO")?;
    }
    let fields = body_doc(env, &Ctx::default(), s.body.as_ref())?;
    let mut ops = Vec::new();
    for f in &from {
        let existing: Vec<Rid> = if s.upsert {
            env.neighbours(*f, Some(basalt_engine::Direction::Out), &[class.as_str()])?
                .into_iter()
                .map(|(_, other)| other)
                .collect()
        } else {
            Vec::new()
        };
        for t in &to {
            if existing.contains(t) {
                continue;
            }
            ops.push(Op::CreateEdge { class: class.clone(), from: *f, to: *t, fields: fields.clone() });
        }
    }
    Ok(Planned { ops, output: Output::Created(None) })
}

/// The records a target and WHERE select, at most `limit`.
fn matching(env: &Env<'_>, target: &Target, where_clause: Option<&Expr>, limit: Option<usize>) -> Res<Vec<Rc<Record>>> {
    let base = Ctx::default();
    let mut out = Vec::new();
    if matches!(target, Target::Metadata(_) | Target::Index(_)) {
        return Err(QueryError::Invalid(format!("{target} is read-only: only SELECT may read it")));
    }
    if limit == Some(0) {
        return Ok(out);
    }
    for_each_source(env, &base, target, where_clause, &mut |row| {
        // A subquery may answer projections: their `@rid` names the record.
        let record = match &row.data {
            super::rows::Data::Record(r) => r.clone(),
            _ => match row.rid().map(|r| env.load(r)).transpose()?.flatten() {
                Some(r) => Rc::new(r),
                None => return Ok(true),
            },
        };
        if let Some(w) = where_clause {
            let row = Row { data: super::rows::Data::Record(record.clone()), depth: row.depth };
            if !test(env, &base.with_row(&row), w)? {
                return Ok(true);
            }
        }
        out.push(record);
        Ok(limit.is_none_or(|l| out.len() < l))
    })?;
    Ok(out)
}

/// `field = constant` members of a WHERE, for UPSERT.
fn upsert_seed(env: &Env<'_>, w: Option<&Expr>) -> Res<Document> {
    let mut d = Document::new();
    let members: Vec<&Expr> = match w {
        None => Vec::new(),
        Some(Expr::And(items)) => items.iter().collect(),
        Some(other) => vec![other],
    };
    for m in members {
        if let Expr::Compare { op: CompareOp::Eq, left, right } = m {
            let pair = match (&**left, &**right) {
                (Expr::Field(f), v) | (v, Expr::Field(f)) => constant(env, v)?.map(|v| (f, v)),
                _ => None,
            };
            if let Some((f, v)) = pair {
                d.set(f.name.clone(), v);
            }
        }
    }
    Ok(d)
}

/// Applies UPDATE operations to a record's fields.
pub(crate) fn apply_operations(
    env: &Env<'_>,
    ctx: &Ctx<'_>,
    mut d: Document,
    operations: &[UpdateOperation],
) -> Res<Document> {
    for op in operations {
        match op {
            UpdateOperation::Set(assigns) => {
                for a in assigns {
                    d.set(a.field.name.clone(), eval(env, ctx, &a.value)?);
                }
            }
            UpdateOperation::Increment(assigns) => {
                for a in assigns {
                    let by = eval(env, ctx, &a.value)?;
                    let new = match d.get(&a.field.name) {
                        None | Some(Value::Null) => by,
                        Some(cur) if cur.is_number() || matches!(cur, Value::DateTime(_)) => {
                            arithmetic(ArithmeticOp::Add, cur.clone(), by, &a.value)?
                        }
                        Some(cur) => {
                            return Err(invalid_at(
                                a.field.span,
                                format!(
                                    "INCREMENT {}: the field holds {} {}, not a number",
                                    a.field.name,
                                    cur.type_name(),
                                    show(cur)
                                ),
                            ))
                        }
                    };
                    d.set(a.field.name.clone(), new);
                }
            }
            UpdateOperation::Add(assigns) => {
                for a in assigns {
                    let v = eval(env, ctx, &a.value)?;
                    let new = match d.remove(&a.field.name) {
                        None | Some(Value::Null) => Value::List(vec![v]),
                        Some(Value::List(mut items)) => {
                            items.push(v);
                            Value::List(items)
                        }
                        Some(Value::Set(mut items)) => {
                            items.push(v);
                            Value::Set(dedup_values(items))
                        }
                        Some(other) => Value::List(vec![other, v]),
                    };
                    d.set(a.field.name.clone(), new);
                }
            }
            UpdateOperation::Remove(removes) => {
                for r in removes {
                    let Some(e) = &r.value else {
                        d.remove(&r.field.name);
                        continue;
                    };
                    let v = eval(env, ctx, e)?;
                    let gone = items(v.clone());
                    let keep = |x: &Value| !gone.iter().any(|g| values_eq(x, g));
                    if let Some(cur) = d.get_mut(&r.field.name) {
                        match cur {
                            Value::List(xs) | Value::Set(xs) => xs.retain(keep),
                            Value::Map(m) => {
                                m.remove(&value_text(&v));
                            }
                            Value::Embedded(inner) => {
                                inner.remove(&value_text(&v));
                            }
                            _ => {}
                        }
                    }
                }
            }
            UpdateOperation::Put(puts) => {
                for p in puts {
                    let key = value_text(&eval(env, ctx, &p.key)?);
                    let v = eval(env, ctx, &p.value)?;
                    let mut m = match d.remove(&p.field.name) {
                        Some(Value::Map(m)) => m,
                        Some(Value::Embedded(inner)) => inner.into_fields().into_iter().collect(),
                        None | Some(Value::Null) => BTreeMap::new(),
                        Some(other) => {
                            return Err(invalid_at(
                                p.field.span,
                                format!("PUT needs a map in '{}', which holds {}", p.field.name, other.type_name()),
                            ))
                        }
                    };
                    m.insert(key, v);
                    d.set(p.field.name.clone(), Value::Map(m));
                }
            }
            UpdateOperation::Content(e) => d = content_doc(env, ctx, e)?,
            UpdateOperation::Merge(e) => {
                for (k, v) in content_doc(env, ctx, e)?.into_fields() {
                    d.set(k, v);
                }
            }
        }
    }
    Ok(d)
}

/// UPDATE.
pub(crate) fn update(env: &Env<'_>, s: &UpdateStatement) -> Res<Planned> {
    let limit = limit_of(env, s.limit.as_ref(), None)?;
    let records = matching(env, &s.target, s.where_clause.as_ref(), limit)?;
    let mut ops = Vec::with_capacity(records.len());
    let mut before = Vec::new();
    let projection = s.return_clause.as_ref().and_then(|r| r.projection.clone());
    for r in &records {
        let row = Row { data: super::rows::Data::Record(r.clone()), depth: None };
        let ctx = Ctx::default().with_row(&row);
        let current = match env.tx_updates.and_then(|u| u.get(&r.rid)) {
            Some(pending) => pending.clone(),
            None => fields_of(r)?,
        };
        let fields = apply_operations(env, &ctx, current, &s.operations)?;
        if s.return_clause.as_ref().is_some_and(|c| c.timing == ReturnTiming::Before) {
            before.push(super::returned_row(env, &row, projection.as_ref())?);
        }
        ops.push(Op::Update { rid: r.rid, version: r.version, class: r.class.to_string(), fields });
    }
    if records.is_empty() && s.upsert {
        let Target::Class(c) = &s.target else {
            return Err(QueryError::Invalid(
                "UPSERT needs a class target: UPDATE Class SET ... UPSERT WHERE ...".into(),
            ));
        };
        let class = write_class(env, c)?;
        let seed = upsert_seed(env, s.where_clause.as_ref())?;
        let row = Row::doc(seed.clone());
        let fields = apply_operations(env, &Ctx::default().with_row(&row), seed, &s.operations)?;
        ops.push(Op::Create { class, fields });
    }
    let output = match &s.return_clause {
        None => Output::Count(ops.len()),
        Some(r) if r.timing == ReturnTiming::Before => Output::Rows(before),
        Some(_) => Output::After(projection),
    };
    Ok(Planned { ops, output })
}

fn refuse_graph_record(r: &Record, unsafe_mode: bool) -> Res<()> {
    match r.kind() {
        RecordKind::Vertex if !unsafe_mode => Err(QueryError::Invalid(format!(
            "{} is a vertex (class '{}'): delete it with DELETE VERTEX, or add UNSAFE",
            r.rid, r.class
        ))),
        RecordKind::Edge if !unsafe_mode => Err(QueryError::Invalid(format!(
            "{} is an edge (class '{}'): delete it with DELETE EDGE, or add UNSAFE",
            r.rid, r.class
        ))),
        _ => Ok(()),
    }
}

/// DELETE FROM.
pub(crate) fn delete(env: &Env<'_>, s: &DeleteStatement) -> Res<Planned> {
    let limit = limit_of(env, s.limit.as_ref(), None)?;
    let records = matching(env, &s.target, s.where_clause.as_ref(), limit)?;
    let mut ops = Vec::with_capacity(records.len());
    let mut rows = Vec::new();
    for r in &records {
        refuse_graph_record(r, s.unsafe_mode)?;
        ops.push(Op::Delete { rid: r.rid, version: r.version });
        if s.return_before {
            rows.push(Row { data: super::rows::Data::Record(r.clone()), depth: None });
        }
    }
    let output = if s.return_before { Output::Rows(rows) } else { Output::Count(ops.len()) };
    Ok(Planned { ops, output })
}

/// DELETE VERTEX.
pub(crate) fn delete_vertex(env: &Env<'_>, s: &DeleteVertexStatement) -> Res<Planned> {
    let limit = limit_of(env, s.limit.as_ref(), None)?;
    let records = matching(env, &s.target, s.where_clause.as_ref(), limit)?;
    let mut ops = Vec::with_capacity(records.len());
    for r in &records {
        if r.kind() != RecordKind::Vertex {
            return Err(QueryError::Invalid(format!(
                "DELETE VERTEX: {} is not a vertex (its class is '{}')",
                r.rid, r.class
            )));
        }
        ops.push(Op::Delete { rid: r.rid, version: r.version });
    }
    Ok(Planned { output: Output::Count(ops.len()), ops })
}

/// DELETE EDGE.
pub(crate) fn delete_edge(env: &Env<'_>, s: &DeleteEdgeStatement) -> Res<Planned> {
    let limit = limit_of(env, s.limit.as_ref(), None)?;
    let class = match &s.class {
        Some(c) => Some(write_class(env, c)?),
        None => None,
    };
    let labels: Vec<&str> = class.iter().map(String::as_str).collect();
    let mut candidates: Vec<Rid> = Vec::new();
    if let Some(t) = &s.edges {
        candidates = target_rids(env, t)?;
    } else if s.from.is_some() || s.to.is_some() {
        let to: Option<Vec<Rid>> = s.to.as_ref().map(|t| target_rids(env, t)).transpose()?;
        match &s.from {
            Some(f) => {
                for v in target_rids(env, f)? {
                    for (edge, other) in env.neighbours(v, Some(basalt_engine::Direction::Out), &labels)? {
                        if to.as_ref().is_none_or(|t| t.contains(&other)) {
                            candidates.push(edge);
                        }
                    }
                }
            }
            None => {
                for v in to.unwrap_or_default() {
                    for (edge, _) in env.neighbours(v, Some(basalt_engine::Direction::In), &labels)? {
                        candidates.push(edge);
                    }
                }
            }
        }
    } else if let Some(c) = &s.class {
        candidates = target_rids(env, &Target::Class(c.clone()))?;
    }
    let mut seen = std::collections::HashSet::new();
    candidates.retain(|r| seen.insert(*r));
    let base = Ctx::default();
    let mut ops = Vec::new();
    for rid in candidates {
        if limit.is_some_and(|l| ops.len() >= l) {
            break;
        }
        let Some(r) = env.load(rid)? else { continue };
        if r.kind() != RecordKind::Edge {
            return Err(QueryError::Invalid(format!("DELETE EDGE: {rid} is not an edge (its class is '{}')", r.class)));
        }
        if let Some(c) = &class {
            if !env.snap.schema().is_subclass_of(&r.class, c) {
                continue;
            }
        }
        let (id, version) = (r.rid, r.version);
        if let Some(w) = &s.where_clause {
            let row = Row::record(r);
            if !test(env, &base.with_row(&row), w)? {
                continue;
            }
        }
        ops.push(Op::Delete { rid: id, version });
    }
    Ok(Planned { output: Output::Count(ops.len()), ops })
}
