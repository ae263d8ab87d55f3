//! [`Version`]: the one key the views cache on.

use std::sync::atomic::{AtomicU64, Ordering};

/// The version of a value the views cache on (a model, a run's snapshot, a dev set). Versions
/// come from one counter for the whole process, so two values never share one; an address
/// (`Arc::as_ptr`) can be reused once a value is freed, and a stale cache would then match.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Version(u64);

impl Version {
    /// A version no value had before.
    pub fn next() -> Version {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Version(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// As a number, for the views' cache keys.
    pub fn get(self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_never_reused() {
        let versions: Vec<Version> = (0..1000).map(|_| Version::next()).collect();
        let mut sorted = versions.clone();
        sorted.sort_by_key(|v| v.get());
        sorted.dedup();
        assert_eq!(sorted.len(), versions.len());
    }
}
