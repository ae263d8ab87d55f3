//! A plain file mapped into memory read-only, so the parser threads read it straight from the
//! page cache: no copy, and no fresh buffer whose every 4 KB page faults (`read` into a new
//! 77 MB buffer cost 19,000 page faults and 67 ms of system time in this VM; the mapping, all of
//! it populated in one call, 60 faults and 10 ms).
//!
//! The known cost of mapping: if another program truncates the file while it is being parsed,
//! reading the vanished pages kills the process (SIGBUS), as with every tool that maps its
//! input (ripgrep, git). The window is the parse itself, a fraction of a second.

use std::fs::File;

/// A read-only private mapping of a whole file, unmapped on drop.
pub(super) struct MappedFile {
    start: *const u8,
    len: usize,
}

// SAFETY: the mapping is read-only and owned by this value: sharing `&[u8]` views of it between
// threads is as safe as sharing any immutable byte slice.
unsafe impl Send for MappedFile {}
// SAFETY: as above; nothing mutates through `&MappedFile`.
unsafe impl Sync for MappedFile {}

impl MappedFile {
    /// Maps `file` (of `len` bytes, from its metadata), or `None` when it cannot be mapped
    /// (empty, not a regular file, or the system refuses): the caller then streams it.
    #[cfg(unix)]
    pub(super) fn new(file: &File, len: u64) -> Option<MappedFile> {
        use std::os::fd::AsRawFd;
        let len = usize::try_from(len).ok().filter(|&len| len > 0)?;
        // Every page mapped in one call: populating costs one system call instead of a page
        // fault per 64 KB (the kernel's fault-around) while parsing.
        #[cfg(target_os = "linux")]
        let flags = libc::MAP_PRIVATE | libc::MAP_POPULATE;
        #[cfg(not(target_os = "linux"))]
        let flags = libc::MAP_PRIVATE;
        // SAFETY: a new mapping chosen by the kernel (address null), read-only, of an open file
        // descriptor; it aliases no Rust object. Failure is checked below.
        let start = unsafe { libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, flags, file.as_raw_fd(), 0) };
        if start == libc::MAP_FAILED {
            return None;
        }
        Some(MappedFile {
            start: start.cast::<u8>().cast_const(),
            len,
        })
    }

    #[cfg(not(unix))]
    pub(super) fn new(_file: &File, _len: u64) -> Option<MappedFile> {
        None
    }

    pub(super) fn bytes(&self) -> &[u8] {
        // SAFETY: `start..start + len` is this value's live read-only mapping (unmapped only in
        // drop, which needs the borrow to have ended).
        unsafe { std::slice::from_raw_parts(self.start, self.len) }
    }
}

impl Drop for MappedFile {
    fn drop(&mut self) {
        #[cfg(unix)]
        // SAFETY: the mapping made in `new`, exactly its range, unmapped once; no slice of it
        // outlives `self`.
        unsafe {
            libc::munmap(self.start.cast_mut().cast::<libc::c_void>(), self.len);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn maps_a_file_and_declines_an_empty_one() {
        let mut file = tempfile::tempfile().unwrap();
        assert!(MappedFile::new(&file, 0).is_none());
        file.write_all(b"label,pixel0\n1,2\n").unwrap();
        let mapped = MappedFile::new(&file, 17).unwrap();
        assert_eq!(mapped.bytes(), b"label,pixel0\n1,2\n");
    }
}
