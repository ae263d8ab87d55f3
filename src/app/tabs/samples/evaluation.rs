//! Predicting the dev set off the UI thread: with the current model whenever it or the dev set
//! changes, and with a run's latest snapshot while the Samples tab shows them (one at a time:
//! a slow machine skips snapshots instead of queueing them).

use std::sync::Arc;

use crate::data::Split;
use crate::evaluate::{self, Evaluation};
use crate::network::{Mlp, argmax};

use crate::app::jobs::runner::lower_priority;
use crate::app::tabs::Tab;
use crate::app::version::Version;
use crate::app::{App, Job, Worker};

/// Predictions of a model on the dev set: the current model's, or a training run's snapshot.
#[derive(Clone, Debug)]
pub struct EvalResult {
    /// `(rows)` probabilities, one per class of the model.
    pub probs: Vec<Vec<f32>>,
    pub predictions: Vec<u8>,
    pub evaluation: Evaluation,
    /// Whose predictions these are ("run #3, step 1,200 of 6,420", or the model's name).
    pub caption: String,
    /// From a snapshot of a run in progress (not the current model).
    pub live: bool,
}

impl EvalResult {
    /// Memory held: per row its probabilities (with their `Vec`'s header and allocation) and
    /// its prediction.
    pub fn approx_bytes(&self) -> usize {
        let per_row = self.probs.first().map_or(0, |p| 4 * p.len() + 40) + 1;
        self.probs.len() * per_row + self.caption.len() + 256
    }
}

/// Which predictions these are: of which model, for which current model and dev set. Results
/// for a model or dev set replaced since are dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EvalKey {
    /// The model predicted (the current model, or a run's snapshot).
    pub predicted: Version,
    /// The current model and dev set when they were asked for.
    pub base: (Option<Version>, Option<Version>),
}

/// A finished prediction of the dev set.
pub struct Evaluated {
    pub key: EvalKey,
    pub eval: EvalResult,
}

/// The dev set's predictions: those shown, and those under way.
#[derive(Default)]
pub struct Evaluations {
    /// The dev set's predictions by the model shown: the current model's, or while a run
    /// trains, its latest snapshot's.
    pub shown: Option<EvalResult>,
    /// The models (by version) being predicted now: a snapshot waits until none is.
    in_flight: Vec<Version>,
    /// The latest snapshot asked for: a newer one is wanted.
    live_asked: Option<Version>,
}

impl Evaluations {
    /// An evaluation job crashed: it is no longer under way.
    pub fn crashed(&mut self) {
        self.in_flight.pop();
    }
}

/// Whether someone waits for a prediction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Urgency {
    /// The views wait for it (a timeline move, a new model): on every core, at the normal
    /// priority. A move back in time while `best` trained took 400-690 ms at the low priority,
    /// behind the training threads.
    Waited,
    /// Ahead of the user or a live snapshot's: on one core, at a low priority, so that the
    /// training and the UI keep theirs.
    Background,
}

impl Worker {
    /// Predicts the dev set (small: not shown as a task). `caption` and `live` are passed
    /// through to the [`EvalResult`].
    pub fn evaluate(
        &self,
        key: EvalKey,
        model: Arc<Mlp>,
        split: Arc<Split>,
        caption: String,
        live: bool,
        urgency: Urgency,
    ) {
        self.spawn(Job::Evaluate, None, move |out, fault| {
            let threads = match urgency {
                Urgency::Waited => std::thread::available_parallelism().map_or(1, |n| n.get()),
                Urgency::Background => {
                    lower_priority();
                    1
                }
            };
            fault.point();
            let dev = &split.dev;
            let mut probs = Vec::with_capacity(dev.rows());
            let mut predictions = Vec::with_capacity(dev.rows());
            for proba in predict_in_parts(&model, &dev.pixels, threads) {
                for row in proba.rows() {
                    let p = row.to_vec();
                    predictions.push(argmax(&p) as u8);
                    probs.push(p);
                }
            }
            let evaluation = evaluate::Evaluation::from_predictions(&predictions, &dev.labels);
            out.send(Evaluated {
                key,
                eval: EvalResult {
                    probs,
                    predictions,
                    evaluation,
                    caption,
                    live,
                },
            });
        });
    }
}

/// [`Mlp::predict_proba`] of `pixels` in up to `threads` parts of whole chunks, each on a thread
/// of its own (started here, so they have this thread's priority; not rayon's pool, whose
/// threads have the priority of whoever first used it): the same values as one call (a chunk is
/// computed alone either way), in part order.
fn predict_in_parts(model: &Mlp, pixels: &[u8], threads: usize) -> Vec<ndarray::Array2<f32>> {
    let chunk = (Mlp::PREDICT_CHUNK * model.inputs()).max(1);
    let part = pixels.len().div_ceil(chunk).div_ceil(threads.max(1)).max(1) * chunk;
    let parts: Vec<&[u8]> = pixels.chunks(part).collect();
    let Some((first, rest)) = parts.split_first() else {
        return vec![model.predict_proba(pixels)];
    };
    std::thread::scope(|scope| {
        let others: Vec<_> = rest
            .iter()
            .map(|p| scope.spawn(move || model.predict_proba(p)))
            .collect();
        let mut all = vec![model.predict_proba(first)];
        for other in others {
            all.push(other.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
        }
        all
    })
}

impl App {
    /// The model or the dev set changed: predict the dev set again.
    pub(crate) fn changed(&mut self) {
        self.session.evals.shown = None;
        self.model_replaced();
    }

    /// A new model for the same dev set: predict it again, showing the predictions before it
    /// until the new ones arrive (at the end of a run, those of its last snapshot).
    pub(crate) fn model_replaced(&mut self) {
        if let (Some(model), Some(data)) = (&self.session.model, &self.session.data)
            && data.split.dev.rows() > 0
        {
            // A model of another data set (28x28 digits with 32x32 data loaded): no predictions.
            if let Some(problem) = self.fit_problem() {
                self.messages.notice = Some(match self.messages.notice.take() {
                    Some(notice) => format!("{notice} · {problem}"),
                    None => problem,
                });
                return;
            }
            let key = EvalKey {
                predicted: model.version,
                base: self.session.eval_base(),
            };
            self.session.evals.in_flight.push(key.predicted);
            self.jobs.runner.evaluate(
                key,
                model.model.clone(),
                data.split.clone(),
                model.name.clone(),
                false,
                Urgency::Waited,
            );
        }
    }

    /// Predicts the dev set with the run's latest snapshot, off the UI thread, when the Samples
    /// tab shows them and no prediction is under way. Called when a snapshot arrives and before
    /// every frame: a snapshot not predicted yet waits for the running prediction, and only the
    /// latest waits, so a slow machine skips snapshots instead of queueing them.
    pub(crate) fn evaluate_live(&mut self) {
        let (Some(run), Some(data)) = (&self.training.run, &self.session.data) else {
            return;
        };
        let Some(snapshot) = &run.live else { return };
        let evals = &mut self.session.evals;
        // Only the Samples tab shows them: elsewhere the training keeps the CPU.
        if data.split.dev.rows() == 0
            || evals.live_asked == Some(run.live_version)
            || !evals.in_flight.is_empty()
            || self.settings.tab != Tab::Samples
        {
            return;
        }
        let key = EvalKey {
            predicted: run.live_version,
            base: self.session.eval_base(),
        };
        let evals = &mut self.session.evals;
        evals.live_asked = Some(key.predicted);
        evals.in_flight.push(key.predicted);
        self.jobs.runner.evaluate(
            key,
            snapshot.model.clone(),
            data.split.clone(),
            run.caption(),
            true,
            Urgency::Background,
        );
    }

    pub(crate) fn evaluated(&mut self, Evaluated { key, eval }: Evaluated) {
        let base = self.session.eval_base();
        let evals = &mut self.session.evals;
        if let Some(i) = evals.in_flight.iter().position(|v| *v == key.predicted) {
            evals.in_flight.remove(i);
        }
        // Predictions of a model or dev set replaced since are dropped, a snapshot's once its
        // run has ended, and while a run trains the model from before does not replace a
        // snapshot's.
        let training = self.training.run.is_some();
        let current = key.base == base && (training || !eval.live);
        let replaces_live = training && !eval.live && evals.shown.as_ref().is_some_and(|e| e.live);
        if current && !replaces_live {
            evals.shown = Some(eval);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Init;

    #[test]
    fn predicting_in_parts_gives_the_same_bits_as_one_call() {
        let data = crate::embedded::sample().unwrap();
        let model = Mlp::new(&[784, 64, 32, 10], Init::He, 3);
        // 700 rows: two whole chunks and a partial one.
        let pixels = &data.pixels[..700 * 784];
        let whole: Vec<f32> = model.predict_proba(pixels).iter().copied().collect();
        for (threads, parts) in [(1, 1), (2, 2), (3, 3), (8, 3)] {
            let got = predict_in_parts(&model, pixels, threads);
            assert_eq!(got.len(), parts, "{threads} threads");
            let rows: Vec<f32> = got.iter().flat_map(|p| p.iter().copied()).collect();
            assert_eq!(rows, whole, "{threads} threads");
        }
        assert_eq!(predict_in_parts(&model, &[], 2)[0].nrows(), 0);
    }
}
