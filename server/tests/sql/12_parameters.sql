-- Named (:name) and positional (?) parameters, in values, targets, LIMIT and SKIP.
CREATE CLASS Person EXTENDS V;
INSERT INTO Person (name, age) VALUES ('ada', 36), ('bob', 25), ('cy', 41)
SELECT count(*) FROM Person

-- params: {"name": "bob"}
SELECT name, age FROM Person WHERE name = :name

-- params: [30, 1]
SELECT name FROM Person WHERE age > ? ORDER BY name LIMIT ?

-- params: {"min": 20, "names": ["ada", "cy"]}
SELECT name FROM Person WHERE age > :min AND name IN :names ORDER BY name

-- params: {"rid": "#11:2"}
SELECT name FROM :rid

-- params: {"0": "dee", "1": 52}
INSERT INTO Person SET name = ?, age = ?

-- params: {"who": "dee", "content": {"age": 53, "city": "Oslo"}}
UPDATE Person MERGE :content WHERE name = :who

-- params: {"who": "dee"}
SELECT name, age, city FROM Person WHERE name = :who

-- params: {"skip": 1, "limit": 2}
SELECT name FROM Person ORDER BY name SKIP :skip LIMIT :limit

-- Positional parameters count across a script's statements.
-- params: ["ada", "bob"]
LET $a = SELECT FROM Person WHERE name = ?; LET $b = SELECT FROM Person WHERE name = ?; RETURN [$a.name, $b.name]

-- Missing parameters are errors naming them.
SELECT FROM Person WHERE name = :missing

-- params: ["one"]
SELECT FROM Person WHERE name = ? OR name = ?

-- params: {"n": "x"}
SELECT FROM Person LIMIT :n
