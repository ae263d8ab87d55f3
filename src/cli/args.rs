//! The command line's flags, declared with clap. Enum flags take the core's types, parsed by the
//! names the core gives them ([`super::choices`]; `FromStr` for `Schedule`), so `--help` lists
//! their choices and the app's drop-downs offer the same ones. The training settings of `train`
//! and `finetune` are in [`super::overrides`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use super::choices::choice;
use super::overrides::{FinetuneOverrides, TrainOverrides};
use crate::train::Preset;

#[derive(Parser, Debug)]
#[command(
    name = "digit-recognizer",
    version,
    args_conflicts_with_subcommands = true,
    about = "Train a from-scratch MLP on Kaggle's Digit Recognizer (MNIST), watch it learn, draw digits for it."
)]
pub struct Cli {
    /// With no command: the app, with these files loaded at start.
    #[command(flatten)]
    pub gui: GuiArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Open the desktop app (the default when no command is given).
    Gui(GuiArgs),
    /// Train a network and save it.
    Train(TrainArgs),
    /// Accuracy, per-class precision and recall, and the confusion matrix on labelled data.
    Eval(EvalArgs),
    /// Predict a test CSV and write a Kaggle submission.
    Predict(PredictArgs),
    /// Classify pictures of digits (PNG or JPEG, any size, either polarity).
    Classify(ClassifyArgs),
    /// Why this digit? Which pixels pushed the network toward (or away from) its answer.
    Explain(ExplainArgs),
    /// Validate a CSV file and describe it.
    Inspect(InspectArgs),
    /// Turn labelled pictures (a `file,label` CSV) into a training CSV, preprocessed as `classify` does.
    ImportImages(ImportImagesArgs),
    /// Teach a model your handwriting: fine-tune it on your digits, replaying training rows so it keeps MNIST.
    Finetune(FinetuneArgs),
    /// Regenerate the embedded sample and model (assets/) from the full training data.
    MakeAssets(MakeAssetsArgs),
    /// Measure loading and training speed (bench/run.sh compares with the Python references).
    Bench(super::bench::BenchArgs),
}

#[derive(Args, Debug, Default, Clone)]
pub struct GuiArgs {
    /// Training CSV to load at start (plain or .gz).
    #[arg(long)]
    pub train: Option<PathBuf>,
    /// Test CSV to load at start, for the submission.
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// Model to load at start (safetensors).
    #[arg(long)]
    pub model: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Training CSV (plain or .gz); the embedded sample when omitted.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Starting point for the settings; the flags below override it.
    #[arg(long, default_value = "seed", ignore_case = true, value_parser = choice::<Preset>())]
    pub preset: Preset,
    /// The settings: each flag given replaces the preset's value.
    #[command(flatten)]
    pub settings: TrainOverrides,
    /// The classes: a count N (labels outside 0..N-1 are refused, naming their line), or the
    /// names in label order, e.g. "T-shirt/top,Trouser,Pullover" (their count bounds the labels
    /// the same way; saved in the model). Without names, those of the classes.txt beside the
    /// data, one name per line, if there is one. Without this option a rare label above 0-9 (a
    /// likely typo) is warned about.
    #[arg(long, value_name = "N|NAMES")]
    pub classes: Option<String>,
    /// Transpose every image before training (EMNIST stores its images transposed). Saved in the
    /// model: eval and predict then transpose their data too.
    #[arg(long)]
    pub transpose: bool,
    /// Where to save the model.
    #[arg(long, default_value = "model.safetensors")]
    pub out: PathBuf,
    /// Save checkpoints in this folder (created if missing) as step-{step:06}.safetensors: the
    /// model, the optimizer state, the random-number position, the step and the config, to
    /// resume from with --resume. About 64 per run (dense at first) without --checkpoint-every.
    #[arg(long, value_name = "DIR")]
    pub checkpoints: Option<PathBuf>,
    /// Save a checkpoint every N steps (and at the first and last) into --checkpoints.
    #[arg(long, value_name = "N", requires = "checkpoints")]
    pub checkpoint_every: Option<usize>,
    /// Continue the run of this checkpoint to the end the flags give, with its settings and the
    /// flags given over them (not its network, seed or dev size). Same flags, same data: the
    /// same final model, bit for bit, as the run that never stopped.
    #[arg(long, value_name = "FILE", conflicts_with = "preset")]
    pub resume: Option<PathBuf>,
    /// Replace an existing file of another kind at --out (a model file is replaced without it).
    /// Never allows writing onto one of the command's inputs.
    #[arg(long)]
    pub force: bool,
    /// Print one JSON object with the results on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Model file; the embedded model when omitted.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Labelled CSV (plain or .gz), laid out like the model's training data.
    #[arg(long)]
    pub data: PathBuf,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct PredictArgs {
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// CSV to predict (Kaggle's test.csv); the embedded sample when omitted.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Where to write the submission: `id,label` with the file's ids when it has an id column,
    /// else `ImageId,Label` from 1.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing file of another kind at --out (a file of the same kind is replaced
    /// without it). Never allows writing onto one of the command's inputs.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct ClassifyArgs {
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// PNG or JPEG files.
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// One JSON object per line: file, label, probabilities.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
#[command(
    after_help = "Method: integrated gradients of the target's centred logit (its logit minus the mean of the ten), \
from a black image, 32 steps. Positive attribution = evidence for the target, negative = against; \
black pixels get none."
)]
pub struct ExplainArgs {
    /// Model file; the embedded model when omitted.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// The digit to explain (0-9); the prediction when omitted.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=9))]
    pub target: Option<u8>,
    /// PNG or JPEG files, preprocessed as `classify` does.
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// One JSON object per line: file, label (the prediction), target (the --target given, else
    /// the label), probabilities (10), input (the 784 pixels 0-255 the network saw, row-major),
    /// attribution (784, > 0 = evidence for target), completeness_gap, png (path or null).
    #[arg(long)]
    pub json: bool,
    /// Also write each heat map as a 280x280 PNG: the digit in grey on white, evidence for the
    /// target in blue, against it in orange. With one image OUT is the file to write; with
    /// several (or when OUT is an existing folder) OUT must be an existing folder and each map is
    /// written there as NAME.explain.png (NAME: the image's file name without extension).
    #[arg(long, value_name = "OUT")]
    pub png: Option<PathBuf>,
    /// Replace existing files of another kind with heat maps (an earlier heat map is replaced
    /// without it). Never allows writing onto one of the pictures.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    pub file: PathBuf,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct MakeAssetsArgs {
    /// The full Kaggle train.csv (plain or .gz).
    #[arg(long)]
    pub data: PathBuf,
    #[arg(long, default_value = "assets")]
    pub out_dir: PathBuf,
}

#[derive(Args, Debug)]
pub struct ImportImagesArgs {
    /// CSV with the header `file,label`; paths relative to its folder; labels 0-9.
    pub labels: PathBuf,
    /// The training CSV to write (Kaggle's layout: label,pixel0..pixel783).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing file at --out. Needed for any labelled CSV, an earlier import included:
    /// an import looks exactly like training data. Never allows writing onto the list or a picture.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
#[command(
    after_help = "Each of your digits enters as --copies randomly distorted copies (rotation, scale, shift, elastic), \
mixed with --replay-ratio times as many replayed training rows, for --epochs passes (Adam, cosine schedule). \
A share (--holdout) of each digit's pictures is held out of a first run and measured on; a second run then \
trains on all of them (unless --no-refit) and is the model saved. MNIST is measured on --dev-size rows of \
the replay data that are never trained on."
)]
pub struct FinetuneArgs {
    /// Model to start from; the embedded model when omitted.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Your digits: a training CSV (e.g. made by import-images or exported from the app).
    #[arg(long)]
    pub data: PathBuf,
    /// Training data to replay (plain or .gz); the embedded sample when omitted.
    #[arg(long)]
    pub replay: Option<PathBuf>,
    /// Rows of the replay data held out to measure MNIST accuracy (never trained on).
    #[arg(long, default_value_t = 1000)]
    pub dev_size: usize,
    /// Seed of that split (0 with --dev-size 5000 on the full train.csv holds out exactly the
    /// embedded model's unseen rows).
    #[arg(long, default_value_t = 0)]
    pub split_seed: u64,
    /// The settings: each flag given replaces the default (the app's).
    #[command(flatten)]
    pub settings: FinetuneOverrides,
    /// Where to save the fine-tuned model.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing file of another kind at --out (a file of the same kind is replaced
    /// without it). Never allows writing onto one of the command's inputs.
    #[arg(long)]
    pub force: bool,
    /// Print one JSON object with the report on stdout.
    #[arg(long)]
    pub json: bool,
}
