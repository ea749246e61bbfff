//! Tests of the SQL parser through its public API: ASTs of the Grateful Dead examples, the
//! canonical form of every statement family, errors and their positions, bounds, and property
//! tests (no panics on arbitrary input; print -> parse gives back the same AST).

use basalt_server::sql::ast::*;
use basalt_server::sql::{parse_script, parse_statement, ParseError, MAX_INPUT_BYTES, MAX_NESTING_DEPTH};

fn parse(sql: &str) -> Statement {
    match parse_statement(sql) {
        Ok(s) => s,
        Err(e) => panic!("{sql:?} failed to parse: {e}"),
    }
}

/// Parses, prints, parses the print again and checks both trees are equal.
fn roundtrip(sql: &str) -> Statement {
    let first = parse(sql);
    let printed = first.to_string();
    let second = match parse_statement(&printed) {
        Ok(s) => s,
        Err(e) => panic!("canonical form {printed:?} of {sql:?} failed to parse: {e}"),
    };
    assert_eq!(first, second, "round trip through {printed:?}");
    first
}

/// The canonical form (after checking the round trip).
fn canon(sql: &str) -> String {
    roundtrip(sql).to_string()
}

fn err(sql: &str) -> ParseError {
    match parse_script(sql) {
        Ok(s) => panic!("{sql:?} should not parse, got {s:?}"),
        Err(e) => e,
    }
}

fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Call(Box::new(FunctionCall { name: Ident::new(name), args }))
}

fn method(target: Expr, name: &str, args: Vec<Expr>) -> Expr {
    Expr::MethodCall { target: Box::new(target), call: Box::new(FunctionCall { name: Ident::new(name), args }) }
}

fn compare(op: CompareOp, left: Expr, right: Expr) -> Expr {
    Expr::Compare { op, left: Box::new(left), right: Box::new(right) }
}

fn item(expr: Expr, alias: Option<&str>) -> Projection {
    Projection::Expr(AliasedExpr { expr, alias: alias.map(Ident::new) })
}

fn select(sql: &str) -> SelectStatement {
    match roundtrip(sql) {
        Statement::Select(s) => *s,
        other => panic!("not a SELECT: {other:?}"),
    }
}

// ---- Grateful Dead examples: full ASTs ----------------------------------------------------

#[test]
fn select_expand_out() {
    let expected = SelectStatement {
        projections: vec![item(call("expand", vec![call("out", vec![Expr::string("followed_by")])]), None)],
        from: Some(Target::Class(Ident::new("V"))),
        where_clause: Some(compare(CompareOp::Eq, Expr::field("name"), Expr::string("DARK STAR"))),
        ..SelectStatement::default()
    };
    assert_eq!(select("SELECT expand(out('followed_by')) FROM V WHERE name = 'DARK STAR'"), expected);
}

#[test]
fn select_songs_per_artist() {
    let sql = "SELECT name, in('sung_by').size() AS songs FROM V WHERE type = 'artist' ORDER BY songs DESC LIMIT 5";
    let expected = SelectStatement {
        projections: vec![
            item(Expr::field("name"), None),
            item(method(call("in", vec![Expr::string("sung_by")]), "size", vec![]), Some("songs")),
        ],
        from: Some(Target::Class(Ident::new("V"))),
        where_clause: Some(compare(CompareOp::Eq, Expr::field("type"), Expr::string("artist"))),
        order_by: vec![OrderItem { expr: Expr::field("songs"), direction: SortDirection::Desc }],
        limit: Some(IntArg::Value(5)),
        ..SelectStatement::default()
    };
    assert_eq!(select(sql), expected);
    assert_eq!(canon(sql), sql);
}

#[test]
fn match_dark_star() {
    let sql = "MATCH {class: V, as: s, where: (name = 'DARK STAR')}.out('followed_by'){as: n} RETURN n.name";
    let Statement::Match(m) = roundtrip(sql) else { panic!("not a MATCH") };
    let expected = MatchStatement {
        patterns: vec![MatchPattern {
            negated: false,
            origin: MatchFilter {
                items: vec![
                    MatchFilterItem::Class(Ident::new("V")),
                    MatchFilterItem::As(Ident::new("s")),
                    MatchFilterItem::Where(compare(CompareOp::Eq, Expr::field("name"), Expr::string("DARK STAR"))),
                ],
                span: Span::default(),
            },
            steps: vec![MatchStep {
                traversal: FunctionCall { name: Ident::new("out"), args: vec![Expr::string("followed_by")] },
                filter: MatchFilter { items: vec![MatchFilterItem::As(Ident::new("n"))], span: Span::default() },
            }],
        }],
        distinct: false,
        returns: vec![AliasedExpr {
            expr: Expr::Member { target: Box::new(Expr::field("n")), member: Member::Field(Ident::new("name")) },
            alias: None,
        }],
        group_by: vec![],
        order_by: vec![],
        unwind: vec![],
        skip: None,
        limit: None,
    };
    assert_eq!(*m, expected);
    assert_eq!(m.patterns[0].origin.alias().map(|a| a.name.as_str()), Some("s"));
    assert!(m.patterns[0].origin.where_condition().is_some());
    assert_eq!(canon(sql), sql);
}

#[test]
fn traverse_breadth_first() {
    let sql = "TRAVERSE out('followed_by') FROM #9:1 MAXDEPTH 2 STRATEGY BREADTH_FIRST";
    let Statement::Traverse(t) = roundtrip(sql) else { panic!("not a TRAVERSE") };
    let expected = TraverseStatement {
        projections: vec![item(call("out", vec![Expr::string("followed_by")]), None)],
        target: Target::Rid(RecordId { cluster: 9, position: 1 }),
        max_depth: Some(IntArg::Value(2)),
        while_condition: None,
        limit: None,
        strategy: Some(TraverseStrategy::BreadthFirst),
    };
    assert_eq!(*t, expected);
    assert_eq!(canon(sql), sql);
    let nested = select("SELECT FROM (TRAVERSE * FROM #9:1 WHILE $depth < 3 LIMIT 10)");
    let Some(Target::Subquery(inner)) = nested.from else { panic!("no subquery") };
    assert!(matches!(*inner, Statement::Traverse(_)));
}

// ---- canonical forms, statement by statement ----------------------------------------------

fn check_canon(cases: &[(&str, &str)]) {
    for (input, expected) in cases {
        assert_eq!(&canon(input), expected, "canonical form of {input:?}");
    }
}

#[test]
fn select_forms() {
    check_canon(&[
        ("select from V", "SELECT FROM V"),
        ("SELECT * FROM V", "SELECT * FROM V"),
        ("SELECT 1+1 AS two", "SELECT 1 + 1 AS two"),
        ("select count(*) from V where out('followed_by').size() > 3", "SELECT count(*) FROM V WHERE out('followed_by').size() > 3"),
        ("SELECT FROM V WHERE 'x' IN out().name", "SELECT FROM V WHERE 'x' IN out().name"),
        ("SELECT DISTINCT name FROM V", "SELECT DISTINCT name FROM V"),
        ("SELECT distinct(name) FROM V", "SELECT distinct(name) FROM V"),
        ("SELECT FROM cluster:songs", "SELECT FROM cluster:songs"),
        ("SELECT FROM #9:1", "SELECT FROM #9:1"),
        ("SELECT FROM [#9:1,#9:2]", "SELECT FROM [#9:1, #9:2]"),
        ("SELECT FROM (SELECT FROM V)", "SELECT FROM (SELECT FROM V)"),
        ("SELECT FROM :target", "SELECT FROM :target"),
        ("SELECT FROM ?", "SELECT FROM ?"),
        ("SELECT FROM $a", "SELECT FROM $a"),
        (
            "SELECT a FROM V LET $x = (SELECT FROM E), y = a + 1 WHERE a > 0 GROUP BY a ORDER BY b ASC, c DESC UNWIND a, b SKIP 10 LIMIT 20",
            "SELECT a FROM V LET $x = (SELECT FROM E), $y = a + 1 WHERE a > 0 GROUP BY a ORDER BY b, c DESC UNWIND a, b SKIP 10 LIMIT 20",
        ),
        ("SELECT FROM V LIMIT 5 SKIP 2", "SELECT FROM V SKIP 2 LIMIT 5"),
        ("SELECT FROM V LIMIT -1", "SELECT FROM V LIMIT -1"),
        ("SELECT @rid, @class, @version, @type, @size, @this FROM V", "SELECT @rid, @class, @version, @type, @size, @this FROM V"),
        ("SELECT name.toLowerCase(), name.length(), x.asString() FROM V", "SELECT name.toLowerCase(), name.length(), x.asString() FROM V"),
        ("SELECT a.b.c, f[0], f['key'], f[i + 1] FROM V", "SELECT a.b.c, f[0], f['key'], f[i + 1] FROM V"),
        ("SELECT out('x')[name = 'a'].size() FROM V", "SELECT out('x')[name = 'a'].size() FROM V"),
        ("SELECT $parent.$current.name, $depth FROM V", "SELECT $parent.$current.name, $depth FROM V"),
        ("SELECT out().@rid FROM V", "SELECT out().@rid FROM V"),
        ("SELECT ifnull(a, 'x'), coalesce(a, b), format('%s', a) FROM V", "SELECT ifnull(a, 'x'), coalesce(a, b), format('%s', a) FROM V"),
    ]);
}

#[test]
fn expression_forms() {
    check_canon(&[
        ("SELECT 1 + 2 * 3, (1 + 2) * 3, 7 % 2 - 1 / 4", "SELECT 1 + 2 * 3, (1 + 2) * 3, 7 % 2 - 1 / 4"),
        ("SELECT a - (b - c), a - b - c, -a.b, - -x, -(3), 2 * -1", "SELECT a - (b - c), a - b - c, -a.b, -(-x), -3, 2 * -1"),
        ("SELECT -9223372036854775808, 9223372036854775807, 12L", "SELECT -9223372036854775808, 9223372036854775807, 12"),
        ("SELECT 'a' + name + \"b\"", "SELECT 'a' + name + 'b'"),
        ("SELECT 'tab\\there', 'quote\\'s', 'back\\\\slash', '\\u00e9'", "SELECT 'tab\\there', 'quote\\'s', 'back\\\\slash', 'é'"),
        ("SELECT true, false, null, #-1:-2", "SELECT true, false, null, #-1:-2"),
        ("SELECT [1, [2, 3]], {}, []", "SELECT [1, [2, 3]], {}, []"),
        ("SELECT {\"a\": 1, 'b': [true], c: {d: #9:1}, @class: 'V'}", "SELECT {\"a\": 1, \"b\": [true], \"c\": {\"d\": #9:1}, \"@class\": 'V'}"),
        ("SELECT FROM V WHERE a = 1 AND b = 2 OR NOT c = 3 AND (d OR e)", "SELECT FROM V WHERE a = 1 AND b = 2 OR NOT c = 3 AND (d OR e)"),
        ("SELECT FROM V WHERE (a AND b) AND c", "SELECT FROM V WHERE (a AND b) AND c"),
        ("SELECT FROM V WHERE a == 1 AND b != 2 AND c <> 3 AND d <= 4 AND e >= 5 AND f < 6 AND g > 7", "SELECT FROM V WHERE a = 1 AND b <> 2 AND c <> 3 AND d <= 4 AND e >= 5 AND f < 6 AND g > 7"),
        ("SELECT FROM V WHERE a BETWEEN 1 AND 5 AND b IS NOT NULL AND c IS NULL AND d IS DEFINED AND e IS NOT DEFINED", "SELECT FROM V WHERE a BETWEEN 1 AND 5 AND b IS NOT NULL AND c IS NULL AND d IS DEFINED AND e IS NOT DEFINED"),
        ("SELECT FROM V WHERE @this INSTANCEOF 'Person' OR @this instanceof Animal", "SELECT FROM V WHERE @this INSTANCEOF Person OR @this INSTANCEOF Animal"),
        ("SELECT FROM V WHERE n NOT IN [1, 2] AND m IN (SELECT FROM E) AND k IN ('a', 'b') AND j IN :list", "SELECT FROM V WHERE n NOT IN [1, 2] AND m IN (SELECT FROM E) AND k IN ['a', 'b'] AND j IN :list"),
        ("SELECT FROM V WHERE s LIKE 'a%' AND s MATCHES '\\d+'", "SELECT FROM V WHERE s LIKE 'a%' AND s MATCHES '\\\\d+'"),
        ("SELECT FROM V WHERE t CONTAINS 'x' AND t CONTAINSALL ['a'] AND t CONTAINSANY ['b'] AND m CONTAINSKEY 'k' AND m CONTAINSVALUE 1 AND s CONTAINSTEXT 'foo'", "SELECT FROM V WHERE t CONTAINS 'x' AND t CONTAINSALL ['a'] AND t CONTAINSANY ['b'] AND m CONTAINSKEY 'k' AND m CONTAINSVALUE 1 AND s CONTAINSTEXT 'foo'"),
        ("SELECT FROM V WHERE out('followed_by').size() > 3", "SELECT FROM V WHERE out('followed_by').size() > 3"),
        ("SELECT FROM V WHERE (a = b) = c", "SELECT FROM V WHERE (a = b) = c"),
    ]);
}

#[test]
fn literal_details() {
    let s = select("SELECT 1.5, -2.25, 1e3, 2.5f, 'it\\'s', \"dq\", 7L");
    let values: Vec<&Expr> = s
        .projections
        .iter()
        .map(|p| match p {
            Projection::Expr(a) => &a.expr,
            Projection::All => panic!("star"),
        })
        .collect();
    assert_eq!(values[0], &Expr::Literal(Literal::Float(1.5)));
    assert_eq!(values[1], &Expr::Literal(Literal::Float(-2.25)));
    assert_eq!(values[2], &Expr::Literal(Literal::Float(1000.0)));
    assert_eq!(values[3], &Expr::Literal(Literal::Float(2.5)));
    assert_eq!(values[4], &Expr::string("it's"));
    assert_eq!(values[5], &Expr::string("dq"));
    assert_eq!(values[6], &Expr::integer(7));
}

#[test]
fn contains_condition_is_explicit() {
    let s = select("SELECT FROM V WHERE out CONTAINS (name = 'x') AND tags CONTAINS ('y')");
    let Some(Expr::And(items)) = s.where_clause else { panic!("no AND") };
    assert!(matches!(&items[0], Expr::ContainsCondition { op: ContainsOp::Contains, .. }));
    assert!(
        matches!(&items[1], Expr::Contains { op: ContainsOp::Contains, right, .. } if **right == Expr::string("y"))
    );
    let s = select("SELECT FROM V WHERE out('x')[name = 'a'] IS NOT NULL AND f[0] = 1");
    let Some(Expr::And(items)) = s.where_clause else { panic!("no AND") };
    assert!(matches!(&items[0], Expr::IsNull { value, negated: true } if matches!(**value, Expr::Filter { .. })));
    assert!(matches!(&items[1], Expr::Compare { left, .. } if matches!(**left, Expr::Index { .. })));
}

#[test]
fn parameters_are_numbered_in_order() {
    let s = select("SELECT FROM V WHERE a = ? AND b = :name AND c IN (SELECT FROM E WHERE d = ?) LIMIT ? SKIP ?");
    let mut positions = Vec::new();
    let Some(Expr::And(items)) = &s.where_clause else { panic!("no AND") };
    if let Expr::Compare { right, .. } = &items[0] {
        positions.push(right.to_string());
        assert!(matches!(**right, Expr::Parameter(Parameter::Positional { index: 0, .. })));
    }
    assert!(
        matches!(&items[1], Expr::Compare { right, .. } if matches!(&**right, Expr::Parameter(Parameter::Named { name, .. }) if name == "name"))
    );
    assert!(matches!(s.limit, Some(IntArg::Parameter(Parameter::Positional { index: 2, .. }))));
    assert!(matches!(s.skip, Some(IntArg::Parameter(Parameter::Positional { index: 3, .. }))));
    // LIMIT ? SKIP ? keeps its order in the canonical form so the numbering survives.
    assert!(s.to_string().ends_with("LIMIT ? SKIP ?"), "{s}");
    let script = parse_script("SELECT FROM V WHERE a = ?; SELECT FROM V WHERE b = ?").expect("script");
    let Statement::Select(second) = &script[1] else { panic!("not a select") };
    assert!(
        matches!(&second.where_clause, Some(Expr::Compare { right, .. }) if matches!(**right, Expr::Parameter(Parameter::Positional { index: 1, .. })))
    );
    assert_eq!(canon("INSERT INTO V CONTENT {\"a\": :p, \"b\": ?}"), "INSERT INTO V CONTENT {\"a\": :p, \"b\": ?}");
}

#[test]
fn keywords_work_as_names() {
    check_canon(&[
        ("SELECT name, type FROM V WHERE type = 'song'", "SELECT name, type FROM V WHERE type = 'song'"),
        ("SELECT in, out, value, key FROM V", "SELECT `in`, out, value, key FROM V"),
        ("SELECT in_followed_by, out_sung_by FROM V", "SELECT in_followed_by, out_sung_by FROM V"),
        ("SELECT in('x'), out(), both() FROM V", "SELECT in('x'), out(), both() FROM V"),
        (
            "SELECT `select`, `weird name`, `back\\`tick` FROM `V`",
            "SELECT `select`, `weird name`, `back\\`tick` FROM V",
        ),
        ("SELECT FROM V WHERE in CONTAINS #9:1", "SELECT FROM V WHERE `in` CONTAINS #9:1"),
        ("UPDATE V SET type = 'x', value = 1, name = set(a)", "UPDATE V SET type = 'x', value = 1, name = set(a)"),
        ("select FROM v where Name = 'x'", "SELECT FROM v WHERE Name = 'x'"),
    ]);
    let s = select("SELECT count(*) AS count FROM V");
    assert!(matches!(&s.projections[0], Projection::Expr(AliasedExpr { alias: Some(a), .. }) if a.name == "count"));
}

#[test]
fn insert_forms() {
    check_canon(&[
        ("INSERT INTO V SET name = 'x', age = 3 RETURN @rid", "INSERT INTO V SET name = 'x', age = 3 RETURN @rid"),
        (
            "INSERT INTO V CONTENT {\"name\": :p, \"tags\": [1, 2]}",
            "INSERT INTO V CONTENT {\"name\": :p, \"tags\": [1, 2]}",
        ),
        ("INSERT INTO V CONTENT [{\"a\": 1}, {\"a\": 2}]", "INSERT INTO V CONTENT [{\"a\": 1}, {\"a\": 2}]"),
        ("INSERT INTO V (a, b) VALUES (1, 2), (3, 4)", "INSERT INTO V (a, b) VALUES (1, 2), (3, 4)"),
        ("INSERT INTO V FROM (SELECT FROM X)", "INSERT INTO V FROM (SELECT FROM X)"),
        ("INSERT INTO V FROM SELECT FROM X WHERE a = 1", "INSERT INTO V FROM (SELECT FROM X WHERE a = 1)"),
        ("INSERT INTO cluster:c1 SET a = (SELECT FROM V)", "INSERT INTO cluster:c1 SET a = (SELECT FROM V)"),
    ]);
    let Statement::Insert(i) = parse("INSERT INTO cluster:c1 (a) VALUES ('x')") else { panic!("not an insert") };
    assert!(matches!(i.target, InsertTarget::Cluster(ref c) if c.name == "c1"));
    assert!(matches!(i.body, InsertBody::Values { ref fields, ref rows } if fields.len() == 1 && rows.len() == 1));
}

#[test]
fn vertex_and_edge_creation() {
    check_canon(&[
        ("CREATE VERTEX", "CREATE VERTEX"),
        ("CREATE VERTEX Person SET name = 'x'", "CREATE VERTEX Person SET name = 'x'"),
        (
            "CREATE VERTEX Person CLUSTER people CONTENT {\"name\": 'x'}",
            "CREATE VERTEX Person CLUSTER people CONTENT {\"name\": 'x'}",
        ),
        ("CREATE VERTEX SET name = 'x'", "CREATE VERTEX SET name = 'x'"),
        ("CREATE EDGE FROM #9:1 TO #9:2", "CREATE EDGE FROM #9:1 TO #9:2"),
        (
            "CREATE EDGE followed_by FROM (SELECT FROM V WHERE name = 'a') TO [#9:1, #9:2] SET weight = 1",
            "CREATE EDGE followed_by FROM (SELECT FROM V WHERE name = 'a') TO [#9:1, #9:2] SET weight = 1",
        ),
        (
            "CREATE EDGE E UPSERT FROM :a TO ? CONTENT {\"w\": 1}",
            "CREATE EDGE E UPSERT FROM :a TO ? CONTENT {\"w\": 1}",
        ),
        ("CREATE EDGE E FROM $a TO $b", "CREATE EDGE E FROM $a TO $b"),
    ]);
    let e = err("CREATE EDGE E FROM V TO #9:1");
    assert_eq!((e.line, e.column), (1, 20), "{e}");
}

#[test]
fn update_forms() {
    check_canon(&[
        (
            "UPDATE V SET a = 1, b = 2 INCREMENT c = 1 REMOVE d, e = 3 ADD f = 4 PUT g = 'k', 'v' UPSERT RETURN AFTER @rid WHERE x = 1 LIMIT 1 TIMEOUT 100",
            "UPDATE V SET a = 1, b = 2 INCREMENT c = 1 REMOVE d, e = 3 ADD f = 4 PUT g = 'k', 'v' UPSERT RETURN AFTER @rid WHERE x = 1 LIMIT 1 TIMEOUT 100",
        ),
        ("UPDATE #9:1 MERGE {\"a\": 1}", "UPDATE #9:1 MERGE {\"a\": 1}"),
        // INSERT from a query: [FROM] SELECT or a parenthesised SELECT, RETURN before it.
        ("INSERT INTO A (SELECT FROM B)", "INSERT INTO A FROM (SELECT FROM B)"),
        ("INSERT INTO A SELECT FROM B", "INSERT INTO A FROM (SELECT FROM B)"),
        ("INSERT INTO A RETURN @rid FROM SELECT FROM B", "INSERT INTO A FROM (SELECT FROM B) RETURN @rid"),
        // CREATE VERTEX takes INSERT's bodies (OrientSQL.jjt CreateVertexStatement -> InsertBody).
        (
            "create vertex Person (name, age) values ('a', 1), ('b', 2)",
            "CREATE VERTEX Person (name, age) VALUES ('a', 1), ('b', 2)",
        ),
        ("CREATE VERTEX (name) VALUES ('a')", "CREATE VERTEX (name) VALUES ('a')"),
        ("CREATE VERTEX V CONTENT [{\"a\": 1}, {\"a\": 2}]", "CREATE VERTEX V CONTENT [{\"a\": 1}, {\"a\": 2}]"),
        // OUpdateItem's compound operators compute `field op (value)`.
        (
            "UPDATE V SET a += 1, b -= x - 1, c *= 2, d /= 3 + 1",
            "UPDATE V SET a = a + 1, b = b - (x - 1), c = c * 2, d = d / (3 + 1)",
        ),
        ("UPDATE V CONTENT {\"a\": 1} RETURN BEFORE WHERE a = 1", "UPDATE V CONTENT {\"a\": 1} RETURN BEFORE WHERE a = 1"),
        ("UPDATE V SET a = 1 RETURN AFTER $current.name", "UPDATE V SET a = 1 RETURN AFTER $current.name"),
        ("UPDATE cluster:x SET a = 1", "UPDATE cluster:x SET a = 1"),
        ("UPDATE (SELECT FROM V) SET a = 1", "UPDATE (SELECT FROM V) SET a = 1"),
        ("UPDATE V PUT m = 'a', 1, n = 'b', 2", "UPDATE V PUT m = 'a', 1, n = 'b', 2"),
    ]);
    let Statement::Update(u) = parse("UPDATE V SET a = 1 SET b = 2 REMOVE c UPSERT WHERE x = 1") else {
        panic!("not an update")
    };
    assert_eq!(u.operations.len(), 3);
    assert!(u.upsert);
    assert!(matches!(&u.operations[2], UpdateOperation::Remove(items) if items[0].value.is_none()));
}

#[test]
fn delete_forms() {
    check_canon(&[
        ("DELETE FROM V WHERE a = 1 LIMIT 10 UNSAFE", "DELETE FROM V WHERE a = 1 LIMIT 10 UNSAFE"),
        ("DELETE FROM V RETURN BEFORE", "DELETE FROM V RETURN BEFORE"),
        ("DELETE VERTEX #9:1", "DELETE VERTEX #9:1"),
        ("DELETE VERTEX V WHERE name = 'x' LIMIT 3", "DELETE VERTEX V WHERE name = 'x' LIMIT 3"),
        ("DELETE VERTEX FROM (SELECT FROM V)", "DELETE VERTEX (SELECT FROM V)"),
        ("DELETE VERTEX [#9:1, #9:2]", "DELETE VERTEX [#9:1, #9:2]"),
        ("DELETE EDGE #12:0", "DELETE EDGE #12:0"),
        ("DELETE EDGE [#12:0, #12:1]", "DELETE EDGE [#12:0, #12:1]"),
        ("DELETE EDGE followed_by WHERE weight < 2", "DELETE EDGE followed_by WHERE weight < 2"),
        ("DELETE EDGE FROM #9:1 TO #9:2", "DELETE EDGE FROM #9:1 TO #9:2"),
        ("DELETE EDGE E FROM #9:1", "DELETE EDGE E FROM #9:1"),
        (
            "DELETE EDGE E TO (SELECT FROM V) WHERE w > 1 LIMIT 2",
            "DELETE EDGE E TO (SELECT FROM V) WHERE w > 1 LIMIT 2",
        ),
    ]);
    let Statement::DeleteEdge(d) = parse("DELETE EDGE E FROM #9:1 TO #9:2") else { panic!("not DELETE EDGE") };
    assert_eq!(d.class.as_ref().map(|c| c.name.as_str()), Some("E"));
    assert_eq!(d.from, Some(Target::Rid(RecordId { cluster: 9, position: 1 })));
    assert_eq!(d.to, Some(Target::Rid(RecordId { cluster: 9, position: 2 })));
    assert!(d.edges.is_none());
    let e = err("DELETE EDGE");
    assert!(e.message.contains("DELETE EDGE needs"), "{e}");
}

#[test]
fn schema_forms() {
    check_canon(&[
        ("CREATE CLASS Person", "CREATE CLASS Person"),
        ("create class Person if not exists extends V abstract", "CREATE CLASS Person IF NOT EXISTS EXTENDS V ABSTRACT"),
        ("CREATE CLASS Both EXTENDS A, B", "CREATE CLASS Both EXTENDS A, B"),
        ("ALTER CLASS Person NAME People", "ALTER CLASS Person NAME People"),
        ("ALTER CLASS Person SUPERCLASS V", "ALTER CLASS Person SUPERCLASS V"),
        ("ALTER CLASS Person SUPERCLASS +V", "ALTER CLASS Person SUPERCLASS +V"),
        ("ALTER CLASS Person SUPERCLASS -V", "ALTER CLASS Person SUPERCLASS -V"),
        ("ALTER CLASS Person SUPERCLASS null", "ALTER CLASS Person SUPERCLASS null"),
        ("ALTER CLASS Person SUPERCLASSES A, B", "ALTER CLASS Person SUPERCLASSES A, B"),
        ("ALTER CLASS Person ABSTRACT true", "ALTER CLASS Person ABSTRACT true"),
        ("ALTER CLASS Person STRICT true", "ALTER CLASS Person STRICTMODE true"),
        ("ALTER CLASS Person STRICTMODE false", "ALTER CLASS Person STRICTMODE false"),
        ("ALTER CLASS Person SHORTNAME p", "ALTER CLASS Person SHORTNAME p"),
        ("ALTER CLASS Person DESCRIPTION 'people'", "ALTER CLASS Person DESCRIPTION 'people'"),
        ("ALTER CLASS Person ADDCLUSTER p2", "ALTER CLASS Person ADDCLUSTER p2"),
        ("ALTER CLASS Person CUSTOM foo = 'bar'", "ALTER CLASS Person CUSTOM foo = 'bar'"),
        ("DROP CLASS Person", "DROP CLASS Person"),
        ("DROP CLASS Person IF EXISTS UNSAFE", "DROP CLASS Person IF EXISTS UNSAFE"),
        ("TRUNCATE CLASS Person POLYMORPHIC UNSAFE", "TRUNCATE CLASS Person POLYMORPHIC UNSAFE"),
        ("CREATE PROPERTY Person.name STRING", "CREATE PROPERTY Person.name STRING"),
        (
            "CREATE PROPERTY Person.name IF NOT EXISTS STRING (MANDATORY true, NOTNULL, READONLY false, MIN 1, MAX 10, DEFAULT 'x', REGEXP '[a-z]+', COLLATE ci)",
            "CREATE PROPERTY Person.name IF NOT EXISTS STRING (MANDATORY true, NOTNULL true, READONLY false, MIN 1, MAX 10, DEFAULT 'x', REGEXP '[a-z]+', COLLATE ci)",
        ),
        ("CREATE PROPERTY Person.friends LINKLIST Person", "CREATE PROPERTY Person.friends LINKLIST Person"),
        ("CREATE PROPERTY Person.tags EMBEDDEDLIST STRING UNSAFE", "CREATE PROPERTY Person.tags EMBEDDEDLIST STRING UNSAFE"),
        ("CREATE PROPERTY Person.x LINK `String`", "CREATE PROPERTY Person.x LINK `String`"),
        ("ALTER PROPERTY Person.name MANDATORY false", "ALTER PROPERTY Person.name MANDATORY false"),
        ("ALTER PROPERTY Person.name NAME fullName", "ALTER PROPERTY Person.name NAME fullName"),
        ("ALTER PROPERTY Person.name TYPE LONG", "ALTER PROPERTY Person.name TYPE LONG"),
        ("ALTER PROPERTY Person.name LINKEDCLASS null", "ALTER PROPERTY Person.name LINKEDCLASS null"),
        ("ALTER PROPERTY Person.age MIN -5", "ALTER PROPERTY Person.age MIN -5"),
        ("ALTER PROPERTY Person.name CUSTOM x = 1", "ALTER PROPERTY Person.name CUSTOM x = 1"),
        ("DROP PROPERTY Person.name", "DROP PROPERTY Person.name"),
        ("DROP PROPERTY Person.name IF EXISTS FORCE", "DROP PROPERTY Person.name IF EXISTS FORCE"),
        ("CREATE INDEX Person.name UNIQUE", "CREATE INDEX Person.name UNIQUE"),
        ("CREATE INDEX byName ON Person (name, age) NOTUNIQUE", "CREATE INDEX byName ON Person (name, age) NOTUNIQUE"),
        ("CREATE INDEX byName IF NOT EXISTS ON Person (name) UNIQUE_HASH_INDEX", "CREATE INDEX byName IF NOT EXISTS ON Person (name) UNIQUE_HASH_INDEX"),
        ("CREATE INDEX h ON Person (name) NOTUNIQUE_HASH_INDEX", "CREATE INDEX h ON Person (name) NOTUNIQUE_HASH_INDEX"),
        ("CREATE INDEX t ON Doc (text) FULLTEXT ENGINE LUCENE METADATA {\"analyzer\": 'x'}", "CREATE INDEX t ON Doc (text) FULLTEXT ENGINE LUCENE METADATA {\"analyzer\": 'x'}"),
        ("CREATE INDEX m ON Doc (tags BY VALUE, map BY KEY COLLATE ci) DICTIONARY", "CREATE INDEX m ON Doc (tags BY VALUE, map BY KEY COLLATE ci) DICTIONARY"),
        ("CREATE INDEX manual UNIQUE STRING, INTEGER", "CREATE INDEX manual UNIQUE STRING, INTEGER"),
        ("DROP INDEX Person.name", "DROP INDEX Person.name"),
        ("DROP INDEX byName IF EXISTS", "DROP INDEX byName IF EXISTS"),
        ("CREATE CLUSTER foo", "CREATE CLUSTER foo"),
        ("CREATE CLUSTER foo ID 42", "CREATE CLUSTER foo ID 42"),
        ("DROP CLUSTER foo IF EXISTS", "DROP CLUSTER foo IF EXISTS"),
        ("TRUNCATE CLUSTER foo", "TRUNCATE CLUSTER foo"),
    ]);
    for t in PropertyType::ALL {
        let sql = format!("CREATE PROPERTY C.p {}", t.name().to_lowercase());
        let Statement::CreateProperty(p) = roundtrip(&sql) else { panic!("not CREATE PROPERTY") };
        assert_eq!(p.property_type, t);
    }
    for t in IndexType::ALL {
        let Statement::CreateIndex(i) = roundtrip(&format!("CREATE INDEX C.p {}", t.name())) else {
            panic!("not an index")
        };
        assert_eq!(i.index_type, t);
        assert!(
            matches!(&i.name, IndexName::Property { class, property } if class.name == "C" && property.name == "p")
        );
    }
    let Statement::CreateProperty(p) = parse("CREATE PROPERTY Person.friends LINKSET Person (MANDATORY)") else {
        panic!()
    };
    assert_eq!(p.linked, Some(LinkedTo::Class(Ident::new("Person"))));
    assert_eq!(p.constraints, vec![PropertySetting::Mandatory(true)]);
}

#[test]
fn match_forms() {
    check_canon(&[
        (
            "MATCH {class: Person, as: a}-FriendOf->{as: b}<-Knows-{as: c}-Likes-{as: d, optional: true} RETURN a, b.name AS n, $matches",
            "MATCH {class: Person, as: a}.out('FriendOf'){as: b}.in('Knows'){as: c}.both('Likes'){as: d, optional: true} RETURN a, b.name AS n, $matches",
        ),
        (
            "MATCH {class: V, as: a}.out('x'){as: b, while: ($depth < 3), maxDepth: 5, where: (x = 1)}, {as: a}.inE('x').outV(){as: c}, NOT {as: a}.out('y'){as: b} RETURN DISTINCT a, $paths ORDER BY a LIMIT 10",
            "MATCH {class: V, as: a}.out('x'){as: b, while: ($depth < 3), maxDepth: 5, where: (x = 1)}, {as: a}.inE('x').outV(){as: c}, NOT {as: a}.out('y'){as: b} RETURN DISTINCT a, $paths ORDER BY a LIMIT 10",
        ),
        ("MATCH {rid: #9:1, as: a} RETURN a", "MATCH {rid: #9:1, as: a} RETURN a"),
        // OrientSQL.jjt reads `--` as DECR, so `-->`, `<--` and `--` are arrows with no label.
        (
            "MATCH {as: a}-->{as: b}<--{as: c}--{as: d} <-- {as: e} RETURN a",
            "MATCH {as: a}.out(){as: b}.in(){as: c}.both(){as: d}.in(){as: e} RETURN a",
        ),
        ("MATCH {CLASS: 'V', AS: a, depthAlias: d, pathAlias: p} RETURN a, $elements, $pathElements", "MATCH {class: V, as: a, depthAlias: d, pathAlias: p} RETURN a, $elements, $pathElements"),
        ("MATCH {as: a} RETURN a.name AS n GROUP BY n ORDER BY n DESC SKIP 1 LIMIT 2", "MATCH {as: a} RETURN a.name AS n GROUP BY n ORDER BY n DESC SKIP 1 LIMIT 2"),
        ("MATCH {as: a}.both(){} RETURN a", "MATCH {as: a}.both() RETURN a"),
    ]);
    let e = err("MATCH {as: a, as: b} RETURN a");
    assert_eq!((e.line, e.column), (1, 15), "{e}");
}

#[test]
fn explain_profile_and_script_lines() {
    check_canon(&[
        ("EXPLAIN SELECT FROM V", "EXPLAIN SELECT FROM V"),
        ("PROFILE MATCH {as: a} RETURN a", "PROFILE MATCH {as: a} RETURN a"),
        ("BEGIN", "BEGIN"),
        ("COMMIT", "COMMIT"),
        ("COMMIT RETRY 10", "COMMIT RETRY 10"),
        ("ROLLBACK", "ROLLBACK"),
        ("LET a = SELECT FROM V", "LET $a = SELECT FROM V"),
        ("LET $a = (SELECT FROM V)", "LET $a = (SELECT FROM V)"),
        ("LET $n = 1 + 2", "LET $n = 1 + 2"),
        ("RETURN [$a, $b]", "RETURN [$a, $b]"),
        ("SLEEP 100", "SLEEP 100"),
    ]);
    let Statement::Let { value: LetValue::Statement(inner), .. } = parse("LET a = CREATE VERTEX V SET x = 1") else {
        panic!()
    };
    assert!(matches!(*inner, Statement::CreateVertex(_)));
}

#[test]
fn scripts_split_on_semicolons_and_lines() {
    let script = "BEGIN\nLET a = CREATE VERTEX V SET name = 'x'\nLET b = SELECT FROM V\n  WHERE name = 'x'\nCOMMIT RETRY 3\nRETURN $a";
    let statements = parse_script(script).expect("script");
    assert_eq!(statements.len(), 5);
    assert_eq!(statements[0], Statement::Begin);
    assert!(
        matches!(&statements[2], Statement::Let { value: LetValue::Statement(s), .. } if matches!(**s, Statement::Select(ref sel) if sel.where_clause.is_some()))
    );
    assert_eq!(statements[3], Statement::Commit { retry: Some(3), otherwise: None });
    assert!(matches!(statements[4], Statement::Return(_)));
    let statements = parse_script(";;SELECT FROM V; SELECT FROM E;; ").expect("script");
    assert_eq!(statements.len(), 2);
    let e = err("SELECT FROM V SELECT FROM E");
    assert_eq!((e.line, e.column), (1, 15), "{e}");
    assert!(e.expected.iter().any(|x| x == "';'"), "{e:?}");
    let e = err("");
    assert_eq!((e.line, e.column), (1, 1));
    assert!(e.message.contains("expected a statement"), "{e}");
    let e = err("-- only a comment\n");
    assert_eq!((e.line, e.column), (2, 1));
    assert!(parse_statement("SELECT FROM V;").is_ok());
    assert!(parse_statement("SELECT FROM V; SELECT FROM E").is_err());
}

#[test]
fn script_lines_starting_with_a_statement_keyword_start_a_statement() {
    let statements = parse_script("LET a = SELECT FROM V\nLET b = SELECT FROM E\nRETURN $a").expect("script");
    assert_eq!(statements.len(), 3, "{statements:?}");
    let statements = parse_script("LET a = INSERT INTO V SET x = 1\nRETURN $a").expect("script");
    assert_eq!(statements.len(), 2, "{statements:?}");
    assert!(
        matches!(&statements[0], Statement::Let { value: LetValue::Statement(s), .. } if matches!(**s, Statement::Insert(ref i) if i.return_expr.is_none()))
    );
    let statements =
        parse_script("CREATE VERTEX\nCREATE VERTEX V\nUPDATE V SET a = 1 RETURN AFTER\nDELETE EDGE E\nBEGIN")
            .expect("script");
    assert_eq!(statements.len(), 5, "{statements:?}");
    // Same line, or inside parentheses, or outside a script: the clause is kept.
    let statements =
        parse_script("INSERT INTO V SET x = 1 RETURN @rid\nSELECT FROM (\n  SELECT FROM V\n  LET $x = 1\n)")
            .expect("script");
    assert_eq!(statements.len(), 2);
    assert!(matches!(&statements[0], Statement::Insert(i) if i.return_expr.is_some()));
    let Statement::Select(outer) = &statements[1] else { panic!("not a select") };
    assert!(
        matches!(&outer.from, Some(Target::Subquery(inner)) if matches!(**inner, Statement::Select(ref s) if s.let_items.len() == 1))
    );
    let Statement::Select(s) = parse("SELECT FROM V\nLET $a = 1") else { panic!("not a select") };
    assert_eq!(s.let_items.len(), 1);
    // A continuation line that is not a statement keyword continues the statement.
    let statements = parse_script("CREATE VERTEX\n  Person SET name = 'x'").expect("script");
    assert_eq!(statements.len(), 1);
}

#[test]
fn statement_classification() {
    for sql in [
        "SELECT FROM V",
        "MATCH {as: a} RETURN a",
        "TRAVERSE * FROM #9:1",
        "EXPLAIN DELETE FROM V",
        "LET a = SELECT FROM V",
        "RETURN 1",
        "BEGIN",
    ] {
        assert!(parse(sql).is_read_only(), "{sql}");
    }
    for sql in [
        "INSERT INTO V SET a = 1",
        "PROFILE UPDATE V SET a = 1",
        "LET a = CREATE VERTEX V",
        "DELETE EDGE #1:2",
        "CREATE CLASS C",
    ] {
        assert!(!parse(sql).is_read_only(), "{sql}");
    }
    for sql in [
        "CREATE CLASS C",
        "DROP INDEX i",
        "TRUNCATE CLASS C",
        "ALTER PROPERTY C.p NOTNULL true",
        "LET x = CREATE CLASS C",
    ] {
        assert!(parse(sql).is_schema_change(), "{sql}");
    }
    assert!(!parse("CREATE VERTEX V").is_schema_change());
}

#[test]
fn comments_and_case() {
    assert_eq!(
        canon("/* lead */ select -- trailing\n from V /* mid */ where a = 1 -- end"),
        "SELECT FROM V WHERE a = 1"
    );
    assert_eq!(canon("SeLeCt FrOm V wHeRe A AnD b"), "SELECT FROM V WHERE A AND b");
}

#[test]
fn spans_locate_names() {
    let s = select("SELECT name\nFROM   Person WHERE foo(:p) = 1");
    let Some(Target::Class(class)) = &s.from else { panic!("no class") };
    assert_eq!((class.span.line, class.span.column), (2, 8));
    let Some(Expr::Compare { left, right, .. }) = &s.where_clause else { panic!("no compare") };
    let Expr::Call(call) = &**left else { panic!("no call") };
    assert_eq!((call.name.span.line, call.name.span.column), (2, 21));
    let Expr::Call(_) = &**left else { panic!() };
    assert_eq!(**right, Expr::integer(1));
    let Expr::Parameter(Parameter::Named { span, .. }) = &call.args[0] else { panic!("no parameter") };
    assert_eq!((span.line, span.column), (2, 25));
    let Statement::CreateProperty(p) = parse("CREATE PROPERTY Ü.näme STRING") else { panic!() };
    assert_eq!(p.property.span.column, 19, "columns count characters, not bytes");
}

// ---- errors --------------------------------------------------------------------------------

#[test]
fn misspelt_from() {
    let e = err("SELECT FORM V");
    assert_eq!((e.line, e.column), (1, 8), "{e}");
    assert!(e.expected.contains(&"FROM".to_string()) && e.expected.contains(&"a projection".to_string()), "{e:?}");
    assert_eq!(e.to_string(), "line 1, column 8: expected FROM or a projection list, found 'FORM'; did you mean FROM?");
    let e = err("SELECT * FORM V");
    assert_eq!((e.line, e.column), (1, 10), "{e}");
    assert!(
        e.message.starts_with("expected ") && e.message.contains("FROM") && e.message.contains("found 'FORM'"),
        "{e}"
    );
    assert!(e.message.contains("did you mean FROM?"), "{e}");
}

#[test]
fn unknown_statement() {
    let e = err("SELEC * FROM V");
    assert_eq!((e.line, e.column), (1, 1));
    assert!(e.message.starts_with("unknown statement 'SELEC'"), "{e}");
    assert!(e.message.contains("did you mean SELECT?"), "{e}");
    assert!(e.expected.contains(&"SELECT".to_string()));
    let e = err("\n\n   42");
    assert_eq!((e.line, e.column), (3, 4));
    assert!(e.message.contains("expected a statement"), "{e}");
}

#[test]
fn lexical_errors() {
    let e = err("SELECT FROM V WHERE name = 'abc");
    assert_eq!((e.line, e.column), (1, 28));
    assert!(e.message.contains("unterminated string"), "{e}");
    let e = err("SELECT FROM #9:x");
    assert_eq!((e.line, e.column), (1, 13));
    assert!(e.message.contains("invalid RID"), "{e}");
    let e = err("SELECT FROM V WHERE a = `x");
    assert!(e.message.contains("unterminated quoted identifier"), "{e}");
    let e = err("SELECT FROM V /* never closed");
    assert_eq!((e.line, e.column), (1, 15));
    let e = err("SELECT 99999999999999999999");
    assert!(e.message.contains("out of range"), "{e}");
    let e = err("SELECT 9223372036854775808");
    assert!(e.message.contains("out of range"), "{e}");
    let e = err("SELECT a ! b");
    assert_eq!((e.line, e.column), (1, 10));
    let e = err("SELECT @nope FROM V");
    assert!(e.message.contains("unknown record attribute '@nope'"), "{e}");
}

#[test]
fn syntax_errors_name_position_and_expectations() {
    let e = err("SELECT FROM V WHERE");
    assert_eq!((e.line, e.column), (1, 20));
    assert_eq!(e.message, "expected an expression, found end of input");
    // After AND an expression is due, so LIMIT reads as a field name and 5 is the mistake.
    let e = err("SELECT FROM V\nWHERE a = 1 AND\n  LIMIT 5");
    assert_eq!((e.line, e.column), (3, 9), "{e}");
    assert!(e.expected.contains(&"an operator".to_string()), "{e:?}");
    let e = err("SELECT FROM V WHERE a = b = c");
    assert!(e.message.contains("cannot be chained"), "{e}");
    let e = err("UPDATE V WHERE a = 1");
    assert_eq!((e.line, e.column), (1, 10));
    assert!(e.expected.contains(&"SET".to_string()) && e.expected.contains(&"MERGE".to_string()), "{e:?}");
    let e = err("INSERT INTO V (a, b) VALUES (1, 2, 3)");
    assert!(e.message.contains("3 values but 2 fields"), "{e}");
    let e = err("ALTER CLASS Person COLOR red");
    assert_eq!((e.line, e.column), (1, 20));
    assert!(e.message.contains("unknown class attribute"), "{e}");
    let e = err("CREATE INDEX x ON C (p) SORTED");
    assert!(
        e.expected.contains(&"UNIQUE".to_string()) && e.expected.contains(&"UNIQUE_HASH_INDEX".to_string()),
        "{e:?}"
    );
    let e = err("CREATE PROPERTY C.p STRANG");
    assert!(e.message.contains("property type"), "{e}");
    let e = err("SELECT FROM V WHERE a IN");
    assert_eq!(e.column, 25);
    let e = err("TRAVERSE out() FROM #9:1 STRATEGY SIDEWAYS");
    assert!(e.expected.contains(&"BREADTH_FIRST".to_string()), "{e:?}");
    let e = err("SELECT FROM V WHERE a = : p");
    assert!(e.message.contains("parameter name"), "{e}");
}

#[test]
fn bounds() {
    let depth = MAX_NESTING_DEPTH / 2;
    let ok = format!("SELECT {}1{}", "(".repeat(depth), ")".repeat(depth));
    assert!(parse_statement(&ok).is_ok());
    for (open, close) in [("(", ")"), ("[", "]"), ("-(", ")"), ("(SELECT FROM ", ")"), ("{\"a\": ", "}"), ("NOT ", "")]
    {
        let deep = format!("SELECT {}1{}", open.repeat(100_000), close.repeat(100_000));
        let e = parse_statement(&deep).expect_err("too deep");
        assert!(e.message.contains("nested too deeply"), "{open}: {e}");
    }
    let long_chain = format!("SELECT a{}", ".b".repeat(10_000));
    assert!(parse_statement(&long_chain).expect_err("too deep").message.contains("nested too deeply"));
    let long_sum = format!("SELECT 1{}", " + 1".repeat(10_000));
    assert!(parse_statement(&long_sum).expect_err("too deep").message.contains("nested too deeply"));
    // Flat chains are not nesting: long AND/OR lists and arrays are fine.
    let wide_or = format!("SELECT FROM V WHERE a = 0{}", " OR a = 1".repeat(5_000));
    assert!(parse_statement(&wide_or).is_ok());
    let wide_array = format!("SELECT [{}]", vec!["1"; 50_000].join(", "));
    assert!(parse_statement(&wide_array).is_ok());
    let too_long = " ".repeat(MAX_INPUT_BYTES + 1);
    let e = parse_statement(&too_long).expect_err("too long");
    assert_eq!((e.line, e.column), (1, 1));
    assert!(e.message.contains("limit"), "{e}");
}

#[test]
fn deepest_accepted_nesting_fits_a_small_stack() {
    // Threads get 2 MiB by default: the parser (bounded by MAX_PARSER_STACK_BYTES), printing
    // and comparing the deepest trees it accepts must fit.
    let handle = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            let mut results = Vec::new();
            for (open, close) in [("(", ")"), ("(SELECT FROM ", ")"), ("out(", ")"), ("-(", ")"), ("[", "]")] {
                let mut n = 1;
                let mut deepest_ok = 0;
                while n < MAX_NESTING_DEPTH {
                    let sql = format!("SELECT {}x{}", open.repeat(n), close.repeat(n));
                    if let Ok(statement) = parse_statement(&sql) {
                        deepest_ok = n;
                        let printed = statement.to_string();
                        assert_eq!(parse_statement(&printed).ok(), Some(statement.clone()));
                        drop(statement);
                    }
                    n += 1;
                }
                results.push(deepest_ok);
            }
            results
        })
        .expect("spawn");
    let results = handle.join().expect("no stack overflow");
    assert!(results.iter().all(|&d| d >= 50), "{results:?}");
}

// ---- property tests ------------------------------------------------------------------------

mod props {
    use super::*;
    use proptest::prelude::*;
    use proptest::strategy::BoxedStrategy;

    /// Checks an error points inside the input (EOF may sit one past the end of a line).
    fn check_position(input: &str, e: &ParseError) {
        let lines: Vec<&str> = input.split('\n').collect();
        assert!(e.line >= 1 && e.line <= lines.len(), "line {} of {} in {input:?}: {e}", e.line, lines.len());
        let width = lines[e.line - 1].chars().count();
        assert!(e.column >= 1 && e.column <= width + 1, "column {} of {width} in {input:?}: {e}", e.column);
        assert!(!e.message.is_empty());
    }

    /// Parse must not panic; errors are located; successes round-trip.
    fn check_any(input: &str) {
        match parse_script(input) {
            Err(e) => check_position(input, &e),
            Ok(statements) => {
                for s in statements {
                    let printed = s.to_string();
                    match parse_statement(&printed) {
                        Ok(again) => assert_eq!(again, s, "{input:?} printed as {printed:?}"),
                        Err(e) => panic!("{input:?} printed as {printed:?}, which fails: {e}"),
                    }
                }
            }
        }
    }

    const SOUP: &[&str] = &[
        "SELECT",
        "FROM",
        "WHERE",
        "AND",
        "OR",
        "NOT",
        "IN",
        "CONTAINS",
        "BETWEEN",
        "IS",
        "NULL",
        "DEFINED",
        "LIKE",
        "INSTANCEOF",
        "ORDER",
        "BY",
        "DESC",
        "GROUP",
        "SKIP",
        "LIMIT",
        "LET",
        "UNWIND",
        "AS",
        "DISTINCT",
        "INSERT",
        "INTO",
        "SET",
        "CONTENT",
        "VALUES",
        "RETURN",
        "UPDATE",
        "INCREMENT",
        "REMOVE",
        "ADD",
        "PUT",
        "MERGE",
        "UPSERT",
        "AFTER",
        "BEFORE",
        "DELETE",
        "VERTEX",
        "EDGE",
        "TO",
        "CREATE",
        "CLASS",
        "PROPERTY",
        "INDEX",
        "ON",
        "UNIQUE",
        "EXTENDS",
        "ALTER",
        "DROP",
        "TRAVERSE",
        "MAXDEPTH",
        "WHILE",
        "STRATEGY",
        "MATCH",
        "BEGIN",
        "COMMIT",
        "LET",
        "V",
        "E",
        "name",
        "type",
        "in",
        "out",
        "out('x')",
        "count(*)",
        "expand(",
        "size()",
        ".",
        ",",
        ";",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        ":",
        "?",
        ":p",
        "*",
        "+",
        "-",
        "/",
        "%",
        "=",
        "<>",
        "<",
        ">=",
        "1",
        "-2",
        "3.5",
        "'s'",
        "\"d\"",
        "'bad",
        "#9:1",
        "#9:x",
        "#-1:-2",
        "$a",
        "$parent",
        "@rid",
        "@class",
        "@nope",
        "`q q`",
        "true",
        "null",
        "--c\n",
        "/*c*/",
        "\n",
        "cluster:x",
        "->",
        "<-",
        "STRING",
        "LINK",
        "IF",
        "EXISTS",
        "x",
        "y",
    ];

    fn token_soup() -> impl Strategy<Value = String> {
        prop::collection::vec((prop::sample::select(SOUP), prop::sample::select(&[" ", "", "\n"][..])), 0..24)
            .prop_map(|parts| parts.into_iter().map(|(t, sep)| format!("{t}{sep}")).collect())
    }

    // -- AST generators (a subset that covers every expression variant) --

    fn name() -> BoxedStrategy<String> {
        prop_oneof![
            6 => "[a-zA-Z_][a-zA-Z0-9_]{0,6}",
            1 => prop::sample::select(&["select", "from", "in", "type", "value", "true", "null", "String", "cluster", "set", "distinct"][..]).prop_map(String::from),
            1 => "[a-z `\\\\é]{1,5}",
        ]
        .boxed()
    }

    fn plain_name() -> BoxedStrategy<String> {
        "[a-zA-Z_][a-zA-Z0-9_]{0,6}".boxed()
    }

    fn ident() -> BoxedStrategy<Ident> {
        name().prop_map(Ident::new).boxed()
    }

    fn literal() -> BoxedStrategy<Literal> {
        prop_oneof![
            Just(Literal::Null),
            any::<bool>().prop_map(Literal::Bool),
            any::<i64>().prop_map(Literal::Integer),
            (-1e12f64..1e12).prop_map(Literal::Float),
            prop::num::f64::NORMAL.prop_map(Literal::Float),
            any::<String>().prop_map(Literal::String),
            (any::<i32>(), any::<i64>()).prop_map(|(cluster, position)| Literal::Rid(RecordId { cluster, position })),
        ]
        .boxed()
    }

    fn leaf() -> BoxedStrategy<Expr> {
        prop_oneof![
            3 => literal().prop_map(Expr::Literal),
            3 => ident().prop_map(Expr::Field),
            1 => plain_name().prop_map(|name| Expr::Parameter(Parameter::Named { name, span: Span::default() })),
            1 => prop::sample::select(&RecordAttribute::ALL[..]).prop_map(Expr::Attribute),
            1 => plain_name().prop_map(|n| Expr::Variable(Ident::new(n))),
        ]
        .boxed()
    }

    fn is_foldable_literal(e: &Expr) -> bool {
        matches!(e, Expr::Literal(Literal::Float(_)))
            || matches!(e, Expr::Literal(Literal::Integer(n)) if *n != i64::MIN)
    }

    fn b(e: Expr) -> Box<Expr> {
        Box::new(e)
    }

    fn expr() -> BoxedStrategy<Expr> {
        leaf()
            .prop_recursive(4, 48, 4, |inner| {
                let value = inner.clone().prop_filter("not a condition", |e| !e.is_condition());
                let arith = prop::sample::select(&[ArithmeticOp::Add, ArithmeticOp::Sub, ArithmeticOp::Mul, ArithmeticOp::Div, ArithmeticOp::Mod][..]);
                let cmp = prop::sample::select(&[CompareOp::Eq, CompareOp::Ne, CompareOp::Lt, CompareOp::Le, CompareOp::Gt, CompareOp::Ge, CompareOp::Like, CompareOp::Matches][..]);
                let cond = prop_oneof![
                    (cmp.clone(), inner.clone(), inner.clone()).prop_map(|(op, l, r)| Expr::Compare { op, left: b(l), right: b(r) }),
                    (inner.clone(), any::<bool>()).prop_map(|(v, negated)| Expr::IsNull { value: b(v), negated }),
                    prop::collection::vec(inner.clone(), 2..3).prop_map(Expr::Or),
                    inner.clone().prop_map(|e| Expr::Not(b(e))),
                ];
                let contains = prop::sample::select(&[ContainsOp::Contains, ContainsOp::ContainsAll, ContainsOp::ContainsAny, ContainsOp::ContainsKey, ContainsOp::ContainsValue, ContainsOp::ContainsText][..]);
                let member = prop_oneof![
                    ident().prop_map(Member::Field),
                    prop::sample::select(&RecordAttribute::ALL[..]).prop_map(Member::Attribute),
                    plain_name().prop_map(|n| Member::Variable(Ident::new(n))),
                ];
                let call = (ident(), prop_oneof![prop::collection::vec(inner.clone(), 0..3), Just(vec![Expr::Star])])
                    .prop_map(|(name, args)| FunctionCall { name, args });
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..3).prop_map(Expr::Array),
                    prop::collection::vec((any::<String>(), inner.clone()), 0..3)
                        .prop_map(|kv| Expr::Map(kv.into_iter().map(|(key, value)| MapEntry { key, value }).collect())),
                    call.clone().prop_map(|c| Expr::Call(Box::new(c))),
                    (inner.clone(), member).prop_map(|(t, member)| Expr::Member { target: b(t), member }),
                    (inner.clone(), call).prop_map(|(t, c)| Expr::MethodCall { target: b(t), call: Box::new(c) }),
                    (inner.clone(), value.clone()).prop_map(|(t, i)| Expr::Index { target: b(t), index: b(i) }),
                    (inner.clone(), cond.clone()).prop_map(|(t, c)| Expr::Filter { target: b(t), condition: b(c) }),
                    inner.clone().prop_filter("folds", |e| !is_foldable_literal(e)).prop_map(|e| Expr::Negate(b(e))),
                    (arith, inner.clone(), inner.clone()).prop_map(|(op, l, r)| Expr::Arithmetic { op, left: b(l), right: b(r) }),
                    (cmp, inner.clone(), inner.clone()).prop_map(|(op, l, r)| Expr::Compare { op, left: b(l), right: b(r) }),
                    (inner.clone(), inner.clone(), any::<bool>()).prop_map(|(l, r, negated)| Expr::In { left: b(l), right: b(r), negated }),
                    (contains.clone(), inner.clone(), inner.clone())
                        .prop_filter("would read as a condition", |(op, _, r)| !(op.accepts_condition() && r.is_condition()))
                        .prop_map(|(op, l, r)| Expr::Contains { op, left: b(l), right: b(r) }),
                    (contains, inner.clone(), cond.clone())
                        .prop_filter("takes a condition", |(op, _, _)| op.accepts_condition())
                        .prop_map(|(op, l, c)| Expr::ContainsCondition { op, left: b(l), condition: b(c) }),
                    (inner.clone(), inner.clone(), inner.clone()).prop_map(|(v, lo, hi)| Expr::Between { value: b(v), low: b(lo), high: b(hi) }),
                    (inner.clone(), any::<bool>()).prop_map(|(v, negated)| Expr::IsNull { value: b(v), negated }),
                    (inner.clone(), any::<bool>()).prop_map(|(v, negated)| Expr::IsDefined { value: b(v), negated }),
                    (inner.clone(), ident()).prop_map(|(v, class)| Expr::InstanceOf { value: b(v), class }),
                    prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
                    prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
                    inner.clone().prop_map(|e| Expr::Not(b(e))),
                    (ident(), inner.clone()).prop_map(|(class, w)| Expr::Subquery(Box::new(Statement::Select(Box::new(SelectStatement {
                        from: Some(Target::Class(class)),
                        where_clause: Some(w),
                        ..SelectStatement::default()
                    }))))),
                ]
            })
            .boxed()
    }

    fn int_arg() -> BoxedStrategy<IntArg> {
        prop_oneof![
            any::<i64>().prop_map(IntArg::Value),
            plain_name().prop_map(|name| IntArg::Parameter(Parameter::Named { name, span: Span::default() })),
        ]
        .boxed()
    }

    fn target() -> BoxedStrategy<Target> {
        let rid = (any::<i32>(), any::<i64>()).prop_map(|(cluster, position)| RecordId { cluster, position });
        prop_oneof![
            3 => ident().prop_map(Target::Class),
            1 => ident().prop_map(Target::Cluster),
            1 => rid.clone().prop_map(Target::Rid),
            1 => prop::collection::vec(rid, 0..3).prop_map(Target::Rids),
            1 => plain_name().prop_map(|name| Target::Parameter(Parameter::Named { name, span: Span::default() })),
            1 => plain_name().prop_map(|n| Target::Variable(Ident::new(n))),
            1 => ident().prop_map(|c| Target::Subquery(Box::new(Statement::Select(Box::new(SelectStatement {
                from: Some(Target::Class(c)),
                ..SelectStatement::default()
            }))))),
        ]
        .boxed()
    }

    fn opt<T: std::fmt::Debug + Clone + 'static>(s: BoxedStrategy<T>) -> BoxedStrategy<Option<T>> {
        prop::option::of(s).boxed()
    }

    fn select_statement() -> BoxedStrategy<SelectStatement> {
        let projection = prop_oneof![
            1 => Just(Projection::All),
            4 => (expr(), opt(ident())).prop_map(|(expr, alias)| Projection::Expr(AliasedExpr { expr, alias })),
        ];
        let order = (expr(), prop::sample::select(&[SortDirection::Asc, SortDirection::Desc][..]))
            .prop_map(|(expr, direction)| OrderItem { expr, direction });
        let lets = prop::collection::vec(
            (plain_name(), expr()).prop_map(|(n, value)| LetItem { name: Ident::new(n), value }),
            0..2,
        );
        (
            (any::<bool>(), prop::collection::vec(projection, 0..3), opt(target()), lets),
            (opt(expr()), prop::collection::vec(expr(), 0..2), prop::collection::vec(order, 0..2)),
            (prop::collection::vec(ident(), 0..2), opt(int_arg()), opt(int_arg())),
        )
            .prop_map(
                |(
                    (distinct, projections, from, let_items),
                    (where_clause, group_by, order_by),
                    (unwind, skip, limit),
                )| {
                    SelectStatement {
                        distinct,
                        projections,
                        from,
                        let_items,
                        where_clause,
                        group_by,
                        order_by,
                        unwind,
                        skip,
                        limit,
                        timeout: None,
                    }
                },
            )
            .prop_filter("SELECT needs projections or FROM", |s| !s.projections.is_empty() || s.from.is_some())
            .prop_filter("DISTINCT before '(' reads as distinct()", |s| {
                !(s.distinct && s.projections.first().is_some_and(|p| p.to_string().starts_with('(')))
            })
            .boxed()
    }

    fn assignments() -> BoxedStrategy<Vec<Assignment>> {
        prop::collection::vec((ident(), expr()).prop_map(|(field, value)| Assignment { field, value }), 1..3).boxed()
    }

    fn map_expr() -> BoxedStrategy<Expr> {
        prop::collection::vec((any::<String>(), expr()), 0..3)
            .prop_map(|kv| Expr::Map(kv.into_iter().map(|(key, value)| MapEntry { key, value }).collect()))
            .boxed()
    }

    fn insert_statement() -> BoxedStrategy<InsertStatement> {
        let target = prop_oneof![ident().prop_map(InsertTarget::Class), ident().prop_map(InsertTarget::Cluster)];
        let values = (1usize..3, 1usize..3).prop_flat_map(|(width, height)| {
            (prop::collection::vec(ident(), width), prop::collection::vec(prop::collection::vec(expr(), width), height))
        });
        let body = prop_oneof![
            assignments().prop_map(InsertBody::Set),
            map_expr().prop_map(InsertBody::Content),
            values.prop_map(|(fields, rows)| InsertBody::Values { fields, rows }),
            select_statement().prop_map(|s| InsertBody::FromQuery(Box::new(Statement::Select(Box::new(s))))),
        ];
        (target, body, opt(expr()))
            .prop_map(|(target, body, return_expr)| InsertStatement { target, body, return_expr })
            .boxed()
    }

    fn update_statement() -> BoxedStrategy<UpdateStatement> {
        let remove = (ident(), opt(expr())).prop_map(|(field, value)| RemoveItem { field, value });
        let put = (ident(), expr(), expr()).prop_map(|(field, key, value)| PutItem { field, key, value });
        let op = prop_oneof![
            assignments().prop_map(UpdateOperation::Set),
            assignments().prop_map(UpdateOperation::Increment),
            assignments().prop_map(UpdateOperation::Add),
            prop::collection::vec(remove, 1..3).prop_map(UpdateOperation::Remove),
            prop::collection::vec(put, 1..3).prop_map(UpdateOperation::Put),
            map_expr().prop_map(UpdateOperation::Content),
            map_expr().prop_map(UpdateOperation::Merge),
        ];
        let ret = (prop::sample::select(&[ReturnTiming::Before, ReturnTiming::After][..]), opt(expr()))
            .prop_map(|(timing, projection)| UpdateReturn { timing, projection });
        (
            target(),
            prop::collection::vec(op, 1..3),
            any::<bool>(),
            opt(ret.boxed()),
            opt(expr()),
            opt(int_arg()),
            opt(int_arg()),
        )
            .prop_map(|(target, operations, upsert, return_clause, where_clause, limit, timeout)| UpdateStatement {
                target,
                operations,
                upsert,
                return_clause,
                where_clause,
                limit,
                timeout,
            })
            .boxed()
    }

    fn delete_statement() -> BoxedStrategy<DeleteStatement> {
        (target(), any::<bool>(), opt(expr()), opt(int_arg()), any::<bool>())
            .prop_map(|(target, return_before, where_clause, limit, unsafe_mode)| DeleteStatement {
                target,
                return_before,
                where_clause,
                limit,
                unsafe_mode,
            })
            .boxed()
    }

    fn statement() -> BoxedStrategy<Statement> {
        prop_oneof![
            3 => select_statement().prop_map(|s| Statement::Select(Box::new(s))),
            1 => insert_statement().prop_map(|s| Statement::Insert(Box::new(s))),
            1 => update_statement().prop_map(|s| Statement::Update(Box::new(s))),
            1 => delete_statement().prop_map(|s| Statement::Delete(Box::new(s))),
            1 => expr().prop_map(|e| Statement::Return(Some(e))),
        ]
        .boxed()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_text_never_panics(input in any::<String>()) {
            check_any(&input);
        }

        #[test]
        fn arbitrary_ascii_never_panics(input in "[ -~\n]{0,80}") {
            check_any(&input);
        }

        #[test]
        fn token_soup_never_panics(input in token_soup()) {
            check_any(&input);
        }

        #[test]
        fn printed_statements_parse_back(statement in statement()) {
            let printed = statement.to_string();
            match parse_statement(&printed) {
                Ok(parsed) => prop_assert_eq!(parsed, statement, "printed as {}", printed),
                Err(e) => prop_assert!(false, "{} failed to parse: {}", printed, e),
            }
        }
    }
}
