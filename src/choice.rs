//! Settings with a closed list of named values (`--optimizer adam`, the app's drop-downs): each
//! enum says its names and help here, once, and the command line, the app and `Display` /
//! `FromStr` all read them from it.

/// A setting with a closed list of named values.
pub trait Choice: Copy + PartialEq + Sized + 'static {
    /// Every value, in the order lists show them.
    const ALL: &'static [Self];

    /// The name a user types, e.g. `adam`; also what `Display` writes.
    fn name(self) -> &'static str;

    /// One line on what the value does, for `--help` and the app's hover text.
    fn help(self) -> &'static str;

    /// Other names accepted for it (`sgd` for `gd`).
    fn aliases(self) -> &'static [&'static str] {
        &[]
    }

    /// Accepted but left out of lists (`custom`, which a user does not pick).
    fn hidden(self) -> bool {
        false
    }

    /// The value named `text` (a name or an alias, any case).
    fn from_name(text: &str) -> Option<Self> {
        let text = text.trim();
        Self::ALL.iter().copied().find(|value| {
            value.name().eq_ignore_ascii_case(text) || value.aliases().iter().any(|a| a.eq_ignore_ascii_case(text))
        })
    }
}

/// [`Choice::from_name`] with an error naming the choices, for `FromStr`.
pub fn parse<T: Choice>(text: &str) -> Result<T, String> {
    T::from_name(text).ok_or_else(|| {
        let names: Vec<&str> = T::ALL.iter().filter(|v| !v.hidden()).map(|v| v.name()).collect();
        format!("{text:?} is not one of {}", names.join(", "))
    })
}

/// `Display` and `FromStr` through the names of [`Choice`].
macro_rules! named_by_choice {
    ($($t:ty),*) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($crate::choice::Choice::name(*self))
            }
        }

        impl std::str::FromStr for $t {
            type Err = String;
            fn from_str(text: &str) -> Result<Self, String> {
                $crate::choice::parse(text)
            }
        }
    )*};
}
pub(crate) use named_by_choice;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Fruit {
        Apple,
        Pear,
    }

    impl Choice for Fruit {
        const ALL: &'static [Fruit] = &[Fruit::Apple, Fruit::Pear];
        fn name(self) -> &'static str {
            match self {
                Fruit::Apple => "apple",
                Fruit::Pear => "pear",
            }
        }
        fn help(self) -> &'static str {
            "a fruit"
        }
        fn aliases(self) -> &'static [&'static str] {
            match self {
                Fruit::Apple => &["malus"],
                Fruit::Pear => &[],
            }
        }
        fn hidden(self) -> bool {
            self == Fruit::Pear
        }
    }

    #[test]
    fn names_and_aliases_parse_in_any_case() {
        assert_eq!(parse::<Fruit>(" Apple "), Ok(Fruit::Apple));
        assert_eq!(parse::<Fruit>("MALUS"), Ok(Fruit::Apple));
        assert_eq!(parse::<Fruit>("pear"), Ok(Fruit::Pear), "hidden values still parse");
        assert_eq!(parse::<Fruit>("plum"), Err("\"plum\" is not one of apple".to_owned()));
    }
}
