-- MATCH: chains, joins on shared aliases, filters, recursion, optional nodes, NOT, RETURN forms.
CREATE CLASS Person EXTENDS V;
CREATE CLASS City EXTENDS V;
CREATE CLASS Knows EXTENDS E;
CREATE CLASS LivesIn EXTENDS E;
CREATE VERTEX Person SET name = 'ada', age = 36;
CREATE VERTEX Person SET name = 'bob', age = 25;
CREATE VERTEX Person SET name = 'cy', age = 41;
CREATE VERTEX Person SET name = 'dee', age = 25;
CREATE VERTEX City SET name = 'Paris';
CREATE VERTEX City SET name = 'Rome';
CREATE EDGE Knows FROM #11:0 TO [#11:1, #11:2];
CREATE EDGE Knows FROM #11:1 TO #11:3;
CREATE EDGE Knows FROM #11:2 TO #11:3;
CREATE EDGE LivesIn FROM [#11:0, #11:1] TO #12:0;
CREATE EDGE LivesIn FROM [#11:2, #11:3] TO #12:1
SELECT count(*) FROM E

MATCH {class: Person, as: p, where: (name = 'ada')}.out('Knows'){as: f} RETURN p.name AS person, f.name AS friend ORDER BY friend

MATCH {class: Person, as: p}-Knows->{as: f}-LivesIn->{class: City, where: (name = 'Rome')} RETURN p.name AS p, f.name AS f ORDER BY p, f

MATCH {class: Person, as: a}.out('Knows'){as: b}.out('Knows'){as: c} RETURN a.name, b.name, c.name ORDER BY b.name

-- Arrows without a label (OrientSQL.jjt OutPathItem/InPathItem/BothPathItem: `-->` is out(), `<--` in(), `--` both()).
MATCH {class: Person, as: p, where: (name = 'bob')}-->{as: x} RETURN x.name AS x ORDER BY x

MATCH {class: Person, as: p, where: (name = 'dee')}<--{as: x} RETURN x.name AS x ORDER BY x

MATCH {class: Person, as: p, where: (name = 'bob')}--{as: x} RETURN x.name AS x ORDER BY x

-- Two patterns joined on an alias; a step back through in().
MATCH {class: Person, as: p}.out('LivesIn'){as: city}, {as: p}.in('Knows'){as: fan, where: (age > 30)} RETURN p.name AS p, city.name AS city, fan.name AS fan ORDER BY p

MATCH {class: City, as: c, where: (name = 'Paris')}.in('LivesIn'){as: p} RETURN c.name AS city, p.name AS person ORDER BY person

-- Edges as steps: outE()/inV().
MATCH {class: Person, as: p, where: (name = 'bob')}.outE('Knows'){as: e}.inV(){as: q} RETURN p.name AS p, e.@class AS label, q.name AS q

-- Recursion with while and maxDepth; $depth; depthAlias.
MATCH {class: Person, as: p, where: (name = 'ada')}.out('Knows'){as: r, while: ($depth < 2), depthAlias: d} RETURN r.name AS name, d ORDER BY d, name

MATCH {class: Person, as: p, where: (name = 'ada')}.out('Knows'){as: r, maxDepth: 1, where: ($depth > 0)} RETURN r.name AS name ORDER BY name

-- $matched: conditions on aliases bound earlier.
MATCH {class: Person, as: a}.out('Knows'){as: b}.out('LivesIn'){as: c, where: ($matched.a.out('LivesIn') CONTAINS $currentMatch)} RETURN a.name AS a, b.name AS b, c.name AS city ORDER BY a, b

-- Optional nodes bind null; NOT excludes matches.
MATCH {class: Person, as: p}.out('Knows'){as: f, optional: true} RETURN p.name AS p, f.name AS f ORDER BY p, f

MATCH {class: Person, as: p}, NOT {as: p}.out('Knows'){as: f} RETURN p.name AS loner

-- RETURN forms: aliases as links, $matches, $paths, $elements, DISTINCT, GROUP BY, SKIP/LIMIT.
MATCH {class: Person, as: p, where: (name = 'bob')}.out('Knows'){as: f} RETURN p, f

MATCH {class: Person, as: p, where: (name = 'bob')}.out('Knows'){as: f} RETURN $matches

MATCH {class: Person, as: p, where: (name = 'bob')}.out('Knows'){} RETURN $paths

MATCH {class: Person, where: (name = 'ada')}.out('Knows'){as: f} RETURN $elements

MATCH {class: Person, as: p}.out('Knows').out('Knows'){as: ff} RETURN DISTINCT ff.name AS name

MATCH {class: Person, as: p}.out('LivesIn'){as: c} RETURN c.name AS city, count(*) AS people GROUP BY city ORDER BY city

MATCH {class: Person, as: p} RETURN p.name AS name ORDER BY name SKIP 1 LIMIT 2

MATCH {rid: #11:3, as: p}.in('Knows'){as: f} RETURN f.name AS f ORDER BY f

-- Errors.
MATCH {as: p}.out('Knows'){as: f} RETURN p

MATCH {class: Nobody, as: p} RETURN p

MATCH {class: Person, as: p}.sideways(){as: f} RETURN p
