//! Login throttling, in memory: failures are counted per client address and per
//! username over a sliding window; over the limit, logins answer 429 with `Retry-After`.
//!
//! So that a stranger cannot lock a real user out, the per-username limit does not apply
//! from an address that has logged in as that user before (the clinic's own PCs and
//! phones), and it lasts at most `USER_WINDOW`. The per-address limit applies to everyone.
//! Every map is bounded (`MAX_KEYS`): a flood of new keys drops expired entries first.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const ADDR_LIMIT: usize = 20;
const ADDR_WINDOW: Duration = Duration::from_secs(10 * 60);
const USER_LIMIT: usize = 10;
const USER_WINDOW: Duration = Duration::from_secs(5 * 60);
/// How long an address stays "known" for a user after a successful login.
const KNOWN_FOR: Duration = Duration::from_secs(30 * 24 * 3600);
const MAX_KEYS: usize = 10_000;

#[derive(Default)]
pub struct Throttle {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    by_addr: HashMap<IpAddr, Vec<Instant>>,
    by_user: HashMap<String, Vec<Instant>>,
    known: HashMap<(String, IpAddr), Instant>,
}

impl Throttle {
    /// `Err(seconds)` when this login must wait.
    pub fn check(&self, username: &str, addr: IpAddr) -> Result<(), u64> {
        let user = username.to_lowercase();
        let now = Instant::now();
        let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = wait_for(st.by_addr.get(&addr), ADDR_LIMIT, ADDR_WINDOW, now);
        let known = st.known.get(&(user.clone(), addr)).is_some_and(|t| now.duration_since(*t) < KNOWN_FOR);
        if !known {
            wait = wait.max(wait_for(st.by_user.get(&user), USER_LIMIT, USER_WINDOW, now));
        }
        if wait == 0 {
            Ok(())
        } else {
            Err(wait)
        }
    }

    pub fn failed(&self, username: &str, addr: IpAddr) {
        let now = Instant::now();
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        push(&mut st.by_addr, addr, now, ADDR_WINDOW);
        push(&mut st.by_user, username.to_lowercase(), now, USER_WINDOW);
    }

    pub fn succeeded(&self, username: &str, addr: IpAddr) {
        let user = username.to_lowercase();
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.by_user.remove(&user);
        if st.known.len() >= MAX_KEYS {
            let now = Instant::now();
            st.known.retain(|_, t| now.duration_since(*t) < KNOWN_FOR);
            if st.known.len() >= MAX_KEYS {
                st.known.clear();
            }
        }
        st.known.insert((user, addr), Instant::now());
    }
}

/// Seconds until the oldest failure in the window expires, if the window is full.
fn wait_for(fails: Option<&Vec<Instant>>, limit: usize, window: Duration, now: Instant) -> u64 {
    let Some(fails) = fails else { return 0 };
    let recent: Vec<&Instant> = fails.iter().filter(|t| now.duration_since(**t) < window).collect();
    if recent.len() < limit {
        return 0;
    }
    let oldest = recent[recent.len() - limit];
    (window.saturating_sub(now.duration_since(*oldest))).as_secs().max(1)
}

fn push<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Vec<Instant>>, key: K, now: Instant, window: Duration) {
    if map.len() >= MAX_KEYS && !map.contains_key(&key) {
        map.retain(|_, v| v.last().is_some_and(|t| now.duration_since(*t) < window));
        if map.len() >= MAX_KEYS {
            log::warn!("login throttle table full; forgetting old failures");
            map.clear();
        }
    }
    let v = map.entry(key).or_default();
    v.retain(|t| now.duration_since(*t) < window);
    // Only the newest `limit`-ish entries matter; keep the vector small.
    if v.len() >= 64 {
        v.remove(0);
    }
    v.push(now);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_a_username_but_not_from_a_known_address() {
        let t = Throttle::default();
        let home: IpAddr = "10.0.0.2".parse().unwrap();
        t.succeeded("Ana", home);
        for i in 0..USER_LIMIT {
            let stranger: IpAddr = format!("10.0.1.{i}").parse().unwrap();
            t.failed("ana", stranger);
        }
        assert!(t.check("ana", "10.0.2.1".parse().unwrap()).is_err());
        assert!(t.check("ANA", home).is_ok());
    }

    #[test]
    fn locks_an_address_for_any_username() {
        let t = Throttle::default();
        let a: IpAddr = "10.0.0.9".parse().unwrap();
        for i in 0..ADDR_LIMIT {
            t.failed(&format!("user{i}"), a);
        }
        let wait = t.check("someone", a).unwrap_err();
        assert!(wait > 0 && wait <= ADDR_WINDOW.as_secs());
        assert!(t.check("someone", "10.0.0.10".parse().unwrap()).is_ok());
    }
}
