//! Python `re` pattern syntax to a tree, for the constructs textsaga runs
//! exactly as Python does; anything else is refused with a line naming it.
//!
//! Runs: literals and escapes (`\n`, `\x41`, `\u00e9`, `\0`), `.`, classes
//! (`[...]`, ranges, negation, `\w \W \d \D \s \S` in and out of them), `^`,
//! `$`, `\A`, `\Z`, `\b`, `\B`, groups (capturing, `(?P<name>...)`,
//! `(?:...)`), alternation, greedy and lazy `* + ? {m,n}`, lookahead and
//! fixed-width lookbehind, and the global flags `(?u)` (the default for str
//! patterns) and `(?a)` (ASCII classes). Refused: backreferences, flags that
//! change matching (`i m s x L`), scoped flags, atomic groups, possessive
//! quantifiers, conditionals and `\N{...}`; Python's own syntax errors are
//! refused too (a pattern Python would reject).

/// A predefined class: `\w`, `\d` or `\s`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Word,
    Digit,
    Space,
}

/// One member of a `[...]` set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Range(char, char),
    Class(Class, bool),
}

/// A set of characters: its members, negated or not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Set {
    pub items: Vec<Item>,
    pub negated: bool,
}

/// Zero-width assertions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assertion {
    /// `^` and `\A`: the start of the text.
    Start,
    /// `$`: the end, or just before a newline that ends the text.
    EndOrNewline,
    /// `\Z`: the end of the text.
    End,
    WordBoundary,
    NotWordBoundary,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Empty,
    Char(char),
    /// `.`: any character but `\n`.
    Any,
    Set(Set),
    Assert(Assertion),
    /// A capturing group (its number, from 1) or a non-capturing one.
    Group(Option<usize>, Box<Node>),
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat { node: Box<Node>, min: u32, max: Option<u32>, greedy: bool },
    Look { behind: bool, negate: bool, node: Box<Node> },
}

/// A parsed pattern.
#[derive(Debug)]
pub struct Parsed {
    pub node: Node,
    pub groups: usize,
    /// `(?a)`: `\w \d \s \b` are ASCII-only.
    pub ascii: bool,
}

/// Repeats beyond this are refused (the program unrolls them).
const MAX_REPEAT: u32 = 1000;

struct Parser<'a> {
    chars: Vec<char>,
    at: usize,
    groups: usize,
    pattern: &'a str,
}

type Res<T> = Result<T, String>;

/// Parses `pattern` as Python's `re.compile` would, or says why not.
pub fn parse(pattern: &str) -> Res<Parsed> {
    let mut p = Parser { chars: pattern.chars().collect(), at: 0, groups: 0, pattern };
    let ascii = p.global_flags()?;
    let node = p.alternation()?;
    if p.at < p.chars.len() {
        return Err(p.refuse("an unbalanced ')'"));
    }
    Ok(Parsed { node, groups: p.groups, ascii })
}

impl Parser<'_> {
    fn refuse(&self, what: &str) -> String {
        format!("--token-pattern '{}': {what} at position {}", self.pattern, self.at)
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        let hit = self.peek() == Some(c);
        self.at += hit as usize;
        hit
    }

    fn rest_starts(&self, s: &str) -> bool {
        s.chars().enumerate().all(|(i, c)| self.chars.get(self.at + i) == Some(&c))
    }

    /// Leading `(?u)` / `(?a)` groups; true for ASCII.
    fn global_flags(&mut self) -> Res<bool> {
        let (mut ascii, mut unicode) = (false, false);
        while self.rest_starts("(?") && self.chars.get(self.at + 2).is_some_and(|c| "aiLmsux".contains(*c)) {
            let start = self.at;
            self.at += 2;
            while let Some(c) = self.peek().filter(char::is_ascii_alphabetic) {
                match c {
                    'u' => unicode = true,
                    'a' => ascii = true,
                    'i' | 'm' | 's' | 'x' | 'L' => return Err(self.refuse(&format!("the flag (?{c}) (it changes matching in ways textsaga does not reproduce; lowercase is applied before tokenizing)"))),
                    _ => return Err(self.refuse(&format!("an unknown flag '{c}'"))),
                }
                self.at += 1;
            }
            if !self.eat(')') {
                self.at = start;
                return Err(self.refuse("scoped flags (?flags:...)"));
            }
        }
        if ascii && unicode {
            return Err(self.refuse("the flags a and u together (Python: incompatible)"));
        }
        Ok(ascii)
    }

    fn alternation(&mut self) -> Res<Node> {
        let mut alts = vec![self.sequence()?];
        while self.eat('|') {
            alts.push(self.sequence()?);
        }
        Ok(if alts.len() == 1 { alts.pop().unwrap() } else { Node::Alt(alts) })
    }

    fn sequence(&mut self) -> Res<Node> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            let atom = self.quantified(atom)?;
            items.push(atom);
        }
        Ok(match items.len() {
            0 => Node::Empty,
            1 => items.pop().unwrap(),
            _ => Node::Concat(items),
        })
    }

    /// `{m}`, `{m,}`, `{,n}`, `{m,n}` at the cursor, if it is one (else
    /// Python reads the brace as a literal).
    fn braces(&mut self) -> Res<Option<(u32, Option<u32>)>> {
        let start = self.at;
        self.at += 1;
        let num = |p: &mut Self| {
            let s = p.at;
            while p.peek().is_some_and(|c| c.is_ascii_digit()) {
                p.at += 1;
            }
            (p.at > s).then(|| p.chars[s..p.at].iter().collect::<String>())
        };
        let lo = num(self);
        let (hi, comma) = if self.eat(',') { (num(self), true) } else { (None, false) };
        if !self.eat('}') || (lo.is_none() && !comma && hi.is_none()) {
            self.at = start;
            return Ok(None);
        }
        let parse = |s: &str| s.parse::<u32>().ok().filter(|&n| n <= MAX_REPEAT);
        let min = match &lo {
            Some(s) => parse(s).ok_or_else(|| self.refuse(&format!("a repeat count above {MAX_REPEAT}")))?,
            None => 0,
        };
        let max = match (&hi, comma) {
            (Some(s), _) => Some(parse(s).ok_or_else(|| self.refuse(&format!("a repeat count above {MAX_REPEAT}")))?),
            (None, true) => None,
            (None, false) => Some(min),
        };
        if max.is_some_and(|m| m < min) {
            return Err(self.refuse("a repeat with min above max (Python: error)"));
        }
        Ok(Some((min, max)))
    }

    fn quantified(&mut self, atom: Node) -> Res<Node> {
        let (min, max) = match self.peek() {
            Some('{') => match self.braces()? {
                Some(q) => q,
                None => return Ok(atom),
            },
            Some(c @ ('*' | '+' | '?')) => {
                self.at += 1;
                [(0, None), (1, None), (0, Some(1))][(c == '+') as usize + 2 * (c == '?') as usize]
            }
            _ => return Ok(atom),
        };
        if matches!(atom, Node::Assert(_) | Node::Empty | Node::Look { .. }) {
            return Err(self.refuse("a repeated assertion"));
        }
        let greedy = !self.eat('?');
        if self.peek() == Some('+') {
            return Err(self.refuse("a possessive quantifier"));
        }
        if matches!(self.peek(), Some('*' | '+' | '?')) || (self.peek() == Some('{') && self.braces()?.is_some()) {
            return Err(self.refuse("a multiple repeat (Python: error)"));
        }
        Ok(Node::Repeat { node: Box::new(atom), min, max, greedy })
    }

    fn atom(&mut self) -> Res<Node> {
        let c = self.peek().expect("atom at a character");
        self.at += 1;
        match c {
            '(' => self.group(),
            '[' => self.set().map(Node::Set),
            '.' => Ok(Node::Any),
            '^' => Ok(Node::Assert(Assertion::Start)),
            '$' => Ok(Node::Assert(Assertion::EndOrNewline)),
            '\\' => self.escape(false),
            '*' | '+' | '?' => Err(self.refuse("nothing to repeat (Python: error)")),
            '{' => {
                self.at -= 1;
                if self.braces()?.is_some() {
                    return Err(self.refuse("nothing to repeat (Python: error)"));
                }
                self.at += 1;
                Ok(Node::Char('{'))
            }
            c => Ok(Node::Char(c)),
        }
    }

    fn group(&mut self) -> Res<Node> {
        let node = if self.eat('?') {
            match self.peek() {
                Some(':') => {
                    self.at += 1;
                    Node::Group(None, Box::new(self.alternation()?))
                }
                Some('=') | Some('!') => {
                    let negate = self.peek() == Some('!');
                    self.at += 1;
                    Node::Look { behind: false, negate, node: Box::new(self.alternation()?) }
                }
                Some('<') if matches!(self.chars.get(self.at + 1), Some('=' | '!')) => {
                    let negate = self.chars[self.at + 1] == '!';
                    self.at += 2;
                    Node::Look { behind: true, negate, node: Box::new(self.alternation()?) }
                }
                Some('P') if self.chars.get(self.at + 1) == Some(&'<') => {
                    self.at += 2;
                    let name_start = self.at;
                    while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                        self.at += 1;
                    }
                    if self.at == name_start || !self.eat('>') {
                        return Err(self.refuse("a bad group name (Python: error)"));
                    }
                    self.groups += 1;
                    let n = self.groups;
                    Node::Group(Some(n), Box::new(self.alternation()?))
                }
                Some('#') => {
                    while self.peek().is_some_and(|c| c != ')') {
                        self.at += 1;
                    }
                    Node::Empty
                }
                Some('P') => return Err(self.refuse("a backreference (?P=name)")),
                Some('>') => return Err(self.refuse("an atomic group (?>...)")),
                Some('(') => return Err(self.refuse("a conditional group (?(...)...)")),
                Some(c) if c.is_ascii_alphabetic() || c == '-' => return Err(self.refuse("flags after the start, or scoped flags")),
                _ => return Err(self.refuse("an unknown group extension (Python: error)")),
            }
        } else {
            self.groups += 1;
            let n = self.groups;
            Node::Group(Some(n), Box::new(self.alternation()?))
        };
        if !self.eat(')') {
            return Err(self.refuse("a missing ')' (Python: error)"));
        }
        Ok(node)
    }

    fn hex(&mut self, digits: usize) -> Res<char> {
        let s: String = self.chars.get(self.at..self.at + digits).map(|d| d.iter().collect()).unwrap_or_default();
        let v = (s.len() == digits && s.chars().all(|c| c.is_ascii_hexdigit())).then(|| u32::from_str_radix(&s, 16).ok()).flatten();
        let c = v.and_then(char::from_u32).ok_or_else(|| self.refuse(&format!("a bad \\x/\\u/\\U escape (needs {digits} hex digits)")))?;
        self.at += digits;
        Ok(c)
    }

    /// After a backslash; `in_set` for escapes inside `[...]`.
    fn escape(&mut self, in_set: bool) -> Res<Node> {
        let c = self.peek().ok_or_else(|| self.refuse("a trailing backslash (Python: error)"))?;
        self.at += 1;
        let class = |k, neg| Node::Set(Set { items: vec![Item::Class(k, neg)], negated: false });
        Ok(match c {
            'w' => class(Class::Word, false),
            'W' => class(Class::Word, true),
            'd' => class(Class::Digit, false),
            'D' => class(Class::Digit, true),
            's' => class(Class::Space, false),
            'S' => class(Class::Space, true),
            'b' if in_set => Node::Char('\u{8}'),
            'b' => Node::Assert(Assertion::WordBoundary),
            'B' if !in_set => Node::Assert(Assertion::NotWordBoundary),
            'A' if !in_set => Node::Assert(Assertion::Start),
            'Z' if !in_set => Node::Assert(Assertion::End),
            'n' => Node::Char('\n'),
            't' => Node::Char('\t'),
            'r' => Node::Char('\r'),
            'f' => Node::Char('\u{c}'),
            'v' => Node::Char('\u{b}'),
            'a' => Node::Char('\u{7}'),
            'x' => Node::Char(self.hex(2)?),
            'u' => Node::Char(self.hex(4)?),
            'U' => Node::Char(self.hex(8)?),
            '0' => {
                // Octal: \0 and up to two more octal digits.
                let mut v = 0u32;
                for _ in 0..2 {
                    match self.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            self.at += 1;
                        }
                        None => break,
                    }
                }
                Node::Char(char::from_u32(v).expect("octal below 64"))
            }
            '1'..='9' => return Err(self.refuse("a backreference or octal escape (\\1 to \\9)")),
            'N' => return Err(self.refuse("a named character \\N{...}")),
            c if c.is_ascii_alphanumeric() => return Err(self.refuse(&format!("the bad escape \\{c} (Python: error)"))),
            c => Node::Char(c),
        })
    }

    fn set(&mut self) -> Res<Set> {
        let negated = self.eat('^');
        let mut items = Vec::new();
        let mut first = true;
        loop {
            let c = self.peek().ok_or_else(|| self.refuse("an unterminated character set (Python: error)"))?;
            if c == ']' && !first {
                self.at += 1;
                break;
            }
            first = false;
            let lo = self.set_member()?;
            let range_follows = self.peek() == Some('-') && self.chars.get(self.at + 1).is_some_and(|&n| n != ']');
            match (lo, range_follows) {
                (Item::Range(a, _), true) => {
                    self.at += 1;
                    match self.set_member()? {
                        Item::Range(b, _) if b >= a => items.push(Item::Range(a, b)),
                        _ => return Err(self.refuse("a bad character range (Python: error)")),
                    }
                }
                (Item::Class(..), true) => return Err(self.refuse("a bad character range (Python: error)")),
                (item, false) => items.push(item),
            }
        }
        Ok(Set { items, negated })
    }

    /// One character or class inside a set.
    fn set_member(&mut self) -> Res<Item> {
        let c = self.peek().expect("a set member");
        self.at += 1;
        if c != '\\' {
            return Ok(Item::Range(c, c));
        }
        match self.escape(true)? {
            Node::Char(c) => Ok(Item::Range(c, c)),
            Node::Set(s) => Ok(s.items.into_iter().next().expect("one class")),
            _ => Err(self.refuse("an escape that has no meaning in a set (Python: error)")),
        }
    }
}

impl Node {
    /// The fewest characters the node can match.
    pub fn min_len(&self) -> usize {
        match self {
            Node::Empty | Node::Assert(_) | Node::Look { .. } => 0,
            Node::Char(_) | Node::Any | Node::Set(_) => 1,
            Node::Group(_, n) => n.min_len(),
            Node::Concat(v) => v.iter().map(Node::min_len).sum(),
            Node::Alt(v) => v.iter().map(Node::min_len).min().unwrap_or(0),
            Node::Repeat { node, min, .. } => node.min_len() * *min as usize,
        }
    }

    /// The one number of characters the node matches, if it is fixed.
    pub fn fixed_len(&self) -> Option<usize> {
        match self {
            Node::Empty | Node::Assert(_) | Node::Look { .. } => Some(0),
            Node::Char(_) | Node::Any | Node::Set(_) => Some(1),
            Node::Group(_, n) => n.fixed_len(),
            Node::Concat(v) => v.iter().map(Node::fixed_len).sum(),
            Node::Alt(v) => {
                let first = v.first().map_or(Some(0), Node::fixed_len)?;
                v.iter().all(|n| n.fixed_len() == Some(first)).then_some(first)
            }
            Node::Repeat { node, min, max, .. } => (Some(*min) == *max).then(|| node.fixed_len().map(|n| n * *min as usize)).flatten(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_python_runs() {
        for p in [r"(?u)\b\w\w+\b", r"[0-9]{1,3}(?:st|nd|rd|th)\s\b(\w{2,})\b", r"(?a)[^\W\d_]+", r"\$?\d+(?:\.\d\d)?", r"(?<=#)\w+", r"a{,3}b", r"[]a-]x", r"x{", r"(?P<w>\w+)", r"\x41\u00e9\0", r"a(?#note)b"] {
            assert!(parse(p).is_ok(), "{p}: {:?}", parse(p).err());
        }
        assert_eq!(parse(r"(\w)(\w)").unwrap().groups, 2);
        assert_eq!(parse(r"x{").unwrap().node, Node::Concat(vec![Node::Char('x'), Node::Char('{')]));
    }

    #[test]
    fn refuses_what_it_cannot_run_alike() {
        for (p, why) in [
            (r"(?i)\w+", "flag (?i)"),
            (r"(\w)\1", "backreference"),
            (r"(?P<a>x)(?P=a)", "backreference (?P=name)"),
            (r"(?>a+)", "atomic"),
            (r"a++", "possessive"),
            (r"\N{DASH}", "named character"),
            (r"*a", "nothing to repeat"),
            (r"a**", "multiple repeat"),
            (r"[a", "unterminated"),
            (r"(a", "missing ')'"),
            (r"a)", "unbalanced"),
            (r"\q", "bad escape"),
            (r"[z-a]", "bad character range"),
            (r"a{5,2}", "min above max"),
            (r"a(?i:b)", "flags"),
        ] {
            let e = parse(p).expect_err(p);
            assert!(e.contains(why), "{p}: {e}");
        }
    }

    #[test]
    fn lengths() {
        assert_eq!(parse(r"\b\w\w+\b").unwrap().node.min_len(), 2);
        assert_eq!(parse(r"\w*").unwrap().node.min_len(), 0);
        assert_eq!(parse(r"ab|cd").unwrap().node.fixed_len(), Some(2));
        assert_eq!(parse(r"ab|c").unwrap().node.fixed_len(), None);
        assert_eq!(parse(r"a{3}").unwrap().node.fixed_len(), Some(3));
    }
}
