//! Class names: one per label, from a `classes.txt` beside the CSV (one name per line, in label
//! order) or a comma-separated list (`--classes`). Without names a class is shown by its label.

use std::path::{Path, PathBuf};

use super::MAX_LABEL;

/// The sidecar file's name.
pub const CLASSES_FILE: &str = "classes.txt";
/// Characters kept of a name: longer ones would not fit a caption or a matrix header.
const MAX_NAME_CHARS: usize = 40;

/// The name of `label`: its entry in `names` when there is one, else the number.
pub fn class_name(names: &[String], label: usize) -> String {
    match names.get(label) {
        Some(name) if !name.is_empty() => name.clone(),
        _ => label.to_string(),
    }
}

/// `label` and its name, e.g. `0 T-shirt/top`, or just `7` without a name.
pub fn class_caption(names: &[String], label: usize) -> String {
    match names.get(label) {
        Some(name) if !name.is_empty() => format!("{label} {name}"),
        _ => label.to_string(),
    }
}

/// Names from a comma-separated list, in label order (`--classes`). Empty entries keep the label's
/// number.
pub fn parse_class_list(list: &str) -> Result<Vec<String>, String> {
    names_from(list.split(','), "--classes")
}

/// The `classes.txt` beside `csv`, if there is one.
pub fn sidecar_path(csv: &Path) -> PathBuf {
    csv.parent().unwrap_or(Path::new(".")).join(CLASSES_FILE)
}

/// Reads the names in the `classes.txt` beside `csv`: `Ok(None)` when there is none, an error
/// naming the file when it cannot be read or holds too many names.
pub fn read_sidecar(csv: &Path) -> Result<Option<Vec<String>>, String> {
    let path = sidecar_path(csv);
    if !path.is_file() {
        return Ok(None);
    }
    let shown = path.display();
    let text = std::fs::read(&path).map_err(|e| format!("{shown}: cannot read: {e}"))?;
    let text = String::from_utf8(text).map_err(|_| format!("{shown}: not UTF-8 text"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    names_from(text.trim_end().lines(), &shown.to_string()).map(Some)
}

fn names_from<'a>(entries: impl Iterator<Item = &'a str>, source: &str) -> Result<Vec<String>, String> {
    let names: Vec<String> = entries
        .map(|name| name.trim().chars().take(MAX_NAME_CHARS).collect())
        .collect();
    if names.len() > usize::from(MAX_LABEL) + 1 {
        return Err(format!(
            "{source}: {} class names, but labels go up to {MAX_LABEL}",
            names.len()
        ));
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        let names = parse_class_list("T-shirt/top, Trouser,,Dress").unwrap();
        assert_eq!(names, ["T-shirt/top", "Trouser", "", "Dress"]);
        assert_eq!(class_name(&names, 1), "Trouser");
        assert_eq!(class_name(&names, 2), "2", "an empty name shows the label");
        assert_eq!(class_name(&names, 9), "9", "past the list");
        assert_eq!(class_caption(&names, 0), "0 T-shirt/top");
        assert_eq!(class_caption(&[], 7), "7");
        assert!(parse_class_list(&",".repeat(100)).is_err());
    }

    #[test]
    fn sidecar_beside_the_csv() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("train.csv");
        assert_eq!(read_sidecar(&csv).unwrap(), None);
        std::fs::write(dir.path().join(CLASSES_FILE), "\u{feff}zero\r\none\n\n").unwrap();
        assert_eq!(read_sidecar(&csv).unwrap().unwrap(), ["zero", "one"]);
        std::fs::write(dir.path().join(CLASSES_FILE), b"\xff\xfe").unwrap();
        let e = read_sidecar(&csv).unwrap_err();
        assert!(e.contains("classes.txt: not UTF-8"), "{e}");
    }
}
