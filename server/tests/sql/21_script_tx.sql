-- Transactions in scripts: BEGIN and COMMIT rows, COMMIT RETRY, and reads inside a
-- transaction that see its own uncommitted writes.
-- Expectations from OrientDB's tests (orientechnologies/orientdb, develop):
--   core/src/test/java/com/orientechnologies/orient/core/sql/executor/OBeginStatementExecutionTest.java
--     (testBegin: one row, operation = "begin"),
--   .../executor/OCommitStatementExecutionTest.java (testBegin: one row, operation = "commit"),
--   .../executor/OScriptExecutionTest.java (testAssignOnEdgeCreate: an edge created in a
--     transaction is read back by a SELECT in it; testCommitRetry without throwCME: the body runs once;
--     the conflicting cases with ELSE are unit tests in server/src/sql/exec/script_tests.rs),
--   core/src/test/java/com/orientechnologies/orient/core/sql/OCommandExecutorSQLScriptTest.java
--     (testQuery: LET inside BEGIN/COMMIT, RETURN $a answers 3 rows; testTx; testParameters1),
-- and the executor: OBeginStatement.executeSimple, OCommitStatement.executeSimple,
-- ORollbackStatement.executeSimple (the rows), OScriptExecutionPlan.executeUntilReturn (a
-- script answers its last statement). Reads see the transaction's writes as
-- ODatabaseDocumentAbstract's load and browseClass do through the current transaction.
CREATE CLASS Person EXTENDS V;
CREATE CLASS Knows EXTENDS E;
CREATE CLASS IndirectEdge EXTENDS E

-- OBeginStatementExecutionTest.testBegin: BEGIN on its own answers one row {operation: begin}.
BEGIN

-- OCommitStatementExecutionTest.testBegin: COMMIT answers {operation: commit}.
BEGIN; INSERT INTO Person SET name = 'ada'; COMMIT

-- ROLLBACK answers {operation: rollback}, and nothing is written.
BEGIN; INSERT INTO Person SET name = 'ghost'; ROLLBACK

SELECT count(*) AS n FROM Person WHERE name = 'ghost'

-- The issue's case: CREATE EDGE ... FROM (SELECT ...) finds a vertex created earlier in the same transaction.
BEGIN;
CREATE VERTEX Person SET name = 'bob';
CREATE VERTEX Person SET name = 'cy';
CREATE EDGE Knows FROM (SELECT FROM Person WHERE name = 'bob') TO (SELECT FROM Person WHERE name = 'cy') SET since = 2021;
LET $seen = SELECT name, out('Knows').name AS knows FROM Person WHERE name = 'bob';
COMMIT;
RETURN $seen

SELECT name, out('Knows').name AS knows FROM Person ORDER BY name

-- Counts, WHERE and graph steps inside the transaction see its inserts, updates and deletes.
BEGIN;
INSERT INTO Person SET name = 'dee';
UPDATE Person SET age = 40 WHERE name = 'ada';
DELETE VERTEX Person WHERE name = 'cy';
LET $r = SELECT count(*) AS n, sum(age) AS ages FROM Person;
LET $k = SELECT out('Knows').size() AS k FROM Person WHERE name = 'bob';
LET $a = SELECT name FROM Person WHERE age = 40;
ROLLBACK;
RETURN [$r[0].n, $r[0].ages, $k[0].k, $a[0].name]

SELECT count(*) AS n FROM Person

-- OScriptExecutionTest.testAssignOnEdgeCreate: SELECT expand(out()) inside the transaction, IF, CREATE EDGE from the LET rows.
CREATE VERTEX V SET name = 'a', PrimaryName = 'foo1';
CREATE VERTEX V SET name = 'b', PrimaryName = 'foo2';
CREATE VERTEX V SET name = 'c', PrimaryName = 'foo3';
CREATE VERTEX V SET name = 'd', PrimaryName = 'foo4';
CREATE EDGE E FROM (SELECT FROM V WHERE name = 'a') TO (SELECT FROM V WHERE name = 'b');
CREATE EDGE E FROM (SELECT FROM V WHERE name = 'c') TO (SELECT FROM V WHERE name = 'd');
BEGIN;
LET SourceDataset = SELECT expand(out()) FROM V WHERE name = 'a';
LET TarDataset = SELECT expand(out()) FROM V WHERE name = 'c';
IF ($SourceDataset[0] != $TarDataset[0])
{
CREATE EDGE IndirectEdge FROM $SourceDataset TO $TarDataset SET Source = $SourceDataset[0].PrimaryName;
};
COMMIT RETRY 10

SELECT Source FROM IndirectEdge

-- OCommandExecutorSQLScriptTest.testQuery: a LET inside BEGIN/COMMIT, RETURN $a after the commit answers its rows.
BEGIN
LET $a = SELECT name FROM Person ORDER BY name
COMMIT
RETURN $a

-- OCommandExecutorSQLScriptTest.testParameters1 with LET of CREATE VERTEX/EDGE; RETURN $edge answers the committed edge.
-- params: {"name": "bozo", "_name2": "bozi"}
BEGIN;
LET $a = CREATE VERTEX Person SET name = :name;
LET $b = CREATE VERTEX Person SET name = :_name2;
LET $edge = CREATE EDGE Knows FROM $a TO $b;
COMMIT;
RETURN $edge;

SELECT in.name AS to FROM Knows WHERE out.name = 'bozo'

-- A vertex created in the transaction, then changed in it, is read back changed.
BEGIN;
LET $v = CREATE VERTEX Person SET name = 'eve';
UPDATE Person SET age = 7 WHERE name = 'eve';
LET $r = SELECT name, age FROM Person WHERE name = 'eve';
COMMIT;
RETURN $r

SELECT name, age FROM Person WHERE name = 'eve'

-- COMMIT RETRY without a conflict runs the body once (OScriptExecutionTest.testCommitRetry's shape).
LET $retries = 0;
BEGIN;
INSERT INTO Person SET name = 'retry', attempt = $retries;
LET $retries = $retries + 1;
COMMIT RETRY 10;
SELECT name, attempt FROM Person WHERE name = 'retry'

-- TRAVERSE and MATCH inside the transaction walk the edges it created.
BEGIN;
LET $p = CREATE VERTEX Person SET name = 'p1';
LET $q = CREATE VERTEX Person SET name = 'p2';
CREATE EDGE Knows FROM $p TO $q;
CREATE EDGE Knows FROM $q TO (SELECT FROM Person WHERE name = 'ada');
LET $t = TRAVERSE out('Knows') FROM (SELECT FROM Person WHERE name = 'p1');
LET $names = $t.name;
LET $m = MATCH {class: Person, as: a, where: (name = 'p1')}.out('Knows'){as: b}.out('Knows'){as: c} RETURN a.name AS a, b.name AS b, c.name AS c;
ROLLBACK;
RETURN [$names, $m[0].a, $m[0].b, $m[0].c]

-- Without a conflict the ELSE does not run; a transaction under RETRY answers nothing (RetryStep.internalStart).
BEGIN; INSERT INTO Person SET name = 'else-unused'; COMMIT RETRY 2 ELSE { INSERT INTO Person SET name = 'else-ran'; } AND CONTINUE

SELECT name FROM Person WHERE name IN ['else-unused', 'else-ran']

-- RETRY 0 is refused before anything runs (OSqlScriptExecutor.executeInternal: "Invalid retry number").
BEGIN; INSERT INTO Person SET name = 'never'; COMMIT RETRY 0

-- Errors: COMMIT without BEGIN, and a script ending inside a transaction with writes.
COMMIT

BEGIN; INSERT INTO Person SET name = 'zed'
