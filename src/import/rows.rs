//! Each of the original's tables mapped onto ours, ids kept, in one transaction: staff,
//! knox tokens, clients, services, appointments (lead and group therapists, services,
//! workflow timestamps), availability, notifications. Every decision the original's data
//! does not settle is a table or a line here, documented in docs/MIGRATION.md; every row
//! skipped or changed adds one line to the summary, naming the row but never a hash or
//! a token.

use super::fields::Fields;
use super::source::{Record, Source};
use super::{Count, Summary};
use crate::auth::password;
use crate::scheduling::workflow::{Status, PAYMENT_METHOD_VALUES};
use crate::store::{tokens, users::ROLES};
use rusqlite::{params, Connection};
use std::collections::{HashMap, HashSet};

/// Statuses the original's old rows may hold that our workflow table does not have, and
/// the nearest of ours (the step the appointment had reached).
pub const LEGACY_STATUSES: &[(&str, Status)] = &[
    ("confirmed", Status::TherapistConfirmed),
    ("therapist_confirm", Status::TherapistConfirmed),
    ("driver_confirm", Status::DriverConfirmed),
    ("driver_assigned", Status::DriverConfirmed),
    ("driving_to_location", Status::Journey),
    ("transporting_group", Status::Journey),
    ("at_location", Status::Arrived),
    ("therapist_dropped_off", Status::DroppedOff),
    ("picking_up_therapists", Status::DriverAssignedPickup),
    ("driver_transport_completed", Status::TransportCompleted),
];

/// The original's payment_status → ours (`pending` until the operator records payment,
/// then `paid`). A partial payment stays pending with its amount; a refund is kept as
/// `refunded`, which nothing in our workflow changes.
pub const PAYMENT_STATUSES: &[(&str, &str)] =
    &[("unpaid", "pending"), ("partial", "pending"), ("paid", "paid"), ("refunded", "refunded"), ("", "pending")];

/// Our workflow timestamp columns and the original's fields that fill them, first found wins.
const STAMP_SOURCES: &[(&str, &[&str])] = &[
    ("therapist_confirmed_at", &["therapist_confirmed_at", "therapist_accepted_at"]),
    ("rejected_at", &["rejected_at"]),
    ("driver_confirmed_at", &["driver_confirmed_at", "driver_accepted_at"]),
    ("started_at", &["started_at"]),
    ("journey_started_at", &["journey_started_at"]),
    ("arrived_at", &["arrived_at"]),
    ("dropped_off_at", &["dropped_off_at"]),
    ("session_started_at", &["session_started_at"]),
    ("awaiting_payment_at", &["payment_initiated_at", "session_end_time"]),
    ("payment_received_at", &["payment_verified_at", "payment_received_at"]),
    ("pickup_requested_at", &["pickup_request_time", "pickup_requested_at"]),
    ("pickup_assigned_at", &["pickup_assigned_at", "pickup_driver_assigned_at"]),
    ("return_journey_at", &["pickup_confirmed_at", "return_journey_started_at"]),
    ("transport_completed_at", &["return_journey_completed_at", "transport_completed_at"]),
    ("cancelled_at", &["cancelled_at", "auto_cancelled_at"]),
];

/// Statuses in which the driver column means the pickup driver (ours has one driver).
const PICKUP_PHASE: &[Status] = &[Status::DriverAssignedPickup, Status::ReturnJourney, Status::TransportCompleted];

/// Our status for the original's, and whether it was a legacy one mapped.
pub fn map_status(original: &str) -> Option<(Status, bool)> {
    if let Some(s) = Status::parse(original) {
        return Some((s, false));
    }
    LEGACY_STATUSES.iter().find(|(old, _)| *old == original).map(|(_, s)| (*s, true))
}

/// What has been imported so far, for the references of later tables.
#[derive(Default)]
struct Imported {
    users: HashMap<i64, (String, bool)>,
    usernames: HashMap<String, i64>,
    clients: HashSet<i64>,
    services: HashSet<i64>,
    appointments: HashSet<i64>,
}

impl Imported {
    fn user_name(&self, id: i64) -> String {
        self.users.get(&id).map(|(u, _)| u.clone()).unwrap_or_else(|| format!("#{id}"))
    }
}

fn pk(r: &Record) -> Option<i64> {
    r.pk.as_i64().or_else(|| r.pk.as_str().and_then(|s| s.parse().ok()))
}

pub(super) fn import_all(tx: &Connection, src: &Source, token_ttl_secs: u64) -> rusqlite::Result<Summary> {
    let now = crate::time::now_iso();
    let mut s = Summary::default();
    let mut done = Imported::default();
    let steps: [(&'static str, &str, Step); 7] = [
        ("staff", "core.customuser", users),
        ("knox tokens", "knox.authtoken", tokens_step),
        ("clients", "scheduling.client", clients),
        ("services", "registration.service", services),
        ("appointments", "scheduling.appointment", appointments),
        ("availability", "scheduling.availability", availability),
        ("notifications", "scheduling.notification", notifications),
    ];
    let ctx = Ctx { now: &now, token_ttl_secs };
    for (table, model, step) in steps {
        let records = src.of(model);
        let mut imported = 0;
        for r in records {
            if step(tx, r, &ctx, &mut done, &mut s.notes)? {
                imported += 1;
            }
        }
        s.counts.push((table, Count { imported, of: records.len() }));
    }
    Ok(s)
}

struct Ctx<'a> {
    now: &'a str,
    token_ttl_secs: u64,
}

/// Maps one record; true if it was imported. Adds a note for anything skipped or changed.
type Step = fn(&Connection, &Record, &Ctx, &mut Imported, &mut Vec<String>) -> rusqlite::Result<bool>;

fn users(
    tx: &Connection,
    r: &Record,
    ctx: &Ctx,
    done: &mut Imported,
    notes: &mut Vec<String>,
) -> rusqlite::Result<bool> {
    let f = Fields(&r.fields);
    let username = f.text("username");
    let Some(id) = pk(r) else {
        notes.push(format!("user {username:?}: no id; skipped."));
        return Ok(false);
    };
    let who = format!("user {username} (id {id})");
    if username.is_empty() {
        notes.push(format!("{who}: no username; skipped."));
        return Ok(false);
    }
    // Django usernames are case-sensitive; ours are not (logins are typed by people).
    if done.usernames.keys().any(|u| u.eq_ignore_ascii_case(&username)) {
        notes.push(format!("{who}: another user has the same username apart from upper/lower case; skipped."));
        return Ok(false);
    }
    let mut role = f.text("role").trim().to_lowercase();
    if !ROLES.contains(&role.as_str()) {
        if role.is_empty() && f.flag("is_superuser") {
            notes.push(format!("{who}: a superuser without a role; imported as an operator."));
            role = "operator".into();
        } else {
            notes.push(format!(
                "{who}: role {role:?} is not operator, therapist or driver; skipped (add them with `royal-care user add` if they still work here)."
            ));
            return Ok(false);
        }
    }
    let hash = f.text("password");
    let stored = if password::is_supported(&hash) {
        hash
    } else {
        let why = if hash.is_empty() || hash.starts_with('!') {
            "had no usable password in Django".to_string()
        } else {
            let alg = hash.split('$').next().unwrap_or("");
            format!("its password hash ({alg}) cannot be checked by royal-care")
        };
        notes.push(format!("{who}: {why}; imported unable to log in until `royal-care user passwd {username}`."));
        "!".to_string()
    };
    let mut pressure = f.text("massage_pressure").trim().to_lowercase();
    if !["", "soft", "moderate", "hard"].contains(&pressure.as_str()) {
        notes.push(format!("{who}: massage pressure {pressure:?} is not soft, moderate or hard; left empty."));
        pressure.clear();
    }
    // The original's default phone number "N/A" means none.
    let phone = Some(f.text("phone_number")).filter(|p| p.trim() != "N/A").unwrap_or_default();
    let active = !r.fields.contains_key("is_active") || f.flag("is_active");
    tx.execute(
        "INSERT INTO users (id, username, email, first_name, last_name, role, phone_number, specialization, password,
                            is_active, date_joined, massage_pressure, license_number, motorcycle_plate)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            id,
            username,
            f.text("email"),
            f.text("first_name"),
            f.text("last_name"),
            role,
            phone,
            f.text("specialization"),
            stored,
            active,
            f.datetime("date_joined").unwrap_or_else(|| ctx.now.to_string()),
            pressure,
            f.text("license_number"),
            f.text("motorcycle_plate"),
        ],
    )?;
    done.usernames.insert(username.clone(), id);
    done.users.insert(id, (username, active));
    Ok(true)
}

fn tokens_step(
    tx: &Connection,
    r: &Record,
    ctx: &Ctx,
    done: &mut Imported,
    notes: &mut Vec<String>,
) -> rusqlite::Result<bool> {
    let f = Fields(&r.fields);
    let by_name = |u: &str| done.usernames.get(u).copied();
    let user = f.ids("user", &by_name).first().copied();
    let whose = format!("a knox token of {}", user.map(|u| done.user_name(u)).unwrap_or_else(|| "no user".into()));
    let digest = r.pk.as_str().map(str::to_string).unwrap_or_else(|| f.text("digest"));
    let key = f.text("token_key");
    let skip = |notes: &mut Vec<String>, why: &str| {
        notes.push(format!("{whose}: {why}; skipped (they log in again)."));
        Ok(false)
    };
    let Some((user, (_, active))) = user.and_then(|u| done.users.get(&u).map(|found| (u, found))) else {
        return skip(notes, "its user was not imported");
    };
    if !active {
        return skip(notes, "its user is inactive");
    }
    if !f.text("salt").is_empty() {
        return skip(notes, "made by knox 4.1 or older (salted), which cannot be carried over");
    }
    let hex = |s: &str| s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if digest.len() != 128 || !hex(&digest) || !(key.len() == 8 || key.len() == 15) || !hex(&key) {
        return skip(notes, "not in the knox 4.2 or 5 format");
    }
    let expiry = match f.datetime("expiry") {
        Some(e) if e.as_str() <= ctx.now => return skip(notes, "expired"),
        Some(e) => e,
        // Knox's "never expires" is not a session a clinic wants forever: it gets one
        // token lifetime from the import, renewed on use like every other token.
        None => {
            let until = crate::time::iso_in(ctx.token_ttl_secs.min(i64::MAX as u64 / 2) as i64);
            notes.push(format!("{whose}: had no expiry; now expires {until} unless used (each use renews it)."));
            until
        }
    };
    let created = f.datetime("created").unwrap_or_else(|| ctx.now.to_string());
    tokens::insert_imported(tx, &digest, &key, user, &created, &expiry)?;
    Ok(true)
}

fn clients(
    tx: &Connection,
    r: &Record,
    ctx: &Ctx,
    done: &mut Imported,
    notes: &mut Vec<String>,
) -> rusqlite::Result<bool> {
    let f = Fields(&r.fields);
    let Some(id) = pk(r) else {
        notes.push("a client without an id; skipped.".into());
        return Ok(false);
    };
    let created = f.datetime("created_at").unwrap_or_else(|| ctx.now.to_string());
    let updated = f.datetime("updated_at").unwrap_or_else(|| created.clone());
    tx.execute(
        "INSERT INTO clients (id, first_name, last_name, phone_number, email, address, notes, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            id,
            f.text("first_name"),
            f.text("last_name"),
            f.text("phone_number"),
            f.text("email"),
            f.text("address"),
            f.text("notes"),
            created,
            updated
        ],
    )?;
    done.clients.insert(id);
    Ok(true)
}

fn services(
    tx: &Connection,
    r: &Record,
    _: &Ctx,
    done: &mut Imported,
    notes: &mut Vec<String>,
) -> rusqlite::Result<bool> {
    let f = Fields(&r.fields);
    let name = f.text("name");
    let Some(id) = pk(r) else {
        notes.push(format!("service {name:?}: no id; skipped."));
        return Ok(false);
    };
    let what = format!("service {name} (id {id})");
    let Some(duration) = f.int("duration").filter(|d| *d > 0) else {
        notes.push(format!("{what}: its duration is not a positive number of minutes; skipped."));
        return Ok(false);
    };
    let Some(price) = f.cents("price").filter(|p| *p >= 0) else {
        notes.push(format!("{what}: its price is not an amount of money; skipped."));
        return Ok(false);
    };
    // We have no oil column; what oil a service uses stays readable in its description.
    let mut description = f.text("description");
    let oil = f.text("oil");
    if !oil.trim().is_empty() && !description.contains(oil.trim()) {
        if !description.is_empty() {
            description.push('\n');
        }
        description.push_str(&format!("Oil: {}", oil.trim()));
    }
    let active = !r.fields.contains_key("is_active") || f.flag("is_active");
    tx.execute(
        "INSERT INTO services (id, name, description, duration, price_cents, is_active) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![id, name, description, duration, price, active],
    )?;
    done.services.insert(id);
    Ok(true)
}

fn appointments(
    tx: &Connection,
    r: &Record,
    ctx: &Ctx,
    done: &mut Imported,
    notes: &mut Vec<String>,
) -> rusqlite::Result<bool> {
    let f = Fields(&r.fields);
    let Some(id) = pk(r) else {
        notes.push("an appointment without an id; skipped.".into());
        return Ok(false);
    };
    let what = format!("appointment {id}");
    let by_name = |u: &str| done.usernames.get(u).copied();
    let client = f.ids("client", &by_name).first().copied();
    let Some(client) = client.filter(|c| done.clients.contains(c)) else {
        notes.push(format!("{what}: its client was not imported; skipped."));
        return Ok(false);
    };
    let (Some(date), Some(start), Some(end)) = (f.date("date"), f.time("start_time"), f.time("end_time")) else {
        notes.push(format!("{what}: its date or times are not valid; skipped."));
        return Ok(false);
    };
    let original = f.text("status");
    let Some((status, legacy)) = map_status(&original) else {
        notes.push(format!("{what}: status {original:?} is unknown to royal-care; skipped."));
        return Ok(false);
    };
    if legacy {
        notes.push(format!("{what}: legacy status {original} imported as {}.", status.as_str()));
    }
    // A reference to someone not imported is dropped, with a note.
    let user_ref = |field: &str, ids: Vec<i64>, notes: &mut Vec<String>| -> Vec<i64> {
        let (kept, lost): (Vec<i64>, Vec<i64>) = ids.into_iter().partition(|u| done.users.contains_key(u));
        for u in lost {
            notes.push(format!("{what}: its {field} (user {u}) was not imported; left out."));
        }
        kept
    };
    let lead = user_ref("therapist", f.ids("therapist", &by_name), notes).first().copied();
    let mut therapists = user_ref("group therapist", f.ids("therapists", &by_name), notes);
    // The lead is one of the therapists and comes first; without a lead, the first of them leads.
    let lead = lead.or_else(|| therapists.first().copied());
    therapists.retain(|t| Some(*t) != lead);
    therapists.dedup();
    let mut driver = user_ref("driver", f.ids("driver", &by_name), notes).first().copied();
    let operator = user_ref("operator", f.ids("operator", &by_name), notes).first().copied();
    if PICKUP_PHASE.contains(&status) {
        if let Some(p) = user_ref("pickup driver", f.ids("pickup_driver", &by_name), notes).first() {
            driver = Some(*p);
        }
    }
    let original_payment = f.text("payment_status");
    let payment = match PAYMENT_STATUSES.iter().find(|(o, _)| *o == original_payment) {
        Some((_, ours)) => *ours,
        None => {
            notes.push(format!("{what}: payment status {original_payment:?} is unknown; imported as pending."));
            "pending"
        }
    };
    if original_payment == "partial" {
        notes.push(format!("{what}: partly paid; imported as payment pending with the amount paid so far."));
    }
    let recorded = payment != "pending" || original_payment == "partial";
    // The original defaults the amount to 0 and the method to cash before anyone paid.
    let amount = f.cents("payment_amount").filter(|c| recorded || *c != 0);
    let method = f.text("payment_method");
    let method = match method.as_str() {
        _ if !recorded => String::new(),
        "" => String::new(),
        m if PAYMENT_METHOD_VALUES.contains(&m) => method,
        _ => "other".to_string(),
    };
    let stamps: Vec<Option<String>> =
        STAMP_SOURCES.iter().map(|(_, from)| from.iter().find_map(|field| f.datetime(field))).collect();
    let created = f.datetime("created_at").unwrap_or_else(|| ctx.now.to_string());
    let updated = f.datetime("updated_at").unwrap_or_else(|| created.clone());
    // The auto-cancel clock starts at the switch-over, not at the original booking time:
    // an appointment still pending gets the full window to be answered here.
    let pending_since = (status == Status::Pending).then(|| ctx.now.to_string());
    let pickup = f.flag("pickup_requested") || status == Status::PickupRequested || PICKUP_PHASE.contains(&status);
    let urgency = f.text("pickup_urgency");
    let urgency = if pickup && ["normal", "urgent"].contains(&urgency.as_str()) { urgency } else { String::new() };
    let group_size = f.int("group_size").filter(|g| *g >= 1).unwrap_or(1);
    let stamp_cols = STAMP_SOURCES.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ");
    let stamp_params = (0..STAMP_SOURCES.len()).map(|i| format!("?{}", 22 + i)).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "INSERT INTO appointments (id, client_id, therapist_id, driver_id, operator_id, date, start_time, end_time, status,
             payment_status, payment_amount_cents, payment_method, location, notes, rejection_reason, pickup_urgency,
             pending_since, created_at, updated_at, group_size, requires_car, {stamp_cols}, pickup_notes, estimated_pickup_time)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, {stamp_params}, ?{}, ?{})",
        22 + STAMP_SOURCES.len(),
        23 + STAMP_SOURCES.len()
    );
    let mut values: Vec<Box<dyn rusqlite::ToSql>> = vec![
        Box::new(id),
        Box::new(client),
        Box::new(lead),
        Box::new(driver),
        Box::new(operator),
        Box::new(date),
        Box::new(start),
        Box::new(end),
        Box::new(status.as_str()),
        Box::new(payment),
        Box::new(amount),
        Box::new(method),
        Box::new(f.text("location")),
        Box::new(f.text("notes")),
        Box::new(f.text("rejection_reason")),
        Box::new(urgency),
        Box::new(pending_since),
        Box::new(created),
        Box::new(updated.clone()),
        Box::new(group_size),
        Box::new(f.flag("requires_car")),
    ];
    values.extend(stamps.iter().cloned().map(|s| Box::new(s) as Box<dyn rusqlite::ToSql>));
    values.push(Box::new(f.text("pickup_notes")));
    values.push(Box::new(f.datetime("estimated_pickup_time")));
    tx.execute(&sql, rusqlite::params_from_iter(values.iter().map(|b| &**b)))?;

    // Who has confirmed: everyone, once the appointment is past the therapists' answer;
    // before that, only a lead the original recorded as confirmed.
    let confirmed_stamp = stamps[0].clone();
    let past_answer = !matches!(status, Status::Pending | Status::Rejected | Status::Cancelled | Status::AutoCancelled);
    let all = lead.into_iter().map(|t| (t, true)).chain(therapists.iter().map(|t| (*t, false)));
    for (t, is_lead) in all {
        let at = if past_answer {
            confirmed_stamp.clone().or_else(|| Some(updated.clone()))
        } else if is_lead {
            confirmed_stamp.clone()
        } else {
            None
        };
        tx.execute(
            "INSERT INTO appointment_therapists (appointment_id, therapist_id, confirmed_at) VALUES (?1, ?2, ?3)",
            params![id, t, at],
        )?;
    }
    for s in f.ids("services", &by_name) {
        if !done.services.contains(&s) {
            notes.push(format!("{what}: its service {s} was not imported; left out."));
            continue;
        }
        tx.execute(
            "INSERT OR IGNORE INTO appointment_services (appointment_id, service_id) VALUES (?1, ?2)",
            params![id, s],
        )?;
    }
    done.appointments.insert(id);
    Ok(true)
}

fn availability(
    tx: &Connection,
    r: &Record,
    ctx: &Ctx,
    done: &mut Imported,
    notes: &mut Vec<String>,
) -> rusqlite::Result<bool> {
    let f = Fields(&r.fields);
    let id = pk(r);
    let what = format!("availability slot {}", id.map(|i| i.to_string()).unwrap_or_default());
    let by_name = |u: &str| done.usernames.get(u).copied();
    let Some(user) = f.ids("user", &by_name).first().copied().filter(|u| done.users.contains_key(u)) else {
        notes.push(format!("{what}: its staff member was not imported; skipped."));
        return Ok(false);
    };
    let (Some(date), Some(start), Some(end)) = (f.date("date"), f.time("start_time"), f.time("end_time")) else {
        notes.push(format!("{what}: its date or times are not valid; skipped."));
        return Ok(false);
    };
    let created = f.datetime("created_at").unwrap_or_else(|| ctx.now.to_string());
    let updated = f.datetime("updated_at").unwrap_or_else(|| created.clone());
    let is_available = !r.fields.contains_key("is_available") || f.flag("is_available");
    tx.execute(
        "INSERT INTO availability (id, user_id, date, start_time, end_time, is_available, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![id, user, date, start, end, is_available, created, updated],
    )?;
    Ok(true)
}

fn notifications(
    tx: &Connection,
    r: &Record,
    ctx: &Ctx,
    done: &mut Imported,
    notes: &mut Vec<String>,
) -> rusqlite::Result<bool> {
    let f = Fields(&r.fields);
    let id = pk(r);
    let by_name = |u: &str| done.usernames.get(u).copied();
    let Some(user) = f.ids("user", &by_name).first().copied().filter(|u| done.users.contains_key(u)) else {
        notes.push(format!(
            "notification {}: its staff member was not imported; skipped.",
            id.map(|i| i.to_string()).unwrap_or_default()
        ));
        return Ok(false);
    };
    // A notification outlives its appointment (the column goes NULL), as ours do.
    let appointment = f.ids("appointment", &by_name).first().copied().filter(|a| done.appointments.contains(a));
    tx.execute(
        "INSERT INTO notifications (id, user_id, appointment_id, notification_type, message, is_read, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            id,
            user,
            appointment,
            f.text("notification_type"),
            f.text("message"),
            f.flag("is_read"),
            f.datetime("created_at").unwrap_or_else(|| ctx.now.to_string())
        ],
    )?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every legacy status maps onto one of ours, and none shadows a current one.
    #[test]
    fn legacy_statuses_map_to_ours() {
        for (old, ours) in LEGACY_STATUSES {
            assert!(Status::parse(old).is_none(), "{old} is one of ours");
            assert_eq!(map_status(old), Some((*ours, true)));
        }
        assert_eq!(map_status("journey"), Some((Status::Journey, false)));
        assert_eq!(map_status("teleported"), None);
    }
}
