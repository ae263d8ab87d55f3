//! [`Latest`]: a view's computation run off the UI thread, one at a time, keeping the result of
//! the latest request. For work that takes milliseconds to tens of milliseconds per request (an
//! attribution map, the dev digits a unit likes), which would cost frames on the UI thread.

use std::sync::mpsc::{Receiver, TryRecvError, channel};

/// The result of the latest request made with [`Latest::get`], computed on a worker thread.
pub struct Latest<K, T> {
    /// The key of the computation in flight or last started.
    started: Option<K>,
    in_flight: Option<Receiver<(K, T)>>,
    done: Option<(K, T)>,
}

impl<K, T> Default for Latest<K, T> {
    fn default() -> Self {
        Latest {
            started: None,
            in_flight: None,
            done: None,
        }
    }
}

impl<K: Clone + PartialEq + Send + 'static, T: Send + 'static> Latest<K, T> {
    /// The result for `key` if it is ready, else the latest one for an earlier key (None before
    /// the first), with the key it was computed for. Starts `work` on a thread when `key` was not asked for yet and nothing is in
    /// flight; a request made while another computes waits for it (the view asks again next
    /// frame), so fast-changing keys never pile up threads. A computation that panics leaves
    /// the previous result and is not retried for the same key.
    pub fn get(&mut self, ctx: &egui::Context, key: K, work: impl FnOnce() -> T + Send + 'static) -> Option<(&K, &T)> {
        self.poll();
        let current = self.done.as_ref().is_some_and(|(k, _)| *k == key);
        if !current && self.in_flight.is_none() && self.started.as_ref() != Some(&key) {
            let (tx, rx) = channel();
            let ctx = ctx.clone();
            let job_key = key.clone();
            std::thread::spawn(move || {
                // Like the worker's evaluations: a view's extra never slows training or the UI.
                crate::app::jobs::runner::lower_priority();
                let value = work();
                // The view may be gone; then nobody wants the result.
                let _ = tx.send((job_key, value));
                ctx.request_repaint();
            });
            self.started = Some(key);
            self.in_flight = Some(rx);
        }
        self.done.as_ref().map(|(k, v)| (k, v))
    }

    /// The latest result, without asking for anything.
    pub fn latest(&self) -> Option<&T> {
        self.done.as_ref().map(|(_, v)| v)
    }

    fn poll(&mut self) {
        if let Some(rx) = &self.in_flight {
            match rx.try_recv() {
                Ok(result) => {
                    self.done = Some(result);
                    self.in_flight = None;
                }
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => self.in_flight = None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    impl<K: PartialEq, T> Latest<K, T> {
        fn is_current(&self, key: &K) -> bool {
            self.done.as_ref().is_some_and(|(k, _)| k == key)
        }
    }

    fn wait(latest: &mut Latest<u32, u32>, ctx: &egui::Context, key: u32, work: fn() -> u32) -> Option<u32> {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if latest.get(ctx, key, work).is_some() && latest.is_current(&key) {
                return latest.get(ctx, key, work).map(|(_, v)| *v);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        None
    }

    #[test]
    fn keeps_the_latest_result_and_computes_once_per_key() {
        let ctx = egui::Context::default();
        let mut latest = Latest::default();
        assert_eq!(wait(&mut latest, &ctx, 1, || 10), Some(10));
        // The same key again: the stored result, no new work (this work would give 99).
        assert_eq!(latest.get(&ctx, 1, || 99), Some((&1, &10)));
        // A new key: the old result until the new one is ready.
        assert_eq!(wait(&mut latest, &ctx, 2, || 20), Some(20));
    }

    #[test]
    fn a_panicking_computation_leaves_the_previous_result() {
        let ctx = egui::Context::default();
        let mut latest = Latest::default();
        assert_eq!(wait(&mut latest, &ctx, 1, || 10), Some(10));
        let _ = latest.get(&ctx, 2, || panic!("a bug in the view's work"));
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(latest.get(&ctx, 2, || 20), Some((&1, &10)));
        assert!(!latest.is_current(&2));
        // Another key computes again.
        assert_eq!(wait(&mut latest, &ctx, 3, || 30), Some(30));
    }
}
