//! Splitting typed or scripted text into statements.
//!
//! A statement ends at:
//! - a `;` outside quotes and comments;
//! - a blank line (outside quotes and block comments), so SQL typed without `;` runs after an
//!   empty line;
//! - the end of its first line when it is a console command (`EXIT`, `HA STATUS`, `CONNECT ...`),
//!   as in OrientDB's console, so those need no `;`.
//!
//! While a bracket (`(`, `[`, `{`) is open, line ends and blank lines do not end the statement:
//! it goes on until the brackets balance (a `;` still ends it, so one stray bracket cannot swallow
//! the rest of a script). [`Scanner::pending`] says what is open, for the REPL's continuation
//! prompt (`'>`, `(>`, ...).
//!
//! Quotes are `'...'` and `"..."` (a backslash escapes the next character, as in OrientDB SQL) and
//! `` `...` `` (identifiers, no escapes). Comments (`-- ...` to the end of the line and `/* ... */`)
//! are removed from the statements, so the server never has to parse them. `//` is not a comment:
//! it is too common in URLs (`CONNECT http://host/db`).
//!
//! [`Scanner`] is incremental: the REPL feeds it one line at a time and runs each statement as
//! soon as it is complete; scripts feed everything at once and call [`Scanner::finish`].

use super::command::is_console_command;

/// Where the scanner is within the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Plain statement text.
    Code,
    /// Inside a quote that ends with this character.
    Quote(char),
    /// Inside `-- ...`, up to the end of the line.
    LineComment,
    /// Inside `/* ... */`.
    BlockComment,
}

/// An incremental statement splitter; see the module doc for the rules.
#[derive(Debug, Clone)]
pub struct Scanner {
    /// Where the scanner stands.
    state: State,
    /// True right after a backslash inside a `'` or `"` quote.
    escaped: bool,
    /// The statement collected so far, comments removed.
    current: String,
    /// True once the current line held anything but whitespace (a comment counts).
    line_has_content: bool,
    /// The line (1-based) the open quote or block comment started on, for error messages.
    opened_at_line: usize,
    /// The line being scanned, 1-based.
    line: usize,
    /// The brackets open in the statement, innermost last.
    brackets: Vec<char>,
}

impl Default for Scanner {
    fn default() -> Scanner {
        Scanner::new()
    }
}

impl Scanner {
    /// A scanner at the start of the text.
    pub fn new() -> Scanner {
        Scanner {
            state: State::Code,
            escaped: false,
            current: String::new(),
            line_has_content: false,
            opened_at_line: 0,
            line: 1,
            brackets: Vec::new(),
        }
    }

    /// What the statement typed so far leaves open: the quote character, the innermost open
    /// bracket, `*` for a block comment, `-` for a statement without its end yet; `None` when
    /// nothing is typed.
    pub fn pending(&self) -> Option<char> {
        match self.state {
            State::Quote(q) => Some(q),
            State::BlockComment => Some('*'),
            State::Code | State::LineComment => match self.brackets.last() {
                Some(&b) => Some(b),
                None if self.current.trim().is_empty() => None,
                None => Some('-'),
            },
        }
    }

    /// True when no statement is partly typed (the REPL then shows its main prompt).
    pub fn is_idle(&self) -> bool {
        self.state == State::Code && self.current.trim().is_empty()
    }

    /// Drops any partly typed statement (Ctrl-C in the REPL).
    pub fn reset(&mut self) {
        *self = Scanner::new();
    }

    /// Scans more text; returns the statements it completed, trimmed and without their `;`.
    pub fn feed(&mut self, text: &str) -> Vec<String> {
        let mut done = Vec::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match self.state {
                State::Code => match c {
                    ';' => self.end_statement(&mut done),
                    '\n' => self.end_line(&mut done),
                    '\'' | '"' | '`' => {
                        self.open(State::Quote(c));
                        self.current.push(c);
                    }
                    '-' if chars.peek() == Some(&'-') => {
                        chars.next();
                        self.open(State::LineComment);
                    }
                    '/' if chars.peek() == Some(&'*') => {
                        chars.next();
                        self.open(State::BlockComment);
                        // Keeps `a/**/b` two tokens.
                        self.current.push(' ');
                    }
                    _ => {
                        if !c.is_whitespace() {
                            self.line_has_content = true;
                        }
                        match c {
                            '(' | '[' | '{' => self.brackets.push(c),
                            ')' | ']' | '}' => {
                                self.brackets.pop();
                            }
                            _ => {}
                        }
                        self.current.push(c);
                    }
                },
                State::Quote(quote) => {
                    self.current.push(c);
                    if c == '\n' {
                        self.line += 1;
                    }
                    if self.escaped {
                        self.escaped = false;
                    } else if c == '\\' && quote != '`' {
                        self.escaped = true;
                    } else if c == quote {
                        self.state = State::Code;
                    }
                }
                State::LineComment => {
                    if c == '\n' {
                        self.state = State::Code;
                        self.end_line(&mut done);
                    }
                }
                State::BlockComment => {
                    if c == '\n' {
                        self.line += 1;
                    } else if c == '*' && chars.peek() == Some(&'/') {
                        chars.next();
                        self.state = State::Code;
                    }
                }
            }
        }
        done
    }

    /// Ends the text: returns the last statement if one is left without a terminator, or an
    /// error if a quote or block comment is still open.
    pub fn finish(&mut self) -> Result<Option<String>, String> {
        let open = match self.state {
            State::Quote(q) => Some(format!("a {q} quote opened on line {} is not closed", self.opened_at_line)),
            State::BlockComment => Some(format!("a /* comment opened on line {} is not closed", self.opened_at_line)),
            State::Code | State::LineComment => None,
        };
        let last = self.current.trim().to_owned();
        self.reset();
        match open {
            Some(why) => Err(why),
            None if last.is_empty() => Ok(None),
            None => Ok(Some(last)),
        }
    }

    fn open(&mut self, state: State) {
        self.state = state;
        self.opened_at_line = self.line;
        self.line_has_content = true;
    }

    fn end_statement(&mut self, done: &mut Vec<String>) {
        let statement = self.current.trim();
        if !statement.is_empty() {
            done.push(statement.to_owned());
        }
        self.current.clear();
        self.brackets.clear();
    }

    fn end_line(&mut self, done: &mut Vec<String>) {
        self.line += 1;
        let blank = !self.line_has_content;
        self.line_has_content = false;
        let statement = self.current.trim_start();
        if statement.is_empty() {
            self.current.clear();
        } else if !self.brackets.is_empty() {
            self.current.push('\n');
        } else if blank || (!statement.contains('\n') && is_console_command(statement)) {
            self.end_statement(done);
        } else {
            self.current.push('\n');
        }
    }
}

/// Splits a whole script (`-c` text or a `--file`) into statements.
pub fn split_script(text: &str) -> Result<Vec<String>, String> {
    let mut scanner = Scanner::new();
    let mut statements = scanner.feed(text);
    if let Some(last) = scanner.finish()? {
        statements.push(last);
    }
    Ok(statements)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn split(text: &str) -> Vec<String> {
        split_script(text).unwrap()
    }

    #[test]
    fn splits_on_semicolons_and_drops_empty_statements() {
        assert_eq!(split("SELECT 1; SELECT 2;;  ;select 3"), ["SELECT 1", "SELECT 2", "select 3"]);
        assert_eq!(split(""), Vec::<String>::new());
        assert_eq!(split(" ;\n; "), Vec::<String>::new());
    }

    #[test]
    fn semicolons_inside_quotes_do_not_split() {
        assert_eq!(
            split(r#"INSERT INTO V SET a = 'x;y', b = "p;q"; SELECT `we;ird` FROM V"#),
            [r#"INSERT INTO V SET a = 'x;y', b = "p;q""#, "SELECT `we;ird` FROM V"]
        );
        // An escaped quote does not close the string.
        assert_eq!(split(r"SELECT 'it\'s; fine'; SELECT 2"), [r"SELECT 'it\'s; fine'", "SELECT 2"]);
        assert_eq!(split(r#"SELECT "a\\"; SELECT 2"#), [r#"SELECT "a\\""#, "SELECT 2"]);
        // Doubled quotes: close and reopen, so the `;` stays inside.
        assert_eq!(split("SELECT 'a'';b'; SELECT 2"), ["SELECT 'a'';b'", "SELECT 2"]);
        // Comment markers inside strings are text.
        assert_eq!(split("SELECT '--not', \"/*x*/\", 'a//b'"), ["SELECT '--not', \"/*x*/\", 'a//b'"]);
    }

    #[test]
    fn comments_are_removed() {
        assert_eq!(split("-- header; still a comment\nSELECT 1; -- trailing; comment\n"), ["SELECT 1"]);
        assert_eq!(split("SELECT /* a; b */ 1; -- note;\nSELECT 2"), ["SELECT   1", "SELECT 2"]);
        assert_eq!(
            split("CONNECT http://h:2480/db u p\nSELECT 'a' // 2"),
            ["CONNECT http://h:2480/db u p", "SELECT 'a' // 2"]
        );
        assert_eq!(split("SELECT a/**/FROM V"), ["SELECT a FROM V"]);
        assert_eq!(split("SELECT 5 - 3 / 1"), ["SELECT 5 - 3 / 1"]);
    }

    #[test]
    fn multi_line_statements_end_at_semicolon_or_blank_line() {
        assert_eq!(split("SELECT\n  FROM V\n WHERE a = 1;\nSELECT 2"), ["SELECT\n  FROM V\n WHERE a = 1", "SELECT 2"]);
        assert_eq!(split("SELECT\nFROM V\n\nSELECT 2\n  \n"), ["SELECT\nFROM V", "SELECT 2"]);
        // A comment line is not a blank line.
        assert_eq!(split("SELECT\n-- why\nFROM V;"), ["SELECT\n\nFROM V"]);
        // A blank line inside a string or block comment does not end the statement.
        assert_eq!(split("INSERT INTO V SET t = 'a\n\nb';"), ["INSERT INTO V SET t = 'a\n\nb'"]);
        assert_eq!(split("SELECT /*\n\n*/ 1;"), ["SELECT   1"]);
    }

    #[test]
    fn console_commands_end_at_the_end_of_their_line() {
        assert_eq!(
            split("connect remote:localhost/demo root root\nselect from V\nwhere a = 1;\nHA STATUS\nexit"),
            ["connect remote:localhost/demo root root", "select from V\nwhere a = 1", "HA STATUS", "exit"]
        );
        assert_eq!(split("BEGIN\nINSERT INTO V SET a = 1;\nCOMMIT\n"), ["BEGIN", "INSERT INTO V SET a = 1", "COMMIT"]);
        // Only a command's first line counts: `exit` on a later line of SQL is SQL text.
        assert_eq!(split("SELECT\nexit FROM V;"), ["SELECT\nexit FROM V"]);
    }

    #[test]
    fn unterminated_quotes_and_comments_are_errors() {
        assert!(split_script("SELECT 1;\nSELECT 'abc").unwrap_err().contains("' quote opened on line 2"));
        assert!(split_script("SELECT /* no end").unwrap_err().contains("/* comment opened on line 1"));
        assert_eq!(split("SELECT 1 -- comment without newline"), ["SELECT 1"]);
    }

    #[test]
    fn incremental_feeding_matches_whole_text() {
        let text = "SELECT 'a;\nb'\nFROM V;\nHELP\nselect 2\n\nINSERT INTO V SET x = 1; SELECT 3";
        let mut scanner = Scanner::new();
        let mut got = Vec::new();
        for line in text.split_inclusive('\n') {
            got.extend(scanner.feed(line));
        }
        assert!(!scanner.is_idle());
        got.extend(scanner.finish().unwrap());
        assert_eq!(got, split(text));
        assert_eq!(got.len(), 5);
    }

    #[test]
    fn open_brackets_continue_the_statement_until_balanced() {
        assert_eq!(
            split("SELECT FROM V WHERE a IN [\n\n1, 2]\nAND b = (1\n)\n\nSELECT 2"),
            ["SELECT FROM V WHERE a IN [\n\n1, 2]\nAND b = (1\n)", "SELECT 2"]
        );
        // A `;` ends it anyway; brackets inside quotes and comments do not count.
        assert_eq!(split("SELECT (1;\nSELECT ')' -- (\n\nSELECT 3"), ["SELECT (1", "SELECT ')'", "SELECT 3"]);
        // A console command line with an open bracket waits for it too.
        assert_eq!(split("SELECT count(*\n) FROM V\n\n"), ["SELECT count(*\n) FROM V"]);
    }

    #[test]
    fn pending_says_what_is_open() {
        let mut scanner = Scanner::new();
        assert_eq!(scanner.pending(), None);
        scanner.feed("SELECT\n");
        assert_eq!(scanner.pending(), Some('-'));
        scanner.feed("FROM V WHERE a IN [1, (2\n");
        assert_eq!(scanner.pending(), Some('('));
        scanner.feed(")\n");
        assert_eq!(scanner.pending(), Some('['));
        scanner.feed("] AND b = 'x\n");
        assert_eq!(scanner.pending(), Some('\''));
        scanner.feed("' /* note\n");
        assert_eq!(scanner.pending(), Some('*'));
        assert_eq!(scanner.feed("*/;\n"), ["SELECT\nFROM V WHERE a IN [1, (2\n)\n] AND b = 'x\n'"]);
        assert_eq!(scanner.pending(), None);
    }

    #[test]
    fn idle_and_reset() {
        let mut scanner = Scanner::new();
        assert!(scanner.is_idle());
        assert!(scanner.feed("SELECT\n").is_empty());
        assert!(!scanner.is_idle());
        scanner.reset();
        assert!(scanner.is_idle());
        assert!(scanner.feed("SELECT 'open\n").is_empty());
        assert!(scanner.feed("\n").is_empty(), "a blank line inside a quote continues the statement");
        assert_eq!(scanner.feed("';\n"), ["SELECT 'open\n\n'"]);
        assert!(scanner.is_idle());
    }
}
