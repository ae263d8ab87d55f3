//! The command line: everything the app does, headless; with no command it opens the app.
//!
//! [`args`] declares the flags (clap), [`commands`] runs each command on the core's typed API;
//! `handwriting` holds `import-images` and `finetune`, `bench` runs and prints the speed measurement,
//! `trace` writes one plain step's matrices for NumPy.
//! Exit codes: 0 success, 1 data or model error (one clear line on stderr), 2 usage error.

pub mod args;
mod bench;
mod choices;
pub mod commands;
mod explain;
mod handwriting;
mod map;
pub mod overrides;
mod resume;
mod rows;
mod trace;

use std::io::Write;

use anyhow::Result;
use clap::Parser;

pub use args::{Cli, Command, GuiArgs};
pub use commands::load_data;

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
    let command = cli.command.unwrap_or(Command::Gui(cli.gui));
    if resets_sigpipe(&command) {
        end_quietly_on_a_closed_pipe();
    }
    let result = match command {
        Command::Gui(args) => run_gui(args),
        Command::Train(args) => commands::train(args),
        Command::Eval(args) => commands::eval(args),
        Command::Predict(args) => commands::predict(args),
        Command::Classify(args) => commands::classify(args),
        Command::Explain(args) => commands::explain(args),
        Command::Trace(args) => trace::run(args),
        Command::Inspect(args) => commands::inspect(args),
        Command::ImportImages(args) => handwriting::import_images(args),
        Command::Finetune(args) => handwriting::finetune_command(args),
        Command::MakeAssets(args) => commands::make_assets(args),
        Command::Bench(args) => bench::run(args),
        Command::Map(args) => map::run(args),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            // Not `eprintln!`, which panics when stderr is a closed pipe: the exit code still
            // tells the error.
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            if e.is::<UsageError>() { 2 } else { 1 }
        }
    }
}

#[cfg(feature = "gui")]
impl From<GuiArgs> for crate::app::StartupFiles {
    fn from(args: GuiArgs) -> Self {
        crate::app::StartupFiles {
            train: args.train,
            test: args.test,
            model: args.model,
            data_dir: crate::app::default_data_dir(),
        }
    }
}

#[cfg(feature = "gui")]
fn run_gui(args: GuiArgs) -> Result<()> {
    crate::app::run(args.into())
}

#[cfg(not(feature = "gui"))]
fn run_gui(_args: GuiArgs) -> Result<()> {
    anyhow::bail!("this build has no desktop app (built without the `gui` feature); use a command, see --help")
}

/// A flag value that parses but makes no sense (`--alpha nan`, `--hidden 0`): a usage error
/// (exit code 2) like the ones clap finds itself, not a data error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Whether `command` ends on a closed pipe as other command-line tools do (see
/// [`end_quietly_on_a_closed_pipe`]): every command but the app. The app keeps Rust's default
/// (SIGPIPE ignored), so a line on a closed stderr fails as a write error instead of killing the
/// window and the work in it.
fn resets_sigpipe(command: &Command) -> bool {
    !matches!(command, Command::Gui(_))
}

/// Output piped into a program that stops reading (`inspect train.csv | head -1`) ends this
/// process quietly, as it does other command-line tools, instead of a panic in `println!`: Rust
/// ignores SIGPIPE by default, so every write would fail with "Broken pipe".
fn end_quietly_on_a_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to the default has no preconditions; it runs in
    // `main` right after parsing the arguments, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(args: &[&str]) -> Command {
        let cli = Cli::try_parse_from(std::iter::once("digit-recognizer").chain(args.iter().copied())).unwrap();
        cli.command.unwrap_or(Command::Gui(cli.gui))
    }

    #[test]
    fn only_the_commands_end_on_a_closed_pipe_not_the_app() {
        assert!(!resets_sigpipe(&command(&[])), "no command opens the app");
        assert!(!resets_sigpipe(&command(&["gui"])));
        assert!(!resets_sigpipe(&command(&["--train", "train.csv"])));
        assert!(resets_sigpipe(&command(&["inspect", "train.csv"])));
        assert!(resets_sigpipe(&command(&["train", "--data", "train.csv"])));
    }
}
