//! `generate`: a synthetic labelled corpus of any size, streamed to disk.
//!
//! Words follow a Zipf law over a made-up language; each class owns a set of
//! topic words that make up a share of its documents' words, so classifiers
//! have something to learn and benchmarks see realistic sparsity. Document
//! lengths are log-normal around `--mean-length`.

use crate::cli::GenerateArgs;
use crate::collectives::Collectives;
use crate::corpus::CorpusWriter;
use crate::error::{usage, Result};
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal, Zipf};
use rand_pcg::Pcg64Mcg;
use std::time::Instant;

/// Syllables of the made-up language; every word has at least one, so at
/// least two letters, and distinct indices give distinct words.
const SYLLABLES: [&str; 24] = [
    "ka", "lo", "mi", "nu", "pe", "ra", "si", "to", "ve", "zu", "ba", "de", "fi", "go", "hu", "ja", "ke", "li",
    "mo", "na", "po", "qu", "re", "sa",
];

/// Appends the word with index `i` (bijective base-24 over syllables).
pub fn word(mut i: u64, out: &mut String) {
    let b = SYLLABLES.len() as u64;
    loop {
        out.push_str(SYLLABLES[(i % b) as usize]);
        if i < b {
            break;
        }
        i = i / b - 1;
    }
}

pub fn run(comm: &dyn Collectives, args: GenerateArgs) -> Result<()> {
    let checked = (|| {
        if !(args.mean_length >= 1.0 && args.mean_length.is_finite()) {
            return Err(usage("--mean-length must be at least 1"));
        }
        if !(0.0..=1.0).contains(&args.topic_share) {
            return Err(usage("--topic-share must be within [0, 1]"));
        }
        if !(args.zipf_exponent > 0.0 && args.zipf_exponent.is_finite()) {
            return Err(usage("--zipf-exponent must be positive"));
        }
        if args.topic_words == 0 || args.topic_words > args.vocab_size / 2 {
            return Err(usage("--topic-words must be between 1 and half of --vocab-size"));
        }
        Ok(())
    })();
    comm.agree(checked)?;
    comm.on_root(|| generate(&args))
}

fn generate(a: &GenerateArgs) -> Result<()> {
    let started = Instant::now();
    let v = a.vocab_size as u64;
    // The language (which words are each class's topic) depends on --topic-seed
    // only, so corpora made with other --seed values are held-out sets of it.
    let mut topic_rng = Pcg64Mcg::seed_from_u64(a.topic_seed ^ 0x7e57_ab1e);
    // Topic words come from below the most frequent words, where real topic words live.
    let lo = (v / 50).min(v - 2 * a.topic_words as u64);
    let pool = sample(&mut topic_rng, (v - lo) as usize, (a.classes * a.topic_words).min((v - lo) as u32) as usize);
    let mut rng = Pcg64Mcg::seed_from_u64(a.seed);
    let pool: Vec<u64> = pool.iter().map(|i| i as u64 + lo).collect();
    let topics: Vec<&[u64]> = (0..a.classes as usize)
        .map(|k| {
            let t = a.topic_words as usize;
            let s = (k * t) % pool.len();
            &pool[s..(s + t).min(pool.len())]
        })
        .collect();
    let zipf = Zipf::new(v as f64, a.zipf_exponent)?;
    let sigma = 0.6f64;
    let lengths = LogNormal::new(a.mean_length.ln() - sigma * sigma / 2.0, sigma)?;

    let mut w = CorpusWriter::create(&a.output)?;
    let mut doc = String::new();
    for _ in 0..a.docs {
        let k = rng.random_range(0..a.classes as usize);
        let len = (lengths.sample(&mut rng).round() as u64).max(1);
        doc.clear();
        for j in 0..len {
            if j > 0 {
                doc.push(if j % 13 == 0 { '.' } else { ' ' });
                if j % 13 == 0 {
                    doc.push(' ');
                }
            }
            let id = if rng.random::<f64>() < a.topic_share {
                topics[k][rng.random_range(0..topics[k].len())]
            } else {
                zipf.sample(&mut rng) as u64 - 1
            };
            word(id, &mut doc);
        }
        w.push_int(doc.as_bytes(), k as i64)?;
    }
    let names: Vec<String> = (0..a.classes).map(|k| format!("class{k:02}")).collect();
    w.finish(Some(&names))?;
    if !a.common.quiet {
        crate::say!(
            "textsaga generate: {} documents, {} classes -> {} in {:.2} s",
            a.docs,
            a.classes,
            a.output.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::word;
    use std::collections::HashSet;

    #[test]
    fn words_are_distinct_and_long_enough() {
        let mut seen = HashSet::new();
        for i in 0..20_000 {
            let mut s = String::new();
            word(i, &mut s);
            assert!(s.len() >= 2 && s.bytes().all(|b| b.is_ascii_lowercase()));
            assert!(seen.insert(s), "duplicate word for {i}");
        }
    }
}
