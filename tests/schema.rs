//! The OpenAPI document against the server: the document served is the one generated,
//! every route has its operations and every documented operation is routed; real
//! answers of a server with the demo data (lists, items, writes, every workflow step,
//! and 400/401/403/404/405/409/413/429 errors) validate against the documented answer of
//! their status, headers included; the request readers (`scheduling::validate`) accept
//! exactly what the documented kinds (`api::schema::kinds`) allow; and the hand-listed
//! bounds (orderings, a service's longest duration) are the server's.
//!
//! `Validator` checks the subset of JSON Schema the document uses and panics on any
//! other keyword, so the document cannot grow a rule this check silently skips.

mod common;
mod ws_support;

use common::Server;
use royal_care::api::schema::{self, kinds};
use royal_care::scheduling::validate::{self, Input};
use serde_json::{json, Map, Value};

// ---- a JSON Schema validator for the document's subset ----

struct Validator<'a> {
    root: &'a Value,
}

const ANNOTATIONS: &[&str] = &["description", "title", "examples", "default"];

impl<'a> Validator<'a> {
    fn resolve(&self, reference: &str) -> &'a Value {
        let pointer = reference.strip_prefix('#').expect("local $ref");
        self.root.pointer(pointer).unwrap_or_else(|| panic!("$ref {reference} resolves"))
    }

    fn valid(&self, schema: &Value, v: &Value) -> bool {
        self.errors(schema, v, "").is_empty()
    }

    /// The problems of `v` against `schema`, each with where it is.
    fn errors(&self, schema: &Value, v: &Value, at: &str) -> Vec<String> {
        let s = match schema {
            Value::Bool(true) => return vec![],
            Value::Bool(false) => return vec![format!("{at}: nothing is allowed")],
            Value::Object(s) => s,
            _ => panic!("{at}: a schema is an object or a boolean: {schema}"),
        };
        let mut out = Vec::new();
        macro_rules! fail {
            ($msg:expr) => {
                out.push(format!("{at}: {}", $msg))
            };
        }
        for (k, kv) in s {
            match k.as_str() {
                "$ref" => {
                    out.extend(self.errors(self.resolve(kv.as_str().unwrap()), v, at));
                }
                "type" => {
                    let types: Vec<&str> = match kv {
                        Value::String(t) => vec![t.as_str()],
                        Value::Array(ts) => ts.iter().map(|t| t.as_str().unwrap()).collect(),
                        _ => panic!("type"),
                    };
                    if !types.iter().any(|t| is_type(t, v)) {
                        fail!(format!("{v} is not of type {types:?}"));
                    }
                }
                "enum" => {
                    if !kv.as_array().unwrap().contains(v) {
                        fail!(format!("{v} is not one of {kv}"));
                    }
                }
                "const" => {
                    if kv != v {
                        fail!(format!("{v} is not {kv}"));
                    }
                }
                "required" => {
                    if let Value::Object(o) = v {
                        for r in kv.as_array().unwrap() {
                            if !o.contains_key(r.as_str().unwrap()) {
                                fail!(format!("{r} is missing"));
                            }
                        }
                    }
                }
                "properties" => {
                    if let Value::Object(o) = v {
                        for (name, sub) in kv.as_object().unwrap() {
                            if let Some(x) = o.get(name) {
                                out.extend(self.errors(sub, x, &format!("{at}/{name}")));
                            }
                        }
                    }
                }
                "additionalProperties" => {
                    if let Value::Object(o) = v {
                        let known = s.get("properties").and_then(Value::as_object);
                        for (name, x) in o {
                            if !known.is_some_and(|p| p.contains_key(name)) {
                                out.extend(self.errors(kv, x, &format!("{at}/{name} (not documented)")));
                            }
                        }
                    }
                }
                "items" => {
                    if let Value::Array(a) = v {
                        for (i, x) in a.iter().enumerate() {
                            out.extend(self.errors(kv, x, &format!("{at}/{i}")));
                        }
                    }
                }
                "minItems" | "maxItems" => {
                    if let Value::Array(a) = v {
                        let n = kv.as_u64().unwrap() as usize;
                        if (k == "minItems" && a.len() < n) || (k == "maxItems" && a.len() > n) {
                            fail!(format!("{} items breaks {k} {n}", a.len()));
                        }
                    }
                }
                "uniqueItems" => {
                    if let (Value::Array(a), Value::Bool(true)) = (v, kv) {
                        if a.iter().enumerate().any(|(i, x)| a[..i].contains(x)) {
                            fail!("items repeat");
                        }
                    }
                }
                "minimum" | "maximum" => {
                    if let Value::Number(n) = v {
                        let (x, bound) = (n.as_f64().unwrap(), kv.as_f64().unwrap());
                        // Exactly, where both are integers (ids near i64::MAX).
                        let below = match (n.as_i64(), kv.as_i64()) {
                            (Some(a), Some(b)) => a < b,
                            _ => x < bound,
                        };
                        let above = match (n.as_i64(), kv.as_i64()) {
                            (Some(a), Some(b)) => a > b,
                            _ => x > bound,
                        };
                        if (k == "minimum" && below) || (k == "maximum" && above) {
                            fail!(format!("{v} breaks {k} {kv}"));
                        }
                    }
                }
                "multipleOf" => {
                    if let Value::Number(n) = v {
                        if !multiple_of(&n.to_string(), &kv.to_string()) {
                            fail!(format!("{v} is not a multiple of {kv}"));
                        }
                    }
                }
                "minLength" | "maxLength" => {
                    if let Value::String(t) = v {
                        let (len, n) = (t.chars().count(), kv.as_u64().unwrap() as usize);
                        if (k == "minLength" && len < n) || (k == "maxLength" && len > n) {
                            fail!(format!("{len} characters breaks {k} {n}"));
                        }
                    }
                }
                "pattern" => {
                    if let Value::String(t) = v {
                        let re = regex::Regex::new(kv.as_str().unwrap()).expect("the pattern compiles");
                        if !re.is_match(t) {
                            fail!(format!("{v:?} does not match {kv}"));
                        }
                    }
                }
                "format" => {
                    if let Value::String(t) = v {
                        let ok = match kv.as_str().unwrap() {
                            "date" => chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").is_ok() && t.len() == 10,
                            "date-time" => chrono::DateTime::parse_from_rfc3339(t).is_ok(),
                            "uri" => t.starts_with("http://") || t.starts_with("https://"),
                            f => panic!("format {f} is not checked here"),
                        };
                        if !ok {
                            fail!(format!("{v} is not a {kv}"));
                        }
                    }
                }
                "allOf" => {
                    for sub in kv.as_array().unwrap() {
                        out.extend(self.errors(sub, v, at));
                    }
                }
                "anyOf" | "oneOf" => {
                    let n = kv.as_array().unwrap().iter().filter(|sub| self.valid(sub, v)).count();
                    if n == 0 || (k == "oneOf" && n > 1) {
                        fail!(format!("{v} matches {n} of {k}"));
                    }
                }
                "not" => {
                    if self.valid(kv, v) {
                        fail!(format!("{v} matches a not"));
                    }
                }
                a if ANNOTATIONS.contains(&a) => {}
                other => panic!("{at}: keyword {other} is not checked here; teach tests/schema.rs"),
            }
        }
        out
    }
}

fn is_type(t: &str, v: &Value) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "string" => v.is_string(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        "number" => v.is_number(),
        // JSON Schema's integers: 5 and 5.0.
        "integer" => v.as_i64().is_some() || v.as_u64().is_some() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        _ => panic!("type {t}"),
    }
}

/// Decimal text → (digits, decimals), exactly.
fn decimal(s: &str) -> Option<(i128, u32)> {
    let (mantissa, exp) = match s.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (s, 0),
    };
    let (whole, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: i128 = format!("{whole}{frac}").parse().ok()?;
    let scale = frac.len() as i32 - exp;
    if scale >= 0 {
        Some((digits, scale as u32))
    } else {
        Some((digits.checked_mul(10i128.checked_pow((-scale) as u32)?)?, 0))
    }
}

/// Is the number written `v` a multiple of the one written `m`, in decimal (as JSON
/// numbers are read by people, and by the server)?
fn multiple_of(v: &str, m: &str) -> bool {
    match (decimal(v), decimal(m)) {
        (Some((a, sa)), Some((b, sb))) => {
            let s = sa.max(sb);
            let scaled = |x: i128, sx: u32| 10i128.checked_pow(s - sx).and_then(|p| x.checked_mul(p));
            match (scaled(a, sa), scaled(b, sb)) {
                (Some(a), Some(b)) => b != 0 && a % b == 0,
                // Beyond 38 digits: only zero is a multiple of a cent that fine.
                _ => a == 0,
            }
        }
        // Too large to be written exactly: not a multiple of a cent.
        _ => false,
    }
}

// ---- the document against a running server ----

struct Checked<'a> {
    srv: &'a Server,
    doc: &'a Value,
    v: Validator<'a>,
    /// (method, path template, status) answers seen.
    seen: std::cell::RefCell<Vec<(String, String, u16)>>,
}

impl<'a> Checked<'a> {
    fn new(srv: &'a Server, doc: &'a Value) -> Self {
        Checked { srv, doc, v: Validator { root: doc }, seen: Default::default() }
    }

    /// Sends one request and checks its answer against the documented one of `template`.
    fn call(
        &self,
        method: &str,
        template: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> common::HttpResponse {
        let text = body.map(|b| b.to_string());
        let r = self.srv.request(method, path, token, text.as_deref(), headers);
        self.check(method, template, &r);
        r
    }

    fn check(&self, method: &str, template: &str, r: &common::HttpResponse) {
        let op = &self.doc["paths"][template][method.to_lowercase()];
        assert!(op.is_object(), "{method} {template} is not documented");
        let resp = &op["responses"][r.status.to_string()];
        assert!(resp.is_object(), "{method} {template} answered {} which is not documented: {}", r.status, r.text());
        let schema = &resp["content"]["application/json"]["schema"];
        if schema.is_null() {
            assert!(r.body.is_empty(), "{method} {template} {}: a body where none is documented", r.status);
        } else {
            assert!(r.header("content-type").is_some_and(|c| c.starts_with("application/json")));
            let body: Value = serde_json::from_slice(&r.body).expect("a JSON body");
            let errs = self.v.errors(schema, &body, "");
            assert!(errs.is_empty(), "{method} {template} {}: {errs:#?}\n{body}", r.status);
        }
        for (name, h) in resp["headers"].as_object().into_iter().flatten() {
            let got = r.header(name);
            if h["required"] == true {
                assert!(got.is_some(), "{method} {template} {}: no {name} header", r.status);
            }
            if let Some(got) = got {
                let value = match h["schema"]["type"].as_str() {
                    Some("integer") => got.parse::<i64>().map(Value::from).unwrap_or(json!(got)),
                    _ => json!(got),
                };
                let errs = self.v.errors(&h["schema"], &value, name);
                assert!(errs.is_empty(), "{method} {template} {}: {errs:?}", r.status);
            }
        }
        self.seen.borrow_mut().push((method.into(), template.into(), r.status));
    }
}

/// The demo data, with a small body limit so a 413 costs little.
fn demo_server() -> Server {
    Server::start_with(&[("ROYAL_CARE_DEMO", "1"), ("ROYAL_CARE_MAX_BODY_BYTES", "65536")])
}

fn login(srv: &Server, username: &str, password: &str) -> String {
    let (s, v) = srv.call("POST", "/api/auth/login/", None, Some(&json!({"username": username, "password": password})));
    assert_eq!(s, 200, "{v}");
    v["token"].as_str().unwrap().into()
}

#[test]
fn the_served_document_is_the_generated_one_and_covers_every_route() {
    let srv = Server::start();
    let (s, served) = srv.call("GET", "/api/schema/", None, None);
    assert_eq!(s, 200);
    let doc = schema::build();
    assert_eq!(served, doc);
    assert_eq!(doc["openapi"], "3.1.0");
    // Every route's methods are documented...
    let mut routed = Vec::new();
    for (path, r) in schema::paths() {
        for m in r.methods {
            assert!(doc["paths"][&path][m.to_lowercase()].is_object(), "{m} {path}");
            routed.push((path.clone(), m.to_lowercase()));
        }
    }
    // ...and nothing else is (apart from the live socket's handshake).
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in item.as_object().unwrap().keys() {
            assert!(
                routed.contains(&(path.clone(), m.clone())) || path == royal_care::live::PATH,
                "{m} {path} is documented but not routed"
            );
        }
    }
    // Every keyword the document uses is one the validator here checks: validating any
    // value against every schema in it panics otherwise.
    let v = Validator { root: &doc };
    let mut n = 0;
    walk_schemas(&doc, &mut |s| {
        v.errors(s, &json!({}), "");
        n += 1;
    });
    assert!(n > 100, "{n} schemas walked");
}

/// Calls `f` with every schema in the document (bodies, parameters, answers, components).
fn walk_schemas(doc: &Value, f: &mut impl FnMut(&Value)) {
    for s in doc["components"]["schemas"].as_object().unwrap().values() {
        f(s);
    }
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                f(&p["schema"]);
            }
            if let Some(b) = op["requestBody"]["content"]["application/json"]["schema"].as_object() {
                f(&Value::Object(b.clone()));
            }
            for resp in op["responses"].as_object().unwrap().values() {
                if let Some(s) = resp["content"]["application/json"]["schema"].as_object() {
                    f(&Value::Object(s.clone()));
                }
                for h in resp["headers"].as_object().into_iter().flatten() {
                    f(&h.1["schema"]);
                }
            }
        }
    }
}

#[test]
fn real_answers_match_the_documented_ones() {
    let srv = demo_server();
    let doc = schema::build();
    let c = Checked::new(&srv, &doc);
    let op = login(&srv, "operator", "demo-pass-1");
    let t1 = login(&srv, "therapist1", "demo-pass-1");
    let d1 = login(&srv, "driver1", "demo-pass-1");
    let get = |tpl: &str, path: &str, token: &str| {
        let r = c.call("GET", tpl, path, Some(token), None, &[]);
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
        r.json()
    };

    // Reads, as each role: lists (a short page, the board), every item they list.
    c.call("GET", "/health/", "/health/", None, None, &[]);
    c.call("GET", "/api/schema/", "/api/schema/", None, None, &[]);
    let wf = c.call("GET", "/api/scheduling/workflow/", "/api/scheduling/workflow/", None, None, &[]);
    let etag = wf.header("etag").unwrap().to_string();
    let r = c.call(
        "GET",
        "/api/scheduling/workflow/",
        "/api/scheduling/workflow/",
        None,
        None,
        &[("If-None-Match", &etag)],
    );
    assert_eq!(r.status, 304);
    for token in [&op, &t1, &d1] {
        get("/api/auth/profile/", "/api/auth/profile/", token);
        // The original frontend's lists: every named view, the staff picker, the client list.
        for v in royal_care::scheduling::views::VIEWS {
            let tpl = format!("/api/scheduling/appointments/{}/", v.name);
            get(&tpl, &tpl, token);
            get(&tpl, &format!("{tpl}?ordering=-date&search=a"), token);
        }
        let week = "/api/scheduling/appointments/by_week/";
        get(week, &format!("{week}?week_start={}", chrono::Local::now().date_naive()), token);
        for query in ["", "?role=therapist", "?role=all", "?role="] {
            get("/api/scheduling/staff/active_staff/", &format!("/api/scheduling/staff/active_staff/{query}"), token);
        }
        get("/api/registration/register/client/", "/api/registration/register/client/", token);
        for (list, item) in [("appointments", true), ("clients", true), ("services", true), ("staff", true)] {
            let tpl = format!("/api/scheduling/{list}/");
            for query in ["", "?page_size=2", "?board=true"] {
                if query.contains("board") && list != "appointments" {
                    continue;
                }
                let page = get(&tpl, &format!("{tpl}{query}"), token);
                if item {
                    for row in page["results"].as_array().unwrap() {
                        let id = row["id"].as_i64().unwrap();
                        get(&format!("{tpl}{{id}}/"), &format!("{tpl}{id}/"), token);
                    }
                }
            }
        }
    }

    // Writes, as the operator: create, edit, then the whole workflow on a new booking.
    let post = |tpl: &str, body: Value, want: u16| {
        let r = c.call("POST", tpl, tpl, Some(&op), Some(&body), &[]);
        assert_eq!(r.status, want, "POST {tpl}: {}", r.text());
        r.json()
    };
    let client = post("/api/scheduling/clients/", json!({"first_name": "Ana", "email": "ana@example.org"}), 201);
    let service = post("/api/scheduling/services/", json!({"name": "Shiatsu", "duration": 90, "price": 1800}), 201);
    let staff = |u: &str, role: &str| {
        post("/api/scheduling/staff/", json!({"username": u, "password": "a-long-pass-9", "role": role}), 201)["id"]
            .as_i64()
            .unwrap()
    };
    let (t, d) = (staff("schema-t", "therapist"), staff("schema-d", "driver"));
    let (cid, sid) = (client["id"].as_i64().unwrap(), service["id"].as_i64().unwrap());
    for (tpl, id, body) in [
        ("/api/scheduling/clients/{id}/", cid, json!({"notes": "gate 4"})),
        ("/api/scheduling/services/{id}/", sid, json!({"price": "1900.50"})),
        ("/api/scheduling/staff/{id}/", t, json!({"specialization": "shiatsu"})),
    ] {
        let path = tpl.replace("{id}", &id.to_string());
        let r = c.call("PATCH", tpl, &path, Some(&op), Some(&body), &[]);
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let day = (chrono::Local::now().date_naive() + chrono::Duration::days(3)).format("%Y-%m-%d").to_string();
    let a = post(
        "/api/scheduling/appointments/",
        json!({"client": cid, "services": [sid], "therapist": t, "driver": d, "date": day, "start_time": "09:00",
            "group_size": 2, "requires_car": false, "payment_status": "unpaid"}),
        201,
    );
    let aid = a["id"].as_i64().unwrap();
    let item = "/api/scheduling/appointments/{id}/";
    let apath = format!("/api/scheduling/appointments/{aid}/");
    let r = c.call("PATCH", item, &apath, Some(&op), Some(&json!({"notes": "ring twice"})), &[("If-Match", "\"1\"")]);
    assert_eq!(r.status, 200, "{}", r.text());
    for (method, body) in
        [("PUT", json!({"first_name": "Tess", "phone_number": "0917"})), ("PATCH", json!({"last_name": "Cruz"}))]
    {
        let r = c.call(method, "/api/auth/profile/", "/api/auth/profile/", Some(&t1), Some(&body), &[]);
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let tt = login(&srv, "schema-t", "a-long-pass-9");
    let dt = login(&srv, "schema-d", "a-long-pass-9");
    for (who, action, body) in [
        (&tt, "therapist_confirm", json!({})),
        (&dt, "driver_confirm", json!({})),
        (&op, "start_appointment", json!({})),
        (&dt, "start_journey", json!({})),
        (&dt, "arrive_at_location", json!({})),
        (&dt, "drop_off_therapist", json!({})),
        (&tt, "start_session", json!({})),
        // The clinic's original names for mark_awaiting_payment and mark_payment_received.
        (&tt, "complete", json!({})),
        (&op, "mark_completed", json!({"payment_method": "gcash", "payment_amount": "1900.50"})),
        (&tt, "request_pickup", json!({"pickup_urgency": "urgent", "pickup_notes": "Gate B, by the pharmacy"})),
        (&op, "assign_pickup", json!({"driver": d})),
        (&dt, "reject_pickup", json!({"reason": "flat tyre"})),
        (&op, "assign_pickup", json!({"driver": d})),
        (&dt, "confirm_pickup", json!({})),
        (&dt, "complete_return_journey", json!({})),
    ] {
        let tpl = format!("/api/scheduling/appointments/{{id}}/{action}/");
        let r = c.call("POST", &tpl, &format!("{apath}{action}/"), Some(who), Some(&body), &[]);
        assert_eq!(r.status, 200, "{action}: {}", r.text());
    }
    // A rejection reviewed, and a cancel with no body at all.
    let b = post(
        "/api/scheduling/appointments/",
        json!({"client": cid, "therapist": t, "date": day, "start_time": "14:00", "end_time": "15:00"}),
        201,
    );
    let bpath = format!("/api/scheduling/appointments/{}/", b["id"]);
    for (who, action, body) in [
        (&tt, "reject", Some(json!({"rejection_reason": "too far"}))),
        (&op, "review_rejection", Some(json!({"decision": "deny"}))),
        (&tt, "reject", Some(json!({"rejection_reason": "still too far"}))),
        (&op, "review_rejection", Some(json!({"action": "deny", "reason": "nobody else"}))),
        (&op, "cancel", None),
    ] {
        let tpl = format!("/api/scheduling/appointments/{{id}}/{action}/");
        let r = c.call("POST", &tpl, &format!("{bpath}{action}/"), Some(who), body.as_ref(), &[]);
        assert_eq!(r.status, 200, "{action}: {}", r.text());
    }

    // Notifications (schema-t was assigned and had rejections denied; the operator was
    // told of the rejections and pickups): the list, one, marking, deleting.
    let notes = "/api/scheduling/notifications/";
    let one = "/api/scheduling/notifications/{id}/";
    let mine = get(notes, notes, &tt);
    assert!(mine["results"]["unreadCount"].as_i64().unwrap() > 0, "{mine}");
    get(notes, &format!("{notes}?is_read=false&page_size=2"), &tt);
    let nid = mine["results"]["notifications"][0]["id"].as_i64().unwrap();
    get(one, &format!("{notes}{nid}/"), &tt);
    for action in ["mark_as_read", "mark_as_unread"] {
        let r = c.call(
            "POST",
            &format!("{notes}{{id}}/{action}/"),
            &format!("{notes}{nid}/{action}/"),
            Some(&tt),
            None,
            &[],
        );
        assert_eq!(r.status, 200, "{action}: {}", r.text());
    }
    let theirs = get(notes, notes, &op)["results"]["notifications"][0]["id"].as_i64().unwrap();
    let r = c.call("DELETE", one, &format!("{notes}{theirs}/"), Some(&op), None, &[]);
    assert_eq!(r.status, 204, "{}", r.text());
    for (method, path) in [("POST", "mark_all_as_read/"), ("DELETE", "delete_read/"), ("POST", "delete_all/")] {
        let r = c.call(method, &format!("{notes}{path}"), &format!("{notes}{path}"), Some(&tt), None, &[]);
        assert_eq!(r.status, 200, "{method} {path}: {}", r.text());
    }
    // Availability (issue 11): slots, bulk create, the week, the free lists, the booking form's.
    let av = "/api/scheduling/availabilities/";
    let slot = post(av, json!({"user": t, "date": day, "start_time": "22:00", "end_time": "02:00"}), 201);
    let spath = format!("{av}{}/", slot["id"]);
    for (method, body, want) in [("GET", None, 200), ("PATCH", Some(json!({"is_available": true})), 200)] {
        let r = c.call(method, "/api/scheduling/availabilities/{id}/", &spath, Some(&tt), body.as_ref(), &[]);
        assert_eq!(r.status, want, "{}", r.text());
    }
    let bulk = format!("{av}bulk_create/");
    let r = c.call("POST", &bulk, &bulk, Some(&op), Some(&json!({"user_id": d, "date": day, "slots": [
        {"start_time": "08:00", "end_time": "12:00", "is_available": true}, {"start_time": "08:00", "end_time": "08:00"}]})), &[]);
    assert_eq!(r.status, 201, "{}", r.text());
    let r = c.call(
        "POST",
        &bulk,
        &bulk,
        Some(&op),
        Some(&json!({"user_id": d, "date": day, "slots": [{"start_time": "08:00", "end_time": "12:00"}]})),
        &[],
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let wh = "/api/scheduling/staff/{id}/working_hours/";
    let whp = format!("/api/scheduling/staff/{t}/working_hours/");
    let r = c.call(
        "PUT",
        wh,
        &whp,
        Some(&tt),
        Some(&json!({"hours": [{"weekday": 0, "start_time": "09:00", "end_time": "18:00"}]})),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    get(wh, &whp, &op);
    get(av, &format!("{av}?date={day}&ordering=-start_time"), &op);
    get(av, av, &tt);
    let w = format!("date={day}&start_time=23:00&end_time=01:00");
    for token in [&op, &tt] {
        for who in ["therapists", "drivers"] {
            let tpl = format!("{av}available_{who}/");
            get(&tpl, &format!("{tpl}?{w}"), token);
        }
    }
    let sfs = format!("{av}staff_for_slot/");
    get(&sfs, &format!("{sfs}?role=therapist&date={day}&start_time=16:30&end_time=17:30"), &op);
    get(&sfs, &format!("{sfs}?role=driver&{w}&appointment={aid}"), &op);
    let r = c.call("DELETE", "/api/scheduling/availabilities/{id}/", &spath, Some(&tt), None, &[]);
    assert_eq!(r.status, 204);

    // Errors, each in its documented shape.
    let expect = |method: &str,
                  tpl: &str,
                  path: &str,
                  token: Option<&str>,
                  body: Option<&str>,
                  h: &[(&str, &str)],
                  want: u16| {
        let r = srv.request(method, path, token, body, h);
        assert_eq!(r.status, want, "{method} {path}: {}", r.text());
        c.check(method, tpl, &r);
        r
    };
    let clients = "/api/scheduling/clients/";
    expect("POST", clients, clients, Some(&op), Some("{\"first_name\": \" \"}"), &[], 400);
    expect("POST", clients, clients, Some(&op), Some("[1]"), &[], 400);
    expect("GET", clients, &format!("{clients}?ordering=nope"), Some(&op), None, &[], 400);
    let week = "/api/scheduling/appointments/by_week/";
    expect("GET", week, &format!("{week}?week_start=next-monday"), Some(&op), None, &[], 400);
    let summary = "/api/scheduling/appointments/daily_summary/";
    expect("GET", summary, summary, Some(&op), None, &[], 200);
    expect("GET", summary, &format!("{summary}?date=2026-13-01"), Some(&op), None, &[], 400);
    expect("GET", summary, summary, Some(&t1), None, &[], 403);
    let staff_picker = "/api/scheduling/staff/active_staff/";
    expect("GET", staff_picker, &format!("{staff_picker}?role=manager"), Some(&op), None, &[], 400);
    expect("GET", clients, clients, None, None, &[], 401);
    expect("GET", clients, clients, Some("not-a-token"), None, &[], 401);
    expect("POST", clients, clients, Some(&t1), Some("{\"first_name\": \"X\"}"), &[], 403);
    expect("GET", clients, &format!("{clients}?page=99"), Some(&op), None, &[], 404);
    expect("GET", "/api/scheduling/clients/{id}/", "/api/scheduling/clients/999999/", Some(&op), None, &[], 404);
    expect(
        "POST",
        "/api/scheduling/notifications/{id}/mark_as_read/",
        &format!("{notes}{nid}/mark_as_read/"),
        Some(&op),
        None,
        &[],
        404,
    );
    let r = srv.request("DELETE", clients, Some(&op), None, &[]);
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD, POST"));
    assert!(Validator { root: &doc }.valid(&json!({"$ref": "#/components/schemas/Error"}), &r.json()), "{}", r.text());
    let path = format!("/api/scheduling/clients/{cid}/");
    expect("DELETE", "/api/scheduling/clients/{id}/", &path, Some(&op), None, &[], 409);
    expect("PATCH", item, &apath, Some(&op), Some("{\"notes\": \"x\"}"), &[("If-Match", "\"1\"")], 409);
    expect("POST", "/api/scheduling/appointments/{id}/cancel/", &format!("{apath}cancel/"), Some(&op), None, &[], 409);
    expect("PATCH", item, &apath, Some(&dt), Some("{\"status\": \"arrived\"}"), &[], 409);
    post(
        "/api/scheduling/appointments/",
        json!({"client": cid, "therapist": t, "date": day, "start_time": "16:00", "end_time": "17:00"}),
        201,
    );
    let clash =
        json!({"client": cid, "therapist": t, "date": day, "start_time": "16:30", "end_time": "17:30"}).to_string();
    let r = expect(
        "POST",
        "/api/scheduling/appointments/",
        "/api/scheduling/appointments/",
        Some(&op),
        Some(&clash),
        &[],
        409,
    );
    assert_eq!(r.json()["code"], "CONFLICT");
    let big = format!("{{\"notes\": \"{}\"}}", "x".repeat(100_000));
    expect("PATCH", "/api/scheduling/clients/{id}/", &path, Some(&op), Some(&big), &[], 413);
    let wrong = json!({"username": "schema-d", "password": "wrong-password-1"}).to_string();
    let mut throttled = false;
    for _ in 0..40 {
        let r = srv.request("POST", "/api/auth/login/", None, Some(&wrong), &[]);
        c.check("POST", "/api/auth/login/", &r);
        if r.status == 429 {
            throttled = true;
            break;
        }
        assert_eq!(r.status, 401, "{}", r.text());
    }
    assert!(throttled, "the login throttle answered 429 within 40 wrong passwords");
    expect("POST", "/api/auth/logout/", "/api/auth/logout/", Some(&dt), None, &[], 204);
    expect("POST", "/api/auth/logoutall/", "/api/auth/logoutall/", Some(&tt), None, &[], 204);

    // A socket's initial_data holds appointments in the same (REST) shape.
    let (ws, first) = ws_support::open(&srv, &op);
    assert_eq!(first["type"], "initial_data");
    let appts = first["appointments"].as_array().unwrap();
    assert!(!appts.is_empty());
    for a in appts {
        let errs = c.v.errors(&json!({"$ref": "#/components/schemas/Appointment"}), a, "initial_data");
        assert!(errs.is_empty(), "{errs:#?}");
    }
    ws.close();

    let seen = c.seen.borrow();
    let statuses: std::collections::BTreeSet<u16> = seen.iter().map(|s| s.2).collect();
    for s in [200, 201, 204, 304, 400, 401, 403, 404, 409, 413, 429] {
        assert!(statuses.contains(&s), "no {s} was checked");
    }
    println!("{} answers checked against the document, statuses {statuses:?}", seen.len());
}

// ---- the readers accept exactly what the documented kinds allow ----

/// Values of every JSON type around the edges the readers care about.
fn samples() -> Vec<Value> {
    let mut v = vec![
        json!(null),
        json!(true),
        json!(false),
        json!(0),
        json!(1),
        json!(-1),
        json!(5.0),
        json!(1.5),
        json!(0.07),
        json!(12.345),
        json!(0.5700000000000001),
        json!(1e300),
        json!(1e-7),
        json!(1.051380519578223e-109),
        json!(1e16),
        json!(1440),
        json!(1441),
        json!(10_000_000),
        json!(10_000_000.01),
        json!(i64::MAX),
        json!(u64::MAX),
        json!([]),
        json!([1]),
        json!([1, 2]),
        json!([1, 1]),
        json!(["1", "2"]),
        json!([0]),
        json!((1..=50).collect::<Vec<_>>()),
        json!((1..=51).collect::<Vec<_>>()),
        json!({}),
        json!({"a": 1}),
    ];
    for s in [
        "",
        " ",
        "\u{85}",
        "\u{3000}",
        "\u{1c}",
        "a",
        " a ",
        "5",
        "+5",
        "05",
        "0",
        "-5",
        "1.5",
        "1500",
        "1500.00",
        "1500.005",
        " 12.5 ",
        "12.",
        ".5",
        "10000000",
        "10000000.00",
        "10000000.01",
        "9999999.99",
        "0000000001",
        "00000000001",
        "000000000001",
        "1e3",
        "2030-02-28",
        "2030-02-30",
        "2030-2-28",
        "2030-02-28T00:00",
        "10:00",
        "10:00:00",
        "24:00",
        "23:59:60",
        "23:59:61",
        "9:30",
        "10:0",
        "a@b",
        "@",
        " @ ",
        "x@",
        "cash",
        " cash",
        "bank_transfer",
        "accept",
        "*",
        "3",
        "\"3\"",
        "W/\"3\"",
        "W/3",
        "\"3",
        "123456789012345678",
    ] {
        v.push(json!(s));
    }
    for n in [10, 11, 150, 151] {
        v.push(json!("x".repeat(n)));
        v.push(json!("é".repeat(n)));
    }
    v
}

fn body(v: &Value) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("x".into(), v.clone());
    m
}

/// `read` on `{"x": value}` succeeds without a field error.
fn reads(v: &Value, read: impl FnOnce(&mut Input)) -> bool {
    let b = body(v);
    let mut i = Input::new(&b);
    read(&mut i);
    i.finish().is_ok()
}

fn agree(what: &str, schema: &Value, accepted: impl Fn(&Value) -> bool, skip: &[Value]) {
    let doc = json!({});
    let v = Validator { root: &doc };
    for s in samples() {
        if skip.contains(&s) {
            continue;
        }
        assert_eq!(v.valid(schema, &s), accepted(&s), "{what}: the schema and the reader disagree on {s}");
    }
}

#[test]
fn the_readers_accept_what_the_documented_kinds_allow() {
    use validate::{parse_id, parse_money, parse_time};
    let required = |i: &mut Input| i.require("x");
    agree("text", &kinds::text(10), |v| reads(v, |i| drop(i.text("x", 10))), &[]);
    agree(
        "name",
        &kinds::name(150),
        |v| royal_care::scheduling::clients::from_body(&body_named("first_name", v), None).is_ok(),
        &[],
    );
    agree(
        "email",
        &kinds::email(150),
        |v| {
            let mut b = body_named("email", v);
            b.insert("first_name".into(), json!("Ana"));
            royal_care::scheduling::clients::from_body(&b, None).is_ok()
        },
        &[],
    );
    agree("id", &kinds::id(), |v| parse_id(v).is_some(), &[]);
    agree(
        "id or null",
        &kinds::id_or_null(),
        |v| {
            reads(v, |i| {
                i.id("x");
            })
        },
        &[],
    );
    agree(
        "id, null or blank",
        &kinds::id_or_blank(),
        |v| {
            reads(v, |i| {
                i.id_or_blank("x");
            })
        },
        &[],
    );
    // 1 and "1" are one id to the reader, two values to JSON Schema's uniqueItems.
    agree("ids", &kinds::ids(), |v| reads(v, |i| drop(i.ids("x"))), &[]);
    agree(
        "date",
        &kinds::date(),
        |v| {
            reads(v, |i| {
                required(i);
                i.date("x");
            })
        },
        &[],
    );
    agree(
        "date or null",
        &kinds::nullable(kinds::date()),
        |v| {
            reads(v, |i| {
                i.date("x");
            })
        },
        &[],
    );
    agree(
        "time",
        &kinds::time(),
        |v| {
            reads(v, |i| {
                required(i);
                i.time("x");
            })
        },
        &[],
    );
    agree("time or null", &kinds::nullable(kinds::time()), |v| reads(v, |i| drop(i.time("x"))), &[]);
    agree("money", &kinds::money(), |v| parse_money(v).is_some(), &[]);
    agree(
        "money or null",
        &kinds::money_or_null(),
        |v| {
            reads(v, |i| {
                i.money("x");
            })
        },
        &[],
    );
    agree(
        "boolean",
        &kinds::boolean(),
        |v| {
            reads(v, |i| {
                i.boolean("x");
            })
        },
        &[],
    );
    agree(
        "positive int",
        &kinds::positive_int(1440),
        |v| {
            reads(v, |i| {
                i.positive_int("x", 1440);
            })
        },
        &[],
    );
    let methods = royal_care::scheduling::workflow::PAYMENT_METHOD_VALUES;
    agree("choice", &kinds::choice(methods), |v| reads(v, |i| drop(i.choice("x", methods))), &[json!(" cash")]);
    agree(
        "version",
        &kinds::version(),
        |v| validate::expected_version(None, Some(&body_named("version", v))).is_ok(),
        &[],
    );
    // Strings the readers take from headers and query strings.
    let strings = |what: &str, pattern: &str, accepted: &dyn Fn(&str) -> bool| {
        let re = regex::Regex::new(pattern).unwrap();
        for s in samples().iter().filter_map(Value::as_str) {
            assert_eq!(re.is_match(s), accepted(s), "{what}: the pattern and the reader disagree on {s:?}");
        }
    };
    strings("If-Match", kinds::IF_MATCH, &|s| validate::expected_version(Some(s), None).is_ok());
    strings("an id filter", kinds::ID_STRING, &|s| parse_id(&json!(s)).is_some());
    strings("a time", kinds::TIME_IN, &|s| parse_time(s).is_some());
}

fn body_named(name: &str, v: &Value) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(name.into(), v.clone());
    m
}

#[test]
fn the_listed_orderings_and_bounds_are_the_servers() {
    let srv = Server::start();
    let op = srv.user("olga", "operator");
    let doc = schema::build();
    for list in ["clients", "services", "staff", "appointments"] {
        let path = format!("/api/scheduling/{list}/");
        let params = doc["paths"][&path]["get"]["parameters"].as_array().unwrap();
        let ordering = params.iter().find(|p| p["name"] == "ordering").unwrap();
        let names = ordering["description"].as_str().unwrap().rsplit("from: ").next().unwrap().split(", ");
        for n in names {
            for o in [n.to_string(), format!("-{n}"), format!("{n}, id")] {
                let (s, v) = srv.call("GET", &format!("{path}?ordering={}", o.replace(' ', "%20")), Some(&op), None);
                assert_eq!(s, 200, "{list} ordering {o}: {v}");
            }
        }
        assert_eq!(srv.call("GET", &format!("{path}?ordering=bogus"), Some(&op), None).0, 400);
    }
    let service = |d: i64| {
        srv.call("POST", "/api/scheduling/services/", Some(&op), Some(&json!({"name": "S", "duration": d, "price": 1})))
            .0
    };
    assert_eq!(service(schema::ops::MAX_DURATION), 201);
    assert_eq!(service(schema::ops::MAX_DURATION + 1), 400);
    let page = |p: i64| srv.call("GET", &format!("/api/scheduling/services/?page={p}"), Some(&op), None).0;
    assert_eq!(page(schema::ops::MAX_PAGE), 404, "a page in range, past the last");
    assert_eq!(page(schema::ops::MAX_PAGE + 1), 400);
}
