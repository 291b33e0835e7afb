//! The hub: fans committed events out to live WebSocket subscribers. (Stub: filled in by
//! the live-updates work, issue 4.)

use crate::config::Settings;
use crate::events::Event;
use crate::store::Store;
use std::sync::Arc;

pub struct Hub {}

impl Hub {
    pub fn new(_settings: &Settings, _store: Arc<Store>) -> Arc<Hub> {
        Arc::new(Hub {})
    }

    /// Called by the store after each commit, under the writer lock, in `seq` order.
    pub fn publish(&self, _events: &[Event]) {}

    /// Closes every socket with 1001 (server going away).
    pub fn shutdown(&self) {}
}
