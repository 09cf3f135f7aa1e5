//! MurmurHash3 (x86, 32-bit), the hash behind scikit-learn's `HashingVectorizer`
//! (`sklearn.utils.murmurhash3_32` over the UTF-8 bytes of a term, seed 0).

/// MurmurHash3_x86_32 of `data` with `seed`, as a signed 32-bit value
/// (scikit-learn uses the signed result for the column and the sign).
pub fn murmurhash3_32(data: &[u8], seed: u32) -> i32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mut h = seed;
    let mut blocks = data.chunks_exact(4);
    for b in &mut blocks {
        let mut k = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        let mut k = 0u32;
        for (i, &byte) in tail.iter().enumerate() {
            k |= (byte as u32) << (8 * i);
        }
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
    }
    h ^= data.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h as i32
}

/// The column and sign scikit-learn's `FeatureHasher` gives a term:
/// `abs(h) % n_features` (with `abs(i32::MIN)` taken as 2^31), and `+1`/`-1`
/// from the sign of `h` when `alternate_sign` is on.
#[inline]
pub fn hashed_column(term: &str, n_features: u32, alternate_sign: bool) -> (u32, f64) {
    let h = murmurhash3_32(term.as_bytes(), 0);
    let sign = if alternate_sign && h < 0 { -1.0 } else { 1.0 };
    (column(h, n_features), sign)
}

/// `abs(h) % n_features` without overflow: scikit-learn takes `abs(-2^31)`
/// as 2^31, where an `i32` abs would overflow.
#[inline]
fn column(h: i32, n_features: u32) -> u32 {
    (h.unsigned_abs() as u64 % n_features as u64) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_vectors() {
        // Published MurmurHash3_x86_32 test vectors.
        assert_eq!(murmurhash3_32(b"", 0), 0);
        assert_eq!(murmurhash3_32(b"", 1) as u32, 0x514e_28b7);
        assert_eq!(murmurhash3_32(b"Hello, world!", 1234) as u32, 0xfaf6_cdb3);
        assert_eq!(murmurhash3_32(b"The quick brown fox jumps over the lazy dog", 0) as u32, 0x2e4f_f723);
    }

    /// The column of the one hash whose abs overflows an i32, as
    /// scikit-learn computes it: `(2147483647 - (n - 1)) % n`.
    #[test]
    fn min_value_column() {
        for n in [1u32, 7, 1000, 1 << 20, u32::MAX] {
            let sklearn = ((2_147_483_647i64 - (n as i64 - 1)).rem_euclid(n as i64)) as u32;
            assert_eq!(column(i32::MIN, n), sklearn, "n_features {n}");
        }
        assert_eq!(column(-5, 3), 2);
        assert_eq!(column(i32::MAX, 10), 7);
    }
}
