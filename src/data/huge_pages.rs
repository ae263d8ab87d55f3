//! Buffers for a whole data set's pixels, on 2 MB pages where Linux gives them.

/// An empty vector with room for `len` bytes, asking Linux to back it with 2 MB pages (its
/// transparent huge pages are often on request only): filling 33 MB of pixels then takes about
/// 17 page faults instead of 8,000, which in a virtual machine cost more than the copy
/// (measured: `inspect` spent more time in the kernel than parsing, 24,500 page faults).
pub(super) fn with_huge_pages(len: usize) -> Vec<u8> {
    let buffer = Vec::with_capacity(len);
    advise_huge_pages(buffer.as_ptr(), len);
    buffer
}

/// `len` zero bytes, on 2 MB pages where Linux gives them (see [`with_huge_pages`]). Zeroed
/// memory this large comes straight from the kernel untouched, so the advice still applies.
pub(super) fn zeroed_on_huge_pages(len: usize) -> Vec<u8> {
    let buffer = vec![0; len];
    advise_huge_pages(buffer.as_ptr(), len);
    buffer
}

/// Asks for 2 MB pages for the whole huge pages within the `len` bytes from `buffer`, an
/// allocation of the caller's own.
fn advise_huge_pages(buffer: *const u8, len: usize) {
    #[cfg(target_os = "linux")]
    {
        const HUGE_PAGE: usize = 2 << 20;
        let start = buffer as usize;
        let (first, end) = (start.next_multiple_of(HUGE_PAGE), (start + len) / HUGE_PAGE * HUGE_PAGE);
        if end > first {
            // SAFETY: the range lies inside the caller's vector's own allocation (of `len` bytes
            // from `start`), which nothing else refers to; MADV_HUGEPAGE only changes how its pages
            // are backed, never their contents, and its failure leaves ordinary pages.
            unsafe { libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (buffer, len);
}
