-- date(), sysdate(), format() and the .format() method. Expected answers come from
-- OrientDB's tests, core/src/test/java/com/orientechnologies/orient/core/sql/OCommandExecutorSQLSelectTest.java
-- (testDateFormat) and tests/src/test/java/com/orientechnologies/orient/test/database/auto/SQLFunctionsTest.java
-- (queryFormat, querySysdateNoFormat, querySysdateWithFormat, queryDate), and by hand from
-- core/src/main/java/com/orientechnologies/orient/core/sql/functions/misc/OSQLFunctionDate.java,
-- OSQLFunctionSysdate.java, text/OSQLFunctionFormat.java (Java's String.format) and
-- core/src/main/java/com/orientechnologies/orient/core/sql/method/misc/OSQLMethodFormat.java
-- (a date in a SimpleDateFormat pattern). The database time zone is UTC.
CREATE CLASS Account;
INSERT INTO Account SET nr = 1, street = 'Via Roma', type = 'home';
INSERT INTO Account SET nr = 22, street = 'Rue Neuve', type = 'work'
SELECT count(*) FROM Account

-- testDateFormat: date('2015-07-20', 'yyyy-MM-dd').format('dd.MM.yyyy') is "20.07.2015".
SELECT date('2015-07-20', 'yyyy-MM-dd').format('dd.MM.yyyy') AS dd

-- queryDate's pattern yyyy-MM-dd'T'HH:mm:ss.SSS'Z'; a time zone argument moves the wall clock
-- (12:30 at +02:00 is 10:30 UTC); date(number) is that many milliseconds (86400000 is 1970-01-02).
SELECT date('2024-02-29T10:11:12.345Z', "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'") AS iso, date('29/02/2024 12:30', 'dd/MM/yyyy HH:mm', '+02:00') AS zoned, date(86400000) AS day2, date(null) AS none

-- .format with names and a zone: 2024-02-29 was a Thursday; 10:11 UTC is 12:11 at GMT+2.
SELECT date('2024-02-29 10:11:12').format('EEEE d MMMM yyyy, h:mm a') AS long, date('2024-02-29 10:11:12').format('HH:mm Z', 'GMT+2') AS zoned

-- OSQLMethodFormat: a list of dates gives a list of texts; any other value goes through
-- String.format (22 in %05d is 00022).
SELECT [date('2015-07-20'), date('2016-01-02')].format('yy/M/d') AS dates, nr.format('%05d') AS padded FROM Account WHERE nr = 22

-- querySysdateNoFormat / querySysdateWithFormat: a date per row, and text in the pattern
-- (dd-MM-yyyy: 10 characters); queryDate: every record created by date() is <= now.
SELECT sysdate() IS NOT NULL AS present, sysdate('dd-MM-yyyy').length() AS len, sysdate('yyyy').asInteger() >= 2024 AS recent FROM Account

UPDATE Account SET created = date()

SELECT count(*) AS n FROM Account WHERE created <= sysdate()

-- queryFormat: format('%d - %s (%s)', nr, street, type, dummy) (a missing field prints
-- null; extra arguments are ignored); width, precision, flags as Java's String.format.
SELECT format('%d - %s (%s)', nr, street, type, dummy) AS output FROM Account ORDER BY nr

SELECT format('%5d|%-6s|%05d|%.2f|%,d|%x|%S%%', 42, 'ab', -42, 3.14159, 1234567, 255, 'up') AS f

-- Errors: Java refuses %d for a decimal number and a missing argument; a date that does not
-- match its pattern is OSQLFunctionDate's error; a pattern letter or zone Basalt lacks.
SELECT format('%d', 2.5)

SELECT format('%s and %s', 'one')

SELECT date('2015/07/20', 'yyyy-MM-dd')

SELECT date('2015-07-20', 'yyyy-ww')

SELECT sysdate('yyyy', 'Europe/Rome')
