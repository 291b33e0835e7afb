//! Who is calling, and the life of their token (django-rest-knox semantics): login by
//! username or email, `Authorization: Token <token>` on every call, auto-refresh on use,
//! logout, logoutall, password change, deactivation. Every revocation appends a
//! `session_revoked` event in the same transaction, which is how live sockets learn to
//! close — in this process or, for the CLI, from another one.
//!
//! Hashing is slow on purpose, so it is bounded: at most one hash fewer than the cores at
//! a time, so one core stays free for everything else (`HashGate`, `hash_permits`); and
//! every login and password change reserves its place in a per-address and per-username
//! throttle before it hashes (`throttle`).

pub mod password;
pub mod throttle;
pub mod token;

use crate::config::Settings;
use crate::error::{ApiError, ErrorCode};
use crate::events::{Audience, EventDraft, SESSION_REVOKED};
use crate::store::{tokens, users, users::User, Store, Tx};
use chrono::{Duration as ChronoDuration, Utc};
use serde_json::json;
use std::net::IpAddr;
use std::sync::{Condvar, Mutex};
use std::time::Duration;
use subtle::ConstantTimeEq;

/// Knox's MIN_REFRESH_INTERVAL: a token's expiry is rewritten at most this often.
const MIN_REFRESH_SECS: i64 = 60;
/// How long a login waits for a free hashing permit before answering 503.
const HASH_WAIT: Duration = Duration::from_secs(10);
/// Django's username limit; longer login names cannot exist, so they fail fast.
const MAX_LOGIN_LEN: usize = 254;
const MAX_PASSWORD_LEN: usize = 4096;

/// A caller whose token checked out.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    /// The stored digest of the token used (identifies the session, is not the token).
    pub digest: String,
    pub expiry: String,
}

/// How many hashes may run at once on a machine with `cores` cores: all but one, so a
/// flood of logins cannot take the core that answers everything else (at least one).
pub fn hash_permits(cores: usize) -> usize {
    cores.saturating_sub(1).max(1)
}

/// Bounds concurrent password hashing (see `hash_permits`).
pub struct HashGate {
    free: Mutex<usize>,
    cv: Condvar,
}

impl HashGate {
    pub fn new(permits: usize) -> Self {
        HashGate { free: Mutex::new(permits.max(1)), cv: Condvar::new() }
    }

    /// Runs `f` while holding one permit; 503 if none frees up in time.
    pub fn run<T>(&self, f: impl FnOnce() -> T) -> Result<T, ApiError> {
        let guard = self.free.lock().unwrap_or_else(|p| p.into_inner());
        let (mut free, _) =
            self.cv.wait_timeout_while(guard, HASH_WAIT, |f| *f == 0).unwrap_or_else(|p| p.into_inner());
        if *free == 0 {
            return Err(ApiError::busy());
        }
        *free -= 1;
        drop(free);
        // Given back on drop, so a panic inside `f` cannot leak the permit.
        let _permit = Permit(self);
        Ok(f())
    }
}

struct Permit<'a>(&'a HashGate);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.0.cv.notify_one();
    }
}

/// Login state shared by all requests.
pub struct Logins {
    pub throttle: throttle::Throttle,
    /// Wrong current passwords in change-password (a stolen token must not allow fast
    /// guessing); keyed by user id, separate from logins.
    pub password_changes: throttle::Throttle,
    pub gate: HashGate,
}

impl Logins {
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Logins {
            throttle: throttle::Throttle::default(),
            password_changes: throttle::Throttle::default(),
            gate: HashGate::new(hash_permits(cores)),
        }
    }
}

impl Default for Logins {
    fn default() -> Self {
        Self::new()
    }
}

fn change_throttled(retry_after: u64) -> ApiError {
    let mut e = ApiError::new(
        ErrorCode::Throttled,
        format!("Too many wrong current passwords; try again in {retry_after} seconds."),
    );
    e.retry_after = Some(retry_after);
    e
}

fn invalid_token() -> ApiError {
    ApiError::new(ErrorCode::AuthenticationFailed, "Your session has ended or the token is not valid; log in again.")
}

/// What the token operations need: the store, the settings (lifetime, refresh,
/// hashing) and the login state. Built by the caller for each use; it holds references.
pub struct Auth<'a> {
    pub store: &'a Store,
    pub settings: &'a Settings,
    pub logins: &'a Logins,
}

impl Auth<'_> {
    /// Checks a token and, with auto-refresh on, extends its life (one write a minute at most).
    pub fn authenticate_token(&self, token: &str) -> Result<Principal, ApiError> {
        if !token::well_formed(token) {
            return Err(invalid_token());
        }
        let now = crate::time::now_iso();
        // Our own (knox 5) form first; the knox 4.2 form finds only tokens imported from
        // Django, whose 8-character keys none of ours has.
        let forms = token::stored_forms(token);
        let found = self.store.read(|c| -> Result<_, ApiError> {
            for (key, digest) in forms {
                let row = tokens::by_key(c, key)?
                    .into_iter()
                    .find(|r| bool::from(r.digest.as_bytes().ct_eq(digest.as_bytes())));
                if let Some(row) = row {
                    return Ok(users::get(c, row.user_id)?.map(|u| (u, row.digest, row.expiry)));
                }
            }
            Ok(None)
        })?;
        let Some((user, digest, mut expiry)) = found else { return Err(invalid_token()) };
        if expiry <= now || !user.is_active {
            return Err(invalid_token());
        }
        if self.settings.auto_refresh {
            let current = crate::time::parse_iso(&expiry).unwrap_or_else(Utc::now);
            let renewed = Utc::now() + ChronoDuration::seconds(self.settings.token_ttl_secs as i64);
            if (renewed - current).num_seconds() > MIN_REFRESH_SECS {
                let renewed = crate::time::iso(renewed);
                self.store.write(|tx| tokens::set_expiry(tx, &digest, &renewed))?;
                expiry = renewed;
            }
        }
        Ok(Principal { user, digest, expiry })
    }

    /// Checks a username-or-email and password; see the module doc for the bounds.
    pub fn login(&self, login: &str, password: &str, addr: IpAddr) -> Result<LoginGrant, ApiError> {
        let bad = || {
            ApiError::new(
                ErrorCode::InvalidLogin,
                "Unable to log in with the username and password given; check them and try again.",
            )
        };
        let login = login.trim();
        if login.is_empty() || login.len() > MAX_LOGIN_LEN || password.len() > MAX_PASSWORD_LEN {
            return Err(bad());
        }
        // Reserved before the hash; given back if we return early without an answer.
        let attempt = self.logins.throttle.begin(login, addr).map_err(ApiError::throttled)?;
        let found = self.store.read(|c| users::by_login(c, login))?;
        let iterations = self.settings.hashing.password_iterations;
        let ok = self.logins.gate.run(|| match &found {
            Some((_, hash)) => password::verify(password, hash),
            None => {
                password::verify_dummy(password, iterations);
                false
            }
        })?;
        let (user, hash) = match found {
            // An inactive account counts as a failure too, so the throttle does not tell
            // a right password for it from a wrong one.
            Some(f) if ok && f.0.is_active => f,
            _ => {
                attempt.failed();
                return Err(bad());
            }
        };
        attempt.succeeded();
        // Like Django: a hash made with fewer iterations than we use now, or with another
        // algorithm (bcrypt from the Django import), is replaced by our default.
        let upgraded = if password::needs_upgrade(&hash, iterations) {
            Some(self.logins.gate.run(|| password::hash(password, iterations))?)
        } else {
            None
        };
        let token = token::generate();
        let expiry = crate::time::iso_in(self.settings.token_ttl_secs as i64);
        self.store.write(|tx| -> Result<(), ApiError> {
            if let Some(h) = &upgraded {
                users::set_password(tx, user.id, h)?;
            }
            tokens::insert(tx, &token::digest(&token), token::token_key(&token), user.id, &expiry)?;
            Ok(())
        })?;
        log::info!("user {} ({}) logged in from {addr}", user.username, user.role);
        Ok(LoginGrant { token, expiry, user })
    }

    pub fn logout(&self, who: &Principal) -> Result<(), ApiError> {
        self.store.write(|tx| revoke(tx, who.user.id, Some(vec![who.digest.clone()])))?;
        Ok(())
    }

    pub fn logout_all(&self, who: &Principal) -> Result<(), ApiError> {
        self.store.write(|tx| revoke(tx, who.user.id, None))?;
        Ok(())
    }

    /// Changes the caller's password after checking the current one; ends their other
    /// sessions. Wrong current passwords are throttled per user and per address, like logins.
    pub fn change_password(&self, who: &Principal, current: &str, new: &str, addr: IpAddr) -> Result<(), ApiError> {
        check_new_password("new_password", &who.user.username, new)?;
        let attempt = self.logins.password_changes.begin(&who.user.id.to_string(), addr).map_err(change_throttled)?;
        let stored = self.store.read(|c| users::password_hash(c, who.user.id))?.unwrap_or_default();
        let iterations = self.settings.hashing.password_iterations;
        let (ok, new_hash) = self.logins.gate.run(|| {
            let ok = current.len() <= MAX_PASSWORD_LEN && password::verify(current, &stored);
            (ok, ok.then(|| password::hash(new, iterations)))
        })?;
        let Some(new_hash) = new_hash.filter(|_| ok) else {
            attempt.failed();
            return Err(ApiError::field("current_password", "is not correct"));
        };
        attempt.succeeded();
        self.store.write(|tx| -> Result<(), ApiError> {
            users::set_password(tx, who.user.id, &new_hash)?;
            let others = tokens::delete_for_user(tx, who.user.id, Some(&who.digest))?;
            // Already deleted above; `revoke` with these digests only records the event.
            revoke(tx, who.user.id, Some(others))?;
            Ok(())
        })
    }

    /// Deletes expired tokens (closing their sockets); run by the maintenance loop.
    pub fn delete_expired_tokens(&self) -> Result<usize, ApiError> {
        self.store.write(|tx| -> Result<usize, ApiError> {
            let gone = tokens::delete_expired(tx, &crate::time::now_iso())?;
            let n = gone.len();
            let mut by_user: std::collections::BTreeMap<i64, Vec<String>> = Default::default();
            for (u, d) in gone {
                by_user.entry(u).or_default().push(d);
            }
            for (u, ds) in by_user {
                revoke(tx, u, Some(ds))?;
            }
            Ok(n)
        })
    }
}

/// What a successful login gives: the plain token (shown once), its expiry, the user.
pub struct LoginGrant {
    pub token: String,
    pub expiry: String,
    pub user: User,
}

/// Deletes tokens and tells the hub to close their sockets, in `tx`.
/// `digests: None` means every token of the user.
pub fn revoke(tx: &mut Tx, user_id: i64, digests: Option<Vec<String>>) -> rusqlite::Result<()> {
    let payload = match digests {
        None => {
            tokens::delete_for_user(tx, user_id, None)?;
            json!({"user_id": user_id, "all": true})
        }
        Some(ds) => {
            if ds.is_empty() {
                return Ok(());
            }
            for d in &ds {
                tokens::delete(tx, d)?;
            }
            json!({"user_id": user_id, "digests": ds})
        }
    };
    tx.emit(EventDraft { kind: SESSION_REVOKED, appointment_id: None, audience: Audience::only([user_id]), payload })?;
    Ok(())
}

/// Deactivates a user and ends all their sessions, in `tx` (staff API and CLI). The
/// last active operator is refused (an `is_active` field error): without one, nobody
/// could book, assign or reactivate anyone from the app. Checked in the same
/// transaction as the change, so two deactivations at once cannot both pass.
pub fn deactivate(tx: &mut Tx, user_id: i64) -> Result<(), ApiError> {
    let (is_active_operator, others): (bool, i64) = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1 AND role = 'operator' AND is_active = 1),
                (SELECT COUNT(*) FROM users WHERE role = 'operator' AND is_active = 1 AND id <> ?1)",
        [user_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if is_active_operator && others == 0 {
        return Err(ApiError::field(
            "is_active",
            "This is the last active operator; activate or add another operator first.",
        ));
    }
    users::set_active(tx, user_id, false)?;
    Ok(revoke(tx, user_id, None)?)
}

/// Django's basic password rules, as a field error on `field`.
pub fn check_new_password(field: &str, username: &str, password: &str) -> Result<(), ApiError> {
    let problem = if password.chars().count() < 8 {
        Some("must be at least 8 characters")
    } else if password.len() > MAX_PASSWORD_LEN {
        Some("is too long")
    } else if password.chars().all(|c| c.is_ascii_digit()) {
        Some("must not be only digits")
    } else if password.eq_ignore_ascii_case(username) {
        Some("must not be the username")
    } else {
        None
    };
    match problem {
        Some(p) => Err(ApiError::field(field, p)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};

    /// One core stays free for everything but hashing, except on a single core.
    #[test]
    fn hashing_leaves_a_core_free() {
        assert_eq!([1, 2, 3, 4, 8].map(hash_permits), [1, 1, 2, 3, 7]);
        assert_eq!(hash_permits(0), 1);
    }

    /// Never more hashes at once than permits, and a panicking hash gives its permit back.
    #[test]
    fn hash_gate_bounds_concurrency() {
        let gate = Arc::new(HashGate::new(2));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let start = Arc::new(Barrier::new(6));
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let (gate, running, peak, start) = (gate.clone(), running.clone(), peak.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    gate.run(|| {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        password::hash("pw", 20_000);
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .unwrap();
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
        let g = gate.clone();
        let _ = std::thread::spawn(move || g.run(|| panic!("boom"))).join();
        assert_eq!(*gate.free.lock().unwrap(), 2);
    }
}
