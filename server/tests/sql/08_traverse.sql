-- TRAVERSE: fields and graph functions, MAXDEPTH, WHILE with $depth, both strategies.
-- Expected order and depths follow OrientDB's executor, DepthFirstTraverseStep.java and
-- BreadthFirstTraverseStep.java (core/src/main/java/com/orientechnologies/orient/core/sql/executor/):
-- a record is marked traversed when it is discovered; depth first expands the last-discovered
-- record next, so from a (a->b, a->c) it walks a, c, e, b, d.
CREATE CLASS N EXTENDS V;
CREATE CLASS Next EXTENDS E;
CREATE VERTEX N SET name = 'a';
CREATE VERTEX N SET name = 'b';
CREATE VERTEX N SET name = 'c';
CREATE VERTEX N SET name = 'd';
CREATE VERTEX N SET name = 'e';
CREATE EDGE Next FROM #11:0 TO #11:1;
CREATE EDGE Next FROM #11:0 TO #11:2;
CREATE EDGE Next FROM #11:1 TO #11:3;
CREATE EDGE Next FROM #11:3 TO #11:2;
CREATE EDGE Next FROM #11:2 TO #11:4;
CREATE EDGE Next FROM #11:4 TO #11:0
SELECT name, out('Next').name AS next FROM N ORDER BY name

-- Depth first (the default): each record once, the start at depth 0.
SELECT name, $depth AS depth FROM (TRAVERSE out('Next') FROM #11:0)

SELECT name, $depth AS depth FROM (TRAVERSE out('Next') FROM #11:0 MAXDEPTH 1)

-- Both strategies discover b and c at depth 1 (when a is expanded), so both reach d and e at depth 2.
SELECT name, $depth AS depth FROM (TRAVERSE out('Next') FROM #11:0 MAXDEPTH 3 STRATEGY DEPTH_FIRST)

SELECT name, $depth AS depth FROM (TRAVERSE out('Next') FROM #11:0 MAXDEPTH 3 STRATEGY BREADTH_FIRST)

SELECT name, $depth AS depth FROM (TRAVERSE out('Next') FROM #11:0 WHILE $depth < 2 STRATEGY BREADTH_FIRST)

SELECT name FROM (TRAVERSE in('Next') FROM (SELECT FROM N WHERE name = 'c') WHILE name <> 'a')

-- Fields: link bags lead to edges, edge ends to vertices.
SELECT @class, $depth AS depth FROM (TRAVERSE out_Next, in FROM #11:3 MAXDEPTH 4)

TRAVERSE * FROM #11:4 MAXDEPTH 1

TRAVERSE out() FROM #11:0 LIMIT 2

SELECT count(*) FROM (TRAVERSE both() FROM N)

SELECT name FROM (TRAVERSE out('Next') FROM #11:0 MAXDEPTH 3) WHERE $depth = 2 ORDER BY name

TRAVERSE out() FROM #11:0 MAXDEPTH -1
