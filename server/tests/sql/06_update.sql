-- UPDATE: SET, INCREMENT, ADD, REMOVE, PUT, CONTENT, MERGE, UPSERT, RETURN, LIMIT.
CREATE CLASS Item;
CREATE PROPERTY Item.qty INTEGER;
INSERT INTO Item SET name = 'apple', qty = 3, tags = ['fruit'];
INSERT INTO Item SET name = 'pear', qty = 5;
INSERT INTO Item SET name = 'plum', qty = 0, tags = ['fruit', 'purple']
SELECT name, qty, tags FROM Item ORDER BY name

UPDATE Item SET qty = qty + 1, checked = true WHERE name = 'apple'

UPDATE Item INCREMENT qty = 10 WHERE qty < 5

UPDATE Item INCREMENT sold = 2 WHERE name = 'pear'

UPDATE Item ADD tags = 'green' WHERE name IN ['apple', 'pear']

UPDATE Item REMOVE tags = 'fruit' WHERE name = 'plum'

UPDATE Item REMOVE checked WHERE name = 'apple'

UPDATE Item PUT prices = 'eur', 2.5 WHERE name = 'apple'

UPDATE Item PUT prices = 'usd', 3 WHERE name = 'apple'

UPDATE Item REMOVE prices = 'eur' WHERE name = 'apple'

SELECT name, qty, sold, tags, prices, checked FROM Item ORDER BY name

UPDATE #11:1 MERGE {"origin": "France", "qty": 7}

UPDATE #11:2 CONTENT {"name": "plum", "qty": 9}

SELECT FROM Item ORDER BY name

-- RETURN BEFORE / AFTER, with and without a projection; LIMIT.
UPDATE Item SET qty = 1 RETURN BEFORE WHERE name = 'pear'

UPDATE Item SET qty = 2 RETURN AFTER WHERE name = 'pear'

UPDATE Item SET qty = 3 RETURN AFTER @rid WHERE name = 'pear'

UPDATE Item SET qty = qty * 2 RETURN AFTER $current.qty WHERE name = 'pear'

UPDATE Item SET batch = 1 LIMIT 2

SELECT count(*) FROM Item WHERE batch = 1

-- UPSERT: updates the match, or creates a record from the WHERE's equalities.
UPDATE Item SET qty = 4 UPSERT WHERE name = 'kiwi'

UPDATE Item SET qty = 5 UPSERT RETURN AFTER WHERE name = 'kiwi'

UPDATE Item SET qty = 6 WHERE name = 'nothing'

-- Errors: a wrong type for a declared property, an unknown class.
UPDATE Item SET qty = 'many' WHERE name = 'kiwi'

UPDATE Item INCREMENT name = 1 WHERE name = 'kiwi'

UPDATE Nothing SET a = 1

UPDATE #11:99 SET a = 1 UPSERT
