-- Scripts: several statements, LET and RETURN, transactions with BEGIN / COMMIT / ROLLBACK.
CREATE CLASS Person EXTENDS V;
CREATE CLASS Knows EXTENDS E;
CREATE PROPERTY Person.name STRING;
CREATE INDEX Person.name UNIQUE

-- Without BEGIN, each statement commits on its own; the result is the last statement's.
INSERT INTO Person SET name = 'ada'; INSERT INTO Person SET name = 'bob'

-- A transaction: temporary RIDs from LET are usable by later statements; the result shows real RIDs.
BEGIN;
LET $a = CREATE VERTEX Person SET name = 'cy';
LET $b = CREATE VERTEX Person SET name = 'dee';
LET $e = CREATE EDGE Knows FROM $a TO $b SET since = 2020;
COMMIT;
RETURN [$a, $b, $e]

SELECT name, out('Knows').name AS knows FROM Person ORDER BY name

-- ROLLBACK drops everything since BEGIN.
BEGIN;
INSERT INTO Person SET name = 'eve';
UPDATE Person SET flag = true WHERE name = 'ada';
ROLLBACK

SELECT count(*) AS n, count(flag) AS flagged FROM Person

-- A failing statement inside a transaction commits nothing (the duplicate key fails at COMMIT).
BEGIN;
INSERT INTO Person SET name = 'fay';
INSERT INTO Person SET name = 'ada';
COMMIT

SELECT name FROM Person WHERE name = 'fay'

-- COMMIT RETRY, and reads inside a transaction see its own writes (count includes gus).
BEGIN;
INSERT INTO Person SET name = 'gus';
LET $n = SELECT count(*) AS n FROM Person;
COMMIT RETRY 3;
RETURN $n

SELECT count(*) AS n FROM Person

-- Two updates of one record in a transaction: the second builds on the first.
BEGIN;
UPDATE Person SET visits = 1 WHERE name = 'ada';
UPDATE Person INCREMENT visits = 1 WHERE name = 'ada';
COMMIT;
SELECT name, visits FROM Person WHERE name = 'ada'

-- LET of an expression, RETURN of a value.
LET $x = 6 * 7; RETURN $x

LET $people = SELECT FROM Person WHERE name IN ['ada', 'bob']; RETURN $people.size()

LET $people = SELECT FROM Person WHERE name IN ['ada', 'bob']; SELECT name FROM $people ORDER BY name DESC

-- A whole request as one transaction (what /batch does with "transaction": true).
-- transaction: true
LET $h = CREATE VERTEX Person SET name = 'hal';
CREATE EDGE Knows FROM $h TO (SELECT FROM Person WHERE name = 'ada')

-- transaction: true
LET $j = CREATE VERTEX Person SET name = 'jo';
RETURN $j

-- transaction: true
CREATE VERTEX Person SET name = 'ivy';
CREATE VERTEX Person SET name = 'ivy'

SELECT name FROM Person WHERE name IN ['hal', 'ivy']

-- Schema and data in one transaction.
BEGIN;
CREATE CLASS Pet EXTENDS V;
CREATE VERTEX Pet SET name = 'rex';
COMMIT

SELECT name FROM Pet

-- Errors.
COMMIT

ROLLBACK

BEGIN; BEGIN

BEGIN; INSERT INTO Person SET name = 'zed'

SELECT name FROM Person WHERE name = 'zed'

RETURN $nothing

SELECT FROM Person WHERE name IN (SELECT name FROM Nobody)
