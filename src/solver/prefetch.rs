//! Software prefetch: samples come in random order, so the hardware cannot
//! guess what a step reads next; the solver asks for it a step ahead
//! (prefetching the stored gradient terms took 10 % off a fit, README).

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
