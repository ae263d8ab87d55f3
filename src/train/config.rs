//! What defines a training run: [`TrainConfig`], its presets and choices, and the checks on
//! what a user types.

use serde::{Deserialize, Serialize};

use crate::choice::Choice;
use crate::data::{CLASSES, PIXELS};
use crate::network::Init;

/// How the parameters are updated from the gradient (what each does: [`Choice::help`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Optimizer {
    Gd,
    Momentum,
    Adam,
}

impl Choice for Optimizer {
    const ALL: &'static [Optimizer] = &[Optimizer::Gd, Optimizer::Momentum, Optimizer::Adam];
    fn name(self) -> &'static str {
        match self {
            Optimizer::Gd => "gd",
            Optimizer::Momentum => "momentum",
            Optimizer::Adam => "adam",
        }
    }
    fn help(self) -> &'static str {
        match self {
            Optimizer::Gd => "Plain gradient descent: `W -= alpha * dW`",
            Optimizer::Momentum => "Heavy-ball momentum 0.9: `V = 0.9 V + dW; W -= alpha * V`",
            Optimizer::Adam => "Adam (beta1 0.9, beta2 0.999, eps 1e-8) with bias correction",
        }
    }
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Optimizer::Gd => &["sgd"],
            _ => &[],
        }
    }
}

/// How the learning rate changes over the run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    Constant,
    /// Cosine decay from alpha to 0 over the run.
    Cosine,
    /// Multiply alpha by this factor after every epoch.
    Exponential(f32),
}

impl Schedule {
    /// What `--schedule` accepts, for help texts and errors.
    pub const CHOICES: &str = "constant, cosine or exp:G (alpha times G after every epoch)";
}

impl std::str::FromStr for Schedule {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "constant" => Ok(Schedule::Constant),
            "cosine" => Ok(Schedule::Cosine),
            other => match other.strip_prefix("exp:").map(str::parse::<f32>) {
                Some(Ok(g)) => Ok(Schedule::Exponential(g)),
                _ => Err(format!("{text:?} is not {}", Schedule::CHOICES)),
            },
        }
    }
}

impl std::fmt::Display for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Schedule::Constant => f.write_str("constant"),
            Schedule::Cosine => f.write_str("cosine"),
            Schedule::Exponential(g) => write!(f, "exp:{g}"),
        }
    }
}

/// Presets: `seed` is the notebook; `best` the most accurate MLP trained here in about a minute;
/// `custom` marks a config edited away from its preset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    Seed,
    Best,
    /// Settings edited away from a preset (starts from `seed`); accepted, never listed.
    Custom,
}

impl Choice for Preset {
    const ALL: &'static [Preset] = &[Preset::Seed, Preset::Best, Preset::Custom];
    fn name(self) -> &'static str {
        match self {
            Preset::Seed => "seed",
            Preset::Best => "best",
            Preset::Custom => "custom",
        }
    }
    fn help(self) -> &'static str {
        match self {
            Preset::Seed => "The notebook: 784-10-10, full-batch gradient descent, alpha 0.1, 500 iterations",
            Preset::Best => {
                "784-512-256-10, Adam, cosine schedule, L2, dropout, rotations, scaling, elastic bending and shifts, 30 epochs"
            }
            Preset::Custom => "Settings edited away from a preset (starts from `seed`)",
        }
    }
    fn hidden(self) -> bool {
        self == Preset::Custom
    }
}

/// How long to train.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Length {
    /// Optimizer steps (for full batch, one step = one pass over the data).
    Iterations(usize),
    /// Passes over the training rows.
    Epochs(usize),
}

/// Everything that defines a training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    pub preset: Preset,
    /// Hidden layer widths; the input (784) and output (10) are implied.
    pub hidden: Vec<usize>,
    pub init: Init,
    pub optimizer: Optimizer,
    /// Learning rate.
    pub alpha: f32,
    pub schedule: Schedule,
    pub length: Length,
    /// Rows per step; 0 means the whole training set (full-batch gradient descent).
    pub batch_size: usize,
    /// L2 weight decay: adds `l2 * W` to each weight gradient.
    pub l2: f32,
    /// Probability of dropping a hidden unit during training.
    pub dropout: f32,
    /// Share of each target's probability spread evenly over all classes (0 = one-hot).
    pub label_smoothing: f32,
    /// Random shifts of up to this many pixels (0 = none).
    pub augment_shift: u8,
    /// Random rotations of up to this many degrees either way (0 = none). With this or
    /// `augment_scale` each row is resampled ([`crate::augment::distort`]) and its shift
    /// is fractional, up to `augment_shift` pixels.
    pub augment_rotate: f32,
    /// Random changes of size of up to this share either way (0.1 = 90%..110%; 0 = none).
    pub augment_scale: f32,
    /// Random elastic bending of up to this many pixels (root mean square; 0 = none), with the
    /// rotation and scaling ([`crate::augment::distort`]); 28x28 images only.
    pub augment_elastic: f32,
    /// Rows held out for the dev set.
    pub dev_size: usize,
    pub seed: u64,
    /// Emit a progress event every this many steps.
    pub report_every: usize,
    /// How the first layer reads its inputs: a speed choice, the results agree up to rounding.
    pub first_layer: FirstLayer,
    /// Worker threads for the gradient and the update (0 = one per core). The trained model is the
    /// same for any count: see [`crate::train`].
    pub threads: usize,
}

/// How the first layer reads the pixels. Both give the same results up to rounding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FirstLayer {
    #[default]
    Auto,
    Dense,
    Sparse,
}

impl Choice for FirstLayer {
    const ALL: &'static [FirstLayer] = &[FirstLayer::Auto, FirstLayer::Dense, FirstLayer::Sparse];
    fn name(self) -> &'static str {
        match self {
            FirstLayer::Auto => "auto",
            FirstLayer::Dense => "dense",
            FirstLayer::Sparse => "sparse",
        }
    }
    fn help(self) -> &'static str {
        match self {
            FirstLayer::Auto => {
                "Sparse when the data's share of non-zero pixels is below the measured crossover for the first layer's width (MNIST, 19%, is sparse at any width), dense above"
            }
            FirstLayer::Dense => "A dense matrix product over all 784 pixels",
            FirstLayer::Sparse => "Only the non-zero pixels (MNIST is 81% zeros)",
        }
    }
}

crate::choice::named_by_choice!(Optimizer, Preset, FirstLayer);

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig::preset(Preset::Seed)
    }
}

impl TrainConfig {
    pub fn preset(preset: Preset) -> TrainConfig {
        match preset {
            Preset::Seed | Preset::Custom => TrainConfig {
                preset,
                hidden: vec![10],
                init: Init::Uniform,
                optimizer: Optimizer::Gd,
                alpha: 0.10,
                schedule: Schedule::Constant,
                length: Length::Iterations(500),
                batch_size: 0,
                l2: 0.0,
                dropout: 0.0,
                label_smoothing: 0.0,
                augment_shift: 0,
                augment_rotate: 0.0,
                augment_scale: 0.0,
                augment_elastic: 0.0,
                dev_size: 1000,
                seed: 0,
                report_every: 10,
                first_layer: FirstLayer::Auto,
                threads: 0,
            },
            Preset::Best => TrainConfig {
                preset,
                hidden: vec![512, 256],
                init: Init::He,
                optimizer: Optimizer::Adam,
                alpha: 3e-3,
                schedule: Schedule::Cosine,
                length: Length::Epochs(30),
                batch_size: 256,
                l2: 1e-5,
                dropout: 0.05,
                label_smoothing: 0.0,
                augment_shift: 1,
                augment_rotate: 10.0,
                augment_scale: 0.1,
                augment_elastic: 2.0,
                dev_size: 1000,
                seed: 0,
                report_every: 20,
                first_layer: FirstLayer::Auto,
                threads: 0,
            },
        }
    }

    /// The preset this config is: its `preset` when every setting that shapes the model still
    /// has that preset's value, `custom` otherwise. `preset` itself keeps the preset the user
    /// started from (what Reset returns to); the seed, dev size, reporting interval, first-layer
    /// mode and thread count do not make a run custom.
    pub fn effective_preset(&self) -> Preset {
        if self.preset == Preset::Custom {
            return Preset::Custom;
        }
        let base = TrainConfig::preset(self.preset);
        let same_recipe = TrainConfig {
            seed: base.seed,
            dev_size: base.dev_size,
            report_every: base.report_every,
            first_layer: base.first_layer,
            threads: base.threads,
            ..self.clone()
        } == base;
        if same_recipe { self.preset } else { Preset::Custom }
    }

    /// `[784, hidden..., 10]`
    pub fn layer_sizes(&self) -> Vec<usize> {
        self.layer_sizes_for(PIXELS, CLASSES)
    }

    /// `[inputs, hidden..., classes]`, for other data sets than the Digit Recognizer.
    pub fn layer_sizes_for(&self, inputs: usize, classes: usize) -> Vec<usize> {
        let mut sizes = vec![inputs];
        sizes.extend(&self.hidden);
        sizes.push(classes);
        sizes
    }

    /// Checks the values a user can type; returns a message for the first bad one.
    pub fn validate(&self) -> Result<(), String> {
        check_hidden(&self.hidden)?;
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return Err(format!("alpha must be a positive number, got {}", self.alpha));
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return Err(format!("l2 must be zero or positive, got {}", self.l2));
        }
        if !(0.0..0.95).contains(&self.dropout) {
            return Err(format!("dropout must be in [0, 0.95), got {}", self.dropout));
        }
        if !(0.0..1.0).contains(&self.label_smoothing) {
            return Err(format!(
                "label smoothing must be in [0, 1), got {}",
                self.label_smoothing
            ));
        }
        if !(0.0..=180.0).contains(&self.augment_rotate) {
            return Err(format!(
                "rotation must be in [0, 180] degrees, got {}",
                self.augment_rotate
            ));
        }
        if !(0.0..0.5).contains(&self.augment_scale) {
            return Err(format!("scale change must be in [0, 0.5), got {}", self.augment_scale));
        }
        if !(0.0..=8.0).contains(&self.augment_elastic) {
            return Err(format!(
                "elastic bending must be in [0, 8] pixels, got {}",
                self.augment_elastic
            ));
        }
        match self.length {
            Length::Iterations(0) | Length::Epochs(0) => return Err("train for at least one step".into()),
            _ => {}
        }
        if let Schedule::Exponential(g) = self.schedule
            && !(g.is_finite() && g > 0.0 && g <= 1.0)
        {
            return Err(format!("learning-rate decay must be in (0, 1], got {g}"));
        }
        Ok(())
    }

    /// Whether rows are resampled with a random rotation or change of size when read (else
    /// shifted by whole pixels, if at all).
    pub fn augments_affine(&self) -> bool {
        self.augment_rotate > 0.0 || self.augment_scale > 0.0 || self.augment_elastic > 0.0
    }

    /// Whether training reads rows as they are stored (no augmentation at all).
    pub fn augments(&self) -> bool {
        self.augment_shift > 0 || self.augments_affine()
    }

    /// A short label for plots and logs, e.g. `784-10-10 gd a=0.1`.
    pub fn label(&self) -> String {
        let sizes: Vec<String> = self.layer_sizes().iter().map(usize::to_string).collect();
        let batch = if self.batch_size == 0 {
            "full".to_owned()
        } else {
            format!("b{}", self.batch_size)
        };
        format!("{} {} {} a={}", sizes.join("-"), self.optimizer, batch, self.alpha)
    }
}

/// The most hidden layers a config may have.
pub const MAX_HIDDEN_LAYERS: usize = 8;
/// The most units a hidden layer may have.
pub const MAX_UNITS: usize = 8192;

/// Parses hidden layer sizes as a user types them: `512,256`, or `none` (or nothing) for no
/// hidden layer. Checks the limits too.
pub fn parse_hidden(text: &str) -> Result<Vec<usize>, String> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    let hidden = text
        .split(',')
        .map(|s| {
            s.trim()
                .parse::<usize>()
                .map_err(|_| format!("{:?} is not a layer size (e.g. 512,256)", s.trim()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    check_hidden(&hidden)?;
    Ok(hidden)
}

fn check_hidden(hidden: &[usize]) -> Result<(), String> {
    if hidden.contains(&0) {
        return Err("hidden layer sizes must be at least 1".into());
    }
    if hidden.iter().any(|&h| h > MAX_UNITS) || hidden.len() > MAX_HIDDEN_LAYERS {
        return Err(format!(
            "at most {MAX_HIDDEN_LAYERS} hidden layers of at most {MAX_UNITS} units"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_rejects_bad_values() {
        let mut config = TrainConfig::default();
        assert!(config.validate().is_ok());
        config.alpha = f32::NAN;
        assert!(config.validate().is_err());
        config.alpha = 0.1;
        config.hidden = vec![0];
        assert!(config.validate().is_err());
        config.hidden = vec![10];
        config.length = Length::Epochs(0);
        assert!(config.validate().is_err());
        config.length = Length::Epochs(1);
        config.dropout = 0.95;
        assert!(config.validate().is_err());
        config.dropout = 0.0;
        config.schedule = Schedule::Exponential(1.5);
        assert!(config.validate().is_err());
        config.schedule = Schedule::Exponential(0.5);
        assert!(config.validate().is_ok());
        config.augment_rotate = f32::NAN;
        assert!(config.validate().is_err());
        config.augment_rotate = 10.0;
        config.augment_scale = 0.5;
        assert!(config.validate().is_err());
        config.augment_scale = 0.1;
        assert!(config.validate().is_ok());
        config.label_smoothing = 1.0;
        assert!(config.validate().is_err());
        config.label_smoothing = 0.1;
        assert!(config.validate().is_ok());
        config.augment_elastic = -1.0;
        assert!(config.validate().is_err());
        config.augment_elastic = 1.5;
        assert!(config.validate().is_ok());
    }

    #[test]
    fn hidden_layers_parse_with_their_limits() {
        assert_eq!(parse_hidden(" 512, 256 "), Ok(vec![512, 256]));
        assert_eq!(parse_hidden("none"), Ok(vec![]));
        assert_eq!(parse_hidden(""), Ok(vec![]));
        assert!(parse_hidden("10,x").is_err());
        assert!(parse_hidden("0").is_err());
        assert!(parse_hidden(&(MAX_UNITS + 1).to_string()).is_err());
        assert!(parse_hidden(&["4"; MAX_HIDDEN_LAYERS + 1].join(",")).is_err());
        assert_eq!(
            parse_hidden(&["4"; MAX_HIDDEN_LAYERS].join(",")).map(|h| h.len()),
            Ok(MAX_HIDDEN_LAYERS)
        );
    }

    #[test]
    fn schedules_parse_and_print_back() {
        for text in ["constant", "cosine", "exp:0.5"] {
            let schedule: Schedule = text.parse().unwrap();
            assert_eq!(schedule.to_string(), text);
        }
        assert!("exp:x".parse::<Schedule>().is_err());
        assert_eq!(Optimizer::Adam.to_string(), "adam");
    }

    /// Saved configs and model files spell each value as the command line does.
    fn serde_names_are_the_choice_names<T: Choice + Serialize + std::fmt::Debug>() {
        for &value in T::ALL {
            assert_eq!(
                serde_json::to_value(value).unwrap(),
                serde_json::json!(value.name()),
                "{value:?}"
            );
        }
    }

    #[test]
    fn saved_names_are_the_names_users_type() {
        serde_names_are_the_choice_names::<Optimizer>();
        serde_names_are_the_choice_names::<Preset>();
        serde_names_are_the_choice_names::<FirstLayer>();
        serde_names_are_the_choice_names::<Init>();
        assert_eq!("Adam".parse::<Optimizer>(), Ok(Optimizer::Adam));
        assert_eq!("glorot".parse::<Init>(), Ok(Init::Xavier));
        assert_eq!(
            "rmsprop".parse::<Optimizer>(),
            Err("\"rmsprop\" is not one of gd, momentum, adam".to_owned())
        );
    }

    #[test]
    fn configs_saved_before_the_augmentation_options_load_without_them() {
        let mut old = serde_json::to_value(TrainConfig::preset(Preset::Best)).unwrap();
        for field in ["augment_rotate", "augment_scale", "augment_elastic", "label_smoothing"] {
            old.as_object_mut().unwrap().remove(field);
        }
        let config: TrainConfig = serde_json::from_value(old).unwrap();
        // A config saved before an option existed was trained without it.
        let without = TrainConfig {
            augment_rotate: 0.0,
            augment_scale: 0.0,
            augment_elastic: 0.0,
            ..TrainConfig::preset(Preset::Best)
        };
        assert_eq!(config, without);
        assert!(!config.augments_affine() && config.augments());
        assert_eq!(config.effective_preset(), Preset::Custom);
    }

    #[test]
    fn effective_preset_ignores_speed_settings_only() {
        let mut config = TrainConfig::preset(Preset::Best);
        config.threads = 1;
        config.seed = 9;
        config.first_layer = FirstLayer::Dense;
        assert_eq!(config.effective_preset(), Preset::Best);
        config.dropout = 0.2;
        assert_eq!(config.effective_preset(), Preset::Custom);
    }
}
