//! Large random-access tables on huge pages.
//!
//! The vectorizer's n-gram table and per-term counts, and the solver's
//! feature blocks, reach hundreds of MB a rank and are read in random order:
//! with 4 KiB pages nearly every probe also misses the TLB. Linux's transparent huge pages, in their usual
//! "madvise" mode, back a region with 2 MiB pages only when asked, before
//! the pages are first touched. Where the kernel declines, nothing changes.

/// Below this a table fits the TLB's reach anyway.
const WORTH_IT: usize = 4 << 20;
const HUGE: usize = 2 << 20;

/// A vector of `n` copies of `x` whose memory was offered huge pages before
/// it was filled.
pub fn filled_vec<T: Clone>(n: usize, x: T) -> Vec<T> {
    let mut v = Vec::with_capacity(n);
    advise(&v);
    v.resize(n, x);
    v
}

/// Grows `v` to at least `n` elements of `x`, doubling its capacity and
/// offering the new memory huge pages.
pub fn grow_to<T: Clone>(v: &mut Vec<T>, n: usize, x: T) {
    if n > v.capacity() {
        v.reserve(n.max(2 * v.capacity()) - v.len());
        advise(v);
    }
    v.resize(n, x);
}

/// Makes room in `v` for `additional` more elements at once, offering new
/// memory huge pages before anything touches it. A vector grown by pushes
/// instead doubles and copies itself ~log2(n) times, and every copy
/// faults in new 4 KiB pages.
pub fn reserve<T>(v: &mut Vec<T>, additional: usize) {
    if v.capacity() - v.len() < additional {
        v.reserve_exact(additional);
        advise(v);
    }
}

/// Asks for huge pages over the 2 MiB-aligned interior of `v`'s capacity.
fn advise<T>(v: &Vec<T>) {
    let bytes = v.capacity() * std::mem::size_of::<T>();
    if bytes < WORTH_IT {
        return;
    }
    let start = v.as_ptr() as usize;
    let (first, end) = ((start + HUGE - 1) & !(HUGE - 1), (start + bytes) & !(HUGE - 1));
    if end > first {
        // SAFETY: advice only, over memory this vector owns; a failure
        // (no THP, a kernel that refuses) leaves ordinary pages.
        unsafe { libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_hold_what_was_asked() {
        let v = filled_vec(3 << 20, 7u32);
        assert!(v.len() == 3 << 20 && v.iter().all(|&x| x == 7));
        let mut w = vec![1u8; 5];
        grow_to(&mut w, 9 << 20, 2);
        assert_eq!((w.len(), w[4], w[5], w[(9 << 20) - 1]), (9 << 20, 1, 2, 2));
        let mut r = vec![3u64, 4];
        reserve(&mut r, 5 << 20);
        let room = r.capacity();
        assert!(room >= (5 << 20) + 2 && r == [3, 4]);
        r.extend(0..5 << 20);
        assert_eq!((r.capacity(), r[2], r.len()), (room, 0, (5 << 20) + 2), "no reallocation within the room");
    }
}
