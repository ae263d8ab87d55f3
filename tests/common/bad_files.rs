//! Malformed CSV files, each with the command that reads it and what its one error line must
//! say (file, line, column): the command line's error-reporting fixtures.

use std::io::Write;

use digit_recognizer::data::DataKind;

use super::csv_of;

/// A bad file: its name, its bytes, the command that reads it, and what the message must say.
pub struct Bad {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    pub command: &'static str,
    /// The line the message must name; `Some(0)`: some line (where a gzip stream broke off).
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub says: &'static str,
}

pub fn bad_files() -> Vec<Bad> {
    let train = String::from_utf8(csv_of(DataKind::Train, 3)).unwrap();
    let test = csv_of(DataKind::Test, 3);
    let lines: Vec<&str> = train.lines().collect();
    let replace_field = |line: usize, field: usize, value: &str| {
        let mut out = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            if i + 1 == line {
                let mut fields: Vec<&str> = l.split(',').collect();
                fields[field - 1] = value;
                out.push(fields.join(","));
            } else {
                out.push((*l).to_owned());
            }
        }
        format!("{}\n", out.join("\n")).into_bytes()
    };
    let mut short_row = lines.clone();
    let cut = short_row[2].rfind(',').unwrap();
    let shortened = short_row[2][..cut].to_owned();
    short_row[2] = &shortened;
    let mut long_header = lines.clone();
    let widened = format!("{},pixel784", lines[0]);
    long_header[0] = &widened;
    let gz = {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(train.as_bytes()).unwrap();
        enc.finish().unwrap()
    };
    let garbage: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    let header = format!("{}\n", lines[0]);
    vec![
        Bad {
            name: "empty.csv",
            bytes: Vec::new(),
            command: "inspect",
            line: None,
            column: None,
            says: "empty",
        },
        Bad {
            name: "header-only.csv",
            bytes: header.into_bytes(),
            command: "inspect",
            line: None,
            column: None,
            says: "no data rows",
        },
        Bad {
            name: "wide-header.csv",
            bytes: format!("{}\n", long_header.join("\n")).into_bytes(),
            command: "inspect",
            line: Some(1),
            column: None,
            says: "786",
        },
        Bad {
            name: "short-row.csv",
            bytes: format!("{}\n", short_row.join("\n")).into_bytes(),
            command: "eval",
            line: Some(3),
            column: None,
            says: "expected 785 fields, found 784",
        },
        Bad {
            name: "not-a-number.csv",
            bytes: replace_field(4, 300, "12a"),
            command: "inspect",
            line: Some(4),
            column: Some(300),
            says: "\"12a\"",
        },
        Bad {
            name: "pixel-256.csv",
            bytes: replace_field(2, 17, "256"),
            command: "train",
            line: Some(2),
            column: Some(17),
            says: "256",
        },
        // Labels above 9 belong to other data sets (Sign Language MNIST: 0-24); 100 is beyond all.
        Bad {
            name: "label-100.csv",
            bytes: replace_field(3, 1, "100"),
            command: "eval",
            line: Some(3),
            column: Some(1),
            says: "label 100 is outside 0..=99",
        },
        Bad {
            name: "test-for-training.csv",
            bytes: test,
            command: "train",
            line: Some(1),
            column: None,
            says: "test data",
        },
        Bad {
            name: "test-for-eval.csv",
            bytes: csv_of(DataKind::Test, 2),
            command: "eval",
            line: Some(1),
            column: None,
            says: "test data",
        },
        Bad {
            name: "truncated.csv.gz",
            bytes: gz[..gz.len() * 2 / 3].to_vec(),
            command: "inspect",
            line: Some(0),
            column: None,
            says: "truncated",
        },
        Bad {
            name: "garbage.bin",
            bytes: garbage,
            command: "inspect",
            line: Some(1),
            column: None,
            says: "binary",
        },
    ]
}
