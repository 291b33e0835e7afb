//! The hub: fans committed events out to live WebSocket subscribers.
//!
//! The store puts each commit's events on its commit feed (a bounded channel the store
//! owns, `Store::commit_feed`), under the writer lock and in `seq` order, and never waits:
//! when the feed is full the batch is dropped and the dispatcher finds those events in
//! the log. The hub's dispatcher thread owns the order: it keeps `last` (the newest seq
//! dispatched), fills any gap from the event log before dispatching a fed event, and
//! polls the log every `POLL_EVERY` for events written by other processes (`royal-care
//! user deactivate`). Each event's WebSocket frames are built once (`ws::frame::text`,
//! an `Arc<[u8]>`): one for all operators and, when the event carries per-recipient
//! `allowed_actions` (`events::ACTIONS_FOR`), one per assigned staff recipient; each is
//! queued to every subscriber it is for. Internal `session_revoked` events close the
//! matching sockets with 4001 instead. Once a second it closes the sockets of tokens that
//! expired, looking only at tokens whose expiry has passed (`expiry::Expiries`), each once.
//! It also keeps the operators' `initial_data` board (`OperatorSnapshot`).
//!
//! Delivery wakes no per-socket thread in the common case: the dispatcher writes each
//! frame to each recipient's socket itself, without waiting (`outbox`), and only a
//! socket whose kernel buffer is full gets a writer thread, which the live session
//! supplies (`StartWriter`). What this module does not do: read sockets, write them with
//! deadlines, or perform closes; `live::session` does. Of the WebSocket code it uses
//! only the transport below it (`ws::frame`, `ws::CloseCode`).

mod expiry;
mod outbox;
mod snapshot;
mod subscriber;

pub use outbox::{Close, Next, Outbox, MAX_LAG, QUEUE_BYTES, QUEUE_FRAMES};
pub use snapshot::{OperatorSnapshot, SnapshotKey};
pub use subscriber::{StartWriter, Subscriber};

use crate::config::Settings;
use crate::events::{Event, Rendering, SESSION_REVOKED};
use crate::store::{FeedWaker, Store};
use crate::ws::{frame, CloseCode};
use expiry::Expiries;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the dispatcher looks in the log for events it was not handed (other
/// processes' writes, or batches dropped because the commit feed was full).
const POLL_EVERY: Duration = Duration::from_millis(250);
/// How often tokens are checked for expiry.
const EXPIRY_EVERY: Duration = Duration::from_secs(1);
/// Events read from the log per query when catching up.
const CATCH_UP_CHUNK: usize = 500;

/// Why a socket may not subscribe.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    TooManyForUser,
    ShuttingDown,
}

/// The live subscribers. Behind a plain `Mutex`: every critical section is a map
/// operation or a loop over the map, nothing that waits or writes.
#[derive(Default)]
pub(crate) struct Registry {
    by_id: HashMap<u64, Arc<Subscriber>>,
    per_user: HashMap<i64, usize>,
    /// The subscribers' tokens by expiry.
    expiries: Expiries,
}

pub(crate) struct Shared {
    pub(crate) subs: Mutex<Registry>,
    shutting_down: AtomicBool,
    /// Tells the dispatcher to end (it is woken through the feed).
    stop: AtomicBool,
}

pub struct Hub {
    shared: Arc<Shared>,
    next_id: AtomicU64,
    per_user_cap: usize,
    waker: FeedWaker,
    dispatcher: Mutex<Option<JoinHandle<()>>>,
    operators_board: OperatorSnapshot,
}

impl Hub {
    /// Takes the store's commit feed and starts the dispatcher thread, beginning after
    /// the log's current last `seq`. Fails when either cannot be had: a server without
    /// live updates must not start.
    pub fn new(settings: &Settings, store: Arc<Store>) -> Result<Arc<Hub>, String> {
        let feed = store.commit_feed()?;
        let last = store.read(crate::events::last_seq).map_err(|e| format!("cannot read the event log: {e}"))?;
        let shared = Arc::new(Shared {
            subs: Mutex::new(Registry::default()),
            shutting_down: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        });
        let waker = feed.waker();
        let shared2 = shared.clone();
        let dispatcher = std::thread::Builder::new()
            .name("hub".into())
            .stack_size(256 * 1024)
            .spawn(move || Dispatcher { shared: shared2, store, last }.run(feed.events))
            .map_err(|e| format!("cannot start the live-update dispatcher: {e}"))?;
        Ok(Arc::new(Hub {
            shared,
            next_id: AtomicU64::new(1),
            per_user_cap: settings.max_sockets_per_user,
            waker,
            dispatcher: Mutex::new(Some(dispatcher)),
            operators_board: OperatorSnapshot::default(),
        }))
    }

    /// Registers a socket of `user`; its events start queueing at once, and the caller
    /// holds its wire (to send the start) until it releases it (`Outbox::next`). The
    /// returned `Subscription` unregisters it when dropped. `digest` and `expiry` are its
    /// token's; `stream` is a handle of the socket for sending, `start_writer` how to
    /// start a writer thread for it.
    pub fn subscribe(
        self: &Arc<Self>,
        user_id: i64,
        is_operator: bool,
        (digest, expiry): (String, String),
        stream: std::net::TcpStream,
        start_writer: StartWriter,
    ) -> Result<Subscription, Refused> {
        if self.shared.shutting_down.load(Ordering::SeqCst) {
            return Err(Refused::ShuttingDown);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut reg = self.shared.lock();
        let n = reg.per_user.entry(user_id).or_insert(0);
        if *n >= self.per_user_cap {
            return Err(Refused::TooManyForUser);
        }
        *n += 1;
        reg.expiries.add(&digest, &expiry, id);
        let sub = Subscriber::new(id, user_id, is_operator, digest, stream, start_writer);
        reg.by_id.insert(id, sub.clone());
        drop(reg);
        Ok(Subscription { shared: self.shared.clone(), sub })
    }

    /// The operators' `initial_data` board cache.
    pub fn operators_board(&self) -> &OperatorSnapshot {
        &self.operators_board
    }

    /// Live sockets right now.
    pub fn len(&self) -> usize {
        self.shared.lock().by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Closes every socket with 1001 (server going away), refuses new ones, and stops
    /// and joins the dispatcher.
    pub fn shutdown(&self) {
        self.shared.shutting_down.store(true, Ordering::SeqCst);
        for s in self.shared.snapshot() {
            s.close(Close::new(CloseCode::GoingAway, "server shutting down; reconnect shortly"));
        }
        self.stop_dispatcher();
    }

    fn stop_dispatcher(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.waker.wake();
        let handle = self.dispatcher.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle {
            if h.join().is_err() {
                log::error!("the live-update dispatcher panicked");
            }
        }
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.stop_dispatcher();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.subs.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn snapshot(&self) -> Vec<Arc<Subscriber>> {
        self.lock().by_id.values().cloned().collect()
    }

    fn remove(&self, sub: &Subscriber) {
        let mut reg = self.lock();
        if reg.by_id.remove(&sub.id).is_some() {
            reg.expiries.remove(&sub.digest, sub.id);
            if let Some(n) = reg.per_user.get_mut(&sub.user_id) {
                *n -= 1;
                if *n == 0 {
                    reg.per_user.remove(&sub.user_id);
                }
            }
        }
    }
}

/// A registered subscriber; unregisters it when dropped.
pub struct Subscription {
    shared: Arc<Shared>,
    pub sub: Arc<Subscriber>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.shared.remove(&self.sub);
    }
}

/// The dispatcher thread's state: `last` is the newest seq it has dispatched.
struct Dispatcher {
    shared: Arc<Shared>,
    store: Arc<Store>,
    last: i64,
}

impl Dispatcher {
    fn run(mut self, feed: Receiver<Vec<Event>>) {
        let mut next_poll = Instant::now() + POLL_EVERY;
        let mut next_expiry = Instant::now() + EXPIRY_EVERY;
        loop {
            if self.shared.stop.load(Ordering::SeqCst) {
                return;
            }
            let wait = next_poll.min(next_expiry).saturating_duration_since(Instant::now());
            match feed.recv_timeout(wait) {
                // An empty batch is a wake-up (see `Hub::shutdown`).
                Ok(evs) => {
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
        // The recipients are picked under the lock; the writes happen after it, so
        // sockets come and go meanwhile. Nothing is rendered for an event no listening
        // socket may see.
        let to: Vec<Arc<Subscriber>> = {
            let reg = self.shared.lock();
            reg.by_id.values().filter(|s| ev.audience.includes(s.user_id, s.is_operator)).cloned().collect()
        };
        if to.is_empty() {
            return;
        }
        // Each rendering is serialised once, when its first recipient comes up: all
        // operators share one frame, each listed staff recipient has their own.
        let r = ev.renderings();
        let mut frames: Vec<(Rendering, Arc<[u8]>)> = Vec::new();
        for sub in to {
            let key = r.key(sub.user_id, sub.is_operator);
            let i = match frames.iter().position(|(k, _)| *k == key) {
                Some(i) => i,
                None => {
                    frames.push((key, frame::text(r.message(key).as_bytes()).into()));
                    frames.len() - 1
                }
            };
            sub.deliver(ev.seq, &frames[i].1);
        }
    }

    /// `{"user_id", "digests": [...]}` or `{"user_id", "all": true}` → close with 4001.
    fn revoke(&self, ev: &Event) {
        let v: serde_json::Value = serde_json::from_str(&ev.payload).unwrap_or_default();
        let Some(user_id) = v["user_id"].as_i64() else {
            return;
        };
        let reg = self.shared.lock();
        let ended = || Close::new(CloseCode::Auth, "session ended; log in again");
        if v["all"].as_bool() == Some(true) {
            for s in reg.by_id.values().filter(|s| s.user_id == user_id) {
                s.close(ended());
            }
            return;
        }
        for digest in v["digests"].as_array().into_iter().flatten().filter_map(|d| d.as_str()) {
            for id in reg.expiries.sockets(digest) {
                match reg.by_id.get(&id) {
                    Some(s) if s.user_id == user_id => s.close(ended()),
                    _ => {}
                }
            }
        }
    }

    /// Closes the sockets of tokens whose expiry has passed. Only such tokens are looked
    /// at, each once however many sockets use it; its stored expiry is re-read first,
    /// since auto-refresh (a REST call with the same token) may have extended it.
    fn close_expired(&self) {
        let now = crate::time::now_iso();
        let due = self.shared.lock().expiries.due(&now);
        for (_, digest) in due {
            match self.store.read(|c| crate::store::tokens::expiry(c, &digest)) {
                Ok(Some(e)) if e > now => self.shared.lock().expiries.extend(&digest, &e),
                Ok(_) => {
                    let mut reg = self.shared.lock();
                    for id in reg.expiries.take(&digest) {
                        if let Some(s) = reg.by_id.get(&id) {
                            s.close(Close::new(CloseCode::Auth, "session expired; log in again"));
                        }
                    }
                }
                Err(e) => log::warn!("hub could not read a token's expiry: {e}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Audience, EventDraft, APPOINTMENT_UPDATED};

    /// A subscriber on a real socket whose wire the test keeps holding, so what the
    /// hub sends it stays in its queue to be looked at. The peer end is returned too.
    struct Sock {
        sub: Subscription,
        _peer: std::net::TcpStream,
    }

    fn subscribe(hub: &Arc<Hub>, user: i64, operator: bool, digest: &str, expiry: &str) -> Result<Sock, Refused> {
        let (server, peer) = subscriber::tests::pair();
        let no_writer = subscriber::tests::no_writer;
        let sub = hub.subscribe(user, operator, (digest.into(), expiry.into()), server, no_writer)?;
        Ok(Sock { sub, _peer: peer })
    }

    /// The next event frame queued for `s`, waiting up to 5 s.
    fn recv_event(s: &Sock) -> Arc<[u8]> {
        match s.sub.sub.outbox().next(Duration::from_secs(5)) {
            Next::Write(chunk) => chunk.shared().expect("an event frame"),
            _ => panic!("no event"),
        }
    }

    fn nothing_queued(s: &Sock, within: Duration) -> bool {
        matches!(s.sub.sub.outbox().next(within), Next::Released)
    }

    /// One frame per event, shared by every recipient; others get nothing.
    #[test]
    fn an_event_is_serialised_once_for_all_its_recipients() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("t.db")).unwrap());
        let hub = Hub::new(&Settings::default(), store.clone()).unwrap();
        let a = subscribe(&hub, 1, true, "da", "9999").unwrap();
        let b = subscribe(&hub, 2, false, "db", "9999").unwrap();
        let c = subscribe(&hub, 3, false, "dc", "9999").unwrap();
        let draft = EventDraft {
            kind: APPOINTMENT_UPDATED,
            appointment_id: Some(7),
            audience: Audience::operators_and([2]),
            payload: serde_json::json!({"appointment": {"id": 7}, "updated_fields": []}),
        };
        let seq = store.write(|tx| tx.emit(draft)).unwrap();
        let (fa, fb) = (recv_event(&a), recv_event(&b));
        assert!(String::from_utf8_lossy(&fa).contains(&format!("\"seq\":{seq}")));
        assert!(Arc::ptr_eq(&fa, &fb), "each recipient must get the same bytes");
        assert!(nothing_queued(&c, Duration::from_millis(300)));
    }

    #[test]
    fn the_per_user_cap_counts_live_subscriptions() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("t.db")).unwrap());
        let settings = Settings { max_sockets_per_user: 2, ..Settings::default() };
        let hub = Hub::new(&settings, store).unwrap();
        let a = subscribe(&hub, 1, false, "d", "x").unwrap();
        let _b = subscribe(&hub, 1, false, "d", "x").unwrap();
        assert_eq!(subscribe(&hub, 1, false, "d", "x").err(), Some(Refused::TooManyForUser));
        assert!(subscribe(&hub, 2, false, "d", "x").is_ok());
        drop(a);
        assert!(subscribe(&hub, 1, false, "d", "x").is_ok());
        hub.shutdown();
        assert_eq!(subscribe(&hub, 3, false, "d", "x").err(), Some(Refused::ShuttingDown));
    }

    /// Operators share one frame with their `allowed_actions`; each assigned staff
    /// member gets their own; `allowed_actions_for` itself reaches nobody.
    #[test]
    fn per_recipient_actions_give_operators_one_frame_and_staff_their_own() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("t.db")).unwrap());
        let hub = Hub::new(&Settings::default(), store.clone()).unwrap();
        let a = subscribe(&hub, 1, true, "da", "9999").unwrap();
        let b = subscribe(&hub, 2, true, "db", "9999").unwrap();
        let c = subscribe(&hub, 3, false, "dc", "9999").unwrap();
        let d = subscribe(&hub, 4, false, "dd", "9999").unwrap();
        let draft = EventDraft {
            kind: APPOINTMENT_UPDATED,
            appointment_id: Some(7),
            audience: Audience::operators_and([3, 4]),
            payload: serde_json::json!({"appointment": {"id": 7}, "updated_fields": [],
                "allowed_actions_for": {"operators": ["cancel"], "3": ["reject"], "4": []}}),
        };
        store.write(|tx| tx.emit(draft)).unwrap();
        let (fa, fb, fc, fd) = (recv_event(&a), recv_event(&b), recv_event(&c), recv_event(&d));
        assert!(Arc::ptr_eq(&fa, &fb), "operators share one frame");
        let actions = |f: &[u8]| -> serde_json::Value {
            let text = std::str::from_utf8(&f[if f[1] == 126 { 4 } else { 2 }..]).unwrap();
            let v: serde_json::Value = serde_json::from_str(text).unwrap();
            assert!(v.get("allowed_actions_for").is_none(), "{v}");
            v["appointment"]["allowed_actions"].clone()
        };
        assert_eq!(actions(&fa), serde_json::json!(["cancel"]));
        assert_eq!(actions(&fc), serde_json::json!(["reject"]));
        assert_eq!(actions(&fd), serde_json::json!([]));
    }

    /// The close asked of `s` within `within`.
    fn close_code(s: &Sock, within: Duration) -> Option<CloseCode> {
        match s.sub.sub.outbox().next(within) {
            Next::Close { why, .. } => Some(why.code),
            _ => None,
        }
    }

    /// Every socket of an expired token is closed with 4001; a later-expiring token's
    /// sockets stay. (The index looks at the expired token once, not per socket:
    /// `expiry::tests`.)
    #[test]
    fn an_expired_token_closes_all_its_sockets_and_only_those() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("t.db")).unwrap());
        let settings = Settings { max_sockets_per_user: 100, ..Settings::default() };
        let hub = Hub::new(&settings, store).unwrap();
        // Not in the tokens table: re-reading their expiry finds nothing, so they end.
        let expired: Vec<_> =
            (0..40).map(|_| subscribe(&hub, 1, false, "old", "2000-01-01T00:00:00Z").unwrap()).collect();
        let later: Vec<_> = (0..5).map(|_| subscribe(&hub, 1, false, "new", "2999-01-01T00:00:00Z").unwrap()).collect();
        for s in &expired {
            assert_eq!(close_code(s, Duration::from_secs(5)), Some(CloseCode::Auth));
        }
        for s in &later {
            assert_eq!(close_code(s, Duration::from_millis(10)), None);
        }
        assert_eq!(hub.len(), 45, "closing is the session's job; the hub only asks");
        drop(expired);
        assert_eq!(hub.len(), 5);
        assert_eq!(hub.shared.lock().expiries.sockets("old").len(), 0);
    }

    /// `shutdown` ends the dispatcher thread and waits for it.
    #[test]
    fn shutdown_joins_the_dispatcher() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("t.db")).unwrap());
        let hub = Hub::new(&Settings::default(), store.clone()).unwrap();
        let s = subscribe(&hub, 1, true, "d", "2999").unwrap();
        hub.shutdown();
        assert!(hub.dispatcher.lock().unwrap().is_none());
        assert_eq!(close_code(&s, Duration::from_millis(10)), Some(CloseCode::GoingAway));
        assert!(Hub::new(&Settings::default(), store).is_err(), "the store's feed is handed out once");
    }
}
