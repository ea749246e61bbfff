-- Query targets `?` bound to a class name, metadata:schema, metadata:indexmanager,
-- metadata:database and index:name, and the functions eval(), interval(), indexKeySize() and
-- methods given OrientDB's Locale argument. Expected answers are OrientDB's tests:
-- core/src/test/java/com/orientechnologies/orient/core/sql/executor/OSelectStatementExecutionTest.java
-- (testQuerySchema, testQueryMetadataIndexManager, testQueryMetadataIndexManager2,
-- testFetchFromIndex), OScriptExecutionTest.java (testLazyExecutionPlanning),
-- core/src/test/java/com/orientechnologies/orient/core/sql/functions/misc/OSQLFunctionIndexKeySizeTest.java,
-- core/src/test/java/com/orientechnologies/orient/core/sql/functions/math/OSQLFunctionIntervalTest.java
-- (testMultiple), core/src/test/java/com/orientechnologies/orient/core/sql/OCommandExecutorSQLSelectTest.java
-- (testEvalLong), tests/src/test/java/com/orientechnologies/orient/test/database/auto/SQLSelectProjectionsTest.java
-- (queryProjectionEval, queryProjectionSameFieldTwice), SQLSelectTest.java (the
-- toLowerCase(Locale.ENGLISH).subString(0,1) = 'e' query), OMatchStatementExecutionTest.java
-- (testEvalInReturn); and by hand from
-- core/src/main/java/com/orientechnologies/orient/core/sql/executor/OSelectExecutionPlanner.java
-- (handleInputParamAsTarget: a string parameter is a class name, null is nothing;
-- handleMetadataAsTarget), FetchFromIndexStep.java (rows of key and rid),
-- OSchemaShared.toStream / OClassImpl.toStream (the schema row's fields),
-- functions/math/OSQLFunctionEval.java (an integer division by zero is 0, another failure null),
-- functions/math/OSQLFunctionInterval.java and method/misc/OSQLMethodToUpperCase.java (the
-- argument is ignored: Locale.ENGLISH is always used).
CREATE CLASS Test;
CREATE PROPERTY Test.name STRING;
CREATE INDEX testindex ON Test (name) NOTUNIQUE;
INSERT INTO Test SET name = 'b';
INSERT INTO Test SET name = 'a';
INSERT INTO Test SET name = 'b'
SELECT count(*) FROM Test

-- handleInputParamAsTarget: "strings are treated as classes" (a string spelling a RID, as
-- Basalt's JSON parameters send RIDs, stays a RID: 12_parameters).
-- params: ["Test"]
SELECT name FROM ? ORDER BY name

-- params: {"target": "Test"}
SELECT count(*) AS n FROM :target WHERE name = 'b'

-- A null parameter is an empty target (EmptyStep).
-- params: [null]
SELECT FROM ?

-- testQuerySchema: one row with classes; testLazyExecutionPlanning's expand(classes) filtered by name.
SELECT classes.size() > 0 AS hasClasses, schemaVersion IS NOT NULL AS versioned FROM metadata:schema

SELECT name, superClass, abstract, strictMode, properties.name AS properties FROM (SELECT expand(classes) FROM metadata:schema) WHERE name = 'Test'

SELECT count(*) AS n FROM (SELECT expand(classes) FROM metadata:schema) WHERE name = 'nonExistingClass'

-- testQueryMetadataIndexManager / testQueryMetadataIndexManager2: one row with indexes; expand(indexes).
SELECT indexes.size() AS n FROM metadata:indexmanager

SELECT name, class, fields, type, unique FROM (SELECT expand(indexes) FROM metadata:indexmanager) WHERE name = 'testindex'

-- The issue's spelling metadata:indexes is the same row.
SELECT indexes.name AS names FROM metadata:indexes

-- FetchFromDatabaseMetadataStep: one row of settings (Basalt keeps time in UTC).
SELECT timezone, charset FROM metadata:database

-- testFetchFromIndex: index:name where key = 'name2' is one row; the rows are key and rid, in key order.
SELECT key FROM index:testindex

SELECT key, rid.name AS name FROM index:testindex WHERE key = 'a'

-- OSQLFunctionIndexKeySizeTest: two distinct keys (a, b), whatever the number of records;
-- an unknown index is null.
SELECT indexKeySize('testindex') AS foo, indexKeySize('nope') AS none

-- OSQLFunctionIntervalTest.testMultiple: the first bound greater than the value, counted from 0.
SELECT interval(43, 35, 5, 15, 50) AS a, interval(54, 25, 35, 45) AS b, interval(null, 5, 50) AS c, interval(6, 6) AS d, interval(58, 60, 30, 65) AS e, interval(103, 54, 106, 98, 119) AS f

-- testEvalLong: eval("86400000 * 26") is 2246400000; queryProjectionEval: eval('1 + 4') is 5.
SELECT eval("86400000 * 26") AS value, eval('1 + 4') AS result

-- OSQLFunctionEval by hand: the text sees the current record; an integer division by zero
-- is 0; a failure other than that is null.
SELECT name, eval('name = "a"') AS isA, eval('1 / 0') AS zero, eval('abs(name)') AS bad FROM Test ORDER BY name LIMIT 2

-- testEvalInReturn: if(eval("p.name = 'foo'"), 1, 2) over two vertices sums to 3.
CREATE CLASS testEvalInReturn EXTENDS V;
CREATE VERTEX testEvalInReturn SET name = 'foo';
CREATE VERTEX testEvalInReturn SET name = 'bar'
SELECT sum(b) AS sum FROM (MATCH {class: testEvalInReturn, as: p} RETURN if(eval("p.name = 'foo'"), 1, 2) AS b)

-- queryProjectionSameFieldTwice and the SQLSelectTest query: the Locale argument is accepted
-- and ignored.
SELECT name, name.toUpperCase(Locale.ENGLISH) AS name2 FROM Test WHERE name.toLowerCase(Locale.ENGLISH).subString(0, 1) = 'a'

-- Errors: eval text that does not parse, an unknown metadata name, an unknown index, writing
-- to a metadata target, interval with one argument, a misspelt function.
SELECT eval('1 +')

SELECT FROM metadata:schemas

SELECT FROM index:testindx

DELETE FROM index:testindex

SELECT interval(53)

SELECT intervall(1, 2)
