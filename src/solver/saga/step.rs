//! The step's buffer: what one allreduce carries for a batch of samples.
//!
//! Layout, so that a plain element-wise sum over ranks combines it:
//!
//! ```text
//! [stop] then per sample: [K partial scores | K stored terms | label | weight | first visit]
//! ```
//!
//! Every rank adds its features' share of each sample's scores (rank 0 adds
//! the intercept); only the rank that read a sample writes its stored
//! gradient terms, label, weight and first-visit flag (the others leave
//! zeros). The leading stop flag is any rank's signal: after the sum it is
//! positive on every rank at once, so all ranks stop at the same step.

/// The buffer of one step, for `k` scores per sample.
pub struct StepBuffer {
    k: usize,
    buf: Vec<f64>,
}

/// One sample's entries after the allreduce.
pub struct Sample<'a> {
    pub scores: &'a [f64],
    pub stored: &'a [f64],
    pub label: usize,
    pub weight: f64,
    /// 1.0 on the sample's first visit of the fit, 0.0 after (a count).
    pub first_visit: f64,
}

impl StepBuffer {
    pub fn new(k: usize) -> Self {
        StepBuffer { k, buf: Vec::new() }
    }

    fn slot(&self) -> usize {
        2 * self.k + 3
    }

    fn at(&self, s: usize) -> std::ops::Range<usize> {
        1 + s * self.slot()..1 + (s + 1) * self.slot()
    }

    /// Zeros for `samples` samples, with this rank's stop request.
    pub fn reset(&mut self, samples: usize, stop: bool) {
        self.buf.clear();
        self.buf.resize(1 + samples * self.slot(), 0.0);
        self.buf[0] = stop as u8 as f64;
    }

    /// Sample `s`'s K scores, to add this rank's share to.
    #[inline]
    pub fn scores_mut(&mut self, s: usize) -> &mut [f64] {
        let (r, k) = (self.at(s), self.k);
        &mut self.buf[r][..k]
    }

    /// Writes what only the rank that read sample `s` knows.
    #[inline]
    pub fn set_owned(&mut self, s: usize, stored: &[f64], label: u32, weight: f64, first_visit: bool) {
        let (r, k) = (self.at(s), self.k);
        put_owned(&mut self.buf[r][k..], stored, label, weight, first_visit);
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
        let k = self.k;
        let v = &self.buf[self.at(s)];
        let (stored, label, weight, first_visit) = owned(&v[k..], k);
        Sample { scores: &v[..k], stored, label, weight, first_visit }
    }
}

/// The end of a sample's slot that only the rank that read it writes, in a
/// step's buffer as in a block's (`block::BlockBuffer`): its K stored
/// gradient terms, label, weight and first-visit flag.
#[inline]
pub(super) fn put_owned(out: &mut [f64], stored: &[f64], label: u32, weight: f64, first_visit: bool) {
    let k = stored.len();
    out[..k].copy_from_slice(stored);
    out[k] = label as f64;
    out[k + 1] = weight;
    out[k + 2] = first_visit as u8 as f64;
}

/// What [`put_owned`] wrote (summed over ranks: only the owner's values):
/// stored terms, label, weight, first visit.
#[inline]
pub(super) fn owned(v: &[f64], k: usize) -> (&[f64], usize, f64, f64) {
    (&v[..k], v[k] as usize, v[k + 1], v[k + 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two ranks' buffers summed element-wise give each sample's full scores
    /// and its owner's fields, and the stop flag of either rank.
    #[test]
    fn summed_buffers_combine_scores_and_owner_fields() {
        let (mut a, mut b) = (StepBuffer::new(2), StepBuffer::new(2));
        a.reset(2, false);
        b.reset(2, true);
        a.scores_mut(0).copy_from_slice(&[1.0, 2.0]);
        b.scores_mut(0).copy_from_slice(&[0.5, 0.25]);
        a.set_owned(0, &[0.1, 0.2], 1, 2.0, true);
        b.set_owned(1, &[0.3, 0.4], 0, 1.0, false);
        let sum: Vec<f64> = a.as_mut_slice().iter().zip(b.as_mut_slice().iter()).map(|(x, y)| x + y).collect();
        a.as_mut_slice().copy_from_slice(&sum);
        assert!(a.stop_requested());
        let s0 = a.sample(0);
        assert_eq!((s0.scores, s0.stored, s0.label, s0.weight, s0.first_visit), (&[1.5, 2.25][..], &[0.1, 0.2][..], 1, 2.0, 1.0));
        let s1 = a.sample(1);
        assert_eq!((s1.stored, s1.label, s1.first_visit), (&[0.3, 0.4][..], 0, 0.0));
    }
}
