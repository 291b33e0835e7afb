//! Reading request bodies and query strings into checked values, collecting every
//! problem as a field error so a client learns about all of them at once. Formats:
//! dates `YYYY-MM-DD`; times `HH:MM` or `HH:MM:SS`, stored and returned as `HH:MM:SS`;
//! money as a JSON number or string with at most two decimals, stored as integer cents
//! and written back as a string with two decimals (`"1500.00"`, as DRF does).

use crate::error::{ApiError, FieldErrors};
use chrono::{NaiveDate, NaiveTime};
use serde_json::{Map, Value};

/// Longest free text we store (notes, addresses); longer is refused, not truncated.
pub const MAX_TEXT: usize = 4000;
/// Longest short text (names, phone numbers, methods).
pub const MAX_SHORT: usize = 150;
/// The largest amount of money we accept, in cents (a typo guard, 10 million).
const MAX_CENTS: i64 = 1_000_000_000;

pub fn parse_date(s: &str) -> Option<NaiveDate> {
    if s.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// `HH:MM` or `HH:MM:SS` → `HH:MM:SS`.
pub fn parse_time(s: &str) -> Option<String> {
    let t = match s.len() {
        5 => NaiveTime::parse_from_str(s, "%H:%M").ok()?,
        8 => NaiveTime::parse_from_str(s, "%H:%M:%S").ok()?,
        _ => return None,
    };
    Some(t.format("%H:%M:%S").to_string())
}

/// A number or a decimal string with at most two decimals → cents.
pub fn parse_money(v: &Value) -> Option<i64> {
    let s = match v {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => {
            // Through the float only to print it; the decimal text is what we parse.
            let f = n.as_f64()?;
            if !f.is_finite() {
                return None;
            }
            let s = n.to_string();
            if s.contains('e') || s.contains('E') {
                // Exponent form: a whole number (far over the bound anyway), or a tiny
                // fraction such as 1e-9, which has more than two decimals: never rounded.
                if f.fract() != 0.0 {
                    return None;
                }
                format!("{f:.0}")
            } else {
                s
            }
        }
        _ => return None,
    };
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    if whole.is_empty()
        || whole.len() > 10
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 2
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let cents = whole.parse::<i64>().ok()? * 100 + format!("{frac:0<2}").parse::<i64>().ok()?;
    (cents <= MAX_CENTS).then_some(cents)
}

/// Cents as DRF writes a DecimalField: `"1500.00"`.
pub fn money(cents: i64) -> String {
    money_in(cents, &mut [0; 24]).to_string()
}

/// `money`'s text written into `buf` (the longest, `i64::MIN`, takes 21 bytes), for a
/// caller that keeps it without an allocation (a page writes two amounts per appointment).
pub fn money_in(cents: i64, buf: &mut [u8; 24]) -> &str {
    let mut digits = itoa::Buffer::new();
    let whole = digits.format(cents.unsigned_abs() / 100).as_bytes();
    let part = (cents.unsigned_abs() % 100) as u8;
    let mut n = 0;
    let mut put = |bytes: &[u8]| {
        buf[n..n + bytes.len()].copy_from_slice(bytes);
        n += bytes.len();
    };
    if cents < 0 {
        put(b"-");
    }
    put(whole);
    put(&[b'.', b'0' + part / 10, b'0' + part % 10]);
    std::str::from_utf8(&buf[..n]).expect("ASCII digits")
}

/// A JSON number that is a whole number: `5`, or `5.0` (JSON Schema's integers, and
/// what DRF's IntegerField reads too); not `5.5`, nor one outside `i64`.
pub fn whole_number(v: &Value) -> Option<i64> {
    let n = match v {
        Value::Number(n) => n,
        _ => return None,
    };
    n.as_i64().or_else(|| {
        let f = n.as_f64()?;
        // [-2^63, 2^63): every whole float in it converts exactly.
        (f.fract() == 0.0 && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f))
            .then_some(f as i64)
    })
}

/// An id given as a JSON integer (or a string of digits, as HTML forms send).
pub fn parse_id(v: &Value) -> Option<i64> {
    match v {
        Value::Number(_) => whole_number(v).filter(|i| *i > 0),
        Value::String(s) => s.parse::<i64>().ok().filter(|i| *i > 0),
        _ => None,
    }
}

/// A request body being read: each getter records a field error instead of failing, so
/// `finish` reports every problem at once.
pub struct Input<'a> {
    pub body: &'a Map<String, Value>,
    pub errors: FieldErrors,
}

impl<'a> Input<'a> {
    pub fn new(body: &'a Map<String, Value>) -> Self {
        Input { body, errors: FieldErrors::default() }
    }

    pub fn has(&self, name: &str) -> bool {
        self.body.contains_key(name)
    }

    /// The member, treating JSON null as absent.
    fn get(&self, name: &str) -> Option<&'a Value> {
        self.body.get(name).filter(|v| !v.is_null())
    }

    pub fn require(&mut self, name: &str) {
        let missing = match self.get(name) {
            None => true,
            Some(Value::String(s)) => s.trim().is_empty(),
            Some(Value::Array(a)) => a.is_empty(),
            _ => false,
        };
        if missing {
            self.errors.add(name, "This field is required.");
        }
    }

    /// A string up to `max` characters (trimmed); `Some("")` when given as null.
    pub fn text(&mut self, name: &str, max: usize) -> Option<String> {
        match self.body.get(name)? {
            Value::Null => Some(String::new()),
            Value::String(s) if s.chars().count() <= max => Some(s.trim().to_string()),
            Value::String(_) => {
                self.errors.add(name, format!("Must be at most {max} characters."));
                None
            }
            _ => {
                self.errors.add(name, "Must be a string.");
                None
            }
        }
    }

    /// One of `choices`.
    pub fn choice(&mut self, name: &str, choices: &[&str]) -> Option<String> {
        let v = self.text(name, MAX_SHORT)?;
        if choices.contains(&v.as_str()) {
            Some(v)
        } else {
            self.errors.add(name, format!("Must be one of: {}.", choices.join(", ")));
            None
        }
    }

    pub fn boolean(&mut self, name: &str) -> Option<bool> {
        match self.get(name)? {
            Value::Bool(b) => Some(*b),
            _ => {
                self.errors.add(name, "Must be true or false.");
                None
            }
        }
    }

    pub fn date(&mut self, name: &str) -> Option<NaiveDate> {
        let v = self.get(name)?;
        match v.as_str().and_then(parse_date) {
            Some(d) => Some(d),
            None => {
                self.errors.add(name, "Must be a date as YYYY-MM-DD.");
                None
            }
        }
    }

    pub fn time(&mut self, name: &str) -> Option<String> {
        let v = self.get(name)?;
        match v.as_str().and_then(parse_time) {
            Some(t) => Some(t),
            None => {
                self.errors.add(name, "Must be a time as HH:MM or HH:MM:SS.");
                None
            }
        }
    }

    /// Money in cents; `Some(None)` when given as null.
    pub fn money(&mut self, name: &str) -> Option<Option<i64>> {
        match self.body.get(name)? {
            Value::Null => Some(None),
            v => match parse_money(v) {
                Some(c) => Some(Some(c)),
                None => {
                    self.errors.add(
                        name,
                        "Must be an amount such as 1500 or \"1500.00\" (not negative, at most two decimals).",
                    );
                    None
                }
            },
        }
    }

    pub fn positive_int(&mut self, name: &str, max: i64) -> Option<i64> {
        match whole_number(self.get(name)?) {
            Some(n) if n > 0 && n <= max => Some(n),
            _ => {
                self.errors.add(name, format!("Must be a whole number from 1 to {max}."));
                None
            }
        }
    }

    /// An id; `Some(None)` when given as null (to clear it).
    pub fn id(&mut self, name: &str) -> Option<Option<i64>> {
        match self.body.get(name)? {
            Value::Null => Some(None),
            v => match parse_id(v) {
                Some(i) => Some(Some(i)),
                None => {
                    self.errors.add(name, "Must be an id (a positive whole number) or null.");
                    None
                }
            },
        }
    }

    /// An id, or none: null or `""` (what an empty select of a form sends; the clinic's
    /// original frontend sends `driver: ""` for "no driver"). `Some(None)` for none.
    pub fn id_or_blank(&mut self, name: &str) -> Option<Option<i64>> {
        match self.body.get(name)? {
            Value::String(s) if s.is_empty() => Some(None),
            _ => self.id(name),
        }
    }

    /// A list of distinct ids.
    pub fn ids(&mut self, name: &str) -> Option<Vec<i64>> {
        let bad = |me: &mut Self| {
            me.errors.add(name, "Must be a list of distinct ids.");
            None
        };
        match self.body.get(name)? {
            Value::Null => Some(Vec::new()),
            Value::Array(a) => {
                let ids: Option<Vec<i64>> = a.iter().map(parse_id).collect();
                match ids {
                    Some(ids) if a.len() <= 50 && !has_duplicates(&ids) => Some(ids),
                    _ => bad(self),
                }
            }
            _ => bad(self),
        }
    }

    pub fn add(&mut self, name: &str, message: impl Into<String>) {
        self.errors.add(name, message);
    }

    pub fn finish(self) -> Result<(), ApiError> {
        self.errors.check()
    }
}

fn has_duplicates(ids: &[i64]) -> bool {
    let mut v = ids.to_vec();
    v.sort_unstable();
    v.windows(2).any(|w| w[0] == w[1])
}

/// The version a write expects, from `If-Match` or the body's `version`; 400 if malformed.
pub fn expected_version(if_match: Option<&str>, body: Option<&Map<String, Value>>) -> Result<Option<i64>, ApiError> {
    let mut out = None;
    if let Some(h) = if_match.map(str::trim).filter(|h| *h != "*") {
        // The ETag as sent (`"3"`, weak `W/"3"`), or the bare number: nothing looser.
        let quoted = h.strip_prefix("W/").unwrap_or(h).strip_prefix('"').and_then(|v| v.strip_suffix('"'));
        let digits = quoted.unwrap_or(h);
        let bad = || ApiError::bad_request("If-Match must be the appointment's version, e.g. \"3\".");
        if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        out = Some(digits.parse::<i64>().map_err(|_| bad())?);
    }
    if let Some(v) = body.and_then(|b| b.get("version")).filter(|v| !v.is_null()) {
        let n = whole_number(v).ok_or_else(|| ApiError::field("version", "Must be the whole number you last read."))?;
        if out.is_some_and(|o| o != n) {
            return Err(ApiError::field("version", "Differs from If-Match; send one version."));
        }
        out = Some(n);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn money_round_trips() {
        assert_eq!([money(0), money(5), money(150050), money(-1234)], ["0.00", "0.05", "1500.50", "-12.34"]);
        assert_eq!(money(i64::MIN), "-92233720368547758.08");
        assert_eq!(parse_money(&json!(1500)), Some(150000));
        assert_eq!(parse_money(&json!("1500.5")), Some(150050));
        assert_eq!(parse_money(&json!(12.34)), Some(1234));
        assert_eq!(parse_money(&json!("1.234")), None);
        assert_eq!(parse_money(&json!(-1)), None);
        assert_eq!(parse_money(&json!("abc")), None);
        // Not rounded to 0.00: more than two decimals, however small.
        assert_eq!(parse_money(&json!(1.051380519578223e-109)), None);
        assert_eq!(parse_money(&json!(1e-7)), None);
        assert_eq!(parse_money(&json!(1e16)), None, "over the bound");
        assert_eq!(money(150000), "1500.00");
        assert_eq!(money(5), "0.05");
    }

    #[test]
    fn whole_numbers_may_be_written_with_a_zero_fraction() {
        assert_eq!(whole_number(&json!(5)), Some(5));
        assert_eq!(whole_number(&json!(1325.0)), Some(1325));
        assert_eq!(whole_number(&json!(-3.0)), Some(-3));
        assert_eq!(whole_number(&json!(5.5)), None);
        assert_eq!(whole_number(&json!(1e300)), None);
        assert_eq!(whole_number(&json!("5")), None);
        assert_eq!(parse_id(&json!(7.0)), Some(7));
        assert_eq!(parse_id(&json!(0.0)), None);
    }

    #[test]
    fn if_match_is_an_etag_or_the_number() {
        for ok in ["3", "\"3\"", "W/\"3\"", " 3 "] {
            assert_eq!(expected_version(Some(ok), None).unwrap(), Some(3), "{ok}");
        }
        assert_eq!(expected_version(Some("*"), None).unwrap(), None);
        for bad in ["+3", "-3", "W/3", "\"3", "\"\"3\"\"", "W/W/\"3\"", "", "3.0", "1234567890123456789"] {
            assert!(expected_version(Some(bad), None).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_and_dates() {
        assert_eq!(parse_time("09:30").as_deref(), Some("09:30:00"));
        assert_eq!(parse_time("09:30:15").as_deref(), Some("09:30:15"));
        assert_eq!(parse_time("24:00"), None);
        assert_eq!(parse_time("9:30"), None);
        assert!(parse_date("2026-02-29").is_none());
        assert!(parse_date("2028-02-29").is_some());
    }
}
