//! The one error type of the API: every handler returns `Result<_, ApiError>`. Its
//! `code` is an `ErrorCode`, and `ErrorCode::status` is the one mapping from a code to an
//! HTTP status. The body is always `{"detail", "code"}` (plus `fields` for validation and
//! `allowed_actions` for workflow refusals); `http::Response::from(ApiError)` turns it
//! into bytes. Internal causes are logged here, never sent to the client. This module
//! knows nothing of HTTP connections, so every layer may return it.

use serde_json::{json, Map, Value};

/// Declares `ErrorCode` and `ErrorCode::ALL` from one list, so the document of the API
/// (`api::schema`) can name every code without a copy of the list.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// Every `code` the API answers with, and its HTTP status (the one mapping).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorCode {
            $($(#[$doc])* $name,)*
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$name,)*];
        }
    };
}

error_codes! {
    /// 400: the body or a header cannot be read at all.
    ParseError,
    /// 400: fields are not valid (`fields` names each).
    Invalid,
    /// 401: no token.
    NotAuthenticated,
    /// 401: a token that is not (or no longer) valid.
    AuthenticationFailed,
    /// 401: wrong username or password.
    InvalidLogin,
    /// 403
    PermissionDenied,
    /// 404
    NotFound,
    /// 405
    MethodNotAllowed,
    /// 408: a head or body that took too long to arrive.
    Timeout,
    /// 409: double booking, or a row still in use.
    Conflict,
    /// 409: the `version` the caller sent is not the current one.
    Stale,
    /// 409: the workflow does not allow this step now.
    InvalidStatus,
    /// 413: a body over the limit.
    TooLarge,
    /// 431: a request head over the limit (same wire code as 413).
    HeadTooLarge,
    /// 426: a WebSocket address asked for without an upgrade.
    UpgradeRequired,
    /// 429
    Throttled,
    /// 500
    Internal,
    /// 501
    NotImplemented,
    /// 503
    Busy,
    /// 503: the database's disk is full, so nothing can be written.
    DiskFull,
}

impl ErrorCode {
    /// The HTTP status of an error with this code.
    pub fn status(self) -> u16 {
        use ErrorCode::*;
        match self {
            ParseError | Invalid => 400,
            NotAuthenticated | AuthenticationFailed | InvalidLogin => 401,
            PermissionDenied => 403,
            NotFound => 404,
            MethodNotAllowed => 405,
            Timeout => 408,
            Conflict | Stale | InvalidStatus => 409,
            TooLarge => 413,
            UpgradeRequired => 426,
            Throttled => 429,
            HeadTooLarge => 431,
            Internal => 500,
            NotImplemented => 501,
            Busy | DiskFull => 503,
        }
    }

    /// The `code` member of the body (the old API's spellings, kept for its clients).
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            ParseError => "parse_error",
            Invalid => "invalid",
            NotAuthenticated => "not_authenticated",
            AuthenticationFailed => "authentication_failed",
            InvalidLogin => "INVALID_LOGIN",
            PermissionDenied => "permission_denied",
            NotFound => "not_found",
            MethodNotAllowed => "method_not_allowed",
            Timeout => "timeout",
            Conflict => "CONFLICT",
            Stale => "STALE",
            InvalidStatus => "INVALID_STATUS",
            TooLarge | HeadTooLarge => "too_large",
            UpgradeRequired => "upgrade_required",
            Throttled => "THROTTLED",
            Internal => "error",
            NotImplemented => "not_implemented",
            Busy => "busy",
            DiskFull => "disk_full",
        }
    }
}

#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub detail: String,
    /// Field name → messages, for `ErrorCode::Invalid`.
    pub fields: Option<Box<Map<String, Value>>>,
    /// Extra body members, e.g. `allowed_actions` on a workflow refusal.
    pub extra: Option<Box<Map<String, Value>>>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        ApiError { code, detail: detail.into(), fields: None, extra: None, retry_after: None }
    }

    pub fn status(&self) -> u16 {
        self.code.status()
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::ParseError, detail)
    }

    /// A validation error naming one field.
    pub fn field(name: &str, message: impl Into<String>) -> Self {
        let mut f = FieldErrors::default();
        f.add(name, message);
        f.into_error()
    }

    pub fn unauthorized() -> Self {
        Self::new(ErrorCode::NotAuthenticated, "Log in first: send a valid token as \"Authorization: Token <token>\".")
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::PermissionDenied, detail)
    }

    pub fn not_found() -> Self {
        Self::new(ErrorCode::NotFound, "Not found; check the id, or that it is assigned to you.")
    }

    pub fn method_not_allowed() -> Self {
        Self::new(ErrorCode::MethodNotAllowed, "This method is not allowed here; see /api/schema/ for what is.")
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, detail)
    }

    pub fn stale() -> Self {
        Self::new(ErrorCode::Stale, "Someone else changed this appointment first; reload it and try again.")
    }

    pub fn too_large(limit: usize) -> Self {
        Self::new(ErrorCode::TooLarge, format!("The request body is over the {limit}-byte limit; send less."))
    }

    pub fn throttled(retry_after: u64) -> Self {
        let mut e =
            Self::new(ErrorCode::Throttled, format!("Too many failed logins; try again in {retry_after} seconds."));
        e.retry_after = Some(retry_after);
        e
    }

    /// The database could not grow. A minute gives someone time to free space.
    pub fn disk_full() -> Self {
        let mut e = Self::new(
            ErrorCode::DiskFull,
            "The server's disk is full, so nothing was saved; free space on it (or tell the administrator), then try again.",
        );
        e.retry_after = Some(60);
        e
    }

    /// A 503 saying what is busy, to be retried in a second.
    pub fn busy_because(detail: impl Into<String>) -> Self {
        let mut e = Self::new(ErrorCode::Busy, detail);
        e.retry_after = Some(1);
        e
    }

    pub fn busy() -> Self {
        Self::busy_because("The server is busy; try again in a moment.")
    }

    /// Something broke inside. `context` is logged (it must hold no secret); the client
    /// only learns that it was not their fault.
    pub fn internal(context: impl std::fmt::Display) -> Self {
        log::error!("internal error: {context}");
        Self::new(
            ErrorCode::Internal,
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
        body.insert("code".into(), json!(self.code.as_str()));
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
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        // Busy after the busy timeout means another process held the write lock too long.
        if let rusqlite::Error::SqliteFailure(f, _) = &e {
            if f.code == rusqlite::ErrorCode::DatabaseBusy || f.code == rusqlite::ErrorCode::DatabaseLocked {
                log::warn!("database busy: {e}");
                return ApiError::busy();
            }
            if f.code == rusqlite::ErrorCode::DiskFull {
                log::error!("the database's disk is full; writes are refused until there is space: {e}");
                return ApiError::disk_full();
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
        let mut e = ApiError::new(ErrorCode::Invalid, detail);
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
