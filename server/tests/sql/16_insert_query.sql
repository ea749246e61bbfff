-- INSERT from a query in every form OrientDB's grammar takes (OrientSQL.jjt InsertStatement:
-- [FROM] SELECT ..., or a parenthesised SELECT), translated from
-- core/src/test/java/com/orientechnologies/orient/core/sql/executor/OInsertStatementExecutionTest.java
-- testInsertFromSelect1 and testInsertFromSelect2 (with 3 source records instead of 10).
CREATE CLASS Src;
CREATE CLASS Dst1;
CREATE CLASS Dst2;
CREATE CLASS Dst3;
INSERT INTO Src SET name = 'name0', surname = 'surname0';
INSERT INTO Src SET name = 'name1', surname = 'surname1';
INSERT INTO Src SET name = 'name2', surname = 'surname2'
SELECT count(*) FROM Src

-- testInsertFromSelect1: FROM SELECT, without parentheses.
INSERT INTO Dst1 FROM SELECT FROM Src

SELECT name, surname FROM Dst1 ORDER BY name

-- testInsertFromSelect2: a parenthesised SELECT, without FROM.
INSERT INTO Dst2 ( SELECT FROM Src)

SELECT name, surname FROM Dst2 ORDER BY name

-- A bare SELECT, and RETURN before the query.
INSERT INTO Dst3 RETURN name SELECT name FROM Src WHERE name = 'name1'

SELECT name FROM Dst3
