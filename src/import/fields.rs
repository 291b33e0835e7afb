//! What one of the original's field values means in ours, whichever source wrote it:
//! dumpdata writes `true`, `"1500.00"` and `"2026-12-05T07:38:24.885Z"` where SQLite
//! holds `1`, `1500` and `"2026-12-05 07:38:24.885000"` (UTC without a zone, as Django
//! stores it with `USE_TZ = True`). Each reader is lenient about the form and strict
//! about the meaning: `None` when the value is not one.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde_json::{Map, Value};

/// A record's fields with typed getters (a missing field reads as null).
pub struct Fields<'a>(pub &'a Map<String, Value>);

impl Fields<'_> {
    fn get(&self, name: &str) -> &Value {
        self.0.get(name).unwrap_or(&Value::Null)
    }

    /// Text, with null as "" (Django's optional text fields are often nullable).
    pub fn text(&self, name: &str) -> String {
        match self.get(name) {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        match self.get(name) {
            Value::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A boolean field; null is false.
    pub fn flag(&self, name: &str) -> bool {
        match self.get(name) {
            Value::Bool(b) => *b,
            Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
            Value::String(s) => matches!(s.trim(), "1" | "true" | "True" | "t"),
            _ => false,
        }
    }

    /// A foreign key or many-to-many list: ids; also `--natural-foreign` keys to users,
    /// `["username"]`, through `by_username`.
    pub fn ids(&self, name: &str, by_username: &dyn Fn(&str) -> Option<i64>) -> Vec<i64> {
        let one = |v: &Value| match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.parse().ok(),
            Value::Array(a) => a.first().and_then(Value::as_str).and_then(by_username),
            _ => None,
        };
        match self.get(name) {
            Value::Null => Vec::new(),
            Value::Array(a) if a.iter().all(|v| !v.is_string()) => a.iter().filter_map(one).collect(),
            v => one(v).into_iter().collect(),
        }
    }

    /// A DecimalField as integer cents ("999.99", 999.99 or 1500 → 99999, 150000).
    pub fn cents(&self, name: &str) -> Option<i64> {
        match self.get(name) {
            Value::Number(n) => match n.as_i64() {
                Some(i) => i.checked_mul(100),
                None => n.as_f64().filter(|f| f.is_finite() && f.abs() < 1e15).map(|f| (f * 100.0).round() as i64),
            },
            Value::String(s) => decimal_cents(s.trim()),
            _ => None,
        }
    }

    /// A DateTimeField as our ISO-8601 UTC; a value without a zone is UTC.
    pub fn datetime(&self, name: &str) -> Option<String> {
        let s = self.get(name).as_str()?.trim().replacen(' ', "T", 1);
        let t = DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .or_else(|_| NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc()))
            .ok()?;
        Some(crate::time::iso(t))
    }

    /// A DateField as `YYYY-MM-DD`.
    pub fn date(&self, name: &str) -> Option<String> {
        let s = self.get(name).as_str()?.trim();
        NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().map(|d| d.format("%Y-%m-%d").to_string())
    }

    /// A TimeField as `HH:MM:SS` (fractions dropped).
    pub fn time(&self, name: &str) -> Option<String> {
        let s = self.get(name).as_str()?.trim();
        NaiveTime::parse_from_str(s, "%H:%M:%S%.f")
            .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M"))
            .ok()
            .map(|t| t.format("%H:%M:%S").to_string())
    }
}

/// "1500", "1500.5", "-0.25" → cents; more than two decimals or anything else → None.
fn decimal_cents(s: &str) -> Option<i64> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > 2 {
        return None;
    }
    let cents = whole.parse::<i64>().ok()?.checked_mul(100)? + format!("{frac:0<2}").parse::<i64>().ok()?;
    Some(if neg { -cents } else { cents })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(v: Value) -> Map<String, Value> {
        json!({ "x": v }).as_object().unwrap().clone()
    }

    /// The same meaning from dumpdata's and SQLite's forms.
    #[test]
    fn reads_both_sources_forms() {
        let cases = [(json!("999.99"), Some(99999)), (json!(999.99), Some(99999)), (json!(1500), Some(150000))];
        for (v, want) in cases {
            assert_eq!(Fields(&f(v.clone())).cents("x"), want, "{v}");
        }
        assert_eq!(Fields(&f(json!("1.234"))).cents("x"), None);
        assert_eq!(Fields(&f(json!("12a"))).cents("x"), None);
        for v in [
            json!("2026-12-05T07:38:24.885Z"),
            json!("2026-12-05 07:38:24.885000"),
            json!("2026-12-05T15:38:24.885+08:00"),
        ] {
            assert_eq!(Fields(&f(v)).datetime("x").as_deref(), Some("2026-12-05T07:38:24.885000Z"));
        }
        assert_eq!(Fields(&f(json!("10:00:00.000001"))).time("x").as_deref(), Some("10:00:00"));
        assert!(Fields(&f(json!(1))).flag("x") && Fields(&f(json!(true))).flag("x") && !Fields(&f(json!(0))).flag("x"));
        let by_name = |u: &str| (u == "anna").then_some(7);
        assert_eq!(Fields(&f(json!(["anna"]))).ids("x", &by_name), vec![7]);
        assert_eq!(Fields(&f(json!([3, 4]))).ids("x", &by_name), vec![3, 4]);
        assert_eq!(Fields(&f(json!([["anna"]]))).ids("x", &by_name), vec![7]);
    }
}
