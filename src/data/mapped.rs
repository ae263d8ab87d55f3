//! A plain file mapped into memory read-only, so the parser threads read it straight from the
//! page cache: no copy, and no fresh buffer whose every 4 KB page faults (`read` into a new
//! 77 MB buffer cost 19,000 page faults and 67 ms of system time in this VM; the mapping, all of
//! it populated in one call, 60 faults and 10 ms).
//!
//! The known cost of mapping (see the SAFETY comment in [`MappedFile::new`]): another program
//! that writes the file while it is parsed changes the bytes under the parser, and one that
//! truncates it kills this process (SIGBUS), as with every tool that maps its input (ripgrep,
//! git). The window is the parse itself, a fraction of a second, and a change is detected
//! afterwards ([`MappedFile::changed`]).

use std::fs::File;
use std::time::SystemTime;

/// A read-only private mapping of a whole file (`memmap2`), unmapped on drop, with what the
/// file looked like when mapped.
pub(super) struct MappedFile {
    map: memmap2::Mmap,
    /// The file's length and modification time when mapped.
    stamp: (u64, Option<SystemTime>),
}

impl MappedFile {
    /// Maps `file` (of `len` bytes, from its metadata), or `None` when it cannot be mapped
    /// (empty, not a regular file, or the system refuses): the caller then streams it.
    pub(super) fn new(file: &File, len: u64) -> Option<MappedFile> {
        if len == 0 {
            return None;
        }
        let stamp = stamp(file)?;
        let mut options = memmap2::MmapOptions::new();
        // Every page mapped in one call (MAP_POPULATE on Linux): one system call instead of a
        // page fault per 64 KB (the kernel's fault-around) while parsing. The length is the
        // file's at mapping time (memmap2 asks), so a file shortened since `len` was read maps
        // no page past its end.
        options.populate();
        // SAFETY: what `Mmap`'s `Deref<Target = [u8]>` assumes, and this code with it, is that
        // the mapped bytes do not change while the mapping lives: the file is not written nor
        // truncated by anyone (this process only reads it; a private read-only mapping is never
        // written through). Nothing can enforce that for another process. If it is violated:
        // - another process writes the file: the parser may read old and new bytes mixed (the
        //   slice's contents change under a `&[u8]`, which Rust assumes immutable). In practice
        //   the parser reads each byte a few times at most, so it reports an error or reads
        //   the new values; `changed` then turns the load into an error naming the file.
        // - another process truncates it: reading a page past the new end raises SIGBUS and the
        //   process dies (MAP_POPULATE does not prevent it: truncation unmaps those pages).
        // The mapping aliases no Rust object, and `bytes` borrows `self`, so no slice outlives
        // the unmapping in drop.
        let map = unsafe { options.map_copy_read_only(file) }.ok()?;
        Some(MappedFile { map, stamp })
    }

    pub(super) fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Whether `file` (the one mapped) has another length or modification time than when it
    /// was mapped: another program wrote it meanwhile, and what was parsed may mix old and new
    /// bytes. Call after parsing.
    pub(super) fn changed(&self, file: &File) -> bool {
        stamp(file) != Some(self.stamp)
    }
}

/// A file's length and modification time (`None` where the system has none), or `None` if its
/// metadata cannot be read.
fn stamp(file: &File) -> Option<(u64, Option<SystemTime>)> {
    let metadata = file.metadata().ok()?;
    Some((metadata.len(), metadata.modified().ok()))
}

#[cfg(test)]
mod tests {
    use std::io::{Seek, Write};

    use super::*;

    #[test]
    fn maps_a_file_and_declines_an_empty_one() {
        let mut file = tempfile::tempfile().unwrap();
        assert!(MappedFile::new(&file, 0).is_none());
        file.write_all(b"label,pixel0\n1,2\n").unwrap();
        let mapped = MappedFile::new(&file, 17).unwrap();
        assert_eq!(mapped.bytes(), b"label,pixel0\n1,2\n");
        assert!(!mapped.changed(&file));
    }

    /// A file rewritten while mapped (same length, new bytes) is noticed: the bytes read may be
    /// either, and the load must not pass them off as the file.
    #[test]
    fn a_file_written_while_mapped_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("train.csv");
        std::fs::write(&path, b"label,pixel0\n1,2\n").unwrap();
        let file = File::open(&path).unwrap();
        let mapped = MappedFile::new(&file, 17).unwrap();
        // Another writer, later than the mapping (and than the file system's clock tick).
        let mut writer = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        writer.seek(std::io::SeekFrom::Start(13)).unwrap();
        writer.write_all(b"7,9\n").unwrap();
        writer
            .set_modified(SystemTime::now() + std::time::Duration::from_secs(2))
            .unwrap();
        assert!(mapped.changed(&file));
    }

    /// A CSV another program writes while it is loaded (here from the progress report, between
    /// parsing and the end of the load) gives an error naming the file, not a mix of the two.
    #[test]
    fn a_load_refuses_a_file_written_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("train.csv");
        let header: Vec<String> = (0..crate::data::PIXELS).map(|p| format!("pixel{p}")).collect();
        let row = |label: u8| format!("{label},{}\n", vec!["0"; crate::data::PIXELS].join(","));
        std::fs::write(&path, format!("label,{}\n{}{}", header.join(","), row(1), row(2))).unwrap();
        let cancel = std::sync::atomic::AtomicBool::new(false);
        let loaded = crate::data::load_path(&path, crate::data::Expect::Train, &mut |_, _| {}, &cancel);
        assert_eq!(loaded.unwrap().labels, [1, 2]);
        let mut wrote = false;
        let mut write_meanwhile = |_, _| {
            if !std::mem::replace(&mut wrote, true) {
                // In place, the same length (truncating a mapped file would raise SIGBUS): the
                // last row's label 2 becomes 3.
                let at = std::fs::read_to_string(&path).unwrap().rfind("\n2,").unwrap() + 1;
                let mut file = std::fs::File::options().write(true).open(&path).unwrap();
                file.seek(std::io::SeekFrom::Start(at as u64)).unwrap();
                file.write_all(b"3").unwrap();
                file.set_modified(SystemTime::now() + std::time::Duration::from_secs(2))
                    .unwrap();
            }
        };
        let error = crate::data::load_path(&path, crate::data::Expect::Train, &mut write_meanwhile, &cancel)
            .map(|data| data.labels)
            .unwrap_err();
        assert!(wrote);
        let message = error.to_string();
        assert!(
            message.contains("train.csv") && message.contains("changed while it was being read"),
            "{message}"
        );
    }
}
