//! LEB128 varints: how the vectorizer's collectives carry integers and
//! lengths (most word ids, counts and term lengths fit in one or two bytes).

/// Appends `x`, seven bits a byte, low bits first.
pub fn put(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push(x as u8 | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

/// The varint at `*at`, moving `at` past it.
pub fn get(buf: &[u8], at: &mut usize) -> u64 {
    let (mut x, mut shift) = (0u64, 0);
    loop {
        let b = buf[*at];
        *at += 1;
        x |= ((b & 0x7f) as u64) << shift;
        if b < 0x80 {
            return x;
        }
        shift += 7;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn roundtrip() {
        let xs = [0, 1, 127, 128, 300, u32::MAX as u64, u64::MAX];
        let mut b = Vec::new();
        xs.iter().for_each(|&x| super::put(&mut b, x));
        let mut at = 0;
        assert_eq!(xs.iter().map(|_| super::get(&b, &mut at)).collect::<Vec<_>>(), xs);
        assert_eq!(at, b.len());
    }
}
