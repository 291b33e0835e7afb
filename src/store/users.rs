//! Staff accounts: the `User` row, its one JSON shape (login, profile, staff list and
//! `*_details` all use `User::to_json`), and the queries on `users`. The password hash
//! is read only by `password_hash` and never leaves the auth module.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::{json, Value};

pub const ROLES: [&str; 3] = ["operator", "therapist", "driver"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: String,
    pub phone_number: String,
    pub specialization: String,
    /// soft | moderate | hard, or "" (therapists).
    pub massage_pressure: String,
    /// Drivers' licence number and plate, or "".
    pub license_number: String,
    pub motorcycle_plate: String,
    pub is_active: bool,
    pub date_joined: String,
}

impl User {
    pub fn is_operator(&self) -> bool {
        self.role == "operator"
    }

    /// The user as every API answer shows them.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "username": self.username,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "email": self.email,
            "role": self.role,
            "phone_number": self.phone_number,
            "specialization": self.specialization,
            "massage_pressure": self.massage_pressure,
            "license_number": self.license_number,
            "motorcycle_plate": self.motorcycle_plate,
            "is_active": self.is_active,
            // What the clinic's original frontend checks before showing any page. This
            // server has no email verification, photos or second factor: every account
            // an operator made (or imported) counts as verified.
            "email_verified": true,
            "profile_photo_url": null,
            "two_factor_enabled": false,
        })
    }

    pub fn full_name(&self) -> String {
        let n = format!("{} {}", self.first_name, self.last_name);
        let n = n.trim();
        if n.is_empty() {
            self.username.clone()
        } else {
            n.to_string()
        }
    }

    pub(crate) fn from_row(r: &Row) -> rusqlite::Result<User> {
        Ok(User {
            id: r.get(0)?,
            username: r.get(1)?,
            email: r.get(2)?,
            first_name: r.get(3)?,
            last_name: r.get(4)?,
            role: r.get(5)?,
            phone_number: r.get(6)?,
            specialization: r.get(7)?,
            is_active: r.get(8)?,
            date_joined: r.get(9)?,
            massage_pressure: r.get(10)?,
            license_number: r.get(11)?,
            motorcycle_plate: r.get(12)?,
        })
    }
}

/// The columns `User::from_row` reads, in order; prefix with a table alias if needed.
pub const COLUMNS: &str = "id, username, email, first_name, last_name, role, phone_number, specialization, is_active, \
     date_joined, massage_pressure, license_number, motorcycle_plate";
/// The index of the first column after `COLUMNS`.
const AFTER_COLUMNS: usize = 13;

/// Fields of a new account.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: String,
    pub phone_number: String,
    pub specialization: String,
    pub massage_pressure: String,
    pub license_number: String,
    pub motorcycle_plate: String,
}

pub fn get(conn: &Connection, id: i64) -> rusqlite::Result<Option<User>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE id = ?1"))?
        .query_row([id], User::from_row)
        .optional()
}

/// The users with these ids (one query, any number), by id; unknown ids are absent.
pub fn get_many(
    conn: &Connection,
    ids: impl IntoIterator<Item = i64>,
) -> rusqlite::Result<std::collections::HashMap<i64, User>> {
    let sql = format!("SELECT {COLUMNS} FROM {} CROSS JOIN users ON id = wanted", super::ROWS_OF_IDS);
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map([super::id_list(ids)], User::from_row)?;
    rows.map(|u| u.map(|u| (u.id, u))).collect()
}

pub fn by_username(conn: &Connection, username: &str) -> rusqlite::Result<Option<User>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE username = ?1"))?
        .query_row([username], User::from_row)
        .optional()
}

/// The account a login name means: a username, or else a unique email address.
pub fn by_login(conn: &Connection, login: &str) -> rusqlite::Result<Option<(User, String)>> {
    let sql = format!("SELECT {COLUMNS}, password FROM users WHERE username = ?1");
    if let Some(found) =
        conn.prepare_cached(&sql)?.query_row([login], |r| Ok((User::from_row(r)?, r.get(AFTER_COLUMNS)?))).optional()?
    {
        return Ok(Some(found));
    }
    if !login.contains('@') {
        return Ok(None);
    }
    let sql = format!("SELECT {COLUMNS}, password FROM users WHERE email = ?1 COLLATE NOCASE LIMIT 2");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows: Vec<(User, String)> =
        stmt.query_map([login], |r| Ok((User::from_row(r)?, r.get(AFTER_COLUMNS)?)))?.collect::<Result<_, _>>()?;
    // An email shared by two accounts identifies neither.
    Ok(if rows.len() == 1 { rows.pop() } else { None })
}

pub fn password_hash(conn: &Connection, id: i64) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT password FROM users WHERE id = ?1", [id], |r| r.get(0)).optional()
}

pub fn list(conn: &Connection) -> rusqlite::Result<Vec<User>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM users ORDER BY role, username"))?;
    let rows = stmt.query_map([], User::from_row)?;
    rows.collect()
}

/// Inserts a user with an already-hashed password; returns the new id.
pub fn insert(conn: &Connection, u: &NewUser, password_hash: &str) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO users (username, email, first_name, last_name, role, phone_number, specialization, password, is_active, date_joined,
                            massage_pressure, license_number, motorcycle_plate)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9, ?10, ?11, ?12)",
        params![u.username, u.email, u.first_name, u.last_name, u.role, u.phone_number, u.specialization, password_hash, crate::time::now_iso(),
                u.massage_pressure, u.license_number, u.motorcycle_plate],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn set_password(conn: &Connection, id: i64, password_hash: &str) -> rusqlite::Result<usize> {
    conn.execute("UPDATE users SET password = ?2 WHERE id = ?1", params![id, password_hash])
}

pub fn set_active(conn: &Connection, id: i64, active: bool) -> rusqlite::Result<usize> {
    conn.execute("UPDATE users SET is_active = ?2 WHERE id = ?1", params![id, active])
}
