-- traversedElement(), traversedVertex() and traversedEdge() over the rows of a TRAVERSE.
-- OrientDB's tests do not call them; the expected answers are by hand from
-- core/src/main/java/com/orientechnologies/orient/core/sql/functions/coll/OSQLFunctionTraversedElement.java
-- (evaluate: a negative begin index counts the row's $stack from its own record, -1, back to
-- the start; 0 and up count from the start record, 0, on; `items` > 1 gives a list; only
-- vertices or only edges are counted by traversedVertex / traversedEdge, which pass "V" /
-- "E" as the class; nothing found is null; outside a traversal it fails, "Cannot invoke
-- traversedElement() against non traverse command") and
-- core/src/main/java/com/orientechnologies/orient/core/sql/executor/DepthFirstTraverseStep.java
-- and BreadthFirstTraverseStep.java ($stack is the path reversed: the record, its parent, ...,
-- the start record).
CREATE CLASS Node EXTENDS V;
CREATE CLASS L EXTENDS E;
CREATE VERTEX Node SET name = 'a';
CREATE VERTEX Node SET name = 'b';
CREATE VERTEX Node SET name = 'c';
CREATE EDGE L FROM (SELECT FROM Node WHERE name = 'a') TO (SELECT FROM Node WHERE name = 'b') SET name = 'ab';
CREATE EDGE L FROM (SELECT FROM Node WHERE name = 'b') TO (SELECT FROM Node WHERE name = 'c') SET name = 'bc'
SELECT count(*) FROM Node

-- Over out('L') the stack holds vertices only: -1 is the row itself, -2 its parent, 0 the
-- start; (0, 3) the first three from the start; beyond the stack is null.
SELECT name, traversedElement(-1).name AS self, traversedElement(-2).name AS parent, traversedElement(0).name AS start, traversedElement(0, 3).name AS fromStart, traversedElement(-1, 2).name AS back, traversedElement(-4) AS beyond FROM (TRAVERSE out('L') FROM (SELECT FROM Node WHERE name = 'a'))

-- The same path breadth first.
SELECT name, traversedElement(-2).name AS parent FROM (TRAVERSE out('L') FROM (SELECT FROM Node WHERE name = 'a') STRATEGY BREADTH_FIRST)

-- Over outE('L') and inV() the stack alternates vertices and edges: traversedEdge(-1) of a
-- vertex is the edge that led to it, traversedVertex(-2) the vertex before, skipping edges.
SELECT name, @class AS class, traversedEdge(-1).name AS edge, traversedVertex(-2).name AS previous, traversedVertex(0).name AS start FROM (TRAVERSE outE('L'), inV() FROM (SELECT FROM Node WHERE name = 'a'))

-- Inside the TRAVERSE's WHILE: stop below a record whose parent is b.
SELECT name FROM (TRAVERSE out('L') FROM (SELECT FROM Node WHERE name = 'a') WHILE traversedElement(-2).name IS NULL OR traversedElement(-2).name <> 'b')

-- Errors: outside a traversal; a begin index that is not a number.
SELECT traversedElement(-1) FROM Node

SELECT traversedElement('x') FROM (TRAVERSE out('L') FROM (SELECT FROM Node WHERE name = 'a'))
