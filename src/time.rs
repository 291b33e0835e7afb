//! Timestamps in the one format the store and the API use: ISO-8601 UTC with microseconds
//! and a `Z` (`2026-11-25T18:33:13.123456Z`), as Django REST framework writes them. The
//! fixed width makes string order equal time order, so SQL can compare them as text.
//! It also owns the clinic's time zone (`--time-zone`, docs/CONFIG.md): "today" and the
//! clinic's wall-clock times are read in it, while every stored instant stays UTC.

use chrono::{DateTime, Duration, Local, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;
use std::sync::OnceLock;

/// The clinic's zone, set once at start-up by `serve` (`None`: the machine's local zone).
/// A process-wide value rather than a parameter of every caller: one process serves one
/// clinic, and "today" is asked for deep inside the rules (boards, named lists, summaries).
static ZONE: OnceLock<Option<Tz>> = OnceLock::new();

/// Parses an IANA zone name; the error is the one sentence `serve` refuses to start with.
pub fn parse_zone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>().map_err(|_| {
        format!(
            "unknown time zone {name:?}; give an IANA name such as Asia/Manila (`timedatectl list-timezones` lists them)."
        )
    })
}

/// Sets the clinic's zone for this process; the first call wins (later ones, e.g. a test
/// harness starting a second server in-process, keep the first).
pub fn set_zone(zone: Option<Tz>) {
    let _ = ZONE.set(zone);
}

fn zone() -> Option<Tz> {
    ZONE.get().copied().flatten()
}

/// The clinic zone's name for logs and `/health/`: the IANA name, or the machine's own
/// zone name when none was set (`localtime` if the machine does not say).
pub fn zone_name() -> String {
    match zone() {
        Some(tz) => tz.name().to_string(),
        None => iana_time_zone::get_timezone().unwrap_or_else(|_| "localtime".into()),
    }
}

/// The instant of a clinic wall-clock time (the earlier one when a clock change repeats it,
/// the hour after when it skips it).
pub fn at_clinic(date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let naive = NaiveDateTime::new(date, time);
    fn pick<Z: TimeZone>(z: &Z, naive: NaiveDateTime) -> DateTime<Utc> {
        z.from_local_datetime(&naive)
            .earliest()
            .or_else(|| z.from_local_datetime(&(naive + Duration::hours(1))).earliest())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&naive))
    }
    match zone() {
        Some(tz) => pick(&tz, naive),
        None => pick(&Local, naive),
    }
}

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

/// The clinic's calendar date today, in the clinic's zone (`--time-zone`).
pub fn today() -> NaiveDate {
    match zone() {
        Some(tz) => Utc::now().with_timezone(&tz).date_naive(),
        None => Local::now().date_naive(),
    }
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
