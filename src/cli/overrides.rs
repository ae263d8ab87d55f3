//! The settings flags of `train` and `finetune`, each declared once: a flag given replaces the
//! preset's (or the defaults') value, a flag left out keeps it. `apply` is the only place a flag
//! reaches its config.

use clap::Args;

use super::choices::choice;
use crate::finetune::FinetuneConfig;
use crate::network::Init;
use crate::train::{self, FirstLayer, Length, Optimizer, Schedule, TrainConfig};

/// `train`'s settings, over `--preset`.
#[derive(Args, Debug, Default, Clone, PartialEq)]
pub struct TrainOverrides {
    /// Hidden layer sizes, e.g. 512,256 ("none" for no hidden layer).
    #[arg(long)]
    pub hidden: Option<String>,
    /// Learning rate.
    #[arg(long)]
    pub alpha: Option<f32>,
    /// Number of optimizer steps.
    #[arg(long, conflicts_with = "epochs")]
    pub iterations: Option<usize>,
    /// Number of passes over the training rows.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Rows per step (0 = full batch).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// How the weights are updated.
    #[arg(long, ignore_case = true, value_parser = choice::<Optimizer>())]
    pub optimizer: Option<Optimizer>,
    /// L2 weight decay.
    #[arg(long)]
    pub l2: Option<f32>,
    /// Dropout probability of hidden units.
    #[arg(long)]
    pub dropout: Option<f32>,
    /// Label smoothing: share of each target spread over all classes, e.g. 0.1.
    #[arg(long)]
    pub label_smoothing: Option<f32>,
    /// Random shifts of up to N pixels (augmentation; fractional with --rotate or --scale).
    #[arg(long)]
    pub shift: Option<u8>,
    /// Random rotations of up to DEGREES either way (augmentation).
    #[arg(long, value_name = "DEGREES")]
    pub rotate: Option<f32>,
    /// Random changes of size of up to this share either way, e.g. 0.1 (augmentation).
    #[arg(long)]
    pub scale: Option<f32>,
    /// Random elastic bending of up to PIXELS (root mean square displacement), e.g. 1.5
    /// (augmentation, 28x28 images).
    #[arg(long, value_name = "PIXELS")]
    pub elastic: Option<f32>,
    #[arg(long, value_name = "SCHEDULE", help = format!("Learning-rate schedule: {}", Schedule::CHOICES))]
    pub schedule: Option<Schedule>,
    /// How the weights are drawn before training.
    #[arg(long, ignore_case = true, value_parser = choice::<Init>())]
    pub init: Option<Init>,
    /// Rows held out as the dev set.
    #[arg(long)]
    pub dev_size: Option<usize>,
    /// Seed of the initial weights, the dev split and the random streams (batches, dropout, shifts).
    #[arg(long)]
    pub seed: Option<u64>,
    /// How the first layer reads pixels (speed only, same results).
    #[arg(long, ignore_case = true, value_parser = choice::<FirstLayer>())]
    pub first_layer: Option<FirstLayer>,
    /// Training threads (0 = one per core); the trained model is the same for any count.
    #[arg(long)]
    pub threads: Option<usize>,
}

impl TrainOverrides {
    /// Sets each setting given over `config`'s. The config keeps the preset it started from;
    /// [`TrainConfig::effective_preset`] says `custom` when a flag changed the recipe. An error
    /// names the flag (`--hidden`, the only one clap cannot check alone).
    pub fn apply(&self, config: &mut TrainConfig) -> Result<(), String> {
        if let Some(hidden) = &self.hidden {
            config.hidden = train::parse_hidden(hidden).map_err(|e| format!("--hidden: {e}"))?;
        }
        set(&mut config.alpha, self.alpha);
        set(&mut config.batch_size, self.batch_size);
        set(&mut config.length, self.iterations.map(Length::Iterations));
        set(&mut config.length, self.epochs.map(Length::Epochs));
        set(&mut config.optimizer, self.optimizer);
        set(&mut config.l2, self.l2);
        set(&mut config.dropout, self.dropout);
        set(&mut config.label_smoothing, self.label_smoothing);
        set(&mut config.augment_shift, self.shift);
        set(&mut config.augment_rotate, self.rotate);
        set(&mut config.augment_scale, self.scale);
        set(&mut config.augment_elastic, self.elastic);
        set(&mut config.schedule, self.schedule);
        set(&mut config.init, self.init);
        set(&mut config.dev_size, self.dev_size);
        set(&mut config.seed, self.seed);
        set(&mut config.first_layer, self.first_layer);
        set(&mut config.threads, self.threads);
        Ok(())
    }
}

/// `finetune`'s settings, over [`FinetuneConfig::default`] (the app's).
#[derive(Args, Debug, Default, Clone, PartialEq)]
pub struct FinetuneOverrides {
    /// Passes over the mixed set.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Learning rate.
    #[arg(long)]
    pub alpha: Option<f32>,
    /// How the weights are updated.
    #[arg(long, ignore_case = true, value_parser = choice::<Optimizer>())]
    pub optimizer: Option<Optimizer>,
    /// Distorted copies of each of your digits.
    #[arg(long)]
    pub copies: Option<usize>,
    /// Replayed rows per copy of your digits.
    #[arg(long)]
    pub replay_ratio: Option<f32>,
    /// Weight of the fine-tuned parameters against the starting ones (1 = all fine-tuned).
    #[arg(long)]
    pub blend: Option<f32>,
    /// Share of each digit's pictures held out to measure the first run.
    #[arg(long)]
    pub holdout: Option<f32>,
    /// Keep the measured run's model instead of training again on all your digits.
    #[arg(long)]
    pub no_refit: bool,
    /// Seed of the distortions, batches and held-out choice.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Gradient threads (0 = the default).
    #[arg(long)]
    pub threads: Option<usize>,
}

impl FinetuneOverrides {
    /// Sets each setting given over `config`'s.
    pub fn apply(&self, config: &mut FinetuneConfig) {
        set(&mut config.epochs, self.epochs);
        set(&mut config.alpha, self.alpha);
        set(&mut config.optimizer, self.optimizer);
        set(&mut config.copies, self.copies);
        set(&mut config.replay_ratio, self.replay_ratio);
        set(&mut config.blend, self.blend);
        set(&mut config.holdout, self.holdout);
        set(&mut config.refit, self.no_refit.then_some(false));
        set(&mut config.seed, self.seed);
        set(&mut config.threads, self.threads);
    }
}

/// `target` becomes the flag's value when the flag was given.
fn set<T>(target: &mut T, flag: Option<T>) {
    if let Some(value) = flag {
        *target = value;
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::choice::Choice;
    use crate::cli::{Cli, Command};
    use crate::train::Preset;

    /// The config `train ARGS` runs with.
    fn train_config(args: &[&str]) -> Result<TrainConfig, String> {
        let cli = Cli::try_parse_from(["digit-recognizer", "train"].iter().chain(args)).map_err(|e| e.to_string())?;
        let Some(Command::Train(train)) = cli.command else {
            panic!("not the train command")
        };
        let mut config = TrainConfig::preset(train.preset);
        train.settings.apply(&mut config)?;
        Ok(config)
    }

    /// The config `finetune --data x --out y ARGS` runs with.
    fn finetune_config(args: &[&str]) -> FinetuneConfig {
        let base = [
            "digit-recognizer",
            "finetune",
            "--data",
            "mine.csv",
            "--out",
            "out.safetensors",
        ];
        let cli = Cli::try_parse_from(base.iter().chain(args)).unwrap();
        let Some(Command::Finetune(finetune)) = cli.command else {
            panic!("not the finetune command")
        };
        let mut config = FinetuneConfig::default();
        finetune.settings.apply(&mut config);
        config
    }

    #[test]
    fn absent_train_flags_leave_the_presets_values() {
        assert_eq!(train_config(&[]), Ok(TrainConfig::preset(Preset::Seed)));
        assert_eq!(
            train_config(&["--preset", "best"]),
            Ok(TrainConfig::preset(Preset::Best))
        );
    }

    #[test]
    fn each_train_flag_lands_in_its_setting_and_nowhere_else() {
        type Edit = fn(&mut TrainConfig);
        let cases: [(&[&str], Edit); 20] = [
            (&["--hidden", "7,3"], |c| c.hidden = vec![7, 3]),
            (&["--hidden", "none"], |c| c.hidden = vec![]),
            (&["--alpha", "0.25"], |c| c.alpha = 0.25),
            (&["--iterations", "7"], |c| c.length = Length::Iterations(7)),
            (&["--epochs", "3"], |c| c.length = Length::Epochs(3)),
            (&["--batch-size", "64"], |c| c.batch_size = 64),
            (&["--optimizer", "momentum"], |c| c.optimizer = Optimizer::Momentum),
            (&["--l2", "0.001"], |c| c.l2 = 0.001),
            (&["--dropout", "0.2"], |c| c.dropout = 0.2),
            (&["--label-smoothing", "0.1"], |c| c.label_smoothing = 0.1),
            (&["--shift", "2"], |c| c.augment_shift = 2),
            (&["--rotate", "12"], |c| c.augment_rotate = 12.0),
            (&["--scale", "0.15"], |c| c.augment_scale = 0.15),
            (&["--elastic", "1.5"], |c| c.augment_elastic = 1.5),
            (&["--schedule", "exp:0.5"], |c| c.schedule = Schedule::Exponential(0.5)),
            (&["--init", "xavier"], |c| c.init = Init::Xavier),
            (&["--dev-size", "123"], |c| c.dev_size = 123),
            (&["--seed", "9"], |c| c.seed = 9),
            (&["--first-layer", "dense"], |c| c.first_layer = FirstLayer::Dense),
            (&["--threads", "3"], |c| c.threads = 3),
        ];
        for preset in [Preset::Seed, Preset::Best] {
            for (flag, edit) in &cases {
                let args: Vec<&str> = ["--preset", preset.name()].iter().chain(flag.iter()).copied().collect();
                let mut expected = TrainConfig::preset(preset);
                edit(&mut expected);
                assert_ne!(
                    expected,
                    TrainConfig::preset(preset),
                    "{flag:?} must change {preset}'s value"
                );
                assert_eq!(train_config(&args), Ok(expected), "{args:?}");
            }
        }
    }

    #[test]
    fn a_bad_hidden_flag_is_named() {
        assert_eq!(
            train_config(&["--hidden", "0"]),
            Err("--hidden: hidden layer sizes must be at least 1".to_owned())
        );
    }

    #[test]
    fn absent_finetune_flags_leave_the_defaults() {
        assert_eq!(finetune_config(&[]), FinetuneConfig::default());
    }

    #[test]
    fn each_finetune_flag_lands_in_its_setting_and_nowhere_else() {
        type Edit = fn(&mut FinetuneConfig);
        let cases: [(&[&str], Edit); 10] = [
            (&["--epochs", "9"], |c| c.epochs = 9),
            (&["--alpha", "0.5"], |c| c.alpha = 0.5),
            (&["--optimizer", "gd"], |c| c.optimizer = Optimizer::Gd),
            (&["--copies", "3"], |c| c.copies = 3),
            (&["--replay-ratio", "1.5"], |c| c.replay_ratio = 1.5),
            (&["--blend", "0.9"], |c| c.blend = 0.9),
            (&["--holdout", "0.1"], |c| c.holdout = 0.1),
            (&["--no-refit"], |c| c.refit = false),
            (&["--seed", "4"], |c| c.seed = 4),
            (&["--threads", "2"], |c| c.threads = 2),
        ];
        for (flag, edit) in &cases {
            let mut expected = FinetuneConfig::default();
            edit(&mut expected);
            assert_ne!(expected, FinetuneConfig::default(), "{flag:?} must change a default");
            assert_eq!(finetune_config(flag), expected, "{flag:?}");
        }
    }
}
