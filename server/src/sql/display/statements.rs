//! Canonical printing of clauses and statements (see the parent module for the promises).

use std::fmt::{self, Display, Formatter, Write};

use super::{write_expr, write_list, write_quoted_ident, write_string, write_variable};
use crate::sql::ast::*;

impl Display for AliasedExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.expr)?;
        if let Some(alias) = &self.alias {
            write!(f, " AS {alias}")?;
        }
        Ok(())
    }
}

impl Display for Projection {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Projection::All => f.write_char('*'),
            Projection::Expr(item) => write!(f, "{item}"),
        }
    }
}

impl Display for OrderItem {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.expr)?;
        if self.direction == SortDirection::Desc {
            f.write_str(" DESC")?;
        }
        Ok(())
    }
}

impl Display for Target {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Target::Class(name) => write!(f, "{name}"),
            Target::Cluster(name) => write!(f, "cluster:{name}"),
            Target::Metadata(name) => write!(f, "metadata:{name}"),
            Target::Index(name) => write!(f, "index:{name}"),
            Target::Rid(rid) => write!(f, "{rid}"),
            Target::Rids(rids) => {
                f.write_char('[')?;
                write_list(f, rids, |f, r| write!(f, "{r}"))?;
                f.write_char(']')
            }
            Target::Subquery(statement) => write!(f, "({statement})"),
            Target::Parameter(p) => write!(f, "{p}"),
            Target::Variable(name) => write_variable(f, name),
        }
    }
}

impl Display for Assignment {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} = {}", self.field, self.value)
    }
}

/// ` GROUP BY ...`, ` ORDER BY ...`, ` UNWIND ...`, ` SKIP ...`, ` LIMIT ...` shared by
/// SELECT and MATCH.
struct Tail<'a> {
    group_by: &'a [Expr],
    order_by: &'a [OrderItem],
    unwind: &'a [Ident],
    skip: Option<&'a IntArg>,
    limit: Option<&'a IntArg>,
}

impl Display for Tail<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if !self.group_by.is_empty() {
            f.write_str(" GROUP BY ")?;
            write_list(f, self.group_by, |f, e| write!(f, "{e}"))?;
        }
        if !self.order_by.is_empty() {
            f.write_str(" ORDER BY ")?;
            write_list(f, self.order_by, |f, o| write!(f, "{o}"))?;
        }
        if !self.unwind.is_empty() {
            f.write_str(" UNWIND ")?;
            write_list(f, self.unwind, |f, u| write!(f, "{u}"))?;
        }
        // Positional parameters are numbered by position in the text: keep LIMIT first if
        // its `?` came first.
        let limit_first = matches!(
            (self.skip, self.limit),
            (
                Some(IntArg::Parameter(Parameter::Positional { index: s, .. })),
                Some(IntArg::Parameter(Parameter::Positional { index: l, .. }))
            ) if l < s
        );
        if limit_first {
            if let (Some(skip), Some(limit)) = (self.skip, self.limit) {
                return write!(f, " LIMIT {limit} SKIP {skip}");
            }
        }
        if let Some(skip) = self.skip {
            write!(f, " SKIP {skip}")?;
        }
        if let Some(limit) = self.limit {
            write!(f, " LIMIT {limit}")?;
        }
        Ok(())
    }
}

impl Display for SelectStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("SELECT")?;
        if self.distinct {
            f.write_str(" DISTINCT")?;
        }
        if !self.projections.is_empty() {
            f.write_char(' ')?;
            write_list(f, &self.projections, |f, p| write!(f, "{p}"))?;
        }
        if let Some(from) = &self.from {
            write!(f, " FROM {from}")?;
        }
        if !self.let_items.is_empty() {
            f.write_str(" LET ")?;
            write_list(f, &self.let_items, |f, item| {
                write_variable(f, &item.name)?;
                write!(f, " = {}", item.value)
            })?;
        }
        if let Some(condition) = &self.where_clause {
            write!(f, " WHERE {condition}")?;
        }
        let tail = Tail {
            group_by: &self.group_by,
            order_by: &self.order_by,
            unwind: &self.unwind,
            skip: self.skip.as_ref(),
            limit: self.limit.as_ref(),
        };
        write!(f, "{tail}")?;
        if let Some(t) = &self.timeout {
            write!(f, " TIMEOUT {}", t.ms)?;
            match t.strategy {
                Some(crate::sql::ast::TimeoutStrategy::Return) => f.write_str(" RETURN")?,
                Some(crate::sql::ast::TimeoutStrategy::Exception) => f.write_str(" EXCEPTION")?,
                None => {}
            }
        }
        Ok(())
    }
}

impl Display for TraverseStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("TRAVERSE ")?;
        write_list(f, &self.projections, |f, p| write!(f, "{p}"))?;
        write!(f, " FROM {}", self.target)?;
        if let Some(depth) = &self.max_depth {
            write!(f, " MAXDEPTH {depth}")?;
        }
        if let Some(condition) = &self.while_condition {
            write!(f, " WHILE {condition}")?;
        }
        if let Some(limit) = &self.limit {
            write!(f, " LIMIT {limit}")?;
        }
        match self.strategy {
            Some(TraverseStrategy::DepthFirst) => f.write_str(" STRATEGY DEPTH_FIRST"),
            Some(TraverseStrategy::BreadthFirst) => f.write_str(" STRATEGY BREADTH_FIRST"),
            None => Ok(()),
        }
    }
}

impl Display for MatchFilterItem {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            MatchFilterItem::Class(name) => write!(f, "class: {name}"),
            MatchFilterItem::As(name) => write!(f, "as: {name}"),
            MatchFilterItem::Rid(e) => {
                f.write_str("rid: ")?;
                write_expr(f, e, 5)
            }
            MatchFilterItem::Where(e) => write!(f, "where: ({e})"),
            MatchFilterItem::While(e) => write!(f, "while: ({e})"),
            MatchFilterItem::MaxDepth(n) => write!(f, "maxDepth: {n}"),
            MatchFilterItem::Optional(b) => write!(f, "optional: {b}"),
            MatchFilterItem::DepthAlias(name) => write!(f, "depthAlias: {name}"),
            MatchFilterItem::PathAlias(name) => write!(f, "pathAlias: {name}"),
        }
    }
}

impl Display for MatchFilter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_char('{')?;
        write_list(f, &self.items, |f, i| write!(f, "{i}"))?;
        f.write_char('}')
    }
}

impl Display for MatchPattern {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.negated {
            f.write_str("NOT ")?;
        }
        write!(f, "{}", self.origin)?;
        for step in &self.steps {
            write!(f, ".{}", step.traversal)?;
            if !step.filter.items.is_empty() {
                write!(f, "{}", step.filter)?;
            }
        }
        Ok(())
    }
}

impl Display for MatchStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("MATCH ")?;
        write_list(f, &self.patterns, |f, p| write!(f, "{p}"))?;
        f.write_str(" RETURN ")?;
        if self.distinct {
            f.write_str("DISTINCT ")?;
        }
        write_list(f, &self.returns, |f, r| write!(f, "{r}"))?;
        let tail = Tail {
            group_by: &self.group_by,
            order_by: &self.order_by,
            unwind: &self.unwind,
            skip: self.skip.as_ref(),
            limit: self.limit.as_ref(),
        };
        write!(f, "{tail}")
    }
}

impl Display for RecordBody {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            RecordBody::Set(items) => {
                f.write_str("SET ")?;
                write_list(f, items, |f, a| write!(f, "{a}"))
            }
            RecordBody::Content(e) => write!(f, "CONTENT {e}"),
        }
    }
}

impl Display for InsertBody {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            InsertBody::Set(items) => {
                f.write_str("SET ")?;
                write_list(f, items, |f, a| write!(f, "{a}"))
            }
            InsertBody::Content(e) => write!(f, "CONTENT {e}"),
            InsertBody::Values { fields, rows } => {
                f.write_char('(')?;
                write_list(f, fields, |f, n| write!(f, "{n}"))?;
                f.write_str(") VALUES ")?;
                write_list(f, rows, |f, row| {
                    f.write_char('(')?;
                    write_list(f, row, |f, e| write!(f, "{e}"))?;
                    f.write_char(')')
                })
            }
            InsertBody::FromQuery(statement) => write!(f, "FROM ({statement})"),
        }
    }
}

impl Display for InsertStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("INSERT INTO ")?;
        match &self.target {
            InsertTarget::Class(name) => write!(f, "{name}")?,
            InsertTarget::Cluster(name) => write!(f, "cluster:{name}")?,
        }
        write!(f, " {}", self.body)?;
        if let Some(e) = &self.return_expr {
            write!(f, " RETURN {e}")?;
        }
        Ok(())
    }
}

impl Display for UpdateOperation {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            UpdateOperation::Set(items) | UpdateOperation::Increment(items) | UpdateOperation::Add(items) => {
                let word = match self {
                    UpdateOperation::Set(_) => "SET",
                    UpdateOperation::Increment(_) => "INCREMENT",
                    _ => "ADD",
                };
                write!(f, "{word} ")?;
                write_list(f, items, |f, a| write!(f, "{a}"))
            }
            UpdateOperation::Remove(items) => {
                f.write_str("REMOVE ")?;
                write_list(f, items, |f, item| {
                    write!(f, "{}", item.field)?;
                    match &item.value {
                        Some(v) => write!(f, " = {v}"),
                        None => Ok(()),
                    }
                })
            }
            UpdateOperation::Put(items) => {
                f.write_str("PUT ")?;
                write_list(f, items, |f, item| write!(f, "{} = {}, {}", item.field, item.key, item.value))
            }
            UpdateOperation::Content(e) => write!(f, "CONTENT {e}"),
            UpdateOperation::Merge(e) => write!(f, "MERGE {e}"),
        }
    }
}

impl Display for UpdateStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "UPDATE {}", self.target)?;
        for op in &self.operations {
            write!(f, " {op}")?;
        }
        if self.upsert {
            f.write_str(" UPSERT")?;
        }
        if let Some(ret) = &self.return_clause {
            f.write_str(match ret.timing {
                ReturnTiming::Before => " RETURN BEFORE",
                ReturnTiming::After => " RETURN AFTER",
            })?;
            if let Some(p) = &ret.projection {
                write!(f, " {p}")?;
            }
        }
        write_where_limit(f, self.where_clause.as_ref(), self.limit.as_ref())?;
        if let Some(t) = &self.timeout {
            write!(f, " TIMEOUT {t}")?;
        }
        Ok(())
    }
}

fn write_where_limit(f: &mut Formatter<'_>, condition: Option<&Expr>, limit: Option<&IntArg>) -> fmt::Result {
    if let Some(c) = condition {
        write!(f, " WHERE {c}")?;
    }
    if let Some(l) = limit {
        write!(f, " LIMIT {l}")?;
    }
    Ok(())
}

impl Display for DeleteStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "DELETE FROM {}", self.target)?;
        if self.return_before {
            f.write_str(" RETURN BEFORE")?;
        }
        write_where_limit(f, self.where_clause.as_ref(), self.limit.as_ref())?;
        if self.unsafe_mode {
            f.write_str(" UNSAFE")?;
        }
        Ok(())
    }
}

impl Display for DeleteEdgeStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("DELETE EDGE")?;
        if let Some(edges) = &self.edges {
            write!(f, " {edges}")?;
        }
        if let Some(class) = &self.class {
            write!(f, " {class}")?;
        }
        if let Some(from) = &self.from {
            write!(f, " FROM {from}")?;
        }
        if let Some(to) = &self.to {
            write!(f, " TO {to}")?;
        }
        write_where_limit(f, self.where_clause.as_ref(), self.limit.as_ref())
    }
}

impl Display for CreateVertexStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("CREATE VERTEX")?;
        if let Some(class) = &self.class {
            write!(f, " {class}")?;
        }
        if let Some(cluster) = &self.cluster {
            write!(f, " CLUSTER {cluster}")?;
        }
        if let Some(body) = &self.body {
            write!(f, " {body}")?;
        }
        Ok(())
    }
}

impl Display for CreateEdgeStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("CREATE EDGE")?;
        if let Some(class) = &self.class {
            write!(f, " {class}")?;
        }
        if self.upsert {
            f.write_str(" UPSERT")?;
        }
        write!(f, " FROM {} TO {}", self.from, self.to)?;
        if let Some(body) = &self.body {
            write!(f, " {body}")?;
        }
        Ok(())
    }
}

fn if_not_exists(flag: bool) -> &'static str {
    if flag {
        " IF NOT EXISTS"
    } else {
        ""
    }
}

fn if_exists(flag: bool) -> &'static str {
    if flag {
        " IF EXISTS"
    } else {
        ""
    }
}

fn flag(on: bool, word: &'static str) -> &'static str {
    if on {
        word
    } else {
        ""
    }
}

impl Display for AlterClassAction {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            AlterClassAction::Name(n) => write!(f, "NAME {n}"),
            AlterClassAction::ShortName(n) => write!(f, "SHORTNAME {}", OptionalName(n.as_ref())),
            AlterClassAction::Superclass(change) => match change {
                SuperclassChange::Set(n) => write!(f, "SUPERCLASS {n}"),
                SuperclassChange::Add(n) => write!(f, "SUPERCLASS +{n}"),
                SuperclassChange::Remove(n) => write!(f, "SUPERCLASS -{n}"),
                SuperclassChange::Clear => f.write_str("SUPERCLASS null"),
            },
            AlterClassAction::Superclasses(list) if list.is_empty() => f.write_str("SUPERCLASSES null"),
            AlterClassAction::Superclasses(list) => {
                f.write_str("SUPERCLASSES ")?;
                write_list(f, list, |f, n| write!(f, "{n}"))
            }
            AlterClassAction::Abstract(b) => write!(f, "ABSTRACT {b}"),
            AlterClassAction::StrictMode(b) => write!(f, "STRICTMODE {b}"),
            AlterClassAction::Description(d) => write!(f, "DESCRIPTION {}", OptionalString(d.as_deref())),
            AlterClassAction::AddCluster(n) => write!(f, "ADDCLUSTER {n}"),
            AlterClassAction::RemoveCluster(n) => write!(f, "REMOVECLUSTER {n}"),
            AlterClassAction::Custom { key, value } => write!(f, "CUSTOM {key} = {}", Operand(value)),
        }
    }
}

/// A name or `null`.
struct OptionalName<'a>(Option<&'a Ident>);

impl Display for OptionalName<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(n) => write!(f, "{n}"),
            None => f.write_str("null"),
        }
    }
}

/// A string or `null`.
struct OptionalString<'a>(Option<&'a str>);

impl Display for OptionalString<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(s) => write_string(f, s, '\''),
            None => f.write_str("null"),
        }
    }
}

/// An expression in a position parsed as an operand (no bare conditions).
struct Operand<'a>(&'a Expr);

impl Display for Operand<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_expr(f, self.0, 5)
    }
}

/// A class name where a bare type keyword would read as a type.
struct LinkedClassName<'a>(&'a Ident);

impl Display for LinkedClassName<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if PropertyType::from_name(&self.0.name).is_some() {
            write_quoted_ident(f, &self.0.name)
        } else {
            write!(f, "{}", self.0)
        }
    }
}

impl Display for PropertySetting {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            PropertySetting::Name(n) => write!(f, "NAME {n}"),
            PropertySetting::Type(t) => write!(f, "TYPE {}", t.name()),
            PropertySetting::LinkedClass(n) => write!(f, "LINKEDCLASS {}", OptionalName(n.as_ref())),
            PropertySetting::LinkedType(t) => write!(f, "LINKEDTYPE {}", t.map_or("null", PropertyType::name)),
            PropertySetting::Mandatory(b) => write!(f, "MANDATORY {b}"),
            PropertySetting::NotNull(b) => write!(f, "NOTNULL {b}"),
            PropertySetting::Readonly(b) => write!(f, "READONLY {b}"),
            PropertySetting::Min(l) => write!(f, "MIN {l}"),
            PropertySetting::Max(l) => write!(f, "MAX {l}"),
            PropertySetting::Regexp(r) => write!(f, "REGEXP {}", OptionalString(r.as_deref())),
            PropertySetting::Default(e) => write!(f, "DEFAULT {}", Operand(e)),
            PropertySetting::Collate(n) => write!(f, "COLLATE {}", OptionalName(n.as_ref())),
            PropertySetting::Description(d) => write!(f, "DESCRIPTION {}", OptionalString(d.as_deref())),
            PropertySetting::Custom { key, value } => write!(f, "CUSTOM {key} = {}", Operand(value)),
        }
    }
}

impl Display for IndexName {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            IndexName::Simple(n) => write!(f, "{n}"),
            IndexName::Property { class, property } => write!(f, "{class}.{property}"),
        }
    }
}

impl Display for CreateIndexStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "CREATE INDEX {}{}", self.name, if_not_exists(self.if_not_exists))?;
        if let Some(on) = &self.on {
            write!(f, " ON {} (", on.class)?;
            write_list(f, &on.properties, |f, p| {
                write!(f, "{}", p.name)?;
                match p.by {
                    Some(IndexBy::Key) => f.write_str(" BY KEY")?,
                    Some(IndexBy::Value) => f.write_str(" BY VALUE")?,
                    None => {}
                }
                if let Some(c) = &p.collate {
                    write!(f, " COLLATE {c}")?;
                }
                Ok(())
            })?;
            f.write_char(')')?;
        }
        write!(f, " {}", self.index_type.name())?;
        if !self.key_types.is_empty() {
            f.write_char(' ')?;
            write_list(f, &self.key_types, |f, t| f.write_str(t.name()))?;
        }
        if let Some(engine) = &self.engine {
            write!(f, " ENGINE {engine}")?;
        }
        if let Some(metadata) = &self.metadata {
            write!(f, " METADATA {}", Operand(metadata))?;
        }
        Ok(())
    }
}

impl Display for CreatePropertyStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "CREATE PROPERTY {}.{}{}", self.class, self.property, if_not_exists(self.if_not_exists))?;
        write!(f, " {}", self.property_type.name())?;
        match &self.linked {
            Some(LinkedTo::Type(t)) => write!(f, " {}", t.name())?,
            Some(LinkedTo::Class(c)) => write!(f, " {}", LinkedClassName(c))?,
            None => {}
        }
        if !self.constraints.is_empty() {
            f.write_str(" (")?;
            write_list(f, &self.constraints, |f, c| write!(f, "{c}"))?;
            f.write_char(')')?;
        }
        f.write_str(flag(self.unsafe_mode, " UNSAFE"))
    }
}

impl Display for LetValue {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            LetValue::Statement(s) => write!(f, "{s}"),
            LetValue::Expr(e) => write!(f, "{e}"),
        }
    }
}

impl Display for Statement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Statement::Select(s) => write!(f, "{s}"),
            Statement::Traverse(s) => write!(f, "{s}"),
            Statement::Match(s) => write!(f, "{s}"),
            Statement::Insert(s) => write!(f, "{s}"),
            Statement::Update(s) => write!(f, "{s}"),
            Statement::Delete(s) => write!(f, "{s}"),
            Statement::DeleteVertex(s) => {
                write!(f, "DELETE VERTEX {}", s.target)?;
                write_where_limit(f, s.where_clause.as_ref(), s.limit.as_ref())
            }
            Statement::DeleteEdge(s) => write!(f, "{s}"),
            Statement::CreateVertex(s) => write!(f, "{s}"),
            Statement::CreateEdge(s) => write!(f, "{s}"),
            Statement::CreateClass(s) => {
                write!(f, "CREATE CLASS {}{}", s.name, if_not_exists(s.if_not_exists))?;
                if !s.superclasses.is_empty() {
                    f.write_str(" EXTENDS ")?;
                    write_list(f, &s.superclasses, |f, n| write!(f, "{n}"))?;
                }
                f.write_str(flag(s.is_abstract, " ABSTRACT"))
            }
            Statement::AlterClass(s) => write!(f, "ALTER CLASS {} {}", s.name, s.action),
            Statement::DropClass(s) => {
                write!(f, "DROP CLASS {}{}{}", s.name, if_exists(s.if_exists), flag(s.unsafe_mode, " UNSAFE"))
            }
            Statement::TruncateClass(s) => write!(
                f,
                "TRUNCATE CLASS {}{}{}",
                s.name,
                flag(s.polymorphic, " POLYMORPHIC"),
                flag(s.unsafe_mode, " UNSAFE")
            ),
            Statement::CreateProperty(s) => write!(f, "{s}"),
            Statement::AlterProperty(s) => write!(f, "ALTER PROPERTY {}.{} {}", s.class, s.property, s.setting),
            Statement::DropProperty(s) => {
                write!(
                    f,
                    "DROP PROPERTY {}.{}{}{}",
                    s.class,
                    s.property,
                    if_exists(s.if_exists),
                    flag(s.force, " FORCE")
                )
            }
            Statement::CreateIndex(s) => write!(f, "{s}"),
            Statement::DropIndex(s) => write!(f, "DROP INDEX {}{}", s.name, if_exists(s.if_exists)),
            Statement::CreateCluster(s) => {
                write!(f, "CREATE CLUSTER {}{}", s.name, if_not_exists(s.if_not_exists))?;
                match s.id {
                    Some(id) => write!(f, " ID {id}"),
                    None => Ok(()),
                }
            }
            Statement::DropCluster(s) => write!(f, "DROP CLUSTER {}{}", s.name, if_exists(s.if_exists)),
            Statement::TruncateCluster(s) => write!(f, "TRUNCATE CLUSTER {}{}", s.name, flag(s.unsafe_mode, " UNSAFE")),
            Statement::Explain(s) => write!(f, "EXPLAIN {s}"),
            Statement::Profile(s) => write!(f, "PROFILE {s}"),
            Statement::Begin => f.write_str("BEGIN"),
            Statement::Commit { retry: None, .. } => f.write_str("COMMIT"),
            Statement::Commit { retry: Some(n), otherwise: None } => write!(f, "COMMIT RETRY {n}"),
            Statement::Commit { retry: Some(n), otherwise: Some(e) } => {
                write!(f, "COMMIT RETRY {n} ELSE ")?;
                if !e.body.is_empty() {
                    write_block(f, &e.body)?;
                    f.write_str(" AND ")?;
                }
                f.write_str(if e.fail { "FAIL" } else { "CONTINUE" })
            }
            Statement::Rollback => f.write_str("ROLLBACK"),
            Statement::Let { name, value } => {
                f.write_str("LET ")?;
                write_variable(f, name)?;
                write!(f, " = {value}")
            }
            Statement::Return(Some(e)) => write!(f, "RETURN {e}"),
            Statement::Return(None) => f.write_str("RETURN"),
            Statement::Sleep(n) => write!(f, "SLEEP {n}"),
            Statement::If(b) => {
                write!(f, "IF ({}) ", b.condition)?;
                write_block(f, &b.body)
            }
            Statement::While(b) => {
                write!(f, "WHILE ({}) ", b.condition)?;
                write_block(f, &b.body)
            }
            Statement::ForEach(b) => {
                f.write_str("FOREACH (")?;
                write_variable(f, &b.variable)?;
                write!(f, " IN {}) ", b.source)?;
                write_block(f, &b.body)
            }
            Statement::Console(c) => write!(f, "CONSOLE.{} {}", c.level, c.message),
        }
    }
}

/// A script block: `{ s1; s2; }` (each statement closed by `;`, which always parses back).
fn write_block(f: &mut fmt::Formatter<'_>, body: &[Statement]) -> fmt::Result {
    f.write_str("{")?;
    for s in body {
        write!(f, " {s};")?;
    }
    f.write_str(" }")
}
