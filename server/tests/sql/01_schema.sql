-- Classes: plain, vertex and edge subclasses, abstract, IF NOT EXISTS.
CREATE CLASS Account

CREATE CLASS Person EXTENDS V

CREATE CLASS Knows EXTENDS E

CREATE CLASS Animal EXTENDS V ABSTRACT

CREATE CLASS Dog EXTENDS Animal

CREATE CLASS Person IF NOT EXISTS

-- A second CREATE of the same class is refused.
CREATE CLASS Person

CREATE CLASS Robot EXTENDS Missing

CREATE CLASS Both EXTENDS Person, Account

-- Properties: types, linked types and classes, constraints.
CREATE PROPERTY Person.name STRING (MANDATORY true, NOTNULL)

CREATE PROPERTY Person.age INTEGER

CREATE PROPERTY Person.tags EMBEDDEDLIST STRING

CREATE PROPERTY Person.best LINK Person

CREATE PROPERTY Person.born DATETIME

CREATE PROPERTY Person.age LONG

CREATE PROPERTY Person.age IF NOT EXISTS LONG

CREATE PROPERTY Nobody.name STRING

CREATE PROPERTY Person.nick STRING (MIN 3)

ALTER PROPERTY Person.age TYPE LONG

ALTER PROPERTY Person.name MANDATORY false

ALTER PROPERTY Person.ghost MANDATORY false

DROP PROPERTY Person.born

DROP PROPERTY Person.born

DROP PROPERTY Person.born IF EXISTS

-- Indexes: Class.property form and named form with ON.
CREATE INDEX Person.name UNIQUE

CREATE INDEX byAge ON Person (age) NOTUNIQUE

CREATE INDEX byNameAge ON Person (name, age) NOTUNIQUE_HASH_INDEX

CREATE INDEX Person.name UNIQUE

CREATE INDEX words ON Person (name) FULLTEXT

CREATE INDEX onMissing ON Nobody (x) UNIQUE

DROP PROPERTY Person.age

DROP INDEX byNameAge

DROP INDEX byNameAge

DROP INDEX byNameAge IF EXISTS

-- A class with no records counts 0.
SELECT count(*) FROM Person

-- ALTER CLASS.
ALTER CLASS Account NAME Customer

ALTER CLASS Customer STRICTMODE true

ALTER CLASS Customer SUPERCLASS V

ALTER CLASS Customer SUPERCLASS null

ALTER CLASS Animal ABSTRACT false

ALTER CLASS Customer SHORTNAME c

-- DROP CLASS.
DROP CLASS Customer

DROP CLASS Customer

DROP CLASS Customer IF EXISTS

INSERT INTO Dog SET name = 'Rex'

DROP CLASS Dog

DROP CLASS Dog UNSAFE

TRUNCATE CLASS Person UNSAFE

CREATE CLUSTER extra
