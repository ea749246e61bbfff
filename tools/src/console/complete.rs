//! Tab completion in the REPL: console command words, SQL keywords, and the current database's
//! class, property and cluster names.
//!
//! The names come from `GET /database/{db}` ([`super::schema::Schema`]); the session refreshes
//! the [`Vocabulary`] it shares with the editor on CONNECT and after every schema-changing SQL
//! statement (`CREATE`, `ALTER`, `DROP`, `TRUNCATE`). After a word that names a class (`FROM`,
//! `INTO`, `CLASS`, `UPDATE`, `EXTENDS`, `VERTEX`, `EDGE`) only classes are offered, after
//! `CLUSTER` only clusters; elsewhere keywords, then the properties of the classes the line
//! names (all properties when it names none), then classes. Keywords complete in the case the
//! word was typed in.

use std::cell::RefCell;
use std::rc::Rc;

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

/// What completion offers; shared between the session (which fills it) and the editor.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Vocabulary {
    /// Class names.
    pub classes: Vec<String>,
    /// `(class, property)` pairs.
    pub properties: Vec<(String, String)>,
    /// Cluster names.
    pub clusters: Vec<String>,
}

/// The vocabulary, shared.
pub type SharedVocabulary = Rc<RefCell<Vocabulary>>;

/// Console command words and SQL keywords, upper case.
const KEYWORDS: &[&str] = &[
    "ALTER",
    "AND",
    "AS",
    "ASC",
    "BEGIN",
    "BETWEEN",
    "BROWSE",
    "BY",
    "CLASS",
    "CLASSES",
    "CLUSTER",
    "CLUSTERS",
    "COMMIT",
    "CONFIG",
    "CONNECT",
    "CONTAINS",
    "COUNT",
    "CREATE",
    "DATABASE",
    "DATABASES",
    "DELETE",
    "DESC",
    "DISCONNECT",
    "DISPLAY",
    "DISTINCT",
    "DROP",
    "EDGE",
    "EXISTS",
    "EXIT",
    "EXPLAIN",
    "EXTENDS",
    "FROM",
    "GROUP",
    "HA",
    "HELP",
    "IN",
    "INDEX",
    "INDEXES",
    "INFO",
    "INSERT",
    "INTO",
    "IS",
    "LIKE",
    "LIMIT",
    "LIST",
    "LOAD",
    "MATCH",
    "NOT",
    "NULL",
    "OR",
    "ORDER",
    "PROPERTY",
    "QUIT",
    "RAW",
    "RECORD",
    "REMOVE",
    "RETURN",
    "ROLLBACK",
    "SELECT",
    "SERVER",
    "SET",
    "SKIP",
    "STATUS",
    "TO",
    "TRAVERSE",
    "TRUNCATE",
    "UPDATE",
    "UPSERT",
    "VALUES",
    "VERTEX",
    "WHERE",
    "WHILE",
];

/// Words after which a class name comes.
const BEFORE_CLASS: &[&str] = &["FROM", "INTO", "CLASS", "UPDATE", "EXTENDS", "VERTEX", "EDGE"];

/// The start of the word under the cursor.
fn word_start(line: &str, pos: usize) -> usize {
    line[..pos]
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '@'))
        .map_or(0, |(i, c)| i + c.len_utf8())
}

/// The candidates for the word `prefix` at `start` in `line`.
pub fn candidates(vocabulary: &Vocabulary, line: &str, start: usize, prefix: &str) -> Vec<String> {
    let before = line[..start].split_whitespace().last().unwrap_or("").to_uppercase();
    let lowered = prefix.to_lowercase();
    let matches = |word: &str| word.to_lowercase().starts_with(&lowered);
    let mut out: Vec<String> = Vec::new();
    let mut add = |word: String| {
        if matches(&word) && !out.contains(&word) {
            out.push(word);
        }
    };
    if BEFORE_CLASS.contains(&before.as_str()) {
        vocabulary.classes.iter().cloned().for_each(&mut add);
        return out;
    }
    if before == "CLUSTER" || line[..start].to_uppercase().ends_with("CLUSTER:") {
        vocabulary.clusters.iter().cloned().for_each(&mut add);
        return out;
    }
    let lower = prefix.chars().next().is_some_and(char::is_lowercase);
    for keyword in KEYWORDS {
        add(if lower { keyword.to_lowercase() } else { (*keyword).to_owned() });
    }
    let words: Vec<&str> = line.split(|c: char| !(c.is_alphanumeric() || c == '_')).collect();
    let named: Vec<&String> =
        vocabulary.classes.iter().filter(|c| words.iter().any(|w| w.eq_ignore_ascii_case(c))).collect();
    for (class, property) in &vocabulary.properties {
        if named.is_empty() || named.iter().any(|c| c.eq_ignore_ascii_case(class)) {
            add(property.clone());
        }
    }
    vocabulary.classes.iter().cloned().for_each(&mut add);
    out
}

/// The rustyline helper: completion from a shared [`Vocabulary`]; no hints, highlighting or
/// validation (the console's own scanner decides when a statement is complete).
pub struct ConsoleHelper {
    /// The names to offer.
    pub vocabulary: SharedVocabulary,
}

impl Completer for ConsoleHelper {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let start = word_start(line, pos);
        let prefix = &line[start..pos];
        let words = candidates(&self.vocabulary.borrow(), line, start, prefix);
        Ok((start, words.into_iter().map(|w| Pair { display: w.clone(), replacement: w }).collect()))
    }
}

impl Hinter for ConsoleHelper {
    type Hint = String;
}

impl Highlighter for ConsoleHelper {}

impl Validator for ConsoleHelper {}

impl Helper for ConsoleHelper {}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn vocabulary() -> Vocabulary {
        Vocabulary {
            classes: vec!["Person".into(), "Place".into(), "V".into()],
            properties: vec![("Person".into(), "name".into()), ("Place".into(), "nation".into())],
            clusters: vec!["person".into(), "place".into()],
        }
    }

    fn complete(line: &str) -> Vec<String> {
        let start = word_start(line, line.len());
        candidates(&vocabulary(), line, start, &line[start..])
    }

    #[test]
    fn keywords_keep_the_typed_case() {
        assert_eq!(complete("SEL"), ["SELECT"]);
        assert_eq!(complete("sel"), ["select"]);
        assert_eq!(complete("LIST CLA"), ["CLASS", "CLASSES"]);
    }

    #[test]
    fn classes_after_from_and_clusters_after_cluster() {
        assert_eq!(complete("SELECT FROM P"), ["Person", "Place"]);
        assert_eq!(complete("select from pe"), ["Person"]);
        assert_eq!(complete("BROWSE CLUSTER pl"), ["place"]);
        assert_eq!(complete("SELECT FROM cluster:pe"), ["person"]);
        assert_eq!(complete("INFO CLASS "), ["Person", "Place", "V"]);
    }

    #[test]
    fn properties_of_the_classes_named() {
        assert_eq!(complete("SELECT na"), ["name", "nation"]);
        assert_eq!(complete("SELECT FROM Person WHERE na"), ["name"]);
        assert_eq!(complete("SELECT FROM Place WHERE n"), ["not", "null", "nation"]);
    }
}
