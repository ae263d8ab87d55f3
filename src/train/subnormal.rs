//! Subnormal floats flushed to zero on the training threads.
//!
//! Late in a run the network grows confident: softmax gives wrong classes probabilities below
//! f32's smallest normal number (1.2e-38), and moments of rarely used weights (border pixels
//! that only augmentation reaches) decay towards it. Arithmetic on such subnormal numbers is
//! many times slower on x86 CPUs: the `best` preset's epochs grew from 0.8 s to 1.1 s over its
//! 30 epochs (29.3 s in all, measured); with subnormals flushed to zero they stayed near 0.8 s
//! (24.7 s) and the held-out accuracy was the same. The values flushed are below 1.2e-38, far
//! under anything that moves a weight.
//!
//! Where the mode applies: inside the training pool's jobs only ([`call_flushed`], from
//! [`super::pool::Pool::run`] around each job, on whichever thread runs it), so a run's result
//! is still the same for any number of threads. All of a step's arithmetic (gradients and the
//! update) runs in those jobs; the rest of the run (dev accuracy, snapshots, the caller's
//! `on_event`) runs in the thread's own mode. Confined because MXCSR is per-thread state that
//! the caller owns: `train` calls back into the caller (`on_event`: the app's channel sends, or
//! whatever a library user does there), and code there may rely on IEEE subnormals (gradual
//! underflow: `x != y` implies `x - y != 0`); flushing them would silently change its results.
//!
//! What this relies on. Rust's documentation (`_mm_setcsr`) counts any change of the
//! denormals-are-zero bit as undefined behaviour, even when restored, because the compiler
//! assumes the default mode: it may constant-fold float operations as IEEE does, or move an
//! operation that touches no memory across the switch. What keeps that harmless here:
//! - The switch and the restore are `asm!` blocks that may read and write any memory, and the
//!   job runs between them behind a call through `&dyn Fn` in a function that is never inlined
//!   ([`call_flushed`]): the job's loads, arithmetic and stores cannot be seen from, nor moved
//!   into, the code around the call.
//! - Under the mode, only float values change: a subnormal input reads as zero and a subnormal
//!   result becomes zero. Nothing in the jobs indexes memory or picks a branch unchecked on a
//!   float's value (indices are integers, slices are bounds-checked), so the worst case of a
//!   violated assumption (an operation folded or moved to the other side of the switch) is a
//!   value below 1.2e-38 kept or flushed where the other mode would have done the opposite:
//!   a last-bit difference, never memory unsafety. The restore runs on every exit, unwinding
//!   included ([`FlushGuard`]'s drop).

/// The calling thread's floating-point mode, restored when dropped.
pub(super) struct FlushGuard {
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    previous: u32,
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        set_mxcsr(self.previous);
    }
}

/// MXCSR's flush-to-zero (results) and denormals-are-zero (inputs) bits.
#[cfg(target_arch = "x86_64")]
const FTZ_DAZ: u32 = (1 << 15) | (1 << 6);

/// Calls `job(index)` with subnormal results and inputs flushed to zero on this thread (on
/// x86_64; elsewhere nothing changes), and this thread's mode back as it was afterwards, also
/// when the job panics. Never inlined, so the job stays an opaque call between the switch and
/// the restore (see the module's docs).
#[inline(never)]
pub(super) fn call_flushed(job: &(dyn Fn(usize) + Sync), index: usize) {
    let _flush = flush_subnormals();
    job(index);
}

/// Returns `work()`, computed as a pool job is: with subnormals flushed, through
/// [`call_flushed`]. For the run's own arithmetic outside the pool (the dev set's accuracy at
/// every report: a forward pass over weights that late in a run hold subnormals, which the CPU
/// otherwise takes a slow path for).
pub(super) fn flushed<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    let work = std::sync::Mutex::new(Some(work));
    let result = std::sync::Mutex::new(None);
    call_flushed(
        &|_| {
            let work = work.lock().ok().and_then(|mut w| w.take());
            if let (Some(work), Ok(mut result)) = (work, result.lock()) {
                *result = Some(work());
            }
        },
        0,
    );
    let result = result.into_inner().ok().flatten();
    result.expect("call_flushed calls the job once")
}

/// Flushes subnormal results and inputs to zero on this thread until the guard is dropped
/// (on x86_64; elsewhere nothing changes).
fn flush_subnormals() -> FlushGuard {
    #[cfg(target_arch = "x86_64")]
    {
        let previous = mxcsr();
        set_mxcsr(previous | FTZ_DAZ);
        FlushGuard { previous }
    }
    #[cfg(not(target_arch = "x86_64"))]
    FlushGuard { previous: 0 }
}

#[cfg(target_arch = "x86_64")]
fn mxcsr() -> u32 {
    let mut value = 0u32;
    // SAFETY: stmxcsr stores the 32-bit MXCSR register to the address given, a live u32 here.
    unsafe {
        std::arch::asm!("stmxcsr [{}]", in(reg) &raw mut value, options(nostack, preserves_flags));
    }
    value
}

#[cfg(target_arch = "x86_64")]
fn set_mxcsr(value: u32) {
    // SAFETY: ldmxcsr loads MXCSR from a live u32; the values written are ones read from it
    // with only the FTZ and DAZ bits (valid on every x86_64 CPU) changed. Neither `readonly` nor
    // `preserves_flags`: the block is a barrier for every memory access around it (see the
    // module's docs), and restoring an earlier value clears MXCSR's exception flags.
    unsafe {
        std::arch::asm!("ldmxcsr [{}]", in(reg) &raw const value, options(nostack));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnormals_flush_while_the_guard_lives() {
        let tiny = std::hint::black_box(f32::MIN_POSITIVE);
        let half = |x: f32| std::hint::black_box(x) / 2.0;
        assert!(half(tiny) > 0.0, "subnormal before");
        {
            let _guard = flush_subnormals();
            if cfg!(target_arch = "x86_64") {
                assert_eq!(half(tiny), 0.0, "flushed");
            }
        }
        assert!(half(tiny) > 0.0, "restored");
    }

    #[test]
    fn a_flushed_call_restores_the_mode_also_when_it_panics() {
        let tiny = std::hint::black_box(f32::MIN_POSITIVE);
        let half = |x: f32| std::hint::black_box(x) / 2.0;
        let flushed_inside = std::sync::atomic::AtomicBool::new(false);
        call_flushed(
            &|_| flushed_inside.store(half(tiny) == 0.0, std::sync::atomic::Ordering::SeqCst),
            0,
        );
        assert_eq!(flushed_inside.into_inner(), cfg!(target_arch = "x86_64"));
        assert!(half(tiny) > 0.0, "restored");
        let panicked = std::panic::catch_unwind(|| call_flushed(&|_| panic!("job failed"), 0));
        assert!(panicked.is_err());
        assert!(half(tiny) > 0.0, "restored after a panic");
    }
}
