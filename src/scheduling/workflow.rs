//! The appointment workflow: the ONE transition table (SPEC §4). Each row says which
//! action moves an appointment from which statuses to which, who may take it, which
//! request fields it needs, and which timestamp column it sets. The REST actions
//! (`api.rs`), every appointment's `allowed_actions_by_role` / `allowed_actions`
//! (`appointment.rs`), the OpenAPI document and `docs/WORKFLOW.md` (checked by a test)
//! all read this table; nothing else decides what may happen next.

/// Who may take an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Operator,
    /// One of the appointment's assigned therapists.
    Therapist,
    /// The appointment's assigned driver.
    Driver,
    /// An assigned therapist or the assigned driver.
    TherapistOrDriver,
    /// Only the server itself (auto-cancel); never offered to a caller.
    Server,
}

impl Who {
    pub fn allows_role(self, role: &str) -> bool {
        match self {
            Who::Operator => role == "operator",
            Who::Therapist => role == "therapist",
            Who::Driver => role == "driver",
            Who::TherapistOrDriver => role == "therapist" || role == "driver",
            Who::Server => false,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Who::Operator => "operator",
            Who::Therapist => "assigned therapist",
            Who::Driver => "assigned driver",
            Who::TherapistOrDriver => "assigned therapist or driver",
            Who::Server => "the server",
        }
    }
}

/// Where an action leads. `when` is `None`, or the value the action's `choice` field
/// must have for this outcome.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    pub when: Option<&'static str>,
    pub to: &'static str,
    /// The workflow timestamp column set to now, if any.
    pub stamp: Option<&'static str>,
}

#[derive(Debug, Clone, Copy)]
pub struct Transition {
    pub action: &'static str,
    pub who: Who,
    pub from: &'static [&'static str],
    pub outcomes: &'static [Outcome],
    /// Request fields the action needs.
    pub required: &'static [&'static str],
    /// Request fields the action takes if given.
    pub optional: &'static [&'static str],
    /// The required field whose value picks the outcome (`review_rejection`'s `decision`).
    pub choice: Option<&'static str>,
}

macro_rules! go {
    ($to:literal, $stamp:literal) => {
        &[Outcome { when: None, to: $to, stamp: Some($stamp) }]
    };
}

/// Statuses from which an operator may still cancel: everything before `completed` in
/// workflow order. A completed (paid) session is history; its transport steps finish on
/// their own.
const CANCELLABLE: &[&str] = STATUSES.split_at(COMPLETED_INDEX).0;
/// Where `completed` stands in `STATUSES` (checked by a test).
const COMPLETED_INDEX: usize = 10;

pub const TRANSITIONS: &[Transition] = &[
    Transition {
        action: "therapist_confirm",
        who: Who::Therapist,
        from: &["pending"],
        outcomes: go!("therapist_confirmed", "therapist_confirmed_at"),
        required: &[],
        optional: &[],
        choice: None,
    },
    Transition {
        action: "reject",
        who: Who::TherapistOrDriver,
        from: &["pending"],
        outcomes: go!("rejected", "rejected_at"),
        required: &["rejection_reason"],
        optional: &[],
        choice: None,
    },
    Transition {
        action: "review_rejection",
        who: Who::Operator,
        from: &["rejected"],
        outcomes: &[
            Outcome { when: Some("accept"), to: "cancelled", stamp: Some("cancelled_at") },
            Outcome { when: Some("deny"), to: "pending", stamp: None },
        ],
        required: &["decision"],
        optional: &[],
        choice: Some("decision"),
    },
    Transition {
        action: "driver_confirm",
        who: Who::Driver,
        from: &["therapist_confirmed"],
        outcomes: go!("driver_confirmed", "driver_confirmed_at"),
        required: &[],
        optional: &[],
        choice: None,
    },
    Transition {
        action: "start_appointment",
        who: Who::Operator,
        from: &["driver_confirmed"],
        outcomes: go!("in_progress", "started_at"),
        required: &[],
        optional: &[],
        choice: None,
    },
    Transition {
        action: "start_journey",
        who: Who::Driver,
        from: &["in_progress"],
        outcomes: go!("journey", "journey_started_at"),
        required: &[],
        optional: &[],
        choice: None,
    },
    Transition {
        action: "arrive_at_location",
        who: Who::Driver,
        from: &["journey"],
        outcomes: go!("arrived", "arrived_at"),
        required: &[],
        optional: &[],
        choice: None,
    },
    Transition {
        action: "drop_off_therapist",
        who: Who::Driver,
        from: &["arrived"],
        outcomes: go!("dropped_off", "dropped_off_at"),
        required: &[],
        optional: &[],
        choice: None,
    },
    Transition {
        action: "start_session",
        who: Who::Therapist,
        from: &["dropped_off"],
        outcomes: go!("session_in_progress", "session_started_at"),
        required: &[],
        optional: &[],
        choice: None,
    },
    Transition {
        action: "mark_awaiting_payment",
        who: Who::Therapist,
        from: &["session_in_progress"],
        outcomes: go!("awaiting_payment", "awaiting_payment_at"),
        required: &[],
        optional: &[],
        choice: None,
    },
    Transition {
        action: "mark_payment_received",
        who: Who::Operator,
        from: &["awaiting_payment"],
        outcomes: go!("completed", "payment_received_at"),
        required: &["payment_method", "payment_amount"],
        optional: &[],
        choice: None,
    },
    Transition {
        action: "request_pickup",
        who: Who::Therapist,
        from: &["completed"],
        outcomes: go!("pickup_requested", "pickup_requested_at"),
        required: &[],
        optional: &["pickup_urgency"],
        choice: None,
    },
    Transition {
        action: "assign_pickup",
        who: Who::Operator,
        from: &["pickup_requested"],
        outcomes: go!("driver_assigned_pickup", "pickup_assigned_at"),
        required: &["driver"],
        optional: &[],
        choice: None,
    },
    Transition {
        action: "confirm_pickup",
        who: Who::Driver,
        from: &["driver_assigned_pickup"],
        outcomes: go!("return_journey", "return_journey_at"),
        required: &[],
        optional: &[],
        choice: None,
    },
    Transition {
        action: "complete_return_journey",
        who: Who::Driver,
        from: &["return_journey"],
        outcomes: go!("transport_completed", "transport_completed_at"),
        required: &[],
        optional: &[],
        choice: None,
    },
    Transition {
        action: "cancel",
        who: Who::Operator,
        from: CANCELLABLE,
        outcomes: go!("cancelled", "cancelled_at"),
        required: &[],
        optional: &["reason"],
        choice: None,
    },
    Transition {
        action: AUTO_CANCEL,
        who: Who::Server,
        from: &["pending"],
        outcomes: go!("auto_cancelled", "cancelled_at"),
        required: &[],
        optional: &[],
        choice: None,
    },
];

/// The server's own transition for overdue `pending` appointments (not a REST action).
pub const AUTO_CANCEL: &str = "auto_cancel";

/// Every status an appointment can have, in workflow order.
pub const STATUSES: &[&str] = &[
    "pending",
    "therapist_confirmed",
    "rejected",
    "driver_confirmed",
    "in_progress",
    "journey",
    "arrived",
    "dropped_off",
    "session_in_progress",
    "awaiting_payment",
    "completed",
    "pickup_requested",
    "driver_assigned_pickup",
    "return_journey",
    "transport_completed",
    "cancelled",
    "auto_cancelled",
];

/// Statuses that no longer hold anyone's time: they never conflict with a new booking and
/// are not "active" for a therapist's or driver's board. `rejected` waits for the
/// operator's review; if the operator denies it, it is pending again and is re-checked.
pub const INACTIVE: &[&str] = &["rejected", "cancelled", "auto_cancelled", "transport_completed"];

pub fn is_active(status: &str) -> bool {
    !INACTIVE.contains(&status)
}

/// The row for `action` a caller may request over REST (`auto_cancel` is not one).
pub fn find(action: &str) -> Option<&'static Transition> {
    TRANSITIONS.iter().find(|t| t.action == action && t.who != Who::Server)
}

/// The REST actions, in table order.
pub fn actions() -> impl Iterator<Item = &'static Transition> {
    TRANSITIONS.iter().filter(|t| t.who != Who::Server)
}

/// What staff of `role`, assigned to an appointment in `status`, may do next.
pub fn allowed_for_role(status: &str, role: &str) -> Vec<&'static str> {
    actions().filter(|t| t.from.contains(&status) && t.who.allows_role(role)).map(|t| t.action).collect()
}

/// The transition table as a Markdown table (for docs/WORKFLOW.md, checked by a test).
pub fn markdown_table() -> String {
    let mut s = String::from(
        "| action | who | from | to | request fields | timestamp set |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    for t in TRANSITIONS {
        let from = if t.from == CANCELLABLE { "any not yet completed".to_string() } else { t.from.join(", ") };
        let to: Vec<String> = t
            .outcomes
            .iter()
            .map(|o| match o.when {
                Some(w) => format!("{} (`{}`: `{w}`)", o.to, t.choice.unwrap_or("")),
                None => o.to.to_string(),
            })
            .collect();
        let mut fields: Vec<String> = t.required.iter().map(|f| format!("`{f}`")).collect();
        fields.extend(t.optional.iter().map(|f| format!("`{f}` (optional)")));
        let stamps: Vec<&str> = t.outcomes.iter().filter_map(|o| o.stamp).collect();
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            t.action,
            t.who.describe(),
            from,
            to.join(" / "),
            if fields.is_empty() { "—".into() } else { fields.join(", ") },
            if stamps.is_empty() { "—".into() } else { stamps.join(" / ") },
        ));
    }
    s
}

#[cfg(test)]
mod tests {

    #[test]
    fn cancellable_is_everything_before_completed() {
        assert_eq!(STATUSES[COMPLETED_INDEX], "completed");
        assert_eq!(CANCELLABLE.last(), Some(&"awaiting_payment"));
    }

    use super::*;

    #[test]
    fn every_status_is_reachable_and_known() {
        for t in TRANSITIONS {
            for f in t.from {
                assert!(STATUSES.contains(f), "{} from unknown {f}", t.action);
            }
            for o in t.outcomes {
                assert!(STATUSES.contains(&o.to), "{} to unknown {}", t.action, o.to);
            }
        }
        for s in STATUSES.iter().skip(1) {
            assert!(TRANSITIONS.iter().any(|t| t.outcomes.iter().any(|o| o.to == *s)), "{s} unreachable");
        }
    }

    #[test]
    fn docs_show_the_table() {
        // `UPDATE_DOCS=1 cargo test --lib workflow` rewrites the table between the markers.
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/WORKFLOW.md");
        let doc = std::fs::read_to_string(path).unwrap();
        let (begin, end) = ("<!-- table:begin -->\n", "<!-- table:end -->");
        let (head, rest) = doc.split_once(begin).expect("begin marker");
        let (_, tail) = rest.split_once(end).expect("end marker");
        let fresh = format!("{head}{begin}{}{end}{tail}", markdown_table());
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(path, &fresh).unwrap();
            return;
        }
        assert_eq!(doc, fresh, "docs/WORKFLOW.md is out of date; run UPDATE_DOCS=1 cargo test --lib workflow");
    }

    #[test]
    fn roles_see_their_buttons() {
        assert_eq!(allowed_for_role("pending", "therapist"), vec!["therapist_confirm", "reject"]);
        assert_eq!(allowed_for_role("pending", "driver"), vec!["reject"]);
        assert_eq!(allowed_for_role("pending", "operator"), vec!["cancel"]);
        assert!(allowed_for_role("auto_cancelled", "operator").is_empty());
    }
}
