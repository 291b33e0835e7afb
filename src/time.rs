//! Timestamps in the one format the store and the API use: ISO-8601 UTC with microseconds
//! and a `Z` (`2026-11-25T18:33:13.123456Z`), as Django REST framework writes them. The
//! fixed width makes string order equal time order, so SQL can compare them as text.

use chrono::{DateTime, Duration, Local, NaiveDate, SecondsFormat, Utc};

/// Now, formatted for storage and for the API.
pub fn now_iso() -> String {
    iso(Utc::now())
}

/// `t` formatted for storage and for the API.
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// `secs` from now, formatted.
pub fn iso_in(secs: i64) -> String {
    iso(Utc::now() + Duration::seconds(secs))
}

/// Parses a stored timestamp; `None` for anything else.
pub fn parse_iso(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

/// The clinic's calendar date today (the machine's local time zone).
pub fn today() -> NaiveDate {
    Local::now().date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_is_fixed_width_and_sorts_as_time() {
        let a = Utc::now();
        let b = a + Duration::microseconds(1);
        assert_eq!(iso(a).len(), 27);
        assert!(iso(a) < iso(b));
        assert_eq!(parse_iso(&iso(a)), Some(a.with_nanosecond_trunc()));
    }

    trait Trunc {
        fn with_nanosecond_trunc(self) -> Self;
    }
    impl Trunc for DateTime<Utc> {
        fn with_nanosecond_trunc(self) -> Self {
            use chrono::Timelike;
            self.with_nanosecond(self.nanosecond() / 1000 * 1000).unwrap()
        }
    }
}
