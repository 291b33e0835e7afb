//! The double-booking check: no therapist (lead or group member) and no driver may hold
//! two active appointments that overlap on the same day. Run inside the write
//! transaction of the change it guards.

use super::Fields;
use crate::error::ApiError;
use crate::scheduling::workflow;
use crate::store::users;
use rusqlite::{params, Connection};
use serde_json::json;

/// 409 CONFLICT if any of `f`'s staff has another active appointment overlapping it.
pub fn check_conflicts(conn: &Connection, id: Option<i64>, f: &Fields) -> Result<(), ApiError> {
    let inactive: Vec<String> = workflow::INACTIVE.iter().map(|s| format!("'{s}'")).collect();
    let overlap = format!(
        "a.date = ?2 AND a.start_time < ?4 AND a.end_time > ?3 AND a.id != ?5 AND a.status NOT IN ({})",
        inactive.join(", ")
    );
    let self_id = id.unwrap_or(0);
    let mut staff: Vec<(i64, &str)> = f.therapists.iter().map(|t| (*t, "therapist")).collect();
    if let Some(d) = f.driver_id {
        staff.push((d, "driver"));
    }
    for (uid, role) in staff {
        let sql = if role == "driver" {
            format!("SELECT a.id, a.start_time, a.end_time FROM appointments a WHERE a.driver_id = ?1 AND {overlap} ORDER BY a.start_time LIMIT 1")
        } else {
            format!(
                "SELECT a.id, a.start_time, a.end_time FROM appointments a JOIN appointment_therapists t ON t.appointment_id = a.id
                 WHERE t.therapist_id = ?1 AND {overlap} ORDER BY a.start_time LIMIT 1"
            )
        };
        let clash: Option<(i64, String, String)> = {
            let mut st = conn.prepare_cached(&sql)?;
            let mut rows = st.query(params![uid, f.date, f.start_time, f.end_time, self_id])?;
            match rows.next()? {
                Some(r) => Some((r.get(0)?, r.get(1)?, r.get(2)?)),
                None => None,
            }
        };
        if let Some((other, s, e)) = clash {
            let name = users::get(conn, uid)?.map(|u| u.full_name()).unwrap_or_default();
            return Err(ApiError::conflict(format!(
                "The {role} {name} already has appointment {other} from {} to {} that day; choose another time or {role}.",
                &s[..5],
                &e[..5]
            ))
            .with_extra("conflicts", json!([{"user": uid, "role": role, "appointment": other}])));
        }
    }
    Ok(())
}
