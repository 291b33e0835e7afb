//! The component schemas of what the server answers: the error body (`crate::error`), the
//! user, client, service and appointment shapes, a list page, the workflow table, health
//! and login. Enumerations come from where the server takes them (statuses and actions
//! from `scheduling::workflow`, roles from `store::users::ROLES`, error codes from
//! `ErrorCode`, timestamp columns from `appointment::STAMPS`); the member lists are
//! written here and are strict (`additionalProperties: false`), so `tests/schema.rs` and
//! the unit tests, which validate real answers against them, fail on any member the
//! document does not describe.

use super::kinds::{nullable, MAX_ID};
use crate::error::ErrorCode;
use crate::scheduling::appointment::STAMPS;
use crate::scheduling::privacy::{self, Object};
use crate::scheduling::workflow::{self, Status};
use crate::store::users::ROLES;
use serde_json::{json, Map, Value};

/// The `code` values an error with HTTP `status` can carry (`ErrorCode::status`).
pub fn codes_for(status: u16) -> Vec<&'static str> {
    let mut v: Vec<&str> =
        ErrorCode::ALL.iter().copied().filter(|c| c.status() == status).map(ErrorCode::as_str).collect();
    v.dedup();
    v
}

pub fn r(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn object(required: &[&str], props: Vec<(&str, Value)>) -> Value {
    let mut m = Map::new();
    for (k, v) in props {
        m.insert(k.to_string(), v);
    }
    for k in required {
        assert!(m.contains_key(*k), "required {k} is a property");
    }
    json!({"type": "object", "required": required, "properties": m, "additionalProperties": false})
}

/// `object`, with the members the privacy rule (`scheduling::privacy::RESTRICTED`) gives
/// only some roles made optional and described so, whatever `required` says.
fn object_of(of: &[Object], required: &[&str], mut props: Vec<(&str, Value)>) -> Value {
    let restricted = |member: &str| {
        privacy::RESTRICTED
            .iter()
            .filter(|(o, m, _)| of.contains(o) && *m == member)
            .flat_map(|(_, _, roles)| roles.iter())
            .copied()
            .collect::<Vec<_>>()
    };
    for (name, schema) in props.iter_mut() {
        let roles = restricted(name);
        if !roles.is_empty() {
            if let Value::Object(m) = schema {
                m.insert(
                    "description".into(),
                    json!(format!("only for {} (and the user themselves)", roles.join(", "))),
                );
            }
        }
    }
    let required: Vec<&str> = required.iter().copied().filter(|k| restricted(k).is_empty()).collect();
    object(&required, props)
}

fn string() -> Value {
    json!({"type": "string"})
}

fn id() -> Value {
    json!({"type": "integer", "minimum": 1, "maximum": MAX_ID})
}

fn boolean() -> Value {
    json!({"type": "boolean"})
}

fn timestamp() -> Value {
    json!({"type": "string", "format": "date-time"})
}

/// Money as answered: a string with two decimals.
fn money() -> Value {
    json!({"type": "string", "pattern": "^-?[0-9]+\\.[0-9]{2}$", "examples": ["1500.00"]})
}

fn status() -> Value {
    json!({"type": "string", "enum": workflow::STATUSES})
}

/// The REST actions (what `allowed_actions` lists).
fn actions() -> Value {
    json!({"type": "array", "items": {"type": "string", "enum": workflow::actions().map(|t| t.action.as_str()).collect::<Vec<_>>()}})
}

fn role() -> Value {
    json!({"type": "string", "enum": ROLES})
}

/// `{"detail", "code"}` plus what some errors add (`crate::error::ApiError::body`).
fn error() -> Value {
    let codes: Vec<&str> = ErrorCode::ALL.iter().copied().map(ErrorCode::as_str).collect();
    let mut codes_unique = codes.clone();
    codes_unique.dedup();
    object(
        &["detail", "code"],
        vec![
            ("detail", json!({"type": "string", "description": "one sentence saying what to do next"})),
            ("code", json!({"type": "string", "enum": codes_unique})),
            (
                "fields",
                json!({"type": "object", "description": "400 invalid: field name → its problems",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}, "minItems": 1}}),
            ),
            (
                "allowed_actions",
                json!({"description": "403 / 409 INVALID_STATUS: what you may do now", "allOf": [actions()]}),
            ),
            ("status", json!({"description": "409 INVALID_STATUS: the appointment's status", "allOf": [status()]})),
            ("version", json!({"type": "integer", "description": "409 STALE: the current version"})),
            (
                "conflicts",
                json!({"type": "array", "description": "409 CONFLICT of a double booking",
                    "items": object(&["user", "role", "appointment"], vec![("user", id()), ("role", role()), ("appointment", id())])}),
            ),
            ("allowed_methods", json!({"type": "array", "items": {"type": "string"}, "description": "405"})),
            (
                "errors",
                json!({"type": "array", "description": "400 of availabilities/bulk_create/ when no slot was created: why each was not (as in its 201 answer)"}),
            ),
        ],
    )
}

/// A staff account (`User::to_json`). `email` is role-dependent: operators always get it.
fn user() -> Value {
    object_of(
        &[Object::Account, Object::Colleague],
        &[
            "id",
            "username",
            "first_name",
            "last_name",
            "email",
            "role",
            "phone_number",
            "specialization",
            "massage_pressure",
            "license_number",
            "motorcycle_plate",
            "is_active",
            "email_verified",
            "profile_photo_url",
            "two_factor_enabled",
        ],
        vec![
            ("id", id()),
            ("username", string()),
            ("first_name", string()),
            ("last_name", string()),
            ("email", string()),
            ("role", role()),
            ("phone_number", string()),
            ("specialization", string()),
            ("massage_pressure", json!({"type": "string", "enum": ["", "soft", "moderate", "hard"]})),
            ("license_number", string()),
            ("motorcycle_plate", string()),
            ("is_active", boolean()),
            (
                "email_verified",
                json!({"const": true, "description": "Always true (the original frontend's route guard reads it)."}),
            ),
            ("profile_photo_url", json!({"type": "null"})),
            ("two_factor_enabled", json!({"const": false})),
        ],
    )
}

/// A client (`Client::to_json`); role-dependent members as `scheduling::privacy` says.
fn client() -> Value {
    object_of(
        &[Object::Client],
        &["id", "first_name", "last_name", "phone_number", "email", "address", "notes", "created_at", "updated_at"],
        vec![
            ("id", id()),
            ("first_name", string()),
            ("last_name", string()),
            ("phone_number", string()),
            ("email", string()),
            ("address", string()),
            ("notes", string()),
            ("created_at", timestamp()),
            ("updated_at", timestamp()),
        ],
    )
}

fn service() -> Value {
    object(
        &["id", "name", "description", "duration", "price", "is_active"],
        vec![
            ("id", id()),
            ("name", string()),
            ("description", string()),
            ("duration", json!({"type": "integer", "minimum": 1, "description": "minutes"})),
            ("price", money()),
            ("is_active", boolean()),
        ],
    )
}

/// The one appointment shape (`scheduling::appointment::json`) as REST answers and a
/// socket's `initial_data` give it, with the caller's `allowed_actions`.
fn appointment() -> Value {
    let time = json!({"type": "string", "pattern": "^[0-9]{2}:[0-9]{2}:[0-9]{2}$"});
    let with_empty = |values: Vec<&'static str>| {
        let mut v = vec![""];
        v.extend(values);
        json!({"type": "string", "enum": v})
    };
    let by_role: Vec<(&str, Value)> = ROLES.iter().map(|r| (*r, actions())).collect();
    let mut props = vec![
        ("id", id()),
        ("client", id()),
        ("services", json!({"type": "array", "items": id()})),
        ("therapist", nullable(id())),
        (
            "therapists",
            json!({"type": "array", "items": id(), "description": "the group's therapists besides the lead"}),
        ),
        ("driver", nullable(id())),
        ("operator", nullable(id())),
        ("date", json!({"type": "string", "format": "date"})),
        ("start_time", time.clone()),
        ("end_time", time),
        ("status", status()),
        (
            "payment_status",
            json!({"type": "string", "enum": workflow::PAYMENT_STATUSES.iter().map(|c| c.value).collect::<Vec<_>>()}),
        ),
        ("payment_amount", nullable(money())),
        ("payment_method", with_empty(workflow::PAYMENT_METHOD_VALUES.to_vec())),
        ("location", string()),
        ("notes", string()),
        ("rejection_reason", string()),
        ("pickup_urgency", with_empty(workflow::PICKUP_URGENCIES.iter().map(|c| c.value).collect())),
        ("cancellation_reason", string()),
        (
            "pending_since",
            json!({"description": "while pending: when the auto-cancel clock started (it ends pending_timeout_secs later, see /health/); null otherwise", "allOf": [nullable(timestamp())]}),
        ),
        ("version", json!({"type": "integer", "minimum": 1})),
        ("created_at", timestamp()),
        ("updated_at", timestamp()),
        ("client_details", nullable(r("Client"))),
        ("therapist_details", nullable(r("User"))),
        ("therapists_details", json!({"type": "array", "items": nullable(r("User"))})),
        ("driver_details", nullable(r("User"))),
        ("operator_details", nullable(r("User"))),
        ("services_details", json!({"type": "array", "items": r("Service")})),
        ("total_price", money()),
        ("total_duration", json!({"type": "integer", "minimum": 0, "description": "minutes"})),
        (
            "therapist_confirmations",
            json!({"type": "array", "items": object(&["therapist", "confirmed_at"], vec![("therapist", id()), ("confirmed_at", nullable(timestamp()))])}),
        ),
        (
            "allowed_actions_by_role",
            json!({"description": "what each role's assigned staff (yet to confirm) may do now", "allOf": [object(ROLES.as_slice(), by_role)]}),
        ),
        ("group_size", json!({"type": "integer", "minimum": 1})),
        ("requires_car", boolean()),
        ("pickup_notes", string()),
        ("pickup_rejection_reason", string()),
        ("estimated_pickup_time", nullable(timestamp())),
        (
            "session_end_time",
            json!({"description": "when the session ended: awaiting_payment_at", "allOf": [nullable(timestamp())]}),
        ),
        (
            "pickup_confirmed_at",
            json!({"description": "when the pickup driver confirmed: return_journey_at", "allOf": [nullable(timestamp())]}),
        ),
        (
            "return_journey_completed_at",
            json!({"description": "back at base: transport_completed_at", "allOf": [nullable(timestamp())]}),
        ),
        ("therapist_accepted", json!({"type": "boolean", "description": "every assigned therapist has confirmed"})),
        (
            "both_parties_accepted",
            json!({"type": "boolean", "description": "the therapists have confirmed, and the driver too if one is assigned"}),
        ),
        (
            "pending_acceptances",
            json!({"type": "array", "description": "who has yet to confirm, while the booking is not yet started",
                "items": object(&["id", "role", "name"], vec![("id", id()), ("role", json!({"type": "string", "enum": ["therapist", "driver"]})), ("name", string())])}),
        ),
        ("formatted_date", json!({"type": "string", "examples": ["December 05, 2026"]})),
        (
            "formatted_start_time",
            json!({"type": "string", "pattern": "^[0-9]{2}:[0-9]{2} (AM|PM)$", "examples": ["09:30 AM"]}),
        ),
        (
            "formatted_end_time",
            json!({"type": "string", "pattern": "^[0-9]{2}:[0-9]{2} (AM|PM)$", "examples": ["10:30 AM"]}),
        ),
    ];
    props.extend(STAMPS.iter().map(|s| (*s, nullable(timestamp()))));
    props.push(("allowed_actions", json!({"description": "what you may do now", "allOf": [actions()]})));
    let required: Vec<&str> = props.iter().map(|p| p.0).collect();
    object_of(&[Object::Appointment], &required, props.clone())
}

/// A list page (`api::page::Page::respond`) of `item`s.
pub fn page(item: &str) -> Value {
    let link = json!({"type": ["string", "null"], "format": "uri"});
    object(
        &[
            "count",
            "total_pages",
            "current_page",
            "page_size",
            "next",
            "previous",
            "has_next",
            "has_previous",
            "results",
        ],
        vec![
            ("count", json!({"type": "integer", "minimum": 0})),
            ("total_pages", json!({"type": "integer", "minimum": 1})),
            ("current_page", json!({"type": "integer", "minimum": 1})),
            ("page_size", json!({"type": "integer", "minimum": 1, "maximum": super::super::page::MAX_PAGE_SIZE})),
            ("next", link.clone()),
            ("previous", link),
            ("has_next", boolean()),
            ("has_previous", boolean()),
            ("results", json!({"type": "array", "items": r(item)})),
        ],
    )
}

/// `GET /api/scheduling/workflow/` (`workflow::to_json`).
fn workflow_table() -> Value {
    let statuses: Vec<&str> = workflow::STATUSES.to_vec();
    let actions: Vec<&str> = workflow::TRANSITIONS.iter().map(|t| t.action.as_str()).collect();
    let roles: Vec<&str> = ROLES.to_vec();
    let st = json!({"type": "string", "enum": statuses});
    let names = json!({"type": "array", "items": {"type": "string"}});
    let text_or_null = json!({"type": ["string", "null"]});
    let label_pair = object(&["name", "label"], vec![("name", string()), ("label", string())]);
    let status = object(
        &[
            "name",
            "label",
            "tone",
            "labels_by_role",
            "active",
            "finished",
            "awaits_therapist",
            "cancellable",
            "on_staff_board",
            "leaves_staff_board_after_its_day",
        ],
        vec![
            ("name", st.clone()),
            ("label", string()),
            ("tone", json!({"type": "string", "enum": ["wait", "info", "go", "done", "alert", "bad", "off"]})),
            ("labels_by_role", json!({"type": "object", "additionalProperties": {"type": "string"}})),
            ("active", boolean()),
            ("finished", boolean()),
            ("awaits_therapist", boolean()),
            ("cancellable", boolean()),
            ("on_staff_board", boolean()),
            ("leaves_staff_board_after_its_day", boolean()),
        ],
    );
    let choice = object(&["value", "label"], vec![("value", string()), ("label", string())]);
    let input = object(
        &["name", "label", "required", "kind", "default", "hint", "prefill", "aliases", "only_when"],
        vec![
            ("name", string()),
            ("label", string()),
            ("required", boolean()),
            ("kind", json!({"type": "string", "enum": ["text", "money", "choice", "staff"]})),
            ("default", text_or_null.clone()),
            ("hint", text_or_null.clone()),
            ("prefill", names.clone()),
            ("aliases", names.clone()),
            ("only_when", text_or_null.clone()),
            ("max_length", json!({"type": "integer", "minimum": 1})),
            ("multiline", boolean()),
            ("choices", json!({"type": "array", "items": choice})),
            ("role", json!({"type": "string", "enum": roles.clone()})),
        ],
    );
    let outcome = object(
        &["to", "when", "stamp"],
        vec![
            ("to", st.clone()),
            ("when", json!({"type": ["object", "null"], "additionalProperties": {"type": "string"}})),
            ("stamp", text_or_null.clone()),
        ],
    );
    let action = object(
        &[
            "name",
            "aliases",
            "label",
            "title",
            "danger",
            "note",
            "who",
            "who_label",
            "roles",
            "rest",
            "from",
            "to",
            "outcomes",
            "per_therapist",
            "inputs",
            "required",
            "optional",
            "shows",
        ],
        vec![
            ("name", json!({"type": "string", "enum": actions})),
            ("aliases", names.clone()),
            ("label", string()),
            ("title", string()),
            ("danger", boolean()),
            ("note", text_or_null),
            (
                "who",
                json!({"type": "string", "enum": ["operator", "therapist", "driver", "therapist_or_driver", "server"]}),
            ),
            ("who_label", string()),
            ("roles", json!({"type": "array", "items": {"type": "string", "enum": roles}})),
            ("rest", boolean()),
            ("from", json!({"type": "array", "items": st.clone()})),
            ("to", json!({"type": "array", "items": st})),
            ("outcomes", json!({"type": "array", "items": outcome, "minItems": 1})),
            ("per_therapist", boolean()),
            ("inputs", json!({"type": "array", "items": input})),
            ("required", names.clone()),
            ("optional", names),
            ("shows", json!({"type": "array", "items": label_pair.clone()})),
        ],
    );
    object(
        &["statuses", "actions", "roles", "stamps"],
        vec![
            (
                "statuses",
                json!({"type": "array", "items": status, "minItems": Status::ALL.len(), "maxItems": Status::ALL.len()}),
            ),
            ("actions", json!({"type": "array", "items": action})),
            ("roles", json!({"type": "array", "items": label_pair.clone()})),
            ("stamps", json!({"type": "array", "items": label_pair})),
        ],
    )
}

fn health() -> Value {
    object(
        &[
            "status",
            "version",
            "database",
            "epoch",
            "seq",
            "connections",
            "time",
            "today",
            "time_zone",
            "pending_timeout_secs",
            "last_backup_age_secs",
        ],
        vec![
            ("status", json!({"type": "string", "examples": ["healthy"]})),
            ("version", string()),
            ("database", json!({"type": "string", "examples": ["ok"]})),
            ("epoch", json!({"type": "string", "description": "the id of the database's event stream"})),
            ("seq", json!({"type": "integer", "minimum": 0})),
            ("connections", json!({"type": "integer", "minimum": 0})),
            ("time", timestamp()),
            (
                "today",
                json!({"type": "string", "format": "date", "description": "the clinic's date now, in its time zone"}),
            ),
            (
                "time_zone",
                json!({"type": "string", "examples": ["Asia/Manila"], "description": "the clinic's IANA time zone (--time-zone; the machine's own when unset)"}),
            ),
            (
                "pending_timeout_secs",
                json!({"type": "integer", "minimum": 0, "description": "how long an appointment may stay pending before the server cancels it (from its pending_since)"}),
            ),
            (
                "last_backup_age_secs",
                json!({"type": ["integer", "null"], "minimum": 0, "description": "seconds since `royal-care backup` last copied this database; null if it never did"}),
            ),
        ],
    )
}

/// `scheduling::summary::daily`: every status and payment method is a member.
fn daily_summary() -> Value {
    let count = || json!({"type": "integer", "minimum": 0});
    let statuses: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
    let by_status = object(&statuses, statuses.iter().map(|s| (*s, count())).collect());
    let by_method = object(
        workflow::PAYMENT_METHOD_VALUES,
        workflow::PAYMENT_METHOD_VALUES.iter().map(|m| (*m, money())).collect(),
    );
    let therapist = object(
        &["id", "name", "bookings", "revenue"],
        vec![
            ("id", id()),
            ("name", string()),
            (
                "bookings",
                json!({"type": "integer", "minimum": 0, "description": "appointments they are on (lead or group), not cancelled"}),
            ),
            ("revenue", json!({"description": "paid amounts of the appointments they lead", "allOf": [money()]})),
        ],
    );
    object(
        &["date", "bookings", "revenue", "unpaid", "therapists"],
        vec![
            ("date", json!({"type": "string", "format": "date"})),
            ("bookings", object(&["total", "by_status"], vec![("total", count()), ("by_status", by_status)])),
            (
                "revenue",
                json!({"description": "payment_amount of the day's appointments whose payment_status is paid or partial",
                    "allOf": [object(&["total", "payments", "by_method"], vec![("total", money()), ("payments", count()), ("by_method", by_method)])]}),
            ),
            (
                "unpaid",
                json!({"description": "sessions over (awaiting payment or later) with nothing paid, at their services' prices",
                    "allOf": [object(&["count", "amount"], vec![("count", count()), ("amount", money())])]}),
            ),
            ("therapists", json!({"type": "array", "items": therapist})),
        ],
    )
}

fn login() -> Value {
    object(
        &["token", "expiry", "user"],
        vec![
            (
                "token",
                json!({"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "shown once; send as Authorization: Token <token>"}),
            ),
            ("expiry", timestamp()),
            ("user", r("User")),
        ],
    )
}

/// `GET staff/active_staff/` (`api::staff::active`).
fn active_staff() -> Value {
    object(
        &["staff", "count", "filter"],
        vec![
            ("staff", json!({"type": "array", "items": r("User"), "maxItems": super::super::page::MAX_PLAIN_ROWS})),
            ("count", json!({"type": "integer", "minimum": 0, "description": "how many matched"})),
            (
                "filter",
                json!({"type": "string", "enum": ROLES.iter().chain(&["all"]).collect::<Vec<_>>(), "description": "the role asked, or all"}),
            ),
        ],
    )
}

/// A notification (`scheduling::notifications::Notification::to_json`).
fn notification() -> Value {
    let id = json!({"type": "integer", "minimum": 1, "maximum": MAX_ID});
    object(
        &["id", "user", "appointment", "notification_type", "title", "message", "is_read", "created_at"],
        vec![
            ("id", id.clone()),
            ("user", id.clone()),
            ("appointment", json!({"type": ["integer", "null"], "minimum": 1, "maximum": MAX_ID})),
            ("notification_type", json!({"type": "string", "examples": ["appointment_assigned"]})),
            ("title", string()),
            ("message", string()),
            ("is_read", boolean()),
            ("created_at", timestamp()),
        ],
    )
}

/// The notification list: a page whose `results` is the original's object.
fn notification_page() -> Value {
    let mut p = page("Notification");
    p["properties"]["results"] = object(
        &["notifications", "unreadCount"],
        vec![
            ("notifications", json!({"type": "array", "items": r("Notification")})),
            ("unreadCount", json!({"type": "integer", "minimum": 0})),
        ],
    );
    p
}

/// `{<what>, unreadCount}`: a bulk change's answer.
fn counted(what: &str) -> Value {
    object(
        &[what, "unreadCount"],
        vec![
            (what, json!({"type": "integer", "minimum": 0})),
            ("unreadCount", json!({"type": "integer", "minimum": 0})),
        ],
    )
}

fn detail() -> Value {
    object(&["detail"], vec![("detail", string())])
}

// ---- availability (issue 11) ----

/// `HH:MM:SS`, as appointments answer times (a leap second read as `:60` stays so).
fn time_out() -> Value {
    json!({"type": "string", "pattern": "^[0-9]{2}:[0-9]{2}:[0-9]{2}$"})
}

fn date_out() -> Value {
    json!({"type": "string", "format": "date"})
}

/// An availability slot (`scheduling::availability::slots::Slot::to_json`).
fn availability() -> Value {
    object(
        &["id", "user", "date", "start_time", "end_time", "is_available", "is_cross_day", "created_at", "updated_at"],
        vec![
            ("id", id()),
            ("user", id()),
            ("date", date_out()),
            ("start_time", time_out()),
            ("end_time", time_out()),
            ("is_available", boolean()),
            (
                "is_cross_day",
                json!({"type": "boolean", "description": "start_time is after end_time: it ends the next day"}),
            ),
            ("created_at", timestamp()),
            ("updated_at", timestamp()),
        ],
    )
}

fn bulk_created() -> Value {
    let err = object(
        &["index", "start_time", "end_time", "fields"],
        vec![
            (
                "index",
                json!({"type": "integer", "minimum": 0, "description": "the slot's place in the request, from 0"}),
            ),
            ("start_time", json!({"description": "as sent"})),
            ("end_time", json!({"description": "as sent"})),
            (
                "fields",
                json!({"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}),
            ),
        ],
    );
    object(
        &["created_slots", "errors"],
        vec![
            ("created_slots", json!({"type": "array", "items": r("Availability"), "minItems": 1})),
            ("errors", json!({"type": "array", "items": err})),
        ],
    )
}

/// A person of `available_therapists/` (`driver`: of `available_drivers/`).
fn available_person(driver: bool) -> Value {
    let mut props = vec![
        ("id", id()),
        ("first_name", string()),
        ("last_name", string()),
        ("email", string()),
        ("role", json!({"type": "string", "enum": [if driver { "driver" } else { "therapist" }]})),
        ("start_time", time_out()),
        ("end_time", time_out()),
        ("is_available", json!({"type": "boolean", "enum": [true]})),
        ("availability_date", date_out()),
        ("is_cross_day", boolean()),
    ];
    if driver {
        props.push(("motorcycle_plate", string()));
    } else {
        props.push(("specialization", string()));
        props.push(("massage_pressure", json!({"type": "string", "enum": ["", "soft", "moderate", "hard"]})));
    }
    let required: Vec<&str> = props.iter().map(|p| p.0).collect();
    object_of(&[Object::Account], &required, props.clone())
}

fn staff_for_slot() -> Value {
    let text_or_null = json!({"type": ["string", "null"]});
    let conflict = object(
        &["appointment", "client_name", "start_time", "end_time"],
        vec![("appointment", id()), ("client_name", string()), ("start_time", time_out()), ("end_time", time_out())],
    );
    let person = object(
        &[
            "id",
            "first_name",
            "last_name",
            "role",
            "specialization",
            "massage_pressure",
            "motorcycle_plate",
            "available",
            "reason",
            "reason_code",
            "conflict",
            "available_from",
            "available_until",
        ],
        vec![
            ("id", id()),
            ("first_name", string()),
            ("last_name", string()),
            ("role", json!({"type": "string", "enum": ["therapist", "driver"]})),
            ("specialization", string()),
            ("massage_pressure", string()),
            ("motorcycle_plate", string()),
            ("available", boolean()),
            ("reason", json!({"type": ["string", "null"], "description": "one sentence when not available"})),
            (
                "reason_code",
                json!({"enum": crate::scheduling::availability::REASON_CODES.iter().map(|c| json!(c)).chain([Value::Null]).collect::<Vec<_>>(),
                    "description": "why not, for programs; null when available"}),
            ),
            ("conflict", json!({"oneOf": [conflict, {"type": "null"}], "description": "the booking that holds them"})),
            ("available_from", text_or_null.clone()),
            ("available_until", text_or_null),
        ],
    );
    object(
        &["role", "date", "start_time", "end_time", "staff"],
        vec![
            ("role", json!({"type": "string", "enum": ["therapist", "driver"]})),
            ("date", date_out()),
            ("start_time", time_out()),
            ("end_time", time_out()),
            ("staff", json!({"type": "array", "items": person})),
        ],
    )
}

fn working_hours() -> Value {
    let range = object(
        &["weekday", "day", "start_time", "end_time", "is_cross_day"],
        vec![
            ("weekday", json!({"type": "integer", "minimum": 0, "maximum": 6})),
            ("day", json!({"type": "string", "enum": crate::scheduling::availability::week::DAYS})),
            ("start_time", time_out()),
            ("end_time", time_out()),
            ("is_cross_day", boolean()),
        ],
    );
    object(&["user", "hours"], vec![("user", id()), ("hours", json!({"type": "array", "items": range, "maxItems": 7}))])
}

/// `components.schemas`.
pub fn components() -> Value {
    json!({
        "Error": error(),
        "User": user(),
        "Client": client(),
        "Service": service(),
        "Appointment": appointment(),
        "ClientPage": page("Client"),
        "ServicePage": page("Service"),
        "UserPage": page("User"),
        "AppointmentPage": page("Appointment"),
        "Workflow": workflow_table(),
        "Health": health(),
        "DailySummary": daily_summary(),
        "Login": login(),
        "Detail": detail(),
        "ActiveStaff": active_staff(),
        "Notification": notification(),
        "NotificationPage": notification_page(),
        "NotificationsMarked": counted("updated"),
        "NotificationsDeleted": counted("deleted"),
        "Availability": availability(),
        "BulkCreated": bulk_created(),
        "AvailableTherapist": available_person(false),
        "AvailableDriver": available_person(true),
        "StaffForSlot": staff_for_slot(),
        "WorkingHours": working_hours(),
    })
}
