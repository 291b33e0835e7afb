//! Knox 5 tokens: 32 random bytes from the OS, shown to the client once as 64 lowercase
//! hex characters; the server keeps only the SHA-512 hex digest and the first 15
//! characters (`token_key`) to find it. Tokens imported from a knox 4.2 database
//! (`royal-care import-django`) look the same to the client but were stored differently:
//! the digest is over the 32 raw bytes (the hex decoded) and the key is 8 characters;
//! `stored_forms` gives both ways a presented token may have been stored.

use rand::RngCore;
use sha2::{Digest, Sha512};

pub const TOKEN_KEY_LENGTH: usize = 15;
/// knox 4.2's `token_key` length (imported tokens only).
pub const KNOX42_KEY_LENGTH: usize = 8;
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

/// knox 4.2's digest: SHA-512 over the token's bytes (its hex decoded), as hex. Only for
/// a `well_formed` token (anything else gives the digest of nothing useful, never a panic).
pub fn knox42_digest(token: &str) -> String {
    let raw: Vec<u8> = token
        .as_bytes()
        .chunks(2)
        .map(|p| std::str::from_utf8(p).ok().and_then(|h| u8::from_str_radix(h, 16).ok()).unwrap_or(0))
        .collect();
    hex(&Sha512::digest(&raw))
}

/// The `(token_key, digest)` pairs a presented (`well_formed`) token may be stored under:
/// ours (knox 5) first, then knox 4.2's for imported tokens. The keys have different
/// lengths, so a row of one kind is never looked up as the other. Each digest is
/// computed when its pair is taken: every request checks a token, and most are ours.
pub fn stored_forms(token: &str) -> impl Iterator<Item = (&str, String)> {
    [false, true].into_iter().map(move |knox42| {
        if knox42 {
            (&token[..KNOX42_KEY_LENGTH], knox42_digest(token))
        } else {
            (token_key(token), digest(token))
        }
    })
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
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

    /// A token and the digests knox's own `hash_token` gives for it, 4.2 then 5.0.2 (each
    /// in the venv of tests/django/requirements-knox{42,5}.txt):
    /// python -c "import django;from django.conf import settings;settings.configure(INSTALLED_APPS=['rest_framework','knox']);django.setup();from knox.crypto import hash_token;print(hash_token('00ff'*16))"
    #[test]
    fn knox42_digest_is_over_the_raw_bytes() {
        let t = "00ff".repeat(16);
        assert_eq!(
            knox42_digest(&t),
            "f426b155c29f340784b0c48b71c7e67aee287bfbcdaa918b739af161c014cc6e114535dd8eacf9ffc0dc3dba3c33362f867ec0a72b297a3dd3e9830beed35fdd"
        );
        assert_eq!(
            digest(&t),
            "bca17be805e71868e12f2fc46a3925d5f1d85279c71fd24839a7c716414a04af4d882a769ab13ab1938719fd71252f210f86aa036436af2798f5b26d90de5396"
        );
        let [(key5, d5), (key42, d42)]: [(&str, String); 2] = stored_forms(&t).collect::<Vec<_>>().try_into().unwrap();
        assert_eq!((key5, d5), (&t[..15], digest(&t)));
        assert_eq!((key42, d42), (&t[..8], knox42_digest(&t)));
    }
}
