//! The ONE visibility rule (SPEC §4): operators see every appointment; a therapist sees
//! those they are assigned to (lead or one of a group); a driver those they drive. From
//! it follow the SQL filter for lists, the check for single appointments (anything else
//! is 404, not 403), the `Audience` of an appointment's events, which clients a
//! therapist or driver may read (those of appointments they can see), and which staff
//! accounts (the active ones, and their own). Beside it: the field rule
//! (`scheduling::privacy`: which members of what they see each role receives — e.g. a
//! driver no notes, nobody but operators emails), the board rule (which appointments are
//! on a user's live board: a socket's `initial_data` and the `?board=true` list filter)
//! and who may write (`operator_only`). docs/API.md ("Who may do what", "What each role
//! receives") has both rules as tables.

use super::appointment::{self, Appointment};
use super::workflow::Status;
use crate::error::ApiError;
use crate::events::Audience;
use crate::store::users::User;

/// 403 unless the caller is an operator: only operators write appointments, clients,
/// services and staff; therapists and drivers move their appointments on with the
/// workflow actions.
pub fn operator_only(who: &User) -> Result<(), ApiError> {
    if who.is_operator() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "Only operators may change this; use the workflow actions for your appointments, or ask an operator.",
        ))
    }
}

/// May `user` see `appt`?
pub fn can_see(user: &User, appt: &Appointment) -> bool {
    user.is_operator() || appt.assignees().contains(&user.id)
}

/// Who receives events about `appt`: operators plus everyone assigned to it.
pub fn audience(appt: &Appointment) -> Audience {
    Audience::operators_and(appt.assignees())
}

/// A SQL condition on the appointment alias `a` for appointments `user` may see, with
/// its one named parameter `:uid` (the user's id), or `None` for operators (no condition).
pub fn sql_filter(user: &User) -> Option<(&'static str, i64)> {
    if user.is_operator() {
        return None;
    }
    // `IN (…)` rather than a correlated EXISTS: SQLite then reads both sides from their
    // indexes (appointments_driver, appointment_therapists_user) instead of probing every
    // appointment; a staff member's COUNT over 20,000 appointments takes 0.3 ms, not 10.
    Some((
        "(a.driver_id = :uid OR a.id IN (SELECT t.appointment_id FROM appointment_therapists t WHERE t.therapist_id = :uid))",
        user.id,
    ))
}

/// A SQL condition on the client alias `c` for clients `user` may read.
pub fn client_sql_filter(user: &User) -> Option<(&'static str, i64)> {
    if user.is_operator() {
        return None;
    }
    Some((
        "EXISTS (SELECT 1 FROM appointments a WHERE a.client_id = c.id AND (a.driver_id = :uid OR EXISTS (SELECT 1 FROM appointment_therapists t WHERE t.appointment_id = a.id AND t.therapist_id = :uid)))",
        user.id,
    ))
}

/// A SQL condition on the users alias `u` for the staff accounts `user` may list, or
/// `None` for operators (all): others see only active accounts (who is who at work
/// now; former staff are the office's business).
pub fn staff_sql_filter(user: &User) -> Option<&'static str> {
    (!user.is_operator()).then_some("u.is_active = 1")
}

/// May `user` read account `account` (else 404)? Operators any; others active ones and
/// their own.
pub fn can_see_account(user: &User, account: &User) -> bool {
    user.is_operator() || account.is_active || account.id == user.id
}

/// Today's date as the boards' `:today`.
pub fn today() -> String {
    crate::time::today().format("%Y-%m-%d").to_string()
}

/// On an operator's board (SQL on alias `a`, parameter `:today`): today's and upcoming.
const OPERATOR_BOARD: &str = "a.date >= :today";

/// On a therapist's or driver's board (SQL on alias `a`, parameter `:today`): their
/// active ones (a finished, paid session from an earlier day is no longer there).
/// The SQL of `Status::on_staff_board`, the one definition of the group.
fn staff_board() -> String {
    let list = |keep: &dyn Fn(Status) -> bool| -> String {
        let names: Vec<String> =
            Status::ALL.iter().filter(|s| keep(**s)).map(|s| format!("'{}'", s.as_str())).collect();
        if names.is_empty() {
            "NULL".into()
        } else {
            names.join(", ")
        }
    };
    let always = list(&|s| s.on_staff_board(true));
    let until_day_ends = list(&|s| s.on_staff_board(false) && !s.on_staff_board(true));
    format!("(a.status IN ({always}) OR (a.status IN ({until_day_ends}) AND a.date >= :today))")
}

/// The board rule for `user` (SQL on alias `a`, parameter `:today`), to be combined
/// with `sql_filter`: what `user`'s live board holds.
pub fn board_sql(user: &User) -> String {
    if user.is_operator() {
        OPERATOR_BOARD.to_string()
    } else {
        staff_board()
    }
}

/// Appointments that may be on somebody's live board (SQL on alias `a`, parameter
/// `:today`): the union of every role's board, so events about changed details reach
/// every screen that holds the appointment.
pub fn on_a_board() -> String {
    format!("({OPERATOR_BOARD} OR {})", staff_board())
}

/// The ids on `user`'s board on day `today` (`today()`), in board order (date, start, id).
pub fn board_ids(conn: &rusqlite::Connection, user: &User, today: &str) -> rusqlite::Result<Vec<i64>> {
    let board = board_sql(user);
    let order = "a.date, a.start_time, a.id";
    match sql_filter(user) {
        None => appointment::ids_where(conn, &board, order, &[(":today", &today)]),
        Some((filter, uid)) => {
            appointment::ids_where(conn, &format!("{filter} AND {board}"), order, &[(":uid", &uid), (":today", &today)])
        }
    }
}
