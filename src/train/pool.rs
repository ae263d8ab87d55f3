//! The training threads: a local `rayon` pool that lives for a whole training run, so a step
//! hands its threads work instead of starting threads (starting and joining a scoped thread
//! took 74 µs here, and a step of 784-512-256-10 on 2 threads needs them twice: gradient, then
//! update).
//!
//! A pool of the run's own, not rayon's global one, for two reasons: a run uses as many threads
//! as its caller asks for (the app leaves a core to the UI, the CLI takes them all), and the
//! threads are started by the thread that trains, so they inherit its scheduling priority (on
//! Linux a nice value is per thread and passed on to the threads it starts).
//!
//! [`Pool::run`] calls a job once per thread and returns when all calls have returned, which is
//! what lets the job borrow the caller's data (`rayon::ThreadPool::broadcast`).

use super::subnormal::call_flushed;

/// The threads a run's steps are computed on.
pub(super) struct Pool {
    /// `None` for one thread: jobs then run on the caller's, with no hand-off at all.
    threads: Option<rayon::ThreadPool>,
}

impl Pool {
    /// A pool whose jobs run on `helpers + 1` threads: as many as the caller asks for, counting
    /// its own (which, with helpers, waits while they work).
    pub(super) fn new(helpers: usize) -> Pool {
        if helpers == 0 {
            return Pool { threads: None };
        }
        let threads = rayon::ThreadPoolBuilder::new()
            .num_threads(helpers + 1)
            .thread_name(|i| format!("train-{}", i + 1))
            .build()
            .expect("starting the training threads");
        Pool { threads: Some(threads) }
    }

    /// Threads a job runs on.
    #[cfg(test)]
    pub(super) fn threads(&self) -> usize {
        self.threads.as_ref().map_or(1, rayon::ThreadPool::current_num_threads)
    }

    /// Calls `job(i)` for every `i` in `0..self.threads()`, each on its own thread, and returns
    /// when all have returned. A panic in any call is passed on after all have returned. Every
    /// call runs with subnormals flushed to zero ([`super::subnormal`]); this thread's
    /// floating-point mode is as before when `run` returns or unwinds.
    pub(super) fn run(&mut self, job: &(dyn Fn(usize) + Sync)) {
        match &self.threads {
            None => call_flushed(job, 0),
            Some(threads) => {
                threads.broadcast(|thread| call_flushed(job, thread.index()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn every_thread_runs_every_job_once_and_borrows_work() {
        let mut pool = Pool::new(3);
        assert_eq!(pool.threads(), 4);
        for round in 0..200 {
            let counts: Vec<AtomicUsize> = (0..4).map(|_| AtomicUsize::new(0)).collect();
            let threads = std::sync::Mutex::new(std::collections::HashSet::new());
            pool.run(&|i| {
                counts[i].fetch_add(round + 1, Ordering::SeqCst);
                threads.lock().unwrap().insert(std::thread::current().id());
            });
            for count in &counts {
                assert_eq!(count.load(Ordering::SeqCst), round + 1);
            }
            assert_eq!(threads.into_inner().unwrap().len(), 4, "each call on its own thread");
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
            // Twice: every run's jobs are flushed, not only the first on fresh threads.
            for _ in 0..2 {
                let flushed = AtomicUsize::new(0);
                pool.run(&|_| {
                    if half(tiny) == 0.0 {
                        flushed.fetch_add(1, Ordering::SeqCst);
                    }
                });
                let expect = if cfg!(target_arch = "x86_64") { helpers + 1 } else { 0 };
                assert_eq!(flushed.into_inner(), expect, "{helpers} helpers");
            }
            assert!(half(tiny) > 0.0, "the caller's mode is back after the run");
        }
    }

    #[test]
    fn no_helpers_runs_on_the_caller() {
        let mut pool = Pool::new(0);
        let caller = std::thread::current().id();
        let ran = AtomicUsize::new(0);
        pool.run(&|i| {
            assert_eq!(i, 0);
            assert_eq!(std::thread::current().id(), caller);
            ran.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }

    /// The threads are named `train-N`: tests/faults.rs finds a run's threads by that name.
    #[test]
    fn threads_are_named_for_the_run() {
        let mut pool = Pool::new(1);
        let named = AtomicUsize::new(0);
        pool.run(&|_| {
            if std::thread::current().name().is_some_and(|n| n.starts_with("train-")) {
                named.fetch_add(1, Ordering::SeqCst);
            }
        });
        assert_eq!(named.into_inner(), 2);
    }
}
