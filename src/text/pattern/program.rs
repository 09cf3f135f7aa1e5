//! A parsed pattern as a program for a backtracking machine, run the way
//! Python's `sre` runs it: alternatives and repeats tried in priority
//! order (greedy: longest first; lazy: shortest first), the first match
//! found at the leftmost start wins, captures are the last iteration's.
//!
//! The machine keeps its choice points on a heap stack, not the call stack,
//! so a token of a million characters matched by `\w+` costs memory, never
//! a stack overflow. A repeat whose body can match nothing stops iterating
//! after an iteration that does not move, as `sre` does.

use super::parse::{Assertion, Class, Item, Node, Parsed, Set};
use crate::text::charclass::is_word_char;
use crate::text::chars::is_py_space;
use unicode_general_category::{get_general_category, GeneralCategory};

/// No position (an unset capture).
pub const UNSET: usize = usize::MAX;

/// Programs larger than this are refused (repeats are unrolled).
const MAX_INSTS: usize = 100_000;

/// A one-character test.
#[derive(Clone, Copy, Debug)]
enum One {
    Char(char),
    Any,
    Set(usize),
}

#[derive(Clone, Debug)]
enum Inst {
    /// `min` to `max` characters that pass `one`, in one scan: greedy
    /// gives characters back one at a time, lazy takes one more at a time.
    Repeat1 { one: One, min: u32, max: u32, greedy: bool },
    Char(char),
    Any,
    Set(usize),
    Assert(Assertion),
    Save(usize),
    /// Try the first, then the second on backtracking.
    Split(usize, usize),
    Jmp(usize),
    /// A lookaround: its body is `pc + 1 .. next` (ending in `Match`);
    /// `width` characters back for a lookbehind.
    Look { behind: bool, negate: bool, width: usize, next: usize },
    /// Remember the position in register `r`; after the body, an iteration
    /// that did not move leaves the loop for `exit` (as sre: its captures
    /// stay, it is not repeated).
    Mark(usize),
    Progress { reg: usize, exit: usize },
    Match,
}

/// A repeat's choice: the body first when greedy, the exit first when lazy.
fn split(greedy: bool, body: usize, exit: usize) -> Inst {
    if greedy { Inst::Split(body, exit) } else { Inst::Split(exit, body) }
}

/// Where to resume on failure, or a value to put back.
enum Frame {
    Branch(usize, usize),
    Slot(usize, usize),
    Reg(usize, usize),
    /// A greedy [`Inst::Repeat1`] that ended at `pos` and may give back down
    /// to `floor`; the rest of the pattern is at `pc`.
    GiveBack { pc: usize, floor: usize, pos: usize },
    /// A lazy [`Inst::Repeat1`] (at `at`) that took `count` characters, up
    /// to `pos`, and may take more.
    TakeMore { at: usize, count: u32, pos: usize },
}

pub struct Program {
    insts: Vec<Inst>,
    sets: Vec<Set>,
    /// Each set's answer for the 128 ASCII characters, one bit each.
    ascii_sets: Vec<u128>,
    /// The test every match's first character passes, when the program
    /// has one (its first consuming step, past captures and assertions).
    first: Option<One>,
    ascii: bool,
    pub n_slots: usize,
    n_regs: usize,
}

/// Reusable buffers of a run.
#[derive(Default)]
pub struct Scratch {
    pub slots: Vec<usize>,
    regs: Vec<usize>,
    stack: Vec<Frame>,
}

impl Program {
    pub fn compile(parsed: &Parsed, pattern: &str) -> Result<Program, String> {
        let mut p = Program { insts: Vec::new(), sets: Vec::new(), ascii_sets: Vec::new(), first: None, ascii: parsed.ascii, n_slots: 2 * (parsed.groups + 1), n_regs: 0 };
        p.emit(&parsed.node, pattern)?;
        p.insts.push(Inst::Match);
        p.ascii_sets = p.sets.iter().map(|set| (0..128u8).filter(|&b| p.set_has_slow(set, b as char)).fold(0u128, |m, b| m | 1 << b)).collect();
        p.first = p.first_test();
        if p.insts.len() > MAX_INSTS {
            return Err(format!("--token-pattern '{pattern}': too large once its repeats are unrolled ({} steps; at most {MAX_INSTS})", p.insts.len()));
        }
        Ok(p)
    }

    fn pc(&self) -> usize {
        self.insts.len()
    }

    fn emit(&mut self, node: &Node, pattern: &str) -> Result<(), String> {
        match node {
            Node::Empty => {}
            Node::Char(c) => self.insts.push(Inst::Char(*c)),
            Node::Any => self.insts.push(Inst::Any),
            Node::Set(s) => {
                self.sets.push(s.clone());
                self.insts.push(Inst::Set(self.sets.len() - 1));
            }
            Node::Assert(a) => self.insts.push(Inst::Assert(*a)),
            Node::Group(None, n) => self.emit(n, pattern)?,
            Node::Group(Some(g), n) => {
                self.insts.push(Inst::Save(2 * g));
                self.emit(n, pattern)?;
                self.insts.push(Inst::Save(2 * g + 1));
            }
            Node::Concat(v) => v.iter().try_for_each(|n| self.emit(n, pattern))?,
            Node::Alt(v) => {
                let mut jumps = Vec::new();
                for (i, n) in v.iter().enumerate() {
                    if i + 1 == v.len() {
                        self.emit(n, pattern)?;
                        break;
                    }
                    let split = self.pc();
                    self.insts.push(Inst::Split(split + 1, 0));
                    self.emit(n, pattern)?;
                    jumps.push(self.pc());
                    self.insts.push(Inst::Jmp(0));
                    let here = self.pc();
                    self.insts[split] = Inst::Split(split + 1, here);
                }
                let end = self.pc();
                jumps.into_iter().for_each(|j| self.insts[j] = Inst::Jmp(end));
            }
            Node::Repeat { node, min, max, greedy } => self.emit_repeat(node, *min, *max, *greedy, pattern)?,
            Node::Look { behind, negate, node } => {
                let width = if *behind {
                    node.fixed_len().ok_or_else(|| format!("--token-pattern '{pattern}': a lookbehind of variable width (Python: error)"))?
                } else {
                    0
                };
                let at = self.pc();
                self.insts.push(Inst::Match); // patched below
                self.emit(node, pattern)?;
                self.insts.push(Inst::Match);
                self.insts[at] = Inst::Look { behind: *behind, negate: *negate, width, next: self.pc() };
            }
        }
        if self.insts.len() > MAX_INSTS {
            return Err(format!("--token-pattern '{pattern}': too large once its repeats are unrolled (more than {MAX_INSTS} steps)"));
        }
        Ok(())
    }

    fn emit_repeat(&mut self, node: &Node, min: u32, max: Option<u32>, greedy: bool, pattern: &str) -> Result<(), String> {
        let one = match node {
            Node::Char(c) => Some(One::Char(*c)),
            Node::Any => Some(One::Any),
            Node::Set(set) => {
                self.sets.push(set.clone());
                Some(One::Set(self.sets.len() - 1))
            }
            _ => None,
        };
        if let Some(one) = one {
            self.insts.push(Inst::Repeat1 { one, min, max: max.unwrap_or(u32::MAX), greedy });
            return Ok(());
        }
        for _ in 0..min {
            self.emit(node, pattern)?;
        }
        let Some(max) = max else {
            // loop: Split(body, exit); body; Jmp loop
            let guard = (node.min_len() == 0).then(|| {
                self.n_regs += 1;
                self.n_regs - 1
            });
            let top = self.pc();
            self.insts.push(Inst::Match); // patched below
            if let Some(r) = guard {
                self.insts.push(Inst::Mark(r));
            }
            self.emit(node, pattern)?;
            let progress = self.pc();
            if let Some(reg) = guard {
                self.insts.push(Inst::Progress { reg, exit: 0 });
            }
            self.insts.push(Inst::Jmp(top));
            let exit = self.pc();
            self.insts[top] = split(greedy, top + 1, exit);
            if let Some(reg) = guard {
                self.insts[progress] = Inst::Progress { reg, exit };
            }
            return Ok(());
        };
        let mut splits = Vec::new();
        for _ in min..max {
            splits.push(self.pc());
            self.insts.push(Inst::Match); // patched below
            self.emit(node, pattern)?;
        }
        let exit = self.pc();
        for s in splits {
            self.insts[s] = split(greedy, s + 1, exit);
        }
        Ok(())
    }

    fn class_has(&self, k: Class, c: char) -> bool {
        match (k, self.ascii) {
            (Class::Word, false) => is_word_char(c),
            (Class::Word, true) => c.is_ascii_alphanumeric() || c == '_',
            (Class::Digit, false) => get_general_category(c) == GeneralCategory::DecimalNumber,
            (Class::Digit, true) => c.is_ascii_digit(),
            (Class::Space, false) => is_py_space(c),
            (Class::Space, true) => matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}'),
        }
    }

    /// Whether set `i` holds `c`: a bit test for ASCII.
    #[inline]
    fn set_has(&self, i: usize, c: char) -> bool {
        if c.is_ascii() {
            return self.ascii_sets[i] >> (c as u32) & 1 == 1;
        }
        self.set_has_slow(&self.sets[i], c)
    }

    fn set_has_slow(&self, s: &Set, c: char) -> bool {
        let hit = s.items.iter().any(|item| match *item {
            Item::Range(a, b) => a <= c && c <= b,
            Item::Class(k, neg) => self.class_has(k, c) != neg,
        });
        hit != s.negated
    }

    fn is_word(&self, c: Option<char>) -> bool {
        c.is_some_and(|c| self.class_has(Class::Word, c))
    }

    fn holds(&self, a: Assertion, text: &str, pos: usize) -> bool {
        match a {
            Assertion::Start => pos == 0,
            Assertion::End => pos == text.len(),
            Assertion::EndOrNewline => pos == text.len() || (pos + 1 == text.len() && text.as_bytes()[pos] == b'\n'),
            // sre: no boundary of either kind in an empty text.
            Assertion::WordBoundary | Assertion::NotWordBoundary if text.is_empty() => false,
            Assertion::WordBoundary | Assertion::NotWordBoundary => {
                let before = self.is_word(text[..pos].chars().next_back());
                let after = self.is_word(text[pos..].chars().next());
                (before != after) == (a == Assertion::WordBoundary)
            }
        }
    }

    /// Matches from `pos`, with the captures in `sc.slots` (which the caller
    /// sets to [`UNSET`]); the end of the match.
    pub fn run(&self, text: &str, pos: usize, sc: &mut Scratch) -> Option<usize> {
        sc.regs.clear();
        sc.regs.resize(self.n_regs, UNSET);
        sc.stack.clear();
        let (slots, regs, stack) = (&mut sc.slots, &mut sc.regs, &mut sc.stack);
        self.exec(0, text, pos, slots, regs, stack)
    }

    fn exec(&self, mut pc: usize, text: &str, mut pos: usize, slots: &mut Vec<usize>, regs: &mut Vec<usize>, stack: &mut Vec<Frame>) -> Option<usize> {
        let base = stack.len();
        loop {
            let ok = match &self.insts[pc] {
                Inst::Match => return Some(pos),
                Inst::Repeat1 { one, min, max, greedy } => match self.repeat1(*one, *min, if *greedy { *max } else { *min }, text, pos) {
                    None => false,
                    Some((floor, end)) if *greedy => {
                        if end > floor {
                            stack.push(Frame::GiveBack { pc: pc + 1, floor, pos: end });
                        }
                        pos = end;
                        true
                    }
                    Some((floor, _)) => {
                        if min < max {
                            stack.push(Frame::TakeMore { at: pc, count: *min, pos: floor });
                        }
                        pos = floor;
                        true
                    }
                },
                Inst::Char(c) => self.step(text, &mut pos, |x| x == *c),
                Inst::Any => self.step(text, &mut pos, |x| x != '\n'),
                Inst::Set(i) => self.step(text, &mut pos, |x| self.set_has(*i, x)),
                Inst::Assert(a) => self.holds(*a, text, pos),
                Inst::Save(s) => {
                    stack.push(Frame::Slot(*s, slots[*s]));
                    slots[*s] = pos;
                    true
                }
                Inst::Mark(r) => {
                    stack.push(Frame::Reg(*r, regs[*r]));
                    regs[*r] = pos;
                    true
                }
                Inst::Progress { reg, exit } => {
                    if regs[*reg] == pos {
                        pc = *exit;
                        continue;
                    }
                    true
                }
                Inst::Split(a, b) => {
                    stack.push(Frame::Branch(*b, pos));
                    pc = *a;
                    continue;
                }
                Inst::Jmp(a) => {
                    pc = *a;
                    continue;
                }
                Inst::Look { behind, negate, width, next } => {
                    let ok = self.look(pc + 1, text, pos, *behind, *width, slots, regs, stack) != *negate;
                    if ok {
                        pc = *next;
                        continue;
                    }
                    false
                }
            };
            if ok {
                pc += 1;
                continue;
            }
            // Backtrack to the latest choice point of this run.
            (pc, pos) = self.backtrack(text, stack, base, slots, regs)?;
        }
    }

    /// Pops frames down to the latest choice point above `base` (putting
    /// captures and registers back) and says where to resume; `None` when
    /// this run has no choice left.
    fn backtrack(&self, text: &str, stack: &mut Vec<Frame>, base: usize, slots: &mut [usize], regs: &mut [usize]) -> Option<(usize, usize)> {
        while stack.len() > base {
            match stack.pop().expect("above base") {
                Frame::Branch(p, at) => return Some((p, at)),
                Frame::Slot(s, v) => slots[s] = v,
                Frame::Reg(r, v) => regs[r] = v,
                Frame::GiveBack { pc, floor, pos } => {
                    let back = pos - text[..pos].chars().next_back().expect("above the floor").len_utf8();
                    if back > floor {
                        stack.push(Frame::GiveBack { pc, floor, pos: back });
                    }
                    return Some((pc, back));
                }
                Frame::TakeMore { at, count, pos } => {
                    let Inst::Repeat1 { one, max, .. } = self.insts[at] else { unreachable!("TakeMore names a Repeat1") };
                    let Some(c) = text[pos..].chars().next().filter(|&c| self.one_has(one, c)) else { continue };
                    let next = pos + c.len_utf8();
                    if count + 1 < max {
                        stack.push(Frame::TakeMore { at, count: count + 1, pos: next });
                    }
                    return Some((at + 1, next));
                }
            }
        }
        None
    }

    /// The first consuming step's test, if every match starts with it.
    fn first_test(&self) -> Option<One> {
        let mut pc = 0;
        loop {
            match &self.insts[pc] {
                Inst::Save(_) | Inst::Assert(_) => pc += 1,
                Inst::Look { next, .. } => pc = *next,
                Inst::Char(c) => return Some(One::Char(*c)),
                Inst::Any => return Some(One::Any),
                Inst::Set(i) => return Some(One::Set(*i)),
                Inst::Repeat1 { one, min, .. } if *min >= 1 => return Some(*one),
                _ => return None,
            }
        }
    }

    /// Whether a match could start with `c` (a quick skip of start
    /// positions that cannot).
    #[inline]
    pub fn may_start(&self, c: char) -> bool {
        self.first.is_none_or(|one| self.one_has(one, c))
    }

    fn one_has(&self, one: One, c: char) -> bool {
        match one {
            One::Char(x) => x == c,
            One::Any => c != '\n',
            One::Set(i) => self.set_has(i, c),
        }
    }

    /// Scans up to `max` characters passing `one` from `pos`: the position
    /// after the first `min` of them and after the last, or `None` if
    /// fewer than `min` pass.
    fn repeat1(&self, one: One, min: u32, max: u32, text: &str, pos: usize) -> Option<(usize, usize)> {
        let (mut end, mut n, mut floor) = (pos, 0u32, pos);
        for c in text[pos..].chars() {
            if n == max || !self.one_has(one, c) {
                break;
            }
            end += c.len_utf8();
            n += 1;
            if n == min {
                floor = end;
            }
        }
        (n >= min).then_some((floor, end))
    }

    #[inline]
    fn step(&self, text: &str, pos: &mut usize, test: impl Fn(char) -> bool) -> bool {
        match text[*pos..].chars().next() {
            Some(c) if test(c) => {
                *pos += c.len_utf8();
                true
            }
            _ => false,
        }
    }

    /// Whether the lookaround body at `pc` matches; the captures a positive
    /// one sets stay, undone if the caller backtracks past it.
    #[allow(clippy::too_many_arguments)]
    fn look(&self, pc: usize, text: &str, pos: usize, behind: bool, width: usize, slots: &mut Vec<usize>, regs: &mut Vec<usize>, stack: &mut Vec<Frame>) -> bool {
        let from = if behind {
            let mut back = text[..pos].char_indices().rev().map(|(i, _)| i);
            match width {
                0 => Some(pos),
                w => back.nth(w - 1),
            }
        } else {
            Some(pos)
        };
        let Some(from) = from else { return false };
        let before = slots.clone();
        let mut sub = Vec::new();
        let hit = self.exec(pc, text, from, slots, regs, &mut sub).is_some();
        for (s, (&old, &new)) in before.iter().zip(slots.iter()).enumerate() {
            if old != new {
                stack.push(Frame::Slot(s, old));
            }
        }
        hit
    }
}
