-- Syntax errors name line, column and what was expected.
SELEC name FROM V

SELECT name FORM V

SELECT name FROM V WHERE

SELECT name
FROM V
WHERE name = 'x' AND

SELECT FROM V WHERE name = 'unterminated

UPDATE V SET

-- Semantic errors name the thing and where it is (most show when a row is evaluated).
CREATE VERTEX SET name = 'a'; CREATE VERTEX SET name = 'b'; CREATE VERTEX SET name = 'c'

SELECT FROM Nobody

SELECT name FROM V WHERE nosuch(name) = 1

SELECT $undefined FROM V

SELECT FROM cluster:nowhere

SELECT FROM V WHERE @this INSTANCEOF Nobody

SELECT 1 / 0

SELECT 'a' - 1

SELECT FROM V WHERE name MATCHES '(?<x>a)'

SELECT FROM (INSERT INTO V SET a = 1)

-- Access: read-only requests run queries only; writers cannot change the schema.
-- access: read
SELECT count(*) FROM V

-- access: read
INSERT INTO V SET name = 'x'

-- access: read
CREATE CLASS Foo

-- access: read
LET $x = SELECT FROM V; DELETE VERTEX V

-- access: write
CREATE VERTEX SET name = 'written'

-- access: write
CREATE CLASS Foo

-- access: write
DROP CLASS V

-- access: read
EXPLAIN DELETE FROM V

-- access: read
-- limit: 2
SELECT name FROM V

-- limit: 1
SELECT FROM V LIMIT 5
