//! Token expiry, indexed by time: the hub looks each second only at the tokens whose
//! expiry has passed, once per token (digest) however many sockets use it, instead of
//! scanning every socket.

use std::collections::{BTreeSet, HashMap, HashSet};

/// The live tokens: digest → its expiry as last read and the sockets using it, plus the
/// same (expiry, digest) pairs in time order.
#[derive(Default)]
pub(crate) struct Expiries {
    tokens: HashMap<String, Token>,
    by_time: BTreeSet<(String, String)>,
}

struct Token {
    expiry: String,
    subs: HashSet<u64>,
}

impl Expiries {
    /// Socket `id` uses token `digest`, which expires at `expiry` (an ISO timestamp, as
    /// read when the socket authenticated). A later expiry than the one known wins.
    pub(crate) fn add(&mut self, digest: &str, expiry: &str, id: u64) {
        match self.tokens.get_mut(digest) {
            Some(t) => {
                t.subs.insert(id);
                if expiry > t.expiry.as_str() {
                    let old = std::mem::replace(&mut t.expiry, expiry.to_string());
                    self.by_time.remove(&(old, digest.to_string()));
                    self.by_time.insert((expiry.to_string(), digest.to_string()));
                }
            }
            None => {
                let t = Token { expiry: expiry.to_string(), subs: HashSet::from([id]) };
                self.tokens.insert(digest.to_string(), t);
                self.by_time.insert((expiry.to_string(), digest.to_string()));
            }
        }
    }

    /// Socket `id` is gone.
    pub(crate) fn remove(&mut self, digest: &str, id: u64) {
        if let Some(t) = self.tokens.get_mut(digest) {
            t.subs.remove(&id);
            if t.subs.is_empty() {
                let t = self.tokens.remove(digest).expect("present");
                self.by_time.remove(&(t.expiry, digest.to_string()));
            }
        }
    }

    /// Tokens whose known expiry is not after `now`, oldest first: (expiry, digest).
    pub(crate) fn due(&self, now: &str) -> Vec<(String, String)> {
        self.by_time.iter().take_while(|(e, _)| e.as_str() <= now).cloned().collect()
    }

    /// The token was extended to `expiry` (re-read from the store).
    pub(crate) fn extend(&mut self, digest: &str, expiry: &str) {
        if let Some(t) = self.tokens.get_mut(digest) {
            let old = std::mem::replace(&mut t.expiry, expiry.to_string());
            self.by_time.remove(&(old, digest.to_string()));
            self.by_time.insert((expiry.to_string(), digest.to_string()));
        }
    }

    /// The token ended: forgets it and returns its sockets (to close).
    pub(crate) fn take(&mut self, digest: &str) -> Vec<u64> {
        match self.tokens.remove(digest) {
            Some(t) => {
                self.by_time.remove(&(t.expiry, digest.to_string()));
                t.subs.into_iter().collect()
            }
            None => Vec::new(),
        }
    }

    /// The sockets using `digest`.
    pub(crate) fn sockets(&self, digest: &str) -> Vec<u64> {
        self.tokens.get(digest).map(|t| t.subs.iter().copied().collect()).unwrap_or_default()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        debug_assert_eq!(self.tokens.len(), self.by_time.len());
        self.tokens.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_passed_tokens_are_due_once_each() {
        let mut x = Expiries::default();
        for id in 0..100 {
            x.add("a", "2020-01-01T00:00:00", id);
        }
        x.add("b", "2020-01-01T00:00:05", 100);
        x.add("c", "2099-01-01T00:00:00", 101);
        assert_eq!(x.due("2020-01-01T00:00:01"), vec![("2020-01-01T00:00:00".into(), "a".into())]);
        assert_eq!(x.due("2020-01-02").len(), 2);
        x.extend("b", "2099-01-02");
        assert_eq!(x.due("2020-01-02").len(), 1);
        let mut closed = x.take("a");
        closed.sort();
        assert_eq!(closed, (0..100).collect::<Vec<_>>());
        assert!(x.due("2098-01-01").is_empty());
        x.remove("c", 101);
        x.remove("b", 100);
        assert_eq!(x.len(), 0);
    }

    #[test]
    fn a_socket_with_a_later_expiry_extends_its_token() {
        let mut x = Expiries::default();
        x.add("a", "2020", 1);
        x.add("a", "2030", 2);
        x.add("a", "2025", 3);
        assert!(x.due("2029").is_empty());
        x.remove("a", 2);
        assert_eq!(x.sockets("a").len(), 2);
        assert_eq!(x.due("2031").len(), 1);
    }
}
