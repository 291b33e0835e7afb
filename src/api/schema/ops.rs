//! What each route of `api::ROUTES` takes and answers, one function per route (its
//! `doc`, so a route cannot be added without one): the request body built from the
//! readers' kinds (`kinds`), the query and header parameters the handler reads, and the
//! statuses it can answer with their shapes (`shapes`). `mod.rs` adds what every
//! operation shares (401 and the token for `Auth` routes, 400/413 for bodies, 404 for
//! `{id}`, 503). Workflow actions are built from the transition table.

use super::kinds::{self, WS};
use super::shapes::r;
use super::{Op, Resp};
use crate::api::page::{MAX_PAGE_SIZE, MAX_PLAIN_ROWS};
use crate::scheduling::booking;
use crate::scheduling::validate::{MAX_SHORT, MAX_TEXT};
use crate::scheduling::views::{Days, Shape, View};
use crate::scheduling::workflow::{self, Kind, Transition};
use crate::store::users::ROLES;
use serde_json::{json, Map, Value};

/// The longest session a service may have, in minutes (`scheduling::services`' bound;
/// `tests/schema.rs` checks the server agrees).
pub const MAX_DURATION: i64 = 24 * 60;

/// The largest `page` the list endpoints read (`api::page::Page::from_request`).
pub const MAX_PAGE: i64 = 1_000_000;

fn object(required: &[&str], props: Vec<(&str, Value)>) -> Value {
    let mut m = Map::new();
    for (k, v) in props {
        m.insert(k.to_string(), v);
    }
    json!({"type": "object", "required": required, "properties": m})
}

fn query(name: &str, schema: Value, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "schema": schema, "description": description})
}

/// An empty string or `s` (the list filters treat `?x=` as absent).
fn or_empty(s: Value) -> Value {
    json!({"anyOf": [{"type": "string", "maxLength": 0}, s]})
}

/// `?ordering=` over `names` (`ListQuery::ordering`): comma-separated, `-` for descending.
fn ordering(names: &[&str]) -> Value {
    let one = format!("[{WS}]*(-?({}))?[{WS}]*", names.join("|"));
    query(
        "ordering",
        json!({"type": "string", "pattern": format!("^{one}(,{one})*$")}),
        &format!("comma-separated, - for descending, from: {}", names.join(", ")),
    )
}

fn pages() -> Vec<Value> {
    vec![
        query(
            "page",
            json!({"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
            "from 1; past the last page is 404",
        ),
        query(
            "page_size",
            json!({"type": "integer", "minimum": 1}),
            &format!(
                "default {}, at most {MAX_PAGE_SIZE}: a larger one is read as {MAX_PAGE_SIZE}",
                crate::api::page::DEFAULT_PAGE_SIZE
            ),
        ),
    ]
}

fn search(what: &str) -> Value {
    query("search", json!({"type": "string"}), &format!("a part of {what}"))
}

/// `ListQuery::flag`.
fn flag(name: &str, what: &str) -> Value {
    query(name, json!({"type": "string", "enum": ["", "true", "false", "1", "0"]}), what)
}

fn id_filter(name: &str, what: &str) -> Value {
    query(name, or_empty(json!({"type": "string", "pattern": kinds::ID_STRING})), what)
}

fn if_match() -> Value {
    json!({"name": "If-Match", "in": "header", "required": false,
        "schema": {"type": "string", "pattern": kinds::IF_MATCH},
        "description": "the version you last read (the ETag), e.g. \"3\"; a stale one gets 409 STALE"})
}

fn etag() -> Value {
    json!({"ETag": {"required": true, "schema": {"type": "string", "pattern": "^\"[0-9a-f]+\"$"}}})
}

fn list(item: &str) -> Resp {
    Resp::json(200, "A page of results.", r(&format!("{item}Page")))
}

// ---- meta and auth ----

pub fn health(_: &str) -> Op {
    Op::new().ok(Resp::json(200, "The server is up.", r("Health")))
}

pub fn schema(_: &str) -> Op {
    Op::new().ok(Resp::json(200, "This document.", json!({"type": "object", "required": ["openapi", "paths"]})))
}

pub fn login(_: &str) -> Op {
    let body = object(
        &["username", "password"],
        vec![
            ("username", json!({"type": "string", "minLength": 1, "description": "the username, or a unique email"})),
            ("password", json!({"type": "string", "minLength": 1})),
        ],
    );
    Op::new().body(body).ok(Resp::json(200, "Logged in; the token is shown only here.", r("Login"))).errors(&[401, 429])
}

pub fn logout(_: &str) -> Op {
    Op::new().ok(Resp::empty(204, "The token is revoked and its sockets closed."))
}

pub fn logout_all(_: &str) -> Op {
    Op::new().ok(Resp::empty(204, "Every token of the user is revoked and their sockets closed."))
}

pub fn profile(method: &str) -> Op {
    if method == "GET" {
        return Op::new().ok(Resp::json(200, "The logged-in user.", r("User")));
    }
    let fixed = "only an operator can change it: only the current value";
    let mut props: Vec<(&str, Value)> = profile_fields().into_iter().take(4).collect();
    props.push(("role", json!({"type": "string", "enum": ROLES, "description": fixed})));
    props.push(("username", json!({"type": "string", "description": fixed})));
    props.push(("is_active", json!({"type": ["boolean", "null"], "description": fixed})));
    for (name, schema) in profile_fields().into_iter().skip(4) {
        let mut s = schema;
        s["description"] = json!(fixed);
        props.push((name, s));
    }
    let mut body = object(&[], props);
    body["not"] = json!({"required": ["password"], "description": "change-password changes it"});
    Op::new().body(body).ok(Resp::json(200, "Updated; your account as it is now.", r("User")))
}

pub fn change_password(_: &str) -> Op {
    let body = object(
        &["current_password", "new_password"],
        vec![
            ("current_password", json!({"type": "string", "minLength": 1})),
            (
                "new_password",
                json!({"type": "string", "minLength": 8, "maxLength": 1024, "pattern": "[^0-9]",
                    "description": "8 or more characters, not only digits, not the username"}),
            ),
        ],
    );
    Op::new()
        .body(body)
        .ok(Resp::json(200, "Changed; the user's other sessions were logged out.", r("Detail")))
        .errors(&[429])
}

// ---- clients, services, staff ----

fn client_body(method: &str) -> Value {
    let required: &[&str] = if method == "PATCH" { &[] } else { &["first_name"] };
    object(
        required,
        vec![
            ("first_name", kinds::name(MAX_SHORT)),
            ("last_name", kinds::text(MAX_SHORT)),
            ("phone_number", kinds::text(MAX_SHORT)),
            ("email", kinds::email(MAX_SHORT)),
            ("address", kinds::text(MAX_TEXT)),
            ("notes", kinds::text(MAX_TEXT)),
        ],
    )
}

pub fn clients(method: &str) -> Op {
    match method {
        "GET" => Op::new()
            .params(pages())
            .param(search("the name, phone or email"))
            .param(ordering(&["first_name", "last_name", "created_at", "id"]))
            .ok(list("Client"))
            .errors(&[404]),
        _ => Op::new().body(client_body(method)).ok(Resp::json(201, "Created.", r("Client"))).errors(&[403]),
    }
}

pub fn client(method: &str) -> Op {
    match method {
        "GET" => Op::new().ok(Resp::json(200, "The client.", r("Client"))),
        "DELETE" => Op::new().ok(Resp::empty(204, "Deleted.")).errors(&[403, 409]),
        m => Op::new().body(client_body(m)).ok(Resp::json(200, "Updated.", r("Client"))).errors(&[403]),
    }
}

fn service_body(method: &str) -> Value {
    let required: &[&str] = if method == "PATCH" { &[] } else { &["name", "duration", "price"] };
    let duration = json!({"type": "integer", "minimum": 1, "maximum": MAX_DURATION, "description": "minutes"});
    object(
        required,
        vec![
            ("name", kinds::name(MAX_SHORT)),
            ("description", kinds::text(MAX_TEXT)),
            ("duration", if method == "PATCH" { kinds::positive_int(MAX_DURATION) } else { duration }),
            ("price", kinds::money()),
            ("is_active", kinds::boolean()),
        ],
    )
}

pub fn services(method: &str) -> Op {
    match method {
        "GET" => Op::new()
            .params(pages())
            .param(flag("is_active", "only active (true) or inactive (false) services"))
            .param(search("the name"))
            .param(ordering(&["name", "price", "duration", "id"]))
            .ok(list("Service"))
            .errors(&[404]),
        _ => Op::new().body(service_body(method)).ok(Resp::json(201, "Created.", r("Service"))).errors(&[403]),
    }
}

pub fn service(method: &str) -> Op {
    match method {
        "GET" => Op::new().ok(Resp::json(200, "The service.", r("Service"))),
        "DELETE" => Op::new().ok(Resp::empty(204, "Deleted.")).errors(&[403, 409]),
        m => Op::new().body(service_body(m)).ok(Resp::json(200, "Updated.", r("Service"))).errors(&[403]),
    }
}

fn profile_fields() -> Vec<(&'static str, Value)> {
    vec![
        ("first_name", kinds::text(MAX_SHORT)),
        ("last_name", kinds::text(MAX_SHORT)),
        ("email", kinds::email(MAX_SHORT)),
        ("phone_number", kinds::text(MAX_SHORT)),
        ("specialization", kinds::text(MAX_SHORT)),
        (
            "massage_pressure",
            // Null reads as "" (none), as for every text field (`Input::text`).
            json!({"type": ["string", "null"], "enum": crate::scheduling::staff::PRESSURES.iter().map(|p| json!(p)).chain([Value::Null]).collect::<Vec<_>>()}),
        ),
        ("license_number", kinds::text(MAX_SHORT)),
        ("motorcycle_plate", kinds::text(MAX_SHORT)),
    ]
}

/// A username: trimmed letters, digits and `@ . + - _` (letters and digits may be any
/// Unicode ones, as Django's; the pattern lists the ASCII ones).
fn username() -> Value {
    json!({"type": "string", "maxLength": MAX_SHORT, "pattern": format!("^[{WS}]*[A-Za-z0-9@.+_-]+[{WS}]*$"),
        "description": "letters, digits and @ . + - _"})
}

pub fn staff_list(method: &str) -> Op {
    match method {
        "GET" => Op::new()
            .params(pages())
            .param(query("role", or_empty(json!({"type": "string", "enum": ROLES})), "only this role"))
            .param(flag("is_active", "only active (true) or deactivated (false) accounts"))
            .param(search("the username or name"))
            .param(ordering(&["username", "last_name", "role", "id"]))
            .ok(list("User"))
            .errors(&[404]),
        _ => {
            let mut props = vec![
                ("username", username()),
                (
                    "password",
                    json!({"type": "string", "minLength": 8, "maxLength": 1024, "pattern": "[^0-9]",
                        "description": "8 or more characters, not only digits, not the username"}),
                ),
                ("role", json!({"type": "string", "enum": ROLES})),
            ];
            props.extend(profile_fields());
            Op::new()
                .body(object(&["username", "password", "role"], props))
                .ok(Resp::json(201, "Created.", r("User")))
                .errors(&[403])
        }
    }
}

pub fn active_staff(_: &str) -> Op {
    Op::new()
        .param(query(
            "role",
            or_empty(json!({"type": "string", "enum": ROLES.iter().chain(&["all"]).collect::<Vec<_>>()})),
            "only this role; all (or absent) for every role",
        ))
        .param(flag("is_active", "true or absent (only active accounts are listed)"))
        .param(search("the username or name"))
        .param(ordering(&["username", "last_name", "role", "id"]))
        .ok(Resp::json(200, "The active staff.", r("ActiveStaff")))
}

pub fn daily_summary(_: &str) -> Op {
    Op::new()
        .param(query(
            "date",
            or_empty(json!({"type": "string", "format": "date"})),
            "the day (YYYY-MM-DD); absent: the clinic's today",
        ))
        .ok(Resp::json(
            200,
            "The day's bookings, revenue, unpaid sessions and per-therapist figures.",
            r("DailySummary"),
        ))
        .errors(&[403])
}

pub fn register_clients(_: &str) -> Op {
    Op::new()
        .param(search("the name, phone or email"))
        .param(ordering(&["first_name", "last_name", "created_at", "id"]))
        .ok(plain("Client"))
}

pub fn staff(method: &str) -> Op {
    match method {
        "GET" => Op::new().ok(Resp::json(200, "The account.", r("User"))),
        "DELETE" => Op::new().ok(Resp::empty(204, "Deleted.")).errors(&[403, 409]),
        _ => {
            let mut props = profile_fields();
            props.push((
                "is_active",
                json!({"type": ["boolean", "null"], "description": "false deactivates and ends the sessions"}),
            ));
            props.push((
                "role",
                json!({"type": "string", "enum": ROLES, "description": "cannot change: only the current one"}),
            ));
            props.push(("username", json!({"type": "string", "description": "cannot change: only the current one"})));
            let mut body = object(&[], props);
            body["not"] = json!({"required": ["password"]});
            Op::new().body(body).ok(Resp::json(200, "Updated.", r("User"))).errors(&[403])
        }
    }
}

// ---- appointments and the workflow ----

fn appointment_body(method: &str) -> Value {
    // A new booking may add its client on the spot, in the booking's transaction.
    let client = if method == "POST" {
        let mut new = client_body("POST");
        new["description"] = json!("a new client, written only if the booking is: errors name client.<field>");
        new["not"] = json!({"required": ["id"], "description": "an existing client is sent as its id"});
        json!({"oneOf": [kinds::id(), new],
            "description": "the client's id, or a new client's fields; the booking's location defaults to the client's address"})
    } else {
        kinds::id()
    };
    let mut props = vec![
        ("client", client),
        ("services", kinds::ids()),
        ("therapist", kinds::id_or_blank()),
        ("therapists", kinds::ids()),
        ("driver", kinds::id_or_blank()),
        ("date", if method == "PATCH" { kinds::nullable(kinds::date()) } else { kinds::date() }),
        ("start_time", if method == "PATCH" { kinds::nullable(kinds::time()) } else { kinds::time() }),
        ("end_time", kinds::nullable(kinds::time())),
        ("payment_amount", kinds::money_or_null()),
        (
            "payment_method",
            json!({"type": ["string", "null"], "enum": std::iter::once(Value::Null).chain(std::iter::once(json!(""))).chain(workflow::PAYMENT_METHOD_VALUES.iter().map(|v| json!(v))).collect::<Vec<_>>()}),
        ),
        ("location", kinds::text(MAX_TEXT)),
        ("notes", kinds::text(MAX_TEXT)),
        ("group_size", kinds::positive_int(booking::MAX_GROUP_SIZE)),
        ("requires_car", kinds::boolean()),
        ("payment_status", kinds::choice(&booking::payment_status_names())),
    ];
    if method != "POST" {
        props.push(("version", kinds::version()));
    }
    if method == "PATCH" {
        props.push((
            "status",
            json!({"type": "string", "enum": workflow::STATUSES,
                "description": "runs the one workflow step you may take now that leads to this status (with its inputs from this body); none or several: 409 with allowed_actions"}),
        ));
    }
    let required: &[&str] = if method == "PATCH" { &[] } else { &["client", "date", "start_time"] };
    let mut body = object(required, props);
    if method != "PATCH" {
        body["not"] =
            json!({"required": ["status"], "description": "status changes only through the workflow actions"});
    }
    if method != "PATCH" {
        body["allOf"] = json!([
            {"anyOf": [
                {"required": ["therapist"], "properties": {"therapist": kinds::id()}},
                {"required": ["therapists"], "properties": {"therapists": {"type": "array", "minItems": 1}}},
            ]},
            {"anyOf": [
                {"required": ["end_time"], "properties": {"end_time": kinds::time()}},
                {"required": ["services"], "properties": {"services": {"type": "array", "minItems": 1}}},
            ]},
        ]);
    }
    body
}

fn appointment_list_params() -> Vec<Value> {
    let mut ps = pages();
    ps.extend(appointment_filters());
    ps
}

/// The main list's filters (every named list takes them too).
fn appointment_filters() -> Vec<Value> {
    let statuses = workflow::STATUSES.join("|");
    let mut ps = Vec::new();
    ps.push(query(
        "board",
        json!({"type": "string", "enum": ["", "true", "false", "1", "0"]}),
        "true: only what your live board holds",
    ));
    for (name, what) in [("date", "on this day"), ("date_after", "on or after"), ("date_before", "on or before")] {
        ps.push(query(name, or_empty(kinds::date()), what));
    }
    ps.push(query("status", or_empty(json!({"type": "string", "enum": workflow::STATUSES})), "in this status"));
    ps.push(query(
        "status__in",
        json!({"type": "string", "pattern": format!("^[{WS}]*(({statuses})[{WS}]*)?(,[{WS}]*(({statuses})[{WS}]*)?)*$")}),
        "in one of these comma-separated statuses",
    ));
    ps.push(id_filter("therapist", "with this therapist (lead or group)"));
    ps.push(id_filter("driver", "with this driver"));
    ps.push(id_filter("client", "for this client"));
    ps.push(search("the client's name or phone, the location or the notes"));
    ps.push(ordering(&["date", "start_time", "end_time", "status", "created_at", "updated_at", "id"]));
    ps
}

pub fn appointments(method: &str) -> Op {
    match method {
        "GET" => Op::new().params(appointment_list_params()).ok(list("Appointment")).errors(&[404]),
        _ => Op::new()
            .body(appointment_body(method))
            .ok(Resp::json(201, "Booked, pending.", r("Appointment")).headers(json!({
                "ETag": etag()["ETag"],
                "Location": {"required": true, "schema": {"type": "string"}},
            })))
            .errors(&[403, 409]),
    }
}

/// `X-Total-Count` of a plain-array answer (`api::page::respond_plain`).
fn total_count() -> Value {
    json!({"X-Total-Count": {"required": true, "schema": {"type": "integer", "minimum": 0},
        "description": format!("how many matched; the array holds at most {MAX_PLAIN_ROWS}")}})
}

/// A plain JSON array of `item`s, at most `MAX_PLAIN_ROWS`, with `X-Total-Count`.
fn plain(item: &str) -> Resp {
    Resp::json(
        200,
        "A plain array (not a page), at most the first MAX_PLAIN_ROWS; X-Total-Count says how many matched.",
        json!({"type": "array", "items": r(item), "maxItems": MAX_PLAIN_ROWS}),
    )
    .headers(total_count())
}

/// `GET appointments/<view>/` (`scheduling::views`): the main list's filters, plus
/// `week_start` for `by_week`; a page or a plain array.
pub fn view(v: &View) -> Op {
    let mut op = Op::new();
    if v.days == Days::Week {
        op = op.param(query(
            "week_start",
            or_empty(kinds::date()),
            "the first of the 7 days; default this week's Monday",
        ));
    }
    match v.shape {
        Shape::Page => op.params(appointment_list_params()).ok(list("Appointment")).errors(&[404]),
        Shape::Plain => op.params(appointment_filters()).ok(plain("Appointment")),
    }
}

pub fn appointment(method: &str) -> Op {
    match method {
        "GET" => Op::new().ok(Resp::json(200, "The appointment.", r("Appointment")).headers(etag())),
        "DELETE" => Op::new().param(if_match()).ok(Resp::empty(204, "Deleted.")).errors(&[403, 409]),
        m => Op::new()
            .param(if_match())
            .body(appointment_body(m))
            .ok(Resp::json(200, "Updated.", r("Appointment")).headers(etag()))
            .errors(&[403, 409]),
    }
}

pub fn workflow_table(_: &str) -> Op {
    Op::new()
        .param(json!({"name": "If-None-Match", "in": "header", "required": false, "schema": {"type": "string"},
            "description": "the ETag you hold; 304 if it is still current"}))
        .ok(Resp::json(200, "The workflow table.", r("Workflow")).headers(etag()))
        .ok(Resp::empty(304, "Not modified: the ETag you sent is current.").headers(etag()))
}

/// The schema of one workflow input, as `booking::step` reads it.
fn input_schema(i: &workflow::Input) -> Value {
    let mut s = match i.kind {
        Kind::Text { max, .. } if i.required => kinds::name(max),
        Kind::Text { max, .. } => kinds::text(max),
        Kind::Money => kinds::money(),
        Kind::Choice(_) => kinds::choice(&i.kind.values()),
        Kind::Staff(role) => {
            let mut s = kinds::id();
            s["description"] = json!(format!("the id of an active {role}"));
            s
        }
    };
    if let Some(d) = i.default {
        s["default"] = json!(d);
    }
    s["title"] = json!(i.label);
    s
}

pub fn action(t: &Transition) -> Op {
    let mut props: Vec<(&str, Value)> = t.inputs.iter().map(|i| (i.name, input_schema(i))).collect();
    for i in t.inputs {
        for a in i.aliases {
            let mut s = input_schema(i);
            s["description"] =
                json!(format!("the clinic's original name for {}, read when {} is absent", i.name, i.name));
            props.push((a, s));
        }
    }
    props.push(("version", kinds::version()));
    // An input with aliases is sent by one of its names, never two.
    let required: Vec<&str> = t.inputs.iter().filter(|i| i.required && i.aliases.is_empty()).map(|i| i.name).collect();
    let mut body = object(&required, props);
    let mut rules = Vec::new();
    for i in t.inputs.iter().filter(|i| !i.aliases.is_empty()) {
        let names: Vec<&str> = std::iter::once(i.name).chain(i.aliases.iter().copied()).collect();
        if i.required {
            rules.push(json!({"anyOf": names.iter().map(|n| json!({"required": [n]})).collect::<Vec<_>>()}));
        }
        for a in i.aliases {
            rules.push(json!({"not": {"required": [i.name, a]}}));
        }
    }
    if !rules.is_empty() {
        body["allOf"] = json!(rules);
    }
    let mut op = Op::new().param(if_match());
    op = if t.required().next().is_none() { op.optional_body(body) } else { op.body(body) };
    op.ok(Resp::json(200, "Done; the appointment as it is now.", r("Appointment")).headers(etag())).errors(&[403, 409])
}

/// `GET /ws/scheduling/appointments/`: the live socket's handshake, as far as HTTP goes.
pub fn live() -> Value {
    json!({"get": {
        "tags": ["live"],
        "summary": "WebSocket of live appointment events (token by Sec-WebSocket-Protocol: bearer, <token>; ?token=; or Authorization). See docs/API.md.",
        "security": [],
        "responses": {
            "101": {"description": "Switching Protocols; a bad token by subprotocol or header is then closed with 4001."},
            "400": super::error_response(400, "The handshake is malformed."),
            "403": super::error_response(403, "A foreign Origin, or a bad ?token=."),
            "405": super::error_response(405, "Only GET opens a socket."),
            "426": super::error_response(426, "Not a WebSocket request (or not version 13)."),
            "503": super::error_response(503, "The server is shutting down or full."),
        },
    }})
}

// ---- notifications (api::notifications) ----

pub fn notifications(_: &str) -> Op {
    Op::new()
        .params(pages())
        .param(flag("is_read", "only read (true) or unread (false) ones"))
        .ok(Resp::json(
            200,
            "A page of your notifications, newest first, and how many are unread.",
            r("NotificationPage"),
        ))
        .errors(&[404])
}

pub fn notification(method: &str) -> Op {
    match method {
        "DELETE" => Op::new().ok(Resp::empty(204, "Deleted.")),
        _ => Op::new().ok(Resp::json(200, "The notification.", r("Notification"))),
    }
}

pub fn notification_mark(_: &str) -> Op {
    Op::new().ok(Resp::json(200, "Done; the notification as it is now.", r("Notification")))
}

pub fn notifications_mark_all(_: &str) -> Op {
    Op::new().ok(Resp::json(200, "How many became read, and how many are unread now (0).", r("NotificationsMarked")))
}

pub fn notifications_delete(_: &str) -> Op {
    Op::new().ok(Resp::json(200, "How many were deleted, and how many are unread now.", r("NotificationsDeleted")))
}

// ---- availability (issue 11) ----

fn slot_body(method: &str) -> Value {
    let patch = method == "PATCH";
    let required: &[&str] = if patch { &[] } else { &["date", "start_time", "end_time"] };
    // A PATCH's null reads as "not given" (`Input`); so does an edit's null `user` (keep).
    let maybe = |s: Value| if patch { kinds::nullable(s) } else { s };
    let user = if method == "POST" { kinds::id() } else { kinds::id_or_null() };
    object(
        required,
        vec![
            (
                "user",
                json!({"description": "the therapist or driver (staff may leave it out for themselves)", "allOf": [user]}),
            ),
            ("date", maybe(kinds::date())),
            ("start_time", maybe(kinds::time())),
            (
                "end_time",
                json!({"description": "before start_time: the slot crosses midnight; never equal to it", "allOf": [maybe(kinds::time())]}),
            ),
            ("is_available", kinds::boolean()),
        ],
    )
}

fn date_filter(name: &str, what: &str) -> Value {
    query(name, or_empty(kinds::date()), what)
}

pub fn availabilities(method: &str) -> Op {
    match method {
        "GET" => Op::new()
            .param(date_filter("date", "only this date"))
            .param(date_filter("date_after", "on or after this date"))
            .param(date_filter("date_before", "on or before this date"))
            .param(id_filter("user", "only this person's slots"))
            .param(id_filter("user_id", "the same as user"))
            .param(flag("is_available", "only available (true) or unavailable (false) slots"))
            .param(ordering(&["date", "start_time", "user", "id"]))
            .ok(plain("Availability")),
        _ => Op::new().body(slot_body(method)).ok(Resp::json(201, "Created.", r("Availability"))).errors(&[403]),
    }
}

pub fn availability(method: &str) -> Op {
    match method {
        "GET" => Op::new().ok(Resp::json(200, "The slot.", r("Availability"))),
        "DELETE" => Op::new().ok(Resp::empty(204, "Deleted.")),
        m => Op::new().body(slot_body(m)).ok(Resp::json(200, "Updated.", r("Availability"))).errors(&[403]),
    }
}

pub fn bulk_create(_: &str) -> Op {
    // Each item is judged on its own: a bad one is reported in `errors`, not refused.
    let slot = json!({"description": "{start_time, end_time, is_available (default true)}; a bad item is reported in errors and skipped"});
    let body = object(
        &["date", "slots"],
        vec![
            (
                "user_id",
                json!({"description": "the therapist or driver (staff may leave it out for themselves)", "oneOf": [kinds::id()]}),
            ),
            ("date", kinds::date()),
            (
                "slots",
                json!({"type": "array", "minItems": 1, "maxItems": crate::scheduling::availability::slots::MAX_BULK, "items": slot}),
            ),
        ],
    );
    Op::new()
        .body(body)
        .ok(Resp::json(201, "The slots created, and why the others were not (a 400 when none was).", r("BulkCreated")))
        .errors(&[403])
}

fn window_params() -> Vec<Value> {
    vec![
        json!({"name": "date", "in": "query", "required": true, "schema": kinds::date()}),
        json!({"name": "start_time", "in": "query", "required": true, "schema": kinds::time()}),
        json!({"name": "end_time", "in": "query", "required": true, "schema": kinds::time(),
            "description": "before start_time: the window crosses midnight; never equal to it"}),
    ]
}

pub fn available(role: &str) -> Op {
    let mut op = Op::new().params(window_params());
    if role == "therapist" {
        op = op
            .param(query(
                "specialization",
                json!({"type": "string", "maxLength": MAX_SHORT}),
                "a part of the specialization, any case",
            ))
            .param(query(
                "massage_pressure",
                or_empty(json!({"type": "string", "enum": &crate::scheduling::staff::PRESSURES[1..]})),
                "only therapists preferring this pressure",
            ));
    }
    op.ok(Resp::json(
        200,
        "Who is free for the whole window (their schedule, and no booking then), as a plain array.",
        json!({"type": "array", "items": r(if role == "driver" { "AvailableDriver" } else { "AvailableTherapist" })}),
    ))
}

pub fn staff_for_slot(_: &str) -> Op {
    Op::new()
        .param(json!({"name": "role", "in": "query", "required": true, "schema": {"type": "string", "enum": ["therapist", "driver"]}}))
        .params(window_params())
        .param(id_filter("appointment", "the appointment being edited: it does not hold its own people"))
        .ok(Resp::json(200, "Every active staff member of the role, free first.", r("StaffForSlot")))
        .errors(&[403])
}

pub fn working_hours(method: &str) -> Op {
    if method == "GET" {
        return Op::new().ok(Resp::json(200, "The usual week.", r("WorkingHours")));
    }
    let range = object(
        &["weekday", "start_time", "end_time"],
        vec![
            (
                "weekday",
                json!({"type": "integer", "minimum": 0, "maximum": 6, "description": "0 = Monday … 6 = Sunday"}),
            ),
            ("start_time", kinds::time()),
            ("end_time", kinds::time()),
        ],
    );
    Op::new()
        .body(object(&["hours"], vec![("hours", json!({"type": "array", "maxItems": 7, "items": range}))]))
        .ok(Resp::json(200, "The week as it is now.", r("WorkingHours")))
        .errors(&[403])
}
