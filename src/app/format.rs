//! Numbers and models as the app writes them.

use crate::network::Mlp;

/// 42000 -> "42,000"
pub fn fmt_count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// 75.0 -> "1m 15s"; "?" when unknown.
pub fn fmt_duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "?".into();
    }
    let s = seconds.round() as u64;
    if s >= 60 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// "784-10-10 (7,960 parameters)"
pub fn describe_model(model: &Mlp) -> String {
    let sizes: Vec<String> = model.sizes().iter().map(usize::to_string).collect();
    format!(
        "{} ({} parameters)",
        sizes.join("-"),
        fmt_count(model.parameter_count())
    )
}

/// The file's name for messages (the whole path when it has none).
pub fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_durations() {
        assert_eq!(fmt_count(42000), "42,000");
        assert_eq!(fmt_count(999), "999");
        assert_eq!(fmt_count(1_234_567), "1,234,567");
        assert_eq!(fmt_duration(75.0), "1m 15s");
        assert_eq!(fmt_duration(9.4), "9s");
        assert_eq!(fmt_duration(f64::INFINITY), "?");
    }

    #[test]
    fn a_model_is_described_by_its_sizes() {
        let model = Mlp::new(&[784, 10, 10], crate::network::Init::Uniform, 0);
        assert_eq!(describe_model(&model), "784-10-10 (7,960 parameters)");
    }
}
