//! Schema statements: CREATE / ALTER / DROP / TRUNCATE of classes, properties, indexes and
//! clusters (CREATE VERTEX and CREATE EDGE are dispatched from here to `dml`).

use super::super::ast::{
    AlterClassAction, AlterClassStatement, AlterPropertyStatement, CreateClassStatement, CreateClusterStatement,
    CreateIndexStatement, CreatePropertyStatement, DropClassStatement, DropClusterStatement, DropIndexStatement,
    DropPropertyStatement, Ident, IndexBy, IndexName, IndexOn, IndexType, IndexedProperty, LinkedTo, Literal,
    PropertySetting, PropertyType, Statement, SuperclassChange, TruncateClassStatement, TruncateClusterStatement,
};
use super::super::lexer::TokenKind;
use super::{Parser, Result};

/// Attribute keywords of ALTER CLASS, for the expected list.
const CLASS_ATTRIBUTES: &[&str] = &[
    "NAME",
    "SHORTNAME",
    "SUPERCLASS",
    "SUPERCLASSES",
    "ABSTRACT",
    "STRICTMODE",
    "STRICT",
    "DESCRIPTION",
    "ADDCLUSTER",
    "REMOVECLUSTER",
    "CUSTOM",
];

/// Attribute keywords of ALTER PROPERTY, for the expected list.
const PROPERTY_ATTRIBUTES: &[&str] = &[
    "NAME",
    "TYPE",
    "LINKEDCLASS",
    "LINKEDTYPE",
    "MANDATORY",
    "NOTNULL",
    "READONLY",
    "MIN",
    "MAX",
    "REGEXP",
    "DEFAULT",
    "COLLATE",
    "DESCRIPTION",
    "CUSTOM",
];

impl Parser<'_> {
    /// `CREATE CLASS|PROPERTY|INDEX|CLUSTER|VERTEX|EDGE ...`.
    pub(crate) fn parse_create(&mut self) -> Result<Statement> {
        self.expect_keyword("CREATE")?;
        let statement = if self.eat_keyword("CLASS") {
            Statement::CreateClass(Box::new(self.parse_create_class()?))
        } else if self.eat_keyword("PROPERTY") {
            Statement::CreateProperty(Box::new(self.parse_create_property()?))
        } else if self.eat_keyword("INDEX") {
            Statement::CreateIndex(Box::new(self.parse_create_index()?))
        } else if self.eat_keyword("CLUSTER") {
            let name = self.parse_ident("a cluster name")?;
            let if_not_exists = self.parse_if_not_exists()?;
            let id = if self.eat_keyword("ID") { Some(self.parse_i32("a cluster id")?) } else { None };
            Statement::CreateCluster(Box::new(CreateClusterStatement { name, if_not_exists, id }))
        } else if self.eat_keyword("VERTEX") {
            Statement::CreateVertex(Box::new(self.parse_create_vertex()?))
        } else if self.eat_keyword("EDGE") {
            Statement::CreateEdge(Box::new(self.parse_create_edge()?))
        } else {
            return Err(self.error_expected());
        };
        Ok(statement)
    }

    /// `ALTER CLASS|PROPERTY ...`.
    pub(crate) fn parse_alter(&mut self) -> Result<Statement> {
        self.expect_keyword("ALTER")?;
        if self.eat_keyword("CLASS") {
            let name = self.parse_ident("a class name")?;
            let action = self.parse_alter_class_action()?;
            return Ok(Statement::AlterClass(Box::new(AlterClassStatement { name, action })));
        }
        self.expect_keyword("PROPERTY")?;
        let (class, property) = self.parse_class_dot_property()?;
        let setting = self.parse_property_setting(true)?;
        Ok(Statement::AlterProperty(Box::new(AlterPropertyStatement { class, property, setting })))
    }

    /// `DROP CLASS|PROPERTY|INDEX|CLUSTER ...`.
    pub(crate) fn parse_drop(&mut self) -> Result<Statement> {
        self.expect_keyword("DROP")?;
        let statement = if self.eat_keyword("CLASS") {
            let name = self.parse_ident("a class name")?;
            let if_exists = self.parse_if_exists()?;
            let unsafe_mode = self.eat_keyword("UNSAFE");
            Statement::DropClass(Box::new(DropClassStatement { name, if_exists, unsafe_mode }))
        } else if self.eat_keyword("PROPERTY") {
            let (class, property) = self.parse_class_dot_property()?;
            let if_exists = self.parse_if_exists()?;
            let force = self.eat_keyword("FORCE");
            Statement::DropProperty(Box::new(DropPropertyStatement { class, property, if_exists, force }))
        } else if self.eat_keyword("INDEX") {
            let name = self.parse_index_name()?;
            let if_exists = self.parse_if_exists()?;
            Statement::DropIndex(Box::new(DropIndexStatement { name, if_exists }))
        } else if self.eat_keyword("CLUSTER") {
            let name = self.parse_ident("a cluster name")?;
            let if_exists = self.parse_if_exists()?;
            Statement::DropCluster(Box::new(DropClusterStatement { name, if_exists }))
        } else {
            return Err(self.error_expected());
        };
        Ok(statement)
    }

    /// `TRUNCATE CLASS c [POLYMORPHIC] [UNSAFE]` or `TRUNCATE CLUSTER c [UNSAFE]`.
    pub(crate) fn parse_truncate(&mut self) -> Result<Statement> {
        self.expect_keyword("TRUNCATE")?;
        if self.eat_keyword("CLASS") {
            let name = self.parse_ident("a class name")?;
            let polymorphic = self.eat_keyword("POLYMORPHIC");
            let unsafe_mode = self.eat_keyword("UNSAFE");
            return Ok(Statement::TruncateClass(Box::new(TruncateClassStatement { name, polymorphic, unsafe_mode })));
        }
        self.expect_keyword("CLUSTER")?;
        let name = self.parse_ident("a cluster name")?;
        let unsafe_mode = self.eat_keyword("UNSAFE");
        Ok(Statement::TruncateCluster(Box::new(TruncateClusterStatement { name, unsafe_mode })))
    }

    fn parse_if_not_exists(&mut self) -> Result<bool> {
        if self.eat_keyword("IF") {
            self.expect_keyword("NOT")?;
            self.expect_keyword("EXISTS")?;
            return Ok(true);
        }
        self.note("IF NOT EXISTS");
        Ok(false)
    }

    fn parse_if_exists(&mut self) -> Result<bool> {
        self.eat_keyword_pair("IF", "EXISTS")
    }

    /// `n` as an i32 (possibly negative).
    fn parse_i32(&mut self, what: &str) -> Result<i32> {
        let span = self.peek().span;
        match self.parse_int_arg(what)? {
            super::super::ast::IntArg::Value(v) => {
                i32::try_from(v).map_err(|_| self.error_at(span, format!("{what} {v} is out of range")))
            }
            super::super::ast::IntArg::Parameter(_) => {
                Err(self.error_at(span, format!("{what} must be a literal number")))
            }
        }
    }

    /// After CREATE CLASS: `name [IF NOT EXISTS] [EXTENDS a, b] [ABSTRACT]`.
    fn parse_create_class(&mut self) -> Result<CreateClassStatement> {
        let name = self.parse_ident("a class name")?;
        let if_not_exists = self.parse_if_not_exists()?;
        let superclasses =
            if self.eat_keyword("EXTENDS") { self.parse_ident_list("a superclass")? } else { Vec::new() };
        let is_abstract = self.eat_keyword("ABSTRACT");
        Ok(CreateClassStatement { name, if_not_exists, superclasses, is_abstract })
    }

    /// `true` or `false`.
    fn parse_bool(&mut self) -> Result<bool> {
        if self.eat_keyword("TRUE") {
            Ok(true)
        } else if self.eat_keyword("FALSE") {
            Ok(false)
        } else {
            Err(self.error_expected())
        }
    }

    /// `NULL` if next (consumed), else false.
    fn eat_null(&mut self) -> bool {
        self.eat_keyword("NULL")
    }

    /// A name, or `null` for none.
    fn parse_optional_ident(&mut self, what: &str) -> Result<Option<Ident>> {
        if self.eat_null() {
            Ok(None)
        } else {
            Ok(Some(self.parse_ident(what)?))
        }
    }

    /// A string, or `null` for none.
    fn parse_optional_string(&mut self) -> Result<Option<String>> {
        if self.eat_null() {
            return Ok(None);
        }
        let token = self.peek().clone();
        if let TokenKind::Str(s) = token.kind {
            self.advance();
            return Ok(Some(s));
        }
        self.note("a string");
        Err(self.error_expected())
    }

    /// `key = value` of CUSTOM.
    fn parse_custom(&mut self) -> Result<(Ident, super::super::ast::Expr)> {
        let key = self.parse_ident("a custom attribute name")?;
        self.expect(TokenKind::Eq)?;
        Ok((key, self.parse_operand()?))
    }

    fn parse_alter_class_action(&mut self) -> Result<AlterClassAction> {
        let span = self.peek().span;
        let Some(word) = self.peek_keyword() else {
            return Err(self.unknown_attribute(CLASS_ATTRIBUTES, "class"));
        };
        if !CLASS_ATTRIBUTES.contains(&word.as_str()) {
            return Err(self.unknown_attribute(CLASS_ATTRIBUTES, "class"));
        }
        self.advance();
        let action = match word.as_str() {
            "NAME" => AlterClassAction::Name(self.parse_ident("a class name")?),
            "SHORTNAME" => AlterClassAction::ShortName(self.parse_optional_ident("a short name")?),
            "SUPERCLASS" => {
                let change = if self.eat_null() {
                    SuperclassChange::Clear
                } else if self.eat(TokenKind::Plus) {
                    SuperclassChange::Add(self.parse_ident("a class name")?)
                } else if self.eat(TokenKind::Minus) {
                    SuperclassChange::Remove(self.parse_ident("a class name")?)
                } else {
                    SuperclassChange::Set(self.parse_ident("a class name")?)
                };
                AlterClassAction::Superclass(change)
            }
            "SUPERCLASSES" => AlterClassAction::Superclasses(if self.eat_null() {
                Vec::new()
            } else {
                self.parse_ident_list("a class name")?
            }),
            "ABSTRACT" => AlterClassAction::Abstract(self.parse_bool()?),
            "STRICTMODE" | "STRICT" => AlterClassAction::StrictMode(self.parse_bool()?),
            "DESCRIPTION" => AlterClassAction::Description(self.parse_optional_string()?),
            "ADDCLUSTER" => AlterClassAction::AddCluster(self.parse_ident("a cluster name")?),
            "REMOVECLUSTER" => AlterClassAction::RemoveCluster(self.parse_ident("a cluster name")?),
            "CUSTOM" => {
                let (key, value) = self.parse_custom()?;
                AlterClassAction::Custom { key, value }
            }
            _ => return Err(self.error_at(span, format!("unsupported class attribute {word}"))),
        };
        Ok(action)
    }

    fn unknown_attribute(&mut self, known: &[&str], what: &str) -> super::ParseError {
        for kw in known {
            self.note(kw);
        }
        let mut err = self.error_expected();
        err.message = format!("unknown {what} attribute: {}", err.message);
        err
    }

    /// `Class.property`.
    fn parse_class_dot_property(&mut self) -> Result<(Ident, Ident)> {
        let class = self.parse_ident("a class name")?;
        self.expect(TokenKind::Dot)?;
        let property = self.parse_ident("a property name")?;
        Ok((class, property))
    }

    /// A property type keyword.
    fn parse_property_type(&mut self) -> Result<PropertyType> {
        if let Some(t) = self.peek_keyword().and_then(|w| PropertyType::from_name(&w)) {
            self.advance();
            return Ok(t);
        }
        self.note("a property type (STRING, INTEGER, LINK, ...)");
        Err(self.error_expected())
    }

    /// `Class.prop [IF NOT EXISTS] TYPE [linked] [(constraints)] [UNSAFE]`.
    fn parse_create_property(&mut self) -> Result<CreatePropertyStatement> {
        let (class, property) = self.parse_class_dot_property()?;
        let if_not_exists = self.parse_if_not_exists()?;
        let property_type = self.parse_property_type()?;
        let mut linked = None;
        if property_type.is_container() && !self.is_keyword_at(0, "UNSAFE") {
            let token = self.peek().clone();
            match token.kind {
                TokenKind::Ident(word) => {
                    self.advance();
                    linked = Some(match PropertyType::from_name(&word) {
                        Some(t) => LinkedTo::Type(t),
                        None => LinkedTo::Class(Ident { name: word, span: token.span }),
                    });
                }
                TokenKind::QuotedIdent(name) => {
                    self.advance();
                    linked = Some(LinkedTo::Class(Ident { name, span: token.span }));
                }
                _ => self.note("a linked type or class"),
            }
        }
        let mut constraints = Vec::new();
        if self.eat(TokenKind::LParen) {
            loop {
                constraints.push(self.parse_property_setting(false)?);
                if self.eat(TokenKind::RParen) {
                    break;
                }
                self.expect(TokenKind::Comma)?;
            }
        }
        let unsafe_mode = self.eat_keyword("UNSAFE");
        Ok(CreatePropertyStatement { class, property, if_not_exists, property_type, linked, constraints, unsafe_mode })
    }

    /// One property attribute and its value. In CREATE PROPERTY's list (`alter` false),
    /// NAME and TYPE are refused and the booleans may be bare.
    fn parse_property_setting(&mut self, alter: bool) -> Result<PropertySetting> {
        let allowed: Vec<&str> =
            PROPERTY_ATTRIBUTES.iter().copied().filter(|a| alter || !matches!(*a, "NAME" | "TYPE")).collect();
        let Some(word) = self.peek_keyword().filter(|w| allowed.contains(&w.as_str())) else {
            return Err(self.unknown_attribute(&allowed, "property"));
        };
        self.advance();
        let setting = match word.as_str() {
            "NAME" => PropertySetting::Name(self.parse_ident("a property name")?),
            "TYPE" => PropertySetting::Type(self.parse_property_type()?),
            "LINKEDCLASS" => PropertySetting::LinkedClass(self.parse_optional_ident("a class name")?),
            "LINKEDTYPE" => {
                PropertySetting::LinkedType(if self.eat_null() { None } else { Some(self.parse_property_type()?) })
            }
            "MANDATORY" => PropertySetting::Mandatory(self.parse_flag(alter)?),
            "NOTNULL" => PropertySetting::NotNull(self.parse_flag(alter)?),
            "READONLY" => PropertySetting::Readonly(self.parse_flag(alter)?),
            "MIN" => PropertySetting::Min(self.parse_bound()?),
            "MAX" => PropertySetting::Max(self.parse_bound()?),
            "REGEXP" => PropertySetting::Regexp(self.parse_optional_string()?),
            "DEFAULT" => PropertySetting::Default(self.parse_operand()?),
            "COLLATE" => PropertySetting::Collate(self.parse_optional_ident("a collation")?),
            "DESCRIPTION" => PropertySetting::Description(self.parse_optional_string()?),
            _ => {
                let (key, value) = self.parse_custom()?;
                PropertySetting::Custom { key, value }
            }
        };
        Ok(setting)
    }

    /// `true|false`; in CREATE PROPERTY's list it may be omitted (meaning true).
    fn parse_flag(&mut self, required: bool) -> Result<bool> {
        if !required && !self.is_keyword_at(0, "TRUE") && !self.is_keyword_at(0, "FALSE") {
            self.note("TRUE");
            self.note("FALSE");
            return Ok(true);
        }
        self.parse_bool()
    }

    /// MIN / MAX value: a number, a string or null.
    fn parse_bound(&mut self) -> Result<Literal> {
        if self.eat_null() {
            return Ok(Literal::Null);
        }
        let token = self.peek().clone();
        let expr = match token.kind {
            TokenKind::Str(s) => {
                self.advance();
                return Ok(Literal::String(s));
            }
            TokenKind::Integer(_) | TokenKind::Float(_) | TokenKind::Minus => self.parse_operand()?,
            _ => {
                self.note("a number");
                self.note("a string");
                return Err(self.error_expected());
            }
        };
        match expr {
            super::super::ast::Expr::Literal(lit @ (Literal::Integer(_) | Literal::Float(_))) => Ok(lit),
            _ => Err(self.error_at(token.span, "MIN and MAX take a number, a string or null".into())),
        }
    }

    /// `name` or `Class.property`.
    fn parse_index_name(&mut self) -> Result<IndexName> {
        let first = self.parse_ident("an index name")?;
        if self.eat(TokenKind::Dot) {
            let property = self.parse_ident("a property name")?;
            return Ok(IndexName::Property { class: first, property });
        }
        Ok(IndexName::Simple(first))
    }

    /// After CREATE INDEX: `name [IF NOT EXISTS] [ON Class (props)] TYPE [key types]
    /// [ENGINE e] [METADATA {...}]`.
    fn parse_create_index(&mut self) -> Result<CreateIndexStatement> {
        let name = self.parse_index_name()?;
        let if_not_exists = self.parse_if_not_exists()?;
        let on = if self.eat_keyword("ON") { Some(self.parse_index_on()?) } else { None };
        let Some(index_type) = self.peek_keyword().and_then(|w| IndexType::from_name(&w)) else {
            for t in IndexType::ALL {
                self.note(t.name());
            }
            return Err(self.error_expected());
        };
        self.advance();
        let mut key_types = Vec::new();
        if self.peek_keyword().and_then(|w| PropertyType::from_name(&w)).is_some() {
            loop {
                key_types.push(self.parse_property_type()?);
                if !self.eat(TokenKind::Comma) {
                    break;
                }
            }
        }
        let engine = if self.eat_keyword("ENGINE") { Some(self.parse_ident("an engine name")?) } else { None };
        let metadata = if self.eat_keyword("METADATA") {
            if !self.at(&TokenKind::LBrace) {
                return Err(self.error_expected());
            }
            Some(self.parse_operand()?)
        } else {
            None
        };
        Ok(CreateIndexStatement { name, if_not_exists, on, index_type, key_types, engine, metadata })
    }

    /// `Class (p1 [BY KEY|VALUE] [COLLATE c], ...)`.
    fn parse_index_on(&mut self) -> Result<IndexOn> {
        let class = self.parse_ident("a class name")?;
        self.expect(TokenKind::LParen)?;
        let mut properties = Vec::new();
        loop {
            let name = self.parse_ident("a property name")?;
            let by = if self.eat_keyword("BY") {
                if self.eat_keyword("KEY") {
                    Some(IndexBy::Key)
                } else {
                    self.expect_keyword("VALUE")?;
                    Some(IndexBy::Value)
                }
            } else {
                None
            };
            let collate = if self.eat_keyword("COLLATE") { Some(self.parse_ident("a collation")?) } else { None };
            properties.push(IndexedProperty { name, by, collate });
            if self.eat(TokenKind::RParen) {
                return Ok(IndexOn { class, properties });
            }
            self.expect(TokenKind::Comma)?;
        }
    }
}
