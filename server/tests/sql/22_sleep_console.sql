-- SLEEP and CONSOLE as script statements.
-- Expectations from OrientDB's tests (orientechnologies/orientdb, develop):
--   core/src/test/java/com/orientechnologies/orient/core/sql/executor/OSleepStatementExecutionTest.java
--     (testBasic: one row, operation = "sleep"),
--   .../executor/OConsoleStatementExecutionTest.java (testLog: level "log", message "foo bar";
--     testError: level "error"; testInvalidLevel: console.bla is an error),
-- and the executor: OSleepStatement.executeSimple (the row also has result "OK" and millis),
-- OConsoleStatement.executeSimple (operation "console", level as written, message as text).
SLEEP 20

console.log 'foo bar'

console.error 'foo bar'

CONSOLE.output 'n = ' + (6 * 7)

LET $who = 'ada'; CONSOLE.warn 'hello ' + $who

-- The script answers its last statement: a SLEEP after a SELECT answers the sleep row.
SELECT 1 AS a; SLEEP 1

-- SLEEP with a parameter.
-- params: [5]
SLEEP ?

console.bla 'foo bar'

CONSOLE log 'x'
