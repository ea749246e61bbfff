-- EXPLAIN names the index a query uses, or the full scan; PROFILE adds the actual rows.
CREATE CLASS Person EXTENDS V;
CREATE CLASS Employee EXTENDS Person;
CREATE PROPERTY Person.name STRING;
CREATE PROPERTY Person.age INTEGER;
INSERT INTO Person (name, age) VALUES ('ada', 36), ('bob', 25), ('cy', 41), ('dee', 25);
INSERT INTO Employee (name, age) VALUES ('eve', 30), ('fay', 52)
SELECT count(*) FROM Person

EXPLAIN SELECT FROM Person WHERE name = 'bob'

CREATE INDEX Person.name UNIQUE

CREATE INDEX byAge ON Person (age) NOTUNIQUE

EXPLAIN SELECT FROM Person WHERE name = 'bob'

SELECT name, age FROM Person WHERE name = 'bob'

EXPLAIN SELECT name FROM Person WHERE age = 25 AND name <> 'x' ORDER BY name

SELECT name FROM Person WHERE age = 25 AND name <> 'x' ORDER BY name

-- Equality on the unique index wins over a range on the other.
EXPLAIN SELECT FROM Person WHERE age > 20 AND name = 'cy'

-- Ranges, BETWEEN and IN use the index; the WHERE still filters every candidate.
EXPLAIN SELECT FROM Person WHERE age >= 30 AND age < 45

SELECT name, age FROM Person WHERE age >= 30 AND age < 45 ORDER BY age

SELECT name FROM Person WHERE age BETWEEN 25 AND 30 ORDER BY name

SELECT name FROM Person WHERE name IN ['fay', 'ada', 'nobody'] ORDER BY name

-- Values are converted to the property's type before the lookup.
SELECT name FROM Person WHERE age = '41'

-- The index covers subclasses; a lookup from a subclass keeps only its records.
SELECT name FROM Employee WHERE age > 20 ORDER BY name

EXPLAIN SELECT FROM Employee WHERE name = 'ada'

SELECT FROM Employee WHERE name = 'ada'

-- No index on the property, or an OR: full scan.
EXPLAIN SELECT FROM Person WHERE nick = 'x'

EXPLAIN SELECT FROM Person WHERE name = 'ada' OR age = 25

EXPLAIN SELECT count(*) FROM Person

EXPLAIN SELECT FROM #11:0

EXPLAIN UPDATE Person SET age = 26 WHERE name = 'bob'

UPDATE Person SET age = 26 WHERE name = 'bob'

SELECT name FROM Person WHERE age = 26

PROFILE SELECT FROM Person WHERE age = 25
