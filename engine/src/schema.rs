//! The schema: classes with single inheritance, their properties, their clusters, and the
//! index definitions.
//!
//! The schema lives in the database as the record `#0:0` of the internal cluster (JSON),
//! so it changes only through log entries and travels with the log like any record. Class
//! and property names compare case-insensitively, as in OrientDB; the case a user chose is
//! kept for display. Every map is a `BTreeMap`, so the serialized schema (and the digest
//! over it) is identical on every node.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::record::RecordKind;

/// The built-in vertex class.
pub const VERTEX_CLASS: &str = "V";
/// The built-in edge class.
pub const EDGE_CLASS: &str = "E";
/// The internal cluster holding the schema record.
pub const INTERNAL_CLUSTER: i32 = 0;
/// The cluster of `V` (as in OrientDB's GratefulDeadConcerts: `#9:1` is the first song).
pub const VERTEX_CLUSTER: i32 = 9;
/// The cluster of `E`.
pub const EDGE_CLUSTER: i32 = 10;

/// A property's declared type (OrientDB's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord, Hash)]
#[serde(rename_all = "UPPERCASE")]
#[allow(missing_docs)]
pub enum PropertyType {
    Boolean,
    Integer,
    Short,
    Long,
    Float,
    Double,
    Datetime,
    Date,
    String,
    Binary,
    Embedded,
    Embeddedlist,
    Embeddedset,
    Embeddedmap,
    Link,
    Linklist,
    Linkset,
    Linkmap,
    Linkbag,
    Byte,
    Decimal,
    Any,
}

impl PropertyType {
    /// Parses an OrientDB type name (any case).
    pub fn parse(s: &str) -> Option<PropertyType> {
        use PropertyType::*;
        Some(match s.to_ascii_uppercase().as_str() {
            "BOOLEAN" => Boolean,
            "INTEGER" | "INT" => Integer,
            "SHORT" => Short,
            "LONG" => Long,
            "FLOAT" => Float,
            "DOUBLE" => Double,
            "DATETIME" => Datetime,
            "DATE" => Date,
            "STRING" => String,
            "BINARY" => Binary,
            "EMBEDDED" => Embedded,
            "EMBEDDEDLIST" => Embeddedlist,
            "EMBEDDEDSET" => Embeddedset,
            "EMBEDDEDMAP" => Embeddedmap,
            "LINK" => Link,
            "LINKLIST" => Linklist,
            "LINKSET" => Linkset,
            "LINKMAP" => Linkmap,
            "LINKBAG" => Linkbag,
            "BYTE" => Byte,
            "DECIMAL" => Decimal,
            "ANY" => Any,
            _ => return None,
        })
    }

    /// The OrientDB name.
    pub fn name(self) -> &'static str {
        use PropertyType::*;
        match self {
            Boolean => "BOOLEAN",
            Integer => "INTEGER",
            Short => "SHORT",
            Long => "LONG",
            Float => "FLOAT",
            Double => "DOUBLE",
            Datetime => "DATETIME",
            Date => "DATE",
            String => "STRING",
            Binary => "BINARY",
            Embedded => "EMBEDDED",
            Embeddedlist => "EMBEDDEDLIST",
            Embeddedset => "EMBEDDEDSET",
            Embeddedmap => "EMBEDDEDMAP",
            Link => "LINK",
            Linklist => "LINKLIST",
            Linkset => "LINKSET",
            Linkmap => "LINKMAP",
            Linkbag => "LINKBAG",
            Byte => "BYTE",
            Decimal => "DECIMAL",
            Any => "ANY",
        }
    }
}

/// A declared property.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropertyDef {
    /// Its name (as the user wrote it).
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub ty: PropertyType,
    /// For links and embedded values: the class they must belong to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_class: Option<String>,
    /// For embedded collections: the type of their elements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_type: Option<PropertyType>,
    /// Every record of the class must have it.
    #[serde(default)]
    pub mandatory: bool,
    /// It may not be null.
    #[serde(default)]
    pub not_null: bool,
    /// It may not change once set.
    #[serde(default)]
    pub readonly: bool,
}

impl PropertyDef {
    /// A plain property of a type.
    pub fn new(name: impl Into<String>, ty: PropertyType) -> PropertyDef {
        PropertyDef {
            name: name.into(),
            ty,
            linked_class: None,
            linked_type: None,
            mandatory: false,
            not_null: false,
            readonly: false,
        }
    }
}

/// A class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassDef {
    /// Its name (as the user wrote it).
    pub name: String,
    /// Its superclass, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superclass: Option<String>,
    /// Abstract classes have no records of their own.
    #[serde(default, rename = "abstract")]
    pub is_abstract: bool,
    /// Strict classes accept only declared properties.
    #[serde(default)]
    pub strict: bool,
    /// The clusters holding its records (empty for abstract classes).
    pub clusters: Vec<i32>,
    /// Declared properties, by lower-case name.
    #[serde(default)]
    pub properties: BTreeMap<String, PropertyDef>,
}

/// An index definition. The index contents are derived from the records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexDef {
    /// Its name.
    pub name: String,
    /// The class it covers (with its subclasses).
    pub class: String,
    /// The properties making up the key, in order.
    pub fields: Vec<String>,
    /// True if a key may belong to one record only.
    pub unique: bool,
    /// The type the user asked for (`UNIQUE`, `NOTUNIQUE`, `UNIQUE_HASH_INDEX`, ...).
    pub kind: String,
}

/// A cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterDef {
    /// Its id.
    pub id: i32,
    /// Its name.
    pub name: String,
    /// The class owning it (none for the internal cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
}

/// The whole schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// Classes by lower-case name.
    pub classes: BTreeMap<String, ClassDef>,
    /// Index definitions by lower-case name.
    pub indexes: BTreeMap<String, IndexDef>,
    /// Clusters by id.
    pub clusters: BTreeMap<i32, ClusterDef>,
    /// The id the next new cluster gets.
    pub next_cluster_id: i32,
}

/// A change to the schema, as logged. Cluster ids are decided before logging.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum SchemaChange {
    CreateClass { name: String, superclass: Option<String>, is_abstract: bool, cluster: Option<i32> },
    RenameClass { name: String, new_name: String },
    SetSuperclass { name: String, superclass: Option<String> },
    SetAbstract { name: String, is_abstract: bool, cluster: Option<i32> },
    SetStrict { name: String, strict: bool },
    DropClass { name: String },
    CreateProperty { class: String, property: PropertyDef },
    AlterProperty { class: String, property: PropertyDef },
    DropProperty { class: String, name: String },
    CreateIndex { index: IndexDef },
    DropIndex { name: String },
}

fn key(name: &str) -> String {
    name.to_lowercase()
}

/// Calls `f` with `key(name)`, without allocating for ASCII names of up to 64 bytes (every
/// name in practice): class lookups sit on the apply and traversal paths.
fn with_key<R>(name: &str, f: impl FnOnce(&str) -> R) -> R {
    let mut buf = [0u8; 64];
    if name.len() <= buf.len() && name.is_ascii() {
        let lower = &mut buf[..name.len()];
        lower.copy_from_slice(name.as_bytes());
        // For ASCII, `to_lowercase` is exactly this.
        lower.make_ascii_lowercase();
        if let Ok(k) = std::str::from_utf8(lower) {
            return f(k);
        }
    }
    f(&key(name))
}

impl Schema {
    /// The schema of a new database: `V` and `E`.
    pub fn initial() -> Schema {
        let mut s = Schema {
            classes: BTreeMap::new(),
            indexes: BTreeMap::new(),
            clusters: BTreeMap::new(),
            next_cluster_id: EDGE_CLUSTER + 1,
        };
        s.clusters.insert(INTERNAL_CLUSTER, ClusterDef { id: INTERNAL_CLUSTER, name: "internal".into(), class: None });
        for (name, id) in [(VERTEX_CLASS, VERTEX_CLUSTER), (EDGE_CLASS, EDGE_CLUSTER)] {
            s.clusters.insert(id, ClusterDef { id, name: key(name), class: Some(name.into()) });
            s.classes.insert(
                key(name),
                ClassDef {
                    name: name.into(),
                    superclass: None,
                    is_abstract: false,
                    strict: false,
                    clusters: vec![id],
                    properties: BTreeMap::new(),
                },
            );
        }
        s
    }

    /// A class by name (any case).
    pub fn class(&self, name: &str) -> Option<&ClassDef> {
        with_key(name, |k| self.classes.get(k))
    }

    /// A class by name, or `ClassNotFound`.
    pub fn class_or_err(&self, name: &str) -> Result<&ClassDef> {
        self.class(name).ok_or_else(|| Error::ClassNotFound(name.to_string()))
    }

    /// The class owning a cluster.
    pub fn class_of_cluster(&self, cluster: i32) -> Option<&ClassDef> {
        self.clusters.get(&cluster).and_then(|c| c.class.as_deref()).and_then(|n| self.class(n))
    }

    /// The chain from a class up to its root, the class first.
    pub fn ancestry(&self, name: &str) -> Vec<&ClassDef> {
        let mut out = Vec::new();
        let mut cur = self.class(name);
        while let Some(c) = cur {
            if out.iter().any(|x: &&ClassDef| x.name == c.name) {
                break; // A cycle cannot be created, but never loop on one.
            }
            out.push(c);
            cur = c.superclass.as_deref().and_then(|s| self.class(s));
        }
        out
    }

    /// True if `name` is `ancestor` or one of its subclasses.
    pub fn is_subclass_of(&self, name: &str, ancestor: &str) -> bool {
        // `ancestry` without building it: this is asked per record applied and per bag
        // traversed.
        let mut cur = self.class(name);
        for _ in 0..=self.classes.len() {
            let Some(c) = cur else { return false };
            if c.name.eq_ignore_ascii_case(ancestor) {
                return true;
            }
            cur = c.superclass.as_deref().and_then(|s| self.class(s));
        }
        false // A cycle (which cannot be created); never loop on one.
    }

    /// What records of a class are.
    pub fn kind_of(&self, name: &str) -> RecordKind {
        if self.is_subclass_of(name, VERTEX_CLASS) {
            RecordKind::Vertex
        } else if self.is_subclass_of(name, EDGE_CLASS) {
            RecordKind::Edge
        } else {
            RecordKind::Document
        }
    }

    /// A class and all its subclasses, the class first, then by name.
    pub fn with_subclasses(&self, name: &str) -> Vec<&ClassDef> {
        let Some(root) = self.class(name) else { return Vec::new() };
        let mut out = vec![root];
        let mut rest: Vec<&ClassDef> =
            self.classes.values().filter(|c| c.name != root.name && self.is_subclass_of(&c.name, &root.name)).collect();
        rest.sort_by(|a, b| a.name.cmp(&b.name));
        out.extend(rest);
        out
    }

    /// Every property that applies to a class (its own and inherited), by lower-case name.
    pub fn properties_of(&self, name: &str) -> BTreeMap<String, &PropertyDef> {
        let mut out = BTreeMap::new();
        for c in self.ancestry(name).into_iter().rev() {
            for (k, p) in &c.properties {
                out.insert(k.clone(), p);
            }
        }
        out
    }

    /// The indexes that cover records of a class (defined on it or an ancestor).
    pub fn indexes_of(&self, name: &str) -> Vec<&IndexDef> {
        self.indexes.values().filter(|i| self.is_subclass_of(name, &i.class)).collect()
    }

    /// An index by name.
    pub fn index(&self, name: &str) -> Option<&IndexDef> {
        self.indexes.get(&key(name))
    }

    /// True if the class is strict anywhere in its ancestry.
    pub fn is_strict(&self, name: &str) -> bool {
        self.ancestry(name).iter().any(|c| c.strict)
    }

    /// Checks a change against the schema and applies it. Deterministic: the same schema
    /// and change give the same result on every node.
    pub fn apply(&mut self, change: &SchemaChange) -> Result<()> {
        match change {
            SchemaChange::CreateClass { name, superclass, is_abstract, cluster } => {
                self.create_class(name, superclass.as_deref(), *is_abstract, *cluster)
            }
            SchemaChange::RenameClass { name, new_name } => self.rename_class(name, new_name),
            SchemaChange::SetSuperclass { name, superclass } => {
                self.class_or_err(name)?;
                if let Some(s) = superclass {
                    self.class_or_err(s)?;
                    if self.is_subclass_of(s, name) {
                        return Err(Error::Invalid(format!(
                            "'{s}' is a subclass of '{name}': inheritance cannot loop"
                        )));
                    }
                }
                let s = superclass.as_ref().and_then(|s| self.class(s)).map(|c| c.name.clone());
                self.class_mut(name)?.superclass = s;
                Ok(())
            }
            SchemaChange::SetAbstract { name, is_abstract, cluster } => {
                let c = self.class_mut(name)?;
                c.is_abstract = *is_abstract;
                if let (false, Some(id), true) = (*is_abstract, cluster, c.clusters.is_empty()) {
                    c.clusters.push(*id);
                    let cname = c.name.clone();
                    self.add_cluster(*id, &cname)?;
                }
                Ok(())
            }
            SchemaChange::SetStrict { name, strict } => {
                self.class_mut(name)?.strict = *strict;
                Ok(())
            }
            SchemaChange::DropClass { name } => self.drop_class(name),
            SchemaChange::CreateProperty { class, property } => {
                if self.class_or_err(class)?.properties.contains_key(&key(&property.name)) {
                    return Err(Error::PropertyExists { class: class.clone(), property: property.name.clone() });
                }
                self.check_linked(property)?;
                self.class_mut(class)?.properties.insert(key(&property.name), property.clone());
                Ok(())
            }
            SchemaChange::AlterProperty { class, property } => {
                self.check_linked(property)?;
                let c = self.class_mut(class)?;
                let slot = c
                    .properties
                    .get_mut(&key(&property.name))
                    .ok_or_else(|| Error::PropertyNotFound { class: class.clone(), property: property.name.clone() })?;
                *slot = property.clone();
                Ok(())
            }
            SchemaChange::DropProperty { class, name } => {
                let c = self.class_mut(class)?;
                c.properties
                    .remove(&key(name))
                    .map(|_| ())
                    .ok_or_else(|| Error::PropertyNotFound { class: class.clone(), property: name.clone() })
            }
            SchemaChange::CreateIndex { index } => {
                if self.indexes.contains_key(&key(&index.name)) {
                    return Err(Error::IndexExists(index.name.clone()));
                }
                let class = self.class_or_err(&index.class)?.name.clone();
                if index.fields.is_empty() {
                    return Err(Error::Invalid(format!("index '{}' names no properties", index.name)));
                }
                let mut def = index.clone();
                def.class = class;
                self.indexes.insert(key(&index.name), def);
                Ok(())
            }
            SchemaChange::DropIndex { name } => {
                self.indexes.remove(&key(name)).map(|_| ()).ok_or_else(|| Error::IndexNotFound(name.clone()))
            }
        }
    }

    fn class_mut(&mut self, name: &str) -> Result<&mut ClassDef> {
        self.classes.get_mut(&key(name)).ok_or_else(|| Error::ClassNotFound(name.to_string()))
    }

    fn check_linked(&self, p: &PropertyDef) -> Result<()> {
        if let Some(c) = &p.linked_class {
            self.class_or_err(c)?;
        }
        Ok(())
    }

    fn add_cluster(&mut self, id: i32, class: &str) -> Result<()> {
        if id < self.next_cluster_id || self.clusters.contains_key(&id) {
            return Err(Error::Invalid(format!("cluster id {id} is taken (next free id is {})", self.next_cluster_id)));
        }
        self.clusters.insert(id, ClusterDef { id, name: key(class), class: Some(class.to_string()) });
        self.next_cluster_id = id + 1;
        Ok(())
    }

    fn create_class(
        &mut self,
        name: &str,
        superclass: Option<&str>,
        is_abstract: bool,
        cluster: Option<i32>,
    ) -> Result<()> {
        if !valid_name(name) {
            return Err(Error::Invalid(format!("'{name}' is not a valid class name")));
        }
        if self.class(name).is_some() {
            return Err(Error::ClassExists(name.to_string()));
        }
        let superclass = match superclass {
            Some(s) => Some(self.class_or_err(s)?.name.clone()),
            None => None,
        };
        let mut clusters = Vec::new();
        if let Some(id) = cluster {
            self.add_cluster(id, name)?;
            clusters.push(id);
        } else if !is_abstract {
            return Err(Error::Invalid(format!("class '{name}' needs a cluster")));
        }
        self.classes.insert(
            key(name),
            ClassDef {
                name: name.to_string(),
                superclass,
                is_abstract,
                strict: false,
                clusters,
                properties: BTreeMap::new(),
            },
        );
        Ok(())
    }

    fn rename_class(&mut self, name: &str, new_name: &str) -> Result<()> {
        let old = self.class_or_err(name)?.name.clone();
        if [VERTEX_CLASS, EDGE_CLASS].iter().any(|b| b.eq_ignore_ascii_case(&old)) {
            return Err(Error::Invalid(format!("the built-in class '{old}' cannot be renamed")));
        }
        if !valid_name(new_name) {
            return Err(Error::Invalid(format!("'{new_name}' is not a valid class name")));
        }
        if self.class(new_name).is_some() && !new_name.eq_ignore_ascii_case(&old) {
            return Err(Error::ClassExists(new_name.to_string()));
        }
        let mut c = self.classes.remove(&key(&old)).ok_or_else(|| Error::ClassNotFound(old.clone()))?;
        c.name = new_name.to_string();
        self.classes.insert(key(new_name), c);
        for c in self.classes.values_mut() {
            if c.superclass.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(&old)) {
                c.superclass = Some(new_name.to_string());
            }
            for p in c.properties.values_mut() {
                if p.linked_class.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(&old)) {
                    p.linked_class = Some(new_name.to_string());
                }
            }
        }
        for i in self.indexes.values_mut() {
            if i.class.eq_ignore_ascii_case(&old) {
                i.class = new_name.to_string();
            }
        }
        for cl in self.clusters.values_mut() {
            if cl.class.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(&old)) {
                cl.class = Some(new_name.to_string());
            }
        }
        Ok(())
    }

    fn drop_class(&mut self, name: &str) -> Result<()> {
        let c = self.class_or_err(name)?.clone();
        if [VERTEX_CLASS, EDGE_CLASS].iter().any(|b| b.eq_ignore_ascii_case(&c.name)) {
            return Err(Error::Invalid(format!("the built-in class '{}' cannot be dropped", c.name)));
        }
        if let Some(sub) =
            self.classes.values().find(|x| x.superclass.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(&c.name)))
        {
            return Err(Error::Invalid(format!("class '{}' has the subclass '{}'; drop that first", c.name, sub.name)));
        }
        self.classes.remove(&key(&c.name));
        for id in &c.clusters {
            self.clusters.remove(id);
        }
        self.indexes.retain(|_, i| !i.class.eq_ignore_ascii_case(&c.name));
        Ok(())
    }
}

/// Class names: a letter or underscore, then letters, digits, underscores, `-` or `$`.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '$')
        && name.len() <= 128
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_inherit_and_are_found_in_any_case() {
        let mut s = Schema::initial();
        s.apply(&SchemaChange::CreateClass {
            name: "Person".into(),
            superclass: Some("v".into()),
            is_abstract: false,
            cluster: Some(11),
        })
        .unwrap();
        s.apply(&SchemaChange::CreateClass {
            name: "Employee".into(),
            superclass: Some("PERSON".into()),
            is_abstract: false,
            cluster: Some(12),
        })
        .unwrap();
        s.apply(&SchemaChange::CreateClass {
            name: "knows".into(),
            superclass: Some("E".into()),
            is_abstract: false,
            cluster: Some(13),
        })
        .unwrap();
        assert_eq!(s.kind_of("employee"), RecordKind::Vertex);
        assert_eq!(s.kind_of("KNOWS"), RecordKind::Edge);
        assert_eq!(
            s.with_subclasses("V").iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            vec!["V", "Employee", "Person"]
        );
        assert!(matches!(
            s.apply(&SchemaChange::CreateClass {
                name: "person".into(),
                superclass: None,
                is_abstract: false,
                cluster: Some(14)
            }),
            Err(Error::ClassExists(_))
        ));
        assert!(s.apply(&SchemaChange::DropClass { name: "Person".into() }).is_err(), "has a subclass");
        assert!(s
            .apply(&SchemaChange::SetSuperclass { name: "Person".into(), superclass: Some("Employee".into()) })
            .is_err());
        s.apply(&SchemaChange::CreateProperty {
            class: "Person".into(),
            property: PropertyDef::new("name", PropertyType::String),
        })
        .unwrap();
        assert!(s.properties_of("Employee").contains_key("name"));
        s.apply(&SchemaChange::RenameClass { name: "Person".into(), new_name: "Human".into() }).unwrap();
        assert_eq!(s.class("Employee").unwrap().superclass.as_deref(), Some("Human"));
        assert_eq!(s.class_of_cluster(11).unwrap().name, "Human");
    }

    #[test]
    fn schema_serializes_deterministically() {
        let s = Schema::initial();
        let a = serde_json::to_vec(&s).unwrap();
        let b = serde_json::to_vec(&serde_json::from_slice::<Schema>(&a).unwrap()).unwrap();
        assert_eq!(a, b);
    }
}
