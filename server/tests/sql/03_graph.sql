-- CREATE VERTEX and CREATE EDGE, from RIDs, lists of RIDs and subqueries.
CREATE CLASS Person EXTENDS V

CREATE CLASS Knows EXTENDS E

CREATE CLASS City EXTENDS V

CREATE VERTEX

CREATE VERTEX Person SET name = 'ada', age = 36

CREATE VERTEX Person CONTENT {"name": "bob", "age": 25}

CREATE VERTEX Person SET name = 'cy'

CREATE VERTEX City SET name = 'Paris'

CREATE EDGE Knows FROM #11:0 TO #11:1 SET since = 2001

CREATE EDGE Knows FROM #11:0 TO [#11:1, #11:2]

CREATE EDGE Knows FROM (SELECT FROM Person WHERE name = 'cy') TO (SELECT FROM Person WHERE name = 'ada') CONTENT {"since": 2010, "how": "work"}

CREATE EDGE FROM #11:1 TO #13:0

CREATE EDGE Knows UPSERT FROM #11:0 TO [#11:1, #13:0]

SELECT FROM Person ORDER BY name

SELECT FROM E

SELECT out_Knows, in_Knows, out('Knows').name AS friends, both().size() AS degree FROM Person ORDER BY name

-- Errors.
CREATE VERTEX Knows

CREATE EDGE Person FROM #11:0 TO #11:1

CREATE EDGE Knows FROM #11:0 TO #11:99

CREATE EDGE Knows FROM #11:0 TO #12:0

CREATE EDGE Knows FROM (SELECT FROM Person WHERE name = 'nobody') TO #11:1

CREATE EDGE Knows FROM #11:0 TO #9:0, #9:1

CREATE VERTEX Person CLUSTER city SET name = 'x'
