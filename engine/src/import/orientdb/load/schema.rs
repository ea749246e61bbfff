//! The `schema` and `indexes` sections: classes (superclasses first), their properties,
//! and automatic indexes, read with `ODatabaseImport.importSchema` / `importIndexes`'
//! attribute names (`super-classes`, or the older `super-class`; `abstract`, `strictMode`,
//! `properties` with `name`, `type`, `mandatory`, `readonly`, `not-null`, `linked-class`,
//! `linked-type`; an index's `definition.stream` with `className` and `field`, or
//! `indexDefinitions` for a composite one).

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value as Json};

use super::{invalid, Importer};
use crate::import::orientdb::{is_system_class, OrientError, Position};
use crate::schema::{IndexDef, PropertyDef, PropertyType, SchemaChange, EDGE_CLASS, VERTEX_CLASS};
use crate::tx::{SchemaRequest, Transaction};

/// One class of the export.
struct ClassIn<'a> {
    /// Its name.
    name: &'a str,
    /// Its first superclass, if any.
    superclass: Option<&'a str>,
    /// The JSON.
    json: &'a Map<String, Json>,
}

fn flag(o: &Map<String, Json>, name: &str) -> bool {
    match o.get(name) {
        Some(Json::Bool(b)) => *b,
        Some(Json::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

fn superclasses(o: &Map<String, Json>) -> Vec<&str> {
    match (o.get("super-classes"), o.get("super-class")) {
        (Some(Json::Array(a)), _) => a.iter().filter_map(Json::as_str).collect(),
        (_, Some(Json::String(s))) => vec![s.as_str()],
        _ => Vec::new(),
    }
}

impl Importer<'_> {
    fn schema_change(&mut self, request: SchemaRequest, what: &str) -> Result<(), OrientError> {
        let mut tx = Transaction::new();
        tx.schema(request);
        self.commit(&tx, || format!("schema: {what}"))?;
        Ok(())
    }

    /// Creates the export's classes and properties.
    pub(super) fn schema(&mut self, schema: &Json, at: &Position) -> Result<(), OrientError> {
        self.schema_seen = true;
        let classes = match schema.get("classes") {
            Some(Json::Array(a)) => a.as_slice(),
            None => &[],
            Some(_) => return Err(invalid(at, "section \"schema\"", "\"classes\" is not an array")),
        };
        let mut pending: Vec<ClassIn<'_>> = Vec::new();
        for c in classes {
            let Some(o) = c.as_object() else {
                return Err(invalid(at, "section \"schema\"", "a class is not an object"));
            };
            let Some(name) = o.get("name").and_then(Json::as_str) else {
                return Err(invalid(at, "section \"schema\"", "a class has no name"));
            };
            if is_system_class(name) {
                continue;
            }
            let supers = superclasses(o);
            if supers.len() > 1 {
                self.report.skip(format!("superclasses beyond the first (class {name})"));
            }
            let mut superclass = supers.first().copied();
            if superclass.is_some_and(is_system_class) {
                self.report.skip(format!("OrientDB superclass {} of class {name}", superclass.unwrap_or("")));
                superclass = None;
            }
            pending.push(ClassIn { name, superclass, json: o });
        }
        let order = superclasses_first(&pending).map_err(|m| invalid(at, "section \"schema\"", m))?;
        for &i in &order {
            self.create_class(&pending[i], at)?;
        }
        for &i in &order {
            self.create_properties(&pending[i], at)?;
        }
        Ok(())
    }

    fn create_class(&mut self, c: &ClassIn<'_>, at: &Position) -> Result<(), OrientError> {
        let context = format!("class {} of section \"schema\"", c.name);
        let exists = self.db.snapshot().schema().class(c.name).is_some();
        if exists {
            if !(c.name.eq_ignore_ascii_case(VERTEX_CLASS) || c.name.eq_ignore_ascii_case(EDGE_CLASS)) {
                return Err(invalid(at, context, "the database already has this class; import into an empty database"));
            }
        } else {
            let request = SchemaRequest::CreateClass {
                name: c.name.to_string(),
                superclass: c.superclass.map(str::to_string),
                is_abstract: flag(c.json, "abstract"),
            };
            self.schema_change(request, &format!("creating class {}", c.name))?;
            self.report.classes_created.push(c.name.to_string());
        }
        if flag(c.json, "strictMode") {
            let change = SchemaChange::SetStrict { name: c.name.to_string(), strict: true };
            self.schema_change(SchemaRequest::Change(change), &format!("making class {} strict", c.name))?;
        }
        Ok(())
    }

    fn create_properties(&mut self, c: &ClassIn<'_>, at: &Position) -> Result<(), OrientError> {
        let Some(Json::Array(props)) = c.json.get("properties") else { return Ok(()) };
        for p in props {
            let context = format!("a property of class {} in section \"schema\"", c.name);
            let Some(o) = p.as_object() else { return Err(invalid(at, context, "not an object")) };
            let name = o.get("name").and_then(Json::as_str).ok_or_else(|| invalid(at, &context, "no \"name\""))?;
            let ty_name = o.get("type").and_then(Json::as_str).unwrap_or("");
            let Some(ty) = PropertyType::parse(ty_name) else {
                self.report.skip(format!("properties of type '{ty_name}'"));
                continue;
            };
            let mut def = PropertyDef::new(name, ty);
            def.mandatory = flag(o, "mandatory");
            def.readonly = flag(o, "readonly");
            def.not_null = flag(o, "not-null");
            def.linked_class = o.get("linked-class").and_then(Json::as_str).map(str::to_string);
            def.linked_type = o.get("linked-type").and_then(Json::as_str).and_then(PropertyType::parse);
            if def.linked_class.as_deref().is_some_and(is_system_class) {
                def.linked_class = None;
            }
            for extra in ["min", "max", "regexp", "default-value", "collate", "customFields"] {
                if o.contains_key(extra) && !(extra == "collate" && o.get(extra) == Some(&Json::from("default"))) {
                    self.report.skip(format!("property attribute '{extra}'"));
                }
            }
            let change = SchemaChange::CreateProperty { class: c.name.to_string(), property: def };
            self.schema_change(SchemaRequest::Change(change), &format!("creating property {}.{name}", c.name))?;
        }
        Ok(())
    }

    /// Creates the automatic indexes of the `indexes` section (after the records, so a
    /// unique index checks them all at once).
    pub(super) fn create_indexes(&mut self) -> Result<(), OrientError> {
        for index in std::mem::take(&mut self.indexes) {
            match index_def(&index) {
                Ok(def) => {
                    let known = self.db.snapshot().schema().class(&def.class).is_some();
                    if is_system_class(&def.class) || !known {
                        self.report.skip(format!("indexes on OrientDB's classes ({})", def.name));
                        continue;
                    }
                    let name = def.name.clone();
                    let change = SchemaChange::CreateIndex { index: def };
                    self.schema_change(SchemaRequest::Change(change), &format!("creating index {name}"))?;
                    self.report.indexes_created.push(name);
                }
                Err(why) => self.report.skip(why),
            }
        }
        Ok(())
    }
}

/// An index of the export as Basalt's definition, or why it is skipped.
fn index_def(index: &Json) -> Result<IndexDef, String> {
    let name = index.get("name").and_then(Json::as_str).unwrap_or("?");
    let kind = index.get("type").and_then(Json::as_str).unwrap_or("").to_ascii_uppercase();
    let unique = match kind.as_str() {
        "UNIQUE" | "UNIQUE_HASH_INDEX" => true,
        "NOTUNIQUE" | "NOTUNIQUE_HASH_INDEX" => false,
        other => return Err(format!("{other} indexes (not supported)")),
    };
    let Some(stream) = index.pointer("/definition/stream").and_then(Json::as_object) else {
        return Err("indexes without a definition (manual indexes)".into());
    };
    let class = stream.get("className").and_then(Json::as_str).ok_or(format!("index {name} names no class"))?;
    let fields: Vec<String> = match (stream.get("field"), stream.get("indexDefinitions")) {
        (Some(Json::String(f)), _) => vec![f.clone()],
        (_, Some(Json::Array(defs))) => {
            defs.iter().filter_map(|d| d.get("field").and_then(Json::as_str).map(str::to_string)).collect()
        }
        _ => return Err(format!("index {name}: a definition without fields")),
    };
    if fields.is_empty() {
        return Err(format!("index {name}: a definition without fields"));
    }
    Ok(IndexDef { name: name.to_string(), class: class.to_string(), fields, unique, kind })
}

/// Indexes of `classes` so that each comes after its superclass; an unknown superclass
/// (not in the export, not `V` or `E`) or a cycle is an error.
fn superclasses_first(classes: &[ClassIn<'_>]) -> Result<Vec<usize>, String> {
    let by_name: BTreeMap<String, usize> =
        classes.iter().enumerate().map(|(i, c)| (c.name.to_lowercase(), i)).collect();
    let mut done: HashSet<usize> = HashSet::new();
    let mut order = Vec::new();
    for start in 0..classes.len() {
        let mut chain = Vec::new();
        let mut at = Some(start);
        while let Some(i) = at {
            if done.contains(&i) {
                break;
            }
            if chain.contains(&i) {
                return Err(format!("class {} inherits from itself", classes[i].name));
            }
            chain.push(i);
            at = match classes[i].superclass {
                None => None,
                Some(s) => match by_name.get(&s.to_lowercase()) {
                    Some(&j) => Some(j),
                    None if s.eq_ignore_ascii_case(VERTEX_CLASS) || s.eq_ignore_ascii_case(EDGE_CLASS) => None,
                    None => {
                        return Err(format!("class {} extends {s}, which the schema does not declare", classes[i].name))
                    }
                },
            };
        }
        for &i in chain.iter().rev() {
            if done.insert(i) {
                order.push(i);
            }
        }
    }
    Ok(order)
}
