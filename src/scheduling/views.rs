//! The named appointment lists the clinic's original frontend asks for
//! (`appointments/today/`, `upcoming/`, `by_week/`, `rejected/` …, the `{view}` of
//! `api::ROUTES`), defined once in `VIEWS`: each is a status group of the workflow
//! (`workflow::Status`) and a range of days around the clinic's today. They are conditions
//! added to the main list's query, so the visibility rule and every filter of the main
//! list (date, status, search, ordering …) apply to them too. Some answer a plain JSON
//! array, as the original did (bounded: `api::page::MAX_PLAIN_ROWS`), the others a page.
//! The OpenAPI document and docs/API.md list them from here.

use super::workflow::Status;
use chrono::{Datelike, Duration, NaiveDate};

/// How a view answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A plain JSON array (the original's shape), at most `api::page::MAX_PLAIN_ROWS`.
    Plain,
    /// A page, as the main list.
    Page,
}

/// Which days a view covers, from the clinic's today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Days {
    Any,
    Today,
    /// From tomorrow on.
    AfterToday,
    /// The 7 days from `?week_start=` (default: this week's Monday).
    Week,
}

/// One named list.
#[derive(Debug)]
pub struct View {
    /// The path segment: `appointments/<name>/`.
    pub name: &'static str,
    /// What it holds, in one line (the OpenAPI summary and docs/API.md).
    pub doc: &'static str,
    pub shape: Shape,
    pub days: Days,
    /// Which statuses it holds (a workflow group).
    pub statuses: fn(Status) -> bool,
}

fn any(_: Status) -> bool {
    true
}

/// The views, in the order docs/API.md lists them.
pub const VIEWS: &[View] = &[
    View {
        name: "today",
        doc: "Today's appointments (the clinic's date), in any status.",
        shape: Shape::Plain,
        days: Days::Today,
        statuses: any,
    },
    View {
        name: "upcoming",
        doc: "From tomorrow on, still to happen: active and not finished (no rejected, cancelled or paid ones).",
        shape: Shape::Plain,
        days: Days::AfterToday,
        statuses: |s| s.is_active() && !s.is_finished(),
    },
    View {
        name: "by_week",
        doc: "The 7 days from week_start (YYYY-MM-DD; default this week's Monday), in any status.",
        shape: Shape::Plain,
        days: Days::Week,
        statuses: any,
    },
    View {
        name: "rejected",
        doc: "Rejected by a therapist or driver, waiting for the operator's review.",
        shape: Shape::Page,
        days: Days::Any,
        statuses: |s| s == Status::Rejected,
    },
    View {
        name: "pending",
        doc: "Waiting for the therapists' answer (pending).",
        shape: Shape::Page,
        days: Days::Any,
        statuses: Status::awaits_therapist,
    },
    View {
        name: "timeout",
        doc: "Cancelled by the server because nobody answered in time (auto_cancelled).",
        shape: Shape::Page,
        days: Days::Any,
        statuses: |s| s == Status::AutoCancelled,
    },
    View {
        name: "awaiting_payment",
        doc: "Session over, payment not yet received (awaiting_payment).",
        shape: Shape::Page,
        days: Days::Any,
        statuses: |s| s == Status::AwaitingPayment,
    },
    View {
        name: "active_sessions",
        doc: "Under way: started and the session not yet over (in_progress to session_in_progress).",
        shape: Shape::Page,
        days: Days::Any,
        statuses: Status::is_under_way,
    },
    View {
        name: "pickup_requests",
        doc: "Therapists waiting to be picked up (pickup_requested, driver_assigned_pickup).",
        shape: Shape::Page,
        days: Days::Any,
        statuses: Status::awaits_pickup,
    },
];

/// The view named `name`.
pub fn find(name: &str) -> Option<&'static View> {
    VIEWS.iter().find(|v| v.name == name)
}

/// The Monday of the week of `day`: `by_week`'s default start.
pub fn monday_of(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

impl View {
    /// The statuses it holds, in workflow order.
    pub fn status_list(&self) -> Vec<Status> {
        Status::ALL.into_iter().filter(|s| (self.statuses)(*s)).collect()
    }

    /// Its conditions as SQL on the appointment alias `a` with their named parameters,
    /// for the clinic's `today` and, for `Days::Week`, the week's first day.
    pub fn sql(&self, today: NaiveDate, week_start: NaiveDate) -> Vec<(String, Vec<(&'static str, String)>)> {
        let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
        let mut out = Vec::new();
        let statuses = self.status_list();
        if statuses.len() < Status::ALL.len() {
            // Only names from the fixed list reach the SQL text.
            let names: Vec<String> = statuses.iter().map(|s| format!("'{}'", s.as_str())).collect();
            out.push((format!("a.status IN ({})", names.join(", ")), Vec::new()));
        }
        match self.days {
            Days::Any => {}
            Days::Today => out.push(("a.date = :view_day".into(), vec![(":view_day", day(today))])),
            Days::AfterToday => out.push(("a.date > :view_day".into(), vec![(":view_day", day(today))])),
            Days::Week => out.push((
                "a.date BETWEEN :view_from AND :view_to".into(),
                vec![(":view_from", day(week_start)), (":view_to", day(week_start + Duration::days(6)))],
            )),
        }
        out
    }
}

/// The views as a Markdown table (docs/API.md, checked by a test).
pub fn markdown_table() -> String {
    let mut s = String::from("| path | answer | holds |\n| --- | --- | --- |\n");
    for v in VIEWS {
        let shape = match v.shape {
            Shape::Plain => "plain array",
            Shape::Page => "page",
        };
        s.push_str(&format!("| `appointments/{}/` | {shape} | {} |\n", v.name, v.doc));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_list_the_views() {
        crate::scheduling::workflow::tests::check_generated_section("docs/API.md", "views", &markdown_table(), "views");
    }

    #[test]
    fn each_view_is_a_workflow_group() {
        let names = |v: &str| find(v).unwrap().status_list().iter().map(|s| s.as_str()).collect::<Vec<_>>();
        assert_eq!(names("rejected"), ["rejected"]);
        assert_eq!(names("pending"), ["pending"]);
        assert_eq!(names("timeout"), ["auto_cancelled"]);
        assert_eq!(names("awaiting_payment"), ["awaiting_payment"]);
        assert_eq!(
            names("active_sessions"),
            ["in_progress", "journey", "arrived", "dropped_off", "session_in_progress"]
        );
        assert_eq!(names("pickup_requests"), ["pickup_requested", "driver_assigned_pickup"]);
        let upcoming = names("upcoming");
        assert!(upcoming.contains(&"pending") && upcoming.contains(&"awaiting_payment"));
        assert!(!upcoming.iter().any(|s| ["rejected", "cancelled", "auto_cancelled", "completed"].contains(s)));
        assert_eq!(names("today").len(), Status::ALL.len());
        assert!(find("teleport").is_none());
        // A view name never reads as an id (`appointments/{id}/` comes first in the table).
        assert!(VIEWS.iter().all(|v| v.name.parse::<i64>().is_err()));
    }

    #[test]
    fn a_week_is_seven_days_from_its_start() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(monday_of(d("2026-12-05")), d("2026-11-30"), "a Saturday");
        assert_eq!(monday_of(d("2026-11-30")), d("2026-11-30"), "a Monday");
        let sql = find("by_week").unwrap().sql(d("2026-12-05"), d("2026-12-31"));
        assert_eq!(sql.len(), 1, "any status: no status condition");
        assert_eq!(sql[0].1, [(":view_from", "2026-12-31".to_string()), (":view_to", "2027-01-06".to_string())]);
    }
}
