//! The app's memory, kept near what it holds. Checkpoints are a few MB of arrays each, made by
//! the training threads and freed by thinning in no particular order. glibc's malloc keeps such
//! holes in its heaps (it returns only a heap's top to the system) and gives every thread that
//! allocates a heap of its own (up to 8 per core), so the resident memory grew past what was
//! kept. Measured on the app training `best` on the full data (dev 5,000), then a branch from
//! step 129 with alpha 0.009 (128 MB of checkpoints allowed then): peak RSS 402 MB after the run
//! and 549 MB after the branch as it was; 376 and 417 MB returning freed memory; 364-379 MB and
//! 371-402 MB with two heaps as well and checkpoints handed to the UI at once (the run as fast:
//! 35.6-37.5 s). The budget is now 112 MB (`runs::CHECKPOINT_BUDGET`).
//!
//! Both are glibc calls; elsewhere there is nothing to do.

/// At most two malloc heaps (arenas): threads share them instead of each keeping its own
/// holes. Called once as the window opens, before the jobs' threads start.
pub fn fewer_heaps() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt takes no pointers and only sets a limit on heaps made later.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

/// Hands memory freed in the middle of malloc's heaps back to the system (after checkpoints
/// are dropped).
pub fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim takes no pointers; it locks each heap while it returns free
        // pages, so it is safe to call while other threads allocate.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}
