//! Schema statements: classes, properties, indexes, clusters.

use super::{Expr, Ident, Literal};

/// `CREATE CLASS ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateClassStatement {
    /// The class.
    pub name: Ident,
    /// `IF NOT EXISTS`.
    pub if_not_exists: bool,
    /// `EXTENDS a[, b]`.
    pub superclasses: Vec<Ident>,
    /// `ABSTRACT`.
    pub is_abstract: bool,
}

/// How `ALTER CLASS ... SUPERCLASS` changes the superclasses.
#[derive(Debug, Clone, PartialEq)]
pub enum SuperclassChange {
    /// `SUPERCLASS Name`: replace.
    Set(Ident),
    /// `SUPERCLASS +Name`: add.
    Add(Ident),
    /// `SUPERCLASS -Name`: remove.
    Remove(Ident),
    /// `SUPERCLASS null`: none.
    Clear,
}

/// The change made by `ALTER CLASS c <attribute> <value>`.
#[derive(Debug, Clone, PartialEq)]
pub enum AlterClassAction {
    /// `NAME new_name`.
    Name(Ident),
    /// `SHORTNAME name|null`.
    ShortName(Option<Ident>),
    /// `SUPERCLASS [+|-]Name|null`.
    Superclass(SuperclassChange),
    /// `SUPERCLASSES A, B|null` (empty for null).
    Superclasses(Vec<Ident>),
    /// `ABSTRACT true|false`.
    Abstract(bool),
    /// `STRICTMODE true|false` (also written `STRICT`).
    StrictMode(bool),
    /// `DESCRIPTION 'text'|null`.
    Description(Option<String>),
    /// `ADDCLUSTER name`.
    AddCluster(Ident),
    /// `REMOVECLUSTER name`.
    RemoveCluster(Ident),
    /// `CUSTOM key = value`.
    Custom {
        /// The custom attribute.
        key: Ident,
        /// Its value (`null` removes it).
        value: Expr,
    },
}

/// `ALTER CLASS ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct AlterClassStatement {
    /// The class.
    pub name: Ident,
    /// The change.
    pub action: AlterClassAction,
}

/// `DROP CLASS ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct DropClassStatement {
    /// The class.
    pub name: Ident,
    /// `IF EXISTS`.
    pub if_exists: bool,
    /// `UNSAFE`: drop even a vertex or edge class that has records.
    pub unsafe_mode: bool,
}

/// `TRUNCATE CLASS ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct TruncateClassStatement {
    /// The class.
    pub name: Ident,
    /// `POLYMORPHIC`: subclasses too.
    pub polymorphic: bool,
    /// `UNSAFE`: allow vertex and edge classes.
    pub unsafe_mode: bool,
}

/// Property types of `CREATE PROPERTY` and `ALTER PROPERTY ... TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PropertyType {
    /// `BOOLEAN`
    Boolean,
    /// `INTEGER`
    Integer,
    /// `SHORT`
    Short,
    /// `LONG`
    Long,
    /// `FLOAT`
    Float,
    /// `DOUBLE`
    Double,
    /// `DATETIME`
    Datetime,
    /// `DATE`
    Date,
    /// `STRING`
    String,
    /// `BINARY`
    Binary,
    /// `EMBEDDED`
    Embedded,
    /// `EMBEDDEDLIST`
    EmbeddedList,
    /// `EMBEDDEDSET`
    EmbeddedSet,
    /// `EMBEDDEDMAP`
    EmbeddedMap,
    /// `LINK`
    Link,
    /// `LINKLIST`
    LinkList,
    /// `LINKSET`
    LinkSet,
    /// `LINKMAP`
    LinkMap,
    /// `LINKBAG`
    LinkBag,
    /// `BYTE`
    Byte,
    /// `DECIMAL`
    Decimal,
    /// `ANY`
    Any,
}

impl PropertyType {
    /// Every type, for lookups and tests.
    pub const ALL: [PropertyType; 22] = [
        PropertyType::Boolean,
        PropertyType::Integer,
        PropertyType::Short,
        PropertyType::Long,
        PropertyType::Float,
        PropertyType::Double,
        PropertyType::Datetime,
        PropertyType::Date,
        PropertyType::String,
        PropertyType::Binary,
        PropertyType::Embedded,
        PropertyType::EmbeddedList,
        PropertyType::EmbeddedSet,
        PropertyType::EmbeddedMap,
        PropertyType::Link,
        PropertyType::LinkList,
        PropertyType::LinkSet,
        PropertyType::LinkMap,
        PropertyType::LinkBag,
        PropertyType::Byte,
        PropertyType::Decimal,
        PropertyType::Any,
    ];

    /// The keyword, upper case.
    pub fn name(self) -> &'static str {
        match self {
            PropertyType::Boolean => "BOOLEAN",
            PropertyType::Integer => "INTEGER",
            PropertyType::Short => "SHORT",
            PropertyType::Long => "LONG",
            PropertyType::Float => "FLOAT",
            PropertyType::Double => "DOUBLE",
            PropertyType::Datetime => "DATETIME",
            PropertyType::Date => "DATE",
            PropertyType::String => "STRING",
            PropertyType::Binary => "BINARY",
            PropertyType::Embedded => "EMBEDDED",
            PropertyType::EmbeddedList => "EMBEDDEDLIST",
            PropertyType::EmbeddedSet => "EMBEDDEDSET",
            PropertyType::EmbeddedMap => "EMBEDDEDMAP",
            PropertyType::Link => "LINK",
            PropertyType::LinkList => "LINKLIST",
            PropertyType::LinkSet => "LINKSET",
            PropertyType::LinkMap => "LINKMAP",
            PropertyType::LinkBag => "LINKBAG",
            PropertyType::Byte => "BYTE",
            PropertyType::Decimal => "DECIMAL",
            PropertyType::Any => "ANY",
        }
    }

    /// Looks a type up by keyword, case-insensitively.
    pub fn from_name(name: &str) -> Option<Self> {
        PropertyType::ALL.into_iter().find(|t| t.name().eq_ignore_ascii_case(name))
    }

    /// Whether the type holds other values and so may name a linked type or class.
    pub fn is_container(self) -> bool {
        matches!(
            self,
            PropertyType::Embedded
                | PropertyType::EmbeddedList
                | PropertyType::EmbeddedSet
                | PropertyType::EmbeddedMap
                | PropertyType::Link
                | PropertyType::LinkList
                | PropertyType::LinkSet
                | PropertyType::LinkMap
                | PropertyType::LinkBag
        )
    }
}

/// What a container property holds: `CREATE PROPERTY c.p LINKLIST Person` or `EMBEDDEDLIST STRING`.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkedTo {
    /// A type (`EMBEDDEDLIST STRING`).
    Type(PropertyType),
    /// A class (`LINK Person`); a class named like a type must be backtick-quoted.
    Class(Ident),
}

/// A property attribute, as set by `ALTER PROPERTY` or listed in `CREATE PROPERTY (...)`.
#[derive(Debug, Clone, PartialEq)]
pub enum PropertySetting {
    /// `NAME new_name` (ALTER only).
    Name(Ident),
    /// `TYPE t` (ALTER only).
    Type(PropertyType),
    /// `LINKEDCLASS Name|null`.
    LinkedClass(Option<Ident>),
    /// `LINKEDTYPE t|null`.
    LinkedType(Option<PropertyType>),
    /// `MANDATORY [true|false]` (bare means true).
    Mandatory(bool),
    /// `NOTNULL [true|false]`.
    NotNull(bool),
    /// `READONLY [true|false]`.
    Readonly(bool),
    /// `MIN value|null` (number, string or date string).
    Min(Literal),
    /// `MAX value|null`.
    Max(Literal),
    /// `REGEXP 'pattern'|null`.
    Regexp(Option<String>),
    /// `DEFAULT expr`.
    Default(Expr),
    /// `COLLATE name|null` (`ci`, `default`).
    Collate(Option<Ident>),
    /// `DESCRIPTION 'text'|null`.
    Description(Option<String>),
    /// `CUSTOM key = value`.
    Custom {
        /// The custom attribute.
        key: Ident,
        /// Its value.
        value: Expr,
    },
}

/// `CREATE PROPERTY c.p ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreatePropertyStatement {
    /// The class.
    pub class: Ident,
    /// The property.
    pub property: Ident,
    /// `IF NOT EXISTS`.
    pub if_not_exists: bool,
    /// The type.
    pub property_type: PropertyType,
    /// The linked type or class (container types only).
    pub linked: Option<LinkedTo>,
    /// `(MANDATORY true, NOTNULL, ...)`, in order (never `Name` or `Type`).
    pub constraints: Vec<PropertySetting>,
    /// `UNSAFE`: skip checking existing records.
    pub unsafe_mode: bool,
}

/// `ALTER PROPERTY c.p <attribute> <value>`.
#[derive(Debug, Clone, PartialEq)]
pub struct AlterPropertyStatement {
    /// The class.
    pub class: Ident,
    /// The property.
    pub property: Ident,
    /// The change.
    pub setting: PropertySetting,
}

/// `DROP PROPERTY c.p ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct DropPropertyStatement {
    /// The class.
    pub class: Ident,
    /// The property.
    pub property: Ident,
    /// `IF EXISTS`.
    pub if_exists: bool,
    /// `FORCE`: also drop indexes on it.
    pub force: bool,
}

/// An index name: plain, or `Class.property` (the usual automatic naming).
#[derive(Debug, Clone, PartialEq)]
pub enum IndexName {
    /// `name`.
    Simple(Ident),
    /// `Class.property`: with no `ON` clause this indexes that property of that class.
    Property {
        /// The class.
        class: Ident,
        /// The property.
        property: Ident,
    },
}

/// Index kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexType {
    /// `UNIQUE` (SB-tree).
    Unique,
    /// `NOTUNIQUE`.
    NotUnique,
    /// `FULLTEXT`.
    FullText,
    /// `DICTIONARY`: unique, last write wins.
    Dictionary,
    /// `UNIQUE_HASH_INDEX`.
    UniqueHash,
    /// `NOTUNIQUE_HASH_INDEX`.
    NotUniqueHash,
    /// `FULLTEXT_HASH_INDEX`.
    FullTextHash,
    /// `DICTIONARY_HASH_INDEX`.
    DictionaryHash,
}

impl IndexType {
    /// Every index type.
    pub const ALL: [IndexType; 8] = [
        IndexType::Unique,
        IndexType::NotUnique,
        IndexType::FullText,
        IndexType::Dictionary,
        IndexType::UniqueHash,
        IndexType::NotUniqueHash,
        IndexType::FullTextHash,
        IndexType::DictionaryHash,
    ];

    /// The keyword, upper case.
    pub fn name(self) -> &'static str {
        match self {
            IndexType::Unique => "UNIQUE",
            IndexType::NotUnique => "NOTUNIQUE",
            IndexType::FullText => "FULLTEXT",
            IndexType::Dictionary => "DICTIONARY",
            IndexType::UniqueHash => "UNIQUE_HASH_INDEX",
            IndexType::NotUniqueHash => "NOTUNIQUE_HASH_INDEX",
            IndexType::FullTextHash => "FULLTEXT_HASH_INDEX",
            IndexType::DictionaryHash => "DICTIONARY_HASH_INDEX",
        }
    }

    /// Looks a type up by keyword, case-insensitively.
    pub fn from_name(name: &str) -> Option<Self> {
        IndexType::ALL.into_iter().find(|t| t.name().eq_ignore_ascii_case(name))
    }

    /// Whether keys must be unique.
    pub fn is_unique(self) -> bool {
        matches!(self, IndexType::Unique | IndexType::UniqueHash | IndexType::Dictionary | IndexType::DictionaryHash)
    }
}

/// `BY KEY` / `BY VALUE` on an indexed map property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexBy {
    /// Index the map keys.
    Key,
    /// Index the map values.
    Value,
}

/// One property of `ON Class (p1, p2 BY KEY, ...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexedProperty {
    /// The property.
    pub name: Ident,
    /// `BY KEY|VALUE`.
    pub by: Option<IndexBy>,
    /// `COLLATE ci`.
    pub collate: Option<Ident>,
}

/// `ON Class (properties)` of CREATE INDEX.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexOn {
    /// The class.
    pub class: Ident,
    /// The properties (at least one).
    pub properties: Vec<IndexedProperty>,
}

/// `CREATE INDEX ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateIndexStatement {
    /// The index name.
    pub name: IndexName,
    /// `IF NOT EXISTS`.
    pub if_not_exists: bool,
    /// `ON Class (props)`; `None` for the `Class.prop` form or a manual index.
    pub on: Option<IndexOn>,
    /// The index type.
    pub index_type: IndexType,
    /// Key types after the index type (manual indexes: `UNIQUE STRING, INTEGER`).
    pub key_types: Vec<PropertyType>,
    /// `ENGINE name`.
    pub engine: Option<Ident>,
    /// `METADATA {...}`.
    pub metadata: Option<Expr>,
}

/// `DROP INDEX ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct DropIndexStatement {
    /// The index.
    pub name: IndexName,
    /// `IF EXISTS`.
    pub if_exists: bool,
}

/// `CREATE CLUSTER ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateClusterStatement {
    /// The cluster.
    pub name: Ident,
    /// `IF NOT EXISTS`.
    pub if_not_exists: bool,
    /// `ID n`: the wanted cluster id.
    pub id: Option<i32>,
}

/// `DROP CLUSTER ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct DropClusterStatement {
    /// The cluster.
    pub name: Ident,
    /// `IF EXISTS`.
    pub if_exists: bool,
}

/// `TRUNCATE CLUSTER ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct TruncateClusterStatement {
    /// The cluster.
    pub name: Ident,
    /// `UNSAFE`.
    pub unsafe_mode: bool,
}
