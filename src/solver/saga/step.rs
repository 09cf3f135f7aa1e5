//! The buffer of a step (or of a block of steps, `block`): what one
//! allreduce carries for its samples.
//!
//! Layout, so that a plain element-wise sum over ranks combines it:
//!
//! ```text
//! [stop] then per sample: [P x K partial sums | K stored terms | label | weight | first visit]
//!        then a tail of values summed alike
//! ```
//!
//! Every rank adds its features' share of each sample's partial sums (a
//! step's: its K scores, to which rank 0 adds the intercept; a block's: its
//! `u` and `v`, and the Gram matrix in the tail); only the rank that read a
//! sample writes its stored gradient terms, label, weight and first-visit
//! flag (the others leave zeros). The leading stop flag is any rank's
//! signal: after the sum it is positive on every rank at once, so all ranks
//! stop at the same step.

use crate::sparse::Value;

/// The buffer of one step or block, for `k` scores per sample.
pub struct StepBuffer {
    k: usize,
    /// K-wide partial sums per sample (P above).
    parts: usize,
    samples: usize,
    buf: Vec<f64>,
}

/// One sample's entries after the allreduce.
pub struct Sample<'a> {
    /// The P x K partial sums, summed over the ranks.
    pub partials: &'a [f64],
    pub stored: &'a [f64],
    pub label: usize,
    pub weight: f64,
    /// 1.0 on the sample's first visit of the fit, 0.0 after (a count).
    pub first_visit: f64,
}

impl StepBuffer {
    /// A buffer with `parts` K-wide partial sums per sample.
    pub fn new(k: usize, parts: usize) -> Self {
        StepBuffer { k, parts, samples: 0, buf: Vec::new() }
    }

    fn slot(&self) -> usize {
        (self.parts + 1) * self.k + 3
    }

    fn at(&self, s: usize) -> std::ops::Range<usize> {
        1 + s * self.slot()..1 + (s + 1) * self.slot()
    }

    /// Zeros for `samples` samples and a tail of `tail` values, with this
    /// rank's stop request.
    pub fn reset(&mut self, samples: usize, tail: usize, stop: bool) {
        self.samples = samples;
        self.buf.clear();
        self.buf.resize(1 + samples * self.slot() + tail, 0.0);
        self.buf[0] = stop as u8 as f64;
    }

    /// Sample `s`'s partial sums, to add this rank's share to.
    #[inline]
    pub fn partials_mut(&mut self, s: usize) -> &mut [f64] {
        let (r, n) = (self.at(s), self.parts * self.k);
        &mut self.buf[r][..n]
    }

    /// Writes what only the rank that read sample `s` knows.
    #[inline]
    pub fn set_owned<V: Value>(&mut self, s: usize, stored: &[V], label: u32, weight: f64, first_visit: bool) {
        let (r, n) = (self.at(s), self.parts * self.k);
        let out = &mut self.buf[r][n..];
        out[..self.k].iter_mut().zip(stored).for_each(|(o, v)| *o = v.to_f64());
        out[self.k] = label as f64;
        out[self.k + 1] = weight;
        out[self.k + 2] = first_visit as u8 as f64;
    }

    /// The values after the samples' slots.
    pub fn tail_mut(&mut self) -> &mut [f64] {
        let start = 1 + self.samples * self.slot();
        &mut self.buf[start..]
    }

    /// The whole buffer, for the allreduce.
    pub fn as_mut_slice(&mut self) -> &mut [f64] {
        &mut self.buf
    }

    /// After the allreduce: whether any rank asked to stop.
    pub fn stop_requested(&self) -> bool {
        self.buf[0] > 0.0
    }

    /// After the allreduce: sample `s`.
    #[inline]
    pub fn sample(&self, s: usize) -> Sample<'_> {
        let (k, n) = (self.k, self.parts * self.k);
        let v = &self.buf[self.at(s)];
        Sample { partials: &v[..n], stored: &v[n..n + k], label: v[n + k] as usize, weight: v[n + k + 1], first_visit: v[n + k + 2] }
    }

    /// After the allreduce: the values after the samples' slots.
    pub fn tail(&self) -> &[f64] {
        &self.buf[1 + self.samples * self.slot()..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two ranks' buffers summed element-wise give each sample's full
    /// partial sums and its owner's fields, the summed tail, and the stop
    /// flag of either rank: one partial sum a sample (a step's scores) and
    /// two with a tail (a block's `u`, `v` and Gram matrix).
    #[test]
    fn summed_buffers_combine_partials_and_owner_fields() {
        for (parts, tail) in [(1, 0), (2, 3)] {
            let (mut a, mut b) = (StepBuffer::new(2, parts), StepBuffer::new(2, parts));
            a.reset(2, tail, false);
            b.reset(2, tail, true);
            for (buf, share) in [(&mut a, 1.0), (&mut b, 0.5)] {
                buf.partials_mut(0).iter_mut().enumerate().for_each(|(i, p)| *p = share * (i + 1) as f64);
                buf.tail_mut().iter_mut().for_each(|t| *t = share);
            }
            a.set_owned(0, &[0.1, 0.2], 1, 2.0, true);
            b.set_owned(1, &[0.3, 0.4], 0, 1.0, false);
            let sum: Vec<f64> = a.as_mut_slice().iter().zip(b.as_mut_slice().iter()).map(|(x, y)| x + y).collect();
            a.as_mut_slice().copy_from_slice(&sum);
            assert!(a.stop_requested());
            let s0 = a.sample(0);
            let want: Vec<f64> = (1..=2 * parts).map(|i| 1.5 * i as f64).collect();
            assert_eq!((s0.partials, s0.stored, s0.label, s0.weight, s0.first_visit), (&want[..], &[0.1, 0.2][..], 1, 2.0, 1.0));
            let s1 = a.sample(1);
            assert_eq!((s1.partials, s1.stored, s1.label, s1.first_visit), (&vec![0.0; 2 * parts][..], &[0.3, 0.4][..], 0, 0.0));
            assert_eq!(a.tail(), &vec![1.5; tail][..], "{parts} parts");
        }
    }
}
