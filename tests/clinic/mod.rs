//! A small clinic for the scheduling tests: an operator, therapists, drivers, a client
//! and services, created through the real API of a real server.
#![allow(dead_code)]

use super::common::*;
use serde_json::{json, Value};

pub struct Clinic {
    pub srv: Server,
    pub op: String,
    pub t1: String,
    pub t2: String,
    pub d1: String,
    pub t1_id: i64,
    pub t2_id: i64,
    pub d1_id: i64,
    pub client: i64,
    pub service: i64,
}

pub fn id_of(srv: &Server, token: &str) -> i64 {
    let (s, me) = srv.call("GET", "/api/auth/profile/", Some(token), None);
    assert_eq!(s, 200);
    me["id"].as_i64().unwrap()
}

impl Clinic {
    pub fn new() -> Clinic {
        Self::with(&[])
    }

    pub fn with(env: &[(&str, &str)]) -> Clinic {
        let srv = Server::start_with(env);
        let op = srv.user("olga", "operator");
        let t1 = srv.user("tess", "therapist");
        let t2 = srv.user("toni", "therapist");
        let d1 = srv.user("dan", "driver");
        let (t1_id, t2_id, d1_id) = (id_of(&srv, &t1), id_of(&srv, &t2), id_of(&srv, &d1));
        let (s, c) = srv.call("POST", "/api/scheduling/clients/", Some(&op), Some(&json!({"first_name": "Maria", "last_name": "Lopez", "phone_number": "0917", "address": "12 Mabini St"})));
        assert_eq!(s, 201, "{c}");
        let (s, svc) = srv.call(
            "POST",
            "/api/scheduling/services/",
            Some(&op),
            Some(&json!({"name": "Swedish", "duration": 60, "price": "1500.00"})),
        );
        assert_eq!(s, 201, "{svc}");
        Clinic {
            client: c["id"].as_i64().unwrap(),
            service: svc["id"].as_i64().unwrap(),
            srv,
            op,
            t1,
            t2,
            d1,
            t1_id,
            t2_id,
            d1_id,
        }
    }

    /// A booking body for therapist 1 and driver 1 on `date` from `start` to `end`.
    pub fn booking(&self, date: &str, start: &str, end: &str) -> Value {
        json!({"client": self.client, "services": [self.service], "therapist": self.t1_id, "driver": self.d1_id,
               "date": date, "start_time": start, "end_time": end, "location": "12 Mabini St"})
    }

    /// Books and returns the appointment (asserting 201).
    pub fn book(&self, body: &Value) -> Value {
        let (s, a) = self.srv.call("POST", "/api/scheduling/appointments/", Some(&self.op), Some(body));
        assert_eq!(s, 201, "{a}");
        a
    }

    /// POST appointments/{id}/{action}/ as `token`.
    pub fn act(&self, token: &str, id: i64, action: &str, body: Value) -> (u16, Value) {
        self.srv.call("POST", &format!("/api/scheduling/appointments/{id}/{action}/"), Some(token), Some(&body))
    }

    pub fn get(&self, token: &str, id: i64) -> (u16, Value) {
        self.srv.call("GET", &format!("/api/scheduling/appointments/{id}/"), Some(token), None)
    }

    /// Events in the log after `seq`, straight from the database file.
    pub fn events_after(&self, seq: i64) -> Vec<(i64, String, Option<i64>, bool, String, Value)> {
        let c =
            rusqlite::Connection::open_with_flags(&self.srv.db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let mut st = c.prepare("SELECT seq, kind, appointment_id, audience_operators, audience_users, payload FROM events WHERE seq > ?1 AND kind != 'session_revoked' ORDER BY seq").unwrap();
        let rows = st
            .query_map([seq], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    serde_json::from_str(&r.get::<_, String>(5)?).unwrap(),
                ))
            })
            .unwrap();
        rows.map(Result::unwrap).collect()
    }

    pub fn last_seq(&self) -> i64 {
        self.events_after(0).last().map_or(0, |e| e.0)
    }
}

pub fn today() -> String {
    chrono::Local::now().date_naive().format("%Y-%m-%d").to_string()
}
