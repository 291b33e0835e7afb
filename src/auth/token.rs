//! Knox 5 tokens: 32 random bytes from the OS, shown to the client once as 64 lowercase
//! hex characters; the server keeps only the SHA-512 hex digest and the first 15
//! characters (`token_key`) to find it.

use rand::RngCore;
use sha2::{Digest, Sha512};

pub const TOKEN_KEY_LENGTH: usize = 15;
pub const TOKEN_LENGTH: usize = 64;

/// `n` random bytes from the OS, as lowercase hex.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex(&bytes)
}

/// A new token.
pub fn generate() -> String {
    random_hex(TOKEN_LENGTH / 2)
}

/// What is stored for a token.
pub fn digest(token: &str) -> String {
    hex(&Sha512::digest(token.as_bytes()))
}

/// Is this shaped like one of our tokens? Anything else is refused without a lookup.
pub fn well_formed(token: &str) -> bool {
    token.len() == TOKEN_LENGTH && token.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

pub fn token_key(token: &str) -> &str {
    &token[..TOKEN_KEY_LENGTH]
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knox_shapes() {
        let t = generate();
        assert!(well_formed(&t));
        assert_eq!(digest(&t).len(), 128);
        assert_ne!(generate(), t);
        assert!(!well_formed("ABC"));
        assert_eq!(digest("abc").get(..16), Some("ddaf35a193617aba"));
    }
}
