//! The memory all connections together may spend on request bodies. Each connection's
//! own limits (head 16 KiB, body `max_body_bytes`) do not add up to a bound: 600 callers
//! sending 1 MiB at once would hold 600 MiB. So a body over `SMALL_BODY_BYTES` first takes
//! a permit for its bytes from this one shared budget, and when the budget is spent the
//! request is answered 503 with `Retry-After` at once instead of being read. Small bodies
//! need no permit: at most `max_connections` of them exist, 16 KiB each.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Bodies up to this size are read without a permit, and are all a caller who is not
/// logged in may send (see `Service::body_limit`). Every body this API takes from an
/// anonymous caller (a login) is far smaller.
pub const SMALL_BODY_BYTES: usize = 16 * 1024;

/// The whole budget: room for 16 bodies of 1 MiB at once, far more than two cores can
/// handle at a time anyway, and small beside a Raspberry Pi's memory.
pub const BODY_BUDGET_BYTES: usize = 32 * 1024 * 1024;

/// What one body costs the budget: its bytes, and as much again for the values parsed
/// from it (`Request::json` bounds how many values one body may hold, so parsing cannot
/// grow it by more).
pub fn cost(body_bytes: usize) -> usize {
    body_bytes.saturating_mul(2)
}

pub struct BodyBudget {
    left: AtomicUsize,
}

/// Bytes taken from a `BodyBudget`, given back when dropped.
pub struct Permit<'a> {
    budget: &'a BodyBudget,
    bytes: usize,
}

impl BodyBudget {
    pub fn new(bytes: usize) -> Self {
        BodyBudget { left: AtomicUsize::new(bytes) }
    }

    /// Takes `bytes`, or `None` when fewer are left.
    pub fn take(&self, bytes: usize) -> Option<Permit<'_>> {
        self.left
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| left.checked_sub(bytes))
            .ok()
            .map(|_| Permit { budget: self, bytes })
    }

    /// Bytes not taken now.
    pub fn left(&self) -> usize {
        self.left.load(Ordering::Acquire)
    }
}

impl Default for BodyBudget {
    fn default() -> Self {
        Self::new(BODY_BUDGET_BYTES)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.budget.left.fetch_add(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_come_back() {
        let b = BodyBudget::new(10);
        let p = b.take(6).unwrap();
        assert!(b.take(5).is_none());
        let q = b.take(4).unwrap();
        assert_eq!(b.left(), 0);
        drop(p);
        drop(q);
        assert_eq!(b.left(), 10);
    }
}
