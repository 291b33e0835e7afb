//! Django-compatible password hashes: `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`.
//! Hashes copied from the old Django database verify as they are, at whatever iteration
//! count they were made with; new ones use the configured count (≥ 600,000).

use base64::Engine;
use rand::{distributions::Alphanumeric, Rng};
use sha2::Sha256;
use subtle::ConstantTimeEq;

const ALGORITHM: &str = "pbkdf2_sha256";
/// A stored hash asking for more work than this is refused rather than computed: it
/// could only come from a tampered database, and would tie up a core for minutes.
const MAX_VERIFY_ITERATIONS: u32 = 10_000_000;

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
/// hash (Django marks unusable ones with a leading `!`).
pub fn verify(password: &str, encoded: &str) -> bool {
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
