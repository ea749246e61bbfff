//! GraphML reader: a streaming pull parser that yields [`ImportItem`]s in file order.
//!
//! What it reads (everything else is skipped, so `<desc>`, graph-level `<data>`, `<port>` and
//! foreign elements do no harm):
//! - `<graphml>` must be the root element.
//! - `<key id for attr.name attr.type>` declares a property. `for` is `node`, `edge` or `all`
//!   (default `all`); `attr.name` defaults to the id; `attr.type` is one of `string`, `int`,
//!   `long`, `float`, `double`, `boolean` (default `string`). An optional `<default>` child gives
//!   the value that every node or edge in the key's domain without that `<data>` receives. Keys
//!   are looked up by id, preferring the declaration whose `for` matches the element.
//! - `<graph>` holds `<node id>` and `<edge id? source target label?>` elements. Each `<data
//!   key>` child becomes a property named by the key's `attr.name`, converted to the key's type.
//!   Character and predefined entity references and CDATA are decoded; markup inside `<data>`
//!   is skipped.
//! - Labels: a vertex's class comes from a `<data key="labelV">` (TinkerPop 3), else from the
//!   first of the `labels` attribute (`labels=":Person:Actor"`, read as OrientDB does), else
//!   from the `labelV` key's `<default>`, else it is `None`. An edge's label comes from a
//!   `<data key="labelE">` (TinkerPop 3) or `<data key="label">` (OrientDB), else from the
//!   `label` attribute (TinkerPop 2 / OrientDB), else from the label key's `<default>`, else it
//!   is `E`, the base edge class (OrientDB itself would use `_default`). Label keys are not
//!   also stored as properties.
//! - `edgedefault` and `directed` are ignored: every edge is directed source to target.
//!
//! Errors: malformed XML, an undeclared key, a value that does not parse as its type, a
//! missing `id`/`source`/`target`, an input that ends inside an element, hyperedges and nested
//! graphs are all [`ImportError`]s naming the line and byte where the element starts, and the
//! node or edge id, key and value where they apply. After an error the reader yields nothing.
//!
//! Memory is bounded: one element's markup or one value may hold at most `max_event_bytes`
//! (default [`DEFAULT_MAX_EVENT_BYTES`]); the reader keeps the key declarations and the
//! element being read, nothing else.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufRead, Read};
use std::iter::FusedIterator;
use std::path::Path;

use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use super::{ImportEdge, ImportError, ImportItem, ImportVertex, Location, PropType, PropValue};

/// Key ids whose `<data>` gives a vertex its class: TinkerPop 3's.
pub const VERTEX_LABEL_KEYS: &[&str] = &["labelV"];
/// Key ids whose `<data>` gives an edge its label, first wins: TinkerPop 3's, then OrientDB's.
pub const EDGE_LABEL_KEYS: &[&str] = &["labelE", "label"];
/// Attribute of `<node>` listing its labels (`labels=":Person:Actor"`, as Neo4j writes them);
/// OrientDB takes the first as the class.
pub const NODE_LABELS_ATTRIBUTE: &str = "labels";
/// Label of an edge that has none: OrientDB's base edge class.
pub const DEFAULT_EDGE_LABEL: &str = "E";
/// Default bound on the bytes of one XML event (a tag with its attributes, or one run of text)
/// and of one `<data>` value.
pub const DEFAULT_MAX_EVENT_BYTES: u64 = 64 * 1024 * 1024;
/// Size of the read buffer between the input and the XML reader.
const READ_BUFFER_BYTES: usize = 64 * 1024;

/// Streaming GraphML parser over any [`Read`] (a `BufRead` works too; the parser buffers on
/// its own). Iterate it to get the items; see the module doc for what it accepts.
pub struct GraphmlReader<R: Read> {
    /// The XML tokenizer, reading through a counter of bytes and lines.
    xml: Reader<CountingReader<R>>,
    /// Scratch space for the current XML event, reused.
    buf: Vec<u8>,
    /// The input's name for messages.
    input: String,
    /// Key declarations in file order (order matters for applying defaults).
    keys: Vec<Key>,
    /// Key id to indexes into `keys` (one per declared domain).
    key_index: HashMap<String, Vec<usize>>,
    /// Open `<graphml>` / `<graph>` elements, outermost first.
    open: Vec<Open>,
    /// Whether the `<graphml>` root has been seen.
    root_seen: bool,
    /// Set after the end of input or the first error.
    done: bool,
}

/// A byte offset and its line: where an event starts.
#[derive(Debug, Clone, Copy)]
struct Pos {
    /// 1-based line.
    line: u64,
    /// 0-based byte offset.
    byte: u64,
}

/// An element of the document skeleton that stays open while items are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpenKind {
    /// `<graphml>`.
    Graphml,
    /// `<graph>`.
    Graph,
}

/// An open skeleton element and where it started.
struct Open {
    /// Which element.
    kind: OpenKind,
    /// Where its start tag is.
    at: Pos,
}

/// What a key applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Domain {
    /// `<node>`.
    Node,
    /// `<edge>`.
    Edge,
}

/// A `<key>` declaration.
struct Key {
    /// The id `<data key>` refers to.
    id: String,
    /// The `for` attribute, as written (`node`, `edge`, `all`, `graph`, ...).
    domain: String,
    /// The property name (`attr.name`).
    name: String,
    /// The declared type (`attr.type`).
    ty: PropType,
    /// The `<default>` text, already checked to parse as `ty`.
    default: Option<String>,
}

impl Key {
    /// Whether the key's `for` covers `domain`.
    fn applies_to(&self, domain: Domain) -> bool {
        match domain {
            Domain::Node => self.domain == "node" || self.domain == "all",
            Domain::Edge => self.domain == "edge" || self.domain == "all",
        }
    }
}

/// A start or empty tag, owned so the reader can go on reading.
struct Tag {
    /// Local name (prefix dropped).
    name: String,
    /// Attributes with entity references decoded, in order.
    attrs: Vec<(String, String)>,
}

impl Tag {
    /// The value of attribute `key`, if present.
    fn attr(&self, key: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// One XML event, reduced to what the GraphML grammar needs.
enum Ev {
    /// `<name ...>`.
    Start(Tag),
    /// `<name .../>`.
    Empty(Tag),
    /// `</name>` (the XML reader checks that it matches).
    End,
    /// Character data: text, CDATA or a decoded reference.
    Text(String),
    /// Declarations, comments, processing instructions, doctype.
    Other,
    /// End of input.
    Eof,
}

/// A `<data>` element read from a node or edge.
struct Data {
    /// Its `key` attribute.
    key: String,
    /// Its character data.
    text: String,
    /// Where it starts.
    at: Pos,
}

/// A node's or edge's `<data>` resolved against the keys.
struct Resolved {
    /// Properties in file order, then defaults in key order.
    props: Vec<(String, PropValue)>,
    /// The label data, if given, with the rank of its key in the label key list.
    label: Option<(usize, String)>,
    /// The `labelV`/`labelE` key's default, if it has one and no data was given.
    label_default: Option<String>,
}

impl GraphmlReader<File> {
    /// Opens the file at `path`; messages name it by its path.
    pub fn open(path: &Path) -> Result<Self, ImportError> {
        let input = path.display().to_string();
        match File::open(path) {
            Ok(file) => Ok(GraphmlReader::new(file, input)),
            Err(source) => Err(ImportError::Io { input, source }),
        }
    }
}

impl<R: Read> GraphmlReader<R> {
    /// A reader over `input`, called `name` in messages.
    pub fn new(input: R, name: impl Into<String>) -> Self {
        let counting = CountingReader {
            inner: input,
            buf: vec![0; READ_BUFFER_BYTES].into_boxed_slice(),
            start: 0,
            end: 0,
            bytes: 0,
            newlines: 0,
            mark: 0,
            max_event_bytes: DEFAULT_MAX_EVENT_BYTES,
            over_limit: false,
        };
        GraphmlReader {
            xml: Reader::from_reader(counting),
            buf: Vec::new(),
            input: name.into(),
            keys: Vec::new(),
            key_index: HashMap::new(),
            open: Vec::new(),
            root_seen: false,
            done: false,
        }
    }

    /// Sets the bound on one XML event and one `<data>` value, in bytes.
    pub fn with_max_event_bytes(mut self, max_event_bytes: u64) -> Self {
        self.xml.get_mut().max_event_bytes = max_event_bytes;
        self
    }

    /// Bytes of input consumed so far (for progress; the file size is the end).
    pub fn position(&self) -> u64 {
        self.xml.get_ref().bytes
    }

    /// The input's name as used in messages.
    pub fn input_name(&self) -> &str {
        &self.input
    }

    /// The current position, where the next event starts.
    fn pos(&self) -> Pos {
        let counter = self.xml.get_ref();
        Pos { line: counter.newlines + 1, byte: counter.bytes }
    }

    /// `pos` as a [`Location`] in this input.
    fn at(&self, pos: Pos) -> Location {
        Location { input: self.input.clone(), line: pos.line, byte: pos.byte }
    }

    /// Reads the next item, `None` at a clean end of input.
    fn advance(&mut self) -> Result<Option<ImportItem>, ImportError> {
        loop {
            let (ev, at) = self.read_event()?;
            match ev {
                Ev::Start(tag) => {
                    if let Some(item) = self.on_tag(tag, at, false)? {
                        return Ok(Some(item));
                    }
                }
                Ev::Empty(tag) => {
                    if let Some(item) = self.on_tag(tag, at, true)? {
                        return Ok(Some(item));
                    }
                }
                Ev::End => {
                    self.open.pop();
                }
                Ev::Text(text) => {
                    if !self.root_seen && !text.trim().is_empty() {
                        return Err(self.invalid(at, "text before the <graphml> root element: not a GraphML file?"));
                    }
                }
                Ev::Other => {}
                Ev::Eof => return self.on_eof(at).map(|()| None),
            }
        }
    }

    /// Handles a tag between items; returns the item when the tag was a node or edge.
    fn on_tag(&mut self, tag: Tag, at: Pos, empty: bool) -> Result<Option<ImportItem>, ImportError> {
        let context = self.open.last().map(|open| open.kind);
        match (context, tag.name.as_str()) {
            (None, "graphml") if !self.root_seen => {
                self.root_seen = true;
                self.push_open(OpenKind::Graphml, at, empty);
            }
            (None, name) if self.root_seen => {
                return Err(self.invalid(at, &format!("element <{name}> after the end of </graphml>")));
            }
            (None, name) => {
                return Err(self.invalid(at, &format!("the root element is <{name}>, expected <graphml>")));
            }
            (Some(_), "key") => self.read_key(&tag, at, empty)?,
            (Some(OpenKind::Graphml), "graph") => self.push_open(OpenKind::Graph, at, empty),
            (Some(OpenKind::Graph), "node") => return self.read_node(&tag, at, empty).map(Some),
            (Some(OpenKind::Graph), "edge") => return self.read_edge(&tag, at, empty).map(Some),
            (Some(OpenKind::Graph), "hyperedge") => {
                return Err(self.invalid(at, "<hyperedge> is not supported: only binary edges can be imported"));
            }
            (Some(OpenKind::Graph), "graph") => {
                return Err(self.invalid(at, "nested <graph> elements are not supported"));
            }
            (Some(OpenKind::Graphml), name @ ("node" | "edge")) => {
                return Err(self.invalid(at, &format!("<{name}> outside a <graph> element")));
            }
            (Some(_), _) if empty => {}
            (Some(_), _) => self.skip(&tag.name, at)?,
        }
        Ok(None)
    }

    /// Records a newly opened skeleton element (nothing to do for an empty one).
    fn push_open(&mut self, kind: OpenKind, at: Pos, empty: bool) {
        if !empty {
            self.open.push(Open { kind, at });
        }
    }

    /// At the end of input: fine only if everything was closed.
    fn on_eof(&self, at: Pos) -> Result<(), ImportError> {
        match self.open.last() {
            Some(open) => {
                let name = match open.kind {
                    OpenKind::Graphml => "graphml",
                    OpenKind::Graph => "graph",
                };
                Err(self.truncated(at, format!("<{name}> (opened at line {})", open.at.line)))
            }
            None if !self.root_seen => Err(self.invalid(at, "no <graphml> root element: empty or not a GraphML file")),
            None => Ok(()),
        }
    }

    /// Reads a `<key>` declaration (the start tag is `tag`) and its `<default>`.
    fn read_key(&mut self, tag: &Tag, at: Pos, empty: bool) -> Result<(), ImportError> {
        let id = self.required_attr(tag, "id", "<key>", at)?;
        let domain = tag.attr("for").unwrap_or("all").to_owned();
        let name = tag.attr("attr.name").unwrap_or(&id).to_owned();
        let ty = match tag.attr("attr.type") {
            None => PropType::String,
            Some(ty) => PropType::from_name(ty).ok_or_else(|| {
                let message = format!(
                    "key {id:?}: unknown attr.type {ty:?} (expected string, int, long, float, double or boolean)"
                );
                self.invalid(at, &message)
            })?,
        };
        let default = if empty { None } else { self.read_key_children(at)? };
        let default = match default {
            Some((text, text_at)) if ty.parse(&text).is_none() => {
                let item = format!("key {id:?} <default>");
                return Err(ImportError::BadValue { at: self.at(text_at), item, key: id, ty, value: text });
            }
            Some((text, _)) => Some(text),
            None => None,
        };
        let indexes = self.key_index.entry(id.clone()).or_default();
        if indexes.iter().any(|&i| self.keys[i].domain == domain) {
            return Err(self.invalid(at, &format!("key {id:?} for {domain:?} is declared twice")));
        }
        indexes.push(self.keys.len());
        self.keys.push(Key { id, domain, name, ty, default });
        Ok(())
    }

    /// Reads the children of `<key>` up to `</key>`; returns the `<default>` text and where.
    fn read_key_children(&mut self, key_at: Pos) -> Result<Option<(String, Pos)>, ImportError> {
        let mut default = None;
        loop {
            let (ev, at) = self.read_event()?;
            match ev {
                Ev::Start(tag) if tag.name == "default" => default = Some((self.read_text(at)?, at)),
                Ev::Empty(tag) if tag.name == "default" => default = Some((String::new(), at)),
                Ev::Start(tag) => self.skip(&tag.name, at)?,
                Ev::End => return Ok(default),
                Ev::Eof => return Err(self.truncated(at, format!("<key> (opened at line {})", key_at.line))),
                Ev::Empty(_) | Ev::Text(_) | Ev::Other => {}
            }
        }
    }

    /// Reads a `<node>` (start tag `tag`) with its data.
    fn read_node(&mut self, tag: &Tag, at: Pos, empty: bool) -> Result<ImportItem, ImportError> {
        let id = self.required_attr(tag, "id", "<node>", at)?;
        let item = format!("node {id:?}");
        let data = if empty { Vec::new() } else { self.read_data_children(&item, at)? };
        let resolved = self.resolve(Domain::Node, &item, data)?;
        let class = resolved
            .label
            .map(|(_, label)| label)
            .or_else(|| first_label(tag.attr(NODE_LABELS_ATTRIBUTE)?))
            .or(resolved.label_default)
            .filter(|class| !class.is_empty());
        Ok(ImportItem::Vertex(ImportVertex { id, class, props: resolved.props }))
    }

    /// Reads an `<edge>` (start tag `tag`) with its data.
    fn read_edge(&mut self, tag: &Tag, at: Pos, empty: bool) -> Result<ImportItem, ImportError> {
        let id = tag.attr("id").map(str::to_owned);
        let (element, item) = match &id {
            Some(id) => (format!("<edge id={id:?}>"), format!("edge {id:?}")),
            None => ("<edge>".to_owned(), format!("edge at line {}", at.line)),
        };
        let source = self.required_attr(tag, "source", &element, at)?;
        let target = self.required_attr(tag, "target", &element, at)?;
        let data = if empty { Vec::new() } else { self.read_data_children(&item, at)? };
        let resolved = self.resolve(Domain::Edge, &item, data)?;
        let label = resolved
            .label
            .map(|(_, label)| label)
            .or_else(|| tag.attr("label").map(str::to_owned))
            .or(resolved.label_default)
            .unwrap_or_else(|| DEFAULT_EDGE_LABEL.to_owned());
        if label.is_empty() {
            return Err(self.invalid(at, &format!("{item}: the edge label is empty")));
        }
        Ok(ImportItem::Edge(ImportEdge { id, label, source, target, props: resolved.props }))
    }

    /// Reads the children of a node or edge up to its end tag, keeping the `<data>`.
    fn read_data_children(&mut self, item: &str, item_at: Pos) -> Result<Vec<Data>, ImportError> {
        let mut data = Vec::new();
        loop {
            let (ev, at) = self.read_event()?;
            match ev {
                Ev::Start(tag) | Ev::Empty(tag) if tag.name == "graph" => {
                    return Err(self.invalid(at, &format!("{item}: nested <graph> elements are not supported")));
                }
                Ev::Start(tag) if tag.name == "data" => {
                    let key = self.required_attr(&tag, "key", &format!("<data> of {item}"), at)?;
                    let text = self.read_text(at)?;
                    data.push(Data { key, text, at });
                }
                Ev::Empty(tag) if tag.name == "data" => {
                    let key = self.required_attr(&tag, "key", &format!("<data> of {item}"), at)?;
                    data.push(Data { key, text: String::new(), at });
                }
                Ev::Start(tag) => self.skip(&tag.name, at)?,
                Ev::End => return Ok(data),
                Ev::Eof => return Err(self.truncated(at, format!("{item} (opened at line {})", item_at.line))),
                Ev::Empty(_) | Ev::Text(_) | Ev::Other => {}
            }
        }
    }

    /// Converts data to properties and picks out the label, applying key defaults.
    fn resolve(&self, domain: Domain, item: &str, data: Vec<Data>) -> Result<Resolved, ImportError> {
        let label_keys = match domain {
            Domain::Node => VERTEX_LABEL_KEYS,
            Domain::Edge => EDGE_LABEL_KEYS,
        };
        let mut used_keys = HashSet::new();
        let mut names = HashSet::new();
        let mut resolved = Resolved { props: Vec::new(), label: None, label_default: None };
        for Data { key, text, at } in data {
            let Some(index) = self.find_key(&key, domain) else {
                return Err(ImportError::UnknownKey { at: self.at(at), item: item.to_owned(), key });
            };
            let decl = &self.keys[index];
            if !used_keys.insert(index) {
                return Err(self.invalid(at, &format!("{item}: data key {key:?} is given twice")));
            }
            if let Some(rank) = label_keys.iter().position(|k| *k == decl.id) {
                if resolved.label.as_ref().is_none_or(|(best, _)| rank < *best) {
                    resolved.label = Some((rank, text));
                }
                continue;
            }
            if !names.insert(decl.name.as_str()) {
                return Err(self.invalid(at, &format!("{item}: property {:?} is given twice", decl.name)));
            }
            let Some(value) = decl.ty.parse(&text) else {
                return Err(ImportError::BadValue {
                    at: self.at(at),
                    item: item.to_owned(),
                    key,
                    ty: decl.ty,
                    value: text,
                });
            };
            resolved.props.push((decl.name.clone(), value));
        }
        for (index, decl) in self.keys.iter().enumerate() {
            let Some(default) = &decl.default else { continue };
            if !decl.applies_to(domain) || used_keys.contains(&index) {
                continue;
            }
            if label_keys.contains(&decl.id.as_str()) {
                if resolved.label_default.is_none() {
                    resolved.label_default = Some(default.clone());
                }
            } else if names.insert(decl.name.as_str()) {
                // Checked when the key was declared, so `parse` succeeds.
                if let Some(value) = decl.ty.parse(default) {
                    resolved.props.push((decl.name.clone(), value));
                }
            }
        }
        Ok(resolved)
    }

    /// The key declaration `id` for `domain`: the one whose `for` matches, else any (files
    /// are not always careful about `for`).
    fn find_key(&self, id: &str, domain: Domain) -> Option<usize> {
        let indexes = self.key_index.get(id)?;
        indexes.iter().copied().find(|&i| self.keys[i].applies_to(domain)).or_else(|| indexes.first().copied())
    }

    /// Collects the character data of the element just opened at `open_at`, up to its end
    /// tag. Markup inside is skipped.
    fn read_text(&mut self, open_at: Pos) -> Result<String, ImportError> {
        let mut text = String::new();
        loop {
            let (ev, at) = self.read_event()?;
            match ev {
                Ev::Text(part) => {
                    text.push_str(&part);
                    let max = self.xml.get_ref().max_event_bytes;
                    if text.len() as u64 > max {
                        return Err(self.invalid(open_at, &format!("a value is longer than {max} bytes")));
                    }
                }
                Ev::Start(tag) => self.skip(&tag.name, at)?,
                Ev::End => return Ok(text),
                Ev::Eof => return Err(self.truncated(at, format!("<data> (opened at line {})", open_at.line))),
                Ev::Empty(_) | Ev::Other => {}
            }
        }
    }

    /// Skips everything up to the end tag of the element `name` just opened at `open_at`.
    fn skip(&mut self, name: &str, open_at: Pos) -> Result<(), ImportError> {
        let mut depth = 1usize;
        while depth > 0 {
            let (ev, at) = self.read_event()?;
            match ev {
                Ev::Start(_) => depth += 1,
                Ev::End => depth -= 1,
                Ev::Eof => return Err(self.truncated(at, format!("<{name}> (opened at line {})", open_at.line))),
                Ev::Empty(_) | Ev::Text(_) | Ev::Other => {}
            }
        }
        Ok(())
    }

    /// The attribute `name` of `tag`, which must be present and non-empty.
    fn required_attr(&self, tag: &Tag, name: &str, element: &str, at: Pos) -> Result<String, ImportError> {
        match tag.attr(name) {
            None => Err(ImportError::MissingAttribute {
                at: self.at(at),
                element: element.to_owned(),
                attribute: name.to_owned(),
            }),
            Some("") => Err(self.invalid(at, &format!("{element}: the {name:?} attribute is empty"))),
            Some(value) => Ok(value.to_owned()),
        }
    }

    /// An [`ImportError::Invalid`] at `at`.
    fn invalid(&self, at: Pos, message: &str) -> ImportError {
        ImportError::Invalid { at: self.at(at), message: message.to_owned() }
    }

    /// An [`ImportError::Truncated`] at `at`.
    fn truncated(&self, at: Pos, inside: String) -> ImportError {
        ImportError::Truncated { at: self.at(at), inside }
    }

    /// Reads one XML event and where it starts.
    fn read_event(&mut self) -> Result<(Ev, Pos), ImportError> {
        let at = self.pos();
        self.xml.get_mut().mark = at.byte;
        self.buf.clear();
        let converted = match self.xml.read_event_into(&mut self.buf) {
            Ok(event) => convert(event),
            Err(source) => Err(BadEvent::Xml(source)),
        };
        let max = self.xml.get_ref().max_event_bytes;
        if self.pos().byte - at.byte > max {
            // The reader only notices the bound when it refills its buffer; this is exact.
            return Err(self.invalid(at, &event_too_long(max)));
        }
        match converted {
            Ok(ev) => Ok((ev, at)),
            Err(BadEvent::Xml(source)) => Err(self.xml_error(at, source)),
            Err(BadEvent::Reference(message)) => Err(self.invalid(at, &message)),
        }
    }

    /// Turns the XML reader's error into ours, recognising the event size bound.
    fn xml_error(&self, at: Pos, source: quick_xml::Error) -> ImportError {
        let counter = self.xml.get_ref();
        if counter.over_limit {
            return self.invalid(at, &event_too_long(counter.max_event_bytes));
        }
        ImportError::Xml { at: self.at(at), source }
    }
}

impl<R: Read> Iterator for GraphmlReader<R> {
    type Item = Result<ImportItem, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.advance() {
            Ok(Some(item)) => Some(Ok(item)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(error) => {
                self.done = true;
                Some(Err(error))
            }
        }
    }
}

impl<R: Read> FusedIterator for GraphmlReader<R> {}

/// Why an XML event could not be converted.
enum BadEvent {
    /// The XML reader's error.
    Xml(quick_xml::Error),
    /// An undefined or malformed entity or character reference.
    Reference(String),
}

/// Reduces an XML event to an owned [`Ev`].
fn convert(event: Event<'_>) -> Result<Ev, BadEvent> {
    Ok(match event {
        Event::Start(start) => Ev::Start(tag(&start).map_err(BadEvent::Xml)?),
        Event::Empty(start) => Ev::Empty(tag(&start).map_err(BadEvent::Xml)?),
        Event::End(_) => Ev::End,
        Event::Text(text) => Ev::Text(text.xml10_content().into_owned()),
        Event::CData(cdata) => Ev::Text(cdata.xml10_content().into_owned()),
        Event::GeneralRef(reference) => Ev::Text(resolve_reference(&reference).map_err(BadEvent::Reference)?),
        Event::Eof => Ev::Eof,
        Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => Ev::Other,
    })
}

/// Copies a start tag's name and attributes (references decoded, whitespace normalized as
/// XML requires).
fn tag(start: &BytesStart<'_>) -> Result<Tag, quick_xml::Error> {
    let name = start.local_name().as_ref().to_owned();
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr?;
        let value = attr.normalized_value(XmlVersion::Implicit1_0)?;
        attrs.push((attr.key.as_ref().to_owned(), value.into_owned()));
    }
    Ok(Tag { name, attrs })
}

/// The message for an event over the size bound.
fn event_too_long(max_event_bytes: u64) -> String {
    format!("an element or text run is longer than {max_event_bytes} bytes; the file is damaged or not GraphML")
}

/// The first label of a `labels` attribute (`":Person:Actor"` gives `Person`), if any.
fn first_label(labels: &str) -> Option<String> {
    let labels = labels.strip_prefix(':').unwrap_or(labels);
    labels.split(':').next().filter(|label| !label.is_empty()).map(str::to_owned)
}

/// Decodes `&#...;` and the five predefined entities; anything else is an error message.
fn resolve_reference(reference: &BytesRef<'_>) -> Result<String, String> {
    match reference.resolve_char_ref() {
        Ok(Some(ch)) => return Ok(ch.to_string()),
        Ok(None) => {}
        Err(error) => return Err(format!("bad character reference &{};: {error}", &**reference)),
    }
    match quick_xml::escape::resolve_predefined_entity(reference) {
        Some(text) => Ok(text.to_owned()),
        None => Err(format!("undefined entity &{};", &**reference)),
    }
}

/// The buffered input under the XML reader: counts the bytes and newlines consumed (for
/// positions and progress) and refuses to feed one event more than `max_event_bytes`.
struct CountingReader<R> {
    /// The input.
    inner: R,
    /// Read buffer.
    buf: Box<[u8]>,
    /// Start of the unconsumed bytes in `buf`.
    start: usize,
    /// End of the valid bytes in `buf`.
    end: usize,
    /// Bytes consumed so far.
    bytes: u64,
    /// Newlines among them.
    newlines: u64,
    /// Byte offset where the current event started.
    mark: u64,
    /// Bound on the bytes one event may consume.
    max_event_bytes: u64,
    /// Set when an event hit the bound (the XML reader then sees an I/O error).
    over_limit: bool,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for CountingReader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.bytes - self.mark > self.max_event_bytes {
            self.over_limit = true;
            return Err(io::Error::other("XML event exceeds the size bound"));
        }
        if self.start == self.end {
            let n = self.inner.read(&mut self.buf)?;
            // A `Read` that claims more than the buffer would break slicing; trust only the buffer.
            self.end = n.min(self.buf.len());
            self.start = 0;
        }
        Ok(&self.buf[self.start..self.end])
    }

    fn consume(&mut self, amount: usize) {
        let amount = amount.min(self.end - self.start);
        let consumed = &self.buf[self.start..self.start + amount];
        self.newlines += consumed.iter().filter(|&&b| b == b'\n').count() as u64;
        self.start += amount;
        self.bytes += amount as u64;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HEADER: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
"#;

    fn parse(xml: &str) -> Result<Vec<ImportItem>, ImportError> {
        GraphmlReader::new(xml.as_bytes(), "test.xml").collect()
    }

    fn parse_err(xml: &str) -> ImportError {
        match parse(xml) {
            Ok(items) => panic!("expected an error, got {items:?}"),
            Err(error) => error,
        }
    }

    fn vertex(item: &ImportItem) -> &ImportVertex {
        match item {
            ImportItem::Vertex(vertex) => vertex,
            ImportItem::Edge(edge) => panic!("expected a vertex, got {edge:?}"),
        }
    }

    fn edge(item: &ImportItem) -> &ImportEdge {
        match item {
            ImportItem::Edge(edge) => edge,
            ImportItem::Vertex(vertex) => panic!("expected an edge, got {vertex:?}"),
        }
    }

    fn props(pairs: &[(&str, PropValue)]) -> Vec<(String, PropValue)> {
        pairs.iter().map(|(name, value)| (name.to_string(), value.clone())).collect()
    }

    #[test]
    fn reads_every_type_defaults_and_tinkerpop2_labels() {
        let xml = format!(
            r#"{HEADER}<key id="s" for="node" attr.name="name" attr.type="string"/>
<key id="i" for="node" attr.name="count" attr.type="int"/>
<key id="l" for="node" attr.name="big" attr.type="long"/>
<key id="f" for="node" attr.name="ratio" attr.type="float"/>
<key id="d" for="node" attr.name="score" attr.type="double"/>
<key id="b" for="node" attr.name="ok" attr.type="boolean"><desc>ignored</desc><default>true</default></key>
<key id="w" for="edge" attr.name="weight" attr.type="int"/>
<key id="u" attr.name="untyped"/>
<graph id="G" edgedefault="directed">
  <desc>skipped</desc>
  <node id="a"/>
  <node id="b">
    <data key="s"> two words </data>
    <data key="i">
      -42
    </data>
    <data key="l">9000000000</data>
    <data key="f">1.5</data>
    <data key="d">-2.25e3</data>
    <data key="b">FALSE</data>
    <data key="u">x</data>
  </node>
  <edge id="e1" source="a" target="b" label="knows"><data key="w">3</data></edge>
  <edge source="b" target="zz"/>
</graph>
</graphml>
"#
        );
        let items = parse(&xml).unwrap();
        assert_eq!(items.len(), 4);
        assert_eq!(
            vertex(&items[0]),
            &ImportVertex { id: "a".into(), class: None, props: props(&[("ok", PropValue::Bool(true))]) }
        );
        let expected = props(&[
            ("name", PropValue::String(" two words ".into())),
            ("count", PropValue::Int(-42)),
            ("big", PropValue::Long(9_000_000_000)),
            ("ratio", PropValue::Float(1.5)),
            ("score", PropValue::Double(-2250.0)),
            ("ok", PropValue::Bool(false)),
            ("untyped", PropValue::String("x".into())),
        ]);
        assert_eq!(vertex(&items[1]).props, expected);
        let knows = edge(&items[2]);
        assert_eq!(
            (knows.id.as_deref(), knows.label.as_str(), knows.source.as_str(), knows.target.as_str()),
            (Some("e1"), "knows", "a", "b")
        );
        assert_eq!(knows.props, props(&[("weight", PropValue::Int(3))]));
        let plain = edge(&items[3]);
        assert_eq!(
            (plain.id.as_deref(), plain.label.as_str(), plain.target.as_str()),
            (None, DEFAULT_EDGE_LABEL, "zz")
        );
        assert!(plain.props.is_empty(), "a node-only default must not reach edges");
    }

    #[test]
    fn tinkerpop3_and_orientdb_label_keys_become_labels_not_properties() {
        let xml = format!(
            r#"{HEADER}<key id="labelV" for="node" attr.name="labelV" attr.type="string"></key>
<key id="name" for="node" attr.name="name" attr.type="string"></key>
<key id="labelE" for="edge" attr.name="labelE" attr.type="string"></key>
<key id="label" for="edge" attr.name="label" attr.type="string"></key>
<key id="name" for="edge" attr.name="edgeName" attr.type="int"></key>
<graph id="G" edgedefault="directed"><node id="1"><data key="labelV">song</data><data key="name">X</data></node><node id="2" labels=":Person:Actor"/><node id="3"><data key="labelV"></data></node><edge id="7" source="1" target="2" label="ignored"><data key="label">second</data><data key="labelE">followedBy</data><data key="name">5</data></edge><edge id="8" source="1" target="2" label="attr"><data key="label">fromData</data></edge></graph></graphml>"#
        );
        let items = parse(&xml).unwrap();
        assert_eq!(vertex(&items[0]).class.as_deref(), Some("song"));
        assert_eq!(vertex(&items[0]).props, props(&[("name", PropValue::String("X".into()))]));
        assert_eq!(vertex(&items[1]).class.as_deref(), Some("Person"));
        assert_eq!(vertex(&items[2]).class, None, "an empty labelV means the default class");
        assert_eq!(edge(&items[3]).label, "followedBy");
        assert_eq!(edge(&items[3]).props, props(&[("edgeName", PropValue::Int(5))]), "key id shared by node and edge");
        assert_eq!(edge(&items[4]).label, "fromData");
    }

    #[test]
    fn decodes_references_cdata_and_attribute_entities() {
        let xml = format!(
            r#"{HEADER}<key id="n" for="node" attr.name="name"/><graph>
<node id="a&amp;b"><data key="n">R &amp; B &#x41;&#66; <![CDATA[<raw> & ]]><!-- c --><b>skipped</b>end</data></node>
</graph></graphml>"#
        );
        let items = parse(&xml).unwrap();
        let v = vertex(&items[0]);
        assert_eq!(v.id, "a&b");
        assert_eq!(v.props, props(&[("name", PropValue::String("R & B AB <raw> & end".into()))]));
    }

    #[test]
    fn bad_typed_value_names_position_node_key_and_value() {
        let xml = format!(
            "{HEADER}<key id=\"p\" for=\"node\" attr.name=\"performances\" attr.type=\"int\"/>\n<graph>\n<node id=\"3\">\n  <data key=\"p\">lots</data>\n</node></graph></graphml>"
        );
        let error = parse_err(&xml);
        let message = error.to_string();
        assert!(matches!(error, ImportError::BadValue { ty: PropType::Int, .. }), "{error:?}");
        assert!(message.starts_with("test.xml:6 (byte "), "{message}");
        for part in ["node \"3\"", "\"p\"", "\"lots\"", "not a valid int"] {
            assert!(message.contains(part), "{message} lacks {part}");
        }
        let at = error.location().unwrap();
        assert_eq!(&xml[at.byte as usize..at.byte as usize + 15], "<data key=\"p\">l");
    }

    #[test]
    fn out_of_range_and_bad_boolean_values_are_errors() {
        for (ty, value) in [("int", "2147483648"), ("long", "1.0"), ("float", "x"), ("double", ""), ("boolean", "yes")]
        {
            let xml = format!(
                r#"{HEADER}<key id="k" for="edge" attr.name="k" attr.type="{ty}"/><graph><edge id="9" source="a" target="b"><data key="k">{value}</data></edge></graph></graphml>"#
            );
            let message = parse_err(&xml).to_string();
            assert!(message.contains("edge \"9\"") && message.contains(&format!("{value:?}")), "{message}");
        }
    }

    #[test]
    fn missing_endpoint_attribute_is_an_error_with_position() {
        let xml = format!("{HEADER}<graph>\n<node id=\"1\"/>\n<edge id=\"7\" target=\"1\"/>\n</graph></graphml>");
        let error = parse_err(&xml);
        assert!(
            matches!(&error, ImportError::MissingAttribute { attribute, .. } if attribute == "source"),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(message.starts_with("test.xml:5 "), "{message}");
        assert!(message.contains("<edge id=\"7\">") && message.contains("\"source\""), "{message}");
        let no_target = format!("{HEADER}<graph><edge source=\"1\"/></graph></graphml>");
        assert!(parse_err(&no_target).to_string().contains("\"target\""));
        let no_node_id = format!("{HEADER}<graph><node/></graph></graphml>");
        assert!(matches!(parse_err(&no_node_id), ImportError::MissingAttribute { .. }));
        let empty_source = format!("{HEADER}<graph><edge source=\"\" target=\"1\"/></graph></graphml>");
        assert!(parse_err(&empty_source).to_string().contains("empty"));
    }

    #[test]
    fn truncated_input_is_an_error_naming_where_it_ends_and_what_is_open() {
        let xml = format!(
            "{HEADER}<key id=\"n\" for=\"node\" attr.name=\"name\"/>\n<graph>\n<node id=\"1\">\n<data key=\"n\">A</data>\n</node>\n<node id=\"2\">\n<data key=\"n\">B</data>\n</node>\n</graph>\n</graphml>\n"
        );
        assert_eq!(parse(&xml).unwrap().len(), 2);
        let inside_node = &xml[..xml.find("<data key=\"n\">B").unwrap()];
        let items: Vec<_> = GraphmlReader::new(inside_node.as_bytes(), "cut.xml").collect();
        assert_eq!(items.len(), 2, "the complete node comes first, then the error");
        let error = items[1].as_ref().unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, ImportError::Truncated { .. }), "{error:?}");
        assert!(message.starts_with(&format!("cut.xml:9 (byte {})", inside_node.len())), "{message}");
        assert!(message.contains("node \"2\" (opened at line 8)"), "{message}");
        // Cut inside a tag, inside a value, and after the last item: all errors, all placed.
        for cut in [xml.find("id=\"2\"").unwrap(), xml.find(">B").unwrap() + 1, xml.len() - 12] {
            let result: Result<Vec<_>, _> = GraphmlReader::new(&xml.as_bytes()[..cut], "cut.xml").collect();
            let error = result.unwrap_err();
            assert!(error.location().is_some_and(|at| at.byte <= cut as u64 && at.line >= 1), "{error}");
        }
    }

    #[test]
    fn unknown_key_is_an_error_naming_it() {
        let xml = format!("{HEADER}<graph>\n<node id=\"5\"><data key=\"color\">red</data></node></graph></graphml>");
        let error = parse_err(&xml);
        assert!(matches!(&error, ImportError::UnknownKey { key, .. } if key == "color"), "{error:?}");
        let message = error.to_string();
        assert!(message.starts_with("test.xml:4 ") && message.contains("node \"5\""), "{message}");
    }

    #[test]
    fn malformed_and_unsupported_documents_are_errors() {
        let cases = [
            ("", "no <graphml> root element"),
            ("   \n", "no <graphml> root element"),
            ("{\"json\": true}", "not a GraphML file"),
            ("<gexf/>", "expected <graphml>"),
            ("<graphml></graphml><graphml/>", "after the end of </graphml>"),
            ("<graphml><graph><node id=\"1\"></edge></graph></graphml>", "malformed XML"),
            ("<graphml><graph><node id=\"1\" id=\"2\"/></graph></graphml>", "malformed XML"),
            ("<graphml><graph><node id=\"1></graph></graphml>", "malformed XML"),
            ("<graphml><graph><hyperedge/></graph></graphml>", "hyperedge"),
            ("<graphml><graph><node id=\"1\"><graph/></node></graph></graphml>", "nested <graph>"),
            ("<graphml><node id=\"1\"/></graphml>", "outside a <graph>"),
            ("<graphml><key id=\"k\" attr.type=\"list\"/></graphml>", "unknown attr.type \"list\""),
            ("<graphml><key id=\"k\"/><key id=\"k\"/></graphml>", "declared twice"),
            ("<graphml><key id=\"k\" attr.type=\"int\"><default>x</default></key></graphml>", "<default>"),
            (
                "<graphml><key id=\"k\"/><graph><node id=\"1\"><data key=\"k\">a</data><data key=\"k\">b</data></node></graph></graphml>",
                "given twice",
            ),
            ("<graphml><graph><edge source=\"1\" target=\"2\" label=\"\"/></graph></graphml>", "label is empty"),
            ("<graphml><key id=\"k\"/><graph><node id=\"1\"><data key=\"k\">&nbsp;</data></node></graph></graphml>", "undefined entity"),
            ("<graphml><graph><node id=\"1\"><data>x</data></node></graph></graphml>", "\"key\" attribute"),
            ("<graphml><graph>", "input ends inside <graph>"),
            ("\u{feff}<graphml><graph><node id=\"\u{e9}\"", "malformed XML"),
        ];
        for (xml, expected) in cases {
            let error = parse_err(xml);
            let message = error.to_string();
            assert!(message.contains(expected), "{xml:?}: {message:?} lacks {expected:?}");
            let line = 1 + xml.matches('\n').count();
            assert!(message.starts_with(&format!("test.xml:{line} (byte ")), "{xml:?}: {message:?}");
        }
        let invalid_utf8: &[u8] = b"<graphml><graph><node id=\"\xff\"/></graph></graphml>";
        let result: Result<Vec<_>, _> = GraphmlReader::new(invalid_utf8, "bin").collect();
        assert!(matches!(result, Err(ImportError::Xml { .. })), "{result:?}");
    }

    #[test]
    fn iteration_stops_after_the_first_error_and_progress_reaches_the_end() {
        let xml = format!("{HEADER}<graph><node id=\"1\"/><node/><node id=\"3\"/></graph></graphml>");
        let mut reader = GraphmlReader::new(xml.as_bytes(), "test.xml");
        assert!(matches!(reader.next(), Some(Ok(ImportItem::Vertex(_)))));
        assert!(matches!(reader.next(), Some(Err(ImportError::MissingAttribute { .. }))));
        assert!(reader.next().is_none());
        assert!(reader.next().is_none());

        let good = format!("{HEADER}<graph><node id=\"1\"/><node id=\"2\"/></graph></graphml>\n");
        let mut reader = GraphmlReader::new(good.as_bytes(), "test.xml");
        assert_eq!(reader.position(), 0);
        let mut last = 0;
        while let Some(item) = reader.next() {
            item.unwrap();
            assert!(reader.position() > last && reader.position() < good.len() as u64);
            last = reader.position();
        }
        assert_eq!(reader.position(), good.len() as u64);
    }

    #[test]
    fn an_oversized_event_is_refused() {
        let long = "x".repeat(10_000);
        let xml = format!("{HEADER}<key id=\"n\"/><graph><node id=\"{long}\"/></graph></graphml>");
        let result: Result<Vec<_>, _> =
            GraphmlReader::new(xml.as_bytes(), "big.xml").with_max_event_bytes(4096).collect();
        let message = result.err().map(|error| error.to_string()).unwrap_or_default();
        assert!(message.contains("longer than 4096 bytes"), "{message}");
        let value = format!("{HEADER}<key id=\"n\"/><graph><node id=\"1\"><data key=\"n\">{long}&amp;{long}</data></node></graph></graphml>");
        let result: Result<Vec<_>, _> =
            GraphmlReader::new(value.as_bytes(), "big.xml").with_max_event_bytes(15_000).collect();
        let message = result.err().map(|error| error.to_string()).unwrap_or_default();
        assert!(message.contains("longer than 15000 bytes"), "{message}");
    }

    /// A `Read` that writes a GraphML document of `nodes` nodes and edges as it is read.
    struct Generated {
        /// Nodes still to write.
        remaining: u64,
        /// Next node id.
        next: u64,
        /// Bytes produced but not yet read.
        pending: Vec<u8>,
        /// Whether the closing tags were written.
        closed: bool,
    }

    impl Read for Generated {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            while self.pending.is_empty() {
                if self.remaining > 0 {
                    let n = self.next;
                    let text = format!(
                        "<node id=\"{n}\"><data key=\"w\">{n}</data></node><edge source=\"{n}\" target=\"{}\" label=\"next\"/>\n",
                        n + 1
                    );
                    self.pending.extend_from_slice(text.as_bytes());
                    self.next += 1;
                    self.remaining -= 1;
                } else if !self.closed {
                    self.pending.extend_from_slice(b"</graph></graphml>");
                    self.closed = true;
                } else {
                    return Ok(0);
                }
            }
            let n = self.pending.len().min(out.len());
            out[..n].copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            Ok(n)
        }
    }

    #[test]
    fn streams_a_large_generated_document_in_bounded_memory() {
        let head = b"<graphml><key id=\"w\" attr.name=\"w\" attr.type=\"long\"/><graph>".to_vec();
        let input = Generated { remaining: 50_000, next: 0, pending: head, closed: false };
        let mut reader = GraphmlReader::new(input, "generated");
        let (mut vertices, mut edges) = (0u64, 0u64);
        for item in reader.by_ref() {
            match item.unwrap() {
                ImportItem::Vertex(v) => {
                    assert_eq!(v.props, vec![("w".to_string(), PropValue::Long(vertices as i64))]);
                    vertices += 1;
                }
                ImportItem::Edge(_) => edges += 1,
            }
        }
        assert_eq!((vertices, edges), (50_000, 50_000));
        assert!(reader.buf.capacity() < 4096, "event buffer grew to {}", reader.buf.capacity());
        assert_eq!(reader.xml.get_ref().newlines, 50_000);
    }

    /// A small valid document for mutation tests.
    fn sample() -> String {
        format!(
            r#"{HEADER}<key id="n" for="node" attr.name="name"/><key id="p" for="node" attr.name="p" attr.type="int"><default>0</default></key>
<key id="w" for="edge" attr.name="weight" attr.type="double"/>
<graph id="G"><node id="1"><data key="n">A &amp; B</data><data key="p">5</data></node>
<node id="2"/><edge id="0" source="1" target="2" label="x"><data key="w">1.5</data></edge></graph></graphml>"#
        )
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            for item in GraphmlReader::new(bytes.as_slice(), "fuzz") {
                if let Err(error) = item {
                    prop_assert!(!error.to_string().is_empty());
                }
            }
        }

        #[test]
        fn mutated_documents_never_panic(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut bytes = sample().into_bytes();
            prop_assert_eq!(GraphmlReader::new(bytes.as_slice(), "sample").count(), 3);
            for (at, byte, kind) in edits {
                let at = at.index(bytes.len());
                match kind {
                    0 => bytes[at] = byte,
                    1 => bytes.insert(at, byte),
                    _ => { bytes.remove(at); }
                }
            }
            bytes.truncate(cut.index(bytes.len() + 1).max(1));
            let mut reader = GraphmlReader::new(bytes.as_slice(), "fuzz");
            let mut errors = 0;
            for item in reader.by_ref() {
                if let Err(error) = item {
                    errors += 1;
                    prop_assert!(error.location().is_some());
                }
            }
            prop_assert!(errors <= 1);
            prop_assert!(reader.position() <= bytes.len() as u64);
        }
    }
}
