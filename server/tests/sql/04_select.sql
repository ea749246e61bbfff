-- A small graph for the SELECT clauses.
CREATE CLASS Person EXTENDS V;
CREATE CLASS City EXTENDS V;
CREATE CLASS Knows EXTENDS E;
CREATE CLASS LivesIn EXTENDS E;
CREATE VERTEX City SET name = 'Paris';
CREATE VERTEX City SET name = 'Rome';
CREATE VERTEX Person SET name = 'ada', age = 36, tags = ['math', 'code'];
CREATE VERTEX Person SET name = 'bob', age = 25, tags = ['music'];
CREATE VERTEX Person SET name = 'cy', age = 41;
CREATE VERTEX Person SET name = 'dee', age = 25, nick = null;
CREATE EDGE Knows FROM (SELECT FROM Person WHERE name = 'ada') TO (SELECT FROM Person WHERE name IN ['bob', 'cy']) SET since = 2001;
CREATE EDGE Knows FROM (SELECT FROM Person WHERE name = 'bob') TO (SELECT FROM Person WHERE name = 'dee') SET since = 2015;
CREATE EDGE LivesIn FROM (SELECT FROM Person WHERE name IN ['ada', 'bob']) TO (SELECT FROM City WHERE name = 'Paris');
CREATE EDGE LivesIn FROM (SELECT FROM Person WHERE name IN ['cy', 'dee']) TO (SELECT FROM City WHERE name = 'Rome');
SELECT count(*) AS people FROM Person

-- Whole records, *, attributes, aliases.
SELECT FROM Person WHERE name = 'ada'

SELECT * FROM Person WHERE name = 'bob'

SELECT @rid, @class, @version, name AS who FROM Person WHERE age > 30 ORDER BY name

SELECT *, out('Knows').size() AS knows FROM Person WHERE name = 'ada'

-- Targets: a RID, a list of RIDs, a cluster, a subquery.
SELECT name FROM #11:0

SELECT name FROM [#11:1, #11:0, #12:9]

SELECT name FROM cluster:city ORDER BY name DESC

SELECT name FROM (SELECT FROM Person WHERE age < 30) ORDER BY name

-- Field paths through links: edge ends, link bags, graph functions.
SELECT out.name AS from, in.name AS to, since FROM Knows ORDER BY since, to

SELECT name, in_Knows, out('LivesIn').name AS city FROM Person ORDER BY name

SELECT name, out('Knows').out('LivesIn').name AS friendsCities FROM Person WHERE name = 'ada'

-- WHERE operators.
SELECT name FROM Person WHERE age >= 25 AND age < 40 ORDER BY name

SELECT name FROM Person WHERE age = 25 OR name = 'cy' ORDER BY name

SELECT name FROM Person WHERE NOT (age = 25) ORDER BY name

SELECT name FROM Person WHERE name <> 'ada' AND name != 'bob' ORDER BY name

SELECT name FROM Person WHERE age BETWEEN 30 AND 41 ORDER BY name

SELECT name FROM Person WHERE name IN ['ada', 'dee', 'zed'] ORDER BY name

SELECT name FROM Person WHERE name NOT IN ['ada', 'dee'] ORDER BY name

SELECT name FROM Person WHERE tags CONTAINS 'music'

SELECT name FROM Person WHERE name LIKE '%e%' ORDER BY name

SELECT name FROM Person WHERE name LIKE '_o_'

SELECT name FROM Person WHERE name MATCHES '[a-c].*' ORDER BY name

SELECT name FROM Person WHERE tags IS NULL ORDER BY name

SELECT name FROM Person WHERE tags IS NOT NULL ORDER BY name

SELECT name FROM Person WHERE nick IS DEFINED

SELECT name FROM Person WHERE nick IS NOT DEFINED ORDER BY name

SELECT name FROM Person WHERE out('Knows').size() > 0 ORDER BY name

SELECT name FROM Person WHERE out('LivesIn').name CONTAINS 'Rome' ORDER BY name

SELECT name FROM Person WHERE in('Knows') CONTAINS (name = 'ada') ORDER BY name

SELECT name FROM Person WHERE @this INSTANCEOF 'V' AND @rid = #11:0

SELECT name FROM Person WHERE name IN (SELECT in.name FROM Knows WHERE since > 2010)

-- ORDER BY (several keys, a field not projected), SKIP, LIMIT.
SELECT name, age FROM Person ORDER BY age DESC, name ASC

SELECT name FROM Person ORDER BY age, name DESC SKIP 1 LIMIT 2

SELECT name FROM Person ORDER BY name LIMIT -1

-- DISTINCT and GROUP BY.
SELECT DISTINCT age FROM Person ORDER BY age

SELECT age, count(*) AS n, list(name) AS names FROM Person GROUP BY age ORDER BY age

SELECT out('LivesIn').name[0] AS city, count(*) AS n, max(age) AS oldest FROM Person GROUP BY city ORDER BY city

-- UNWIND: one row per element of a list.
SELECT name, tags FROM Person WHERE tags IS NOT NULL ORDER BY name UNWIND tags

-- LET, $parent, $current.
SELECT name, $friends.size() AS friends FROM Person LET $friends = out('Knows') ORDER BY name

SELECT name, $mates AS mates FROM Person LET $mates = (SELECT name FROM Person WHERE age = $parent.$current.age AND name <> $parent.$current.name) WHERE age = 25 ORDER BY name

SELECT name FROM Person LET $n = name.length() WHERE $n = 3 ORDER BY name

-- Without FROM.
SELECT 1 + 2 AS three, 'a' + 'b' AS ab, 7 / 2 AS div, 7.0 / 2 AS fdiv, 7 % 3 AS mod, -(2 * 3) AS neg

SELECT [1, 2, 3] AS list, {"a": 1} AS map, null AS nothing, true AND false AS f
