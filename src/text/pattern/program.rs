//! A parsed pattern as a program for a backtracking machine: the program's
//! types here; compiling a parsed pattern into one in `compile.rs`, running
//! it in `run.rs`. It runs the way
//! Python's `sre` runs it: alternatives and repeats tried in priority
//! order (greedy: longest first; lazy: shortest first), the first match
//! found at the leftmost start wins, captures are the last iteration's.
//!
//! The machine keeps its choice points on a heap stack, not the call stack,
//! so a token of a million characters matched by `\w+` costs memory, never
//! a stack overflow. A repeat whose body can match nothing stops iterating
//! after an iteration that does not move, as `sre` does.

use super::parse::{Assertion, Set};

/// No position (an unset capture).
pub const UNSET: usize = usize::MAX;

/// Programs larger than this are refused (repeats are unrolled).
pub(super) const MAX_INSTS: usize = 100_000;

/// A one-character test.
#[derive(Clone, Copy, Debug)]
pub(super) enum One {
    Char(char),
    Any,
    Set(usize),
}

#[derive(Clone, Debug)]
pub(super) enum Inst {
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
pub(super) fn split(greedy: bool, body: usize, exit: usize) -> Inst {
    if greedy { Inst::Split(body, exit) } else { Inst::Split(exit, body) }
}

/// Where to resume on failure, or a value to put back.
pub(super) enum Frame {
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
    pub(super) insts: Vec<Inst>,
    pub(super) sets: Vec<Set>,
    /// Each set's answer for the 128 ASCII characters, one bit each.
    pub(super) ascii_sets: Vec<u128>,
    /// The test every match's first character passes, when the program
    /// has one (its first consuming step, past captures and assertions).
    pub(super) first: Option<One>,
    pub(super) ascii: bool,
    pub n_slots: usize,
    pub(super) n_regs: usize,
}

/// Reusable buffers of a run.
#[derive(Default)]
pub struct Scratch {
    pub slots: Vec<usize>,
    pub(super) regs: Vec<usize>,
    pub(super) stack: Vec<Frame>,
}
