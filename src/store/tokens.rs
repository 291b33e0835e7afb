//! Knox 5 token rows: only the SHA-512 digest of a token is stored, with its first 15
//! characters (`token_key`) for lookup, its user, creation and expiry. Rows imported from
//! a knox 4.2 database keep its form (8-character key, digest over the raw bytes; see
//! `auth::token`). Deleting tokens always goes with a `session_revoked` event (see
//! `auth::revoke`), so live sockets close.

use rusqlite::{params, Connection, OptionalExtension};

pub struct TokenRow {
    pub digest: String,
    pub user_id: i64,
    pub expiry: String,
}

pub fn insert(conn: &Connection, digest: &str, token_key: &str, user_id: i64, expiry: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO auth_tokens (digest, token_key, user_id, created, expiry) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![digest, token_key, user_id, crate::time::now_iso(), expiry])?;
    Ok(())
}

/// A token row as the Django import found it (its own creation time and key).
pub fn insert_imported(
    conn: &Connection,
    digest: &str,
    token_key: &str,
    user_id: i64,
    created: &str,
    expiry: &str,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO auth_tokens (digest, token_key, user_id, created, expiry) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![digest, token_key, user_id, created, expiry])?;
    Ok(())
}

/// The token rows whose `token_key` matches (usually one), as Knox looks them up.
pub fn by_key(conn: &Connection, token_key: &str) -> rusqlite::Result<Vec<TokenRow>> {
    let mut stmt = conn.prepare_cached("SELECT digest, user_id, expiry FROM auth_tokens WHERE token_key = ?1")?;
    let rows =
        stmt.query_map([token_key], |r| Ok(TokenRow { digest: r.get(0)?, user_id: r.get(1)?, expiry: r.get(2)? }))?;
    rows.collect()
}

/// The current expiry of a token, if it still exists.
pub fn expiry(conn: &Connection, digest: &str) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT expiry FROM auth_tokens WHERE digest = ?1")?
        .query_row([digest], |r| r.get(0))
        .optional()
}

pub fn set_expiry(conn: &Connection, digest: &str, expiry: &str) -> rusqlite::Result<usize> {
    conn.prepare_cached("UPDATE auth_tokens SET expiry = ?2 WHERE digest = ?1")?.execute(params![digest, expiry])
}

pub fn delete(conn: &Connection, digest: &str) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM auth_tokens WHERE digest = ?1", [digest])
}

/// Deletes a user's tokens except `keep`; returns the deleted digests.
pub fn delete_for_user(conn: &Connection, user_id: i64, keep: Option<&str>) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("DELETE FROM auth_tokens WHERE user_id = ?1 AND digest IS NOT ?2 RETURNING digest")?;
    let rows = stmt.query_map(params![user_id, keep], |r| r.get(0))?;
    rows.collect()
}

/// Deletes expired tokens; returns `(user_id, digest)` of each.
pub fn delete_expired(conn: &Connection, now: &str) -> rusqlite::Result<Vec<(i64, String)>> {
    let mut stmt = conn.prepare("DELETE FROM auth_tokens WHERE expiry <= ?1 RETURNING user_id, digest")?;
    let rows = stmt.query_map([now], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}
