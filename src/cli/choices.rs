//! Flags that take one of a core enum's values (`--optimizer adam`): the names, aliases and help
//! come from the enum's [`Choice`] impl, so `--help`, clap's errors ("possible values: ...") and
//! the app's drop-downs list the same ones.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};

use crate::choice::Choice;

/// The value parser of a flag taking a `T`: `#[arg(long, value_parser = choice::<Optimizer>())]`.
/// Hidden values parse but are not listed; with `ignore_case` on the flag, any case parses.
pub fn choice<T: Choice + Send + Sync>() -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(T::ALL.iter().map(|&value| possible_value(value)))
        .map(|name| T::from_name(&name).expect("clap accepts only the names of T::ALL"))
}

fn possible_value<T: Choice>(value: T) -> PossibleValue {
    PossibleValue::new(value.name())
        .help(value.help())
        .aliases(value.aliases().iter().copied())
        .hide(value.hidden())
}

#[cfg(test)]
mod tests {
    use clap::{Arg, Command};

    use super::*;
    use crate::bench::BenchPart;
    use crate::network::Init;
    use crate::train::{FirstLayer, Optimizer, Preset};

    /// `text` given to a `--value` flag parsed by [`choice`], as clap parses it.
    fn parse<T: Choice + Send + Sync + Clone>(text: &str, ignore_case: bool) -> Result<T, clap::Error> {
        let flag = Arg::new("value")
            .long("value")
            .value_parser(choice::<T>())
            .ignore_case(ignore_case);
        let matches = Command::new("test")
            .arg(flag)
            .try_get_matches_from(["test", "--value", text])?;
        Ok(matches.get_one::<T>("value").copied().expect("given"))
    }

    /// Every core name (and alias, in any case) parses back to its value through the command
    /// line, and `--help` lists exactly the values that are not hidden, with their help.
    fn round_trip<T: Choice + Send + Sync + Clone + std::fmt::Debug + std::fmt::Display + std::str::FromStr>() {
        for &value in T::ALL {
            assert_eq!(parse::<T>(value.name(), false).unwrap(), value);
            assert_eq!(parse::<T>(&value.name().to_uppercase(), true).unwrap(), value);
            assert!(
                parse::<T>(&value.name().to_uppercase(), false).is_err(),
                "case counts without ignore_case"
            );
            for alias in value.aliases() {
                assert_eq!(parse::<T>(alias, true).unwrap(), value);
            }
            assert_eq!(value.to_string(), value.name(), "Display writes the name");
            assert!(
                matches!(value.name().parse::<T>(), Ok(parsed) if parsed == value),
                "FromStr reads it"
            );
        }
        let listed: Vec<String> = choice::<T>()
            .possible_values()
            .expect("a closed list")
            .filter(|v| !v.is_hide_set())
            .map(|v| format!("{}: {}", v.get_name(), v.get_help().expect("each has help")))
            .collect();
        let expected: Vec<String> = T::ALL
            .iter()
            .filter(|v| !v.hidden())
            .map(|v| format!("{}: {}", v.name(), v.help()))
            .collect();
        assert_eq!(listed, expected);
        assert!(parse::<T>("no-such-value", true).is_err());
    }

    #[test]
    fn every_core_name_parses_back_through_the_command_line() {
        round_trip::<Optimizer>();
        round_trip::<Preset>();
        round_trip::<Init>();
        round_trip::<FirstLayer>();
        round_trip::<BenchPart>();
    }

    #[test]
    fn aliases_and_hidden_values_are_the_ones_documented() {
        assert_eq!(parse::<Optimizer>("SGD", true).unwrap(), Optimizer::Gd);
        assert_eq!(parse::<Init>("glorot", true).unwrap(), Init::Xavier);
        assert_eq!(
            parse::<Preset>("custom", true).unwrap(),
            Preset::Custom,
            "hidden, still accepted"
        );
        let listed: Vec<PossibleValue> = choice::<Preset>().possible_values().unwrap().collect();
        assert!(listed.iter().any(|v| v.get_name() == "custom" && v.is_hide_set()));
    }
}
