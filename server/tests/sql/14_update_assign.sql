-- UPDATE with the compound assignments += -= *= /=, translated from OrientDB's
-- core/src/test/java/com/orientechnologies/orient/core/sql/executor/OUpdateStatementExecutionTest.java
-- (testPlusAssign, testMinusAssign, testStarAssign, testSlashAssign): each test starts from
-- records with name 'name<i>' and number 4 (a LONG); these run one after the other on two records.
CREATE CLASS Doc;
INSERT INTO Doc SET name = 'name0', number = 4L;
INSERT INTO Doc SET name = 'name1', number = 4L
SELECT name, number FROM Doc ORDER BY name

-- testPlusAssign: a string concatenates, a missing field plus a string is that string, numbers add (9).
UPDATE Doc SET name += 'foo', newField += 'bar', number += 5

SELECT name, newField, number FROM Doc ORDER BY name

-- testMinusAssign from 4 gives -1; here from 9, 4.
UPDATE Doc SET number -= 5

SELECT number FROM Doc ORDER BY name

-- testStarAssign from 4 gives 20.
UPDATE Doc SET number *= 5

SELECT number FROM Doc ORDER BY name

-- testSlashAssign from 4 gives 2; here 20 / 2 = 10, then 10 / 4 does not divide evenly: 2.5.
UPDATE Doc SET number /= 2

SELECT number FROM Doc ORDER BY name

UPDATE Doc SET number /= 4

SELECT number FROM Doc ORDER BY name
