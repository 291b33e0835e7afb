//! Django-compatible password hashes: `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`,
//! ours. Hashes copied from the old Django database verify as they are: pbkdf2 at whatever
//! iteration count it was made with, and Django's `bcrypt_sha256$<bcrypt string>` (the
//! clinic's original hasher; bcrypt over the lowercase hex SHA-256 of the password, the
//! Django ≥ 2.2 form). New hashes are always pbkdf2 at the configured count (≥ 600,000);
//! `needs_upgrade` tells the login which stored hashes to replace.

use base64::Engine;
use rand::{distributions::Alphanumeric, Rng};
use sha2::Sha256;
use subtle::ConstantTimeEq;

const ALGORITHM: &str = "pbkdf2_sha256";
const BCRYPT_SHA256: &str = "bcrypt_sha256";
/// A stored hash asking for more work than this is refused rather than computed: it
/// could only come from a tampered database, and would tie up a core for minutes.
const MAX_VERIFY_ITERATIONS: u32 = 10_000_000;
/// The same bound for bcrypt's cost (2^cost rounds): Django's default is 12; 16 already
/// takes seconds.
const MAX_BCRYPT_COST: u32 = 16;

/// A new Django-format hash of `password` with a random 22-character salt (as Django).
pub fn hash(password: &str, iterations: u32) -> String {
    let salt: String = rand::rngs::OsRng.sample_iter(&Alphanumeric).take(22).map(char::from).collect();
    encode(password, &salt, iterations)
}

fn encode(password: &str, salt: &str, iterations: u32) -> String {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt.as_bytes(), iterations, &mut out);
    let b64 = base64::engine::general_purpose::STANDARD.encode(out);
    format!("{ALGORITHM}${iterations}${salt}${b64}")
}

/// Does `password` match the stored `encoded` hash? False for any malformed or unusable
/// hash (Django marks unusable ones with a leading `!`) and any other algorithm.
pub fn verify(password: &str, encoded: &str) -> bool {
    match encoded.split_once('$') {
        Some((BCRYPT_SHA256, bcrypt_hash)) => verify_bcrypt_sha256(password, bcrypt_hash),
        _ => verify_pbkdf2(password, encoded),
    }
}

/// Can `verify` ever accept this stored hash (a supported algorithm, not unusable)? The
/// Django import keeps such hashes and marks the rest unusable.
pub fn is_supported(encoded: &str) -> bool {
    matches!(encoded.split_once('$'), Some((ALGORITHM | BCRYPT_SHA256, _)))
}

/// Should a hash that just verified be replaced by a new one at `iterations`? Yes for
/// any other algorithm (imported bcrypt) and for pbkdf2 with fewer iterations, as Django
/// does on login.
pub fn needs_upgrade(encoded: &str, iterations: u32) -> bool {
    !encoded.starts_with(ALGORITHM) || iterations_of(encoded).is_none_or(|n| n < iterations)
}

/// Django's BCryptSHA256PasswordHasher: bcrypt of the lowercase hex SHA-256 of the
/// password (so long passwords are not cut at bcrypt's 72 bytes).
fn verify_bcrypt_sha256(password: &str, bcrypt_hash: &str) -> bool {
    use sha2::Digest;
    // `$2b$12$...`: refuse costs a real Django never wrote before doing any work.
    let cost = bcrypt_hash.split('$').nth(2).and_then(|c| c.parse::<u32>().ok());
    if cost.is_none_or(|c| c > MAX_BCRYPT_COST) {
        return false;
    }
    let prehash: String = Sha256::digest(password.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    // The crate compares the hashes in constant time.
    bcrypt::verify(prehash, bcrypt_hash).unwrap_or(false)
}

fn verify_pbkdf2(password: &str, encoded: &str) -> bool {
    let mut parts = encoded.splitn(4, '$');
    let (Some(alg), Some(iters), Some(salt), Some(expected)) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Ok(iterations) = iters.parse::<u32>() else { return false };
    if alg != ALGORITHM || iterations == 0 || iterations > MAX_VERIFY_ITERATIONS || salt.contains('$') {
        return false;
    }
    let computed = encode(password, salt, iterations);
    let computed_hash = computed.rsplit('$').next().unwrap_or("");
    computed_hash.as_bytes().ct_eq(expected.as_bytes()).into()
}

/// The same work as checking a real password, for logins with an unknown username, so
/// that the answer's timing does not tell which usernames exist.
pub fn verify_dummy(password: &str, iterations: u32) {
    let _ = encode(password, "dummysaltdummysalt0000", iterations);
}

/// The iteration count a stored hash was made with.
pub fn iterations_of(encoded: &str) -> Option<u32> {
    encoded.split('$').nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_a_hash_in_django_format() {
        // Django's PBKDF2PasswordHasher output for ("royalcare123", salt "Yw3c1Xr1mVhz",
        // 1000 iterations): the same bytes as hashlib.pbkdf2_hmac, base64-encoded.
        let enc = "pbkdf2_sha256$1000$Yw3c1Xr1mVhz$MSeq78oFzlEBasm/mB+X7YLJ+HY5Ga9q2I6/mSV+iLQ=";
        assert!(verify("royalcare123", enc));
        assert!(!verify("royalcare124", enc));
    }

    /// Django 5.1's BCryptSHA256PasswordHasher (cost 12), made in the venv of
    /// tests/django/requirements-knox42.txt:
    /// python -c "import django;from django.conf import settings;settings.configure(PASSWORD_HASHERS=['django.contrib.auth.hashers.BCryptSHA256PasswordHasher']);django.setup();from django.contrib.auth.hashers import make_password;print(make_password('royalcare123'))"
    #[test]
    fn verifies_django_bcrypt_sha256_and_asks_for_an_upgrade() {
        let enc = "bcrypt_sha256$$2b$12$A2DZDvNQQQ9mQ2Wv4SZBluLklVAsnkRGygKX0IqLxuO7oV.RUVp7O";
        assert!(verify("royalcare123", enc));
        assert!(!verify("royalcare124", enc));
        assert!(is_supported(enc) && needs_upgrade(enc, 1000));
        // A cost no Django writes is refused before any work.
        assert!(!verify("royalcare123", &enc.replace("$12$", "$31$")));
        assert!(!verify("royalcare123", "bcrypt_sha256$garbage"));
        let ours = hash("pw", 1000);
        assert!(!needs_upgrade(&ours, 1000) && needs_upgrade(&ours, 2000));
        assert!(!is_supported("argon2$argon2id$v=19$m=102400,t=2,p=8$c2FsdA$AAAA") && !is_supported("!x"));
    }

    #[test]
    fn matches_python_hashlib() {
        // python3 -c "import hashlib,base64;print(base64.b64encode(hashlib.pbkdf2_hmac('sha256',b'pw',b'salt',1000)).decode())"
        assert_eq!(encode("pw", "salt", 1000), "pbkdf2_sha256$1000$salt$CjglNVXON/XHKmtwP5loFOvyQfIDrxRuk9zesDHFVn4=");
    }

    #[test]
    fn rejects_malformed_and_unusable() {
        for bad in
            ["", "!", "!abc", "md5$1$a$b", "pbkdf2_sha256$0$a$b", "pbkdf2_sha256$x$a$b", "pbkdf2_sha256$99999999$a$b"]
        {
            assert!(!verify("pw", bad), "{bad}");
        }
    }

    #[test]
    fn new_hashes_are_salted() {
        let a = hash("pw", 1000);
        let b = hash("pw", 1000);
        assert_ne!(a, b);
        assert!(verify("pw", &a) && verify("pw", &b));
        assert_eq!(iterations_of(&a), Some(1000));
    }
}
