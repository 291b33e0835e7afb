//! The operators' daily summary (`appointments/daily_summary/?date=`): one day's bookings
//! counted by status, the money received by payment method, what is still unpaid, and
//! per therapist their bookings and revenue. Read in one snapshot; what counts as paid,
//! unpaid or cancelled comes from the workflow table (`workflow::Status`, its payment
//! statuses and methods), not from a second list here. Decisions (docs/API.md):
//! revenue is `payment_amount` of appointments whose `payment_status` is `paid` or
//! `partial`, whatever their status; unpaid is a session that has ended (awaiting
//! payment or later) with `payment_status` `pending`, owed at its services' total price;
//! a therapist's bookings are the appointments they are on (lead or group) that were not
//! cancelled, and the revenue is credited to the lead therapist, so the rows add up to
//! the day's total.

use super::validate::money;
use super::workflow::{self, Status};
use crate::store::users;
use rusqlite::{params, Connection};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Payment statuses whose amount counts as received.
const RECEIVED: &[&str] = &["paid", "partial"];

/// Statuses after the session ended (awaiting payment up to transport completed): a
/// booking there with nothing paid is owed money.
fn session_over() -> Vec<&'static str> {
    let from = Status::AwaitingPayment as usize;
    let to = Status::TransportCompleted as usize;
    Status::ALL[from..=to].iter().map(|s| s.as_str()).collect()
}

fn quoted(list: &[&str]) -> String {
    list.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ")
}

/// The summary of `date` (YYYY-MM-DD) as JSON (the `DailySummary` schema).
pub fn daily(conn: &Connection, date: &str) -> rusqlite::Result<Value> {
    // Bookings by status: every status of the table, zero when none.
    let mut by_status: Map<String, Value> = Status::ALL.iter().map(|s| (s.as_str().to_string(), json!(0))).collect();
    let mut total = 0i64;
    {
        let mut st =
            conn.prepare_cached("SELECT status, COUNT(*) FROM appointments WHERE date = ?1 GROUP BY status")?;
        let rows = st.query_map([date], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (status, n) = row?;
            total += n;
            by_status.insert(status, json!(n));
        }
    }

    // Money received, by method (every method of the table, zero when none).
    let mut by_method: BTreeMap<&str, i64> = workflow::PAYMENT_METHOD_VALUES.iter().map(|m| (*m, 0)).collect();
    let mut received = 0i64;
    let mut payments = 0i64;
    let mut other_method = 0i64;
    {
        let sql = format!(
            "SELECT payment_method, COUNT(*), COALESCE(SUM(payment_amount_cents), 0) FROM appointments
             WHERE date = ?1 AND payment_status IN ({}) AND payment_amount_cents IS NOT NULL GROUP BY payment_method",
            quoted(RECEIVED)
        );
        let mut st = conn.prepare_cached(&sql)?;
        let rows = st.query_map([date], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)))?;
        for row in rows {
            let (method, n, cents) = row?;
            payments += n;
            received += cents;
            match by_method.get_mut(method.as_str()) {
                Some(sum) => *sum += cents,
                // An imported row without a method: counted, under "other".
                None => other_method += cents,
            }
        }
    }
    if let Some(sum) = by_method.get_mut("other") {
        *sum += other_method;
    }

    // Unpaid: the session is over and nothing was paid; owed at the services' prices.
    let (unpaid_count, unpaid_cents): (i64, i64) = conn.query_row(
        &format!(
            "SELECT COUNT(*), COALESCE(SUM((SELECT COALESCE(SUM(s.price_cents), 0) FROM appointment_services x
                 JOIN services s ON s.id = x.service_id WHERE x.appointment_id = a.id)), 0)
             FROM appointments a WHERE a.date = ?1 AND a.status IN ({}) AND a.payment_status = 'pending'",
            quoted(&session_over())
        ),
        [date],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;

    // Per therapist: bookings they are on (not cancelled), revenue as the lead.
    let cancelled = quoted(&[Status::Cancelled.as_str(), Status::AutoCancelled.as_str()]);
    let mut per: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    {
        let sql = format!(
            "SELECT t.therapist_id, COUNT(*) FROM appointment_therapists t JOIN appointments a ON a.id = t.appointment_id
             WHERE a.date = ?1 AND a.status NOT IN ({cancelled}) GROUP BY t.therapist_id"
        );
        let mut st = conn.prepare_cached(&sql)?;
        for row in st.query_map([date], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))? {
            let (id, n) = row?;
            per.entry(id).or_default().0 = n;
        }
        let sql = format!(
            "SELECT therapist_id, SUM(payment_amount_cents) FROM appointments
             WHERE date = ?1 AND therapist_id IS NOT NULL AND payment_status IN ({}) AND payment_amount_cents IS NOT NULL
             GROUP BY therapist_id",
            quoted(RECEIVED)
        );
        let mut st = conn.prepare_cached(&sql)?;
        for row in st.query_map(params![date], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))? {
            let (id, cents) = row?;
            per.entry(id).or_default().1 = cents;
        }
    }
    let names = users::get_many(conn, per.keys().copied())?;
    let mut therapists: Vec<Value> = per
        .iter()
        .map(|(id, (n, cents))| {
            json!({
                "id": id,
                "name": names.get(id).map(|u| u.full_name()).unwrap_or_default(),
                "bookings": n,
                "revenue": money(*cents),
            })
        })
        .collect();
    therapists
        .sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()).then(a["id"].as_i64().cmp(&b["id"].as_i64())));

    Ok(json!({
        "date": date,
        "bookings": {"total": total, "by_status": by_status},
        "revenue": {
            "total": money(received),
            "payments": payments,
            "by_method": by_method.into_iter().map(|(m, c)| (m.to_string(), json!(money(c)))).collect::<Map<_, _>>(),
        },
        "unpaid": {"count": unpaid_count, "amount": money(unpaid_cents)},
        "therapists": therapists,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_is_over_from_awaiting_payment_to_transport_completed() {
        let over = session_over();
        assert_eq!(over.first(), Some(&"awaiting_payment"));
        assert!(over.contains(&"completed") && over.contains(&"pickup_requested"));
        assert_eq!(over.last(), Some(&"transport_completed"));
        assert!(!over.contains(&"cancelled") && !over.contains(&"session_in_progress"));
    }
}
