//! The one error type of the API and its mapping to HTTP: every handler returns
//! `Result<_, ApiError>`, and `into_response` is the only place an error becomes bytes.
//! The body is always `{"detail", "code"}` (plus `fields` for validation and `allowed`
//! for workflow refusals). Internal causes are logged here, never sent to the client.

use crate::http::Response;
use serde_json::{json, Map, Value};

#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub detail: String,
    /// Field name → messages, for `code = "invalid"`.
    pub fields: Option<Box<Map<String, Value>>>,
    /// Extra body members, e.g. `allowed_actions` on a workflow refusal.
    pub extra: Option<Box<Map<String, Value>>>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError { status, code, detail: detail.into(), fields: None, extra: None, retry_after: None }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(400, "parse_error", detail)
    }

    /// A validation error naming one field.
    pub fn field(name: &str, message: impl Into<String>) -> Self {
        let mut f = FieldErrors::default();
        f.add(name, message);
        f.into_error()
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "not_authenticated", "Log in first: send a valid token as \"Authorization: Token <token>\".")
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(403, "permission_denied", detail)
    }

    pub fn not_found() -> Self {
        Self::new(404, "not_found", "Not found; check the id, or that it is assigned to you.")
    }

    pub fn method_not_allowed() -> Self {
        Self::new(405, "method_not_allowed", "This method is not allowed here; see /api/schema/ for what is.")
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(409, "CONFLICT", detail)
    }

    pub fn stale() -> Self {
        Self::new(409, "STALE", "Someone else changed this appointment first; reload it and try again.")
    }

    pub fn too_large(limit: usize) -> Self {
        Self::new(413, "too_large", format!("The request body is over the {limit}-byte limit; send less."))
    }

    pub fn throttled(retry_after: u64) -> Self {
        let mut e = Self::new(429, "THROTTLED", format!("Too many failed logins; try again in {retry_after} seconds."));
        e.retry_after = Some(retry_after);
        e
    }

    pub fn busy() -> Self {
        let mut e = Self::new(503, "busy", "The server is busy; try again in a moment.");
        e.retry_after = Some(1);
        e
    }

    /// Something broke inside. `context` is logged (it must hold no secret); the client
    /// only learns that it was not their fault.
    pub fn internal(context: impl std::fmt::Display) -> Self {
        log::error!("internal error: {context}");
        Self::new(
            500,
            "error",
            "Something went wrong on the server; try again, and tell the administrator if it persists.",
        )
    }

    pub fn with_extra(mut self, key: &str, value: Value) -> Self {
        self.extra.get_or_insert_with(Default::default).insert(key.to_string(), value);
        self
    }

    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("detail".into(), json!(self.detail));
        body.insert("code".into(), json!(self.code));
        if let Some(f) = &self.fields {
            body.insert("fields".into(), Value::Object((**f).clone()));
        }
        if let Some(extra) = &self.extra {
            for (k, v) in extra.iter() {
                body.insert(k.clone(), v.clone());
            }
        }
        Value::Object(body)
    }

    pub fn into_response(self) -> Response {
        let mut r = Response::json(self.status, &self.body());
        if self.status == 401 {
            r = r.header("WWW-Authenticate", "Token");
        }
        if let Some(s) = self.retry_after {
            r = r.header("Retry-After", &s.to_string());
        }
        r
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        // Busy after the busy timeout means another process held the write lock too long.
        if let rusqlite::Error::SqliteFailure(f, _) = &e {
            if f.code == rusqlite::ErrorCode::DatabaseBusy || f.code == rusqlite::ErrorCode::DatabaseLocked {
                log::warn!("database busy: {e}");
                return ApiError::busy();
            }
        }
        ApiError::internal(format_args!("database: {e}"))
    }
}

/// Collects field-level validation errors so a client learns about all of them at once.
#[derive(Default, Debug)]
pub struct FieldErrors(Map<String, Value>);

impl FieldErrors {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        let entry = self.0.entry(field.to_string()).or_insert_with(|| Value::Array(vec![]));
        if let Value::Array(a) = entry {
            a.push(Value::String(message.into()));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_error(self) -> ApiError {
        let names: Vec<&str> = self.0.keys().map(String::as_str).collect();
        let detail = format!("Some fields are not valid ({}); correct them and send again.", names.join(", "));
        let mut e = ApiError::new(400, "invalid", detail);
        e.fields = Some(Box::new(self.0));
        e
    }

    /// `Ok(())` when nothing was added, else the error.
    pub fn check(self) -> Result<(), ApiError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self.into_error())
        }
    }
}
