-- Aggregates, graph functions, expand() and methods.
CREATE CLASS Song EXTENDS V;
CREATE CLASS FollowedBy EXTENDS E;
CREATE VERTEX Song SET name = 'Dark Star', plays = 219, kind = 'original';
CREATE VERTEX Song SET name = 'Bertha', plays = 394, kind = 'original';
CREATE VERTEX Song SET name = 'Big River', plays = 398, kind = 'cover';
CREATE VERTEX Song SET name = 'Drums', kind = 'original';
CREATE EDGE FollowedBy FROM #11:0 TO #11:1 SET weight = 3;
CREATE EDGE FollowedBy FROM #11:0 TO #11:2 SET weight = 1;
CREATE EDGE FollowedBy FROM #11:1 TO #11:2 SET weight = 7;
CREATE EDGE FollowedBy FROM #11:2 TO #11:0 SET weight = 2;
CREATE EDGE FollowedBy FROM #11:2 TO #11:3 SET weight = 5;
CREATE EDGE FollowedBy FROM #11:0 TO #11:1 SET weight = 1;
SELECT count(*) FROM FollowedBy

-- Aggregates with and without GROUP BY; nulls are skipped; no rows give one row.
SELECT count(*), count(plays), sum(plays), min(plays), max(plays), avg(plays) FROM Song

SELECT kind, count(*) AS n, sum(plays) AS plays FROM Song GROUP BY kind ORDER BY kind

SELECT count(*) AS n, sum(plays) AS total, max(name) AS last FROM Song WHERE plays > 1000

SELECT kind, count(*) AS n FROM Song WHERE plays > 1000 GROUP BY kind

SELECT sum(weight) / count(*) AS mean, max(weight) - min(weight) AS spread FROM FollowedBy

SELECT distinct(kind) FROM Song ORDER BY kind

-- Graph functions, with and without labels, in projections and conditions.
SELECT name, out().name AS next, in('FollowedBy').name AS prev, both().size() AS degree FROM Song ORDER BY name

SELECT name, outE('FollowedBy').weight AS weights, inE().size() AS ins FROM Song WHERE name = 'Dark Star'

SELECT outV().name AS from, inV().name AS to, bothV().name AS ends FROM FollowedBy WHERE weight = 7

SELECT name FROM Song WHERE out('FollowedBy').name CONTAINS 'Big River' ORDER BY name

SELECT name, out('FollowedBy').out('FollowedBy').name AS twoHops, out('FollowedBy').out('FollowedBy').asSet().size() AS distinctTwoHops FROM Song WHERE name = 'Dark Star'

SELECT name, out('NoSuchLabel').size() AS none FROM Song WHERE name = 'Drums'

SELECT out('FollowedBy')[plays > 300].name AS filtered, outE('FollowedBy')[weight > 2].inV().name AS heavy FROM Song WHERE name = 'Dark Star'

-- expand(): records of a projection, then ORDER BY, SKIP, LIMIT on them.
SELECT expand(out('FollowedBy')) FROM Song WHERE name = 'Dark Star'

SELECT name FROM (SELECT expand(out('FollowedBy')) FROM Song WHERE name = 'Dark Star') ORDER BY name

SELECT expand(outE('FollowedBy')) FROM Song WHERE name = 'Big River' ORDER BY weight DESC LIMIT 1

-- Methods.
SELECT name.toLowerCase() AS lower, name.toUpperCase() AS upper, name.length() AS len, name.size() AS one FROM Song WHERE plays = 219

SELECT plays.asString() AS s, '12'.asInteger() AS i, '2.5'.asFloat() AS f, 'true'.asBoolean() AS b, plays.asLong() + 1 AS l FROM Song WHERE plays = 219

SELECT name.left(4) AS l, name.right(4) AS r, name.substring(5) AS sub, name.indexOf('Star') AS at, name.replace('Dark', 'Bright') AS rep, name.split(' ') AS parts, ' x '.trim() AS trimmed FROM Song WHERE plays = 219

SELECT [3, 1, 3].asSet() AS set, [3, 1, 3].size() AS size, {"a": 1, "b": 2}.keys() AS keys, {"a": 1, "b": 2}.values() AS values, name.charAt(0) AS first, name.prefix('>') AS p, name.append('!') AS a FROM Song WHERE plays = 219

SELECT ifnull(plays, 0) AS p, coalesce(null, plays, 1) AS c, if(plays > 300, 'hit', 'ok') AS verdict, first(out().name) AS next FROM Song ORDER BY name

SELECT format('%s was played %d times', name, plays) AS line FROM Song WHERE plays IS NOT NULL ORDER BY plays DESC LIMIT 1

SELECT unionall(out().name, in().name) AS all, intersect(out().name, in().name) AS both, abs(-3) AS abs FROM Song WHERE name = 'Big River'

SELECT date('2024-02-29').format('yyyy/MM/dd') AS d, date('2024-02-29 10:11:12') AS dt

-- Errors: unknown functions and methods, wrong argument counts, wrong types.
SELECT nosuch(name) FROM Song

SELECT name.nosuch() FROM Song

SELECT ifnull(name) FROM Song

SELECT name * 2 FROM Song

SELECT sum(name) FROM Song

SELECT expand(out()), name FROM Song

SELECT count(*) FROM Song WHERE count(*) > 1
