//! [`CheckpointStore`]: a session's checkpoints, kept in memory within a count per run and a
//! byte budget over all runs, thinned evenly when either is exceeded.

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

/// One run's checkpoints, ascending by step.
#[derive(Debug, Default)]
struct RunCheckpoints {
    /// Each with its arrival number: thinning keeps the arrivals on the current stride, so that
    /// the kept ones stay evenly spread over the run's plan, before and after a thinning.
    kept: Vec<(usize, Arc<Checkpoint>)>,
    arrivals: usize,
    /// Keeps arrivals that are multiples of this (a power of two), and always the latest.
    stride: usize,
}

impl RunCheckpoints {
    fn bytes(&self) -> usize {
        self.kept.iter().map(|(_, c)| c.approx_bytes()).sum()
    }

    fn push(&mut self, checkpoint: Arc<Checkpoint>) {
        // The latest was kept only for being the latest: a newer one replaces it.
        if let Some((arrival, _)) = self.kept.last()
            && arrival % self.stride != 0
        {
            self.kept.pop();
        }
        self.kept.push((self.arrivals, checkpoint));
        self.arrivals += 1;
    }

    /// Drops every other checkpoint, keeping the first and the latest. False when there is
    /// nothing left to drop.
    fn thin(&mut self) -> bool {
        if self.kept.len() <= 2 {
            return false;
        }
        self.stride *= 2;
        let (stride, last) = (self.stride, self.kept.len() - 1);
        let mut i = 0;
        self.kept.retain(|(arrival, _)| {
            i += 1;
            arrival % stride == 0 || i - 1 == last
        });
        true
    }
}

/// The checkpoints of a session's runs, each run named by the caller's id.
#[derive(Debug)]
pub struct CheckpointStore {
    budget: usize,
    runs: Vec<(u64, RunCheckpoints)>,
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
    /// checkpoint of every run are always kept. A checkpoint whose step is not after the run's
    /// latest starts the run's list afresh (a run restarted under the same id).
    pub fn insert(&mut self, run: u64, checkpoint: Arc<Checkpoint>) {
        let index = match self.runs.iter().position(|(id, _)| *id == run) {
            Some(i) => i,
            None => {
                self.runs.push((run, RunCheckpoints::default()));
                self.runs.len() - 1
            }
        };
        let list = &mut self.runs[index].1;
        if list.kept.last().is_some_and(|(_, c)| c.step >= checkpoint.step) {
            *list = RunCheckpoints::default();
        }
        list.stride = list.stride.max(1);
        let limit = max_per_run(checkpoint.approx_bytes(), self.budget);
        list.push(checkpoint);
        while list.kept.len() > limit && list.thin() {}
        while self.total_bytes() > self.budget {
            // The run holding the most bytes gives way first.
            let largest = self
                .runs
                .iter_mut()
                .filter(|(_, r)| r.kept.len() > 2)
                .max_by_key(|(_, r)| r.bytes());
            match largest {
                Some((_, r)) => {
                    r.thin();
                }
                None => break,
            }
        }
    }

    /// `run`'s checkpoints, ascending by step (empty for an unknown run).
    pub fn checkpoints(&self, run: u64) -> Vec<Arc<Checkpoint>> {
        self.runs
            .iter()
            .find(|(id, _)| *id == run)
            .map(|(_, r)| r.kept.iter().map(|(_, c)| c.clone()).collect())
            .unwrap_or_default()
    }

    /// The steps of `run`'s checkpoints, ascending.
    pub fn steps(&self, run: u64) -> Vec<usize> {
        self.checkpoints(run).iter().map(|c| c.step).collect()
    }

    /// `run`'s latest checkpoint at or before `step` (the one a timeline at `step` shows).
    pub fn at_or_before(&self, run: u64, step: usize) -> Option<Arc<Checkpoint>> {
        let (_, r) = self.runs.iter().find(|(id, _)| *id == run)?;
        r.kept
            .iter()
            .rev()
            .find(|(_, c)| c.step <= step)
            .map(|(_, c)| c.clone())
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
}
