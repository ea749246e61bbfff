-- The collection functions unionAll, intersect, difference, symmetricDifference, in-line and
-- (with one argument) as aggregates over the rows, and ifnull, coalesce, uuid, decimal.
-- Expected answers come from OrientDB's tests:
-- core/src/test/java/com/orientechnologies/orient/core/sql/functions/coll/SQLFunctionDifferenceTest.java,
-- .../functions/coll/SQLFunctionSymmetricDifferenceTest.java,
-- core/src/test/java/com/orientechnologies/orient/core/sql/OCommandExecutorSQLSelectTest.java
-- (testDifferenceOfInlineCollections), core/src/test/.../sql/InsertUnionValueTest.java,
-- tests/src/test/java/com/orientechnologies/orient/test/database/auto/SQLFunctionsTest.java
-- (queryUnionAllAsAggregationNotRemoveDuplicates, queryUnionAllAsInline),
-- .../auto/SQLSelectProjectionsTest.java (ifNullFunction), .../functions/stat/OSQLFunctionUUIDTest.java
-- and OSQLFunctionDecimalTest.java; and by hand from the functions under
-- core/src/main/java/com/orientechnologies/orient/core/sql/functions/{coll,misc,math}/.
-- OrientDB answers sets as Java HashSets, in no order: Basalt keeps first-seen order.
CREATE CLASS City;
INSERT INTO City SET name = 'Rome', n = 1;
INSERT INTO City SET name = 'Rome', n = 2;
INSERT INTO City SET name = 'Paris', n = 3;
INSERT INTO City SET name = 'Oslo', n = 1;
INSERT INTO City SET n = 4
SELECT count(*) FROM City

-- testDifferenceOfInlineCollections: difference([1,2,3],[1,2]) is one value, 3.
SELECT difference([1, 2, 3], [1, 2]) AS difference

-- SQLFunctionDifferenceTest.testExecute: {4} from three lists, {2, 4} from the first two.
SELECT difference([1, 2, 3, 4, 5, 1], [3, 5, 6, 7, 0, 1, 3, 3, 6], [2, 2, 8, 9]) AS three, difference([1, 2, 3, 4, 5, 1], [3, 5, 6, 7, 0, 1, 3, 3, 6]) AS two

-- A null first argument gives null (if (iParams[0] == null) return null); a single value
-- is one element.
SELECT difference(null, [1]) AS none, difference(5, [1]) AS five, difference([1, 2], 2) AS one

-- SQLFunctionSymmetricDifferenceTest.testExecute: {4, 7, 8, 9, 0} (values seen exactly once).
SELECT symmetricDifference([1, 2, 3, 4, 5, 1], [3, 5, 6, 7, 0, 1, 3, 3, 6], [2, 2, 8, 9]) AS sd, symmetricDifference(null, [1]) AS none

-- testOperator, as an aggregate over rows 1, 2, 3, 1, 4, 5, 2, 2, 1, 1: {3, 4, 5}.
CREATE CLASS Income;
INSERT INTO Income SET i = 1;
INSERT INTO Income SET i = 2;
INSERT INTO Income SET i = 3;
INSERT INTO Income SET i = 1;
INSERT INTO Income SET i = 4;
INSERT INTO Income SET i = 5;
INSERT INTO Income SET i = 2;
INSERT INTO Income SET i = 2;
INSERT INTO Income SET i = 1;
INSERT INTO Income SET i = 1;
INSERT INTO Income SET j = 7
SELECT symmetricDifference(i) AS sd FROM Income

-- queryUnionAllAsAggregationNotRemoveDuplicates: one row, as many names as rows with a name
-- (4: the null is skipped), duplicates kept.
SELECT unionAll(name) AS names, unionAll(name).size() AS size, count(name) AS count FROM City

SELECT n, unionAll(name) AS names FROM City GROUP BY n ORDER BY n

-- In-line unionAll: every element of every argument, nulls skipped; per row (queryUnionAllAsInline).
SELECT unionAll([1, 2], null, [2, 3], 4) AS all

SELECT name, unionAll(name, n) AS pair FROM City WHERE n = 3

-- InsertUnionValueTest: unionAll of two maps is a list of the two maps.
SELECT unionAll($a, $b) AS u, unionAll($a, $b).size() AS n LET $a = {"aKey": "aValue"}, $b = {"anotherKey": "anotherValue"}

-- intersect in-line: the first argument's values in all the others, without duplicates; a
-- null later argument gives the empty list.
SELECT intersect([1, 2, 3, 2], [2, 3, 4], [3, 2]) AS both, intersect([1, 2], null) AS none, intersect(null, [1]) AS empty

-- intersect as an aggregate: what every row's list holds (a null row is skipped).
CREATE CLASS Tagged;
INSERT INTO Tagged SET tags = ['a', 'b', 'c'];
INSERT INTO Tagged SET tags = ['c', 'b', 'x'];
INSERT INTO Tagged SET other = 1;
INSERT INTO Tagged SET tags = ['b', 'c', 'c']
SELECT intersect(tags) AS common, unionAll(tags).size() AS all, symmetricDifference(tags) AS once FROM Tagged

-- SQLSelectProjectionsTest.ifNullFunction: 'a', 'c', 'b'; coalesce: the first not null.
SELECT ifnull('a', 'b') AS i1, ifnull('a', 'b', 'c') AS i2, ifnull(null, 'b') AS i3, coalesce(null, null, 3, 4) AS c1, coalesce(null) AS c2

SELECT name, coalesce(name, n) AS label FROM City ORDER BY n DESC LIMIT 2

-- OSQLFunctionUUIDTest.testQuery: uuid() is a string, never null; a random one is 36
-- characters with version 4, and two differ.
SELECT uuid() IS NOT NULL AS present, uuid().length() AS len, uuid().charAt(14) AS version, uuid() = uuid() AS same

-- OSQLFunctionDecimalTest: 12 and 1287623847384 as numbers; a string read as a number
-- (Basalt keeps a DOUBLE's precision, not BigDecimal's); an unreadable string and null give null.
SELECT decimal(12) AS i, decimal(1287623847384) AS l, decimal('3.25') AS s, decimal('x') AS bad, decimal(null) AS none

-- Errors: wrong argument counts.
SELECT difference([1])

SELECT coalesce()

SELECT uuid(1)

SELECT symmetricDifference()
