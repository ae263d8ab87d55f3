//! My digits' saver: one thread writes the latest version after every change (edits in quick
//! succession cost one write, and each write is atomic), and the app waits for it, with a bound,
//! before it exits, so the last edit is on disk when the process ends.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::my_digits::MyDigits;

use crate::app::AppEvent;
use crate::app::jobs::runner::{Emitter, lower_priority};
use crate::app::tabs::my_digits::MyDigitsEvent;

/// How long the app waits at exit for the last save (a save of thousands of digits takes well
/// under a second; a hung disk should not hold the process forever).
pub const EXIT_SAVE_WAIT: Duration = Duration::from_secs(5);

/// The saving thread's handle. Versions count the changes sent: `saved` catches up with `sent`.
pub struct Saver {
    /// None once [`Saver::finish`] was called.
    tx: Option<Sender<(u64, MyDigits)>>,
    sent: u64,
    saved: Arc<AtomicU64>,
    /// The last save's error, if it failed.
    failure: Arc<Mutex<Option<String>>>,
    /// Disconnected when the thread has ended (its sender is dropped then, even on a panic).
    ended: Receiver<()>,
    path: PathBuf,
}

impl Saver {
    /// Starts the thread that saves to `path`; failures are also reported to the UI.
    pub fn start(path: PathBuf, out: Emitter<AppEvent>) -> Saver {
        let (tx, rx) = channel::<(u64, MyDigits)>();
        let (ended_tx, ended) = channel::<()>();
        let saved = Arc::new(AtomicU64::new(0));
        let failure = Arc::new(Mutex::new(None));
        let (thread_saved, thread_failure, thread_path) = (saved.clone(), failure.clone(), path.clone());
        std::thread::spawn(move || {
            let _ended = ended_tx;
            lower_priority();
            while let Ok(mut latest) = rx.recv() {
                while let Ok(newer) = rx.try_recv() {
                    latest = newer;
                }
                let (version, digits) = latest;
                let result = digits
                    .save(&thread_path)
                    .map_err(|e| format!("My digits could not be saved to {}: {e}", thread_path.display()));
                if let Ok(mut failure) = thread_failure.lock() {
                    *failure = result.as_ref().err().cloned();
                }
                match result {
                    Ok(()) => thread_saved.store(version, Ordering::SeqCst),
                    Err(message) => out.send(MyDigitsEvent::SaveFailed(message)),
                }
            }
        });
        Saver {
            tx: Some(tx),
            sent: 0,
            saved,
            failure,
            ended,
            path,
        }
    }

    /// Saves `digits` (soon, on the thread).
    pub fn save(&mut self, digits: MyDigits) {
        if let Some(tx) = &self.tx {
            self.sent += 1;
            let _ = tx.send((self.sent, digits));
        }
    }

    /// Some change is not on disk yet (being saved, or its save failed).
    pub fn pending(&self) -> bool {
        self.saved.load(Ordering::SeqCst) < self.sent
    }

    /// The last save failed (a later one may still succeed), or the thread is gone (a bug):
    /// waiting for it is pointless.
    pub fn failed(&self) -> bool {
        let gone = self.tx.is_some() && matches!(self.ended.try_recv(), Err(TryRecvError::Disconnected));
        gone || self.failure.lock().is_ok_and(|f| f.is_some())
    }

    /// Lets the thread save what it was sent and end, waiting at most `bound`. The error says
    /// what is not on disk. Later changes are not saved.
    pub fn finish(&mut self, bound: Duration) -> Result<(), String> {
        self.tx = None;
        if let Err(RecvTimeoutError::Timeout) = self.ended.recv_timeout(bound) {
            return Err(format!(
                "My digits were still being saved to {} after {} s: the last changes may be lost",
                self.path.display(),
                bound.as_secs_f32()
            ));
        }
        if !self.pending() {
            return Ok(());
        }
        let failure = self.failure.lock().ok().and_then(|f| f.clone());
        Err(format!(
            "{}: the last changes to My digits are not saved",
            failure.unwrap_or_else(|| format!("My digits could not be saved to {}", self.path.display()))
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{AppEvent, Worker};

    fn digits(n: usize) -> MyDigits {
        let mut digits = MyDigits::default();
        for i in 0..n {
            let mut image = [0u8; crate::data::PIXELS];
            image[i % image.len()] = 255;
            digits.push((i % 10) as u8, &image).unwrap();
        }
        digits
    }

    #[test]
    fn finish_waits_for_the_last_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("my_digits.csv");
        let worker = Worker::new(egui::Context::default());
        let mut saver = Saver::start(path.clone(), worker.emitter());
        for n in [1000, 2000, 3000] {
            saver.save(digits(n));
        }
        saver.finish(EXIT_SAVE_WAIT).unwrap();
        assert!(!saver.pending());
        assert_eq!(MyDigits::load(&path).unwrap().len(), 3000);
        // Finished: later changes are not saved (the app is closing).
        saver.save(digits(1));
        assert_eq!(MyDigits::load(&path).unwrap().len(), 3000);
    }

    #[test]
    fn a_save_that_fails_is_reported_by_finish() {
        let dir = tempfile::tempdir().unwrap();
        // A file where the folder should be: every save fails.
        std::fs::write(dir.path().join("data"), "not a folder").unwrap();
        let path = dir.path().join("data").join("my_digits.csv");
        let worker = Worker::new(egui::Context::default());
        let mut saver = Saver::start(path, worker.emitter());
        saver.save(digits(2));
        let why = saver.finish(EXIT_SAVE_WAIT).unwrap_err();
        assert!(
            why.contains("could not be saved") && why.contains("the last changes to My digits are not saved"),
            "{why}"
        );
        assert!(saver.failed() && saver.pending());
        // The UI heard of it too.
        let events = worker.drain();
        assert!(
            events
                .iter()
                .any(|e| matches!(e, AppEvent::MyDigits(MyDigitsEvent::SaveFailed(_))))
        );
    }
}
