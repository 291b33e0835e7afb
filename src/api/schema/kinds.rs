//! The JSON Schema of each kind of request value, one function per reader of
//! `scheduling::validate::Input` (`text`, `id`, `ids`, `date`, `time`, `money`, `boolean`,
//! `positive_int`, `choice`) and of `expected_version`, saying exactly what that reader
//! accepts: the same limits (`MAX_TEXT`, `MAX_SHORT`, the money bound), null where it
//! reads null as "absent" or "clear", ids as integers or digit strings, trimmed text.
//! `tests/schema.rs` feeds the same values to the readers and to these schemas and checks
//! that they agree, so a change to a reader shows up here. Patterns use only syntax that
//! Python's `re`, ECMA-262 and Rust's `regex` read alike (no `\s`, `\d` or `\p`).

use serde_json::{json, Value};

/// What `str::trim` removes (Unicode White_Space), as the inside of a character class.
pub const WS: &str = "\t\n\u{b}\u{c}\r \u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}";

/// The largest id (`i64::MAX`); a larger number is not an id.
pub const MAX_ID: i64 = i64::MAX;

/// The largest amount of money, in whole units (`validate::parse_money`'s bound).
pub const MAX_MONEY: i64 = 10_000_000;

/// A string with something other than whitespace in it (`text` then "may not be blank").
pub fn nonblank() -> String {
    format!("[^{WS}]")
}

fn or_null(mut s: Value) -> Value {
    match s.get("type").cloned() {
        Some(Value::String(t)) => s["type"] = json!([t, "null"]),
        _ => return json!({"oneOf": [s, {"type": "null"}]}),
    }
    s
}

/// `Input::text(max)`: a string of at most `max` characters (stored trimmed); null means "".
pub fn text(max: usize) -> Value {
    json!({"type": ["string", "null"], "maxLength": max})
}

/// A text that may not be blank after trimming (`first_name`, `name`): never null.
pub fn name(max: usize) -> Value {
    json!({"type": "string", "maxLength": max, "pattern": nonblank(), "description": "not blank"})
}

/// An email field: empty, or containing `@`.
pub fn email(max: usize) -> Value {
    json!({"type": ["string", "null"], "maxLength": max, "pattern": format!("^[{WS}]*$|@"),
        "description": "empty, or an email address (with @)"})
}

/// A digit string `validate::parse_id` reads as a positive id (at most 18 significant digits).
pub const ID_STRING: &str = "^\\+?0*[1-9][0-9]{0,17}$";

/// `validate::parse_id`: a positive integer, or a string of its digits (as forms send).
pub fn id() -> Value {
    json!({"oneOf": [
        {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        {"type": "string", "pattern": ID_STRING},
    ]})
}

/// `Input::id`: an id, or null to clear it.
pub fn id_or_null() -> Value {
    json!({"oneOf": [
        {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        {"type": "string", "pattern": ID_STRING},
        {"type": "null"},
    ]})
}

/// `Input::id_or_blank`: an id, or null or `""` for none.
pub fn id_or_blank() -> Value {
    json!({"oneOf": [
        {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        {"type": "string", "pattern": ID_STRING},
        {"type": "string", "maxLength": 0},
        {"type": "null"},
    ]})
}

/// `Input::ids`: at most 50 distinct ids; null means none.
pub fn ids() -> Value {
    json!({"type": ["array", "null"], "items": id(), "maxItems": 50, "uniqueItems": true,
        "description": "distinct ids (1 and \"1\" are the same id)"})
}

/// `validate::parse_date`: `YYYY-MM-DD`, a real day.
pub fn date() -> Value {
    json!({"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"})
}

/// `validate::parse_time`: `HH:MM` or `HH:MM:SS` (a leap second `:60` is read, as chrono does).
pub const TIME_IN: &str = "^([01][0-9]|2[0-3]):[0-5][0-9](:([0-5][0-9]|60))?$";

pub fn time() -> Value {
    json!({"type": "string", "pattern": TIME_IN, "examples": ["10:00", "10:00:00"]})
}

/// `validate::parse_money` for a string: trimmed, at most two decimals, at most ten
/// digits before the point, and not over `MAX_MONEY`.
pub fn money_string_pattern() -> String {
    format!("^[{WS}]*(0{{0,3}}[0-9]{{1,7}}(\\.[0-9]{{0,2}})?|0{{0,2}}{MAX_MONEY}(\\.0{{0,2}})?)[{WS}]*$")
}

/// `validate::parse_money`: a number or a string, not negative, at most two decimals.
pub fn money() -> Value {
    json!({"oneOf": [
        {"type": "number", "minimum": 0, "maximum": MAX_MONEY, "multipleOf": 0.01},
        {"type": "string", "pattern": money_string_pattern()},
    ], "description": "an amount with at most two decimals, e.g. 1500 or \"1500.00\"; stored in cents"})
}

/// `Input::money` where null clears the amount.
pub fn money_or_null() -> Value {
    let mut m = money();
    m["oneOf"].as_array_mut().expect("oneOf").push(json!({"type": "null"}));
    m
}

/// `Input::boolean`: true or false; null is "not given".
pub fn boolean() -> Value {
    json!({"type": ["boolean", "null"]})
}

/// `Input::positive_int(max)`; null is "not given".
pub fn positive_int(max: i64) -> Value {
    json!({"type": ["integer", "null"], "minimum": 1, "maximum": max})
}

/// `Input::choice`: one of `values` (null reads as "", which is none of them).
pub fn choice(values: &[&str]) -> Value {
    json!({"type": "string", "enum": values})
}

/// `validate::expected_version`'s `If-Match`: the version, quoted or not, weak or not, or `*`.
pub const IF_MATCH: &str = "^(\\*|(W/)?\"[0-9]{1,18}\"|[0-9]{1,18})$";

/// A body's `version`: the whole number you last read (null: not given).
pub fn version() -> Value {
    json!({"type": ["integer", "null"], "minimum": i64::MIN, "maximum": i64::MAX,
        "description": "the version you last read; a stale one gets 409 STALE"})
}

/// A response's nullable variant of `s`.
pub fn nullable(s: Value) -> Value {
    or_null(s)
}
