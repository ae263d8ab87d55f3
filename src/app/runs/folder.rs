//! Runs on disk, written and read on worker threads: Save run writes a folder (`run.json` with the
//! name, settings, parent, curve and result, and one `step-000150.safetensors` per checkpoint),
//! Open run reads one back into the table, and Export table writes the table as CSV. Files are
//! written atomically and under the write rule ([`crate::write_guard`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic;
use crate::checkpoint_file;
use crate::model_file::ModelInfo;
use crate::train::{Checkpoint, Progress, TrainConfig, TrainReport};
use crate::write_guard::Output;

use crate::app::files::actions::FileAction;
use crate::app::files::save::WriteCheck;
use crate::app::format::file_name;
use crate::app::jobs::runner::{Task, TaskEvent};
use crate::app::runs::{Kept, Parent, RunRecord, table};
use crate::app::tabs::training::plots;
use crate::app::{App, Job, Worker};

/// The file in a run folder that describes the run.
pub const RUN_FILE: &str = "run.json";
/// What `run.json` says it is.
const FORMAT: &str = "digit-recognizer run";

/// `run.json`: everything about a run but its checkpoints.
#[derive(Serialize, Deserialize)]
struct RunFile {
    format: String,
    version: u32,
    name: String,
    config: TrainConfig,
    parent: Option<ParentFile>,
    total_steps: usize,
    reports: Vec<Progress>,
    report: Option<TrainReport>,
    /// The checkpoints' files, in step order.
    checkpoints: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct ParentFile {
    name: String,
    step: usize,
}

/// A run read from a folder.
pub struct OpenedRun {
    pub name: String,
    pub config: TrainConfig,
    /// The parent's name and the branch step.
    pub parent: Option<(String, usize)>,
    pub total_steps: usize,
    pub reports: Vec<Progress>,
    pub report: Option<TrainReport>,
    pub checkpoints: Vec<Arc<Checkpoint>>,
    /// The first checkpoint file's info (the data's labels and class names).
    pub info: ModelInfo,
}

/// What the run jobs report besides their task's end.
pub enum RunsEvent {
    Opened { id: u64, path: PathBuf, run: OpenedRun },
}

/// The checkpoint file of `step` in a run folder.
pub fn checkpoint_file(step: usize) -> String {
    format!("step-{step:06}.safetensors")
}

/// Writes `record` into the folder `dir` (made if missing). A folder that holds anything but an
/// earlier run is refused: nothing of the user's is mixed or replaced.
pub fn save_run(dir: &Path, record: &RunRecord) -> Result<(), String> {
    if dir.is_file() {
        return Err(format!(
            "{} is a file, not a folder: choose a folder name",
            dir.display()
        ));
    }
    if dir.is_dir() {
        let entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(Result::ok)
            .collect();
        let ours = |name: &str| name == RUN_FILE || (name.starts_with("step-") && name.ends_with(".safetensors"));
        if let Some(other) = entries.iter().find(|e| !ours(&e.file_name().to_string_lossy())) {
            return Err(format!(
                "{} holds {} which is not part of a saved run: choose an empty or new folder",
                dir.display(),
                other.file_name().to_string_lossy()
            ));
        }
        // An earlier save of a run: its checkpoints go, this run's replace them.
        for e in entries {
            if e.file_name() != RUN_FILE {
                std::fs::remove_file(e.path()).map_err(|why| format!("{}: {why}", e.path().display()))?;
            }
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    let mut names = Vec::new();
    for kept in &record.checkpoints {
        let name = checkpoint_file(kept.step());
        write_checkpoint(&dir.join(&name), &kept.checkpoint, &record.info)?;
        names.push(name);
    }
    let file = RunFile {
        format: FORMAT.into(),
        version: 1,
        name: record.name.clone(),
        config: record.config.clone(),
        parent: record.parent.as_ref().map(|p| ParentFile {
            name: p.name.clone(),
            step: p.step,
        }),
        total_steps: record.total_steps,
        reports: record.reports.clone(),
        report: record.report.clone(),
        checkpoints: names,
    };
    let json = serde_json::to_vec_pretty(&file).map_err(|e| e.to_string())?;
    // Last: a folder with run.json is a whole run.
    write_atomic(&dir.join(RUN_FILE), |w| std::io::Write::write_all(w, &json))
        .map_err(|e| format!("cannot write {}: {e}", dir.join(RUN_FILE).display()))
}

/// Reads the run saved in `dir` (or the folder of `dir` when it names its `run.json`).
pub fn open_run(dir: &Path) -> Result<OpenedRun, String> {
    let dir = if dir.is_file() && dir.file_name().is_some_and(|n| n == RUN_FILE) {
        dir.parent().unwrap_or(dir)
    } else {
        dir
    };
    let path = dir.join(RUN_FILE);
    let bytes = std::fs::read(&path).map_err(|e| {
        format!(
            "{}: not a saved run (no {RUN_FILE}: {e}); choose a folder written by Save run",
            dir.display()
        )
    })?;
    let file: RunFile = serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    if file.format != FORMAT {
        return Err(format!(
            "{}: its format is {:?}, not a saved run",
            path.display(),
            file.format
        ));
    }
    if file.version != 1 {
        return Err(format!(
            "{}: a saved run of version {}, this app reads version 1",
            path.display(),
            file.version
        ));
    }
    let mut checkpoints = Vec::with_capacity(file.checkpoints.len());
    let mut info = None;
    for name in &file.checkpoints {
        if name.contains('/') || name.contains('\\') || name.contains("..") {
            return Err(format!(
                "{}: names a checkpoint outside its folder: {name}",
                path.display()
            ));
        }
        let (checkpoint, checkpoint_info) = read_checkpoint(&dir.join(name))?;
        info.get_or_insert(checkpoint_info);
        if let Some(first) = checkpoints.first().map(|c: &Arc<Checkpoint>| c.model.sizes())
            && first != checkpoint.model.sizes()
        {
            return Err(format!(
                "{}: another network than the run's first checkpoint",
                dir.join(name).display()
            ));
        }
        checkpoints.push(Arc::new(checkpoint));
    }
    checkpoints.sort_by_key(|c| c.step);
    Ok(OpenedRun {
        name: file.name,
        config: file.config,
        parent: file.parent.map(|p| (p.name, p.step)),
        total_steps: file.total_steps,
        reports: file.reports,
        report: file.report,
        checkpoints,
        info: info.unwrap_or_default(),
    })
}

/// One checkpoint's file, in the command line's checkpoint format (`train --checkpoints`).
fn write_checkpoint(path: &Path, checkpoint: &Checkpoint, info: &ModelInfo) -> Result<(), String> {
    checkpoint_file::save(path, checkpoint, info).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// One checkpoint read back (refused when truncated, damaged or of another kind).
fn read_checkpoint(path: &Path) -> Result<(Checkpoint, ModelInfo), String> {
    checkpoint_file::load(path)
}

impl Worker {
    /// Saves `record` as a folder at `dir`.
    pub fn save_run(&mut self, dir: PathBuf, record: RunRecord, check: WriteCheck) -> Task {
        let mut task = self.task(format!("Saving {} to {}", record.name, file_name(&dir)));
        task.cancellable = false;
        let id = task.id;
        self.spawn(Job::Runs, Some(id), move |out, fault| {
            fault.point();
            if let Some(input) = check.inputs.iter().find(|i| i.path == dir) {
                out.send(TaskEvent::Failed {
                    id,
                    message: format!("{} is {}: choose another folder", dir.display(), input.what),
                });
                return;
            }
            match save_run(&dir, &record) {
                Ok(()) => out.send(TaskEvent::Finished {
                    id,
                    notice: format!(
                        "Saved {} ({} checkpoints) to {}",
                        record.name,
                        record.checkpoints.len(),
                        dir.display()
                    ),
                }),
                Err(message) => out.send(TaskEvent::Failed {
                    id,
                    message: format!("Save run: {message}"),
                }),
            }
        });
        task
    }

    /// Reads the run folder `dir`.
    pub fn open_run(&mut self, dir: PathBuf) -> Task {
        let task = self.task(format!("Opening the run {}", file_name(&dir)));
        let id = task.id;
        self.spawn(Job::Runs, Some(id), move |out, fault| {
            fault.point();
            match open_run(&dir) {
                Ok(run) => out.send(RunsEvent::Opened { id, path: dir, run }),
                Err(message) => out.send(TaskEvent::Failed {
                    id,
                    message: format!("Open run: {message}"),
                }),
            }
        });
        task
    }

    /// Writes the runs table as CSV at `path`.
    pub fn export_runs(&mut self, path: PathBuf, records: Vec<RunRecord>, check: WriteCheck) -> Task {
        let mut task = self.task(format!("Exporting the runs table to {}", file_name(&path)));
        task.cancellable = false;
        let id = task.id;
        self.spawn(Job::Runs, Some(id), move |out, fault| {
            fault.point();
            if let Some(event) = check.run(id, FileAction::ExportRuns, &path, Output::RunsTable) {
                out.send(event);
                return;
            }
            let mut rows = 0;
            match write_atomic(&path, |w| {
                rows = table::write_csv(w, &records)?;
                Ok(())
            }) {
                Ok(()) => out.send(TaskEvent::Finished {
                    id,
                    notice: format!("Wrote {rows} runs to {}", path.display()),
                }),
                Err(e) => out.send(TaskEvent::Failed {
                    id,
                    message: format!("{}: cannot write the runs table: {e}", path.display()),
                }),
            }
        });
        task
    }
}

impl App {
    pub(crate) fn runs_event(&mut self, event: RunsEvent) {
        match event {
            RunsEvent::Opened { id, path, run } => {
                self.task_done(id);
                let name = run.name.clone();
                let count = run.checkpoints.len();
                self.add_opened_run(run);
                self.messages.notice = Some(format!("Opened {name} ({count} checkpoints) from {}", path.display()));
            }
        }
    }

    /// An opened run joins the table and the plot (a new number; its parent is named, and
    /// linked when a run of that name is in the table).
    fn add_opened_run(&mut self, run: OpenedRun) {
        self.training.runs_started += 1;
        let plots = &mut self.tabs.training.plots;
        plots.started += 1;
        let id = plots.started;
        let parent = run.parent.map(|(name, step)| Parent {
            id: self
                .runs
                .records
                .iter()
                .rev()
                .find(|r| r.name == name)
                .map_or(0, |r| r.id),
            name,
            step,
        });
        let mut record = RunRecord::new(id, run.config, parent);
        record.name = run.name;
        record.training = false;
        record.total_steps = run.total_steps;
        record.reports = run.reports;
        record.report = run.report;
        record.info = run.info;
        record.checkpoints = run.checkpoints.into_iter().map(Kept::new).collect();
        let mut curve = plots::Run {
            label: record.plot_label(),
            number: id,
            config_label: record.config.label(),
            branch: record.parent.is_some(),
            ..plots::Run::default()
        };
        for p in &record.reports {
            curve.push(p);
        }
        plots.restore(curve);
        self.runs.records.push(record);
        self.runs.timeline_run = Some(id);
        self.runs.thin();
    }

    /// Save run: the run chosen in the table (or the timeline's) into folder `dir`.
    pub(crate) fn save_run_to(&mut self, dir: PathBuf) {
        let id = self.runs.to_save.take().or(self.tabs.training.table.selected);
        let Some(record) = id
            .and_then(|id| self.runs.get(id))
            .or_else(|| self.runs.timeline_record())
        else {
            self.messages.error = Some("There is no run to save: train one first.".into());
            return;
        };
        if record.training {
            self.messages.error = Some(format!("{} is still training: save it when it ends.", record.name));
            return;
        }
        let check = WriteCheck {
            inputs: self.input_files(true),
            replace: crate::write_guard::Replace::Anything,
        };
        let task = self.jobs.runner.save_run(dir, record.clone(), check);
        self.jobs.tasks.push(task);
    }

    /// Export table: every run, in the table's order, as CSV at `path`.
    pub(crate) fn export_runs_to(&mut self, path: PathBuf, check: WriteCheck) {
        if self.runs.records.is_empty() {
            self.messages.error = Some("There are no runs to export: press Train first.".into());
            return;
        }
        let order = self.tabs.training.table.order(&self.runs);
        let records: Vec<RunRecord> = order.iter().filter_map(|&id| self.runs.get(id).cloned()).collect();
        let task = self.jobs.runner.export_runs(path, records, check);
        self.jobs.tasks.push(task);
    }
}
