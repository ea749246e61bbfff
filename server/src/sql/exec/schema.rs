//! Schema statements (DDL): classes, properties, indexes, and TRUNCATE. Each plans into
//! engine schema requests and answers a description of what was done, e.g.
//! `{"operation": "create class", "className": "Person", "superClass": "V", "clusterId": 11}`.
//!
//! Basalt classes have one superclass and one cluster; properties keep type, linked type or
//! class, MANDATORY, NOTNULL and READONLY. Other OrientDB settings (MIN, MAX, REGEXP, DEFAULT,
//! COLLATE, custom attributes, short names, cluster management, FULLTEXT and DICTIONARY
//! indexes) are refused with an error naming them rather than ignored.

use basalt_engine::schema::{IndexDef, PropertyDef, SchemaChange};
use basalt_engine::{Document, Error as EngineError, PropertyType, RecordKind, SchemaRequest, Value};

use super::eval::{invalid_at, Env};
use super::plan::{class_name, cluster_id, unsupported};
use super::rows::Res;
use super::write::{Enrich, Op, Output, Planned};
use crate::query::QueryError;
use crate::sql::ast::{
    AlterClassAction, AlterPropertyStatement, CreateIndexStatement, CreatePropertyStatement, Ident, IndexName,
    IndexType, LinkedTo, PropertySetting, Statement, SuperclassChange,
};

fn describe(operation: &str, pairs: Vec<(&str, Value)>) -> Document {
    let mut d = Document::new().with("operation", Value::String(operation.into()));
    for (k, v) in pairs {
        d.set(k, v);
    }
    d
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

fn class_or_err(env: &Env<'_>, c: &Ident) -> Res<String> {
    match class_name(env, c)? {
        Some(n) => Ok(n),
        None => Ok(c.name.clone()),
    }
}

fn engine_type(t: crate::sql::ast::PropertyType) -> Res<PropertyType> {
    PropertyType::parse(t.name()).ok_or_else(|| QueryError::Invalid(format!("type {} is not supported", t.name())))
}

/// Plans a schema statement (or TRUNCATE).
pub(crate) fn plan(env: &Env<'_>, st: &Statement) -> Res<Planned> {
    let schema = env.snap.schema();
    let described = |ops: Vec<Op>, d: Document, e: Enrich| Ok(Planned { ops, output: Output::Describe(d, e) });
    match st {
        Statement::CreateClass(c) => {
            let name = c.name.name.clone();
            if let Some(existing) = schema.class(&name) {
                if c.if_not_exists {
                    let d = describe(
                        "create class",
                        vec![("className", s(&existing.name)), ("created", Value::Bool(false))],
                    );
                    return described(Vec::new(), d, Enrich::ClusterOf(existing.name.clone()));
                }
                return Err(EngineError::ClassExists(name).into());
            }
            if let Some(second) = c.superclasses.get(1) {
                return Err(invalid_at(second.span, "a Basalt class has one superclass"));
            }
            let superclass = match c.superclasses.first() {
                Some(sc) => Some(class_or_err(env, sc)?),
                None => None,
            };
            let op = Op::Schema(SchemaRequest::CreateClass {
                name: name.clone(),
                superclass: superclass.clone(),
                is_abstract: c.is_abstract,
            });
            let d = describe(
                "create class",
                vec![
                    ("className", s(&name)),
                    ("superClass", superclass.as_deref().map(s).unwrap_or(Value::Null)),
                    ("abstract", Value::Bool(c.is_abstract)),
                ],
            );
            described(vec![op], d, if c.is_abstract { Enrich::None } else { Enrich::ClusterOf(name) })
        }
        Statement::AlterClass(a) => {
            let name = class_or_err(env, &a.name)?;
            let (attribute, value, req) = match &a.action {
                AlterClassAction::Name(n) => (
                    "name",
                    s(&n.name),
                    SchemaRequest::Change(SchemaChange::RenameClass { name: name.clone(), new_name: n.name.clone() }),
                ),
                AlterClassAction::Superclass(change) => {
                    let current = schema.class(&name).and_then(|c| c.superclass.clone());
                    let new = match change {
                        SuperclassChange::Set(c) | SuperclassChange::Add(c) => Some(class_or_err(env, c)?),
                        SuperclassChange::Remove(c) => {
                            if current.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(&c.name)) {
                                None
                            } else {
                                return Err(invalid_at(
                                    c.span,
                                    format!("'{}' is not a superclass of '{name}'", c.name),
                                ));
                            }
                        }
                        SuperclassChange::Clear => None,
                    };
                    if let (SuperclassChange::Add(c), Some(cur)) = (change, &current) {
                        if !cur.eq_ignore_ascii_case(&c.name) {
                            return Err(invalid_at(
                                c.span,
                                format!("'{name}' already extends '{cur}'; a Basalt class has one superclass"),
                            ));
                        }
                    }
                    (
                        "superClass",
                        new.as_deref().map(s).unwrap_or(Value::Null),
                        SchemaRequest::Change(SchemaChange::SetSuperclass { name: name.clone(), superclass: new }),
                    )
                }
                AlterClassAction::Superclasses(list) => {
                    if let Some(second) = list.get(1) {
                        return Err(invalid_at(second.span, "a Basalt class has one superclass"));
                    }
                    let new = match list.first() {
                        Some(c) => Some(class_or_err(env, c)?),
                        None => None,
                    };
                    (
                        "superClass",
                        new.as_deref().map(s).unwrap_or(Value::Null),
                        SchemaRequest::Change(SchemaChange::SetSuperclass { name: name.clone(), superclass: new }),
                    )
                }
                AlterClassAction::Abstract(b) => {
                    ("abstract", Value::Bool(*b), SchemaRequest::SetAbstract { name: name.clone(), is_abstract: *b })
                }
                AlterClassAction::StrictMode(b) => (
                    "strictMode",
                    Value::Bool(*b),
                    SchemaRequest::Change(SchemaChange::SetStrict { name: name.clone(), strict: *b }),
                ),
                AlterClassAction::ShortName(_) => return Err(unsupported("ALTER CLASS ... SHORTNAME")),
                AlterClassAction::Description(_) => return Err(unsupported("ALTER CLASS ... DESCRIPTION")),
                AlterClassAction::AddCluster(_) | AlterClassAction::RemoveCluster(_) => {
                    return Err(unsupported("ALTER CLASS ... ADDCLUSTER/REMOVECLUSTER (a class has one cluster)"))
                }
                AlterClassAction::Custom { .. } => return Err(unsupported("ALTER CLASS ... CUSTOM")),
            };
            let shown = match &a.action {
                AlterClassAction::Name(n) => n.name.clone(),
                _ => name.clone(),
            };
            let d =
                describe("alter class", vec![("className", s(&name)), ("attribute", s(attribute)), ("value", value)]);
            described(vec![Op::Schema(req)], d, Enrich::ClusterOf(shown))
        }
        Statement::DropClass(c) => {
            let Some(def) = schema.class(&c.name.name) else {
                if c.if_exists {
                    let d =
                        describe("drop class", vec![("className", s(&c.name.name)), ("dropped", Value::Bool(false))]);
                    return described(Vec::new(), d, Enrich::None);
                }
                if env.tx_schema_changed {
                    let op =
                        Op::Schema(SchemaRequest::DropClass { name: c.name.name.clone(), unsafe_drop: c.unsafe_mode });
                    let d = describe("drop class", vec![("className", s(&c.name.name))]);
                    return described(vec![op], d, Enrich::None);
                }
                return Err(invalid_at(c.name.span, format!("class '{}' not found", c.name.name)));
            };
            let records = env.snap.count(&def.name, false)?;
            let op = Op::Schema(SchemaRequest::DropClass { name: def.name.clone(), unsafe_drop: c.unsafe_mode });
            let d = describe(
                "drop class",
                vec![("className", s(&def.name)), ("records", super::rows::int_value(records as i64))],
            );
            described(vec![op], d, Enrich::None)
        }
        Statement::TruncateClass(t) => {
            let name = class_or_err(env, &t.name)?;
            let kind = schema.kind_of(&name);
            if kind != RecordKind::Document && !t.unsafe_mode {
                return Err(invalid_at(
                    t.name.span,
                    format!("'{name}' is a vertex or edge class: TRUNCATE CLASS {name} UNSAFE deletes its records with their edges"),
                ));
            }
            let mut ops = Vec::new();
            for r in env.snap.scan(&name, t.polymorphic)? {
                let r = r?;
                ops.push(Op::Delete { rid: r.rid, version: r.version });
            }
            let d = describe(
                "truncate class",
                vec![("className", s(&name)), ("records", super::rows::int_value(ops.len() as i64))],
            );
            described(ops, d, Enrich::None)
        }
        Statement::TruncateCluster(t) => {
            let id = cluster_id(env, &t.name)?;
            let mut ops = Vec::new();
            for r in env.snap.scan_cluster(id) {
                let r = r?;
                if r.kind() != RecordKind::Document && !t.unsafe_mode {
                    return Err(invalid_at(
                        t.name.span,
                        format!("cluster '{}' holds vertices or edges: add UNSAFE", t.name.name),
                    ));
                }
                ops.push(Op::Delete { rid: r.rid, version: r.version });
            }
            let d = describe(
                "truncate cluster",
                vec![("clusterName", s(&t.name.name)), ("records", super::rows::int_value(ops.len() as i64))],
            );
            described(ops, d, Enrich::None)
        }
        Statement::CreateProperty(p) => create_property(env, p),
        Statement::AlterProperty(p) => alter_property(env, p),
        Statement::DropProperty(p) => {
            let class = class_or_err(env, &p.class)?;
            let exists = schema.properties_of(&class).contains_key(&p.property.name.to_lowercase())
                && schema.class(&class).is_some_and(|c| c.properties.contains_key(&p.property.name.to_lowercase()));
            if !exists {
                if p.if_exists {
                    let d = describe(
                        "drop property",
                        vec![
                            ("className", s(&class)),
                            ("propertyName", s(&p.property.name)),
                            ("dropped", Value::Bool(false)),
                        ],
                    );
                    return described(Vec::new(), d, Enrich::None);
                }
                return Err(EngineError::PropertyNotFound { class, property: p.property.name.clone() }.into());
            }
            let mut ops = Vec::new();
            for idx in schema.indexes.values().filter(|i| {
                i.class.eq_ignore_ascii_case(&class)
                    && i.fields.iter().any(|f| f.eq_ignore_ascii_case(&p.property.name))
            }) {
                if !p.force {
                    return Err(invalid_at(
                        p.property.span,
                        format!(
                            "property '{class}.{}' is used by index '{}': drop the index first, or add FORCE",
                            p.property.name, idx.name
                        ),
                    ));
                }
                ops.push(Op::Schema(SchemaRequest::Change(SchemaChange::DropIndex { name: idx.name.clone() })));
            }
            ops.push(Op::Schema(SchemaRequest::Change(SchemaChange::DropProperty {
                class: class.clone(),
                name: p.property.name.clone(),
            })));
            let d = describe("drop property", vec![("className", s(&class)), ("propertyName", s(&p.property.name))]);
            described(ops, d, Enrich::None)
        }
        Statement::CreateIndex(i) => create_index(env, i),
        Statement::DropIndex(i) => {
            let name = index_name(&i.name);
            if schema.index(&name).is_none() {
                if i.if_exists {
                    let d = describe("drop index", vec![("name", s(&name)), ("dropped", Value::Bool(false))]);
                    return described(Vec::new(), d, Enrich::None);
                }
                return Err(EngineError::IndexNotFound(name).into());
            }
            let op = Op::Schema(SchemaRequest::Change(SchemaChange::DropIndex { name: name.clone() }));
            described(vec![op], describe("drop index", vec![("name", s(&name))]), Enrich::None)
        }
        Statement::CreateCluster(_) => Err(unsupported("CREATE CLUSTER (each class has its own cluster)")),
        Statement::DropCluster(_) => Err(unsupported("DROP CLUSTER (drop the class instead)")),
        other => Err(QueryError::Invalid(format!("{} is not a schema statement", super::statement_name(other)))),
    }
}

fn index_name(n: &IndexName) -> String {
    match n {
        IndexName::Simple(i) => i.name.clone(),
        IndexName::Property { class, property } => format!("{}.{}", class.name, property.name),
    }
}

/// Applies a property setting to a definition.
fn apply_setting(env: &Env<'_>, p: &mut PropertyDef, setting: &PropertySetting) -> Res<()> {
    match setting {
        PropertySetting::Type(t) => p.ty = engine_type(*t)?,
        PropertySetting::LinkedClass(c) => {
            p.linked_class = match c {
                Some(c) => Some(class_or_err(env, c)?),
                None => None,
            }
        }
        PropertySetting::LinkedType(t) => p.linked_type = t.map(engine_type).transpose()?,
        PropertySetting::Mandatory(b) => p.mandatory = *b,
        PropertySetting::NotNull(b) => p.not_null = *b,
        PropertySetting::Readonly(b) => p.readonly = *b,
        PropertySetting::Name(_) => return Err(unsupported("renaming a property")),
        PropertySetting::Min(_) => return Err(unsupported("the MIN constraint")),
        PropertySetting::Max(_) => return Err(unsupported("the MAX constraint")),
        PropertySetting::Regexp(_) => return Err(unsupported("the REGEXP constraint")),
        PropertySetting::Default(_) => return Err(unsupported("DEFAULT values")),
        PropertySetting::Collate(_) => return Err(unsupported("COLLATE")),
        PropertySetting::Description(_) => return Err(unsupported("property DESCRIPTION")),
        PropertySetting::Custom { .. } => return Err(unsupported("custom property attributes")),
    }
    Ok(())
}

fn create_property(env: &Env<'_>, p: &CreatePropertyStatement) -> Res<Planned> {
    let class = class_or_err(env, &p.class)?;
    let exists =
        env.snap.schema().class(&class).is_some_and(|c| c.properties.contains_key(&p.property.name.to_lowercase()));
    let d = describe("create property", vec![("className", s(&class)), ("propertyName", s(&p.property.name))]);
    if exists {
        if p.if_not_exists {
            let mut d = d;
            d.set("created", Value::Bool(false));
            return Ok(Planned { ops: Vec::new(), output: Output::Describe(d, Enrich::None) });
        }
        return Err(EngineError::PropertyExists { class, property: p.property.name.clone() }.into());
    }
    let mut def = PropertyDef::new(p.property.name.clone(), engine_type(p.property_type)?);
    match &p.linked {
        Some(LinkedTo::Type(t)) => def.linked_type = Some(engine_type(*t)?),
        Some(LinkedTo::Class(c)) => def.linked_class = Some(class_or_err(env, c)?),
        None => {}
    }
    for c in &p.constraints {
        apply_setting(env, &mut def, c)?;
    }
    let mut d = d;
    d.set("type", s(def.ty.name()));
    if let Some(t) = def.linked_type {
        d.set("linkedType", s(t.name()));
    }
    if let Some(c) = &def.linked_class {
        d.set("linkedClass", s(c));
    }
    let op = Op::Schema(SchemaRequest::Change(SchemaChange::CreateProperty { class, property: def }));
    Ok(Planned { ops: vec![op], output: Output::Describe(d, Enrich::None) })
}

fn alter_property(env: &Env<'_>, p: &AlterPropertyStatement) -> Res<Planned> {
    let class = class_or_err(env, &p.class)?;
    let current = env
        .snap
        .schema()
        .class(&class)
        .and_then(|c| c.properties.get(&p.property.name.to_lowercase()))
        .cloned()
        .ok_or_else(|| EngineError::PropertyNotFound { class: class.clone(), property: p.property.name.clone() })?;
    let mut def = current;
    apply_setting(env, &mut def, &p.setting)?;
    let d = describe(
        "alter property",
        vec![("className", s(&class)), ("propertyName", s(&def.name)), ("setting", s(&p.setting.to_string()))],
    );
    let op = Op::Schema(SchemaRequest::Change(SchemaChange::AlterProperty { class, property: def }));
    Ok(Planned { ops: vec![op], output: Output::Describe(d, Enrich::None) })
}

fn create_index(env: &Env<'_>, i: &CreateIndexStatement) -> Res<Planned> {
    let name = index_name(&i.name);
    let (class, fields) = match (&i.name, &i.on) {
        (_, Some(on)) => {
            for p in &on.properties {
                if p.by.is_some() {
                    return Err(unsupported("BY KEY / BY VALUE indexes"));
                }
                if p.collate.is_some() {
                    return Err(unsupported("COLLATE in indexes"));
                }
            }
            (class_or_err(env, &on.class)?, on.properties.iter().map(|p| p.name.name.clone()).collect::<Vec<_>>())
        }
        (IndexName::Property { class, property }, None) => (class_or_err(env, class)?, vec![property.name.clone()]),
        (IndexName::Simple(n), None) => {
            return Err(invalid_at(
                n.span,
                format!("CREATE INDEX {} needs ON Class (properties) (manual indexes are not supported)", n.name),
            ))
        }
    };
    if !i.key_types.is_empty() {
        return Err(unsupported("key types after the index type (manual indexes)"));
    }
    if i.engine.is_some() {
        return Err(unsupported("ENGINE in CREATE INDEX"));
    }
    let unique = match i.index_type {
        IndexType::Unique | IndexType::UniqueHash => true,
        IndexType::NotUnique | IndexType::NotUniqueHash => false,
        other => return Err(unsupported(&format!("{} indexes", other.name()))),
    };
    if env.snap.schema().index(&name).is_some() {
        if i.if_not_exists {
            let d = describe("create index", vec![("name", s(&name)), ("created", Value::Bool(false))]);
            return Ok(Planned { ops: Vec::new(), output: Output::Describe(d, Enrich::IndexSize(name)) });
        }
        return Err(EngineError::IndexExists(name).into());
    }
    let d = describe(
        "create index",
        vec![
            ("name", s(&name)),
            ("className", s(&class)),
            ("fields", Value::List(fields.iter().map(|f| s(f)).collect())),
            ("type", s(i.index_type.name())),
        ],
    );
    let def = IndexDef { name: name.clone(), class, fields, unique, kind: i.index_type.name().to_string() };
    let op = Op::Schema(SchemaRequest::Change(SchemaChange::CreateIndex { index: def }));
    Ok(Planned { ops: vec![op], output: Output::Describe(d, Enrich::IndexSize(name)) })
}
