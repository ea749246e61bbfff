//! Unit tests of the executor's pieces: LIKE, comparisons, arithmetic, default aliases and
//! index selection.

#![allow(clippy::unwrap_used)] // Tests fail loudly on any unexpected error.

use std::cmp::Ordering;
use std::collections::HashMap;

use basalt_engine::{Database, Options, Rid, Value};

use super::eval::Env;
use super::ops::{arithmetic, cmp_values, like, values_eq};
use super::plan::{choose_index, Lookup};
use super::select::default_alias;
use crate::query::{Access, Params, QueryRequest};
use crate::sql::ast::{ArithmeticOp, Expr, Projection, Statement};
use crate::sql::parse_statement;

#[test]
fn like_patterns() {
    assert!(like("DARK STAR", "%STAR%"));
    assert!(like("DARK STAR", "DARK%"));
    assert!(like("DARK STAR", "%"));
    assert!(!like("DARK STAR", "%star%"), "case-sensitive");
    assert!(like("bob", "_o_"));
    assert!(like("bob", "b?b"));
    assert!(!like("bobo", "_o_"));
    assert!(like("100%", "100\\%"));
    assert!(!like("1000", "100\\%"));
    assert!(like("", "%"));
    assert!(!like("", "_"));
    assert!(like("abcabcabd", "%abc%abd"));
    assert!(like("Bob_Dylan", "Bob_%"));
    // Many wildcards stay fast (one backtrack point).
    assert!(!like(&"a".repeat(10_000), &("%a".repeat(50) + "b")));
}

#[test]
fn comparisons_convert_like_orientdb() {
    assert_eq!(cmp_values(&Value::Int(3), &Value::Long(3)), Some(Ordering::Equal));
    assert_eq!(cmp_values(&Value::Int(3), &Value::Double(3.5)), Some(Ordering::Less));
    assert!(values_eq(&Value::Link(Rid::new(9, 1)), &Value::String("#9:1".into())));
    assert!(values_eq(&Value::String("41".into()), &Value::Int(41)));
    assert!(values_eq(&Value::DateTime(86_400_000), &Value::String("1970-01-02".into())));
    assert_eq!(cmp_values(&Value::Null, &Value::Null), None, "null compares with nothing");
    assert_eq!(cmp_values(&Value::String("a".into()), &Value::Int(1)), None);
    // A subquery's single one-field row compares as its value.
    let row = Value::List(vec![Value::Embedded(basalt_engine::Document::new().with("n", Value::Int(5)))]);
    assert!(values_eq(&row, &Value::Int(5)));
    assert!(!values_eq(&Value::List(vec![Value::Int(1), Value::Int(2)]), &Value::Int(1)));
}

#[test]
fn arithmetic_keeps_orientdb_types() {
    let e = Expr::integer(0);
    assert_eq!(arithmetic(ArithmeticOp::Add, Value::Int(2), Value::Int(3), &e).unwrap(), Value::Int(5));
    // OMathExpression.Operator.SLASH: exact when it divides evenly, else a DOUBLE.
    assert_eq!(arithmetic(ArithmeticOp::Div, Value::Int(6), Value::Int(2), &e).unwrap(), Value::Int(3));
    assert_eq!(arithmetic(ArithmeticOp::Div, Value::Int(7), Value::Int(2), &e).unwrap(), Value::Double(3.5));
    assert_eq!(arithmetic(ArithmeticOp::Div, Value::Long(-7), Value::Int(2), &e).unwrap(), Value::Double(-3.5));
    // OMathExpressionTest.testTypes: FLOAT with an integer stays FLOAT.
    assert_eq!(arithmetic(ArithmeticOp::Mul, Value::Float(1.5), Value::Int(2), &e).unwrap(), Value::Float(3.0));
    assert_eq!(arithmetic(ArithmeticOp::Div, Value::Double(7.0), Value::Int(2), &e).unwrap(), Value::Double(3.5));
    assert_eq!(
        arithmetic(ArithmeticOp::Mul, Value::Int(i32::MAX), Value::Int(2), &e).unwrap(),
        Value::Long(i64::from(i32::MAX) * 2),
        "INTEGER overflows into LONG"
    );
    assert!(arithmetic(ArithmeticOp::Mul, Value::Long(i64::MAX), Value::Int(2), &e).is_err());
    assert!(arithmetic(ArithmeticOp::Mod, Value::Int(1), Value::Int(0), &e).is_err());
    assert_eq!(
        arithmetic(ArithmeticOp::Add, Value::String("a".into()), Value::Int(1), &e).unwrap(),
        Value::String("a1".into())
    );
    // OMathExpression.Operator's null rules.
    assert_eq!(arithmetic(ArithmeticOp::Add, Value::Null, Value::Int(1), &e).unwrap(), Value::Int(1));
    assert_eq!(
        arithmetic(ArithmeticOp::Add, Value::String("a".into()), Value::Null, &e).unwrap(),
        Value::String("a".into())
    );
    assert_eq!(arithmetic(ArithmeticOp::Add, Value::Null, Value::Null, &e).unwrap(), Value::Null);
    assert_eq!(arithmetic(ArithmeticOp::Sub, Value::Int(5), Value::Null, &e).unwrap(), Value::Int(5));
    assert_eq!(arithmetic(ArithmeticOp::Sub, Value::Null, Value::Int(5), &e).unwrap(), Value::Int(-5));
    assert_eq!(arithmetic(ArithmeticOp::Sub, Value::Null, Value::String("a".into()), &e).unwrap(), Value::Null);
    assert_eq!(arithmetic(ArithmeticOp::Mul, Value::Null, Value::Int(5), &e).unwrap(), Value::Null);
    assert_eq!(arithmetic(ArithmeticOp::Div, Value::Int(5), Value::Null, &e).unwrap(), Value::Null);
    assert_eq!(
        arithmetic(ArithmeticOp::Add, Value::DateTime(1000), Value::Int(500), &e).unwrap(),
        Value::DateTime(1500)
    );
}

fn projection(sql: &str) -> Expr {
    let Ok(Statement::Select(s)) = parse_statement(sql) else { panic!("{sql}") };
    match s.projections.into_iter().next() {
        Some(Projection::Expr(a)) => a.expr,
        _ => panic!("{sql}: no projection"),
    }
}

#[test]
fn default_aliases_are_the_text_of_the_projection() {
    assert_eq!(default_alias(&projection("SELECT name FROM V")), "name");
    assert_eq!(default_alias(&projection("SELECT @rid FROM V")), "@rid");
    assert_eq!(default_alias(&projection("SELECT out.name FROM E")), "out.name");
    assert_eq!(default_alias(&projection("SELECT in.@rid FROM E")), "in.@rid");
    assert_eq!(default_alias(&projection("SELECT count(*) FROM V")), "count(*)");
    assert_eq!(default_alias(&projection("SELECT in('x').size() FROM V")), "in('x').size()");
}

fn where_of(sql: &str) -> Expr {
    let Ok(Statement::Select(s)) = parse_statement(sql) else { panic!("{sql}") };
    s.where_clause.unwrap()
}

#[test]
fn index_selection() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Database::create(dir.path(), Options::default()).unwrap();
    let req = |text: &str| QueryRequest {
        text: text.into(),
        params: Params::default(),
        access: Access::Admin,
        limit: None,
        transaction: false,
    };
    for s in [
        "CREATE CLASS P EXTENDS V",
        "CREATE PROPERTY P.age INTEGER",
        "CREATE INDEX P.name UNIQUE",
        "CREATE INDEX byAge ON P (age) NOTUNIQUE",
        "CREATE INDEX byNameCity ON P (city, name) NOTUNIQUE",
    ] {
        crate::query::run(&db, &req(s)).unwrap();
    }
    let snap = db.snapshot();
    let params = Params::default();
    let vars = HashMap::new();
    let watch = super::control::Watch::new(&crate::query::QueryLimits::default(), &crate::query::CancelToken::new());
    let env = Env::new(&snap, &params, &vars, &watch);
    let pick = |sql: &str| choose_index(&env, "P", Some(&where_of(sql))).unwrap();

    let c = pick("SELECT FROM P WHERE name = 'x'").unwrap();
    assert_eq!(c.index, "P.name");
    assert!(matches!(c.lookup, Lookup::Eq(Value::String(_))));
    // Unique equality beats a range and a non-unique equality.
    assert_eq!(pick("SELECT FROM P WHERE age > 3 AND name = 'x'").unwrap().index, "P.name");
    assert_eq!(pick("SELECT FROM P WHERE age = 3 AND name = 'x'").unwrap().index, "P.name");
    // Reversed operands, IN, BETWEEN, merged ranges.
    let c = pick("SELECT FROM P WHERE 30 < age").unwrap();
    assert!(matches!(c.lookup, Lookup::Range(std::ops::Bound::Excluded(_), std::ops::Bound::Unbounded)));
    assert!(matches!(pick("SELECT FROM P WHERE age IN [1, 2]").unwrap().lookup, Lookup::In(ref v) if v.len() == 2));
    let c = pick("SELECT FROM P WHERE age >= 10 AND age < 20").unwrap();
    assert_eq!(c.conditions.len(), 2);
    assert!(matches!(c.lookup, Lookup::Range(std::ops::Bound::Included(_), std::ops::Bound::Excluded(_))));
    assert!(matches!(pick("SELECT FROM P WHERE age BETWEEN 1 AND 5").unwrap().lookup, Lookup::Range(..)));
    // The constant takes the property's declared type.
    assert!(matches!(pick("SELECT FROM P WHERE age = '7'").unwrap().lookup, Lookup::Eq(Value::Int(7))));
    // The first property of a composite index answers an equality.
    assert_eq!(pick("SELECT FROM P WHERE city = 'Rome'").unwrap().index, "byNameCity");
    // Not indexable: OR, a non-first property, a field on both sides, NOT IN, LIKE.
    assert!(pick("SELECT FROM P WHERE name = 'x' OR age = 1").is_none());
    assert!(pick("SELECT FROM P WHERE nick = 'x'").is_none());
    assert!(pick("SELECT FROM P WHERE age = height").is_none());
    assert!(pick("SELECT FROM P WHERE age NOT IN [1]").is_none());
    assert!(pick("SELECT FROM P WHERE name LIKE 'x%'").is_none());
}

#[test]
fn deep_queries_are_errors_or_answers_never_overflows() {
    // A 2 MiB thread, like the blocking pool's: evaluation stops cleanly before the stack ends.
    let handle = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            let dir = tempfile::tempdir().unwrap();
            let (db, _) = Database::create(dir.path(), Options::default()).unwrap();
            let run = |text: String| {
                crate::query::run(
                    &db,
                    &QueryRequest {
                        text,
                        params: Params::default(),
                        access: Access::Admin,
                        limit: None,
                        transaction: false,
                    },
                )
            };
            let sum = format!("SELECT {}1{} AS x", "1 + (".repeat(100), ")".repeat(100));
            let nested = format!("SELECT {}1{} AS x", "[".repeat(200), "]".repeat(200));
            let mut sub = "SELECT 1 AS x".to_string();
            for _ in 0..(super::MAX_SUBQUERY_DEPTH + 5) {
                sub = format!("SELECT ({sub}) AS x");
            }
            (run(sum).map(|r| r.len()), run(nested).map(|r| r.len()), run(sub).map(|r| r.len()))
        })
        .unwrap();
    let (sum, nested, sub) = handle.join().expect("no stack overflow");
    assert_eq!(sum.unwrap(), 1);
    assert_eq!(nested.unwrap(), 1, "200 nested lists evaluate within the stack budget");
    // The subquery bound, or (in debug builds, whose frames are larger) the stack guard.
    let e = sub.expect_err("too many nested subqueries");
    assert!(e.to_string().contains("nest deeper") || e.to_string().contains("too deeply"), "{e}");
}

#[test]
fn every_listed_function_and_method_is_known_and_unknown_ones_name_the_nearest() {
    use super::functions::{function_names, method_names, nearest};
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Database::create(dir.path(), Options::default()).unwrap();
    let run = |text: String| {
        let req =
            QueryRequest { text, params: Params::default(), access: Access::Admin, limit: None, transaction: false };
        crate::query::run(&db, &req).map(|_| ()).map_err(|e| e.to_string())
    };
    for f in function_names() {
        // Arity errors are fine: the name was found.
        if let Err(e) = run(format!("SELECT {f}() AS x")) {
            assert!(!e.contains("unknown function"), "{f}: {e}");
        }
    }
    for m in method_names() {
        if let Err(e) = run(format!("SELECT 'a'.{m}() AS x")) {
            assert!(!e.contains("unknown method"), "{m}: {e}");
        }
    }
    assert_eq!(nearest("cout", &function_names())[0], "count");
    assert_eq!(nearest("TOUPPER", &method_names())[0], "toUpperCase");
    let e = run("SELECT cuont(1) AS x".into()).unwrap_err();
    assert!(e.contains("unknown function 'cuont()'") && e.contains("count()"), "{e}");
    let e = run("SELECT 'a'.toUper() AS x".into()).unwrap_err();
    assert!(e.contains("unknown method '.toUper()'") && e.contains(".toUpperCase()"), "{e}");
}
