//! The command line's flags, declared with clap. Enum flags take the core's types, parsed by the
//! names the core gives them ([`super::choices`]; `FromStr` for `Schedule`), so `--help` lists
//! their choices and the app's drop-downs offer the same ones. The training settings of `train`
//! and `finetune` are in [`super::overrides`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use super::choices::choice;
use super::overrides::{FinetuneOverrides, TrainOverrides};
use super::rows::{Rows, parse_rows};
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
    /// One plain gradient-descent step, every matrix of the notebook written for NumPy (safetensors).
    Trace(TraceArgs),
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
    /// The class map: data rows projected to 2-D from one layer (PCA), as a row,label,predicted,x,y CSV.
    Map(MapArgs),
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
#[command(
    after_help = "Writes, in the notebook's orientation (features x examples, m examples): X (inputs x m, pixels/255), \
Y (classes x m, one-hot), and for each layer l = 1..L: W{l} (outputs x inputs), b{l} (outputs x 1), Z{l} = W{l}.A{l-1} + b{l}, \
A{l} (ReLU; softmax for the last), dZ{l} (outputs x m), dW{l} = 1/m dZ{l}.A{l-1}^T, db{l} = 1/m sum of dZ{l} over the examples \
(outputs x 1: one per unit, where the notebook's np.sum(dZ) also sums over the units), W{l}_next = W{l} - alpha dW{l}, \
b{l}_next; plus loss (1 element, the mean cross-entropy) and dX = W1^T.dZ1 (inputs x m).\n\n\
Gradient scale, as in the notebook: dZ and dX are gradients of the summed loss (dZ{L} = A{L} - Y), dW and db of the \
mean; the mean loss's gradient at X is dX/m.\n\n\
This is the notebook's plain step: mean cross-entropy on one-hot targets, no dropout, no L2, no label smoothing, no \
augmentation, no momentum, whatever the model was trained with. bench/check_trace.py recomputes every tensor with NumPy."
)]
pub struct TraceArgs {
    /// Model file; the embedded model when omitted.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Labelled CSV (plain or .gz) to take the examples from, with --rows.
    #[arg(long, conflicts_with_all = ["image", "label"])]
    pub data: Option<PathBuf>,
    /// The data rows to trace, A..B: counted from 0 (the first row after the header), B
    /// excluded; `N` alone is row N, `A..` runs to the end, `..B` starts at 0.
    #[arg(long, value_name = "A..B", value_parser = parse_rows)]
    pub rows: Option<Rows>,
    /// A picture (PNG or JPEG) to trace instead of data rows, preprocessed as `classify` does;
    /// needs --label.
    #[arg(long)]
    pub image: Option<PathBuf>,
    /// The class the picture shows (the target Y of the loss): a label, or a class name of the
    /// model.
    #[arg(long)]
    pub label: Option<String>,
    /// The step size of the update W - alpha dW (the notebook's 0.10 by default).
    #[arg(long, default_value_t = 0.1)]
    pub alpha: f32,
    /// Where to write the trace (safetensors).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing file of another kind at --out (an earlier trace is replaced without
    /// it). Never allows writing onto one of the command's inputs.
    #[arg(long)]
    pub force: bool,
    /// Print one JSON object on stdout: shapes, loss before and after the step, per-layer norms,
    /// labels and predictions.
    #[arg(long)]
    pub json: bool,
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

#[derive(Args, Debug)]
#[command(
    after_help = "The axes are the principal axes (PCA) of the chosen layer's activations over the \
rows mapped, centred on their mean; each axis's largest entry is positive, so the same rows and model always \
give the same map. The label column is empty for a CSV without labels (Kaggle's test.csv)."
)]
pub struct MapArgs {
    /// Model file; the embedded model when omitted.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// CSV of images (plain or .gz), labelled or not, laid out like the model's training data.
    #[arg(long)]
    pub data: PathBuf,
    /// The data rows to map, A..B: 0 is the first row after the header, B is excluded (A.. runs
    /// to the end, ..B starts at 0, `N` alone is row N). All rows when omitted.
    #[arg(long, value_name = "A..B", value_parser = parse_rows)]
    pub rows: Option<Rows>,
    /// The layer: 1 for the first hidden layer (after its ReLU), 2 for the second, ..., or
    /// `output` for the class probabilities.
    #[arg(long, value_name = "L|output", default_value = "output")]
    pub layer: String,
    /// Where to write the map CSV.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing file of another kind at --out (an earlier map is replaced without it).
    /// Never allows writing onto one of the command's inputs.
    #[arg(long)]
    pub force: bool,
}
