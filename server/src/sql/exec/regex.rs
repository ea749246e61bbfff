//! A small regular-expression matcher for `MATCHES` (the workspace has no regex crate).
//!
//! Java's `String.matches` semantics: the whole string must match. Supported: literals,
//! `.`, classes `[a-z]` / `[^...]`, `\d \w \s \D \W \S`, escapes, groups `(...)` and
//! `(?:...)`, alternation `|`, quantifiers `* + ?` and `{n}`, `{n,}`, `{n,m}` (lazy `?`
//! suffixes accepted: they do not change whether a whole string matches), anchors `^ $`.
//! Not supported (an error says so): backreferences, lookaround, flags, possessive
//! quantifiers. Matching runs a Pike VM: time linear in the text times the pattern size,
//! no recursion on the text, so no input can make it blow up.

/// Longest compiled program, in instructions (repetitions are expanded).
const MAX_PROGRAM: usize = 20_000;
/// Deepest group nesting.
const MAX_GROUP_DEPTH: usize = 64;

#[derive(Debug, Clone)]
enum Node {
    Empty,
    Char(char),
    Any,
    Class { ranges: Vec<(char, char)>, negated: bool },
    Start,
    End,
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat { node: Box<Node>, min: u32, max: Option<u32> },
}

struct Parser<'a> {
    chars: Vec<char>,
    at: usize,
    depth: usize,
    _text: &'a str,
}

fn class_of(c: char) -> Option<(Vec<(char, char)>, bool)> {
    let digits = vec![('0', '9')];
    let word = vec![('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')];
    let space = vec![(' ', ' '), ('\t', '\t'), ('\n', '\n'), ('\r', '\r'), ('\u{b}', '\u{c}')];
    Some(match c {
        'd' => (digits, false),
        'D' => (digits, true),
        'w' => (word, false),
        'W' => (word, true),
        's' => (space, false),
        'S' => (space, true),
        _ => return None,
    })
}

fn escaped(c: char) -> Result<char, String> {
    Ok(match c {
        't' => '\t',
        'n' => '\n',
        'r' => '\r',
        'f' => '\u{c}',
        '0' => '\0',
        c if c.is_ascii_alphanumeric() => return Err(format!("the escape \\{c} is not supported")),
        c => c,
    })
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn alt(&mut self) -> Result<Node, String> {
        let mut branches = vec![self.concat()?];
        while self.peek() == Some('|') {
            self.at += 1;
            branches.push(self.concat()?);
        }
        Ok(if branches.len() == 1 { branches.pop().unwrap_or(Node::Empty) } else { Node::Alt(branches) })
    }

    fn concat(&mut self) -> Result<Node, String> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            items.push(self.quantified(atom)?);
        }
        Ok(Node::Concat(items))
    }

    fn number(&mut self) -> Option<u32> {
        let start = self.at;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.at += 1;
        }
        self.chars[start..self.at].iter().collect::<String>().parse().ok()
    }

    fn quantified(&mut self, atom: Node) -> Result<Node, String> {
        let (min, max) = match self.peek() {
            Some('*') => (0, None),
            Some('+') => (1, None),
            Some('?') => (0, Some(1)),
            Some('{') => {
                let save = self.at;
                self.at += 1;
                let Some(min) = self.number() else {
                    self.at = save;
                    return Ok(atom);
                };
                let max = if self.peek() == Some(',') {
                    self.at += 1;
                    if self.peek() == Some('}') {
                        None
                    } else {
                        Some(self.number().ok_or("a bad {n,m} quantifier")?)
                    }
                } else {
                    Some(min)
                };
                if self.peek() != Some('}') {
                    return Err("a bad {n,m} quantifier".into());
                }
                if max.is_some_and(|m| m < min) || min > 1000 || max.is_some_and(|m| m > 1000) {
                    return Err("a {n,m} quantifier out of range (at most 1000)".into());
                }
                (min, max)
            }
            _ => return Ok(atom),
        };
        self.at += 1;
        match self.peek() {
            Some('?') => self.at += 1,
            Some('+') => return Err("possessive quantifiers are not supported".into()),
            _ => {}
        }
        Ok(Node::Repeat { node: Box::new(atom), min, max })
    }

    fn atom(&mut self) -> Result<Node, String> {
        let Some(c) = self.peek() else { return Ok(Node::Empty) };
        self.at += 1;
        Ok(match c {
            '.' => Node::Any,
            '^' => Node::Start,
            '$' => Node::End,
            '(' => {
                self.depth += 1;
                if self.depth > MAX_GROUP_DEPTH {
                    return Err("groups nest too deeply".into());
                }
                if self.peek() == Some('?') {
                    if self.chars.get(self.at + 1) == Some(&':') {
                        self.at += 2;
                    } else {
                        return Err("lookaround and inline flags are not supported".into());
                    }
                }
                let inner = self.alt()?;
                if self.peek() != Some(')') {
                    return Err("a '(' is not closed".into());
                }
                self.at += 1;
                self.depth -= 1;
                inner
            }
            '[' => self.class()?,
            '\\' => {
                let e = self.peek().ok_or("the pattern ends with '\\'")?;
                self.at += 1;
                match class_of(e) {
                    Some((ranges, negated)) => Node::Class { ranges, negated },
                    None => Node::Char(escaped(e)?),
                }
            }
            '*' | '+' | '?' => return Err(format!("'{c}' has nothing to repeat")),
            c => Node::Char(c),
        })
    }

    fn class(&mut self) -> Result<Node, String> {
        let negated = self.peek() == Some('^');
        if negated {
            self.at += 1;
        }
        let mut ranges = Vec::new();
        let mut first = true;
        loop {
            let c = self.peek().ok_or("a '[' is not closed")?;
            self.at += 1;
            if c == ']' && !first {
                break;
            }
            first = false;
            let lo = if c == '\\' {
                let e = self.peek().ok_or("a '[' is not closed")?;
                self.at += 1;
                if let Some((rs, neg)) = class_of(e) {
                    if neg {
                        return Err("negated classes like \\D inside [...] are not supported".into());
                    }
                    ranges.extend(rs);
                    continue;
                }
                escaped(e)?
            } else {
                c
            };
            if self.peek() == Some('-') && self.chars.get(self.at + 1).is_some_and(|n| *n != ']') {
                self.at += 1;
                let mut hi = self.peek().ok_or("a '[' is not closed")?;
                self.at += 1;
                if hi == '\\' {
                    hi = escaped(self.peek().ok_or("a '[' is not closed")?)?;
                    self.at += 1;
                }
                if hi < lo {
                    return Err(format!("the range {lo}-{hi} is backwards"));
                }
                ranges.push((lo, hi));
            } else {
                ranges.push((lo, lo));
            }
        }
        Ok(Node::Class { ranges, negated })
    }
}

#[derive(Debug, Clone)]
enum Inst {
    Char(char),
    Any,
    Class(Vec<(char, char)>, bool),
    Start,
    End,
    Split(usize, usize),
    Jmp(usize),
    Match,
}

fn emit(node: &Node, prog: &mut Vec<Inst>) -> Result<(), String> {
    if prog.len() > MAX_PROGRAM {
        return Err("the pattern is too large".into());
    }
    match node {
        Node::Empty => {}
        Node::Char(c) => prog.push(Inst::Char(*c)),
        Node::Any => prog.push(Inst::Any),
        Node::Class { ranges, negated } => prog.push(Inst::Class(ranges.clone(), *negated)),
        Node::Start => prog.push(Inst::Start),
        Node::End => prog.push(Inst::End),
        Node::Concat(items) => {
            for i in items {
                emit(i, prog)?;
            }
        }
        Node::Alt(branches) => {
            let mut jumps = Vec::new();
            for (i, b) in branches.iter().enumerate() {
                if i + 1 < branches.len() {
                    let split = prog.len();
                    prog.push(Inst::Split(split + 1, 0));
                    emit(b, prog)?;
                    jumps.push(prog.len());
                    prog.push(Inst::Jmp(0));
                    let next = prog.len();
                    prog[split] = Inst::Split(split + 1, next);
                } else {
                    emit(b, prog)?;
                }
            }
            let end = prog.len();
            for j in jumps {
                prog[j] = Inst::Jmp(end);
            }
        }
        Node::Repeat { node, min, max } => {
            for _ in 0..*min {
                emit(node, prog)?;
            }
            match max {
                None => {
                    let split = prog.len();
                    prog.push(Inst::Split(split + 1, 0));
                    emit(node, prog)?;
                    prog.push(Inst::Jmp(split));
                    let end = prog.len();
                    prog[split] = Inst::Split(split + 1, end);
                }
                Some(max) => {
                    let mut splits = Vec::new();
                    for _ in *min..*max {
                        splits.push(prog.len());
                        prog.push(Inst::Split(0, 0));
                        emit(node, prog)?;
                    }
                    let end = prog.len();
                    for s in splits {
                        prog[s] = Inst::Split(s + 1, end);
                    }
                }
            }
        }
    }
    Ok(())
}

fn compile(pattern: &str) -> Result<Vec<Inst>, String> {
    let mut p = Parser { chars: pattern.chars().collect(), at: 0, depth: 0, _text: pattern };
    let node = p.alt()?;
    if p.at != p.chars.len() {
        return Err("an unmatched ')'".into());
    }
    let mut prog = Vec::new();
    emit(&node, &mut prog)?;
    prog.push(Inst::Match);
    Ok(prog)
}

/// Adds a thread at `pc` and everything it reaches without consuming a character.
fn add(prog: &[Inst], list: &mut Vec<usize>, on: &mut [bool], pc: usize, pos: usize, len: usize) {
    let mut stack = vec![pc];
    while let Some(pc) = stack.pop() {
        if on[pc] {
            continue;
        }
        on[pc] = true;
        match &prog[pc] {
            Inst::Jmp(t) => stack.push(*t),
            Inst::Split(a, b) => {
                stack.push(*b);
                stack.push(*a);
            }
            Inst::Start => {
                if pos == 0 {
                    stack.push(pc + 1);
                }
            }
            Inst::End => {
                if pos == len {
                    stack.push(pc + 1);
                }
            }
            _ => list.push(pc),
        }
    }
}

/// Whether the whole of `text` matches `pattern`; an error names what is not supported.
pub(crate) fn matches(text: &str, pattern: &str) -> Result<bool, String> {
    let prog = compile(pattern)?;
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    let mut clist = Vec::new();
    let mut on = vec![false; prog.len()];
    add(&prog, &mut clist, &mut on, 0, 0, n);
    for i in 0..=n {
        let mut nlist = Vec::new();
        let mut non = vec![false; prog.len()];
        for &pc in &clist {
            let step = match &prog[pc] {
                Inst::Match => {
                    if i == n {
                        return Ok(true);
                    }
                    false
                }
                Inst::Char(c) => chars.get(i) == Some(c),
                Inst::Any => i < n,
                Inst::Class(ranges, negated) => {
                    chars.get(i).is_some_and(|c| ranges.iter().any(|(lo, hi)| lo <= c && c <= hi) != *negated)
                }
                _ => false,
            };
            if step {
                add(&prog, &mut nlist, &mut non, pc + 1, i + 1, n);
            }
        }
        if nlist.is_empty() {
            return Ok(false);
        }
        clist = nlist;
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn whole_string_semantics_and_common_syntax() {
        assert_eq!(matches("abc", "abc"), Ok(true));
        assert_eq!(matches("abcd", "abc"), Ok(false));
        assert_eq!(matches("Bob_Dylan", "[A-Z][a-z]+_\\w+"), Ok(true));
        assert_eq!(matches("12-34", "\\d{2}-\\d{2}"), Ok(true));
        assert_eq!(matches("1234", "\\d{2,3}"), Ok(false));
        assert_eq!(matches("cat", "(dog|cat|bird)"), Ok(true));
        assert_eq!(matches("", "a*"), Ok(true));
        assert_eq!(matches("x.y", "x\\.y"), Ok(true));
        assert_eq!(matches("xzy", "x\\.y"), Ok(false));
        assert_eq!(matches("DARK STAR", ".*STAR"), Ok(true));
        assert_eq!(matches("abc", "^a.c$"), Ok(true));
        assert_eq!(matches("b", "[^a]"), Ok(true));
        assert!(matches("a", "(?=a)").is_err());
        assert!(matches("a", "(a").is_err());
        // Linear time on the classic catastrophic pattern.
        let text = "a".repeat(5000) + "b";
        assert_eq!(matches(&text, "(a*)*c"), Ok(false));
    }
}
