-- CREATE VERTEX with INSERT's bodies, translated from OrientDB's
-- core/src/test/java/com/orientechnologies/orient/core/sql/executor/OCreateVertexStatementExecutionTest.java
-- (testInsertSet, testInsertValue, testInsertValue2, testContent): each returns the vertices it made.
CREATE CLASS testInsertSet EXTENDS V;
CREATE CLASS testInsertValue EXTENDS V;
CREATE CLASS testInsertValue2 EXTENDS V;
CREATE CLASS testContent EXTENDS V
SELECT count(*) FROM V

CREATE VERTEX testInsertSet SET name = 'name1'

CREATE VERTEX testInsertValue  (name, surname) VALUES ('name1', 'surname1')

CREATE VERTEX testInsertValue2  (name, surname) VALUES ('name1', 'surname1'), ('name2', 'surname2')

SELECT name, surname FROM testInsertValue2 ORDER BY name

CREATE VERTEX testContent CONTENT {'name':'name1', 'surname':'surname1'}

SELECT name, surname FROM testContent

-- A row with the wrong number of values is refused.
CREATE VERTEX testInsertValue (name, surname) VALUES ('only one')
