//! A clinic's client as stored: the row, its JSON, reading one from a request body, and
//! its writes. Operators read and write all of them; a therapist or driver reads only the
//! clients of appointments they can see (`visibility::client_sql_filter`, which the
//! caller passes in: this module sits below the visibility rule), so staff no
//! longer receive the whole client list. The HTTP side is `api::clients`.

use super::validate::{Input, MAX_SHORT, MAX_TEXT};
use crate::error::ApiError;
use crate::store::Tx;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::{json, Value};
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct Client {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub phone_number: String,
    pub email: String,
    pub address: String,
    pub notes: String,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str =
    "c.id, c.first_name, c.last_name, c.phone_number, c.email, c.address, c.notes, c.created_at, c.updated_at";

impl Client {
    fn from_row(r: &Row) -> rusqlite::Result<Client> {
        Ok(Client {
            id: r.get(0)?,
            first_name: r.get(1)?,
            last_name: r.get(2)?,
            phone_number: r.get(3)?,
            email: r.get(4)?,
            address: r.get(5)?,
            notes: r.get(6)?,
            created_at: r.get(7)?,
            updated_at: r.get(8)?,
        })
    }

    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "phone_number": self.phone_number,
            "email": self.email,
            "address": self.address,
            "notes": self.notes,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }
}

pub fn get(conn: &Connection, id: i64) -> rusqlite::Result<Option<Client>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM clients c WHERE c.id = ?1"))?
        .query_row([id], Client::from_row)
        .optional()
}

/// The clients with these ids (one query, any number), by id; unknown ids are absent.
pub fn get_many(conn: &Connection, ids: impl IntoIterator<Item = i64>) -> rusqlite::Result<HashMap<i64, Client>> {
    let sql = format!("SELECT {COLUMNS} FROM {} CROSS JOIN clients c ON c.id = wanted", crate::store::ROWS_OF_IDS);
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map([crate::store::id_list(ids)], Client::from_row)?;
    rows.map(|c| c.map(|c| (c.id, c))).collect()
}

/// The client if it passes `filter` (`visibility::client_sql_filter` of the caller), else 404.
pub fn get_filtered(conn: &Connection, id: i64, filter: Option<(&str, i64)>) -> Result<Client, ApiError> {
    let mut sql = format!("SELECT {COLUMNS} FROM clients c WHERE c.id = :id");
    let uid;
    let mut p: Vec<(&str, &dyn rusqlite::ToSql)> = vec![(":id", &id)];
    if let Some((f, u)) = filter {
        sql.push_str(" AND ");
        sql.push_str(f);
        uid = u;
        p.push((":uid", &uid));
    }
    conn.query_row(&sql, p.as_slice(), Client::from_row).optional()?.ok_or_else(ApiError::not_found)
}

/// Adds a client; returns its id.
pub fn insert(tx: &Tx, c: &Client) -> rusqlite::Result<i64> {
    tx.execute(
        "INSERT INTO clients (first_name, last_name, phone_number, email, address, notes, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
        params![c.first_name, c.last_name, c.phone_number, c.email, c.address, c.notes, crate::time::now_iso()],
    )?;
    Ok(tx.last_insert_rowid())
}

/// Applies `body` to client `id` (PUT when `replace`, else PATCH) and returns it. Read
/// inside the write transaction: a PATCH keeps what it does not name as it is now, not
/// as first read. (Run it inside `details::with_details_events`: drivers and therapists
/// see the address and phone on their boards.)
pub fn update(tx: &Tx, id: i64, body: &serde_json::Map<String, Value>, replace: bool) -> Result<Client, ApiError> {
    let current = get(tx, id)?.ok_or_else(ApiError::not_found)?;
    let c = from_body(body, if replace { None } else { Some(&current) })?;
    tx.execute(
        "UPDATE clients SET first_name = ?2, last_name = ?3, phone_number = ?4, email = ?5, address = ?6, notes = ?7, updated_at = ?8 WHERE id = ?1",
        params![id, c.first_name, c.last_name, c.phone_number, c.email, c.address, c.notes, crate::time::now_iso()],
    )?;
    get(tx, id)?.ok_or_else(ApiError::not_found)
}

/// Deletes client `id`, unless appointments still name it (409).
pub fn delete(tx: &Tx, id: i64) -> Result<(), ApiError> {
    let used: i64 = tx.query_row("SELECT COUNT(*) FROM appointments WHERE client_id = ?1", [id], |r| r.get(0))?;
    if used > 0 {
        return Err(ApiError::conflict(format!(
            "This client has {used} appointment(s); delete those first, or keep the client."
        )));
    }
    tx.execute("DELETE FROM clients WHERE id = ?1", [id])?;
    Ok(())
}

/// The client a body describes; `base` is the current client for PATCH (fields kept when
/// absent), `None` for POST and PUT (first_name required).
pub fn from_body(body: &serde_json::Map<String, Value>, base: Option<&Client>) -> Result<Client, ApiError> {
    let mut i = Input::new(body);
    if base.is_none() {
        i.require("first_name");
    }
    let mut c = base.cloned().unwrap_or(Client {
        id: 0,
        first_name: String::new(),
        last_name: String::new(),
        phone_number: String::new(),
        email: String::new(),
        address: String::new(),
        notes: String::new(),
        created_at: String::new(),
        updated_at: String::new(),
    });
    if let Some(v) = i.text("first_name", MAX_SHORT) {
        if v.is_empty() {
            i.add("first_name", "This field may not be blank.");
        }
        c.first_name = v;
    }
    for (name, slot, max) in [
        ("last_name", &mut c.last_name, MAX_SHORT),
        ("phone_number", &mut c.phone_number, MAX_SHORT),
        ("email", &mut c.email, MAX_SHORT),
        ("address", &mut c.address, MAX_TEXT),
        ("notes", &mut c.notes, MAX_TEXT),
    ] {
        if let Some(v) = i.text(name, max) {
            *slot = v;
        }
    }
    if !c.email.is_empty() && !c.email.contains('@') {
        i.add("email", "Enter a valid email address.");
    }
    i.finish()?;
    Ok(c)
}
