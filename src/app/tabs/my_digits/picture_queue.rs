//! Dropped pictures are decoded by a small fixed pool, not a thread each: a decode may use up to
//! the image budget (256 MB, see [`crate::preprocess`]), so dropping a folder of photos must not
//! start them all at once. Pictures wait in a bounded queue; past it, a drop is refused with a
//! message (the user drops them again later).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use crate::preprocess::{load_image, preprocess_image};

use crate::app::AppEvent;
use crate::app::format::file_name;
use crate::app::jobs::runner::{Emitter, lower_priority};
use crate::app::tabs::my_digits::MyDigitsEvent;

/// Pictures decoded at once.
pub const PICTURE_DECODERS: usize = 2;
/// Pictures that may wait for a decoder; more are refused.
pub const PICTURES_WAITING: usize = 64;

/// The decoders' queue. Dropping it lets them finish what waits, then end.
pub struct PictureQueue {
    tx: SyncSender<PathBuf>,
    counts: Arc<DecodeCounts>,
}

/// Decodes running now and the most ever running at once (for tests and curiosity).
#[derive(Default)]
struct DecodeCounts {
    running: AtomicUsize,
    peak: AtomicUsize,
}

impl PictureQueue {
    /// Starts the decoder threads; each picture read is sent to the UI as
    /// [`MyDigitsEvent::PictureRead`].
    pub fn start(out: &Emitter<AppEvent>) -> PictureQueue {
        let (tx, rx) = sync_channel::<PathBuf>(PICTURES_WAITING);
        let rx = Arc::new(Mutex::new(rx));
        let counts = Arc::new(DecodeCounts::default());
        for _ in 0..PICTURE_DECODERS {
            let (rx, out, counts) = (rx.clone(), out.clone(), counts.clone());
            std::thread::spawn(move || decoder(&rx, &out, &counts));
        }
        PictureQueue { tx, counts }
    }

    /// Queues `path`; when the queue is full it is refused and given back.
    pub fn submit(&self, path: PathBuf) -> Result<(), PathBuf> {
        self.tx.try_send(path).map_err(|e| match e {
            TrySendError::Full(path) | TrySendError::Disconnected(path) => path,
        })
    }

    /// The most decodes that ran at once so far.
    pub fn peak(&self) -> usize {
        self.counts.peak.load(Ordering::SeqCst)
    }
}

fn decoder(rx: &Mutex<Receiver<PathBuf>>, out: &Emitter<AppEvent>, counts: &DecodeCounts) {
    lower_priority();
    loop {
        // The lock is held only while waiting for the next picture, not while decoding it.
        let next = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(path) = next else { return };
        let now = counts.running.fetch_add(1, Ordering::SeqCst) + 1;
        counts.peak.fetch_max(now, Ordering::SeqCst);
        let result = catch_unwind(AssertUnwindSafe(|| {
            load_image(&path)
                .and_then(|picture| preprocess_image(&picture))
                .map_err(|e| e.to_string())
        }))
        .unwrap_or_else(|_| Err("reading this picture failed (a bug); it was skipped".into()));
        counts.running.fetch_sub(1, Ordering::SeqCst);
        out.send(MyDigitsEvent::PictureRead {
            name: file_name(&path),
            result,
        });
    }
}
