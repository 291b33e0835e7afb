//! The double-booking check: no therapist (lead or group member) and no driver may hold
//! two active appointments that overlap on the same day. Run inside the write
//! transaction of the change it guards.

use super::Fields;
use crate::error::ApiError;
use crate::scheduling::workflow;
use crate::store::users;
use rusqlite::{params, Connection};
use serde_json::json;

/// An active appointment that holds a staff member's time (`clash`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clash {
    pub appointment: i64,
    /// `HH:MM:SS`.
    pub start_time: String,
    pub end_time: String,
    /// The appointment's client, as "First Last" (for the booking form's reasons).
    pub client_name: String,
}

/// THE overlap rule: the earliest active appointment (not `exclude`, the one being
/// edited) that holds `user` — as a therapist (lead or group member) when `role` is
/// "therapist", as its driver when "driver" — on `date` and overlaps `start`–`end`
/// (`HH:MM:SS`; touching is free). Double booking (`check_conflicts`) and availability
/// (`scheduling::availability`) both ask this one function.
pub fn clash(
    conn: &Connection,
    user: i64,
    role: &str,
    date: &str,
    start: &str,
    end: &str,
    exclude: Option<i64>,
) -> rusqlite::Result<Option<Clash>> {
    let inactive: Vec<String> = workflow::INACTIVE.iter().map(|s| format!("'{s}'")).collect();
    let overlap = format!(
        "a.date = ?2 AND a.start_time < ?4 AND a.end_time > ?3 AND a.id != ?5 AND a.status NOT IN ({})",
        inactive.join(", ")
    );
    let cols = "a.id, a.start_time, a.end_time, TRIM(COALESCE(c.first_name, '') || ' ' || COALESCE(c.last_name, ''))";
    let sql = if role == "driver" {
        format!(
            "SELECT {cols} FROM appointments a LEFT JOIN clients c ON c.id = a.client_id
             WHERE a.driver_id = ?1 AND {overlap} ORDER BY a.start_time LIMIT 1"
        )
    } else {
        format!(
            "SELECT {cols} FROM appointments a JOIN appointment_therapists t ON t.appointment_id = a.id
             LEFT JOIN clients c ON c.id = a.client_id
             WHERE t.therapist_id = ?1 AND {overlap} ORDER BY a.start_time LIMIT 1"
        )
    };
    let mut st = conn.prepare_cached(&sql)?;
    let mut rows = st.query(params![user, date, start, end, exclude.unwrap_or(0)])?;
    match rows.next()? {
        Some(r) => Ok(Some(Clash {
            appointment: r.get(0)?,
            start_time: r.get(1)?,
            end_time: r.get(2)?,
            client_name: r.get(3)?,
        })),
        None => Ok(None),
    }
}

/// 409 CONFLICT if any of `f`'s staff has another active appointment overlapping it.
pub fn check_conflicts(conn: &Connection, id: Option<i64>, f: &Fields) -> Result<(), ApiError> {
    let mut staff: Vec<(i64, &str)> = f.therapists.iter().map(|t| (*t, "therapist")).collect();
    if let Some(d) = f.driver_id {
        staff.push((d, "driver"));
    }
    for (uid, role) in staff {
        if let Some(c) = clash(conn, uid, role, &f.date, &f.start_time, &f.end_time, id)? {
            // Named by person and client, as the operator knows them (only operators book).
            let name = users::get(conn, uid)?.map(|u| u.full_name()).unwrap_or_else(|| format!("The {role}"));
            let client = if c.client_name.is_empty() { "another client" } else { c.client_name.as_str() };
            return Err(ApiError::conflict(format!(
                "{name} is with {client} {}–{}; choose another time or another {role}.",
                &c.start_time[..5],
                &c.end_time[..5]
            ))
            .with_extra("conflicts", json!([{"user": uid, "role": role, "appointment": c.appointment}])));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::fixture::clinic;
    use super::*;
    use crate::scheduling::appointment::Appointment;
    use serde_json::json;

    /// The fields of a new booking for `therapists` (lead first) and `driver`.
    fn slot(therapists: &[i64], driver: Option<i64>, date: &str, start: &str, end: &str) -> Fields {
        Fields {
            client_id: 1,
            service_ids: vec![],
            therapist_id: therapists.first().copied(),
            therapists: therapists.to_vec(),
            driver_id: driver,
            date: date.into(),
            start_time: format!("{start}:00"),
            end_time: format!("{end}:00"),
            payment_amount_cents: None,
            payment_method: String::new(),
            location: String::new(),
            notes: String::new(),
            group_size: 1,
            requires_car: false,
            payment_status: "pending".into(),
        }
    }

    fn clash(c: &super::super::fixture::Clinic, id: Option<i64>, f: &Fields) -> Option<serde_json::Value> {
        match c.store.read(|conn| check_conflicts(conn, id, f)) {
            Ok(()) => None,
            Err(e) => {
                assert_eq!(e.code, crate::error::ErrorCode::Conflict);
                Some(e.extra.map(|x| x["conflicts"][0].clone()).unwrap_or_default())
            }
        }
    }

    fn booked(c: &super::super::fixture::Clinic, body: serde_json::Value) -> Appointment {
        c.book(body)
    }

    #[test]
    fn touching_is_free_and_any_overlap_is_a_conflict() {
        let c = clinic();
        let t = c.t[0].id;
        let a = booked(&c, json!({"therapist": t, "date": "2030-05-01", "start_time": "10:00", "end_time": "11:00"}));
        for (start, end) in [("11:00", "12:00"), ("09:00", "10:00"), ("08:00", "09:59")] {
            assert_eq!(clash(&c, None, &slot(&[t], None, "2030-05-01", start, end)), None, "{start}-{end} is free");
        }
        for (start, end) in
            [("10:59", "11:30"), ("09:30", "10:01"), ("09:00", "12:00"), ("10:15", "10:45"), ("10:00", "11:00")]
        {
            let hit = clash(&c, None, &slot(&[t], None, "2030-05-01", start, end)).expect("a conflict");
            assert_eq!(hit, json!({"user": t, "role": "therapist", "appointment": a.id}), "{start}-{end}");
        }
        assert_eq!(clash(&c, None, &slot(&[t], None, "2030-05-02", "10:00", "11:00")), None, "another day");
        assert_eq!(
            clash(&c, None, &slot(&[c.t[1].id], None, "2030-05-01", "10:00", "11:00")),
            None,
            "another therapist"
        );
        // An appointment never conflicts with itself (an edit of its own slot).
        assert_eq!(clash(&c, Some(a.id), &slot(&[t], None, "2030-05-01", "10:30", "11:30")), None);
    }

    #[test]
    fn every_member_of_a_group_and_the_driver_are_checked() {
        let c = clinic();
        let (t1, t2, t3) = (c.t[0].id, c.t[1].id, c.t[2].id);
        let d = c.d[0].id;
        let group = booked(
            &c,
            json!({"therapist": t1, "therapists": [t2], "driver": d, "date": "2030-05-01", "start_time": "10:00", "end_time": "11:00"}),
        );
        // The group's second therapist, as a lead elsewhere.
        let hit = clash(&c, None, &slot(&[t2], None, "2030-05-01", "10:30", "11:30")).unwrap();
        assert_eq!(hit["user"], t2);
        // A new group whose second member is busy.
        let hit = clash(&c, None, &slot(&[t3, t1], None, "2030-05-01", "10:30", "11:30")).unwrap();
        assert_eq!(hit["user"], t1);
        assert_eq!(hit["appointment"], group.id);
        // The driver, with free therapists.
        let hit = clash(&c, None, &slot(&[t3], Some(d), "2030-05-01", "10:30", "11:30")).unwrap();
        assert_eq!(hit, json!({"user": d, "role": "driver", "appointment": group.id}));
        assert_eq!(clash(&c, None, &slot(&[t3], Some(c.d[1].id), "2030-05-01", "10:30", "11:30")), None);
    }

    #[test]
    fn only_active_statuses_hold_a_slot() {
        let c = clinic();
        let t = c.t[0].id;
        let a = booked(&c, json!({"therapist": t, "date": "2030-05-01", "start_time": "10:00", "end_time": "11:00"}));
        let f = slot(&[t], None, "2030-05-01", "10:00", "11:00");
        for status in workflow::STATUSES {
            c.set_status(a.id, status);
            let active = workflow::is_active(status);
            assert_eq!(
                clash(&c, None, &f).is_some(),
                active,
                "{status} should {}hold the slot",
                if active { "" } else { "not " }
            );
        }
        // At least the documented inactive ones were tried.
        for s in ["rejected", "cancelled", "auto_cancelled", "transport_completed"] {
            assert!(!workflow::is_active(s));
        }
    }
}
