//! Fine-tuning the model on My digits off the UI thread (replaying the training data), and undo.
//! The core is [`crate::finetune`].

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use crate::finetune::{FinetuneConfig, FinetuneEvent, FinetuneProgress, FinetuneReport, finetune};
use crate::model_file::ModelInfo;
use crate::my_digits::MyDigits;
use crate::network::Mlp;
use crate::train::TrainControl;

use crate::app::jobs::runner::Emitter;
use crate::app::tabs::my_digits::MyDigitsEvent;
use crate::app::version::Version;
use crate::app::{App, AppEvent, Job, ModelState, SNAPSHOT_EVERY, Worker};

/// A fine-tuning run in progress.
pub struct FinetuneRun {
    pub control: Arc<TrainControl>,
    /// Every measurement so far, both phases, in order.
    pub curve: Vec<FinetuneProgress>,
    /// The latest parameters, for the views.
    pub live: Option<(usize, usize, Arc<Mlp>)>,
    /// Changes with `live`.
    pub live_version: Version,
    pub started: Instant,
}

impl Worker {
    /// Fine-tunes `base` on `mine` on a thread, reporting over the channel.
    pub fn finetune(
        &self,
        base: Arc<Mlp>,
        mine: MyDigits,
        replay: Arc<crate::data::Split>,
        config: FinetuneConfig,
        control: Arc<TrainControl>,
    ) {
        self.spawn(Job::Finetune, None, move |out, fault| {
            let result = finetune(&base, mine.dataset(), &replay, &config, &control, &mut |event| {
                if let FinetuneEvent::Progress(p) = event
                    && p.step > 0
                {
                    fault.point();
                }
                send_finetune_event(out, &control, event);
            });
            out.send(match result {
                Ok((model, report)) => MyDigitsEvent::FinetuneDone { model, report },
                Err(why) => MyDigitsEvent::FinetuneRefused(why),
            });
        });
    }
}

/// Sends `event`, but a snapshot waits in `control` instead (one at most; see
/// [`TrainControl::offer_snapshot`]).
fn send_finetune_event(out: &Emitter<AppEvent>, control: &TrainControl, event: &FinetuneEvent) {
    if let FinetuneEvent::Snapshot {
        step,
        total_steps,
        model,
        ..
    } = event
    {
        let snapshot = crate::train::Snapshot {
            step: *step,
            total_steps: *total_steps,
            model: model.clone(),
        };
        if control.offer_snapshot(snapshot) {
            out.send_throttled(MyDigitsEvent::SnapshotReady);
        }
        return;
    }
    out.send_throttled(MyDigitsEvent::Finetune(event.clone()));
}

impl App {
    /// Fine-tunes the current model on My digits, replaying the loaded training data.
    pub(crate) fn start_finetune(&mut self) {
        if self.training.run.is_some() || self.teaching.run.is_some() {
            return;
        }
        if let Some(why) = self.finetune_blocked() {
            self.messages.error = Some(why);
            return;
        }
        let (Some(model), Some(data), Some(digits)) = (&self.session.model, &self.session.data, &self.teaching.digits)
        else {
            return;
        };
        let control = Arc::new(TrainControl::with_snapshots(SNAPSHOT_EVERY));
        let config = FinetuneConfig {
            seed: self.settings.config.seed,
            ..FinetuneConfig::default()
        };
        self.jobs.runner.finetune(
            model.model.clone(),
            digits.clone(),
            data.split.clone(),
            config,
            control.clone(),
        );
        self.teaching.run = Some(FinetuneRun {
            control,
            curve: Vec::new(),
            live: None,
            live_version: Version::next(),
            started: Instant::now(),
        });
        self.messages.error = None;
    }

    pub(crate) fn finetune_progress(&mut self, event: FinetuneEvent) {
        let Some(run) = &mut self.teaching.run else { return };
        match event {
            FinetuneEvent::Progress(p) => run.curve.push(p),
            FinetuneEvent::Snapshot {
                step,
                total_steps,
                model,
                ..
            } => {
                run.live = Some((step, total_steps, model));
                run.live_version = Version::next();
            }
            FinetuneEvent::Started { .. } | FinetuneEvent::Finished(_) => {}
        }
    }

    pub(crate) fn finetune_done(&mut self, model: Mlp, report: FinetuneReport) {
        let Some(run) = self.teaching.run.take() else { return };
        self.teaching.last_curve = run.curve;
        let summary = report.summary();
        self.teaching.last_report = Some(report.clone());
        if report.stop != crate::train::StopReason::Completed {
            self.messages.notice = Some("Fine-tuning stopped: the model is unchanged.".into());
            self.changed();
            return;
        }
        let Some(before) = self.session.model.take() else {
            return;
        };
        let info = ModelInfo {
            dev_accuracy: report.mnist_after,
            ..before.info.clone()
        };
        let name = format!(
            "{} + {} of my digits",
            before.name.split(" + ").next().unwrap_or(&before.name),
            report.mine_rows
        );
        self.install_model(model, info, name);
        if let (Some(dir), Some(current)) = (&self.teaching.dir, &self.session.model) {
            self.jobs.runner.keep_finetuned(dir.clone(), current, &before, report);
        }
        self.teaching.before = Some(before);
        self.messages.notice = Some(format!("Fine-tuned: {summary}. Undo brings the model before back."));
        // Not `eprintln!`, which panics when stderr is a closed pipe.
        let _ = writeln!(std::io::stderr(), "fine-tuning: {summary}");
    }

    /// Another model (trained or opened) replaced the fine-tuned one: Undo no longer applies and
    /// the fine-tuned model is not restored next time.
    pub(crate) fn finetuned_model_replaced(&mut self) {
        if self.teaching.before.take().is_some() {
            self.teaching.last_report = None;
            self.teaching.last_curve.clear();
            if let Some(dir) = &self.teaching.dir {
                self.jobs.runner.forget_finetuned(dir.clone());
            }
        }
    }

    /// Back to the model from before the last fine-tuning.
    pub(crate) fn undo_finetune(&mut self) {
        let Some(before) = self.teaching.before.take() else {
            return;
        };
        if let Some(dir) = &self.teaching.dir {
            self.jobs.runner.forget_finetuned(dir.clone());
        }
        self.session.evals.shown = None;
        let ModelState { model, info, name, .. } = before;
        let model = Arc::try_unwrap(model).unwrap_or_else(|shared| (*shared).clone());
        self.install_model(model, info, name.clone());
        self.teaching.last_report = None;
        self.teaching.last_curve.clear();
        self.messages.notice = Some(format!("Undone: the model is {name} again."));
    }
}
