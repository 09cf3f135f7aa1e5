//! Software prefetch, for reads in an order the hardware cannot guess: the
//! solver's samples come in random order (prefetching the stored gradient
//! terms took 10 % off a fit, docs/measured.md); the vectorizer's n-grams land in
//! random slots of a table far larger than the caches.

/// The cache level a prefetch fills.
#[cfg(target_arch = "x86_64")]
const L1: i32 = std::arch::x86_64::_MM_HINT_T0;
#[cfg(target_arch = "x86_64")]
const L2: i32 = std::arch::x86_64::_MM_HINT_T1;
#[cfg(not(target_arch = "x86_64"))]
const L1: i32 = 0;
#[cfg(not(target_arch = "x86_64"))]
const L2: i32 = 0;

/// Asks the CPU to start loading `data` into the first-level cache: every
/// line it touches, up to 512 bytes from its start (a slice that does not
/// begin on a line boundary touches one line more than its length suggests).
#[inline(always)]
pub fn prefetch<T>(data: &[T]) {
    lines::<L1, T>(data)
}

/// As [`prefetch`], into the second-level cache only. For many lines at
/// once: a first-level prefetch holds one of the core's few line-fill
/// buffers until its line arrives, and once they are all taken every further
/// prefetch stalls the core (a SAGA step over K = 20 classes reaches some 270
/// lines; perf put 18 % of an epoch on the prefetch instruction with the L1
/// hint).
#[inline(always)]
pub fn prefetch_l2<T>(data: &[T]) {
    lines::<L2, T>(data)
}

/// [`prefetch_l2`] when `l2_only`, [`prefetch`] otherwise: for a caller
/// whose best hint depends on the shape of its data (the SAGA solver's, on
/// the width of a feature's block).
#[inline(always)]
pub fn prefetch_to<T>(data: &[T], l2_only: bool) {
    if l2_only {
        prefetch_l2(data)
    } else {
        prefetch(data)
    }
}

#[inline(always)]
fn lines<const HINT: i32, T>(data: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        let base = data.as_ptr() as *const i8;
        let skew = base as usize & 63;
        let end = skew + std::mem::size_of_val(data).min(512);
        let mut off = 0;
        while off < end {
            // SAFETY: a prefetch never faults, whatever the address.
            unsafe { std::arch::x86_64::_mm_prefetch::<HINT>(base.wrapping_sub(skew).wrapping_add(off)) };
            off += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}
