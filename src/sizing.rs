//! The sizing rule behind `textsaga plan` and `scripts/slurm/pipeline.sh`:
//! from a corpus's size, each solver mode's modelled time and memory a rank
//! at 1, 2, 4, ... ranks, the rank count past which adding ranks stops
//! paying, the fewest ranks whose memory fits, and so the ranks a job should
//! ask for. Arithmetic over the cost model ([`crate::solver::mode`]) only, so
//! it is tested in one process.

use crate::solver::mode::{cost, lbfgs_gb, lbfgs_seconds, saga_gb, saga_seconds, Size};
use crate::solver::Mode;

/// Doubling the ranks pays while it cuts the modelled time by at least this
/// factor (a doubling that buys less than 25 % wastes most of the new ranks).
pub const PAYS: f64 = 1.25;

/// The corpus as the model sees it (the `ranks` of a [`Size`] aside).
#[derive(Debug, Clone, Copy)]
pub struct Corpus {
    pub docs: f64,
    pub text_bytes: f64,
    pub nnz_per_doc: f64,
    pub features: f64,
    /// Scores per sample (1 for two classes).
    pub width: f64,
}

/// One rank count's figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub ranks: usize,
    pub saga_seconds: f64,
    pub lbfgs_seconds: f64,
    pub saga_gb: f64,
    pub lbfgs_gb: f64,
    /// What `--solver auto` runs at this rank count, and its time and memory.
    pub auto: &'static str,
    pub seconds: f64,
    pub gb: f64,
    /// Against the fastest mode on one rank.
    pub speedup: f64,
    pub efficiency: f64,
    /// Peak gigabytes a rank of `vectorize` (and of `fit` before its solver starts).
    pub vectorize_gb: f64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Plan {
    pub rows: Vec<Row>,
    /// The rank count reached by the last doubling that bought at least
    /// [`PAYS`]: past it no doubling of the table pays. (Not the first that
    /// fails: SAGA may gain little from 1 to 2 ranks where L-BFGS then gains
    /// at every doubling.)
    pub stops_paying: usize,
    /// The fewest ranks (of the table's) whose fit and vectorize fit the memory a rank.
    pub fits_memory: Option<usize>,
    /// What a job should ask for: enough ranks for the memory, and as many as still pay.
    pub recommended: usize,
}

/// Modelled peak gigabytes a rank of the vectorizer: the rank's text (read,
/// then decoded), its token ids (4 bytes for about every 5 bytes of text),
/// its rows (12 bytes a non-zero), and the vocabulary every rank holds
/// (about 40 bytes a term: the string, its hash entry, df and idf).
pub fn vectorize_gb(c: &Corpus, ranks: f64) -> f64 {
    (c.text_bytes / ranks * 2.8 + c.docs / ranks * c.nnz_per_doc * 12.0 + c.features * 40.0) / 1e9
}

fn row(c: &Corpus, ranks: usize, best_one: f64, forced: Option<Mode>) -> Row {
    let s = Size { docs: c.docs, nnz_per_doc: c.nnz_per_doc, features: c.features, width: c.width, ranks: ranks as f64, threads: 1.0 };
    let (saga_s, lbfgs_s) = (saga_seconds(&s), lbfgs_seconds(&s));
    let (saga_m, lbfgs_m) = (saga_gb(&s), lbfgs_gb(&s));
    let mode = forced.unwrap_or_else(|| crate::solver::mode::choose(&s));
    let (seconds, gb) = cost(mode, &s);
    let speedup = best_one / seconds;
    Row {
        ranks,
        saga_seconds: saga_s,
        lbfgs_seconds: lbfgs_s,
        saga_gb: saga_m,
        lbfgs_gb: lbfgs_m,
        auto: mode.name(),
        seconds,
        gb,
        speedup,
        efficiency: speedup / ranks as f64,
        vectorize_gb: vectorize_gb(c, ranks as f64),
    }
}

/// The rank counts of the table: powers of two up to `max_ranks`, and
/// `asked` (a job's own count) wherever it falls.
fn counts(max_ranks: usize, asked: Option<usize>) -> Vec<usize> {
    let mut v: Vec<usize> = std::iter::successors(Some(1usize), |p| p.checked_mul(2)).take_while(|&p| p <= max_ranks.max(1)).collect();
    if let Some(a) = asked.filter(|a| !v.contains(a)) {
        v.push(a);
        v.sort_unstable();
    }
    v
}

/// The sizing of `corpus` at up to `max_ranks` ranks with `gb_per_rank` of
/// memory each, for the mode a fit will run (`None`: `auto`'s choice at
/// each rank count; a `--Cs` path always runs SAGA).
pub fn plan(corpus: &Corpus, max_ranks: usize, asked: Option<usize>, gb_per_rank: f64, forced: Option<Mode>) -> Plan {
    let one = Size { docs: corpus.docs, nnz_per_doc: corpus.nnz_per_doc, features: corpus.features, width: corpus.width, ranks: 1.0, threads: 1.0 };
    let best_one = saga_seconds(&one).min(lbfgs_seconds(&one));
    let rows: Vec<Row> = counts(max_ranks, asked).into_iter().map(|p| row(corpus, p, best_one, forced)).collect();
    let doublings: Vec<&Row> = rows.iter().filter(|r| r.ranks.is_power_of_two()).collect();
    let stops_paying = doublings.windows(2).rev().find(|w| w[0].seconds / w[1].seconds >= PAYS).map_or(1, |w| w[1].ranks);
    let fits_memory = doublings.iter().find(|r| r.gb.max(r.vectorize_gb) <= gb_per_rank).map(|r| r.ranks);
    let recommended = stops_paying.max(fits_memory.unwrap_or(max_ranks)).min(max_ranks.max(1));
    Plan { rows, stops_paying, fits_memory, recommended }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus(docs: f64, features: f64) -> Corpus {
        Corpus { docs, text_bytes: docs * 400.0, nnz_per_doc: 68.0, features, width: 20.0 }
    }

    /// docs/design.md's target shape: the model's own figures (modelled speedup
    /// keeps growing to 1024 ranks), so the rule recommends the most ranks
    /// allowed; a small corpus stops paying after a few ranks.
    #[test]
    fn a_big_corpus_pays_to_many_ranks_and_a_small_one_does_not() {
        let big = plan(&corpus(1e8, 1e6), 1024, None, 4.0, None);
        assert_eq!(big.rows.len(), 11);
        assert_eq!(big.stops_paying, 1024, "{:?}", big.rows.iter().map(|r| r.seconds).collect::<Vec<_>>());
        assert!(big.rows.last().unwrap().speedup > 100.0);
        let small = plan(&corpus(2e4, 3e4), 1024, None, 4.0, None);
        assert!(small.stops_paying <= 16, "a 20k-document corpus stops paying at {}", small.stops_paying);
        assert_eq!(small.recommended, small.stops_paying);
    }

    /// Memory wins over speed: a corpus that does not fit one rank gets the
    /// fewest ranks that hold it even where speed alone would ask fewer.
    #[test]
    fn memory_sets_the_floor_and_max_ranks_the_ceiling() {
        let c = corpus(1e8, 1e6);
        let p = plan(&c, 1024, None, 4.0, None);
        let fits = p.fits_memory.expect("fits at some count");
        assert!(p.rows.iter().filter(|r| r.ranks < fits).all(|r| r.gb.max(r.vectorize_gb) > 4.0));
        assert!(p.recommended >= fits);
        assert_eq!(plan(&c, 8, None, 4.0, None).recommended, 8);
        let asked = plan(&c, 64, Some(48), 4.0, None);
        assert!(asked.rows.iter().any(|r| r.ranks == 48) && asked.rows.iter().all(|r| r.ranks <= 64));
    }

    /// Each figure falls with the ranks where the work divides.
    #[test]
    fn memory_a_rank_falls_with_the_ranks() {
        let c = corpus(1e7, 5e5);
        let p = plan(&c, 256, None, 4.0, None);
        for w in p.rows.windows(2) {
            assert!(w[1].lbfgs_gb < w[0].lbfgs_gb && w[1].vectorize_gb < w[0].vectorize_gb);
        }
    }
}

#[cfg(test)]
mod forced {
    use super::*;

    /// A fit that will run SAGA (a --Cs path, --solver saga) is sized by
    /// SAGA's curve, which stops paying far sooner than auto's.
    #[test]
    fn a_saga_fit_is_sized_by_saga() {
        let c = Corpus { docs: 1e8, text_bytes: 4e10, nnz_per_doc: 68.0, features: 1e6, width: 20.0 };
        let saga = plan(&c, 1024, None, 1e9, Some(Mode::Saga));
        assert!(saga.rows.iter().all(|r| r.auto == "saga"));
        assert!(saga.stops_paying < plan(&c, 1024, None, 1e9, None).stops_paying);
    }
}
