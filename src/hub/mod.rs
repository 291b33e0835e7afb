//! The hub: fans committed events out to live WebSocket subscribers.
//!
//! `publish` is called by the store right after each commit, under the writer lock and in
//! `seq` order, so it only hands the batch to the dispatcher thread. The dispatcher owns
//! the order: it keeps `last` (the newest seq dispatched), fills any gap from the event
//! log before dispatching a handed event, and polls the log every `POLL_EVERY` for events
//! written by other processes (`royal-care user deactivate`). Each event's WebSocket frame
//! is built once (`frame::text`, an `Arc<[u8]>`) and queued to every subscriber whose user
//! is in the event's audience. Internal `session_revoked` events close the matching
//! sockets with 4001 instead. Once a second it closes sockets whose token expired.
//!
//! What this module does not do: touch sockets. `ws::session` owns them; a subscriber is
//! just a bounded queue plus a "please close" slot that the session's writer obeys.

mod subscriber;

pub use subscriber::{Close, Out, Queue, Subscriber, Subscription, QUEUE_FRAMES};

use crate::config::Settings;
use crate::events::{Event, SESSION_REVOKED};
use crate::store::Store;
use crate::wire::{frame, CloseCode};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the dispatcher looks in the log for events it was not handed (other
/// processes' writes, or batches dropped because its inbox was full).
const POLL_EVERY: Duration = Duration::from_millis(250);
/// How often sockets are checked for an expired token.
const EXPIRY_EVERY: Duration = Duration::from_secs(1);
/// Batches waiting for the dispatcher. `publish` never blocks the writer: when this is
/// full the batch is dropped and the dispatcher finds its events in the log instead.
const INBOX_BATCHES: usize = 4096;
/// Events read from the log per query when catching up.
const CATCH_UP_CHUNK: usize = 500;

enum Msg {
    Events(Vec<Event>),
}

/// Why a socket may not subscribe.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    TooManyForUser,
    ShuttingDown,
}

/// The live subscribers. Behind a plain `Mutex`: every critical section is a map
/// operation or a loop of non-blocking `try_send`s, nothing that waits.
#[derive(Default)]
pub(crate) struct Registry {
    by_id: HashMap<u64, Arc<Subscriber>>,
    per_user: HashMap<i64, usize>,
}

pub(crate) struct Shared {
    pub(crate) subs: Mutex<Registry>,
    shutting_down: AtomicBool,
}

pub struct Hub {
    shared: Arc<Shared>,
    inbox: SyncSender<Msg>,
    next_id: AtomicU64,
    per_user_cap: usize,
}

impl Hub {
    /// Starts the dispatcher thread, beginning after the log's current last `seq`.
    pub fn new(settings: &Settings, store: Arc<Store>) -> Arc<Hub> {
        let shared = Arc::new(Shared { subs: Mutex::new(Registry::default()), shutting_down: AtomicBool::new(false) });
        let (inbox, rx) = mpsc::sync_channel(INBOX_BATCHES);
        let last = store.read(crate::events::last_seq).unwrap_or(0);
        let shared2 = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("hub".into())
            .stack_size(256 * 1024)
            .spawn(move || Dispatcher { shared: shared2, store, last }.run(rx));
        if let Err(e) = spawned {
            log::error!("could not start the live-update dispatcher: {e}");
        }
        Arc::new(Hub { shared, inbox, next_id: AtomicU64::new(1), per_user_cap: settings.max_sockets_per_user })
    }

    /// Called by the store after each commit, under the writer lock, in `seq` order.
    pub fn publish(&self, events: &[Event]) {
        match self.inbox.try_send(Msg::Events(events.to_vec())) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(_)) => {
                log::debug!("hub inbox full; the dispatcher will read the log")
            }
        }
    }

    /// Registers a socket of `user`; its events start queueing at once. The returned
    /// `Subscription` unregisters it when dropped.
    pub fn subscribe(
        self: &Arc<Self>,
        user_id: i64,
        is_operator: bool,
        digest: String,
        expiry: String,
    ) -> Result<(Subscription, Queue), Refused> {
        if self.shared.shutting_down.load(Ordering::SeqCst) {
            return Err(Refused::ShuttingDown);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (sub, rx) = Subscriber::new(id, user_id, is_operator, digest, expiry);
        let mut reg = self.shared.subs.lock().unwrap_or_else(|p| p.into_inner());
        let n = reg.per_user.entry(user_id).or_insert(0);
        if *n >= self.per_user_cap {
            return Err(Refused::TooManyForUser);
        }
        *n += 1;
        reg.by_id.insert(id, sub.clone());
        drop(reg);
        Ok((Subscription { shared: self.shared.clone(), sub }, rx))
    }

    /// Live sockets right now.
    pub fn len(&self) -> usize {
        self.shared.subs.lock().unwrap_or_else(|p| p.into_inner()).by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Closes every socket with 1001 (server going away) and refuses new ones.
    pub fn shutdown(&self) {
        self.shared.shutting_down.store(true, Ordering::SeqCst);
        for s in self.shared.snapshot() {
            s.close(Close::new(CloseCode::GoingAway, "server shutting down; reconnect shortly"));
        }
    }
}

impl Shared {
    fn snapshot(&self) -> Vec<Arc<Subscriber>> {
        self.subs.lock().unwrap_or_else(|p| p.into_inner()).by_id.values().cloned().collect()
    }

    pub(crate) fn remove(&self, sub: &Subscriber) {
        let mut reg = self.subs.lock().unwrap_or_else(|p| p.into_inner());
        if reg.by_id.remove(&sub.id).is_some() {
            if let Some(n) = reg.per_user.get_mut(&sub.user_id) {
                *n -= 1;
                if *n == 0 {
                    reg.per_user.remove(&sub.user_id);
                }
            }
        }
    }
}

/// The dispatcher thread's state: `last` is the newest seq it has dispatched.
struct Dispatcher {
    shared: Arc<Shared>,
    store: Arc<Store>,
    last: i64,
}

impl Dispatcher {
    fn run(mut self, rx: Receiver<Msg>) {
        let mut next_poll = Instant::now() + POLL_EVERY;
        let mut next_expiry = Instant::now() + EXPIRY_EVERY;
        loop {
            let wait = next_poll.min(next_expiry).saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Ok(Msg::Events(evs)) => {
                    for ev in evs {
                        if ev.seq <= self.last {
                            continue; // already found in the log
                        }
                        if ev.seq > self.last + 1 {
                            self.catch_up(ev.seq - 1);
                        }
                        self.dispatch(&ev);
                        self.last = ev.seq;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            let now = Instant::now();
            if now >= next_poll {
                self.catch_up(i64::MAX);
                next_poll = now + POLL_EVERY;
            }
            if now >= next_expiry {
                self.close_expired();
                next_expiry = now + EXPIRY_EVERY;
            }
        }
    }

    /// Dispatches logged events after `last`, up to `until`, in order.
    fn catch_up(&mut self, until: i64) {
        while self.last < until {
            let evs = match self.store.read(|c| crate::events::after(c, self.last, CATCH_UP_CHUNK)) {
                Ok(evs) => evs,
                Err(e) => {
                    log::warn!("hub could not read the event log: {e}");
                    return;
                }
            };
            let n = evs.len();
            for ev in evs.into_iter().take_while(|e| e.seq <= until) {
                self.dispatch(&ev);
                self.last = ev.seq;
            }
            if n < CATCH_UP_CHUNK {
                return;
            }
        }
    }

    fn dispatch(&self, ev: &Event) {
        if ev.is_internal() {
            if ev.kind == SESSION_REVOKED {
                self.revoke(ev);
            }
            return;
        }
        // Serialised once; every recipient's queue holds the same bytes.
        let frame: Arc<[u8]> = frame::text(ev.message().as_bytes()).into();
        let reg = self.shared.subs.lock().unwrap_or_else(|p| p.into_inner());
        for sub in reg.by_id.values() {
            if ev.audience.includes(sub.user_id, sub.is_operator) {
                sub.deliver(ev.seq, &frame);
            }
        }
    }

    /// `{"user_id", "digests": [...]}` or `{"user_id", "all": true}` → close with 4001.
    fn revoke(&self, ev: &Event) {
        let v: serde_json::Value = serde_json::from_str(&ev.payload).unwrap_or_default();
        let Some(user_id) = v["user_id"].as_i64() else {
            return;
        };
        let all = v["all"].as_bool() == Some(true);
        let digests: Vec<&str> =
            v["digests"].as_array().map(|a| a.iter().filter_map(|d| d.as_str()).collect()).unwrap_or_default();
        for s in self.shared.snapshot() {
            if s.user_id == user_id && (all || digests.contains(&s.digest.as_str())) {
                s.close(Close::new(CloseCode::Auth, "session ended; log in again"));
            }
        }
    }

    /// Closes sockets whose token has expired. The stored expiry is re-read first, since
    /// auto-refresh (a REST call with the same token) may have extended it.
    fn close_expired(&self) {
        let now = crate::time::now_iso();
        for s in self.shared.snapshot() {
            if s.expiry() > now {
                continue;
            }
            match self.store.read(|c| crate::store::tokens::expiry(c, &s.digest)) {
                Ok(Some(e)) if e > now => s.set_expiry(e),
                Ok(_) => s.close(Close::new(CloseCode::Auth, "session expired; log in again")),
                Err(e) => log::warn!("hub could not read a token's expiry: {e}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Audience, EventDraft, APPOINTMENT_UPDATED};

    fn recv_event(q: &Queue) -> (i64, Arc<[u8]>) {
        loop {
            match q.recv_timeout(Duration::from_secs(5)).expect("no event") {
                Out::Event { seq, frame } => return (seq, frame),
                _ => continue,
            }
        }
    }

    /// One frame per event, shared by every recipient; others get nothing.
    #[test]
    fn an_event_is_serialised_once_for_all_its_recipients() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("t.db")).unwrap());
        let hub = Hub::new(&Settings::default(), store.clone());
        let h2 = hub.clone();
        store.set_commit_hook(Box::new(move |evs| h2.publish(evs)));
        let (_a, qa) = hub.subscribe(1, true, "da".into(), "9999".into()).unwrap();
        let (_b, qb) = hub.subscribe(2, false, "db".into(), "9999".into()).unwrap();
        let (_c, qc) = hub.subscribe(3, false, "dc".into(), "9999".into()).unwrap();
        let draft = EventDraft {
            kind: APPOINTMENT_UPDATED,
            appointment_id: Some(7),
            audience: Audience::operators_and([2]),
            payload: serde_json::json!({"appointment": {"id": 7}, "updated_fields": []}),
        };
        let seq = store.write(|tx| tx.emit(draft)).unwrap();
        let (sa, fa) = recv_event(&qa);
        let (sb, fb) = recv_event(&qb);
        assert_eq!((sa, sb), (seq, seq));
        assert!(Arc::ptr_eq(&fa, &fb), "each recipient must get the same bytes");
        assert!(matches!(qc.recv_timeout(Duration::from_millis(300)), Err(RecvTimeoutError::Timeout)));
    }

    #[test]
    fn the_per_user_cap_counts_live_subscriptions() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("t.db")).unwrap());
        let settings = Settings { max_sockets_per_user: 2, ..Settings::default() };
        let hub = Hub::new(&settings, store);
        let a = hub.subscribe(1, false, "d".into(), "x".into()).unwrap();
        let _b = hub.subscribe(1, false, "d".into(), "x".into()).unwrap();
        assert_eq!(hub.subscribe(1, false, "d".into(), "x".into()).err(), Some(Refused::TooManyForUser));
        assert!(hub.subscribe(2, false, "d".into(), "x".into()).is_ok());
        drop(a);
        assert!(hub.subscribe(1, false, "d".into(), "x".into()).is_ok());
        hub.shutdown();
        assert_eq!(hub.subscribe(3, false, "d".into(), "x".into()).err(), Some(Refused::ShuttingDown));
    }
}
