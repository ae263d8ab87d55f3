//! digit-recognizer: a from-scratch MLP for Kaggle's Digit Recognizer (MNIST).
//!
//! Layers, imported one way only: the core (`data`, `network`, `kernels`, `train`, `model_file`,
//! `preprocess`, `evaluate`, `attribution`, `augment`, `finetune`, `my_digits`, `trained`, `choice`, with `atomic`, `write_guard`, `embedded` and `bench`) never touches the UI; the
//! desktop app (`app`, behind the default `gui` feature) is built on the core; the command line
//! (`cli`) on both; `main` only calls `cli::main`.

#[cfg(feature = "gui")]
pub mod app;
pub mod atomic;
pub mod attribution;
pub mod augment;
pub mod bench;
pub mod checkpoint_file;
pub mod choice;
pub mod cli;
pub mod data;
pub mod embedded;
pub mod evaluate;
pub mod finetune;
pub mod kernels;
pub mod model_file;
pub mod my_digits;
pub mod network;
pub mod preprocess;
pub mod train;
pub mod trained;
pub mod write_guard;

/// The docs stay true: `docs/architecture.md` names every source file and nothing that is gone,
/// and the README stays a short guide.
#[cfg(test)]
mod docs_tests {
    use std::path::Path;

    const ARCHITECTURE: &str = "docs/architecture.md";
    const README_MAX_LINES: usize = 250;

    /// Every `.rs` file under `dir`, as a path from the crate root with `/` (`src/data/load.rs`).
    fn rust_files(root: &Path, dir: &str) -> Vec<String> {
        let mut files = Vec::new();
        let mut folders = vec![root.join(dir)];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).expect("source folder readable") {
                let path = entry.expect("source folder entry").path();
                if path.is_dir() {
                    folders.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let relative = path.strip_prefix(root).expect("under the crate root");
                    let parts: Vec<_> = relative.iter().map(|p| p.to_string_lossy()).collect();
                    files.push(parts.join("/"));
                }
            }
        }
        files.sort();
        files
    }

    /// The paths under `src/` that `doc` names (`src/data/load.rs`, `src/app/`), in order.
    fn named_paths(doc: &str) -> Vec<String> {
        let is_path_char = |c: char| c.is_ascii_alphanumeric() || "_-./".contains(c);
        let mut paths = Vec::new();
        for (at, _) in doc.match_indices("src/") {
            if doc[..at].chars().next_back().is_some_and(is_path_char) {
                continue; // inside a longer path, e.g. `other/src/`
            }
            let end = doc[at..].find(|c: char| !is_path_char(c)).map_or(doc.len(), |n| at + n);
            paths.push(doc[at..end].trim_end_matches('.').to_owned());
        }
        paths
    }

    /// What is wrong with `doc`: each file of `files` it does not name, each path it names for
    /// which `exists` says no. Empty when the doc is true.
    fn doc_problems(doc: &str, files: &[String], exists: impl Fn(&str) -> bool) -> Vec<String> {
        let named = named_paths(doc);
        let mut problems: Vec<String> = files
            .iter()
            .filter(|file| !named.contains(file))
            .map(|file| format!("{file} is not named"))
            .collect();
        let mut gone: Vec<&String> = named.iter().filter(|path| !exists(path)).collect();
        gone.dedup();
        problems.extend(
            gone.into_iter()
                .map(|path| format!("{path} is named but does not exist")),
        );
        problems
    }

    #[test]
    fn docs_name_every_source_file() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let doc = std::fs::read_to_string(root.join(ARCHITECTURE)).expect("docs/architecture.md");
        let problems = doc_problems(&doc, &rust_files(root, "src"), |path| root.join(path).exists());
        assert!(
            problems.is_empty(),
            "{ARCHITECTURE} is out of date with src/ (give each new file a sentence, drop the gone ones):\n  {}",
            problems.join("\n  ")
        );
    }

    #[test]
    fn the_docs_check_finds_an_unnamed_file_and_a_gone_path() {
        let files = ["src/a.rs".to_owned(), "src/b/c.rs".to_owned()];
        let doc = "- `src/a.rs`: one.\n- `src/gone.rs`: two, and src/b/c.rs. Not other/src/x.rs.";
        let exists = |path: &str| files.iter().any(|f| f == path);
        assert_eq!(
            doc_problems(doc, &files, exists),
            ["src/gone.rs is named but does not exist"]
        );
        assert_eq!(
            doc_problems("`src/a.rs` and `src/b.rs`", &files, |_| true),
            ["src/b/c.rs is not named"]
        );
    }

    #[test]
    fn readme_stays_a_short_guide() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
        let lines = readme.lines().count();
        assert!(
            lines <= README_MAX_LINES,
            "README.md has {lines} lines, more than {README_MAX_LINES}: move details to docs/"
        );
    }
}
