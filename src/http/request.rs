//! A parsed request as handlers see it: head, whole body, peer address, and helpers to
//! read query parameters and JSON bodies with the API's error shapes.

use super::parse::{query_pairs, Head};
use crate::error::ApiError;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::net::SocketAddr;

#[derive(Debug, Clone)]
pub struct Request {
    pub head: Head,
    pub body: Vec<u8>,
    pub peer: SocketAddr,
}

impl Request {
    pub fn method(&self) -> &str {
        &self.head.method
    }

    pub fn path(&self) -> &str {
        &self.head.path
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.header(name)
    }

    /// All query parameters, decoded, in order.
    pub fn query(&self) -> Vec<(String, String)> {
        query_pairs(&self.head.query)
    }

    /// The first value of query parameter `name`.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query().into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The token in `Authorization: Token <token>` (scheme case-insensitive), if any.
    pub fn token(&self) -> Option<&str> {
        let value = self.header("authorization")?.trim();
        let (scheme, rest) = value.split_once(' ')?;
        scheme.eq_ignore_ascii_case("token").then(|| rest.trim())
    }

    /// 405 unless the method is one of `methods` (HEAD counts as GET).
    pub fn allow(&self, methods: &[&str]) -> Result<(), ApiError> {
        let m = if self.method() == "HEAD" { "GET" } else { self.method() };
        if methods.contains(&m) {
            Ok(())
        } else {
            Err(ApiError::method_not_allowed().with_extra("allowed_methods", serde_json::json!(methods)))
        }
    }

    /// The body as a JSON object (what every write endpoint takes).
    pub fn json_object(&self) -> Result<serde_json::Map<String, Value>, ApiError> {
        match self.json::<Value>()? {
            Value::Object(m) => Ok(m),
            _ => Err(ApiError::bad_request("The request body must be a JSON object.")),
        }
    }

    /// The body parsed as JSON into `T`; a parse error is a 400 saying where.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        if self.body.is_empty() {
            return Err(ApiError::bad_request("The request body is empty; send a JSON object."));
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| ApiError::bad_request(format!("JSON parse error - {e}; send a valid JSON object.")))
    }
}
