//! A parsed request as handlers see it: head, whole body, peer address, and helpers to
//! read query parameters and JSON bodies with the API's error shapes.

use super::client::{self, Client};
use super::parse::{query_pairs, Head};
use crate::config::ProxyNet;
use crate::error::ApiError;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::net::SocketAddr;

#[derive(Debug, Clone)]
pub struct Request {
    pub head: Head,
    pub body: Vec<u8>,
    /// The TCP peer; use `client()` for who asked (it may be a trusted proxy).
    pub peer: SocketAddr,
    client: Client,
}

impl Request {
    /// A request from TCP `peer`; `trusted` are the proxies whose forwarded headers count.
    pub fn new(head: Head, body: Vec<u8>, peer: SocketAddr, trusted: &[ProxyNet]) -> Request {
        let client = client::client(&head, peer, trusted);
        Request { head, body, peer, client }
    }

    /// The client as seen: address, scheme and host, through trusted proxies (`http::client`).
    pub fn client(&self) -> &Client {
        &self.client
    }

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
        super::parse::query_value(&self.head.query, name)
    }

    /// The token in `Authorization: Token <token>` or `Bearer <token>` (scheme
    /// case-insensitive), if any.
    pub fn token(&self) -> Option<&str> {
        self.head.token()
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

    /// The body parsed as JSON into `T`; a parse error is a 400 saying where. A body of
    /// more than `MAX_JSON_VALUES` values is refused before it is parsed into `T`, so
    /// parsing cannot make a body many times larger in memory (`budget::cost`).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        if self.body.is_empty() {
            return Err(ApiError::bad_request("The request body is empty; send a JSON object."));
        }
        let parse_error =
            |e: serde_json::Error| ApiError::bad_request(format!("JSON parse error - {e}; send a valid JSON object."));
        count_values(&self.body).map_err(parse_error)?;
        serde_json::from_slice(&self.body).map_err(parse_error)
    }
}

/// Most JSON values (objects, arrays, strings, numbers…) one body may hold. A booking
/// is a few dozen; parsing `[0,0,0,…]` from a 1 MiB body would otherwise build half a
/// million values, 16 MiB in memory.
pub const MAX_JSON_VALUES: usize = 10_000;

/// Checks `body` is JSON of at most `MAX_JSON_VALUES` values, building none of them.
fn count_values(body: &[u8]) -> Result<(), serde_json::Error> {
    use serde::de::DeserializeSeed;
    let left = std::cell::Cell::new(MAX_JSON_VALUES);
    let mut de = serde_json::Deserializer::from_slice(body);
    Counter(&left).deserialize(&mut de)?;
    de.end()
}

/// Counts values as serde_json reads them, failing past the limit (see `count_values`).
struct Counter<'a>(&'a std::cell::Cell<usize>);

impl Counter<'_> {
    fn tick<E: serde::de::Error>(&self) -> Result<(), E> {
        match self.0.get().checked_sub(1) {
            Some(n) => {
                self.0.set(n);
                Ok(())
            }
            None => Err(E::custom(format!("more than {MAX_JSON_VALUES} values"))),
        }
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Counter<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Counter<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        self.tick()
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        self.tick()
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        self.tick()
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        self.tick()
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        self.tick()
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.tick()
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.tick()?;
        while seq.next_element_seed(Counter(self.0))?.is_some() {}
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.tick()?;
        while map.next_key_seed(Counter(self.0))?.is_some() {
            map.next_value_seed(Counter(self.0))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(body: &str) -> Request {
        let head = crate::http::parse::parse_head(b"POST / HTTP/1.1\r\n\r\n").unwrap().unwrap().0;
        Request::new(head, body.as_bytes().to_vec(), "127.0.0.1:1".parse().unwrap(), &[])
    }

    #[test]
    fn json_bodies_are_bounded_in_values() {
        // The object, its key and the array count as values too.
        let ok = format!("{{\"ids\":[{}]}}", vec!["1"; MAX_JSON_VALUES - 3].join(","));
        assert_eq!(req(&ok).json_object().unwrap()["ids"].as_array().unwrap().len(), MAX_JSON_VALUES - 3);
        let over = format!("[{}]", vec!["0"; MAX_JSON_VALUES].join(","));
        let e = req(&over).json_object().unwrap_err();
        assert_eq!(e.status(), 400);
        assert!(e.detail.contains("more than 10000 values"), "{}", e.detail);
        assert_eq!(req("{\"a\": 1} x").json_object().unwrap_err().status(), 400);
        assert_eq!(req("[1]").json_object().unwrap_err().status(), 400);
    }
}
