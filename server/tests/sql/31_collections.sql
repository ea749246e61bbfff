-- Collection selectors and subqueries as collections. Expected answers are OrientDB's tests in
-- core/src/test/java/com/orientechnologies/orient/core/sql/executor/OSelectStatementExecutionTest.java
-- (testRange, testRangeParams1, testRangeParams2, testEllipsis, testSimpleCollectionFiltering,
-- testLet5, testContainsWithSubquery, testInWithSubquery, and the Report/User test of
-- `id in (select out('hasOwnership').id ...)`), OMatchStatementExecutionTest.java
-- (testArraySingleSelectors2, testArrayRangeSelectors1, testArrayRange2, testArrayRange3),
-- core/src/test/java/com/orientechnologies/orient/core/sql/parser/OSelectStatementTest.java
-- (testRange, testCollectionFilteringByValue: what parses), and by hand from
-- core/src/main/java/com/orientechnologies/orient/core/sql/parser/OArrayRangeSelector.java
-- (a start past the length gives null, a start after the end gives null, the end is cut to
-- the length), OArraySingleValuesSelector.java (`[a, b]`: the value at each; map keys),
-- OInCondition.evaluateExpression, OContainsCondition.execute and
-- core/src/main/java/com/orientechnologies/orient/core/sql/operator/OQueryOperatorEquals.java
-- (comparesValues: a row with one property compares by that property, a record row by RID).
CREATE CLASS Letters;
INSERT INTO Letters SET name = ['a', 'b', 'c', 'd'], coll = ['foo', 'bar', 'baz'], nums = [1, 2, 3, 4, 5, 6], m = {"foo": 1, "bar": 2, "baz": 3}
SELECT count(*) FROM Letters

-- testRange: name[0..3] is a, b, c (the end excluded); testEllipsis: name[0...2] is a, b, c (included).
SELECT name[0..3] AS names, name[0...2] AS ellipsis FROM Letters

-- testRangeParams1: name[?..?] with 0 and 3.
-- params: [0, 3]
SELECT name[?..?] AS names FROM Letters

-- testRangeParams2: name[:a..:b] with a = 0, b = 3.
-- params: {"a": 0, "b": 3}
SELECT name[:a..:b] AS names FROM Letters

-- OArrayRangeSelector by hand: the end is cut to the length ([2..10]: c, d); a start past the
-- length is null ([5..6]); a start equal to the length is moved back to the last element
-- (lFrom = min(lFrom, length - 1): [4..6] is d); a start after the end is null ([3..1]); a
-- range of a value that is not a collection is null.
SELECT name[2..10] AS tail, name[5..6] AS past, name[4..6] AS last, name[3..1] AS reversed, 'abc'[0..1] AS text FROM Letters

-- testArraySingleSelectors2 / testArrayRangeSelectors1 / testArrayRange2 / testArrayRange3 on a
-- vertex with two outgoing edges: [0,1] has 2, [0..1] has 1, [0..2] and [0..3] have 2.
CREATE CLASS Tri EXTENDS V;
CREATE CLASS TriE EXTENDS E;
CREATE VERTEX Tri SET uid = 0;
CREATE VERTEX Tri SET uid = 1;
CREATE VERTEX Tri SET uid = 2;
CREATE EDGE TriE FROM (SELECT FROM Tri WHERE uid = 0) TO (SELECT FROM Tri WHERE uid = 1);
CREATE EDGE TriE FROM (SELECT FROM Tri WHERE uid = 0) TO (SELECT FROM Tri WHERE uid = 2)
MATCH {class: Tri, as: friend1, where: (uid = 0)} RETURN friend1.out('TriE')[0,1].size() AS single, friend1.out('TriE')[0..1].size() AS r1, friend1.out('TriE')[0..2].size() AS r2, friend1.out('TriE')[0..3].size() AS r3

-- OArraySingleValuesSelector by hand: [1, 3] picks b and d; on a map, keys; a null index makes
-- the whole null; map['key'] is the key's value.
SELECT name[1, 3] AS picked, m['foo', 'baz'] AS values, name[0, null] AS none, m['bar'] AS bar, m['nope'] AS missing FROM Letters

-- testSimpleCollectionFiltering: coll[='foo'] is [foo]; coll[<'ccc'] has 2; coll[LIKE 'ba%'] has 2;
-- coll[in ['bar']] is [bar].
SELECT coll[='foo'] AS eq, coll[<'ccc'] AS lt, coll[LIKE 'ba%'] AS like, coll[in ['bar']] AS in FROM Letters

-- testCollectionFilteringByValue's other forms, evaluated by the same rule: chained
-- [> 2][< 5], NOT IN, IN a LET variable.
SELECT nums[> 2][< 5] AS between, coll[not IN ['a', 'bar']] AS notin, coll[IN $a] AS inlet FROM Letters LET $a = ['baz', 'x']

-- testLet5: name in (select name from ... where name = 'name1') finds name1 (the projection
-- rows compare by their only property).
CREATE CLASS Named;
INSERT INTO Named SET name = 'name0', surname = 'surname0';
INSERT INTO Named SET name = 'name1', surname = 'surname1';
INSERT INTO Named SET name = 'name2', surname = 'surname2'
SELECT name FROM Named WHERE name IN (SELECT name FROM Named WHERE name = 'name1')

SELECT name FROM Named WHERE name NOT IN (SELECT name FROM Named WHERE name = 'name1') ORDER BY name

-- testContainsWithSubquery: tags CONTAINS (select from C1 where name = 'foo') matches the two
-- tag lists holding 'foo' (the one record's only property); testInWithSubquery: the same with
-- (select ...) IN tags.
CREATE CLASS Sub1;
CREATE CLASS Sub2;
INSERT INTO Sub1 SET name = 'foo';
INSERT INTO Sub2 SET tags = ['foo', 'bar'];
INSERT INTO Sub2 SET tags = ['baz', 'bar'];
INSERT INTO Sub2 SET tags = ['foo']
SELECT tags FROM Sub2 WHERE tags CONTAINS (SELECT FROM Sub1 WHERE name = 'foo')

SELECT tags FROM Sub2 WHERE (SELECT FROM Sub1 WHERE name = 'foo') IN tags

-- The Report/User test: id IN (select out('hasOwnership').id ...) matches both reports (the
-- only property is a list, and IN looks inside it).
CREATE CLASS RUser EXTENDS V;
CREATE CLASS Report EXTENDS V;
CREATE CLASS hasOwnership EXTENDS E;
INSERT INTO RUser CONTENT {"id": "admin"};
INSERT INTO Report CONTENT {"format": "PDF", "id": "rep1", "label": "Report 1", "source": "Report1.src"};
INSERT INTO Report CONTENT {"format": "CSV", "id": "rep2", "label": "Report 2", "source": "Report2.src"};
CREATE EDGE hasOwnership FROM (SELECT FROM RUser) TO (SELECT FROM Report)
SELECT id FROM Report WHERE id IN (SELECT out('hasOwnership').id FROM RUser WHERE id = 'admin') ORDER BY id

-- The same test again after `create index Report.id ON Report(id) unique`: the same two reports.
CREATE INDEX Report.id ON Report (id) UNIQUE
SELECT id FROM Report WHERE id IN (SELECT out('hasOwnership').id FROM RUser WHERE id = 'admin') ORDER BY id

-- comparesValues by hand: a record row of a subquery matches its RID, not its field.
SELECT count(*) AS byRid FROM Sub1 WHERE @rid IN (SELECT FROM Sub1 WHERE name = 'foo')

SELECT count(*) AS byField FROM Sub1 WHERE name IN (SELECT FROM Sub1 WHERE name = 'foo')

-- Errors: OSelectStatementTest.testRange refuses four dots; a range position that is not a number.
SELECT name[1....5] FROM Letters

SELECT name['a'..2] FROM Letters
