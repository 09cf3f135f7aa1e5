//! numpy's legacy `RandomState(seed)`: the Mersenne Twister (MT19937) with
//! its `init_genrand` seeding, and `shuffle` of a 1-D array as numpy does
//! it (Fisher-Yates from the end, each index drawn by masked rejection).
//! `StratifiedKFold(shuffle=True, random_state=S)` shuffles each class's
//! fold labels with it, so `--cv-shuffle --seed S` reproduces its folds
//! only if every draw is numpy's.

const N: usize = 624;
const M: usize = 397;

/// The generator's state; one stream, drawn in order.
pub struct RandomState {
    key: [u32; N],
    pos: usize,
}

impl RandomState {
    /// `np.random.RandomState(seed)` for an integer seed.
    pub fn new(seed: u32) -> Self {
        let mut key = [0u32; N];
        key[0] = seed;
        for i in 1..N {
            key[i] = 1_812_433_253u32.wrapping_mul(key[i - 1] ^ (key[i - 1] >> 30)).wrapping_add(i as u32);
        }
        RandomState { key, pos: N }
    }

    /// The next 32-bit output (tempered).
    pub fn next_u32(&mut self) -> u32 {
        if self.pos == N {
            self.twist();
        }
        let mut y = self.key[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    fn twist(&mut self) {
        let mix = |a: u32, b: u32| (a & 0x8000_0000) | (b & 0x7fff_ffff);
        for i in 0..N {
            let y = mix(self.key[i], self.key[(i + 1) % N]);
            self.key[i] = self.key[(i + M) % N] ^ (y >> 1) ^ if y & 1 == 1 { 0x9908_b0df } else { 0 };
        }
        self.pos = 0;
    }

    /// numpy's `random_interval(max)`: uniform on `0..=max`, by drawing
    /// masked values until one is in range (64-bit draws past 2^32 - 1).
    fn interval(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        for shift in [1, 2, 4, 8, 16, 32] {
            mask |= mask >> shift;
        }
        loop {
            let v = if max <= u32::MAX as u64 {
                self.next_u32() as u64 & mask
            } else {
                (((self.next_u32() as u64) << 32) | self.next_u32() as u64) & mask
            };
            if v <= max {
                return v;
            }
        }
    }

    /// `RandomState.shuffle(x)` of a 1-D array.
    pub fn shuffle<T>(&mut self, x: &mut [T]) {
        for i in (1..x.len()).rev() {
            let j = self.interval(i as u64) as usize;
            x.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_draws_of_numpy() {
        // numpy: np.random.RandomState(5489).randint(0, 2**32, dtype=np.uint32) == 3499211612
        assert_eq!(RandomState::new(5489).next_u32(), 3_499_211_612);
        // numpy: r = np.random.RandomState(0); a = np.arange(10); r.shuffle(a); then np.arange(7) on the same r.
        let mut r = RandomState::new(0);
        let mut a: Vec<u32> = (0..10).collect();
        r.shuffle(&mut a);
        assert_eq!(a, [2, 8, 4, 9, 1, 6, 7, 3, 0, 5]);
        let mut b: Vec<u32> = (0..7).collect();
        r.shuffle(&mut b);
        assert_eq!(b, [3, 1, 2, 6, 5, 0, 4]);
        // numpy: r = np.random.RandomState(42); a = np.arange(1000); r.shuffle(a) (past one twist of the state).
        let mut a: Vec<u32> = (0..1000).collect();
        RandomState::new(42).shuffle(&mut a);
        assert_eq!(a[..10], [521, 737, 740, 660, 411, 678, 626, 513, 859, 136]);
        assert_eq!(a[995..], [106, 270, 860, 435, 102]);
    }
}
