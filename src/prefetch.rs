//! Software prefetch, for reads in an order the hardware cannot guess: the
//! solver's samples come in random order (prefetching the stored gradient
//! terms took 10 % off a fit, README); the vectorizer's n-grams land in
//! random slots of a table far larger than the caches.

/// Asks the CPU to start loading `data` into cache (up to 8 lines).
#[inline]
pub fn prefetch<T>(data: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        let bytes = std::mem::size_of_val(data).min(512);
        let base = data.as_ptr() as *const i8;
        for off in (0..bytes).step_by(64) {
            // SAFETY: a prefetch never faults; the address lies within `data`.
            unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(base.add(off)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}
