//! Every change to an appointment, each inside one write transaction together with its
//! event rows: create, update, delete, a workflow step, and the server's auto-cancel.
//! The double-booking check runs inside the transaction (`BEGIN IMMEDIATE` holds the
//! write lock), so two concurrent requests cannot both take the same slot.
//!
//! By concept: `fields` reads and checks a request body against the database;
//! `conflicts` is the double-booking check; `commands` are the changes themselves;
//! `events` builds what a change emits (SPEC §5): `appointment_created` {appointment,
//! created_by}, `appointment_updated` {appointment, updated_fields},
//! `appointment_deleted` {appointment_id, deleted_by}, all to `visibility::audience`; a
//! user removed from an appointment gets `appointment_deleted` (it left their view);
//! `notification`s go to exactly the users concerned. Each command builds the
//! appointment's JSON once and returns it with the row (`Written`), for the answer.

mod commands;
mod conflicts;
mod events;
mod fields;

pub use commands::{any_overdue, auto_cancel, create, delete, load_visible, step, update, Written};
pub use conflicts::check_conflicts;
pub(crate) use events::{changed_fields, emit_updated, is_shown_detail};
pub use fields::{read_fields, Fields, PAYMENT_METHODS, PICKUP_URGENCIES};
