//! My digits are never lost to a kill: a child process saves a growing collection in a loop and
//! is killed at random moments; after each kill the file holds a whole collection (the old one
//! or the new one), never a broken one. The child holds the folder's lock as the app does: a
//! killed holder never locks the folder for good, and the next holder removes the temporary
//! files the killed saves left.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use digit_recognizer::atomic::TEMP_MARK;
use digit_recognizer::my_digits::{FolderLock, MyDigits};

/// The temporary files of saves in `dir`.
fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(TEMP_MARK))
        .collect()
}

/// The child: when `MY_DIGITS_WRITER` names a file, add one digit and save, forever.
#[test]
#[ignore = "run by kill_during_save_leaves_a_whole_file as its child process"]
fn writer_child() {
    let Some(path) = std::env::var_os("MY_DIGITS_WRITER") else {
        return;
    };
    let path = Path::new(&path);
    let _lock = FolderLock::acquire(path.parent().unwrap()).expect("the folder is free");
    let mut digits = MyDigits::load(path).expect("the file is whole");
    loop {
        let n = digits.len();
        let mut image = vec![0u8; 784];
        image[n % 784] = 255;
        digits.push((n % 10) as u8, &image).unwrap();
        digits.save(path).unwrap();
    }
}

#[test]
fn kill_during_save_leaves_a_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("my_digits.csv");
    let mut last = 0;
    let mut grew = 0;
    for round in 0..12u64 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "my_digits_kill::writer_child",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env("MY_DIGITS_WRITER", &path)
            .spawn()
            .unwrap();
        // Kill at varying moments: while it starts, reads, or is in the middle of a save.
        std::thread::sleep(Duration::from_millis(40 + (round * 37) % 120));
        child.kill().unwrap();
        child.wait().unwrap();
        // The killed child's lock went with it.
        drop(FolderLock::acquire(dir.path()).unwrap_or_else(|e| panic!("round {round}: {e}")));
        assert!(
            temp_files(dir.path()).is_empty(),
            "round {round}: the next holder removes killed saves' temporary files"
        );
        if !path.exists() {
            continue;
        }
        let digits = MyDigits::load(&path).unwrap_or_else(|e| panic!("round {round}: a broken file: {e}"));
        assert!(
            digits.len() >= last,
            "round {round}: {} digits after {last}",
            digits.len()
        );
        // Every saved digit is whole: image n has its one pixel at n % 784, label n % 10.
        for n in 0..digits.len() {
            assert_eq!(usize::from(digits.label(n)), n % 10);
            assert_eq!(digits.image(n).iter().position(|&p| p == 255), Some(n % 784));
        }
        if digits.len() > last {
            grew += 1;
        }
        last = digits.len();
    }
    assert!(grew >= 3, "the child saved in only {grew} rounds");
    // A save killed between creating its temporary file and the rename leaves the file behind
    // (the rounds above may or may not hit that moment): the next holder of the lock removes it.
    let stale = dir.path().join(format!(".my_digits.csv{TEMP_MARK}killed"));
    std::fs::write(&stale, "label,pixel0,pix").unwrap();
    let _lock = FolderLock::acquire(dir.path()).unwrap();
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["my_digits.csv", "my_digits.lock"]);
}
