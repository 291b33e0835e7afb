//! The operators' `initial_data` appointments, cached: every operator sees the same
//! board (today's and upcoming appointments, with the operators' `allowed_actions`, which
//! depend only on status), so operators connecting at the same point of the log on the
//! same day get the same bytes, serialised once. The socket splices them into its own
//! message (its `connection_id` differs).

use std::sync::{Arc, Mutex};

/// What the cached board reflects. A new event (`seq`), any commit in this process
/// (`commits`: also the rare change that sends no event, e.g. details past
/// `details::DETAILS_EVENTS_MAX`) or a new day makes a new board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotKey {
    pub seq: i64,
    pub commits: u64,
    pub day: String,
}

/// One cached board (the newest asked for).
#[derive(Default)]
pub struct OperatorSnapshot {
    slot: Mutex<Option<(SnapshotKey, Arc<str>)>>,
}

impl OperatorSnapshot {
    /// The board for `key`: the cached bytes when they are for `key`, else `build()`'s,
    /// which then replace them. Built under the lock, so operators connecting together
    /// after a change wait for one build instead of each doing their own.
    pub fn get_or_build<E>(&self, key: SnapshotKey, build: impl FnOnce() -> Result<String, E>) -> Result<Arc<str>, E> {
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((k, bytes)) = slot.as_ref() {
            if *k == key {
                return Ok(bytes.clone());
            }
        }
        let bytes: Arc<str> = build()?.into();
        *slot = Some((key, bytes.clone()));
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_key_reuses_the_bytes_and_a_new_one_rebuilds() {
        let cache = OperatorSnapshot::default();
        let key = |seq, commits, day: &str| SnapshotKey { seq, commits, day: day.into() };
        let mut builds = 0;
        let mut get = |k: SnapshotKey| {
            cache
                .get_or_build(k, || -> Result<String, ()> {
                    builds += 1;
                    Ok(format!("[{builds}]"))
                })
                .unwrap()
        };
        let a = get(key(5, 1, "2030-01-01"));
        let b = get(key(5, 1, "2030-01-01"));
        assert!(Arc::ptr_eq(&a, &b));
        assert_ne!(get(key(6, 1, "2030-01-01")), a, "a new event rebuilds");
        assert_eq!(&*get(key(6, 2, "2030-01-01")), "[3]", "a commit without events rebuilds");
        assert_eq!(&*get(key(6, 2, "2030-01-02")), "[4]", "a new day rebuilds");
        assert_eq!(&*get(key(6, 2, "2030-01-02")), "[4]");
    }
}
