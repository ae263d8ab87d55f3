//! Atomic file writes: the content goes to a new temporary file in the destination's folder, is
//! flushed to disk, then renamed over the destination, and the rename is flushed too. A crash or
//! kill at any moment leaves either the complete old file or the complete new one, never a
//! partial file.
//!
//! The temporary file is `.NAME.tmp-XXXXXX` beside `NAME` (hidden, and matched by the
//! `*.tmp-*` line of `.gitignore`); it is created exclusively (never an existing file) and
//! removed on every error. Only a killed process can leave one behind.

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::Path;

/// Marks the temporary files' names: `.NAME.tmp-XXXXXX`.
pub const TEMP_MARK: &str = ".tmp-";

/// Writes `path` atomically; `write` fills a buffered writer. On any error the temporary file
/// is removed and the destination is untouched. The new file gets the usual permissions of a
/// new file (read-write for everyone, less the umask), not the temporary file's owner-only ones.
pub fn write_atomic(path: &Path, write: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let prefix = format!(".{name}{TEMP_MARK}");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix("");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    // Same folder, so the rename never crosses file systems. The temporary path deletes the
    // file when dropped: every `?` below cleans up.
    let (file, temp_path) = builder.tempfile_in(dir)?.into_parts();
    let mut writer = BufWriter::with_capacity(1 << 16, file);
    write(&mut writer)?;
    let file = writer.into_inner().map_err(io::IntoInnerError::into_error)?;
    file.sync_all()?;
    drop(file);
    temp_path.persist(path).map_err(|e| e.error)?;
    // Make the rename itself durable. Some file systems cannot sync a folder; the file's own
    // content is already on disk then.
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::io::Write;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_and_replaces_without_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        write_atomic(&path, |w| w.write_all(b"old")).unwrap();
        write_atomic(&path, |w| w.write_all(b"new")).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(names(dir.path()), ["out.txt"]);
    }

    #[test]
    fn the_content_goes_to_a_hidden_temporary_file_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        write_atomic(&path, |w| {
            w.write_all(b"partial")?;
            w.flush()?;
            let during = names(dir.path());
            assert_eq!(during.len(), 1, "{during:?}");
            assert!(during[0].starts_with(".out.txt.tmp-"), "{during:?}");
            assert_eq!(fs::read(dir.path().join(&during[0])).unwrap(), b"partial");
            Ok(())
        })
        .unwrap();
        assert_eq!(names(dir.path()), ["out.txt"]);
    }

    #[test]
    fn failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        write_atomic(&path, |w| w.write_all(b"old")).unwrap();
        let err = write_atomic(&path, |w| {
            w.write_all(b"partial")?;
            Err(io::Error::other("disk full"))
        });
        assert_eq!(err.unwrap_err().to_string(), "disk full");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["out.txt"]);
    }

    #[test]
    fn a_folder_in_the_way_is_an_error_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("taken");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("inside"), b"x").unwrap();
        assert!(write_atomic(&path, |w| w.write_all(b"x")).is_err());
        assert_eq!(names(dir.path()), ["taken"]);
    }

    #[test]
    fn missing_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(write_atomic(&dir.path().join("no/such/dir/out.txt"), |w| w.write_all(b"x")).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn new_files_get_the_usual_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain.txt");
        File::create(&plain).unwrap();
        let path = dir.path().join("out.txt");
        write_atomic(&path, |w| w.write_all(b"x")).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), mode(&plain), "as File::create makes them");
    }
}
