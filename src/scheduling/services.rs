//! `services/`: what the clinic sells (name, duration in minutes, price). Every staff
//! member reads them; operators write. A service in use cannot be deleted (the
//! appointments' prices would change); deactivate it instead, which stops new bookings.

use super::validate::{money, Input, MAX_SHORT, MAX_TEXT};
use crate::error::ApiError;
use crate::store::Tx;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// The longest session we book, in minutes (a day).
const MAX_DURATION: i64 = 24 * 60;

#[derive(Debug, Clone)]
pub struct Service {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub duration: i64,
    pub price_cents: i64,
    pub is_active: bool,
}

impl Service {
    fn from_row(r: &Row) -> rusqlite::Result<Service> {
        Ok(Service {
            id: r.get(0)?,
            name: r.get(1)?,
            description: r.get(2)?,
            duration: r.get(3)?,
            price_cents: r.get(4)?,
            is_active: r.get(5)?,
        })
    }

    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "duration": self.duration,
            "price": money(self.price_cents),
            "is_active": self.is_active,
        })
    }
}

pub fn get(conn: &Connection, id: i64) -> rusqlite::Result<Option<Service>> {
    conn.prepare_cached("SELECT id, name, description, duration, price_cents, is_active FROM services WHERE id = ?1")?
        .query_row([id], Service::from_row)
        .optional()
}

/// The services with these ids (one query, any number), by id; unknown ids are absent.
pub fn get_many(conn: &Connection, ids: impl IntoIterator<Item = i64>) -> rusqlite::Result<HashMap<i64, Service>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT id, name, description, duration, price_cents, is_active FROM {} CROSS JOIN services ON id = wanted",
        crate::store::ROWS_OF_IDS
    ))?;
    let rows = st.query_map([crate::store::id_list(ids)], Service::from_row)?;
    rows.map(|s| s.map(|s| (s.id, s))).collect()
}

/// Adds a service; returns its id.
pub fn insert(tx: &Tx, s: &Service) -> rusqlite::Result<i64> {
    tx.execute(
        "INSERT INTO services (name, description, duration, price_cents, is_active) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![s.name, s.description, s.duration, s.price_cents, s.is_active],
    )?;
    Ok(tx.last_insert_rowid())
}

/// Applies `body` to service `id` (PUT when `replace`, else PATCH; read inside the write
/// transaction) and returns it. (Run it inside `details::with_details_events`: booked
/// appointments show the service, and its price in `total_price`.)
pub fn update(tx: &Tx, id: i64, body: &Map<String, Value>, replace: bool) -> Result<Service, ApiError> {
    let current = get(tx, id)?.ok_or_else(ApiError::not_found)?;
    let s = from_body(body, if replace { None } else { Some(&current) })?;
    tx.execute(
        "UPDATE services SET name = ?2, description = ?3, duration = ?4, price_cents = ?5, is_active = ?6 WHERE id = ?1",
        params![id, s.name, s.description, s.duration, s.price_cents, s.is_active],
    )?;
    get(tx, id)?.ok_or_else(ApiError::not_found)
}

/// Deletes service `id`, unless appointments booked it (409: deactivate it instead).
pub fn delete(tx: &Tx, id: i64) -> Result<(), ApiError> {
    let used: i64 =
        tx.query_row("SELECT COUNT(*) FROM appointment_services WHERE service_id = ?1", [id], |r| r.get(0))?;
    if used > 0 {
        return Err(ApiError::conflict(format!(
            "This service is booked in {used} appointment(s); set is_active to false instead so it cannot be booked again."
        )));
    }
    tx.execute("DELETE FROM services WHERE id = ?1", [id])?;
    Ok(())
}

/// The service a body describes; `base` is the current one for PATCH, `None` for POST
/// and PUT (name, duration and price required).
pub fn from_body(body: &Map<String, Value>, base: Option<&Service>) -> Result<Service, ApiError> {
    let mut i = Input::new(body);
    if base.is_none() {
        for f in ["name", "duration", "price"] {
            i.require(f);
        }
    }
    let mut s = base.cloned().unwrap_or(Service {
        id: 0,
        name: String::new(),
        description: String::new(),
        duration: 0,
        price_cents: 0,
        is_active: true,
    });
    if let Some(v) = i.text("name", MAX_SHORT) {
        if v.is_empty() {
            i.add("name", "This field may not be blank.");
        }
        s.name = v;
    }
    if let Some(v) = i.text("description", MAX_TEXT) {
        s.description = v;
    }
    if let Some(v) = i.positive_int("duration", MAX_DURATION) {
        s.duration = v;
    }
    match i.money("price") {
        Some(Some(c)) => s.price_cents = c,
        Some(None) => i.add("price", "This field may not be null."),
        None => {}
    }
    if let Some(v) = i.boolean("is_active") {
        s.is_active = v;
    }
    i.finish()?;
    Ok(s)
}
