-- The statistics functions mode, median, percentile, variance and stddev, as aggregates over
-- the rows and over a collection argument. Expected answers are OrientDB's unit tests in
-- core/src/test/java/com/orientechnologies/orient/core/sql/functions/stat/
-- (OSQLFunctionVarianceTest, OSQLFunctionPercentileTest, OSQLFunctionModeTest), fed the
-- same values as rows, and hand computations from the code they test
-- (core/src/main/java/com/orientechnologies/orient/core/sql/functions/stat/*.java):
-- variance is the population variance m2 / n, null below two values; percentile reads
-- position q * (n + 1) of the sorted values.
CREATE CLASS Score;
INSERT INTO Score SET t = 'var', v = 4;
INSERT INTO Score SET t = 'var', v = 7;
INSERT INTO Score SET t = 'var', v = 15;
INSERT INTO Score SET t = 'var', v = 3;
INSERT INTO Score SET t = 'p', v = 1;
INSERT INTO Score SET t = 'p', v = 2;
INSERT INTO Score SET t = 'p', v = 3;
INSERT INTO Score SET t = 'p', v = 4;
INSERT INTO Score SET t = 'p', v = 5;
INSERT INTO Score SET t = 'p';
INSERT INTO Score SET t = 'one', v = 10
SELECT count(*) FROM Score

-- testVariance: {4, 7, 15, 3} gives 22.1875; stddev is its square root (4.710360920354193).
SELECT variance(v) AS variance, stddev(v) AS stddev FROM Score WHERE t = 'var'

-- testVariance1 {4, 7} gives 2.25 and testVariance2 {15, 3} gives 36.0 (stddev 6.0), as collections.
SELECT variance([4, 7]) AS v1, variance([15, 3]) AS v2, stddev([15, 3]) AS s2

-- Per group: 'one' has a single value, so variance is null (n > 1 ? m2 / n : null); 'p' is
-- 1..5 with a null row skipped: mean 3, m2 10, variance 2.0.
SELECT t, variance(v) AS variance, median(v) AS median FROM Score GROUP BY t ORDER BY t

-- test50thPercentileOdd(WithNulls) 3.0, testFirstQuartile 1.5, testThirdQuartile 4.5,
-- testMultiQuartile [1.5, 4.5].
SELECT median(v) AS median, percentile(v, 0.25) AS q1, percentile(v, 0.75) AS q3, percentile(v, 0.25, 0.75) AS both FROM Score WHERE t = 'p'

-- testSingleValueLower / Upper: one value 10 gives 10 itself (not 10.0) for any quantile.
SELECT percentile(v, 0.25) AS low, percentile(v, 0.75) AS high, median(v) AS median FROM Score WHERE t = 'one'

-- test50thPercentileEven: {1, 2, 4, 5} gives 3.0 (position 2.5 between 2 and 4).
SELECT median([5, 1, 4, 2]) AS median, percentile([1, 2, 4, 5], '0.5') AS p

-- testSingleMode {1, 2, 3, 3, 3, 2} gives [3]; testMultiMode {1, 2, 3, 3, 3, 2, 2} gives 3
-- and 2 (in the order they reached the top count); testMultiValue: two lists with nulls give
-- [1]; their median is over the 8 numbers 1 1 1 1 2 2 3 4: position 4.5, 1.5.
SELECT mode([1, 2, 3, 3, 3, 2]) AS single, mode([1, 2, 3, 3, 3, 2, 2]) AS multi

CREATE CLASS Bag;
INSERT INTO Bag SET x = [1, 2, null, 3, 4];
INSERT INTO Bag SET x = [1, 1, 1, 2, null]
SELECT mode(x) AS mode, median(x) AS median FROM Bag

-- mode counts any value, strings too: 'var' is in 4 rows, 'p' in 6.
SELECT mode(t) AS mode FROM Score

-- testEmpty: no values give null for all five (the one row is Basalt's answer to an aggregate over no rows).
SELECT mode(v) AS mode, median(v) AS median, percentile(v, 0.5) AS p, variance(v) AS variance, stddev(v) AS stddev FROM Score WHERE t = 'none'

-- A collection argument outside a projection: WHERE median([...]) (3.0) and in an expression.
SELECT count(*) AS n FROM Score WHERE v > median([1, 2, 3, 4, 5])

SELECT variance([4, 7]) * 4 AS m2

-- Errors: a non-number inside a collection (OrientDB fails on its (Number) cast), a
-- quantile that is not a number, and wrong argument counts.
SELECT variance(['a', 'b'])

SELECT percentile(v, 'half') FROM Score WHERE t = 'p'

SELECT percentile(v) FROM Score

SELECT median(v, 0.5) FROM Score

-- An unknown name lists the nearest known ones.
SELECT medain(v), stdev(v) FROM Score
