//! Worker threads that live for a whole training run, so a step hands them work instead of
//! starting threads: starting and joining a scoped thread took 74 µs here, and a step of
//! 784-512-256-10 on 2 threads did it twice (gradient, then update) in about 3 ms.
//!
//! [`Pool::run`] calls a job once per thread, on the calling thread and on every helper, and
//! returns when all calls have returned, which is what lets the job borrow the caller's data.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::subnormal::call_flushed;

/// A job as the helpers see it: the caller's closure with its lifetime erased. Only
/// dereferenced between [`Pool::run`]'s publishing it and all helpers reporting done.
#[derive(Clone, Copy)]
struct JobPtr(*const (dyn Fn(usize) + Sync));

// SAFETY: the pointee is `Sync` (so callable from any thread), and `Pool::run` keeps it alive
// until every helper has finished calling it.
unsafe impl Send for JobPtr {}

struct Shared {
    /// Bumped once per job; helpers run each generation once.
    generation: AtomicU64,
    /// Helpers still running the current job.
    running: AtomicUsize,
    state: Mutex<State>,
    /// Wakes helpers for a new job or for shutdown.
    start: Condvar,
    /// Wakes the caller when the last helper finishes.
    done: Condvar,
}

struct State {
    job: Option<JobPtr>,
    shutdown: bool,
    /// A helper's panic, passed on to the caller.
    panic: Option<Box<dyn std::any::Any + Send>>,
}

/// How long a helper spins for the next job before sleeping: steps follow each other within
/// microseconds while training, and waking a sleeping thread costs tens of them.
const SPIN: Duration = Duration::from_micros(200);

/// `helpers` threads besides the caller's. Public only for [`Pool::run`]'s doctests (through
/// `train::__pool_for_doctest`); the training code is its only user.
pub struct Pool {
    shared: Arc<Shared>,
    handles: Vec<JoinHandle<()>>,
}

impl Pool {
    pub fn new(helpers: usize) -> Pool {
        let shared = Arc::new(Shared {
            generation: AtomicU64::new(0),
            running: AtomicUsize::new(0),
            state: Mutex::new(State {
                job: None,
                shutdown: false,
                panic: None,
            }),
            start: Condvar::new(),
            done: Condvar::new(),
        });
        let handles = (0..helpers)
            .map(|h| {
                let shared = Arc::clone(&shared);
                std::thread::Builder::new()
                    .name(format!("train-{}", h + 1))
                    .spawn(move || helper(&shared, h + 1))
                    .expect("starting a training thread")
            })
            .collect();
        Pool { shared, handles }
    }

    /// Threads a job runs on: the caller and the helpers.
    pub fn threads(&self) -> usize {
        self.handles.len() + 1
    }

    /// Calls `job(i)` for every `i` in `0..self.threads()`, `job(0)` on this thread, and returns
    /// when all have returned. A panic in any call is passed on after all have returned. Every
    /// call runs with subnormals flushed to zero ([`super::subnormal`]), and this thread's
    /// floating-point mode is as before when `run` returns or unwinds.
    ///
    /// `&mut self`, so one job at a time by construction: the pool has one job slot and one
    /// count of running helpers, and a second caller publishing its job while a helper still
    /// runs the first would let the first caller return (and free its job) too early, or
    /// overwrite the job under the helper. The borrow checker refuses two callers:
    ///
    /// ```compile_fail,E0499
    /// # use digit_recognizer::train::__pool_for_doctest::Pool;
    /// let mut pool = Pool::new(1);
    /// std::thread::scope(|s| {
    ///     s.spawn(|| pool.run(&|_| {}));
    ///     s.spawn(|| pool.run(&|_| {}));
    /// });
    /// ```
    ///
    /// while one caller at a time compiles:
    ///
    /// ```
    /// # use digit_recognizer::train::__pool_for_doctest::Pool;
    /// let mut pool = Pool::new(1);
    /// std::thread::scope(|s| {
    ///     s.spawn(|| pool.run(&|_| {}));
    /// });
    /// pool.run(&|_| {});
    /// ```
    pub fn run(&mut self, job: &(dyn Fn(usize) + Sync)) {
        if self.handles.is_empty() {
            call_flushed(job, 0);
            return;
        }
        // SAFETY: only the lifetime is erased; the wait below (also on unwinding, by `Wait`'s
        // drop) keeps `job` borrowed until no helper uses it.
        let erased: *const (dyn Fn(usize) + Sync + 'static) = unsafe { std::mem::transmute(job) };
        {
            let mut state = self.shared.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.job = Some(JobPtr(erased));
            self.shared.running.store(self.handles.len(), Ordering::SeqCst);
            self.shared.generation.fetch_add(1, Ordering::SeqCst);
        }
        self.shared.start.notify_all();
        let wait = Wait(&self.shared);
        call_flushed(job, 0);
        drop(wait);
        let panic = self
            .shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .panic
            .take();
        if let Some(panic) = panic {
            resume_unwind(panic);
        }
    }
}

/// Waits for the helpers to finish the current job when dropped.
struct Wait<'a>(&'a Shared);

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        let shared = self.0;
        let spin_until = Instant::now() + SPIN;
        while shared.running.load(Ordering::SeqCst) > 0 && Instant::now() < spin_until {
            std::hint::spin_loop();
        }
        let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
        while shared.running.load(Ordering::SeqCst) > 0 {
            state = shared.done.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
        state.job = None;
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .shutdown = true;
        self.shared.start.notify_all();
        for handle in self.handles.drain(..) {
            let _ = handle.join();
        }
    }
}

fn helper(shared: &Shared, index: usize) {
    let mut seen = 0;
    loop {
        // Spin briefly for the next job, then sleep until one comes.
        let spin_until = Instant::now() + SPIN;
        while shared.generation.load(Ordering::SeqCst) == seen && Instant::now() < spin_until {
            std::hint::spin_loop();
        }
        let job = {
            let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if state.shutdown {
                    return;
                }
                let generation = shared.generation.load(Ordering::SeqCst);
                if generation != seen {
                    seen = generation;
                    break state.job.expect("a job is published with its generation");
                }
                state = shared.start.wait(state).unwrap_or_else(PoisonError::into_inner);
            }
        };
        // SAFETY: `Pool::run` keeps the job alive until `running` drops to zero below.
        let result = catch_unwind(AssertUnwindSafe(|| call_flushed(unsafe { &*job.0 }, index)));
        let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(panic) = result {
            state.panic.get_or_insert(panic);
        }
        if shared.running.fetch_sub(1, Ordering::SeqCst) == 1 {
            shared.done.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_thread_runs_every_job_once_and_borrows_work() {
        let mut pool = Pool::new(3);
        assert_eq!(pool.threads(), 4);
        for round in 0..200 {
            let counts: Vec<AtomicUsize> = (0..4).map(|_| AtomicUsize::new(0)).collect();
            pool.run(&|i| {
                counts[i].fetch_add(round + 1, Ordering::SeqCst);
            });
            for count in &counts {
                assert_eq!(count.load(Ordering::SeqCst), round + 1);
            }
        }
    }

    #[test]
    fn a_helpers_panic_reaches_the_caller_and_the_pool_goes_on() {
        let mut pool = Pool::new(1);
        let caught = catch_unwind(AssertUnwindSafe(|| {
            pool.run(&|i| {
                if i == 1 {
                    panic!("helper failed");
                }
            });
        }));
        assert!(caught.is_err());
        let ran = AtomicUsize::new(0);
        pool.run(&|_| {
            ran.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(ran.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn jobs_run_with_subnormals_flushed_and_the_caller_gets_its_mode_back() {
        let tiny = std::hint::black_box(f32::MIN_POSITIVE);
        let half = |x: f32| std::hint::black_box(x) / 2.0;
        for helpers in [0, 2] {
            let mut pool = Pool::new(helpers);
            let flushed = AtomicUsize::new(0);
            pool.run(&|_| {
                if half(tiny) == 0.0 {
                    flushed.fetch_add(1, Ordering::SeqCst);
                }
            });
            let expect = if cfg!(target_arch = "x86_64") { helpers + 1 } else { 0 };
            assert_eq!(flushed.into_inner(), expect, "{helpers} helpers");
            assert!(half(tiny) > 0.0, "the caller's mode is back after the run");
        }
    }

    #[test]
    fn no_helpers_runs_on_the_caller() {
        let mut pool = Pool::new(0);
        let ran = AtomicUsize::new(0);
        pool.run(&|i| {
            assert_eq!(i, 0);
            ran.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }
}
