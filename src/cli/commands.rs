//! One function per command, each on the core's typed API: load, train, evaluate, predict,
//! classify, inspect, make the embedded assets.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::json;

use crate::attribution;
use crate::checkpoint_file;
use crate::data::{self, Dataset, Expect};
use crate::embedded;
use crate::evaluate::{best_of, check_fits, evaluate_among, predict_among, write_submission};
use crate::model_file::{self, ModelInfo};
use crate::network::Mlp;
use crate::preprocess::{self, PreprocessError, load_image, preprocess_image};
use crate::train::{self, Preset, TrainConfig, TrainControl, TrainEvent};
use crate::trained::{TrainedModel, TrainingData, train_model, train_model_from};
use crate::write_guard::{self, Input, Output, Replace};

use super::UsageError;
use super::args::{ClassifyArgs, EvalArgs, ExplainArgs, InspectArgs, MakeAssetsArgs, PredictArgs, TrainArgs};
use super::explain::{heat_map, png_paths, summary, write_png};
use super::resume;

/// Loads a CSV with a progress bar on a terminal; returns the data and the seconds it took.
pub fn load_data(path: &Path, expect: Expect) -> Result<(Dataset, f64)> {
    let start = Instant::now();
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("loading {msg} {wide_bar} {bytes}/{total_bytes}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message(path.display().to_string());
        bar
    });
    let mut progress = |done: u64, total: u64| {
        if let Some(bar) = &bar {
            bar.set_length(total);
            bar.set_position(done);
        }
    };
    let data = data::load_path(path, expect, &mut progress, &AtomicBool::new(false));
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok((data?, start.elapsed().as_secs_f64()))
}

/// Refuses, before any work, to write `output` to `dest` when it is one of `inputs`, or (without
/// `--force`) an existing file of another kind; `flag` names the destination's flag.
pub(super) fn guard_output(dest: &Path, output: Output, inputs: &[Input], force: bool, flag: &str) -> Result<()> {
    let replace = if force { Replace::Anything } else { Replace::SameKind };
    write_guard::check(dest, output, inputs, replace).map_err(|refusal| UsageError(refusal.cli_message(flag)))?;
    Ok(())
}

fn load_model(path: Option<&Path>) -> Result<Mlp> {
    Ok(load_model_info(path)?.0)
}

/// The model and what its file says about it (image side, labels, class names, transposition).
fn load_model_info(path: Option<&Path>) -> Result<(Mlp, ModelInfo)> {
    Ok(match path {
        Some(path) => model_file::load(path)?,
        None => embedded::model().context("the embedded model is missing; pass --model")?,
    })
}

/// Loads data for `model`: transposed when the model's training data was, and refused with a
/// message naming both shapes when it does not fit the model.
fn load_data_for(path: &Path, expect: Expect, model: &Mlp, info: &ModelInfo) -> Result<Dataset> {
    let (mut data, _) = load_data(path, expect)?;
    if info.transposed {
        data.transpose_images();
    }
    check_fits(model, &data, &path.display().to_string()).map_err(|e| anyhow!(e))?;
    Ok(data)
}

/// What `--classes` sets: the class count that bounds the labels (a number, or the length of a
/// names list) and the class names (the list, else the `classes.txt` beside the data).
fn class_setting(args: &TrainArgs) -> Result<(Option<usize>, Vec<String>)> {
    let sidecar = || -> Result<Vec<String>> {
        match &args.data {
            Some(path) => Ok(data::read_sidecar(path).map_err(|e| anyhow!(e))?.unwrap_or_default()),
            None => Ok(Vec::new()),
        }
    };
    let Some(list) = &args.classes else {
        return Ok((None, sidecar()?));
    };
    if let Ok(count) = list.trim().parse::<usize>() {
        let most = usize::from(data::MAX_LABEL) + 1;
        if !(1..=most).contains(&count) {
            return Err(UsageError(format!("--classes {count}: a class count is 1 to {most}")).into());
        }
        return Ok((Some(count), sidecar()?));
    }
    let names = data::parse_class_list(list).map_err(|e| anyhow!(e))?;
    Ok((Some(names.len()), names))
}

/// Refuses labels outside `0..classes`, naming the first one's line.
fn check_class_count(path: Option<&Path>, data: &Dataset, classes: usize) -> Result<()> {
    match path {
        Some(path) => data::check_classes(path, data, classes)?,
        None => {
            if let Some(&label) = data.labels.iter().find(|&&l| usize::from(l) >= classes) {
                bail!(
                    "{}: label {label} is outside the {classes} classes set",
                    embedded::SAMPLE_NAME
                );
            }
        }
    }
    Ok(())
}

/// Warns on stderr about labels that look like a typo (0-9 and a rare 10), naming their lines.
pub(super) fn warn_rare_labels(path: &Path, data: &Dataset) {
    let rare = data::rare_labels(path, data);
    if !rare.is_empty() {
        let shown = path.display().to_string();
        eprintln!(
            "warning: {}",
            data::rare_labels_warning(&shown, &rare, data.class_count(), "pass --classes N")
        );
    }
}

/// The preset with the flags given over it, checked.
fn train_config(args: &TrainArgs) -> Result<TrainConfig, String> {
    let mut config = TrainConfig::preset(args.preset);
    args.settings.apply(&mut config)?;
    config.validate()?;
    Ok(config)
}

pub fn train(args: TrainArgs) -> Result<()> {
    let resume = match &args.resume {
        Some(path) => Some(checkpoint_file::load(path).map_err(|e| anyhow!(e))?),
        None => None,
    };
    let config = match &resume {
        Some((checkpoint, _)) => resume::resumed_config(&args, checkpoint),
        None => train_config(&args),
    }
    .map_err(UsageError)?;
    let plan = resume::CheckpointWriter::plan(args.checkpoint_every)?;
    // Refuse an unwritable destination before training, not after a minute of it.
    let folder = args
        .out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !folder.is_dir() {
        bail!(
            "cannot save the model to {}: the folder {} does not exist",
            args.out.display(),
            folder.display()
        );
    }
    let mut inputs = Vec::new();
    if let Some(data) = &args.data {
        inputs.push(Input::new(data, "--data, the training data"));
        inputs.push(Input::new(data::sidecar_path(data), "the class names beside --data"));
    }
    if let Some(path) = &args.resume {
        inputs.push(Input::new(path, "--resume, the checkpoint"));
    }
    guard_output(&args.out, Output::Model, &inputs, args.force, "--out")?;
    let (mut data, load_seconds) = match &args.data {
        Some(path) => load_data(path, Expect::Train)?,
        None => {
            let start = Instant::now();
            (embedded::sample()?, start.elapsed().as_secs_f64())
        }
    };
    if args.transpose {
        data.transpose_images();
    }
    let (class_count, names) = class_setting(&args)?;
    match class_count {
        Some(count) => check_class_count(args.data.as_deref(), &data, count)?,
        None => {
            if let Some(path) = &args.data {
                warn_rare_labels(path, &data);
            }
        }
    }
    if names.len() > data.class_count() {
        bail!("{} class names for labels 0 to {}", names.len(), data.class_count() - 1);
    }
    let split = data.split(config.dev_size, config.seed);
    if split.train.rows() == 0 {
        bail!(
            "--dev-size {} leaves no rows to train on ({} rows loaded)",
            config.dev_size,
            data.rows()
        );
    }
    let mut writer = match &args.checkpoints {
        Some(folder) => {
            let info = ModelInfo::trained(&config, None, &data, names.clone(), args.transpose);
            Some(resume::CheckpointWriter::new(folder, inputs.clone(), args.force, info)?)
        }
        None => None,
    };
    let control = match writer {
        Some(_) => TrainControl::new().with_checkpoints(plan),
        None => TrainControl::new(),
    };
    let mut write_failure = None;
    let bar = (std::io::stderr().is_terminal() && !args.json).then(indicatif::ProgressBar::hidden);
    let mut print_every = 100;
    let mut on_event = |event: &TrainEvent| match event {
        TrainEvent::Started {
            first_step,
            total_steps,
            steps_per_epoch,
            parameters,
            train_rows,
            dev_rows,
        } => {
            // The first event, before any step: it carries the fresh model's size.
            let from = if *first_step > 0 {
                format!(" from step {first_step}")
            } else {
                String::new()
            };
            eprintln!(
                "training {}{from} on {train_rows} rows ({dev_rows} dev) of {s}x{s} images, {} classes, {parameters} parameters",
                config.label(),
                data.class_count(),
                s = data.side,
            );
            // Print like the notebook (every 100 iterations), or once per epoch for mini-batches.
            print_every = if *steps_per_epoch > 1 { *steps_per_epoch } else { 100 };
            if let Some(bar) = &bar {
                bar.set_length(*total_steps as u64);
                bar.set_style(
                    indicatif::ProgressStyle::with_template("{wide_bar} {pos}/{len} steps {msg} ({eta} left)")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            }
        }
        TrainEvent::Progress(p) => {
            let dev = p.dev_accuracy.map_or(String::new(), |d| format!("  dev {d:.4}"));
            let line = format!("loss {:.4}  train {:.4}{dev}", p.loss, p.train_accuracy);
            if let Some(bar) = &bar {
                bar.set_position(p.step as u64);
                bar.set_message(line);
            } else if p.step % print_every == 0 || p.step == p.total_steps {
                eprintln!(
                    "step {:>6}/{}  epoch {:.2}  {line}  {:.1} s",
                    p.step,
                    p.total_steps,
                    p.epoch,
                    p.elapsed.as_secs_f64()
                );
            }
        }
        TrainEvent::Finished(_) => {
            if let Some(bar) = &bar {
                bar.finish_and_clear();
            }
        }
        // The command line asks for none.
        TrainEvent::Checkpoint(checkpoint) => {
            if let Some(writer) = writer.as_mut()
                && write_failure.is_none()
                && let Err(e) = writer.write(checkpoint)
            {
                // Stop rather than train on without the checkpoints asked for.
                write_failure = Some(e);
                control.cancel();
            }
        }
        // The command line asks for none.
        TrainEvent::Snapshot(_) => {}
    };
    let learn_from = TrainingData {
        dataset: &data,
        split: &split,
        class_names: &names,
        transposed: args.transpose,
    };
    let TrainedModel { model, info, report } = match &resume {
        Some((checkpoint, _)) => {
            train_model_from(learn_from, checkpoint, &config, config.threads, &control, &mut on_event).map_err(|e| {
                UsageError(format!(
                    "cannot resume from {}: {e}",
                    args.resume.as_deref().unwrap_or(Path::new("")).display()
                ))
            })?
        }
        None => train_model(learn_from, &config, config.threads, &control, &mut on_event),
    };
    if let Some(e) = write_failure {
        return Err(e.context("training stopped: a checkpoint could not be saved; no model was saved"));
    }
    if let Some(writer) = &writer
        && let (Some(first), Some(last)) = (writer.written.first(), writer.written.last())
    {
        eprintln!(
            "saved {} checkpoints, {} to {}",
            writer.written.len(),
            first.display(),
            last.display()
        );
    }
    eprintln!("{}", report.message());
    if !report.diverged() {
        model_file::save(&args.out, &model, &info)?;
        eprintln!("saved {}", args.out.display());
    }
    if let Some(dev) = report.dev_accuracy {
        eprintln!("dev accuracy {dev:.4}, train accuracy {:.4}", report.train_accuracy);
    }
    if args.json {
        let out = json!({
            "dev_accuracy": report.dev_accuracy,
            "train_accuracy": report.train_accuracy,
            "final_loss": report.final_loss,
            "iterations": report.steps,
            "epochs": report.epochs,
            "train_seconds": report.train_seconds,
            "load_seconds": load_seconds,
            "diverged": report.diverged(),
            "parameters": report.parameters,
            "train_rows": split.train.rows(),
            "dev_rows": split.dev.rows(),
            "preset": config.effective_preset(),
            "config": config,
            "model": (!report.diverged()).then(|| args.out.display().to_string()),
        });
        println!("{out}");
    }
    if report.diverged() {
        bail!("{}; no model was saved", report.message());
    }
    Ok(())
}

pub fn eval(args: EvalArgs) -> Result<()> {
    let (model, info) = load_model_info(args.model.as_deref())?;
    let start = Instant::now();
    let data = load_data_for(&args.data, Expect::Train, &model, &info)?;
    let load_seconds = start.elapsed().as_secs_f64();
    let e = evaluate_among(&model, &info.labels, &data);
    if args.json {
        println!(
            "{}",
            json!({"accuracy": e.accuracy, "rows": e.rows, "confusion": e.confusion, "precision": e.precision, "recall": e.recall, "load_seconds": load_seconds})
        );
        return Ok(());
    }
    println!("accuracy {:.4} on {} rows", e.accuracy, e.rows);
    let names = &info.class_names;
    // Digits are all shown; of other label spaces, the classes that neither occur nor are
    // predicted (Sign Language MNIST's 9, EMNIST letters' 0) are left out.
    let digits = e.confusion.len() == data::CLASSES;
    let shown: Vec<usize> = (0..e.confusion.len())
        .filter(|&c| digits || e.confusion[c].iter().sum::<usize>() > 0 || e.confusion.iter().any(|row| row[c] > 0))
        .collect();
    let word = if names.is_empty() && digits { "digit" } else { "class" };
    let width = shown
        .iter()
        .map(|&c| data::class_caption(names, c).chars().count())
        .fold(word.len(), usize::max);
    println!("{word:>width$}  precision  recall");
    for &c in &shown {
        let show = |v: Option<f32>| v.map_or("     -".to_owned(), |v| format!("{v:.4}"));
        let name = data::class_caption(names, c);
        println!("{name:>width$}  {:>9}  {:>6}", show(e.precision[c]), show(e.recall[c]));
    }
    println!("confusion (rows: true {word}, columns: predicted)");
    if !digits {
        println!("(classes with rows or predictions only)");
    }
    println!("     {}", shown.iter().map(|c| format!("{c:>5}")).collect::<String>());
    for &t in &shown {
        let row = &e.confusion[t];
        println!(
            "{t:>5}{}",
            shown.iter().map(|&p| format!("{:>5}", row[p])).collect::<String>()
        );
    }
    Ok(())
}

pub fn predict(args: PredictArgs) -> Result<()> {
    let inputs: Vec<Input> = [
        args.data.as_ref().map(|p| Input::new(p, "--data, the data to predict")),
        args.model.as_ref().map(|p| Input::new(p, "--model, the model")),
    ]
    .into_iter()
    .flatten()
    .collect();
    guard_output(&args.out, Output::Submission, &inputs, args.force, "--out")?;
    let (model, info) = load_model_info(args.model.as_deref())?;
    let data = match &args.data {
        Some(path) => load_data_for(path, Expect::Any, &model, &info)?,
        None => {
            let sample = embedded::sample()?;
            check_fits(&model, &sample, "the embedded sample").map_err(|e| anyhow!("{e}; pass --data"))?;
            sample
        }
    };
    let predictions = predict_among(&model, &info.labels, &data.pixels);
    write_submission(&args.out, &predictions, &data.ids)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    eprintln!("wrote {} ({} rows)", args.out.display(), predictions.len());
    Ok(())
}

pub fn classify(args: ClassifyArgs) -> Result<()> {
    let (model, info) = load_model_info(args.model.as_deref())?;
    let side = model.inputs().isqrt();
    let mut failures = 0;
    let mut stdout = std::io::stdout().lock();
    for path in &args.images {
        let result = load_image(path).and_then(|img| preprocess_image(&img));
        let image = match result {
            Ok(image) => image,
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                failures += 1;
                continue;
            }
        };
        // Pictures are upright: so were the images of a model trained with --transpose.
        let probs = model.predict_proba(&preprocess::resize_to_side(&image, side));
        let probs = probs.row(0).to_vec();
        let label = best_of(&probs, &info.labels);
        let name = data::class_name(&info.class_names, label);
        if args.json {
            let names = &info.class_names;
            let name = (!names.is_empty()).then_some(&name);
            writeln!(
                stdout,
                "{}",
                json!({"file": path.display().to_string(), "label": label, "name": name, "probabilities": probs})
            )?;
        } else {
            let shown = data::class_caption(&info.class_names, label);
            writeln!(stdout, "{}: {shown} ({:.1}%)", path.display(), probs[label] * 100.0)?;
        }
    }
    if failures > 0 {
        bail!("{failures} of {} images could not be classified", args.images.len());
    }
    Ok(())
}

/// `explain`: like `classify`, plus the attribution of every pixel (see [`crate::attribution`]),
/// as JSON, a summary with an ASCII map, and optionally heat-map PNGs. A picture that cannot be
/// read, or whose PNG cannot be written, is an error line naming it; the others go on.
pub fn explain(args: ExplainArgs) -> Result<()> {
    let outputs = match &args.png {
        Some(out) => png_paths(out, &args.images, args.force).map_err(UsageError)?,
        None => vec![None; args.images.len()],
    };
    let model = load_model(args.model.as_deref())?;
    if model.inputs() != data::PIXELS || model.classes() != data::CLASSES {
        bail!(
            "explain works with 28x28 digit models only; this model has {} inputs and {} classes",
            model.inputs(),
            model.classes()
        );
    }
    let target = args.target.map(usize::from);
    let mut failures = 0;
    let mut stdout = std::io::stdout().lock();
    for (path, png) in args.images.iter().zip(&outputs) {
        let image = match load_image(path).and_then(|img| preprocess_image(&img)) {
            Ok(image) => image,
            // Image errors already name the file.
            Err(e @ PreprocessError::Image(_)) => {
                eprintln!("error: {e}");
                failures += 1;
                continue;
            }
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                failures += 1;
                continue;
            }
        };
        let e = attribution::explain(&model, &image, target);
        if let Some(png) = png
            && let Err(err) = write_png(png, &heat_map(&image, &e.pixels))
        {
            eprintln!("error: {}: cannot write {}: {err}", path.display(), png.display());
            failures += 1;
            continue;
        }
        if args.json {
            let out = json!({
                "file": path.display().to_string(),
                "label": e.predicted,
                "target": e.target,
                "probabilities": e.probabilities,
                "input": image.to_vec(),
                "attribution": e.pixels.to_vec(),
                "completeness_gap": e.completeness_gap,
                "png": png.as_ref().map(|p| p.display().to_string()),
            });
            writeln!(stdout, "{out}")?;
        } else {
            write!(stdout, "{}", summary(&path.display().to_string(), &image, &e))?;
            if let Some(png) = png {
                writeln!(stdout, "  heat map: {}", png.display())?;
            }
        }
    }
    if failures > 0 {
        bail!("{failures} of {} images could not be explained", args.images.len());
    }
    Ok(())
}

pub fn inspect(args: InspectArgs) -> Result<()> {
    let (data, load_seconds) = load_data(&args.file, Expect::Any)?;
    warn_rare_labels(&args.file, &data);
    let counts = data.label_counts();
    let names = data::read_sidecar(&args.file)
        .map_err(|e| anyhow!(e))?
        .unwrap_or_default();
    let labelled = data.kind == data::DataKind::Train;
    if args.json {
        let label_counts = labelled.then_some(&counts);
        let labels = labelled.then(|| data.labels_present());
        println!(
            "{}",
            json!({"file": args.file.display().to_string(), "kind": data.kind, "rows": data.rows(), "side": data.side, "ids": !data.ids.is_empty(), "labels": labels, "class_names": names, "label_counts": label_counts, "load_seconds": load_seconds})
        );
    } else {
        println!(
            "{}: {} data, {} rows of {s}x{s} images{}, valid, loaded in {:.3} s",
            args.file.display(),
            data.kind,
            data.rows(),
            if data.ids.is_empty() { "" } else { " with ids" },
            load_seconds,
            s = data.side,
        );
        if labelled {
            let shown: Vec<String> = data
                .labels_present()
                .iter()
                .map(|&l| {
                    format!(
                        "{}: {}",
                        data::class_caption(&names, usize::from(l)),
                        counts[usize::from(l)]
                    )
                })
                .collect();
            println!("labels  {}", shown.join("  "));
        }
    }
    Ok(())
}

pub fn make_assets(args: MakeAssetsArgs) -> Result<()> {
    let (data, _) = load_data(&args.data, Expect::Train)?;
    let mut config = TrainConfig::preset(Preset::Best);
    config.dev_size = embedded::SAMPLE_ROWS;
    let split = data.split(config.dev_size, config.seed);
    let mut model = train::init_model(&config);
    eprintln!(
        "training {} on {} rows, holding out {} for the sample",
        config.label(),
        split.train.rows(),
        split.dev.rows()
    );
    let report = train::train(&mut model, &config, &split, &TrainControl::new(), &mut |e| {
        if let TrainEvent::Progress(p) = e
            && let Some(dev) = p.dev_accuracy
        {
            eprintln!("epoch {:.2}  loss {:.4}  held-out {dev:.4}", p.epoch, p.loss);
        }
    });
    eprintln!("{}; held-out accuracy {:?}", report.message(), report.dev_accuracy);
    std::fs::create_dir_all(&args.out_dir)?;
    let info = ModelInfo {
        preset: Some("best".into()),
        config: Some(config),
        dev_accuracy: report.dev_accuracy,
        ..ModelInfo::default()
    };
    model_file::save(&args.out_dir.join("model.safetensors"), &model, &info)?;
    crate::atomic::write_atomic(&args.out_dir.join("sample_train.csv.gz"), |w| {
        let mut gz = flate2::write::GzEncoder::new(w, flate2::Compression::best());
        data::write_csv(&split.dev, &mut gz)?;
        gz.finish().map(|_| ())
    })?;
    eprintln!(
        "wrote {}/model.safetensors and {}/sample_train.csv.gz",
        args.out_dir.display(),
        args.out_dir.display()
    );
    Ok(())
}
