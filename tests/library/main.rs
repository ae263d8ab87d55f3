//! The library under hostile and unusual input, one module per area: fuzzed CSV files, hostile
//! model files and pictures, re-drawn digits, and My digits surviving kills.

#[path = "../common/mod.rs"]
mod common;

mod drawn_digits;
mod fuzz_csv;
mod hostile_files;
mod my_digits_kill;

/// Every integration-test binary links the library with eframe, and a cold test build links
/// each one: new tests go into a module of tests/app, tests/cli or tests/library, and a binary
/// of its own is only for tests that need their own process (as tests/faults.rs).
#[test]
fn integration_tests_stay_in_a_few_binaries() {
    let tests = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let binaries: Vec<String> = std::fs::read_dir(&tests)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs") || path.join("main.rs").is_file())
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(binaries.len() <= 6, "{} test binaries: {binaries:?}", binaries.len());
}
