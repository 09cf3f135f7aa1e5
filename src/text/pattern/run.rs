//! Running a [`Program`] on a text as Python's `sre` does: alternatives and
//! repeats in priority order, choice points on a heap stack, Python's
//! character classes and assertions.

use super::parse::{Assertion, Class, Item, Set};
use super::program::{Frame, Inst, One, Program, Scratch, UNSET};
use crate::text::charclass::is_word_char;
use crate::text::chars::is_py_space;
use unicode_general_category::{get_general_category, GeneralCategory};

impl Program {
    pub(super) fn class_has(&self, k: Class, c: char) -> bool {
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
    pub(super) fn set_has(&self, i: usize, c: char) -> bool {
        if c.is_ascii() {
            return self.ascii_sets[i] >> (c as u32) & 1 == 1;
        }
        self.set_has_slow(&self.sets[i], c)
    }

    pub(super) fn set_has_slow(&self, s: &Set, c: char) -> bool {
        let hit = s.items.iter().any(|item| match *item {
            Item::Range(a, b) => a <= c && c <= b,
            Item::Class(k, neg) => self.class_has(k, c) != neg,
        });
        hit != s.negated
    }

    pub(super) fn is_word(&self, c: Option<char>) -> bool {
        c.is_some_and(|c| self.class_has(Class::Word, c))
    }

    pub(super) fn holds(&self, a: Assertion, text: &str, pos: usize) -> bool {
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

    pub(super) fn exec(&self, mut pc: usize, text: &str, mut pos: usize, slots: &mut Vec<usize>, regs: &mut Vec<usize>, stack: &mut Vec<Frame>) -> Option<usize> {
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
    pub(super) fn backtrack(&self, text: &str, stack: &mut Vec<Frame>, base: usize, slots: &mut [usize], regs: &mut [usize]) -> Option<(usize, usize)> {
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

    /// Whether a match could start with `c` (a quick skip of start
    /// positions that cannot).
    #[inline]
    pub fn may_start(&self, c: char) -> bool {
        self.first.is_none_or(|one| self.one_has(one, c))
    }

    pub(super) fn one_has(&self, one: One, c: char) -> bool {
        match one {
            One::Char(x) => x == c,
            One::Any => c != '\n',
            One::Set(i) => self.set_has(i, c),
        }
    }

    /// Scans up to `max` characters passing `one` from `pos`: the position
    /// after the first `min` of them and after the last, or `None` if
    /// fewer than `min` pass.
    pub(super) fn repeat1(&self, one: One, min: u32, max: u32, text: &str, pos: usize) -> Option<(usize, usize)> {
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
    pub(super) fn step(&self, text: &str, pos: &mut usize, test: impl Fn(char) -> bool) -> bool {
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
    pub(super) fn look(&self, pc: usize, text: &str, pos: usize, behind: bool, width: usize, slots: &mut Vec<usize>, regs: &mut Vec<usize>, stack: &mut Vec<Frame>) -> bool {
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
