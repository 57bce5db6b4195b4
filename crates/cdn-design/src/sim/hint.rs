//! A prefetch hint, the one instruction the engine needs that safe Rust does not offer.

/// Asks the CPU to start loading the cache line at `ptr`. Only a hint: it never faults
/// and changes nothing, whatever the address, so any pointer may be passed.
#[inline]
#[allow(unsafe_code)]
pub(crate) fn prefetch<T>(ptr: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 is in SSE, which every x86_64 CPU has; it reads no memory the
    // program can observe and cannot fault on any address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(ptr.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = ptr;
}
