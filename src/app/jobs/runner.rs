//! The job runner: runs work on its own thread, hands it an [`Emitter`] that sends the app's
//! events over one channel and wakes the UI, turns a panic into a [`Crash`] event, and keeps the
//! status bar's [`Task`]s cancellable. It knows no feature: the kinds of job `K` and the events
//! `E` are the app's, and each feature (loading, training, evaluating, saving, My digits, ...)
//! owns its own jobs and events. Tests can make a job panic or wait ([`Fault`]).

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

/// A long task shown in the status bar with a progress bar and a Cancel button.
#[derive(Debug)]
pub struct Task {
    pub id: u64,
    pub label: String,
    /// 0..=1, or None while the size is unknown.
    pub progress: Option<f32>,
    pub cancel: Arc<AtomicBool>,
    /// Whether the task checks `cancel` (saving and opening a model are too short to bother).
    pub cancellable: bool,
    pub started: Instant,
}

/// What any job reports about its status-bar task.
#[derive(Debug)]
pub enum TaskEvent {
    Progress {
        id: u64,
        fraction: f32,
    },
    /// The task ended; `notice` says what it did.
    Finished {
        id: u64,
        notice: String,
    },
    /// The task failed or was cancelled; the state before it stays.
    Failed {
        id: u64,
        message: String,
    },
}

/// A job of kind `job` panicked (a bug): nothing it was doing took effect. `task` is its
/// status-bar task.
#[derive(Debug)]
pub struct Crash<K> {
    pub job: K,
    pub task: Option<u64>,
    pub message: String,
}

/// The longest wait between a training report and its frame.
pub const TRAINING_REPAINT: Duration = Duration::from_millis(400);

/// Sends events and wakes the UI.
pub struct Emitter<E> {
    tx: Sender<E>,
    ctx: egui::Context,
}

impl<E> Clone for Emitter<E> {
    fn clone(&self) -> Self {
        Emitter {
            tx: self.tx.clone(),
            ctx: self.ctx.clone(),
        }
    }
}

impl<E> Emitter<E> {
    pub fn send(&self, event: impl Into<E>) {
        // The receiver only goes away when the app closes; nothing to do then.
        let _ = self.tx.send(event.into());
        self.ctx.request_repaint();
    }

    /// For frequent events: coalesces repaints to about 60 per second.
    pub fn send_soon(&self, event: impl Into<E>) {
        let _ = self.tx.send(event.into());
        self.ctx.request_repaint_after(Duration::from_millis(16));
    }

    /// For training progress: a repaint at most every [`TRAINING_REPAINT`]. A frame rendered
    /// in software costs 20-30 ms of CPU, taken from the two cores the training threads use
    /// (measured with bench/app_vs_cli.sh: repainting for every report made the app's `seed`
    /// run about 20% slower than the command line's; every 250 ms, 8-10%; every 400 ms, 7%, and
    /// 4.5% once the status bar stopped spinning before the first report).
    pub fn send_throttled(&self, event: impl Into<E>) {
        let _ = self.tx.send(event.into());
        self.ctx.request_repaint_after(TRAINING_REPAINT);
    }
}

/// The UI's handle on the background threads: jobs of kinds `K` report events `E`.
pub struct Runner<K, E> {
    emitter: Emitter<E>,
    rx: Receiver<E>,
    next_id: u64,
    /// The next job of this kind panics (see [`Fault`]).
    #[cfg(any(test, feature = "test-support"))]
    inject_panic: std::cell::Cell<Option<K>>,
    /// The next job of this kind waits at its first fault point until the gate opens.
    #[cfg(any(test, feature = "test-support"))]
    hold_next: std::cell::RefCell<Option<(K, Arc<JobGate>)>>,
    #[cfg(not(any(test, feature = "test-support")))]
    _kinds: std::marker::PhantomData<K>,
}

/// A point in a job where it panics when a test armed it ([`Runner::inject_panic`]). Without the
/// `test-support` feature it holds nothing and [`Fault::point`] compiles to nothing.
pub struct Fault {
    #[cfg(any(test, feature = "test-support"))]
    armed: bool,
    /// Held here until a test opens the gate (to finish jobs in the order it chooses).
    #[cfg(any(test, feature = "test-support"))]
    hold: Option<Arc<JobGate>>,
}

impl Fault {
    #[inline]
    pub fn point(&self) {
        #[cfg(any(test, feature = "test-support"))]
        {
            if let Some(gate) = &self.hold {
                gate.wait();
            }
            if self.armed {
                panic!("injected fault (test build)");
            }
        }
    }
}

/// Holds a job at its first fault point until [`JobGate::open`], so a test can make jobs
/// finish in the order it wants (a slow load that ends after a newer one).
#[cfg(any(test, feature = "test-support"))]
#[derive(Default)]
pub struct JobGate {
    open: std::sync::Mutex<bool>,
    opened: std::sync::Condvar,
}

#[cfg(any(test, feature = "test-support"))]
impl JobGate {
    pub fn open(&self) {
        *self.open.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.opened.notify_all();
    }

    fn wait(&self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        while !*open {
            open = self.opened.wait(open).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// The text of a panic payload.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".into()
    }
}

impl<K, E> Runner<K, E>
where
    K: Copy + PartialEq + Send + 'static,
    E: From<Crash<K>> + Send + 'static,
{
    pub fn new(ctx: egui::Context) -> Self {
        let (tx, rx) = channel();
        Runner {
            emitter: Emitter { tx, ctx },
            rx,
            next_id: 1,
            #[cfg(any(test, feature = "test-support"))]
            inject_panic: std::cell::Cell::new(None),
            #[cfg(any(test, feature = "test-support"))]
            hold_next: std::cell::RefCell::new(None),
            #[cfg(not(any(test, feature = "test-support")))]
            _kinds: std::marker::PhantomData,
        }
    }

    /// Makes the next job of kind `job` panic, to check that the app survives it.
    #[cfg(any(test, feature = "test-support"))]
    pub fn inject_panic(&self, job: K) {
        self.inject_panic.set(Some(job));
    }

    /// Makes the next job of kind `job` wait at its first fault point until `gate` opens.
    #[cfg(any(test, feature = "test-support"))]
    pub fn hold_next(&self, job: K, gate: Arc<JobGate>) {
        *self.hold_next.borrow_mut() = Some((job, gate));
    }

    /// A fault point for a new job of kind `job`, armed (once) by [`Runner::inject_panic`] and
    /// held (once) by [`Runner::hold_next`].
    fn fault_for(&self, job: K) -> Fault {
        #[cfg(any(test, feature = "test-support"))]
        {
            let armed = self.inject_panic.get() == Some(job);
            if armed {
                self.inject_panic.set(None);
            }
            let mut held = self.hold_next.borrow_mut();
            let hold = if held.as_ref().is_some_and(|(j, _)| *j == job) {
                held.take().map(|(_, gate)| gate)
            } else {
                None
            };
            Fault { armed, hold }
        }
        #[cfg(not(any(test, feature = "test-support")))]
        {
            let _ = job;
            Fault {}
        }
    }

    /// Runs `work` on its own thread; a panic in it is caught and reported as a [`Crash`], so
    /// the UI never waits for an event that will not come.
    pub fn spawn(&self, job: K, task: Option<u64>, work: impl FnOnce(&Emitter<E>, &Fault) + Send + 'static) {
        let out = self.emitter();
        let fault = self.fault_for(job);
        std::thread::spawn(move || {
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| work(&out, &fault))) {
                out.send(Crash {
                    job,
                    task,
                    message: panic_message(payload.as_ref()),
                });
            }
        });
    }

    pub fn emitter(&self) -> Emitter<E> {
        self.emitter.clone()
    }

    /// Events that arrived since the last call.
    pub fn drain(&self) -> Vec<E> {
        self.rx.try_iter().collect()
    }

    /// A new status-bar task (cancellable unless the caller says otherwise).
    pub fn task(&mut self, label: String) -> Task {
        let id = self.next_id;
        self.next_id += 1;
        Task {
            id,
            label,
            progress: None,
            cancel: Arc::new(AtomicBool::new(false)),
            cancellable: true,
            started: Instant::now(),
        }
    }
}

/// Lowers the calling thread's CPU priority so background work never starves the UI thread of
/// the CPU (on Linux the nice value is per thread, and threads it spawns, such as the loader's
/// parsers, inherit it). Used for loading, evaluating and exporting, not for training. Linux only:
/// elsewhere the call would lower the whole process, UI thread included.
pub fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: setpriority takes no pointers and touches no memory of ours, so any arguments
        // are sound; the types come from libc's declaration for this target. PRIO_PROCESS with
        // who = 0 names the calling thread on Linux (nice values are per thread). A failure
        // (say, a sandbox forbidding it) only leaves the priority unchanged, so the result is
        // ignored.
        unsafe {
            libc::setpriority(libc::PRIO_PROCESS, 0, 10);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Kind {
        A,
        B,
    }

    #[derive(Debug)]
    enum Event {
        Said(&'static str),
        Crashed(Crash<Kind>),
    }

    impl From<Crash<Kind>> for Event {
        fn from(crash: Crash<Kind>) -> Self {
            Event::Crashed(crash)
        }
    }

    fn wait_for_events(runner: &Runner<Kind, Event>, n: usize) -> Vec<Event> {
        let start = Instant::now();
        let mut events = Vec::new();
        while events.len() < n && start.elapsed() < Duration::from_secs(30) {
            events.extend(runner.drain());
            std::thread::sleep(Duration::from_millis(1));
        }
        events
    }

    #[test]
    fn a_panicking_job_is_reported_as_a_crash_of_its_kind() {
        let runner = Runner::<Kind, Event>::new(egui::Context::default());
        runner.spawn(Kind::A, Some(7), |out, _| out.send(Event::Said("a")));
        runner.inject_panic(Kind::B);
        runner.spawn(Kind::B, Some(8), |out, fault| {
            fault.point();
            out.send(Event::Said("b"));
        });
        let events = wait_for_events(&runner, 2);
        assert_eq!(events.len(), 2, "{events:?}");
        assert!(events.iter().any(|e| matches!(e, Event::Said("a"))));
        assert!(events.iter().any(|e| matches!(
            e,
            Event::Crashed(Crash { job: Kind::B, task: Some(8), message }) if message.contains("injected fault")
        )));
    }
}
