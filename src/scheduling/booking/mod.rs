//! Every change to an appointment, each inside one write transaction together with its
//! event rows: create, update, delete, a workflow step, and the server's auto-cancel.
//! The double-booking check runs inside the transaction (`BEGIN IMMEDIATE` holds the
//! write lock), so two concurrent requests cannot both take the same slot.
//!
//! By concept: `fields` reads and checks a request body against the database;
//! `conflicts` is the double-booking check; `commands` are the changes themselves;
//! `by_status` maps a `PATCH {status}` onto the one workflow step it means;
//! `events` builds what a change emits (SPEC §5): `appointment_created` {appointment,
//! created_by}, `appointment_updated` {appointment, updated_fields},
//! `appointment_deleted` {appointment_id, appointment: `appointment::deleted_stub`,
//! deleted_by}, all to `visibility::audience`; a user removed from an appointment gets
//! `appointment_deleted` (it left their view; the stub as they last saw it);
//! `notification`s go to exactly the users concerned. Each command builds the
//! appointment's JSON once and returns it with the row (`Written`), for the answer.

mod by_status;
mod commands;
mod conflicts;
mod events;
mod fields;

pub use by_status::patch_status;
pub use commands::{any_overdue, auto_cancel, create, delete, load_visible, step, update, Written};
pub use conflicts::{check_conflicts, clash, Clash};
pub(crate) use events::{changed_fields, emit_updated, is_shown_detail};
pub use fields::{payment_status_names, read_fields, Fields, MAX_GROUP_SIZE};

/// A small clinic in a fresh database, for the unit tests of this module's parts.
#[cfg(test)]
pub(crate) mod fixture {
    use crate::scheduling::appointment::Appointment;
    use crate::store::users::{self, NewUser, User};
    use crate::store::Store;
    use serde_json::Value;

    pub struct Clinic {
        _dir: tempfile::TempDir,
        pub store: Store,
        pub operator: User,
        /// Three therapists.
        pub t: Vec<User>,
        /// Two drivers.
        pub d: Vec<User>,
    }

    /// A user of `role` named `name` (password hash "x": never logs in).
    pub fn user(store: &Store, name: &str, role: &str) -> User {
        let u = NewUser { username: name.into(), role: role.into(), first_name: name.into(), ..Default::default() };
        let id = store.write(|tx| users::insert(tx, &u, "x")).unwrap();
        store.read(|c| users::get(c, id)).unwrap().unwrap()
    }

    /// Client 1 "Maria"; service 1 "Swedish" (60 min, active), service 2 "Old" (30 min,
    /// no longer offered).
    pub fn clinic() -> Clinic {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        let operator = user(&store, "op", "operator");
        let t = (1..=3).map(|i| user(&store, &format!("t{i}"), "therapist")).collect();
        let d = (1..=2).map(|i| user(&store, &format!("d{i}"), "driver")).collect();
        store
            .write(|tx| {
                tx.execute("INSERT INTO clients (first_name, created_at, updated_at) VALUES ('Maria', 'x', 'x')", [])?;
                tx.execute("INSERT INTO services (name, duration, price_cents) VALUES ('Swedish', 60, 50000)", [])?;
                tx.execute(
                    "INSERT INTO services (name, duration, price_cents, is_active) VALUES ('Old', 30, 10000, 0)",
                    [],
                )
            })
            .unwrap();
        Clinic { _dir: dir, store, operator, t, d }
    }

    impl Clinic {
        /// Books `body` (client 1 unless it names one) as the operator.
        pub fn book(&self, mut body: Value) -> Appointment {
            if body.get("client").is_none() {
                body["client"] = 1.into();
            }
            self.store
                .write(|tx| super::create(tx, &self.operator, body.as_object().unwrap()))
                .expect("booking")
                .appointment
        }

        pub fn set_status(&self, id: i64, status: &str) {
            self.store
                .write(|tx| tx.execute("UPDATE appointments SET status = ?2 WHERE id = ?1", (id, status)))
                .unwrap();
        }
    }
}
