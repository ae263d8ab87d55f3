//! The session's runs and their past: every run trained (or opened) with its checkpoints, curve,
//! settings and parent; the timeline that takes every view back to a checkpoint; branches
//! ("Train from here"); and the runs table.
//!
//! - [`Runs`]: the records, the timeline's position and the dev predictions cached per
//!   checkpoint; the checkpoints stay within [`CHECKPOINT_BUDGET`], thinned by the core's
//!   [`RunCheckpoints`] and [`fit_budget`] (the checkpoint on screen is never dropped).
//! - `timeline`: the slider under the curves and its compact twin in the status bar.
//! - `table`: the runs table (sort, show or hide curves, rename, delete, save, open, export).
//! - `folder`: a run saved as a folder and read back (the core's [`crate::run_folder`], the
//!   format of `train --checkpoints`), and the table as CSV, off the UI thread.
//!
//! [`App::shown_model`] reads [`Runs::on_screen`]: while the timeline is back in time, every view
//! shows that checkpoint's model.

mod actions;
pub mod folder;
pub mod table;
pub mod timeline;

use std::collections::HashMap;
use std::sync::Arc;

use crate::model_file::ModelInfo;
use crate::network::Mlp;
use crate::train::{
    Checkpoint, Progress, RunCheckpoints, StopReason, TrainConfig, TrainReport, fit_budget, max_per_run,
};

use crate::app::format::fmt_count;
use crate::app::memory;
use crate::app::tabs::samples::evaluation::EvalResult;
use crate::app::version::Version;

/// Bytes of checkpoints kept for all runs together (parameters and optimizer moments); past it
/// the runs are thinned evenly. `best` (784-512-256-10 with Adam) takes 6.4 MB a checkpoint; a
/// run of it keeps 16 (104 MB, thinned to every 2^k-th arrival), as it did at 128 MB. The issue
/// allows 256 MB (the core's default) and asks for the app training `best` to stay under 400 MB.
/// Measured on the full data, dev 5,000 (see `app/memory.rs`): about 200 MB before training,
/// 364-379 MB after `best`; a branch then peaks while it fills the budget before the parent is
/// thinned, 371-402 MB at 128 MB, hence 112. Per run: 64, or more for small networks
/// ([`max_per_run`]: the seed preset's 33 KB checkpoints, 223).
pub const CHECKPOINT_BUDGET: usize = 112 << 20;

/// Bytes of dev predictions cached for the timeline (about 0.4 MB a checkpoint with 5,000 dev
/// rows): every checkpoint of a `best` run fits, while the seed preset's hundreds of tiny
/// checkpoints keep those nearest the timeline's position.
pub const PREDICTION_CACHE_BUDGET: usize = 32 << 20;

/// One checkpoint kept in memory, with the version the views cache on.
#[derive(Clone, Debug)]
pub struct Kept {
    pub checkpoint: Arc<Checkpoint>,
    pub version: Version,
}

impl AsRef<Checkpoint> for Kept {
    fn as_ref(&self) -> &Checkpoint {
        &self.checkpoint
    }
}

impl Kept {
    pub fn new(checkpoint: Arc<Checkpoint>) -> Kept {
        Kept {
            checkpoint,
            version: Version::next(),
        }
    }

    pub fn step(&self) -> usize {
        self.checkpoint.step
    }
}

/// Where a branch left its parent.
#[derive(Clone, Debug, PartialEq)]
pub struct Parent {
    /// The parent's id (it may have been deleted since).
    pub id: usize,
    /// The parent's name when the branch started.
    pub name: String,
    pub step: usize,
}

/// One run of the session, trained here or opened from a folder.
#[derive(Clone, Debug)]
pub struct RunRecord {
    /// The run's number on the plot ("#3"), unique in the session.
    pub id: usize,
    /// "run #3" unless renamed.
    pub name: String,
    pub config: TrainConfig,
    pub parent: Option<Parent>,
    /// Ascending by step, thinned evenly.
    pub checkpoints: RunCheckpoints<Kept>,
    /// The curve: every progress report.
    pub reports: Vec<Progress>,
    pub total_steps: usize,
    /// The final report (None while it trains).
    pub report: Option<TrainReport>,
    /// Trains now.
    pub training: bool,
    /// Its curves are drawn.
    pub visible: bool,
    /// What its checkpoints' files say about the data (labels, class names, orientation).
    pub info: ModelInfo,
}

impl RunRecord {
    pub fn new(id: usize, config: TrainConfig, parent: Option<Parent>) -> RunRecord {
        RunRecord {
            id,
            name: format!("run #{id}"),
            config,
            parent,
            checkpoints: RunCheckpoints::default(),
            reports: Vec::new(),
            total_steps: 0,
            report: None,
            training: true,
            visible: true,
            info: ModelInfo::default(),
        }
    }

    /// The best dev accuracy measured during the run (or at its end).
    pub fn best_dev(&self) -> Option<f32> {
        let during = self.reports.iter().filter_map(|p| p.dev_accuracy);
        let end = self.report.as_ref().and_then(|r| r.dev_accuracy);
        during.chain(end).reduce(f32::max)
    }

    /// The dev accuracy at the end (the last measured while it trains).
    pub fn final_dev(&self) -> Option<f32> {
        match &self.report {
            Some(r) if r.dev_accuracy.is_some() => r.dev_accuracy,
            _ => self.reports.iter().rev().find_map(|p| p.dev_accuracy),
        }
    }

    /// The last loss reported.
    pub fn final_loss(&self) -> Option<f32> {
        match &self.report {
            Some(r) if r.steps > 0 && r.final_loss.is_finite() => Some(r.final_loss),
            _ => self.reports.last().map(|p| p.loss).filter(|l| l.is_finite()),
        }
    }

    /// The step reached: the end's (runs count steps from 0, branches too), or the last
    /// report's.
    pub fn steps(&self) -> usize {
        let reported = self.reports.last().map_or(self.first_step(), |p| p.step);
        self.report
            .as_ref()
            .map_or(reported, |r| r.steps.max(self.first_step()))
    }

    /// The step it started from (a branch's step, else 0).
    pub fn first_step(&self) -> usize {
        self.parent.as_ref().map_or(0, |p| p.step)
    }

    /// Training time in seconds (a branch counts from its branch step: its own time only).
    pub fn seconds(&self) -> f64 {
        let at_start = self.checkpoints.first().map_or(0.0, |k| {
            if self.parent.is_some() {
                k.checkpoint.position.elapsed.as_secs_f64()
            } else {
                0.0
            }
        });
        let end = match &self.report {
            Some(r) => r.train_seconds,
            None => self.reports.last().map_or(0.0, |p| p.elapsed.as_secs_f64()),
        };
        (end - at_start).max(0.0)
    }

    /// Steps per second of its own steps.
    pub fn steps_per_second(&self) -> Option<f64> {
        let seconds = self.seconds();
        let steps = self.steps().saturating_sub(self.first_step());
        (seconds > 0.0 && steps > 0).then(|| steps as f64 / seconds)
    }

    /// "784-512-256-10 adam b128 a=0.003, cosine, dropout 0.2": what the table's Config says.
    pub fn config_summary(&self) -> String {
        let c = &self.config;
        let mut parts = vec![c.label(), c.schedule.to_string()];
        if c.dropout > 0.0 {
            parts.push(format!("dropout {}", c.dropout));
        }
        if c.augments() {
            parts.push("augmented".into());
        }
        parts.join(", ")
    }

    /// "from run #1 @ 200" (empty for a run from scratch).
    pub fn parent_text(&self) -> String {
        self.parent
            .as_ref()
            .map_or_else(String::new, |p| format!("{} @ {}", p.name, fmt_count(p.step)))
    }

    /// The plot's label: "#2 784-16-10 gd full a=0.1" (or its new name), and where a branch
    /// left its parent.
    pub fn plot_label(&self) -> String {
        let name = if self.name == format!("run #{}", self.id) {
            format!("#{}", self.id)
        } else {
            self.name.clone()
        };
        let mut label = format!("{name} {}", self.config.label());
        if let Some(p) = &self.parent {
            label.push_str(&format!(" (from {} @ {})", p.name, fmt_count(p.step)));
        }
        label
    }

    /// The legend's name: "run #2 (from run #1 @ 200)".
    pub fn legend(&self) -> String {
        match &self.parent {
            Some(p) => format!("{} (from {} @ {})", self.name, p.name, fmt_count(p.step)),
            None => self.name.clone(),
        }
    }

    /// How it ended: "completed", "stopped", "diverged" or "training".
    pub fn status(&self) -> &'static str {
        match self.report.as_ref().map(|r| &r.stop) {
            None if self.training => "training",
            None => "opened",
            Some(StopReason::Completed) => "completed",
            Some(StopReason::Cancelled) => "stopped",
            Some(StopReason::Diverged { .. }) => "diverged",
        }
    }

    /// The checkpoint shown for `step`: the last at or before it (the first if none is).
    pub fn checkpoint_at(&self, step: usize) -> Option<&Kept> {
        let i = self.checkpoints.partition_point(|k| k.step() <= step);
        self.checkpoints.get(i.saturating_sub(1))
    }

    /// The checkpoint nearest `step` (for the slider's snapping).
    pub fn nearest_step(&self, step: usize) -> Option<usize> {
        self.checkpoints.iter().map(Kept::step).min_by_key(|s| s.abs_diff(step))
    }

    /// Bytes its checkpoints hold.
    pub fn checkpoint_bytes(&self) -> usize {
        self.checkpoints.bytes()
    }
}

/// The timeline's position: live, or a step of one run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Position {
    /// The running model, or the current one when nothing trains.
    #[default]
    Live,
    /// Run `run`'s checkpoint at or before `step`.
    At { run: usize, step: usize },
}

/// Every run of the session and the timeline over them.
#[derive(Default)]
pub struct Runs {
    pub records: Vec<RunRecord>,
    pub position: Position,
    /// The run the timeline scrubs (None: the latest).
    pub timeline_run: Option<usize>,
    /// Play advances the timeline.
    pub timeline: timeline::Timeline,
    /// The runs table's own state.
    pub table: table::RunsTable,
    /// Dev predictions per checkpoint (by version), for the dev set `cache_dev`.
    cache: HashMap<Version, EvalResult>,
    cache_dev: Option<Version>,
    /// The checkpoint versions being predicted now.
    pub(crate) asked: Vec<Version>,
    /// The one of them predicted ahead of the user (a move does not wait for it).
    pub(crate) ahead: Option<Version>,
    /// The one a training run is held for, and since when.
    pub(crate) holding: Option<(Version, std::time::Instant)>,
    /// Which checkpoint's predictions the views were given last.
    pub(crate) given: Option<Version>,
    /// The predictions of the live or current model, kept while the timeline is back in time.
    pub(crate) stash: Option<EvalResult>,
    /// Bytes of checkpoints allowed (tests lower it).
    pub budget: Option<usize>,
    /// The run Save run writes, once its folder is chosen.
    pub(crate) to_save: Option<usize>,
    /// When the timeline last moved (for the frame statistics' scrubbing latency).
    pub(crate) moved: Option<std::time::Instant>,
}

impl Runs {
    pub fn get(&self, id: usize) -> Option<&RunRecord> {
        self.records.iter().find(|r| r.id == id)
    }

    pub fn get_mut(&mut self, id: usize) -> Option<&mut RunRecord> {
        self.records.iter_mut().find(|r| r.id == id)
    }

    /// The run the timeline scrubs: the one chosen, else the latest.
    pub fn timeline_record(&self) -> Option<&RunRecord> {
        self.timeline_run
            .and_then(|id| self.get(id))
            .or_else(|| self.records.last())
    }

    /// The checkpoint on screen, when the timeline is back in time.
    pub fn on_screen(&self) -> Option<(&RunRecord, &Kept)> {
        let Position::At { run, step } = self.position else {
            return None;
        };
        let record = self.get(run)?;
        Some((record, record.checkpoint_at(step)?))
    }

    /// Moves the timeline to `step` of run `run` (snapped to the checkpoint shown).
    pub fn go_to(&mut self, run: usize, step: usize) {
        let step = self
            .get(run)
            .and_then(|r| r.checkpoint_at(step))
            .map_or(step, Kept::step);
        self.timeline_run = Some(run);
        let to = Position::At { run, step };
        if self.position != to {
            self.moved = Some(std::time::Instant::now());
        }
        self.position = to;
    }

    /// Back to the live model.
    pub fn go_live(&mut self) {
        self.position = Position::Live;
        self.timeline.playing = false;
    }

    /// Starts recording a run.
    pub fn start(&mut self, record: RunRecord) {
        // The timeline follows the new run (staying where it is if back in time).
        if self.position == Position::Live {
            self.timeline_run = None;
        }
        self.records.push(record);
    }

    /// Keeps `checkpoint` as run `id`'s latest, then thins that run to its count and all runs
    /// to the budget (never dropping the checkpoint on screen).
    pub fn add_checkpoint(&mut self, id: usize, checkpoint: Arc<Checkpoint>) {
        let on_screen = self.on_screen().map(|(_, k)| k.version);
        let limit = max_per_run(checkpoint.approx_bytes(), self.budget());
        let Some(record) = self.get_mut(id) else { return };
        let dropped = record
            .checkpoints
            .push(Kept::new(checkpoint), limit, |k| Some(k.version) == on_screen);
        self.forget(dropped);
        self.thin();
    }

    /// The byte budget in force.
    pub fn budget(&self) -> usize {
        self.budget.unwrap_or(CHECKPOINT_BUDGET)
    }

    /// Bytes of every run's checkpoints.
    pub fn checkpoint_bytes(&self) -> usize {
        self.records.iter().map(RunRecord::checkpoint_bytes).sum()
    }

    /// Thins the runs holding the most bytes until all fit the budget ([`fit_budget`]: never a
    /// run's first or latest checkpoint, nor the one on screen).
    pub fn thin(&mut self) {
        let on_screen = self.on_screen().map(|(_, k)| k.version);
        let budget = self.budget();
        let dropped = fit_budget(self.records.iter_mut().map(|r| &mut r.checkpoints), budget, |k| {
            Some(k.version) == on_screen
        });
        self.forget(dropped);
    }

    /// Forgets the checkpoints dropped and their cached predictions, and hands the memory back.
    fn forget(&mut self, dropped: Vec<Kept>) {
        for kept in &dropped {
            self.cache.remove(&kept.version);
        }
        if !dropped.is_empty() {
            drop(dropped);
            memory::release_freed();
        }
    }

    /// Removes run `id` (not while it trains): its curve and checkpoints go.
    pub fn delete(&mut self, id: usize) -> Option<RunRecord> {
        let i = self.records.iter().position(|r| r.id == id && !r.training)?;
        let record = self.records.remove(i);
        for kept in &record.checkpoints {
            self.cache.remove(&kept.version);
        }
        if matches!(self.position, Position::At { run, .. } if run == id) {
            self.go_live();
        }
        if self.timeline_run == Some(id) {
            self.timeline_run = None;
        }
        Some(record)
    }

    /// Forgets run `id`, which never started (a refused branch).
    pub fn delete_refused(&mut self, id: usize) {
        if let Some(r) = self.get_mut(id) {
            r.training = false;
        }
        self.delete(id);
    }

    /// The cached predictions of checkpoint `version` for dev set `dev`.
    pub fn cached(&self, version: Version, dev: Version) -> Option<&EvalResult> {
        (self.cache_dev == Some(dev))
            .then(|| self.cache.get(&version))
            .flatten()
    }

    /// Keeps the predictions of checkpoint `version` for dev set `dev` (a new dev set empties
    /// the cache), then forgets those farthest from the timeline's position until the cache
    /// fits [`PREDICTION_CACHE_BUDGET`] (never the checkpoint on screen, nor this one).
    pub fn cache(&mut self, version: Version, dev: Version, eval: EvalResult) {
        if self.cache_dev != Some(dev) {
            self.cache.clear();
            self.cache_dev = Some(dev);
        }
        if !self.is_checkpoint(version) {
            return;
        }
        self.cache.insert(version, eval);
        let on_screen = self.on_screen().map(|(_, k)| k.version);
        while self.cache_bytes() > PREDICTION_CACHE_BUDGET {
            let farthest = self
                .cache
                .keys()
                .filter(|v| **v != version && Some(**v) != on_screen)
                .max_by_key(|v| (self.distance_from_position(**v), v.get()))
                .copied();
            match farthest {
                Some(v) => self.cache.remove(&v),
                None => break,
            };
        }
    }

    /// Bytes of the cached predictions.
    pub fn cache_bytes(&self) -> usize {
        self.cache.values().map(EvalResult::approx_bytes).sum()
    }

    /// How far checkpoint `version` is from the timeline's position: steps within the run on
    /// screen (from its latest checkpoint when live); any other run's are farther than those.
    fn distance_from_position(&self, version: Version) -> usize {
        let at = match self.position {
            Position::At { run, step } => Some((run, step)),
            Position::Live => self
                .timeline_record()
                .map(|r| (r.id, r.checkpoints.last().map_or(0, Kept::step))),
        };
        for record in &self.records {
            if let Some(k) = record.checkpoints.iter().find(|k| k.version == version) {
                return match at {
                    Some((run, step)) if run == record.id => k.step().abs_diff(step),
                    _ => usize::MAX / 2,
                };
            }
        }
        usize::MAX
    }

    /// Whether `version` is one of the kept checkpoints.
    pub fn is_checkpoint(&self, version: Version) -> bool {
        self.records
            .iter()
            .any(|r| r.checkpoints.iter().any(|k| k.version == version))
    }

    /// The next checkpoint of the timeline's run to predict while idle, so that scrubbing finds
    /// its predictions ready: back in time, the one nearest the checkpoint on screen; live, the
    /// one farthest from those already predicted (the latest first, then the first, then between
    /// them), so that wherever the user drags to, one near it is ready soon. None once the
    /// cache is full: predicting more would only forget others.
    pub fn next_to_predict(&self, dev: Version) -> Option<(&RunRecord, &Kept)> {
        let waiting = |k: &&Kept| self.cached(k.version, dev).is_none() && !self.asked.contains(&k.version);
        let (record, shown) = match self.on_screen() {
            Some((record, shown)) => (record, Some(shown.step())),
            None => (self.timeline_record().filter(|r| !r.training)?, None),
        };
        let each = self.cache.values().next().map_or(0, EvalResult::approx_bytes);
        if self.cache_bytes() + each > PREDICTION_CACHE_BUDGET {
            return None;
        }
        let next = match shown {
            Some(from) => record
                .checkpoints
                .iter()
                .filter(waiting)
                .min_by_key(|k| k.step().abs_diff(from)),
            None => {
                let ready: Vec<usize> = record
                    .checkpoints
                    .iter()
                    .filter(|k| !waiting(k))
                    .map(Kept::step)
                    .collect();
                let gap = |k: &Kept| ready.iter().map(|s| s.abs_diff(k.step())).min().unwrap_or(usize::MAX);
                // The latest wins ties (max_by_key keeps the last of equals).
                record.checkpoints.iter().filter(waiting).max_by_key(|k| gap(k))
            }
        };
        next.map(|k| (record, k))
    }

    /// The model, key and caption the views show while the timeline is back in time.
    pub fn shown_model(&self) -> Option<(Arc<Mlp>, u64, String)> {
        let (record, kept) = self.on_screen()?;
        Some((kept.checkpoint.model.clone(), kept.version.get(), caption(record, kept)))
    }
}

/// "run #2 at step 200 of 1,000 (timeline)".
pub fn caption(record: &RunRecord, kept: &Kept) -> String {
    format!(
        "{} at step {} of {} (timeline)",
        record.name,
        fmt_count(kept.step()),
        fmt_count(kept.checkpoint.total_steps.max(record.total_steps))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{CheckpointPlan, Length, Preset, TrainControl, TrainEvent};

    /// The checkpoints of a 784-16-10 run of `steps` steps on a little of the embedded sample.
    fn checkpoints(steps: usize) -> Vec<Arc<Checkpoint>> {
        let data = crate::embedded::sample().unwrap();
        let split = data.select(&(0..600).collect::<Vec<_>>()).split(100, 1);
        let config = TrainConfig {
            hidden: vec![16],
            length: Length::Iterations(steps),
            ..TrainConfig::preset(Preset::Seed)
        };
        let mut model = crate::train::init_model_for(&config, &data);
        let control = TrainControl::new().with_checkpoints(CheckpointPlan::every(1));
        let mut kept = Vec::new();
        crate::train::train(&mut model, &config, &split, &control, &mut |e| {
            if let TrainEvent::Checkpoint(c) = e {
                kept.push(c.clone());
            }
        });
        kept
    }

    fn record(id: usize, all: &[Arc<Checkpoint>]) -> RunRecord {
        let mut r = RunRecord::new(id, TrainConfig::default(), None);
        r.training = false;
        for c in all {
            r.checkpoints.push(Kept::new(c.clone()), usize::MAX, |_| false);
        }
        r
    }

    /// Predictions of `rows` dev rows (their size is what the cache counts).
    fn eval(rows: usize) -> EvalResult {
        let predictions = vec![1u8; rows];
        EvalResult {
            probs: vec![vec![0.1; 10]; rows],
            evaluation: crate::evaluate::Evaluation::from_predictions(&predictions, &predictions),
            predictions,
            caption: String::new(),
            live: true,
        }
    }

    #[test]
    fn live_the_run_is_predicted_ahead_spread_out_latest_first() {
        let all = checkpoints(64);
        let mut runs = Runs::default();
        runs.records.push(record(1, &all));
        let dev = Version::next();
        let mut order = Vec::new();
        while let Some((_, kept)) = runs.next_to_predict(dev) {
            order.push(kept.step());
            let version = kept.version;
            runs.cache(version, dev, eval(10));
        }
        assert_eq!(order.len(), 65, "every checkpoint, once: {order:?}");
        assert_eq!(order[..3], [64, 0, 32], "{order:?}");
        // After 9 predictions no step is more than 8 from one predicted.
        let first9 = &order[..9];
        assert!(
            (0..=64).all(|s| first9.iter().any(|p| p.abs_diff(s) <= 8)),
            "{first9:?}"
        );
        // A run that trains is not predicted ahead (its checkpoints keep coming).
        let mut runs = Runs::default();
        let mut training = record(1, &all);
        training.training = true;
        runs.records.push(training);
        assert!(runs.next_to_predict(dev).is_none());
    }

    #[test]
    fn the_prediction_cache_keeps_its_budget_and_the_checkpoints_nearest_the_timeline() {
        let all = checkpoints(100);
        let mut runs = Runs::default();
        runs.records.push(record(1, &all));
        runs.go_to(1, 30);
        let dev = Version::next();
        let cached_steps = |runs: &Runs| -> Vec<usize> {
            runs.records[0]
                .checkpoints
                .iter()
                .filter(|k| runs.cached(k.version, dev).is_some())
                .map(Kept::step)
                .collect()
        };
        // Predictions this large fill the budget long before the run's 101 checkpoints.
        let rows = 20_000;
        let each = eval(rows).approx_bytes();
        let fit = PREDICTION_CACHE_BUDGET / each;
        assert!(fit < 60, "{fit}");
        while let Some((_, kept)) = runs.next_to_predict(dev) {
            let version = kept.version;
            runs.cache(version, dev, eval(rows));
        }
        let before = cached_steps(&runs);
        assert_eq!(before.len(), fit, "predicting ahead stops when the cache is full");
        assert!(runs.cache_bytes() <= PREDICTION_CACHE_BUDGET);
        assert!(
            before.iter().all(|s| s.abs_diff(30) <= fit / 2 + 1),
            "those nearest step 30: {before:?}"
        );
        // Moved far away: the checkpoint predicted there pushes out the one farthest from it.
        runs.go_to(1, 100);
        let last = runs.records[0].checkpoints.last().unwrap().version;
        runs.cache(last, dev, eval(rows));
        let after = cached_steps(&runs);
        assert!(runs.cache_bytes() <= PREDICTION_CACHE_BUDGET);
        assert_eq!(after.len(), fit);
        assert!(after.contains(&100));
        assert!(!after.contains(&before[0]), "{before:?} -> {after:?}");
    }

    #[test]
    fn thinning_keeps_the_budget_the_ends_and_the_checkpoint_on_screen() {
        let all = checkpoints(100);
        assert_eq!(all.len(), 101, "steps 0..=100");
        let each = all[0].approx_bytes();
        let mut runs = Runs::default();
        runs.records.push(record(1, &all));
        runs.records.push(record(2, &all[..41]));
        runs.go_to(1, 37);
        // Room for 40 checkpoints in all.
        runs.budget = Some(40 * each);
        runs.thin();
        assert!(
            runs.checkpoint_bytes() <= runs.budget(),
            "{} > {}",
            runs.checkpoint_bytes(),
            runs.budget()
        );
        let steps = |r: &RunRecord| r.checkpoints.iter().map(Kept::step).collect::<Vec<_>>();
        let (a, b) = (steps(&runs.records[0]), steps(&runs.records[1]));
        assert_eq!((a[0], *a.last().unwrap()), (0, 100));
        assert_eq!((b[0], *b.last().unwrap()), (0, 40));
        assert!(a.contains(&37), "the checkpoint on screen stays: {a:?}");
        // Thinned evenly: both runs keep a share, and no gap is far wider than the rest.
        assert!(a.len() >= 10 && b.len() >= 10, "{a:?} {b:?}");
        let widest = a.windows(2).map(|w| w[1] - w[0]).max().unwrap();
        let even = 100 / (a.len() - 1);
        assert!(
            widest <= 3 * even,
            "gaps up to {widest} for {} checkpoints: {a:?}",
            a.len()
        );
        // As they arrive: the per-run count (64 for this budget) holds, and the checkpoint on
        // screen stays.
        let mut runs = Runs {
            budget: Some(16 * 64 * each),
            ..Runs::default()
        };
        runs.records.push(record(1, &[]));
        for c in &all {
            runs.add_checkpoint(1, c.clone());
            if c.step == 37 {
                runs.go_to(1, 37);
            }
            assert!(runs.records[0].checkpoints.len() <= 64);
        }
        let a = steps(&runs.records[0]);
        assert!(a.len() > 32, "{a:?}");
        assert_eq!((a[0], *a.last().unwrap()), (0, 100));
        assert!(a.contains(&37), "the checkpoint on screen stays: {a:?}");
        assert_eq!(runs.on_screen().unwrap().1.step(), 37);
    }

    #[test]
    fn the_timeline_shows_the_checkpoint_at_or_before_its_step() {
        let all = checkpoints(10);
        let mut runs = Runs::default();
        let some: Vec<Arc<Checkpoint>> = all
            .iter()
            .filter(|c| c.step % 4 == 0 || c.step == 10)
            .cloned()
            .collect();
        runs.records.push(record(3, &some));
        assert_eq!(runs.on_screen().map(|(_, k)| k.step()), None, "live");
        runs.go_to(3, 6);
        assert_eq!(runs.position, Position::At { run: 3, step: 4 });
        let (model, _, caption) = runs.shown_model().unwrap();
        assert_eq!(*model, *all[4].model);
        assert!(caption.contains("run #3 at step 4 of 10"), "{caption}");
        assert_eq!(runs.records[0].nearest_step(7), Some(8));
        runs.go_live();
        assert!(runs.shown_model().is_none());
        // Deleting the run on screen goes live.
        runs.go_to(3, 8);
        assert!(runs.delete(3).is_some());
        assert_eq!(runs.position, Position::Live);
    }
}
