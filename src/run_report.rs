//! What a run reports about itself: per-phase wall times (max and mean over
//! ranks), sizes, bytes communicated, peak memory, written as JSON by
//! `--metrics PATH` and summarised in one line for batch logs.

use crate::collectives::{Collectives, Counts};
use crate::error::Result;
use crate::phase::Phase;
use serde_json::{json, Map, Value};
use std::path::Path;
use std::time::Instant;

pub struct RunReport {
    command: &'static str,
    started: Instant,
    phases: Vec<(Phase, f64)>,
    fields: Map<String, Value>,
}

/// How the job was launched, from the environment the launcher sets.
pub fn launcher() -> &'static str {
    let has = |v: &str| std::env::var_os(v).is_some();
    if has("SLURM_STEP_ID") && has("PMIX_RANK") {
        "srun"
    } else if has("OMPI_COMM_WORLD_SIZE") {
        "mpirun (Open MPI)"
    } else if has("PMI_SIZE") || has("PMI_RANK") {
        "mpirun (MPICH)"
    } else {
        "none"
    }
}

/// This process's peak resident memory in bytes (Linux `VmHWM`), 0 if unknown.
pub fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

impl RunReport {
    pub fn new(command: &'static str) -> Self {
        RunReport { command, started: Instant::now(), phases: Vec::new(), fields: Map::new() }
    }

    /// Records this rank's seconds in a phase (every rank must record the
    /// same phases). A phase recorded again adds up (`predict` reads the
    /// ids after the text).
    pub fn phase(&mut self, phase: Phase, secs: f64) {
        match self.phases.iter_mut().find(|(p, _)| *p == phase) {
            Some((_, total)) => *total += secs,
            None => self.phases.push((phase, secs)),
        }
    }

    /// Records the seconds since `start` (from [`Phase::begin`]) as `phase`.
    pub fn since(&mut self, phase: Phase, start: Instant) {
        self.phase(phase, start.elapsed().as_secs_f64());
    }

    /// Records several phases (the vectorizer's), in order.
    pub fn phases(&mut self, phases: &[(Phase, f64)]) {
        phases.iter().for_each(|&(phase, secs)| self.phase(phase, secs));
    }

    /// Times `f` as `phase`, its fault hook first.
    pub fn timed<T>(&mut self, phase: Phase, rank: usize, f: impl FnOnce() -> T) -> T {
        let t = phase.begin(rank);
        let out = f();
        self.since(phase, t);
        out
    }

    pub fn set(&mut self, key: &str, value: impl serde::Serialize) {
        self.fields.insert(key.to_string(), serde_json::to_value(value).unwrap_or(Value::Null));
    }

    /// Collective: reduces the phases over ranks, writes `path` (rank 0) and
    /// returns the JSON (the same on rank 0; partial elsewhere).
    pub fn finish(mut self, comm: &dyn Collectives, path: Option<&Path>) -> Result<Value> {
        let p = comm.size() as f64;
        let mut phases = Map::new();
        for (phase, secs) in &self.phases {
            let max = comm.max_f64(*secs);
            let mean = comm.sum_f64(*secs) / p;
            phases.insert(phase.name().to_string(), json!({ "max": max, "mean": mean }));
        }
        let communicated = collectives_json(comm, &comm.tally().snapshot());
        let rss = comm.max_f64(peak_rss() as f64);
        let total = comm.max_f64(self.started.elapsed().as_secs_f64());
        self.fields.insert("command".into(), json!(self.command));
        self.fields.insert("launcher".into(), json!(launcher()));
        self.fields.insert("ranks".into(), json!(comm.size()));
        self.fields.insert("seconds".into(), json!(phases));
        self.fields.insert("total_seconds".into(), json!(total));
        self.fields.insert("peak_rss_bytes_max_over_ranks".into(), json!(rss as u64));
        self.fields.insert("collectives".into(), communicated);
        self.fields.insert("git_revision".into(), json!(env!("TEXTSAGA_GIT_REV")));
        self.fields.insert("textsaga_version".into(), json!(env!("CARGO_PKG_VERSION")));
        let value = Value::Object(self.fields);
        let written = match path {
            Some(path) if comm.is_root() => write_json(path, &value),
            _ => Ok(()),
        };
        comm.agree(written)?;
        Ok(value)
    }
}

/// Collective: `{"allreduce": {"calls": .., "bytes": ..}, ...}`: the calls
/// every rank made and the bytes all ranks sent, per kind of collective
/// (see `collectives::Tally`), from each rank's `counts`.
pub fn collectives_json(comm: &dyn Collectives, counts: &Counts) -> Value {
    let bytes = comm.sum_u64_vec(&counts.bytes);
    let total = Counts { calls: counts.calls, bytes: bytes.try_into().expect("one sum per kind") };
    total.to_json()
}

/// Writes JSON atomically (this job's partial file, then rename).
pub fn write_json(path: &Path, value: &Value) -> Result<()> {
    use anyhow::Context;
    let out = crate::output::AtomicPath::new(path, true);
    std::fs::write(out.tmp(), serde_json::to_string_pretty(value)? + "\n")
        .with_context(|| format!("cannot write metrics '{}'", path.display()))?;
    out.commit().with_context(|| format!("cannot write metrics '{}'", path.display()))
}

/// `"read 0.12, tokenize 0.40, ..."` from a finished report's max times.
pub fn phase_summary(report: &Value) -> String {
    report["seconds"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{} {:.2}", k.replace('_', " "), v["max"].as_f64().unwrap_or(0.0)))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}
