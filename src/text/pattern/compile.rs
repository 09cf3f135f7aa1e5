//! Compiling a parsed pattern (`parse`) into a [`Program`]: each node
//! emitted as instructions, repeats unrolled up to their minimum, the first
//! character's test found for a quick skip of start positions.

use super::parse::{Node, Parsed};
use super::program::{split, Inst, One, Program, MAX_INSTS};

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

    pub(super) fn pc(&self) -> usize {
        self.insts.len()
    }

    pub(super) fn emit(&mut self, node: &Node, pattern: &str) -> Result<(), String> {
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

    pub(super) fn emit_repeat(&mut self, node: &Node, min: u32, max: Option<u32>, greedy: bool, pattern: &str) -> Result<(), String> {
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

    /// The first consuming step's test, if every match starts with it.
    pub(super) fn first_test(&self) -> Option<One> {
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
}
