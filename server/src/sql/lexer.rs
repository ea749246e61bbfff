//! Lexer: turns SQL text into tokens on demand, one at a time, so memory stays proportional to
//! the parser's small lookahead rather than to the input.
//!
//! Promises: never panics; tracks line and column (in characters) incrementally, so locating a
//! token costs nothing; skips whitespace, `-- line` and `/* block */` comments. Keywords are
//! not recognised here: every bare word is an [`TokenKind::Ident`] and the parser decides, which
//! is what lets keywords double as names. After a lexical error the lexer keeps returning
//! [`TokenKind::Error`] and holds the error in [`Lexer::error`].

use super::ast::Span;
use super::ParseError;

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokenKind {
    /// A bare word (identifier or keyword).
    Ident(String),
    /// A backtick-quoted identifier, unescaped.
    QuotedIdent(String),
    /// `$name`, without the `$`.
    Variable(String),
    /// `@name`, without the `@`.
    Attribute(String),
    /// An unsigned integer (the `L` suffix dropped); sign is applied by the parser.
    Integer(u64),
    /// An unsigned finite float (an `f`/`d` suffix dropped).
    Float(f64),
    /// A string literal, unescaped.
    Str(String),
    /// `#cluster:position`.
    Rid {
        cluster: i32,
        position: i64,
    },
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Semicolon,
    Dot,
    Colon,
    Question,
    Star,
    Plus,
    Minus,
    Slash,
    Percent,
    /// `=` or `==`.
    Eq,
    /// `<>` or `!=`.
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// End of input.
    Eof,
    /// A lexical error; see [`Lexer::error`].
    Error,
}

impl TokenKind {
    /// How the token reads in an `expected ...` list.
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            TokenKind::LParen => "'('",
            TokenKind::RParen => "')'",
            TokenKind::LBracket => "'['",
            TokenKind::RBracket => "']'",
            TokenKind::LBrace => "'{'",
            TokenKind::RBrace => "'}'",
            TokenKind::Comma => "','",
            TokenKind::Semicolon => "';'",
            TokenKind::Dot => "'.'",
            TokenKind::Colon => "':'",
            TokenKind::Question => "'?'",
            TokenKind::Star => "'*'",
            TokenKind::Plus => "'+'",
            TokenKind::Minus => "'-'",
            TokenKind::Slash => "'/'",
            TokenKind::Percent => "'%'",
            TokenKind::Eq => "'='",
            TokenKind::Ne => "'<>'",
            TokenKind::Lt => "'<'",
            TokenKind::Le => "'<='",
            TokenKind::Gt => "'>'",
            TokenKind::Ge => "'>='",
            TokenKind::Ident(_) | TokenKind::QuotedIdent(_) => "an identifier",
            TokenKind::Variable(_) => "a $variable",
            TokenKind::Attribute(_) => "a record attribute",
            TokenKind::Integer(_) => "an integer",
            TokenKind::Float(_) => "a number",
            TokenKind::Str(_) => "a string",
            TokenKind::Rid { .. } => "a RID",
            TokenKind::Eof => "end of input",
            TokenKind::Error => "an invalid token",
        }
    }
}

/// A token and where it is.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// Where it starts.
    pub span: Span,
    /// Byte offset just past its end.
    pub end: usize,
    /// Line on which it ends (strings and quoted names may span lines).
    pub end_line: u32,
}

/// First character of a bare identifier (shared with the printer's quoting rule).
pub(crate) fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

/// Later characters of a bare identifier.
pub(crate) fn is_ident_continue(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The lexer over one input.
pub(crate) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    line: u32,
    column: u32,
    /// The first lexical error, once met.
    pub error: Option<ParseError>,
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `src` (the caller has checked the length limit).
    pub(crate) fn new(src: &'a str) -> Self {
        Lexer { src, pos: 0, line: 1, column: 1, error: None }
    }

    /// The source text.
    pub(crate) fn source(&self) -> &'a str {
        self.src
    }

    fn peek_char(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek_char_at(&self, n: usize) -> Option<char> {
        self.src[self.pos..].chars().nth(n)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek_char()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn here(&self) -> Span {
        // Inputs are capped at MAX_INPUT_BYTES (16 MiB), so offsets fit in u32.
        Span { offset: self.pos as u32, line: self.line, column: self.column }
    }

    fn fail(&mut self, at: Span, message: String) -> Token {
        if self.error.is_none() {
            self.error =
                Some(ParseError { line: at.line as usize, column: at.column as usize, message, expected: Vec::new() });
        }
        Token { kind: TokenKind::Error, span: at, end: self.pos, end_line: self.line }
    }

    /// The next token; `Eof` forever at the end, `Error` forever after an error.
    pub(crate) fn next_token(&mut self) -> Token {
        if let Some(err) = &self.error {
            let at = Span { offset: self.pos as u32, line: err.line as u32, column: err.column as u32 };
            return Token { kind: TokenKind::Error, span: at, end: self.pos, end_line: self.line };
        }
        if let Err(tok) = self.skip_trivia() {
            return tok;
        }
        let start = self.here();
        let Some(c) = self.peek_char() else {
            return Token { kind: TokenKind::Eof, span: start, end: self.pos, end_line: self.line };
        };
        let kind = match c {
            '\'' | '"' => match self.string(start, c) {
                Ok(s) => TokenKind::Str(s),
                Err(tok) => return tok,
            },
            '`' => match self.quoted_ident(start) {
                Ok(s) => TokenKind::QuotedIdent(s),
                Err(tok) => return tok,
            },
            '#' => match self.rid(start) {
                Ok(kind) => kind,
                Err(tok) => return tok,
            },
            '$' | '@' => {
                self.bump();
                // `$1` is a variable name too (OrientDB's `OScriptExecutionTest.testIf`).
                let name = if c == '$' { self.variable_word() } else { self.word() };
                if name.is_empty() {
                    let what = if c == '$' { "a variable name after '$'" } else { "a record attribute after '@'" };
                    return self.fail(start, format!("expected {what}"));
                }
                if c == '$' {
                    TokenKind::Variable(name)
                } else {
                    TokenKind::Attribute(name)
                }
            }
            c if c.is_ascii_digit() => match self.number(start) {
                Ok(kind) => kind,
                Err(tok) => return tok,
            },
            c if is_ident_start(c) => TokenKind::Ident(self.word()),
            _ => match self.punctuation(c) {
                Some(kind) => kind,
                None => {
                    self.bump();
                    return self.fail(start, format!("unexpected character {c:?}"));
                }
            },
        };
        Token { kind, span: start, end: self.pos, end_line: self.line }
    }

    /// Whether the `--` here is part of a MATCH arrow rather than a line comment: OrientDB's
    /// grammar (`OrientSQL.jjt`, `OutPathItem`/`InPathItem`/`BothPathItem`) has no `--`
    /// comments and reads `-->`, `<--` and `--` between node filters as arrows with no edge
    /// label. So `--` right after `<`, or right before `>` or `{`, is two minus signs.
    fn is_match_arrow(&self) -> bool {
        let before = self.src[..self.pos].chars().next_back();
        before == Some('<') || matches!(self.peek_char_at(2), Some('>') | Some('{'))
    }

    /// Skips whitespace and comments; an unterminated block comment is an error.
    fn skip_trivia(&mut self) -> Result<(), Token> {
        loop {
            match (self.peek_char(), self.peek_char_at(1)) {
                (Some(c), _) if c.is_whitespace() => {
                    self.bump();
                }
                (Some('-'), Some('-')) if !self.is_match_arrow() => {
                    while let Some(c) = self.bump() {
                        if c == '\n' {
                            break;
                        }
                    }
                }
                (Some('/'), Some('*')) => {
                    let start = self.here();
                    self.bump();
                    self.bump();
                    loop {
                        match self.bump() {
                            None => return Err(self.fail(start, "unterminated comment: missing '*/'".into())),
                            Some('*') if self.peek_char() == Some('/') => {
                                self.bump();
                                break;
                            }
                            Some(_) => {}
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// Identifier characters from here (possibly none).
    /// A variable's name after `$`: letters, digits and `_`, a digit first included.
    fn variable_word(&mut self) -> String {
        let start = self.pos;
        while self.peek_char().is_some_and(is_ident_continue) {
            self.bump();
        }
        self.src[start..self.pos].to_string()
    }

    fn word(&mut self) -> String {
        let start = self.pos;
        if self.peek_char().is_some_and(is_ident_start) {
            while self.peek_char().is_some_and(is_ident_continue) {
                self.bump();
            }
        }
        self.src[start..self.pos].to_string()
    }

    fn punctuation(&mut self, c: char) -> Option<TokenKind> {
        let next = self.peek_char_at(1);
        let (kind, len) = match (c, next) {
            ('(', _) => (TokenKind::LParen, 1),
            (')', _) => (TokenKind::RParen, 1),
            ('[', _) => (TokenKind::LBracket, 1),
            (']', _) => (TokenKind::RBracket, 1),
            ('{', _) => (TokenKind::LBrace, 1),
            ('}', _) => (TokenKind::RBrace, 1),
            (',', _) => (TokenKind::Comma, 1),
            (';', _) => (TokenKind::Semicolon, 1),
            ('.', _) => (TokenKind::Dot, 1),
            (':', _) => (TokenKind::Colon, 1),
            ('?', _) => (TokenKind::Question, 1),
            ('*', _) => (TokenKind::Star, 1),
            ('+', _) => (TokenKind::Plus, 1),
            ('-', _) => (TokenKind::Minus, 1),
            ('/', _) => (TokenKind::Slash, 1),
            ('%', _) => (TokenKind::Percent, 1),
            ('=', Some('=')) => (TokenKind::Eq, 2),
            ('=', _) => (TokenKind::Eq, 1),
            ('!', Some('=')) => (TokenKind::Ne, 2),
            ('<', Some('>')) => (TokenKind::Ne, 2),
            ('<', Some('=')) => (TokenKind::Le, 2),
            ('<', _) => (TokenKind::Lt, 1),
            ('>', Some('=')) => (TokenKind::Ge, 2),
            ('>', _) => (TokenKind::Gt, 1),
            _ => return None,
        };
        for _ in 0..len {
            self.bump();
        }
        Some(kind)
    }

    /// A string in `quote`s. Escapes: `\n \t \r \b \f \0 \' \" \\ \/ \uXXXX`; any other
    /// backslash is kept as written (so `'\d+'` reaches MATCHES as `\d+`).
    fn string(&mut self, start: Span, quote: char) -> Result<String, Token> {
        self.bump();
        let mut out = String::new();
        loop {
            let Some(c) = self.bump() else {
                return Err(self.fail(start, format!("unterminated string: missing closing {quote}")));
            };
            if c == quote {
                return Ok(out);
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            let esc_at = self.here();
            let Some(e) = self.bump() else {
                return Err(self.fail(start, format!("unterminated string: missing closing {quote}")));
            };
            match e {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                '0' => out.push('\0'),
                '\'' | '"' | '\\' | '/' => out.push(e),
                'u' => out.push(self.unicode_escape(esc_at)?),
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
        }
    }

    /// Four hex digits after `\u`; a UTF-16 surrogate pair (`\ud83d\ude00`, as JSON writes
    /// characters outside the BMP) is joined into one character.
    fn unicode_escape(&mut self, at: Span) -> Result<char, Token> {
        let high = self.hex4(at)?;
        if !(0xD800..0xDC00).contains(&high) {
            return char::from_u32(high)
                .ok_or_else(|| self.fail(at, format!("invalid escape: \\u{high:04x} is not a character")));
        }
        if self.peek_char() != Some('\\') || self.peek_char_at(1) != Some('u') {
            return Err(self.fail(at, format!("invalid escape: \\u{high:04x} must be followed by a low surrogate")));
        }
        self.bump();
        self.bump();
        let low = self.hex4(at)?;
        if !(0xDC00..0xE000).contains(&low) {
            return Err(self.fail(at, format!("invalid escape: \\u{low:04x} is not a low surrogate")));
        }
        let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
        char::from_u32(code).ok_or_else(|| self.fail(at, "invalid escape: bad surrogate pair".into()))
    }

    fn hex4(&mut self, at: Span) -> Result<u32, Token> {
        let mut code = 0u32;
        for _ in 0..4 {
            match self.peek_char().and_then(|c| c.to_digit(16)) {
                Some(d) => {
                    self.bump();
                    code = code * 16 + d;
                }
                None => return Err(self.fail(at, "invalid escape: \\u needs four hex digits".into())),
            }
        }
        Ok(code)
    }

    /// A backtick-quoted identifier; `` \` `` and `\\` are escapes.
    fn quoted_ident(&mut self, start: Span) -> Result<String, Token> {
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(self.fail(start, "unterminated quoted identifier: missing closing `".into())),
                Some('`') => break,
                Some('\\') if matches!(self.peek_char(), Some('`') | Some('\\')) => {
                    if let Some(c) = self.bump() {
                        out.push(c);
                    }
                }
                Some(c) => out.push(c),
            }
        }
        if out.is_empty() {
            return Err(self.fail(start, "empty quoted identifier".into()));
        }
        Ok(out)
    }

    /// Digits with an optional sign, as i64; `what` names the part for messages.
    fn signed_digits(&mut self, what: &str, rid_start: Span) -> Result<i64, Token> {
        let negative = self.peek_char() == Some('-');
        if negative {
            self.bump();
        }
        let digits_start = self.pos;
        while self.peek_char().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
        let digits = &self.src[digits_start..self.pos];
        if digits.is_empty() {
            let found = match self.peek_char() {
                Some(c) => format!("{c:?}"),
                None => "end of input".into(),
            };
            return Err(self.fail(
                rid_start,
                format!("invalid RID: expected the {what} as digits, found {found} (RIDs look like #12:3)"),
            ));
        }
        let value = digits.parse::<i64>().ok().map(|v| if negative { -v } else { v });
        value.ok_or_else(|| self.fail(rid_start, format!("invalid RID: {what} {digits} is out of range")))
    }

    /// `#cluster:position`, both possibly negative.
    fn rid(&mut self, start: Span) -> Result<TokenKind, Token> {
        self.bump();
        let cluster = self.signed_digits("cluster id", start)?;
        let cluster = i32::try_from(cluster)
            .map_err(|_| self.fail(start, format!("invalid RID: cluster id {cluster} is out of range")))?;
        if self.peek_char() != Some(':') {
            return Err(
                self.fail(start, "invalid RID: expected ':' after the cluster id (RIDs look like #12:3)".into())
            );
        }
        self.bump();
        let position = self.signed_digits("position", start)?;
        if self.peek_char().is_some_and(is_ident_continue) {
            return Err(self.fail(start, "invalid RID: unexpected characters after the position".into()));
        }
        Ok(TokenKind::Rid { cluster, position })
    }

    /// An integer (`12`, `12L`) or a float (`1.5`, `1e-3`, `2.5f`).
    fn number(&mut self, start: Span) -> Result<TokenKind, Token> {
        let begin = self.pos;
        self.skip_digits();
        let mut is_float = false;
        if self.peek_char() == Some('.') && self.peek_char_at(1).is_some_and(|c| c.is_ascii_digit()) {
            is_float = true;
            self.bump();
            self.skip_digits();
        }
        if matches!(self.peek_char(), Some('e') | Some('E')) {
            let sign = matches!(self.peek_char_at(1), Some('+') | Some('-'));
            let digit_at = if sign { 2 } else { 1 };
            if self.peek_char_at(digit_at).is_some_and(|c| c.is_ascii_digit()) {
                is_float = true;
                for _ in 0..digit_at {
                    self.bump();
                }
                self.skip_digits();
            }
        }
        let text = &self.src[begin..self.pos];
        let kind = if is_float {
            match text.parse::<f64>() {
                Ok(v) if v.is_finite() => TokenKind::Float(v),
                _ => return Err(self.fail(start, format!("number {text} is out of range"))),
            }
        } else {
            match text.parse::<u64>() {
                Ok(v) => TokenKind::Integer(v),
                Err(_) => return Err(self.fail(start, format!("integer {text} is out of range"))),
            }
        };
        let suffix_ok =
            matches!((self.peek_char(), is_float), (Some('l' | 'L'), false) | (Some('f' | 'F' | 'd' | 'D'), true));
        if suffix_ok && !self.peek_char_at(1).is_some_and(is_ident_continue) {
            self.bump();
        }
        if self.peek_char().is_some_and(is_ident_continue) {
            return Err(self.fail(start, "invalid number: letters right after the digits".into()));
        }
        Ok(kind)
    }

    fn skip_digits(&mut self) {
        while self.peek_char().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokenKind> {
        let mut lexer = Lexer::new(src);
        let mut out = Vec::new();
        loop {
            let t = lexer.next_token();
            let stop = matches!(t.kind, TokenKind::Eof | TokenKind::Error);
            out.push(t.kind);
            if stop {
                return out;
            }
        }
    }

    #[test]
    fn numbers_strings_rids() {
        assert_eq!(
            kinds("12 12L 1.5 1e3 2.5f 'a\\'b' \"x\\ny\" #9:1 #-1:-2"),
            vec![
                TokenKind::Integer(12),
                TokenKind::Integer(12),
                TokenKind::Float(1.5),
                TokenKind::Float(1000.0),
                TokenKind::Float(2.5),
                TokenKind::Str("a'b".into()),
                TokenKind::Str("x\ny".into()),
                TokenKind::Rid { cluster: 9, position: 1 },
                TokenKind::Rid { cluster: -1, position: -2 },
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn comments_and_operators() {
        assert_eq!(
            kinds("a -- comment\n/* block\n */ <> != <= >= == `we\\`ird` $parent @rid 1.size"),
            vec![
                TokenKind::Ident("a".into()),
                TokenKind::Ne,
                TokenKind::Ne,
                TokenKind::Le,
                TokenKind::Ge,
                TokenKind::Eq,
                TokenKind::QuotedIdent("we`ird".into()),
                TokenKind::Variable("parent".into()),
                TokenKind::Attribute("rid".into()),
                TokenKind::Integer(1),
                TokenKind::Dot,
                TokenKind::Ident("size".into()),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn unicode_escapes() {
        assert_eq!(kinds(r"'\u00e9\ud83d\ude00'")[0], TokenKind::Str("é😀".into()));
        assert_eq!(kinds(r"'\ud83d'").last(), Some(&TokenKind::Error));
        assert_eq!(kinds(r"'\udc00'").last(), Some(&TokenKind::Error));
        assert_eq!(kinds(r"'\u12'").last(), Some(&TokenKind::Error));
    }

    #[test]
    fn positions_count_characters() {
        let mut lexer = Lexer::new("é\n  ü x");
        let a = lexer.next_token();
        let b = lexer.next_token();
        let c = lexer.next_token();
        assert_eq!((a.span.line, a.span.column), (1, 1));
        assert_eq!((b.span.line, b.span.column), (2, 3));
        assert_eq!((c.span.line, c.span.column), (2, 5));
    }

    #[test]
    fn errors_are_located() {
        let mut lexer = Lexer::new("x 'abc");
        lexer.next_token();
        assert_eq!(lexer.next_token().kind, TokenKind::Error);
        let err = lexer.error.clone().expect("error");
        assert_eq!((err.line, err.column), (1, 3));
        assert!(err.message.contains("unterminated string"), "{}", err.message);
        assert_eq!(kinds("#9:x").last(), Some(&TokenKind::Error));
        assert_eq!(kinds("12abc").last(), Some(&TokenKind::Error));
        assert_eq!(kinds("99999999999999999999").last(), Some(&TokenKind::Error));
        assert_eq!(kinds("1e999").last(), Some(&TokenKind::Error));
        assert_eq!(kinds("/* open").last(), Some(&TokenKind::Error));
        assert_eq!(kinds("a ! b").last(), Some(&TokenKind::Error));
    }
}
