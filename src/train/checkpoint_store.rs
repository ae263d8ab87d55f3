//! A session's checkpoints, kept in memory within a count per run and a byte budget over all
//! runs, thinned evenly when either is exceeded:
//! - [`RunCheckpoints`]: one run's list, thinned to every 2^k-th of its arrivals (so the plan's
//!   spacing, dense at first then even, is kept at a coarser stride);
//! - [`fit_budget`]: thins the runs holding the most bytes until all fit a budget;
//! - [`CheckpointStore`]: both, over runs named by an id (the app keeps the lists in its own
//!   run records and calls the two pieces above).

use std::ops::Deref;
use std::sync::Arc;

use super::checkpoint::Checkpoint;

/// Bytes of checkpoints kept over all runs by default.
pub const DEFAULT_BUDGET: usize = 256 << 20;
/// Checkpoints kept per run by a large network; a small one keeps more ([`max_per_run`]).
pub const MIN_PER_RUN: usize = 64;
/// Checkpoints kept per run at most, however small the network.
pub const MAX_PER_RUN: usize = 1024;

/// How many checkpoints of `bytes` each a run keeps: 64, or as many as fit in a sixteenth of
/// `budget` for small networks (the notebook's 784-10-10 keeps 1,024 in 256 MB), up to 1,024.
pub fn max_per_run(bytes: usize, budget: usize) -> usize {
    (budget / 16 / bytes.max(1)).clamp(MIN_PER_RUN, MAX_PER_RUN)
}

/// One run's checkpoints, ascending by step. `C` is a checkpoint or a caller's wrapper of one
/// (the app adds the version its views cache on). Derefs to the kept checkpoints.
#[derive(Clone, Debug)]
pub struct RunCheckpoints<C> {
    kept: Vec<C>,
    /// Each kept checkpoint's arrival number: thinning keeps the arrivals on the current
    /// stride, so that the kept ones stay evenly spread over the run's plan, before and after
    /// a thinning.
    arrivals: Vec<usize>,
    next_arrival: usize,
    /// Keeps arrivals that are multiples of this (a power of two), the latest, and those the
    /// caller asks to keep.
    stride: usize,
}

impl<C> Default for RunCheckpoints<C> {
    fn default() -> Self {
        RunCheckpoints {
            kept: Vec::new(),
            arrivals: Vec::new(),
            next_arrival: 0,
            stride: 1,
        }
    }
}

impl<C> Deref for RunCheckpoints<C> {
    type Target = [C];
    fn deref(&self) -> &[C] {
        &self.kept
    }
}

impl<'a, C> IntoIterator for &'a RunCheckpoints<C> {
    type Item = &'a C;
    type IntoIter = std::slice::Iter<'a, C>;
    fn into_iter(self) -> Self::IntoIter {
        self.kept.iter()
    }
}

impl<C: AsRef<Checkpoint>> RunCheckpoints<C> {
    /// Bytes the kept checkpoints hold.
    pub fn bytes(&self) -> usize {
        self.kept.iter().map(|c| c.as_ref().approx_bytes()).sum()
    }

    /// Adds `checkpoint` as the latest, then thins to at most `limit` (never dropping the first,
    /// the latest or one `keep` holds to). One at the latest's step replaces it; one before it
    /// starts the list afresh (a run restarted). Returns the checkpoints dropped.
    pub fn push(&mut self, checkpoint: C, limit: usize, keep: impl Fn(&C) -> bool) -> Vec<C> {
        let step = checkpoint.as_ref().step;
        let mut dropped = Vec::new();
        match self.kept.last().map(|c| c.as_ref().step) {
            Some(last) if last == step => {
                dropped.push(std::mem::replace(self.kept.last_mut().expect("not empty"), checkpoint));
                return dropped;
            }
            Some(last) if last > step => dropped.append(&mut std::mem::take(self).kept),
            _ => {}
        }
        // The latest was kept only for being the latest: a newer one replaces it.
        if let (Some(&arrival), Some(last)) = (self.arrivals.last(), self.kept.last())
            && arrival % self.stride != 0
            && !keep(last)
        {
            self.arrivals.pop();
            dropped.extend(self.kept.pop());
        }
        self.kept.push(checkpoint);
        self.arrivals.push(self.next_arrival);
        self.next_arrival += 1;
        while self.kept.len() > limit {
            let gone = self.thin(&keep);
            if gone.is_empty() {
                break;
            }
            dropped.extend(gone);
        }
        dropped
    }

    /// Doubles the stride until some checkpoint goes (never the first, the latest or one `keep`
    /// holds to), and returns those that went: none when nothing else is left.
    pub fn thin(&mut self, keep: impl Fn(&C) -> bool) -> Vec<C> {
        let last = self.kept.len().saturating_sub(1);
        let stays = |i: usize, c: &C| i == 0 || i == last || keep(c);
        if self.kept.iter().enumerate().all(|(i, c)| stays(i, c)) {
            return Vec::new();
        }
        loop {
            self.stride *= 2;
            let mut dropped = Vec::new();
            let (kept, arrivals) = (std::mem::take(&mut self.kept), std::mem::take(&mut self.arrivals));
            for (i, (c, arrival)) in kept.into_iter().zip(arrivals).enumerate() {
                if arrival % self.stride == 0 || stays(i, &c) {
                    self.kept.push(c);
                    self.arrivals.push(arrival);
                } else {
                    dropped.push(c);
                }
            }
            if !dropped.is_empty() {
                return dropped;
            }
        }
    }

    /// The latest checkpoint at or before `step` (the one a timeline at `step` shows).
    pub fn at_or_before(&self, step: usize) -> Option<&C> {
        let i = self.kept.partition_point(|c| c.as_ref().step <= step);
        i.checked_sub(1).map(|i| &self.kept[i])
    }

    /// The steps kept, ascending.
    pub fn steps(&self) -> Vec<usize> {
        self.kept.iter().map(|c| c.as_ref().step).collect()
    }
}

/// Thins the runs holding the most bytes, one thinning at a time, until all of `runs` fit
/// `budget` (or nothing is left to drop: every run down to its first and latest and those
/// `keep` holds to). Returns the checkpoints dropped.
pub fn fit_budget<'a, C: AsRef<Checkpoint> + 'a>(
    runs: impl IntoIterator<Item = &'a mut RunCheckpoints<C>>,
    budget: usize,
    keep: impl Fn(&C) -> bool,
) -> Vec<C> {
    let mut runs: Vec<&mut RunCheckpoints<C>> = runs.into_iter().collect();
    let mut bytes: Vec<usize> = runs.iter().map(|r| r.bytes()).collect();
    let mut dropped = Vec::new();
    // Runs with nothing left to drop step aside.
    let mut done = vec![false; runs.len()];
    while bytes.iter().sum::<usize>() > budget {
        // The run holding the most bytes gives way first.
        let Some(i) = (0..runs.len()).filter(|&i| !done[i]).max_by_key(|&i| bytes[i]) else {
            break;
        };
        let gone = runs[i].thin(&keep);
        if gone.is_empty() {
            done[i] = true;
        }
        bytes[i] -= gone.iter().map(|c| c.as_ref().approx_bytes()).sum::<usize>();
        dropped.extend(gone);
    }
    dropped
}

/// The checkpoints of a session's runs, each run named by the caller's id.
#[derive(Debug)]
pub struct CheckpointStore {
    budget: usize,
    runs: Vec<(u64, RunCheckpoints<Arc<Checkpoint>>)>,
}

impl Default for CheckpointStore {
    fn default() -> Self {
        CheckpointStore::new(DEFAULT_BUDGET)
    }
}

impl CheckpointStore {
    /// A store keeping at most `budget` bytes of checkpoints over all runs.
    pub fn new(budget: usize) -> CheckpointStore {
        CheckpointStore {
            budget,
            runs: Vec::new(),
        }
    }

    /// The byte budget over all runs.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// Adds `checkpoint` (the latest) to `run`, then thins that run to its count
    /// ([`max_per_run`]) and the largest runs until all fit the budget. The first and latest
    /// checkpoint of every run are always kept. A checkpoint whose step is before the run's
    /// latest starts the run's list afresh (a run restarted under the same id).
    pub fn insert(&mut self, run: u64, checkpoint: Arc<Checkpoint>) {
        let index = match self.runs.iter().position(|(id, _)| *id == run) {
            Some(i) => i,
            None => {
                self.runs.push((run, RunCheckpoints::default()));
                self.runs.len() - 1
            }
        };
        let limit = max_per_run(checkpoint.approx_bytes(), self.budget);
        self.runs[index].1.push(checkpoint, limit, |_| false);
        fit_budget(self.runs.iter_mut().map(|(_, r)| r), self.budget, |_| false);
    }

    /// `run`'s checkpoints, ascending by step (empty for an unknown run).
    pub fn checkpoints(&self, run: u64) -> &[Arc<Checkpoint>] {
        self.runs.iter().find(|(id, _)| *id == run).map_or(&[], |(_, r)| &r[..])
    }

    /// The steps of `run`'s checkpoints, ascending.
    pub fn steps(&self, run: u64) -> Vec<usize> {
        self.checkpoints(run).iter().map(|c| c.step).collect()
    }

    /// `run`'s latest checkpoint at or before `step` (the one a timeline at `step` shows).
    pub fn at_or_before(&self, run: u64, step: usize) -> Option<Arc<Checkpoint>> {
        let (_, r) = self.runs.iter().find(|(id, _)| *id == run)?;
        r.at_or_before(step).cloned()
    }

    /// Forgets `run`'s checkpoints.
    pub fn remove_run(&mut self, run: u64) {
        self.runs.retain(|(id, _)| *id != run);
    }

    /// The ids of the runs held, in the order first seen.
    pub fn runs(&self) -> Vec<u64> {
        self.runs.iter().map(|(id, _)| *id).collect()
    }

    /// Bytes held over all runs.
    pub fn total_bytes(&self) -> usize {
        self.runs.iter().map(|(_, r)| r.bytes()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{Init, Mlp};
    use crate::train::{DataLayout, OptimizerState, RunPosition, StatsRecord, TrainConfig};

    /// A checkpoint at `step` of a network of `[inputs, outputs]` (4 * (inputs + 1) * outputs
    /// bytes of parameters plus 1 KB).
    fn checkpoint(step: usize, sizes: &[usize]) -> Arc<Checkpoint> {
        let model = Mlp::new(sizes, Init::Uniform, 0);
        Arc::new(Checkpoint {
            step,
            total_steps: 10_000,
            optimizer: OptimizerState::new(&model).compact(crate::train::Optimizer::Gd),
            model: Arc::new(model),
            position: RunPosition {
                shuffles: 0,
                base_alpha: 0.1,
                first_loss: None,
                since_report: StatsRecord::default(),
                last_stats: StatsRecord::default(),
                elapsed: std::time::Duration::ZERO,
            },
            config: TrainConfig::default(),
            data: DataLayout {
                train_rows: 0,
                dev_rows: 0,
                pixels: 4,
                fingerprint: 0,
            },
        })
    }

    fn gaps(steps: &[usize]) -> Vec<usize> {
        steps.windows(2).map(|w| w[1] - w[0]).collect()
    }

    #[test]
    fn a_run_keeps_its_count_evenly_with_first_and_latest() {
        // 40 KB each: 64 per run in a budget of 16 * 64 * 40 KB or less.
        let sizes = [1000, 10];
        let mut store = CheckpointStore::new(16 * 64 * 40_000);
        for k in 0..=300 {
            store.insert(7, checkpoint(k * 10, &sizes));
            let steps = store.steps(7);
            assert!(steps.len() <= 64, "{} kept after {k}", steps.len());
            assert_eq!(steps[0], 0);
            assert_eq!(*steps.last().unwrap(), k * 10, "the latest is kept");
            // Even: one gap (the stride) but for the one into the latest, which is shorter.
            let gaps = gaps(&steps);
            if gaps.len() > 1 {
                let body = &gaps[..gaps.len() - 1];
                assert!(body.iter().all(|&g| g == body[0]), "uneven after {k}: {steps:?}");
                assert!(*gaps.last().unwrap() <= body[0]);
            }
        }
        assert!(store.steps(7).len() >= 32, "thinned no further than needed");
        assert!(store.total_bytes() <= store.budget());
    }

    #[test]
    fn thinning_keeps_the_budget_over_all_runs() {
        let (big, small) = ([1000, 100], [100, 10]); // about 400 KB and 4 KB each
        let bytes = checkpoint(0, &big).approx_bytes();
        let budget = 30 * bytes;
        let mut store = CheckpointStore::new(budget);
        for k in 0..200 {
            store.insert(1, checkpoint(k, &big));
            store.insert(2, checkpoint(k, &small));
            assert!(
                store.total_bytes() <= budget,
                "{} > {budget} at {k}",
                store.total_bytes()
            );
        }
        let (a, b) = (store.steps(1), store.steps(2));
        assert!(a.len() >= 8 && a.len() <= 30, "{a:?}");
        assert_eq!((a[0], *a.last().unwrap()), (0, 199));
        // The small network keeps more than 64: a sixteenth of the budget holds many of them.
        assert_eq!(max_per_run(checkpoint(0, &small).approx_bytes(), budget), 148);
        assert!(b.len() > 64, "{} kept", b.len());
        assert_eq!((b[0], *b.last().unwrap()), (0, 199));
        // Lookups for the timeline.
        assert_eq!(store.at_or_before(1, 199).unwrap().step, 199);
        let before = store.at_or_before(1, 100).unwrap().step;
        assert!(before <= 100 && a.contains(&before));
        assert!(store.at_or_before(3, 5).is_none());
        store.remove_run(1);
        assert_eq!(store.runs(), vec![2]);
        // A run restarted under the same id starts its list again.
        store.insert(2, checkpoint(0, &small));
        assert_eq!(store.steps(2), vec![0]);
    }

    #[test]
    fn a_checkpoint_held_to_survives_thinning_and_the_budget() {
        let sizes = [1000, 10];
        let each = checkpoint(0, &sizes).approx_bytes();
        let (mut a, mut b) = (RunCheckpoints::default(), RunCheckpoints::default());
        // Run a holds on to its step 37 (the app's timeline shows it).
        let held = checkpoint(37, &sizes);
        let keep = |c: &Arc<Checkpoint>| Arc::ptr_eq(c, &held);
        for step in 0..=100 {
            let mine = if step == 37 {
                held.clone()
            } else {
                checkpoint(step, &sizes)
            };
            let dropped = a.push(mine, 64, keep);
            assert!(dropped.iter().all(|c| c.step != 37));
            b.push(checkpoint(step, &sizes), 64, keep);
        }
        assert!(a.len() <= 64 && a.len() > 32, "count kept: {:?}", a.steps());
        assert!(a.steps().contains(&37), "{:?}", a.steps());
        let budget = 40 * each;
        let before = a.len() + b.len();
        let dropped = fit_budget([&mut a, &mut b], budget, keep);
        assert!(a.bytes() + b.bytes() <= budget, "{} > {budget}", a.bytes() + b.bytes());
        assert_eq!(dropped.len(), before - a.len() - b.len());
        for run in [&a, &b] {
            let steps = run.steps();
            assert_eq!((steps[0], *steps.last().unwrap()), (0, 100));
            assert!(steps.len() >= 10, "both runs keep a share: {steps:?}");
        }
        assert!(a.steps().contains(&37));
        assert_eq!(a.at_or_before(39).unwrap().step, 37);
        // A budget nothing fits: the first, the latest and the one held to stay, and it ends.
        fit_budget([&mut a, &mut b], 0, keep);
        assert_eq!((a.steps(), b.steps()), (vec![0, 37, 100], vec![0, 100]));
        // Unheld, it goes at the next thinning.
        assert_eq!(a.thin(|_| false).len(), 1);
        assert_eq!(a.steps(), vec![0, 100]);
        // The latest's step again replaces it.
        let replaced = a.push(checkpoint(100, &[1000, 10]), 64, |_| false);
        assert_eq!((replaced.len(), a.len()), (1, 2));
    }
}
