-- Script blocks: IF, WHILE, FOREACH, nested, with RETURN; LET inside blocks.
-- Expectations from OrientDB's tests (orientechnologies/orientdb, develop):
--   core/src/test/java/com/orientechnologies/orient/core/sql/executor/OIfStatementExecutionTest.java
--     (testPositive, testNegative, testIfReturn),
--   .../executor/OWhileBlockExecutionTest.java (testPlain, testReturn),
--   .../executor/OForEachBlockExecutionTest.java (testPlain, testReturn),
--   .../executor/OScriptExecutionTest.java (testIf, testReturnInIf, testReturnInIf2, testReturnInIf3,
--     testLazyExecutionPlanning),
--   core/src/test/java/com/orientechnologies/orient/core/sql/OCommandExecutorSQLScriptTest.java
--     (testIfRealQuery, testIfMultipleStatements);
-- and the executor: IfStep.internalStart (an IF answers its body's last result, or nothing),
-- WhileStep.internalStart and ForEachStep.internalStart (nothing unless a RETURN ends the script),
-- OReturnStatement.executeSimple (RETURN alone is {"value": null}).
CREATE CLASS Item

-- testPositive: the IF answers the last statement of its body.
IF (1 = 1) { SELECT 1 AS a; }

-- testNegative: a false condition answers nothing.
IF (1 = 2) { SELECT 1 AS a; }

-- testIfReturn.
IF (1 = 1) { RETURN 'yes'; }

-- OWhileBlockExecutionTest.testPlain: 3 rows, values summing to 3 (0, 1, 2).
LET $i = 0;
WHILE ($i < 3) {
  INSERT INTO Item SET value = $i, src = 'while';
  LET $i = $i + 1;
}SELECT count(*) AS tot, sum(value) AS total FROM Item WHERE src = 'while'

-- OWhileBlockExecutionTest.testReturn: RETURN inside an IF inside the WHILE ends the script after 2 inserts (sum 1).
LET $i = 0;
WHILE ($i < 3) {
  INSERT INTO Item SET value = $i, src = 'whileret';
  IF ($i = 1) {
    RETURN;
  }
  LET $i = $i + 1;
}

SELECT count(*) AS tot, sum(value) AS total FROM Item WHERE src = 'whileret'

-- OForEachBlockExecutionTest.testPlain: 3 rows summing to 6.
FOREACH ($val IN [1, 2, 3]) {
  INSERT INTO Item SET value = $val, src = 'foreach';
}
SELECT count(*) AS tot, sum(value) AS total FROM Item WHERE src = 'foreach'

-- OForEachBlockExecutionTest.testReturn: 2 rows summing to 3.
FOREACH ($val IN [1, 2, 3]) {
  INSERT INTO Item SET value = $val, src = 'foreachret';
  IF ($val = 2) {
    RETURN;
  }
}

SELECT count(*) AS tot, sum(value) AS total FROM Item WHERE src = 'foreachret'

-- A WHILE as the last statement answers nothing.
LET $i = 0; WHILE ($i < 2) { LET $i = $i + 1; }

-- OScriptExecutionTest.testIf: the second IF sees the first one's insert; count 2.
INSERT INTO Item SET name = 'foo';
LET $1 = SELECT count(*) AS count FROM Item WHERE name = 'bar';
IF ($1.size() = 0 OR $1[0].count = 0) {
   INSERT INTO Item SET name = 'bar';
}
LET $2 = SELECT count(*) AS count FROM Item WHERE name = 'bar';
IF ($2.size() = 0 OR $2[0].count = 0) {
   INSERT INTO Item SET name = 'bar';
}

SELECT count(*) AS count FROM Item WHERE name IN ['foo', 'bar']

-- OScriptExecutionTest.testReturnInIf: the condition is false, so no RETURN: 'baz' is inserted too (the class then holds 2 records).
CREATE CLASS RetIf;
INSERT INTO RetIf SET name = 'foo';
LET $1 = SELECT count(*) AS count FROM RetIf WHERE name = 'foo';
IF ($1.size() = 0 OR $1[0].count = 0) {
   INSERT INTO RetIf SET name = 'bar';
   RETURN;
}
INSERT INTO RetIf SET name = 'baz';

SELECT count(*) AS count FROM RetIf

-- OScriptExecutionTest.testReturnInIf2 and testReturnInIf3.
LET $1 = SELECT count(*) AS count FROM Item WHERE name = 'foo';
IF ($1.size() > 0) {
   RETURN 'OK';
}
RETURN 'FAIL';

LET $1 = SELECT count(*) AS count FROM Item WHERE name = 'foo';
IF ($1.size() = 0) {
   RETURN 'FAIL';
}
RETURN 'OK';

-- OScriptExecutionTest.testLazyExecutionPlanning: a body that is not run is not planned either.
LET $1 = SELECT FROM Item WHERE name = 'nonExisting';
IF ($1.size() > 0) {
   SELECT FROM nonExistingClass;
   RETURN 'FAIL';
}
RETURN 'OK';

-- OCommandExecutorSQLScriptTest.testIfRealQuery: RETURN of a LET statement answers its rows (2 here).
LET $a = SELECT FROM Item WHERE name IN ['foo', 'bar'];
IF ($a IS NOT NULL AND $a.size() = 2) {
  RETURN $a
}
RETURN 'FAIL'

-- OCommandExecutorSQLScriptTest.testIfMultipleStatements: a LET in the block, then RETURN of a value.
LET $a = SELECT 1 AS one;
IF ($a[0].one = 1) {
  LET $b = SELECT 'OK' AS ok
  RETURN $b[0].ok
}
RETURN 'FAIL'

-- Nested blocks: FOREACH in WHILE in IF; the FOREACH variable keeps its last value (ForEachStep sets it in the enclosing context).
LET $n = 0;
IF (true) {
  WHILE ($n < 2) {
    FOREACH ($x IN [10, 20]) { LET $n = $n + 1; }
  }
}
RETURN [$n, $x]

-- FOREACH over a LET statement's rows and over a single value.
LET $rows = SELECT value FROM Item WHERE src = 'foreach' ORDER BY value;
LET $s = 0;
FOREACH ($r IN $rows) { LET $s = $s + $r.value; }
FOREACH ($one IN 5) { LET $s = $s + $one; }
RETURN $s

-- LET of a parenthesised SELECT is an expression whose value is a list (OParenthesisExpression.execute), so RETURN answers one {"value": [...]} row (OReturnStatement.executeSimple).
LET $x = (SELECT name FROM Item WHERE name = 'foo'); RETURN $x

-- LET of INSERT and UPDATE statements: RETURN $x answers their rows (OLetStatement keeps a statement's result set).
LET $i = INSERT INTO Item SET name = 'let-insert'; RETURN $i

LET $u = UPDATE Item SET touched = true RETURN AFTER WHERE name = 'let-insert'; RETURN $u

-- A block in a block, each ending without ';', on one line.
IF (true) { IF (true) { SELECT 'inner' AS w } }

-- Errors name what is wrong and where.
IF (1 = 1) { SELECT 1

WHILE 1 = 1 { SELECT 1 }

FOREACH ($x [1, 2]) { SELECT 1 }

IF (true) { SELECT FROM Nobody }
