-- INSERT: SET, CONTENT, VALUES, FROM a query, RETURN; the schema converts values.
CREATE CLASS Person EXTENDS V

CREATE PROPERTY Person.age INTEGER

CREATE PROPERTY Person.born DATETIME

CREATE CLASS Note

INSERT INTO Person SET name = 'Ada', age = '36', born = '1815-12-10'

INSERT INTO Person CONTENT {"name": "Grace", "age": 85, "tags": ["navy", "cobol"], "address": {"city": "Arlington", "zip": "22201"}}

INSERT INTO Person (name, age) VALUES ('Alan', 41), ('Edsger', 72)

INSERT INTO Person (name, age) VALUES ('Barbara')

INSERT INTO Note CONTENT [{"text": "first"}, {"text": "second", "n": 2}]

INSERT INTO Note SET text = 'with return' RETURN @rid

INSERT INTO Note SET text = 'whole record' RETURN @this

INSERT INTO Note SET text = 'expression', n = 1 + 2 * 3, up = 'abc'.toUpperCase(), t = [1, 'a', null]

INSERT INTO Note FROM (SELECT name AS text, age AS n FROM Person WHERE age > 70)

INSERT INTO cluster:note SET text = 'by cluster'

SELECT text, n FROM Note ORDER BY @rid

-- Errors: wrong type for a declared property, unknown class, edge class, link bags.
INSERT INTO Person SET name = 'Bad', age = 'old'

INSERT INTO Nobody SET a = 1

CREATE CLASS Likes EXTENDS E

INSERT INTO Likes SET since = 2020

INSERT INTO Person SET out_Likes = [#9:0]

INSERT INTO cluster:nowhere SET a = 1

INSERT INTO Note SET deep = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]
