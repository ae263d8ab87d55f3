//! Teaching the model a user's handwriting from the command line: `import-images` turns labelled
//! pictures into a Kaggle training CSV, `finetune` adapts a model to it (the app's defaults).

use anyhow::{Context, Result, bail};
use serde_json::json;

use super::UsageError;
use super::args::{FinetuneArgs, ImportImagesArgs};
use super::commands::{guard_output, load_data, warn_rare_labels};
use crate::data::Expect;
use crate::embedded;
use crate::finetune::{FinetuneConfig, FinetuneEvent, Phase, finetune};
use crate::model_file::{self, ModelInfo};
use crate::my_digits::{MyDigits, import_labelled_images};
use crate::network::Mlp;
use crate::train::TrainControl;
use crate::write_guard::{Input, Output};

pub fn import_images(args: ImportImagesArgs) -> Result<()> {
    // Everything is read and checked before anything is written.
    let images = import_labelled_images(&args.labels)?;
    if images.is_empty() {
        bail!(
            "{}: no pictures listed (expected lines `file,label` after the header)",
            args.labels.display()
        );
    }
    let inputs: Vec<Input> = std::iter::once(Input::new(&args.labels, "the picture list"))
        .chain(
            images
                .iter()
                .map(|image| Input::new(&image.path, "one of the pictures listed")),
        )
        .collect();
    guard_output(&args.out, Output::ImportedDigits, &inputs, args.force, "--out")?;
    let mut mine = MyDigits::default();
    for image in &images {
        mine.push(image.label, &image.image)?;
    }
    mine.save(&args.out)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    let counts = mine.counts();
    let per_digit: Vec<String> = (0..counts.len())
        .filter(|&d| counts[d] > 0)
        .map(|d| format!("{d}: {}", counts[d]))
        .collect();
    eprintln!(
        "wrote {} ({} pictures; {})",
        args.out.display(),
        mine.len(),
        per_digit.join(", ")
    );
    Ok(())
}

fn load_model_with_info(args: &FinetuneArgs) -> Result<(Mlp, ModelInfo, String)> {
    Ok(match &args.model {
        Some(path) => {
            let (model, info) = model_file::load(path)?;
            (model, info, path.display().to_string())
        }
        None => {
            let (model, info) = embedded::model().context("the embedded model is missing; pass --model")?;
            (model, info, embedded::MODEL_NAME.to_owned())
        }
    })
}

fn finetune_config(args: &FinetuneArgs) -> Result<FinetuneConfig> {
    let mut config = FinetuneConfig::default();
    args.settings.apply(&mut config);
    config.validate().map_err(UsageError)?;
    Ok(config)
}

pub fn finetune_command(args: FinetuneArgs) -> Result<()> {
    let config = finetune_config(&args)?;
    let inputs: Vec<Input> = [
        Some(Input::new(&args.data, "--data, your digits")),
        args.replay
            .as_ref()
            .map(|p| Input::new(p, "--replay, the training data replayed")),
        args.model
            .as_ref()
            .map(|p| Input::new(p, "--model, the model to start from")),
    ]
    .into_iter()
    .flatten()
    .collect();
    guard_output(&args.out, Output::Model, &inputs, args.force, "--out")?;
    let (base, info, model_name) = load_model_with_info(&args)?;
    let (mine, _) = load_data(&args.data, Expect::Train)?;
    warn_rare_labels(&args.data, &mine);
    if mine.is_empty() {
        bail!("{}: no digits to fine-tune on", args.data.display());
    }
    let (replay, replay_name) = match &args.replay {
        Some(path) => {
            let (replay, _) = load_data(path, Expect::Train)?;
            warn_rare_labels(path, &replay);
            (replay, path.display().to_string())
        }
        None => (embedded::sample()?, embedded::SAMPLE_NAME.to_owned()),
    };
    let split = replay.split(args.dev_size, args.split_seed);
    if !args.json {
        eprintln!(
            "fine-tuning {model_name} on {} digits of {}, replaying {} rows of {replay_name} ({} held out to measure MNIST)",
            mine.rows(),
            args.data.display(),
            split.train.rows(),
            split.dev.rows()
        );
    }
    let json = args.json;
    crate::finetune::check_inputs(&base, &mine, &split)
        .map_err(|e| anyhow::anyhow!("cannot fine-tune {model_name}: {e}"))?;
    let (model, report) = finetune(&base, &mine, &split, &config, &TrainControl::new(), &mut |event| {
        if let (false, FinetuneEvent::Progress(p)) = (json, event) {
            let pct = |v: Option<f32>| v.map_or("   -  ".to_owned(), |v| format!("{:5.1}%", 100.0 * v));
            let phase = match p.phase {
                Phase::Measure => "measure",
                Phase::Refit => "refit  ",
            };
            eprintln!(
                "{phase} step {:>4}/{:<4}  held-out digits {}  MNIST dev {}",
                p.step,
                p.total_steps,
                pct(p.mine_accuracy),
                pct(p.mnist_accuracy)
            );
        }
    })
    .map_err(|e| anyhow::anyhow!("cannot fine-tune {model_name}: {e}"))?;
    let out_info = ModelInfo {
        dev_accuracy: report.mnist_after,
        ..info
    };
    model_file::save(&args.out, &model, &out_info)?;
    if json {
        println!(
            "{}",
            json!({
                "out": args.out.display().to_string(),
                "report": report,
                "config": {
                    "epochs": config.epochs, "alpha": config.alpha, "batch_size": config.batch_size,
                    "copies": config.copies, "replay_ratio": config.replay_ratio, "holdout": config.holdout,
                    "refit": config.refit, "seed": config.seed,
                },
            })
        );
    } else {
        println!("{}", report.summary());
        eprintln!("wrote {}", args.out.display());
    }
    Ok(())
}
