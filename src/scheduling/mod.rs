//! The clinic's scheduling rules (SPEC §4) and row models; nothing here knows HTTP.
//! `workflow` is the one transition table, `visibility` the one rule of who sees what
//! (and `operator_only`, who may write), `privacy` beside it the one rule of which fields
//! each role receives, `appointment` the one JSON shape; `booking`
//! makes every appointment change (with its events) inside a write transaction;
//! `clients`, `services` and `staff` are the other rows and their writes; `validate`
//! reads request bodies field by field; `views` names the original frontend's appointment
//! lists; `notifications` are each user's stored notifications; `summary` counts one day
//! for operators; `availability` says who is free when (slots, the usual week, and the one
//! rule that joins them with the bookings); `demo` builds and installs the example database.

pub mod appointment;
pub mod availability;
pub mod booking;
pub mod clients;
pub mod demo;
pub mod details;
pub mod notifications;
pub mod privacy;
pub mod services;
pub mod staff;
pub mod summary;
pub mod validate;
pub mod views;
pub mod visibility;
pub mod workflow;

pub use visibility::operator_only;

/// The appointments a freshly connected socket starts with (`initial_data`): those on
/// `user`'s board on day `today` (`visibility::board_ids`), in the REST shape for `user`
/// (with their `allowed_actions`), as one JSON array text ready to be spliced in.
pub fn initial_rest_json(
    conn: &rusqlite::Connection,
    user: &crate::store::users::User,
    today: &str,
) -> rusqlite::Result<String> {
    let appts = appointment::load_many(conn, &visibility::board_ids(conn, user, today)?)?;
    appointment::with_rest_json(conn, &appts, user, |j| {
        let mut out = Vec::new();
        appointment::write_list(j, &mut out);
        String::from_utf8(out).expect("JSON text is UTF-8")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduling::booking::fixture::user;
    use crate::store::users::User;
    use crate::store::Store;
    use serde_json::json;

    #[test]
    fn initial_data_is_todays_and_upcoming_for_operators_and_own_active_for_staff() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        let op = user(&store, "op", "operator");
        let t1 = user(&store, "t1", "therapist");
        let t2 = user(&store, "t2", "therapist");
        let d1 = user(&store, "d1", "driver");
        store
            .write(|tx| {
                tx.execute("INSERT INTO clients (first_name, created_at, updated_at) VALUES ('Maria', 'x', 'x')", [])
            })
            .unwrap();
        let day = |n: i64| (crate::time::today() + chrono::Duration::days(n)).format("%Y-%m-%d").to_string();
        let book = |date: String, t: i64, d: Option<i64>| {
            let body = json!({"client": 1, "therapist": t, "driver": d, "date": date, "start_time": "10:00", "end_time": "11:00"});
            store.write(|tx| booking::create(tx, &op, body.as_object().unwrap())).unwrap().appointment.id
        };
        let past = book(day(-1), t1.id, None);
        let today = book(day(0), t1.id, Some(d1.id));
        let later = book(day(3), t2.id, None);
        let cancelled = book(day(1), t1.id, None);
        store
            .write(|tx| tx.execute("UPDATE appointments SET status = 'cancelled' WHERE id = ?1", [cancelled]))
            .unwrap();

        let initial = |c: &rusqlite::Connection, u: &User| -> rusqlite::Result<Vec<serde_json::Value>> {
            Ok(serde_json::from_str(&initial_rest_json(c, u, &visibility::today())?).unwrap())
        };
        let ids = |u: &User| -> Vec<i64> {
            store.read(|c| initial(c, u)).unwrap().iter().map(|a| a["id"].as_i64().unwrap()).collect()
        };
        assert_eq!(ids(&op), vec![today, cancelled, later]);
        // t1's past pending one is still active (it waits for an answer); the cancelled one is not.
        assert_eq!(ids(&t1), vec![past, today]);
        assert_eq!(ids(&t2), vec![later]);
        assert_eq!(ids(&d1), vec![today]);
        let one = store.read(|c| initial(c, &d1)).unwrap().remove(0);
        assert_eq!(one["allowed_actions_by_role"]["driver"], json!(["reject"]));
        assert_eq!(one["allowed_actions"], json!(["reject"]), "each user's own actions, as REST gives them");
        assert_eq!(one["client_details"]["first_name"], "Maria");
    }
}
