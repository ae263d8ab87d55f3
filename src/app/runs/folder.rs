//! Runs on disk, written and read on worker threads: Save run writes a run folder and Open run
//! reads one back into the table (the core's [`crate::run_folder`]: `run.json`, `progress.csv`
//! and one `step-000150.safetensors` per checkpoint, which `train --resume` reads; a folder of
//! `train --checkpoints` opens too), and Export table writes the table as CSV. Files are written
//! atomically and under the write rule ([`crate::write_guard`]).

use std::path::PathBuf;

use crate::atomic::write_atomic;
use crate::run_folder::{self, ParentRun};
use crate::write_guard::Output;

use crate::app::files::actions::FileAction;
use crate::app::files::save::WriteCheck;
use crate::app::format::file_name;
use crate::app::jobs::runner::{Task, TaskEvent};
use crate::app::runs::{Kept, Parent, RunRecord, table};
use crate::app::tabs::training::plots;
use crate::app::{App, Job, Worker};

/// A run read from a folder.
pub type OpenedRun = run_folder::RunRecord;

/// What the run jobs report besides their task's end.
pub enum RunsEvent {
    Opened { id: u64, path: PathBuf, run: OpenedRun },
}

/// `record` as a run folder holds it (its checkpoints are shared, not copied).
fn saved(record: &RunRecord) -> run_folder::RunRecord<Kept> {
    run_folder::RunRecord {
        name: record.name.clone(),
        parent: record.parent.as_ref().map(|p| ParentRun {
            name: p.name.clone(),
            step: p.step,
        }),
        config: record.config.clone(),
        progress: record.reports.clone(),
        summary: record.report.clone(),
        checkpoints: record.checkpoints.to_vec(),
        info: record.info.clone(),
    }
}

impl Worker {
    /// Saves `record` as a folder at `dir`.
    pub fn save_run(&mut self, dir: PathBuf, record: run_folder::RunRecord<Kept>, check: WriteCheck) -> Task {
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
            match run_folder::save(&dir, &record) {
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
            match run_folder::open(&dir) {
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
        let total_steps = run.total_steps();
        let parent = run.parent.map(|ParentRun { name, step }| Parent {
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
        record.total_steps = total_steps;
        record.reports = run.progress;
        record.report = run.summary;
        record.info = run.info;
        let limit = crate::train::max_per_run(
            run.checkpoints.first().map_or(1, |c| c.approx_bytes()),
            self.runs.budget(),
        );
        for checkpoint in run.checkpoints {
            // Dropped ones were never cached.
            record.checkpoints.push(Kept::new(checkpoint), limit, |_| false);
        }
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
        let task = self.jobs.runner.save_run(dir, saved(record), check);
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
