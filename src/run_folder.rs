//! Run folders: "Save run" writes a run's checkpoints, progress curve, config, name, parent
//! and summary into one folder; "Open run" reads it back, refusing a folder that is not one or
//! is damaged with a message naming the file. Layout (docs/formats.md#run-folders):
//! - `run.json`: format, name, parent (run name and branch step), config, summary (the
//!   [`TrainReport`]) and the checkpoint files in step order; written last, so a folder
//!   without it is not (yet) a run;
//! - `progress.csv`: `step,total_steps,epoch,loss,train_accuracy,dev_accuracy,alpha,elapsed_seconds`;
//! - `step-{step:06}.safetensors`: the checkpoints ([`crate::checkpoint_file`]).
//!
//! Both the app (Save run / Open run) and the command line (`train --checkpoints DIR`, `train
//! --resume DIR/step-000150.safetensors`) use this format: a folder of checkpoints that `train
//! --checkpoints` wrote (no `run.json`) opens as a run too, named after the folder, its curve
//! read from the checkpoints.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic;
use crate::checkpoint_file;
use crate::model_file::ModelInfo;
use crate::train::{Checkpoint, Progress, TrainConfig, TrainReport};

/// The value of `run.json`'s `format`.
pub const FORMAT: &str = "digit-recognizer-run";
pub const VERSION: u32 = 1;
const RUN_FILE: &str = "run.json";
const PROGRESS_FILE: &str = "progress.csv";
const PROGRESS_HEADER: &str = "step,total_steps,epoch,loss,train_accuracy,dev_accuracy,alpha,elapsed_seconds";

/// Where a branch came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentRun {
    pub name: String,
    /// The parent's step the branch started from.
    pub step: usize,
}

/// A run as a folder holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord<C = Arc<Checkpoint>> {
    pub name: String,
    pub parent: Option<ParentRun>,
    pub config: TrainConfig,
    /// The progress reports, in order.
    pub progress: Vec<Progress>,
    /// How the run ended (None: still running when saved).
    pub summary: Option<TrainReport>,
    /// Ascending by step: checkpoints, or the caller's wrappers of them (the app's carry the
    /// version its views cache on).
    pub checkpoints: Vec<C>,
    /// What the model files say about the data (labels, class names, orientation).
    pub info: ModelInfo,
}

impl<C: AsRef<Checkpoint>> RunRecord<C> {
    /// The run's length in steps, as its reports and checkpoints say.
    pub fn total_steps(&self) -> usize {
        let reported = self.progress.iter().map(|p| p.total_steps);
        let planned = self.checkpoints.iter().map(|c| c.as_ref().total_steps);
        reported.chain(planned).max().unwrap_or(0)
    }
}

/// The progress report a checkpoint stands for: the loss and training accuracy of the last
/// step before it, on that step's batch (None at step 0, before any). A branch's curve starts with it, and a
/// folder of bare checkpoints gets its curve from them.
pub fn progress_at(checkpoint: &Checkpoint) -> Option<Progress> {
    let stats = &checkpoint.position.last_stats;
    (stats.rows > 0).then(|| Progress {
        step: checkpoint.step,
        total_steps: checkpoint.total_steps,
        epoch: match checkpoint.config.batch_size {
            0 => checkpoint.step as f32,
            batch => (checkpoint.step * batch) as f32 / checkpoint.data.train_rows.max(1) as f32,
        },
        loss: (stats.loss_sum / stats.rows as f64) as f32,
        train_accuracy: stats.correct as f32 / stats.rows as f32,
        dev_accuracy: None,
        alpha: checkpoint.config.alpha,
        elapsed: checkpoint.position.elapsed,
    })
}

#[derive(Serialize, Deserialize)]
struct RunFile {
    format: String,
    version: u32,
    name: String,
    parent: Option<ParentRun>,
    config: TrainConfig,
    summary: Option<TrainReport>,
    checkpoints: Vec<String>,
}

fn checkpoint_name(step: usize) -> String {
    format!("step-{step:06}.safetensors")
}

/// Writes `run` into `folder` (created if missing). Each file is written atomically and
/// `run.json` last; saving again over a run folder replaces it (checkpoint files it no longer
/// lists are removed). A folder that holds other files and is not a run folder is refused.
pub fn save<C: AsRef<Checkpoint>>(folder: &Path, run: &RunRecord<C>) -> Result<(), String> {
    let name = folder.display();
    if folder.exists() {
        if !folder.is_dir() {
            return Err(format!("{name}: not a folder, a file: choose a folder name"));
        }
        let other = std::fs::read_dir(folder)
            .map_err(|e| format!("{name}: {e}"))?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            // A folder of `train --checkpoints` becomes a run folder.
            .find(|file| !is_checkpoint_name(file));
        if let Some(other) = other
            && !folder.join(RUN_FILE).exists()
        {
            return Err(format!(
                "{name} holds {other}, which is not part of a saved run (no {RUN_FILE}): choose an empty or new folder"
            ));
        }
    }
    std::fs::create_dir_all(folder).map_err(|e| format!("cannot create {name}: {e}"))?;
    let mut files = Vec::new();
    for checkpoint in &run.checkpoints {
        let checkpoint = checkpoint.as_ref();
        let file = checkpoint_name(checkpoint.step);
        checkpoint_file::save(&folder.join(&file), checkpoint, &run.info).map_err(|e| e.to_string())?;
        files.push(file);
    }
    let mut progress = String::from(PROGRESS_HEADER);
    progress.push('\n');
    for p in &run.progress {
        let dev = p.dev_accuracy.map_or(String::new(), |d| d.to_string());
        progress.push_str(&format!(
            "{},{},{},{},{},{dev},{},{}\n",
            p.step,
            p.total_steps,
            p.epoch,
            p.loss,
            p.train_accuracy,
            p.alpha,
            // To the nanosecond, so that a run reads back as it was.
            format_args!("{}.{:09}", p.elapsed.as_secs(), p.elapsed.subsec_nanos())
        ));
    }
    write_file(&folder.join(PROGRESS_FILE), progress.as_bytes())?;
    let record = RunFile {
        format: FORMAT.to_owned(),
        version: VERSION,
        name: run.name.clone(),
        parent: run.parent.clone(),
        config: run.config.clone(),
        summary: run.summary.clone(),
        checkpoints: files.clone(),
    };
    let json = serde_json::to_string_pretty(&record).map_err(|e| format!("{name}: {e}"))?;
    write_file(&folder.join(RUN_FILE), json.as_bytes())?;
    // Checkpoints of an earlier save that this one does not list.
    if let Ok(entries) = std::fs::read_dir(folder) {
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            if is_checkpoint_name(&file) && !files.contains(&file) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    Ok(())
}

/// Whether `file` is named as a checkpoint of a run folder: `step-000150.safetensors`.
fn is_checkpoint_name(file: &str) -> bool {
    step_of(file).is_some()
}

/// The step a checkpoint's file name says.
fn step_of(file: &str) -> Option<usize> {
    let digits = file.strip_prefix("step-")?.strip_suffix(".safetensors")?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    write_atomic(path, |w| std::io::Write::write_all(w, bytes)).map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads the run saved in `folder` (or the folder of `folder` when it names its `run.json`),
/// checking every file; an error names the file and what is wrong with it. A folder of bare
/// checkpoints (`train --checkpoints DIR`) opens as a run of them ([`open_checkpoints`]).
pub fn open(folder: &Path) -> Result<RunRecord, String> {
    let folder = match folder.parent() {
        Some(parent) if folder.is_file() && folder.file_name().is_some_and(|n| n == RUN_FILE) => parent,
        _ => folder,
    };
    let run_path = folder.join(RUN_FILE);
    if !folder.is_dir() {
        return Err(format!("{}: not a folder", folder.display()));
    }
    if !run_path.exists() {
        return open_checkpoints(folder);
    }
    let text = std::fs::read_to_string(&run_path).map_err(|e| format!("{}: {e}", run_path.display()))?;
    let record: RunFile = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", run_path.display()))?;
    if record.format != FORMAT {
        return Err(format!(
            "{}: format is {:?}, expected {FORMAT:?}",
            run_path.display(),
            record.format
        ));
    }
    if record.version != VERSION {
        return Err(format!(
            "{}: version {} is not supported (this program reads {VERSION})",
            run_path.display(),
            record.version
        ));
    }
    let progress = read_progress(&folder.join(PROGRESS_FILE))?;
    let mut checkpoints: Vec<Arc<Checkpoint>> = Vec::new();
    let mut info = ModelInfo::default();
    for file in &record.checkpoints {
        if file.contains('/') || file.contains('\\') || file.starts_with('.') {
            return Err(format!(
                "{}: checkpoint {file:?} is not a file name",
                run_path.display()
            ));
        }
        let (checkpoint, file_info) = checkpoint_file::load(&folder.join(file))?;
        if checkpoint.hidden() != record.config.hidden {
            return Err(format!(
                "{file}: its network's hidden layers {:?} are not the run's {:?}",
                checkpoint.hidden(),
                record.config.hidden
            ));
        }
        if let Some(previous) = checkpoints.last()
            && previous.step >= checkpoint.step
        {
            return Err(format!(
                "{}: the checkpoints are not in step order ({file} at step {} after step {})",
                run_path.display(),
                checkpoint.step,
                previous.step
            ));
        }
        info = file_info;
        checkpoints.push(Arc::new(checkpoint));
    }
    Ok(RunRecord {
        name: record.name,
        parent: record.parent,
        config: record.config,
        progress,
        summary: record.summary,
        checkpoints,
        info,
    })
}

/// Reads a folder of checkpoint files without `run.json` (what `train --checkpoints DIR`
/// writes) as a run named after the folder, with the last checkpoint's config and a curve of
/// one point per checkpoint ([`progress_at`]). A folder without checkpoints is refused.
pub fn open_checkpoints(folder: &Path) -> Result<RunRecord, String> {
    let name = folder.display();
    let mut files: Vec<(usize, String)> = std::fs::read_dir(folder)
        .map_err(|e| format!("{name}: {e}"))?
        .flatten()
        .filter_map(|e| {
            let file = e.file_name().to_string_lossy().into_owned();
            step_of(&file).map(|step| (step, file))
        })
        .collect();
    if files.is_empty() {
        return Err(format!(
            "{name}: not a saved run (no {RUN_FILE} and no step-NNNNNN.safetensors checkpoints): choose a folder written by Save run or by train --checkpoints"
        ));
    }
    files.sort();
    let mut checkpoints: Vec<Arc<Checkpoint>> = Vec::new();
    let mut info = ModelInfo::default();
    for (_, file) in &files {
        let (checkpoint, file_info) = checkpoint_file::load(&folder.join(file))?;
        if let Some(first) = checkpoints.first()
            && first.model.sizes() != checkpoint.model.sizes()
        {
            return Err(format!(
                "{}: its network {:?} is not the first checkpoint's {:?}: one folder holds one run",
                folder.join(file).display(),
                checkpoint.model.sizes(),
                first.model.sizes()
            ));
        }
        info = file_info;
        checkpoints.push(Arc::new(checkpoint));
    }
    let last = checkpoints.last().expect("at least one file");
    Ok(RunRecord {
        name: folder
            .file_name()
            .map_or_else(|| name.to_string(), |n| n.to_string_lossy().into_owned()),
        parent: None,
        config: last.config.clone(),
        progress: checkpoints.iter().filter_map(|c| progress_at(c)).collect(),
        summary: None,
        checkpoints,
        info,
    })
}

/// "12.000345678" (as written: seconds and nanoseconds, read exactly), or any other
/// non-negative number of seconds.
fn seconds(text: &str) -> Option<Duration> {
    if let Some((whole, nanos)) = text.split_once('.')
        && nanos.len() == 9
        && let (Ok(whole), Ok(nanos)) = (whole.parse::<u64>(), nanos.parse::<u32>())
    {
        return Some(Duration::new(whole, nanos));
    }
    let seconds = text.parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0)?;
    Duration::try_from_secs_f64(seconds).ok()
}

fn read_progress(path: &Path) -> Result<Vec<Progress>, String> {
    let name = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
    let mut lines = text.lines();
    if lines.next().map(str::trim) != Some(PROGRESS_HEADER) {
        return Err(format!("{name}: line 1: the header is not {PROGRESS_HEADER:?}"));
    }
    let mut progress = Vec::new();
    for (i, line) in lines.enumerate() {
        let at = |column: usize, why: &str| format!("{name}: line {}, column {}: {why}", i + 2, column + 1);
        let fields: Vec<&str> = line.trim().split(',').collect();
        if fields.len() != 8 {
            return Err(format!("{name}: line {}: {} fields, expected 8", i + 2, fields.len()));
        }
        let int = |c: usize| fields[c].parse::<usize>().map_err(|_| at(c, "not a whole number"));
        let float = |c: usize| {
            fields[c]
                .parse::<f32>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| at(c, "not a number"))
        };
        let elapsed = seconds(fields[7]).ok_or_else(|| at(7, "not a time in seconds"))?;
        progress.push(Progress {
            step: int(0)?,
            total_steps: int(1)?,
            epoch: float(2)?,
            // A diverged run's last loss is NaN or inf, as written.
            loss: fields[3].parse::<f32>().map_err(|_| at(3, "not a number"))?,
            train_accuracy: float(4)?,
            dev_accuracy: if fields[5].is_empty() { None } else { Some(float(5)?) },
            alpha: float(6)?,
            elapsed,
        });
    }
    Ok(progress)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{CheckpointPlan, Length, Preset, TrainControl, TrainEvent, init_model, train};

    fn recorded_run() -> RunRecord {
        let split = crate::embedded::sample()
            .unwrap()
            .select(&(0..500).collect::<Vec<_>>())
            .split(100, 0);
        let config = TrainConfig {
            length: Length::Iterations(30),
            ..TrainConfig::preset(Preset::Seed)
        };
        let mut model = init_model(&config);
        let control = TrainControl::new().with_checkpoints(CheckpointPlan::spread(8));
        let (mut progress, mut checkpoints) = (Vec::new(), Vec::new());
        let report = train(&mut model, &config, &split, &control, &mut |e| match e {
            TrainEvent::Progress(p) => progress.push(p.clone()),
            TrainEvent::Checkpoint(c) => checkpoints.push(c.clone()),
            _ => {}
        });
        RunRecord {
            name: "alpha x3".into(),
            parent: Some(ParentRun {
                name: "best".into(),
                step: 200,
            }),
            config,
            progress,
            summary: Some(report),
            checkpoints,
            info: ModelInfo {
                class_names: (0..10).map(|d| d.to_string()).collect(),
                ..ModelInfo::default()
            },
        }
    }

    /// `run` with its times rounded as the CSV keeps them (to the nanosecond, through f64).
    /// (And without the summary's time, which serde_json may read back 1 ulp off.)
    fn as_kept(mut run: RunRecord) -> RunRecord {
        for p in &mut run.progress {
            p.elapsed = Duration::from_secs_f64(p.elapsed.as_secs_f64());
        }
        if let Some(summary) = &mut run.summary {
            summary.train_seconds = (summary.train_seconds * 1e6).round() / 1e6;
        }
        run
    }

    #[test]
    fn a_saved_run_opens_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("run");
        let run = recorded_run();
        assert!(run.checkpoints.len() >= 6 && run.progress.len() == 3);
        save(&folder, &run).unwrap();
        let back = as_kept(open(&folder).unwrap());
        let expected = as_kept(run.clone());
        assert_eq!(back.info.class_names, expected.info.class_names);
        assert_eq!(back.progress, expected.progress);
        assert_eq!(back.summary, expected.summary);
        assert_eq!(back.checkpoints.len(), expected.checkpoints.len());
        for (a, b) in back.checkpoints.iter().zip(&expected.checkpoints) {
            assert_eq!(a.model, b.model);
            assert_eq!(a.position, b.position);
            assert_eq!(a.config, b.config);
            assert_eq!(a.optimizer, b.optimizer);
        }
        assert_eq!(
            RunRecord {
                info: ModelInfo::default(),
                ..back
            },
            RunRecord {
                info: ModelInfo::default(),
                ..expected
            }
        );
        // Saved again with fewer checkpoints: the ones it no longer lists go.
        let fewer = RunRecord {
            checkpoints: run.checkpoints[..2].to_vec(),
            ..run.clone()
        };
        save(&folder, &fewer).unwrap();
        assert_eq!(open(&folder).unwrap().checkpoints.len(), 2);
        let files = std::fs::read_dir(&folder).unwrap().count();
        assert_eq!(files, 4, "run.json, progress.csv and two checkpoints");
    }

    #[test]
    fn bad_folders_are_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let run = recorded_run();
        // Not a run folder, either way.
        let other = dir.path().join("other");
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join("notes.txt"), "mine").unwrap();
        assert!(open(&other).unwrap_err().contains("not a saved run"));
        let message = save(&other, &run).unwrap_err();
        assert!(
            message.contains("holds notes.txt, which is not part of a saved run"),
            "{message}"
        );
        assert_eq!(std::fs::read_to_string(other.join("notes.txt")).unwrap(), "mine");
        // Damaged files.
        let folder = dir.path().join("run");
        save(&folder, &run).unwrap();
        let progress = folder.join(PROGRESS_FILE);
        let good = std::fs::read_to_string(&progress).unwrap();
        std::fs::write(&progress, good.replacen(",0.1,", ",fast,", 1)).unwrap();
        let message = open(&folder).unwrap_err();
        assert!(
            message.contains("progress.csv: line 2, column 7: not a number"),
            "{message}"
        );
        std::fs::write(&progress, &good).unwrap();
        let second = folder.join(checkpoint_name(run.checkpoints[1].step));
        let bytes = std::fs::read(&second).unwrap();
        std::fs::write(&second, &bytes[..bytes.len() / 2]).unwrap();
        let message = open(&folder).unwrap_err();
        assert!(
            message.contains("step-000001.safetensors: not a valid checkpoint"),
            "{message}"
        );
        std::fs::write(folder.join(RUN_FILE), "{").unwrap();
        assert!(open(&folder).unwrap_err().contains("run.json"));
    }

    #[test]
    fn a_folder_of_bare_checkpoints_opens_as_a_run() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("cli-run");
        let run = recorded_run();
        save(&folder, &run).unwrap();
        // What `train --checkpoints` leaves: the checkpoints only.
        std::fs::remove_file(folder.join(RUN_FILE)).unwrap();
        std::fs::remove_file(folder.join(PROGRESS_FILE)).unwrap();
        let opened = open(&folder).unwrap();
        assert_eq!(opened.name, "cli-run");
        assert_eq!(opened.config, run.config);
        assert_eq!((opened.parent.clone(), opened.summary.clone()), (None, None));
        assert_eq!(opened.checkpoints.len(), run.checkpoints.len());
        for (a, b) in opened.checkpoints.iter().zip(&run.checkpoints) {
            assert_eq!((a.step, &a.model), (b.step, &b.model));
        }
        assert_eq!(opened.total_steps(), 30);
        // A point per checkpoint after step 0; full batch: the step's loss is the run's.
        assert_eq!(opened.progress.len(), run.checkpoints.len() - 1);
        let last = opened.progress.last().unwrap();
        let report = run.summary.as_ref().unwrap();
        assert_eq!((last.step, last.loss), (30, report.final_loss));
        assert_eq!(last.epoch, 30.0, "full batch: one epoch a step");
        // Saving it back makes a whole run folder, and naming run.json opens it.
        save(&folder, &opened).unwrap();
        assert_eq!(open(&folder.join(RUN_FILE)).unwrap().progress, opened.progress);
        // An empty folder is not a run.
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        assert!(open(&empty).unwrap_err().contains("not a saved run"));
    }
}
