//! Whatever SQL arrives, the executor answers a result or an error, never a panic: random
//! statements assembled from SQL pieces (most run), random token soups (most do not parse),
//! and mutations of valid queries, against a small graph that the writes among them keep
//! changing.

#![allow(clippy::unwrap_used)] // Tests fail loudly on any unexpected error.

use std::sync::OnceLock;

use basalt_engine::{Database, Options, Value};
use basalt_server::query::{run, Access, Params, QueryRequest};
use proptest::prelude::*;

const TOKENS: &[&str] = &[
    "SELECT",
    "FROM",
    "V",
    "E",
    "P",
    "WHERE",
    "name",
    "n",
    "=",
    "<>",
    "<",
    ">=",
    "'x'",
    "'a'",
    "1",
    "0",
    "-1",
    "2.5",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    ";",
    ".",
    "out('L')",
    "in()",
    "both()",
    "outE()",
    ".size()",
    ".asSet()",
    "count(*)",
    "sum(n)",
    "max(name)",
    "GROUP BY",
    "ORDER BY",
    "DESC",
    "LIMIT",
    "SKIP",
    "UNWIND",
    "DISTINCT",
    "$depth",
    "$current",
    "$parent",
    "$x",
    "TRAVERSE",
    "MAXDEPTH",
    "STRATEGY BREADTH_FIRST",
    "WHILE",
    "MATCH",
    "{class: P, as: a}",
    "{as: b, optional: true}",
    "{as: c, while: ($depth < 2)}",
    ".out()",
    "-L->",
    "RETURN",
    "a",
    "b",
    "$matches",
    "$elements",
    "expand(",
    "AND",
    "OR",
    "NOT",
    "IS NULL",
    "IS NOT DEFINED",
    "IN",
    "CONTAINS",
    "LIKE",
    "'%a%'",
    "BETWEEN",
    "MATCHES",
    "'(a|b)*'",
    "INSTANCEOF",
    "LET",
    "UPDATE",
    "SET",
    "INCREMENT",
    "ADD",
    "REMOVE",
    "PUT",
    "MERGE",
    "CONTENT",
    "UPSERT",
    "RETURN AFTER",
    "INSERT INTO",
    "VALUES",
    "CREATE VERTEX",
    "CREATE EDGE L",
    "TO",
    "DELETE VERTEX",
    "DELETE EDGE",
    "DELETE FROM",
    "#11:0",
    "#11:1",
    "#9:0",
    "@rid",
    "@class",
    "*",
    "+",
    "/",
    "%",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "EXPLAIN",
    "PROFILE",
    "ifnull(",
    "null",
    ":p",
    "?",
    "CREATE CLASS",
    "DROP CLASS",
    "CREATE INDEX P.n",
    "NOTUNIQUE",
    "CREATE PROPERTY P.n INTEGER",
    "TRUNCATE CLASS",
];

fn db() -> &'static Database {
    static DB: OnceLock<(tempfile::TempDir, Database)> = OnceLock::new();
    &DB.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let options = Options { wal_segment_bytes: 1 << 20, ..Options::default() };
        let (db, _) = Database::create(dir.path().join("db"), options).unwrap();
        let setup = "CREATE CLASS P EXTENDS V; CREATE CLASS L EXTENDS E; \
                     INSERT INTO P (name, n) VALUES ('a', 1), ('b', 2), ('x', 3); \
                     CREATE EDGE L FROM #11:0 TO [#11:1, #11:2]; CREATE EDGE L FROM #11:2 TO #11:0";
        run(&db, &request(setup)).unwrap();
        (dir, db)
    })
    .1
}

fn request(text: &str) -> QueryRequest {
    let mut params = Params::default();
    params.positional.push(Value::Int(1));
    params.named.insert("p".into(), Value::String("a".into()));
    QueryRequest { text: text.into(), params, access: Access::Admin, limit: Some(50), transaction: false }
}

const PROJECTIONS: &[&str] = &[
    "*",
    "name",
    "out('L').name",
    "count(*)",
    "n + 1",
    "expand(out())",
    "$depth",
    "@rid",
    "name.toUpperCase()",
    "list(name)",
    "both().size() AS d",
    "sum(n) / count(*)",
    "distinct(name)",
    "in('L')[n > 1].name",
    "$x",
    "ifnull(n, 0)",
    "out().out().asSet().size()",
    "@class, n",
];
const TARGETS: &[&str] = &[
    "P",
    "V",
    "E",
    "L",
    "#11:0",
    "[#11:0, #11:1]",
    "(SELECT FROM P)",
    "(TRAVERSE out() FROM #11:0)",
    "cluster:p",
    ":p",
    "?",
    "(MATCH {class: P, as: a} RETURN a)",
    "Nobody",
];
const CONDITIONS: &[&str] = &[
    "name = 'a'",
    "n > 1",
    "n IN [1, 2]",
    "out('L') CONTAINS (name = 'x')",
    "name LIKE '%a%'",
    "n BETWEEN 1 AND 2",
    "name IS NULL",
    "@this INSTANCEOF P",
    "$depth < 2",
    "name MATCHES '[ab]'",
    "n = ?",
    "name = :p",
    "out().size() > 0",
    "NOT (n = 1)",
    "n / 0 = 1",
    "in.name = 'a'",
    "name IN (SELECT name FROM P WHERE n > $parent.$current.n)",
];
const TAILS: &[&str] =
    &["", "ORDER BY name", "GROUP BY name", "LIMIT 1", "SKIP 1 LIMIT 2", "ORDER BY n DESC LIMIT 1", "UNWIND name"];
const STATEMENTS: &[&str] = &[
    "SELECT {p} FROM {t} LET $x = out() WHERE {c} {tail}",
    "SELECT {p} FROM {t} WHERE {c} OR {c} {tail}",
    "TRAVERSE out('L'), in FROM {t} MAXDEPTH 2 WHILE {c}",
    "MATCH {class: P, as: a, where: ({c})}.out('L'){as: b, optional: true} RETURN a.name, b {tail}",
    "UPDATE {t} SET m = {p} WHERE {c} LIMIT 2",
    "UPDATE P INCREMENT n = 1 UPSERT RETURN AFTER WHERE {c}",
    "DELETE EDGE L WHERE {c} LIMIT 1",
    "CREATE EDGE L FROM {t} TO (SELECT FROM P WHERE {c})",
    "INSERT INTO P SET name = 'y', n = {p}",
    "EXPLAIN SELECT FROM {t} WHERE {c}",
    "BEGIN; LET $v = CREATE VERTEX P SET n = 9; CREATE EDGE L FROM $v TO {t}; COMMIT; RETURN $v",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn assembled_statements_never_panic(
        statement in proptest::sample::select(STATEMENTS),
        p in proptest::sample::select(PROJECTIONS),
        t in proptest::sample::select(TARGETS),
        c1 in proptest::sample::select(CONDITIONS),
        c2 in proptest::sample::select(CONDITIONS),
        tail in proptest::sample::select(TAILS),
    ) {
        let text = statement
            .replace("{p}", p)
            .replace("{t}", t)
            .replacen("{c}", c1, 1)
            .replace("{c}", c2)
            .replace("{tail}", tail);
        let _ = run(db(), &request(&text));
    }

    #[test]
    fn random_sql_never_panics(tokens in proptest::collection::vec(proptest::sample::select(TOKENS), 1..14)) {
        let text = tokens.join(" ");
        let _ = run(db(), &request(&text));
    }

    #[test]
    fn mutated_queries_never_panic(base in proptest::sample::select(&[
        "SELECT name, out('L').name FROM P WHERE n > 1 ORDER BY name",
        "MATCH {class: P, as: a}.out('L'){as: b} RETURN a.name, b.name",
        "TRAVERSE out('L') FROM #11:0 MAXDEPTH 3 STRATEGY BREADTH_FIRST",
        "SELECT count(*), max(n) FROM P GROUP BY name",
        "UPDATE P SET n = n + 1 WHERE name = 'a'",
    ][..]), at in any::<prop::sample::Index>(), token in proptest::sample::select(TOKENS)) {
        let words: Vec<&str> = base.split(' ').collect();
        let i = at.index(words.len());
        let mut mutated = words.clone();
        mutated[i] = token;
        let _ = run(db(), &request(&mutated.join(" ")));
        mutated.insert(i, token);
        let _ = run(db(), &request(&mutated.join(" ")));
    }
}
