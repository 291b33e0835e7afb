//! Password-guess throttling, in memory: failures are counted per client address and per
//! username over a sliding window; over the limit, the attempt answers 429 with
//! `Retry-After`. Logins and password changes each have their own `Throttle`.
//!
//! An attempt reserves its place before any hashing (`begin`): an attempt still being
//! checked counts as a failure, so a burst of concurrent guesses gets no more hashes
//! than the limit allows. The reservation becomes a failure (`Attempt::failed`), is
//! given back on success (`Attempt::succeeded`), or is given back when the attempt ends
//! without an answer (dropped, e.g. the hash gate was busy).
//!
//! So that a stranger cannot lock a real user out, the per-username limit does not apply
//! from an address that has succeeded as that user before (the clinic's own PCs and
//! phones), and it lasts at most `USER_WINDOW`. The per-address limit applies to everyone.
//! Every map is bounded (`MAX_KEYS`): a flood of new keys drops expired entries first,
//! and never an attempt in flight.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const ADDR_LIMIT: usize = 20;
const ADDR_WINDOW: Duration = Duration::from_secs(10 * 60);
pub const USER_LIMIT: usize = 10;
const USER_WINDOW: Duration = Duration::from_secs(5 * 60);
/// How long an address stays "known" for a user after a success.
const KNOWN_FOR: Duration = Duration::from_secs(30 * 24 * 3600);
const MAX_KEYS: usize = 10_000;

#[derive(Default)]
pub struct Throttle {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    by_addr: HashMap<IpAddr, Window>,
    by_user: HashMap<String, Window>,
    known: HashMap<(String, IpAddr), Instant>,
}

/// One key's recent failures (oldest first) and its attempts being checked now.
#[derive(Default)]
struct Window {
    fails: Vec<Instant>,
    in_flight: usize,
}

/// A reserved attempt; see the module doc. Dropping it without an outcome gives the
/// reservation back, so an error or a panic in between cannot leak it.
#[must_use = "an attempt holds a reservation until it is marked failed or succeeded"]
pub struct Attempt<'a> {
    throttle: &'a Throttle,
    user: String,
    addr: IpAddr,
    open: bool,
}

impl Throttle {
    /// Reserves a place for one attempt of `username` from `addr`, or `Err(seconds)` to
    /// wait when the failures plus the attempts in flight already reach a limit.
    pub fn begin(&self, username: &str, addr: IpAddr) -> Result<Attempt<'_>, u64> {
        let user = username.to_lowercase();
        let now = Instant::now();
        let mut st = self.lock();
        let mut wait = wait_for(st.by_addr.get(&addr), ADDR_LIMIT, ADDR_WINDOW, now);
        let known = st.known.get(&(user.clone(), addr)).is_some_and(|t| now.duration_since(*t) < KNOWN_FOR);
        if !known {
            wait = wait.max(wait_for(st.by_user.get(&user), USER_LIMIT, USER_WINDOW, now));
        }
        if wait > 0 {
            return Err(wait);
        }
        entry(&mut st.by_addr, addr, now, ADDR_WINDOW).in_flight += 1;
        entry(&mut st.by_user, user.clone(), now, USER_WINDOW).in_flight += 1;
        Ok(Attempt { throttle: self, user, addr, open: true })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Attempt<'_> {
    /// The password was wrong: the reservation becomes a failure at this moment.
    pub fn failed(mut self) {
        self.open = false;
        let now = Instant::now();
        let mut st = self.throttle.lock();
        record_failure(release(&mut st.by_addr, &self.addr), now, ADDR_WINDOW);
        record_failure(release(&mut st.by_user, &self.user), now, USER_WINDOW);
    }

    /// The password was right: the username's failures are forgotten and this address
    /// becomes known for the username. The address's failures still count.
    pub fn succeeded(mut self) {
        self.open = false;
        let now = Instant::now();
        let mut st = self.throttle.lock();
        release(&mut st.by_addr, &self.addr);
        if let Some(w) = release(&mut st.by_user, &self.user) {
            w.fails.clear();
        }
        tidy(&mut st.by_addr, &self.addr);
        tidy(&mut st.by_user, &self.user);
        if st.known.len() >= MAX_KEYS {
            st.known.retain(|_, t| now.duration_since(*t) < KNOWN_FOR);
            if st.known.len() >= MAX_KEYS {
                st.known.clear();
            }
        }
        st.known.insert((std::mem::take(&mut self.user), self.addr), now);
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if self.open {
            let mut st = self.throttle.lock();
            release(&mut st.by_addr, &self.addr);
            release(&mut st.by_user, &self.user);
            tidy(&mut st.by_addr, &self.addr);
            tidy(&mut st.by_user, &self.user);
        }
    }
}

/// Seconds until a place frees up, or 0 if there is one now. Attempts in flight count
/// as failures made now (most attempts that meet a limit are guesses).
fn wait_for(w: Option<&Window>, limit: usize, window: Duration, now: Instant) -> u64 {
    let Some(w) = w else { return 0 };
    let recent: Vec<&Instant> = w.fails.iter().filter(|t| now.duration_since(**t) < window).collect();
    let counted = recent.len() + w.in_flight;
    if counted < limit {
        return 0;
    }
    // The place that frees first is the `limit`-th newest counted attempt's.
    let age = recent.get(counted - limit).map_or(Duration::ZERO, |t| now.duration_since(**t));
    window.saturating_sub(age).as_secs().max(1)
}

/// The window of `key`, made if needed; a full map first forgets expired windows (never
/// one with attempts in flight, whose reservations must stay counted).
fn entry<K: std::hash::Hash + Eq + Clone>(
    map: &mut HashMap<K, Window>,
    key: K,
    now: Instant,
    window: Duration,
) -> &mut Window {
    if map.len() >= MAX_KEYS && !map.contains_key(&key) {
        map.retain(|_, w| w.in_flight > 0 || w.fails.last().is_some_and(|t| now.duration_since(*t) < window));
        if map.len() >= MAX_KEYS {
            log::warn!("password throttle table full; forgetting old failures");
            map.retain(|_, w| w.in_flight > 0);
        }
    }
    map.entry(key).or_default()
}

/// Gives back one reservation of `key`; the window, if it still exists.
fn release<'m, K: std::hash::Hash + Eq>(map: &'m mut HashMap<K, Window>, key: &K) -> Option<&'m mut Window> {
    let w = map.get_mut(key)?;
    w.in_flight = w.in_flight.saturating_sub(1);
    Some(w)
}

/// Removes `key`'s window once it holds nothing, so the maps stay small.
fn tidy<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Window>, key: &K) {
    if map.get(key).is_some_and(|w| w.in_flight == 0 && w.fails.is_empty()) {
        map.remove(key);
    }
}

fn record_failure(w: Option<&mut Window>, now: Instant, window: Duration) {
    let Some(w) = w else { return };
    w.fails.retain(|t| now.duration_since(*t) < window);
    // Only the newest `limit`-ish entries matter; keep the vector small.
    if w.fails.len() >= 64 {
        w.fails.remove(0);
    }
    w.fails.push(now);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn locks_a_username_but_not_from_a_known_address() {
        let t = Throttle::default();
        let home = ip("10.0.0.2");
        t.begin("Ana", home).unwrap().succeeded();
        for i in 0..USER_LIMIT {
            t.begin("ana", ip(&format!("10.0.1.{i}"))).unwrap().failed();
        }
        assert!(t.begin("ana", ip("10.0.2.1")).is_err());
        assert!(t.begin("ANA", home).is_ok());
    }

    #[test]
    fn locks_an_address_for_any_username() {
        let t = Throttle::default();
        let a = ip("10.0.0.9");
        for i in 0..ADDR_LIMIT {
            t.begin(&format!("user{i}"), a).unwrap().failed();
        }
        let wait = t.begin("someone", a).err().unwrap();
        assert!(wait > 0 && wait <= ADDR_WINDOW.as_secs());
        assert!(t.begin("someone", ip("10.0.0.10")).is_ok());
    }

    /// Attempts still being checked hold their places: no more than the limit at once.
    #[test]
    fn attempts_in_flight_count_against_the_limits() {
        let t = Throttle::default();
        let held: Vec<Attempt> = (0..USER_LIMIT).map(|i| t.begin("ana", ip(&format!("10.0.3.{i}"))).unwrap()).collect();
        assert!(t.begin("ana", ip("10.0.4.1")).is_err(), "the user's places are all in flight");
        let from_one: Vec<Attempt> =
            (0..ADDR_LIMIT).map(|i| t.begin(&format!("u{i}"), ip("10.0.5.1")).unwrap()).collect();
        assert!(t.begin("other", ip("10.0.5.1")).is_err(), "the address's places are all in flight");
        // Dropped without an outcome (e.g. the hash gate was busy): the places come back.
        drop(held);
        drop(from_one);
        assert!(t.begin("ana", ip("10.0.4.1")).is_ok());
        assert!(t.begin("other", ip("10.0.5.1")).is_ok());
    }

    /// A success gives its place back and clears the username's failures, while other
    /// attempts in flight keep theirs.
    #[test]
    fn a_success_releases_and_clears_but_keeps_others_in_flight() {
        let t = Throttle::default();
        for i in 0..USER_LIMIT - 2 {
            t.begin("ana", ip(&format!("10.0.6.{i}"))).unwrap().failed();
        }
        let other = t.begin("ana", ip("10.0.7.1")).unwrap();
        t.begin("ana", ip("10.0.7.2")).unwrap().succeeded();
        let counted = t.lock().by_user.get("ana").map(|w| (w.fails.len(), w.in_flight));
        assert_eq!(counted, Some((0, 1)));
        other.failed();
        assert_eq!(t.lock().by_user.get("ana").map(|w| (w.fails.len(), w.in_flight)), Some((1, 0)));
        t.begin("ben", ip("10.0.7.3")).unwrap().succeeded();
        assert!(!t.lock().by_user.contains_key("ben"), "an empty window is not kept");
    }

    /// A full table forgets idle windows, never reservations in flight.
    #[test]
    fn a_full_table_keeps_attempts_in_flight() {
        let t = Throttle::default();
        let held = t.begin("held", ip("10.1.0.1")).unwrap();
        for i in 0..MAX_KEYS + 5 {
            let addr = ip(&format!("10.{}.{}.{}", 2 + i / 65536, (i / 256) % 256, i % 256));
            t.begin(&format!("u{i}"), addr).unwrap().failed();
        }
        let st = t.lock();
        assert!(st.by_user.len() <= MAX_KEYS && st.by_addr.len() <= MAX_KEYS);
        assert_eq!(st.by_user.get("held").map(|w| w.in_flight), Some(1));
        assert_eq!(st.by_addr.get(&ip("10.1.0.1")).map(|w| w.in_flight), Some(1));
        drop(st);
        drop(held);
    }
}
