-- The path functions shortestPath(), dijkstra() and astar(). Expected answers are OrientDB's
-- unit tests under core/src/test/java/com/orientechnologies/orient/core/sql/functions/graph/:
-- OSQLFunctionShortestPathTest (testExecute, testExecuteOut, testExecuteOnlyEdge1,
-- testExecuteOnlyEdge1AndEdge2, testLong, testMaxDepth1..4), OSQLFunctionDijkstraTest
-- (testExecute) and OSQLFunctionAstarTest (test1Execute..test9Execute), on the same graphs
-- built here with SQL; and by hand from the code they test,
-- core/src/main/java/com/orientechnologies/orient/core/sql/functions/graph/OSQLFunctionShortestPath.java
-- (the same vertex gives itself; {edge: true} puts the edges between the vertices) and
-- OSQLFunctionAstar.java / OSQLFunctionHeuristicPathFinderAbstract.java.
-- The shortestPath graph: A->B, B->C, C->D (Edge1), C->A (Edge2), then V5..V20 each linked
-- from the one before, and every even one also from the one two before.

CREATE CLASS SP EXTENDS V;
CREATE CLASS Edge1 EXTENDS E;
CREATE CLASS Edge2 EXTENDS E;
CREATE VERTEX SP SET node_id = 'A';
CREATE VERTEX SP SET node_id = 'B';
CREATE VERTEX SP SET node_id = 'C';
CREATE VERTEX SP SET node_id = 'D';
CREATE VERTEX SP SET node_id = 'V5';
CREATE VERTEX SP SET node_id = 'V6';
CREATE VERTEX SP SET node_id = 'V7';
CREATE VERTEX SP SET node_id = 'V8';
CREATE VERTEX SP SET node_id = 'V9';
CREATE VERTEX SP SET node_id = 'V10';
CREATE VERTEX SP SET node_id = 'V11';
CREATE VERTEX SP SET node_id = 'V12';
CREATE VERTEX SP SET node_id = 'V13';
CREATE VERTEX SP SET node_id = 'V14';
CREATE VERTEX SP SET node_id = 'V15';
CREATE VERTEX SP SET node_id = 'V16';
CREATE VERTEX SP SET node_id = 'V17';
CREATE VERTEX SP SET node_id = 'V18';
CREATE VERTEX SP SET node_id = 'V19';
CREATE VERTEX SP SET node_id = 'V20';
CREATE EDGE Edge1 FROM (SELECT FROM SP WHERE node_id = 'A') TO (SELECT FROM SP WHERE node_id = 'B');
CREATE EDGE Edge1 FROM (SELECT FROM SP WHERE node_id = 'B') TO (SELECT FROM SP WHERE node_id = 'C');
CREATE EDGE Edge2 FROM (SELECT FROM SP WHERE node_id = 'C') TO (SELECT FROM SP WHERE node_id = 'A');
CREATE EDGE Edge1 FROM (SELECT FROM SP WHERE node_id = 'C') TO (SELECT FROM SP WHERE node_id = 'D');
CREATE EDGE Edge1 FROM (SELECT FROM SP WHERE node_id = 'D') TO (SELECT FROM SP WHERE node_id = 'V5');
CREATE EDGE Edge1 FROM (SELECT FROM SP WHERE node_id = 'V5') TO (SELECT FROM SP WHERE node_id = 'V6');
CREATE EDGE Edge1 FROM (SELECT FROM SP WHERE node_id = 'D') TO (SELECT FROM SP WHERE node_id = 'V6');
CREATE EDGE Edge1 FROM (SELECT FROM SP WHERE node_id = 'V6') TO (SELECT FROM SP WHERE node_id = 'V7');
CREATE EDGE Edge1 FROM (SELECT FROM SP WHERE node_id = 'V7') TO (SELECT FROM SP WHERE node_id = 'V8');
CREATE EDGE Edge1 FROM (SELECT FROM SP WHERE node_id = 'V6') TO (SELECT FROM SP WHERE node_id = 'V8');
CREATE EDGE Edge1 FROM (SELECT FROM SP WHERE node_id = 'V8') TO (SELECT FROM SP WHERE node_id = 'V9');
CREATE EDGE Edge1 FROM (SELECT FROM SP WHERE node_id = 'V9') TO (SELECT FROM SP WHERE node_id = 'V10');
CREATE EDGE Edge1 FROM (SELECT FROM SP WHERE node_id = 'V8') TO (SELECT FROM SP WHERE node_id = 'V10');
CREATE EDGE Edge1 FROM (SELECT FROM SP WHERE node_id = 'V10') TO (SELECT FROM SP WHERE node_id = 'V11');
CREATE EDGE Edge1 FROM (SELECT FROM SP WHERE node_id = 'V11') TO (SELECT FROM SP WHERE node_id = 'V12');
CREATE EDGE Edge1 FROM (SELECT FROM SP WHERE node_id = 'V10') TO (SELECT FROM SP WHERE node_id = 'V12');
CREATE EDGE Edge1 FROM (SELECT FROM SP WHERE node_id = 'V12') TO (SELECT FROM SP WHERE node_id = 'V13');
CREATE EDGE Edge1 FROM (SELECT FROM SP WHERE node_id = 'V13') TO (SELECT FROM SP WHERE node_id = 'V14');
CREATE EDGE Edge1 FROM (SELECT FROM SP WHERE node_id = 'V12') TO (SELECT FROM SP WHERE node_id = 'V14');
CREATE EDGE Edge1 FROM (SELECT FROM SP WHERE node_id = 'V14') TO (SELECT FROM SP WHERE node_id = 'V15');
CREATE EDGE Edge1 FROM (SELECT FROM SP WHERE node_id = 'V15') TO (SELECT FROM SP WHERE node_id = 'V16');
CREATE EDGE Edge1 FROM (SELECT FROM SP WHERE node_id = 'V14') TO (SELECT FROM SP WHERE node_id = 'V16');
CREATE EDGE Edge1 FROM (SELECT FROM SP WHERE node_id = 'V16') TO (SELECT FROM SP WHERE node_id = 'V17');
CREATE EDGE Edge1 FROM (SELECT FROM SP WHERE node_id = 'V17') TO (SELECT FROM SP WHERE node_id = 'V18');
CREATE EDGE Edge1 FROM (SELECT FROM SP WHERE node_id = 'V16') TO (SELECT FROM SP WHERE node_id = 'V18');
CREATE EDGE Edge1 FROM (SELECT FROM SP WHERE node_id = 'V18') TO (SELECT FROM SP WHERE node_id = 'V19');
CREATE EDGE Edge1 FROM (SELECT FROM SP WHERE node_id = 'V19') TO (SELECT FROM SP WHERE node_id = 'V20');
CREATE EDGE Edge1 FROM (SELECT FROM SP WHERE node_id = 'V18') TO (SELECT FROM SP WHERE node_id = 'V20');
SELECT count(*) AS vertices, (SELECT count(*) AS n FROM E)[0].n AS edges FROM SP

-- testExecute: A to D over both directions is A, C, D.
SELECT shortestPath($a, $d).node_id AS path LET $a = (SELECT FROM SP WHERE node_id = 'A'), $d = (SELECT FROM SP WHERE node_id = 'D'), $z = (SELECT FROM SP WHERE node_id = 'V20')

-- testExecuteOut: only outgoing edges: A, B, C, D. testExecuteOnlyEdge1: only Edge1, the same.
SELECT shortestPath($a, $d, 'out', null).node_id AS out, shortestPath($a, $d, null, 'Edge1').node_id AS edge1 LET $a = (SELECT FROM SP WHERE node_id = 'A'), $d = (SELECT FROM SP WHERE node_id = 'D'), $z = (SELECT FROM SP WHERE node_id = 'V20')

-- testExecuteOnlyEdge1AndEdge2: BOTH over a list of edge classes: A, C, D.
SELECT shortestPath($a, $d, 'BOTH', ['Edge1', 'Edge2']).node_id AS path LET $a = (SELECT FROM SP WHERE node_id = 'A'), $d = (SELECT FROM SP WHERE node_id = 'D'), $z = (SELECT FROM SP WHERE node_id = 'V20')

-- testLong: A to V20 is 11 vertices: A, C, D, then the even ones V6 .. V20.
SELECT shortestPath($a, $z).node_id AS path, shortestPath($a, $z).size() AS size LET $a = (SELECT FROM SP WHERE node_id = 'A'), $d = (SELECT FROM SP WHERE node_id = 'D'), $z = (SELECT FROM SP WHERE node_id = 'V20')

-- testMaxDepth1..4: maxDepth 11 and 12 still find the 11 vertices; 10 and 3 find nothing.
SELECT shortestPath($a, $z, null, null, {maxDepth: 11}).size() AS d11, shortestPath($a, $z, null, null, {maxDepth: 12}).size() AS d12, shortestPath($a, $z, null, null, {maxDepth: 10}).size() AS d10, shortestPath($a, $z, null, null, {maxDepth: 3}).size() AS d3 LET $a = (SELECT FROM SP WHERE node_id = 'A'), $d = (SELECT FROM SP WHERE node_id = 'D'), $z = (SELECT FROM SP WHERE node_id = 'V20')

-- By hand: a vertex to itself is itself; {edge: true} lists the edges too. Left (A) grows first:
-- it reaches B (out) and C (in, over the Edge2 C->A); then D's side reaches C over C->D.
SELECT shortestPath($a, $a).node_id AS self, shortestPath($a, $d, 'both', null, {edge: true}).@class AS classes LET $a = (SELECT FROM SP WHERE node_id = 'A'), $d = (SELECT FROM SP WHERE node_id = 'D'), $z = (SELECT FROM SP WHERE node_id = 'V20')

-- A record as the current row, and @rid as the source.
SELECT node_id, shortestPath(@rid, (SELECT FROM SP WHERE node_id = 'D'), 'out').node_id AS path FROM SP WHERE node_id = 'B'

-- No path in the asked direction: an empty list (return new ArrayList()).
SELECT shortestPath($d, $a, 'out').size() AS none LET $a = (SELECT FROM SP WHERE node_id = 'A'), $d = (SELECT FROM SP WHERE node_id = 'D')

-- OSQLFunctionDijkstraTest: A->B 1, B->C 1, A->C 100, C->D 1 (the edge class and field are
-- both 'weight'); the cheapest A to D is A, B, C, D. The test passes the field as "'weight'"
-- and OIOUtils.getStringContent drops the quotes.
CREATE CLASS DV EXTENDS V;
CREATE CLASS weight EXTENDS E;
CREATE VERTEX DV SET node_id = 'A';
CREATE VERTEX DV SET node_id = 'B';
CREATE VERTEX DV SET node_id = 'C';
CREATE VERTEX DV SET node_id = 'D';
CREATE EDGE weight FROM (SELECT FROM DV WHERE node_id = 'A') TO (SELECT FROM DV WHERE node_id = 'B') SET weight = 1.0;
CREATE EDGE weight FROM (SELECT FROM DV WHERE node_id = 'B') TO (SELECT FROM DV WHERE node_id = 'C') SET weight = 1.0;
CREATE EDGE weight FROM (SELECT FROM DV WHERE node_id = 'A') TO (SELECT FROM DV WHERE node_id = 'C') SET weight = 100.0;
CREATE EDGE weight FROM (SELECT FROM DV WHERE node_id = 'C') TO (SELECT FROM DV WHERE node_id = 'D') SET weight = 1.0;
SELECT dijkstra($a, $d, 'weight').node_id AS path, dijkstra($a, $d, "'weight'").node_id AS quoted LET $a = (SELECT FROM DV WHERE node_id = 'A'), $d = (SELECT FROM DV WHERE node_id = 'D')

-- By hand: dijkstra's fourth argument is the direction (default OUT): D to A has no outgoing
-- path, but over both directions D, C, B, A (cost 3 against 101 through A->C).
SELECT dijkstra($d, $a, 'weight').size() AS out, dijkstra($d, $a, 'weight', 'both').node_id AS both LET $a = (SELECT FROM DV WHERE node_id = 'A'), $d = (SELECT FROM DV WHERE node_id = 'D')

-- OSQLFunctionAstarTest's graph: seven cities (node_id Z, A .. F) with lat, lon, alt, and 16
-- has_path edges with a weight.
CREATE CLASS Place EXTENDS V;
CREATE CLASS has_path EXTENDS E;
CREATE VERTEX Place SET node_id = 'Z', name = 'Tabriz', lat = 31.746512, lon = 51.427002, alt = 2200;
CREATE VERTEX Place SET node_id = 'A', name = 'Tehran', lat = 35.746512, lon = 51.427002, alt = 1800;
CREATE VERTEX Place SET node_id = 'B', name = 'Mecca', lat = 21.371244, lon = 39.847412, alt = 1500;
CREATE VERTEX Place SET node_id = 'C', name = 'Bejin', lat = 39.904041, lon = 116.408011, alt = 1200;
CREATE VERTEX Place SET node_id = 'D', name = 'London', lat = 51.495065, lon = -0.12085, alt = 900;
CREATE VERTEX Place SET node_id = 'E', name = 'NewYork', lat = 42.779275, lon = -74.641113, alt = 1700;
CREATE VERTEX Place SET node_id = 'F', name = 'Los Angles', lat = 34.052234, lon = -118.243685, alt = 400;
CREATE EDGE has_path FROM (SELECT FROM Place WHERE node_id = 'A') TO (SELECT FROM Place WHERE node_id = 'B') SET weight = 250.0, ptype = 'road';
CREATE EDGE has_path FROM (SELECT FROM Place WHERE node_id = 'B') TO (SELECT FROM Place WHERE node_id = 'C') SET weight = 250.0, ptype = 'road';
CREATE EDGE has_path FROM (SELECT FROM Place WHERE node_id = 'A') TO (SELECT FROM Place WHERE node_id = 'C') SET weight = 1000.0, ptype = 'road';
CREATE EDGE has_path FROM (SELECT FROM Place WHERE node_id = 'C') TO (SELECT FROM Place WHERE node_id = 'D') SET weight = 250.0, ptype = 'road';
CREATE EDGE has_path FROM (SELECT FROM Place WHERE node_id = 'B') TO (SELECT FROM Place WHERE node_id = 'D') SET weight = 600.0, ptype = 'road';
CREATE EDGE has_path FROM (SELECT FROM Place WHERE node_id = 'D') TO (SELECT FROM Place WHERE node_id = 'E') SET weight = 400.0, ptype = 'road';
CREATE EDGE has_path FROM (SELECT FROM Place WHERE node_id = 'E') TO (SELECT FROM Place WHERE node_id = 'F') SET weight = 300.0, ptype = 'road';
CREATE EDGE has_path FROM (SELECT FROM Place WHERE node_id = 'C') TO (SELECT FROM Place WHERE node_id = 'F') SET weight = 200.0, ptype = 'road';
CREATE EDGE has_path FROM (SELECT FROM Place WHERE node_id = 'D') TO (SELECT FROM Place WHERE node_id = 'F') SET weight = 900.0, ptype = 'road';
CREATE EDGE has_path FROM (SELECT FROM Place WHERE node_id = 'B') TO (SELECT FROM Place WHERE node_id = 'F') SET weight = 2500.0, ptype = 'road';
CREATE EDGE has_path FROM (SELECT FROM Place WHERE node_id = 'A') TO (SELECT FROM Place WHERE node_id = 'E') SET weight = 100.0, ptype = 'road';
CREATE EDGE has_path FROM (SELECT FROM Place WHERE node_id = 'D') TO (SELECT FROM Place WHERE node_id = 'A') SET weight = 200.0, ptype = 'road';
CREATE EDGE has_path FROM (SELECT FROM Place WHERE node_id = 'E') TO (SELECT FROM Place WHERE node_id = 'C') SET weight = 800.0, ptype = 'road';
CREATE EDGE has_path FROM (SELECT FROM Place WHERE node_id = 'E') TO (SELECT FROM Place WHERE node_id = 'B') SET weight = 500.0, ptype = 'road';
CREATE EDGE has_path FROM (SELECT FROM Place WHERE node_id = 'F') TO (SELECT FROM Place WHERE node_id = 'E') SET weight = 250.0, ptype = 'road';
CREATE EDGE has_path FROM (SELECT FROM Place WHERE node_id = 'C') TO (SELECT FROM Place WHERE node_id = 'A') SET weight = 550.0, ptype = 'road';
SELECT count(*) AS count FROM has_path

-- test1Execute: A to D is A, B, C, D.
SELECT astar((SELECT FROM Place WHERE node_id = 'A'), (SELECT FROM Place WHERE node_id = 'D'), "'weight'", {direction: 'out', parallel: true, edgeTypeNames: ['has_path']}).node_id AS path

-- test2Execute: A to F is A, E, F.
SELECT astar((SELECT FROM Place WHERE node_id = 'A'), (SELECT FROM Place WHERE node_id = 'F'), "'weight'", {direction: 'out', parallel: true, edgeTypeNames: ['has_path']}).node_id AS path

-- test3Execute: with the axes lat, lon: A, E, F.
SELECT astar((SELECT FROM Place WHERE node_id = 'A'), (SELECT FROM Place WHERE node_id = 'F'), "'weight'", {direction: 'out', parallel: true, edgeTypeNames: ['has_path'], vertexAxisNames: ['lat', 'lon']}).node_id AS path

-- test4Execute: with three axes: A, E, F.
SELECT astar((SELECT FROM Place WHERE node_id = 'A'), (SELECT FROM Place WHERE node_id = 'F'), "'weight'", {direction: 'out', parallel: true, edgeTypeNames: ['has_path'], vertexAxisNames: ['lat', 'lon', 'alt']}).node_id AS path

-- test5Execute: C to E is C, F, E.
SELECT astar((SELECT FROM Place WHERE node_id = 'C'), (SELECT FROM Place WHERE node_id = 'E'), "'weight'", {direction: 'out', parallel: true, edgeTypeNames: ['has_path'], vertexAxisNames: ['lat', 'lon']}).node_id AS path

-- test6Execute: F to A is F, E, B, C, D, A.
SELECT astar((SELECT FROM Place WHERE node_id = 'F'), (SELECT FROM Place WHERE node_id = 'A'), "'weight'", {direction: 'out', parallel: true, edgeTypeNames: ['has_path'], vertexAxisNames: ['lat', 'lon']}).node_id AS path

-- test7Execute: heuristicFormula 'EucliDEAN' (any case): F, E, B, C, D, A.
SELECT astar((SELECT FROM Place WHERE node_id = 'F'), (SELECT FROM Place WHERE node_id = 'A'), "'weight'", {direction: 'out', parallel: true, edgeTypeNames: ['has_path'], vertexAxisNames: ['lat', 'lon'], heuristicFormula: 'EucliDEAN'}).node_id AS path

-- test8Execute: EUCLIDEANNOSQR without the tie breaker: F, E, B, D, A.
SELECT astar((SELECT FROM Place WHERE node_id = 'F'), (SELECT FROM Place WHERE node_id = 'A'), "'weight'", {direction: 'OUT', parallel: true, tieBreaker: false, edgeTypeNames: ['has_path'], vertexAxisNames: ['lat', 'lon'], heuristicFormula: 'EUCLIDEANNOSQR'}).node_id AS path

-- test9Execute: BOTH directions, MAXAXIS, no tie breaker: F, E, A.
SELECT astar((SELECT FROM Place WHERE node_id = 'F'), (SELECT FROM Place WHERE node_id = 'A'), "'weight'", {direction: 'BOTH', parallel: true, tieBreaker: false, edgeTypeNames: ['has_path'], vertexAxisNames: ['lat', 'lon'], heuristicFormula: 'MAXAXIS'}).node_id AS path

-- By hand: maxDepth counts expanded vertices; reaching it returns the path to the vertex in
-- hand (A, the start, after 0 expansions), or nothing with emptyIfMaxDepth.
SELECT astar((SELECT FROM Place WHERE node_id = 'A'), (SELECT FROM Place WHERE node_id = 'D'), "'weight'", {direction: 'out', parallel: true, edgeTypeNames: ['has_path'], maxDepth: 0}).node_id AS path

-- 
SELECT astar((SELECT FROM Place WHERE node_id = 'A'), (SELECT FROM Place WHERE node_id = 'D'), "'weight'", {direction: 'out', parallel: true, edgeTypeNames: ['has_path'], maxDepth: 0, emptyIfMaxDepth: true}).node_id AS path

-- Errors: a source that is not a vertex, two sources, an unknown direction, the CUSTOM
-- heuristic (it needs a stored function), a missing argument, a misspelt name.
SELECT shortestPath((SELECT FROM has_path LIMIT 1), (SELECT FROM Place LIMIT 1))

SELECT shortestPath((SELECT FROM Place), (SELECT FROM Place LIMIT 1))

SELECT shortestPath((SELECT FROM Place WHERE node_id = 'A'), (SELECT FROM Place WHERE node_id = 'B'), 'sideways')

SELECT astar((SELECT FROM Place WHERE node_id = 'F'), (SELECT FROM Place WHERE node_id = 'A'), 'weight', {heuristicFormula: 'CUSTOM', customHeuristicFormula: 'myCustomHeuristic'})

SELECT dijkstra((SELECT FROM Place WHERE node_id = 'F'), (SELECT FROM Place WHERE node_id = 'A'))

SELECT shortestPat((SELECT FROM Place WHERE node_id = 'F'), (SELECT FROM Place WHERE node_id = 'A'))
