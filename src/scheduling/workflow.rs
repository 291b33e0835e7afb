//! The appointment workflow as data: the ONE transition table (SPEC §4) and the statuses
//! it moves between. Each row says which action moves an appointment from which statuses
//! to which, who may take it, which request fields (inputs) it reads, of which kind, into
//! which column, and which timestamp column it sets; each status knows its label, tone
//! and groups (active, finished, cancellable, on a staff board). The REST actions
//! (`booking::step` reads every input generically from its row), every appointment's
//! `allowed_actions_by_role` / `allowed_actions` (`appointment`), the OpenAPI
//! document, `GET /api/scheduling/workflow/` (which the web UI builds its buttons, forms
//! and filters from) and `docs/WORKFLOW.md` (checked by a test) all read this table;
//! nothing else decides what may happen next.

use super::validate::{MAX_SHORT, MAX_TEXT};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Every status an appointment can have, declared in workflow order (`Status::ALL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    TherapistConfirmed,
    Rejected,
    DriverConfirmed,
    InProgress,
    Journey,
    Arrived,
    DroppedOff,
    SessionInProgress,
    AwaitingPayment,
    Completed,
    PickupRequested,
    DriverAssignedPickup,
    ReturnJourney,
    TransportCompleted,
    Cancelled,
    AutoCancelled,
}

/// How a status is shown: the badge colour class (`tone-<tone>` in web/app.css).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    Wait,
    Info,
    Go,
    Done,
    Alert,
    Bad,
    Off,
}

impl Status {
    /// Every status, in workflow order (the declaration order: `s as usize` is its index).
    pub const ALL: [Status; 17] = [
        Status::Pending,
        Status::TherapistConfirmed,
        Status::Rejected,
        Status::DriverConfirmed,
        Status::InProgress,
        Status::Journey,
        Status::Arrived,
        Status::DroppedOff,
        Status::SessionInProgress,
        Status::AwaitingPayment,
        Status::Completed,
        Status::PickupRequested,
        Status::DriverAssignedPickup,
        Status::ReturnJourney,
        Status::TransportCompleted,
        Status::Cancelled,
        Status::AutoCancelled,
    ];

    /// The wire name (`status` in the JSON, the database column).
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::TherapistConfirmed => "therapist_confirmed",
            Status::Rejected => "rejected",
            Status::DriverConfirmed => "driver_confirmed",
            Status::InProgress => "in_progress",
            Status::Journey => "journey",
            Status::Arrived => "arrived",
            Status::DroppedOff => "dropped_off",
            Status::SessionInProgress => "session_in_progress",
            Status::AwaitingPayment => "awaiting_payment",
            Status::Completed => "completed",
            Status::PickupRequested => "pickup_requested",
            Status::DriverAssignedPickup => "driver_assigned_pickup",
            Status::ReturnJourney => "return_journey",
            Status::TransportCompleted => "transport_completed",
            Status::Cancelled => "cancelled",
            Status::AutoCancelled => "auto_cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// What people read, and the badge's tone.
    pub const fn label(self) -> (&'static str, Tone) {
        match self {
            Status::Pending => ("Waiting for therapist", Tone::Wait),
            Status::TherapistConfirmed => ("Therapist confirmed", Tone::Info),
            Status::Rejected => ("Rejected", Tone::Bad),
            Status::DriverConfirmed => ("Driver confirmed", Tone::Info),
            Status::InProgress => ("Started", Tone::Go),
            Status::Journey => ("On the way", Tone::Go),
            Status::Arrived => ("Arrived", Tone::Go),
            Status::DroppedOff => ("Therapist dropped off", Tone::Go),
            Status::SessionInProgress => ("Session in progress", Tone::Go),
            Status::AwaitingPayment => ("Awaiting payment", Tone::Wait),
            Status::Completed => ("Completed", Tone::Done),
            Status::PickupRequested => ("Pickup requested", Tone::Alert),
            Status::DriverAssignedPickup => ("Pickup driver assigned", Tone::Info),
            Status::ReturnJourney => ("Return journey", Tone::Go),
            Status::TransportCompleted => ("Transport completed", Tone::Done),
            Status::Cancelled => ("Cancelled", Tone::Off),
            Status::AutoCancelled => ("Cancelled: no answer in time", Tone::Off),
        }
    }

    /// A different label for one role's screen: the one being waited for is told so.
    pub const fn label_for_role(self, role: &str) -> Option<&'static str> {
        match (self, role.as_bytes()) {
            (Status::Pending, b"therapist") => Some("Needs your answer"),
            _ => None,
        }
    }

    /// Does it still hold anyone's time? Active appointments conflict with a new booking
    /// and are on their therapists' and drivers' boards. `rejected` waits for the
    /// operator's review; if the operator denies it, it is pending again and re-checked.
    pub const fn is_active(self) -> bool {
        !matches!(self, Status::Rejected | Status::Cancelled | Status::AutoCancelled | Status::TransportCompleted)
    }

    /// Is the appointment over (paid, or cancelled)? The UI shows these as finished:
    /// no edit button, apart from the active ones.
    pub const fn is_finished(self) -> bool {
        matches!(self, Status::Completed | Status::TransportCompleted | Status::Cancelled | Status::AutoCancelled)
    }

    /// May an operator still cancel it? Everything before `completed` in workflow order: a
    /// completed (paid) session is history; its transport steps finish on their own.
    pub const fn is_cancellable(self) -> bool {
        (self as usize) < Status::Completed as usize
    }

    /// Is it waiting for its therapists' answer? Every booking starts here, and a denied
    /// rejection comes back here (the board counts these as "waiting for a therapist").
    pub const fn awaits_therapist(self) -> bool {
        matches!(self, Status::Pending)
    }

    /// Is the booking still being accepted by its staff: active and not yet started
    /// (`pending`, `therapist_confirmed`, `driver_confirmed`)? An appointment's
    /// `pending_acceptances` lists who has yet to confirm only then.
    pub const fn is_before_start(self) -> bool {
        self.is_active() && (self as usize) < Status::InProgress as usize
    }

    /// Is it under way: started, and the session not yet over (`in_progress` …
    /// `session_in_progress`)? The `active_sessions/` list.
    pub const fn is_under_way(self) -> bool {
        (self as usize) >= Status::InProgress as usize && (self as usize) <= Status::SessionInProgress as usize
    }

    /// Is the therapist waiting to be picked up after the session: asked for
    /// (`pickup_requested`) or a driver assigned who has not yet confirmed
    /// (`driver_assigned_pickup`)? The `pickup_requests/` list.
    pub const fn awaits_pickup(self) -> bool {
        matches!(self, Status::PickupRequested | Status::DriverAssignedPickup)
    }

    /// Is an appointment in this status on its therapists' and driver's live board (the
    /// socket's `initial_data`, `?board=1`)? `day_passed`: its date is before today. A
    /// paid session stays there for the rest of its day.
    pub const fn on_staff_board(self, day_passed: bool) -> bool {
        self.is_active() && !(day_passed && matches!(self, Status::Completed))
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Status {
    type Err = ();
    fn from_str(s: &str) -> Result<Status, ()> {
        Status::parse(s).ok_or(())
    }
}

const fn names<const N: usize>(list: [Status; N]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < N {
        out[i] = list[i].as_str();
        i += 1;
    }
    out
}

const fn count_inactive() -> usize {
    let (mut n, mut i) = (0, 0);
    while i < Status::ALL.len() {
        if !Status::ALL[i].is_active() {
            n += 1;
        }
        i += 1;
    }
    n
}

const fn inactive() -> [Status; count_inactive()] {
    let mut out = [Status::Pending; count_inactive()];
    let (mut n, mut i) = (0, 0);
    while i < Status::ALL.len() {
        if !Status::ALL[i].is_active() {
            out[n] = Status::ALL[i];
            n += 1;
        }
        i += 1;
    }
    out
}

/// Every status's wire name, in workflow order.
pub const STATUSES: &[&str] = &names(Status::ALL);

/// The wire names of the statuses that are not `is_active` (for SQL `NOT IN (…)`).
pub const INACTIVE: &[&str] = &names(inactive());

/// Statuses from which an operator may still cancel (`Status::is_cancellable`).
const CANCELLABLE: &[Status] = Status::ALL.split_at(Status::Completed as usize).0;

pub fn is_active(status: &str) -> bool {
    Status::parse(status).is_none_or(Status::is_active)
}

/// A workflow action: a REST `POST appointments/{id}/<action>/`, or the server's own
/// `auto_cancel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    TherapistConfirm,
    Reject,
    ReviewRejection,
    DriverConfirm,
    StartAppointment,
    StartJourney,
    ArriveAtLocation,
    DropOffTherapist,
    StartSession,
    MarkAwaitingPayment,
    MarkPaymentReceived,
    RequestPickup,
    AssignPickup,
    ConfirmPickup,
    RejectPickup,
    CompleteReturnJourney,
    Cancel,
    AutoCancel,
}

impl Action {
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::TherapistConfirm => "therapist_confirm",
            Action::Reject => "reject",
            Action::ReviewRejection => "review_rejection",
            Action::DriverConfirm => "driver_confirm",
            Action::StartAppointment => "start_appointment",
            Action::StartJourney => "start_journey",
            Action::ArriveAtLocation => "arrive_at_location",
            Action::DropOffTherapist => "drop_off_therapist",
            Action::StartSession => "start_session",
            Action::MarkAwaitingPayment => "mark_awaiting_payment",
            Action::MarkPaymentReceived => "mark_payment_received",
            Action::RequestPickup => "request_pickup",
            Action::AssignPickup => "assign_pickup",
            Action::ConfirmPickup => "confirm_pickup",
            Action::RejectPickup => "reject_pickup",
            Action::CompleteReturnJourney => "complete_return_journey",
            Action::Cancel => "cancel",
            Action::AutoCancel => "auto_cancel",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        TRANSITIONS.iter().map(|t| t.action).find(|a| a.as_str() == s)
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Action {
    type Err = ();
    fn from_str(s: &str) -> Result<Action, ()> {
        Action::parse(s).ok_or(())
    }
}

/// The server's own transition for overdue `pending` appointments (not a REST action).
pub const AUTO_CANCEL: Action = Action::AutoCancel;

/// Who may take an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
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

/// The roles, with what people read.
pub const ROLES: &[(&str, &str)] = &[("operator", "Operator"), ("therapist", "Therapist"), ("driver", "Driver")];

/// One value a `Kind::Choice` input may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
}

/// What kind of value an input is, and how it is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string of at most `max` characters (trimmed); `multiline` is a hint for forms.
    Text { max: usize, multiline: bool },
    /// An amount of money: a number or a string such as "1500.00"; stored in cents.
    Money,
    /// One of the listed values.
    Choice(&'static [Choice]),
    /// The id of an active staff member of this role.
    Staff(&'static str),
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Text { .. } => "text",
            Kind::Money => "money",
            Kind::Choice(_) => "choice",
            Kind::Staff(_) => "staff",
        }
    }

    /// The choice values (empty unless `Choice`).
    pub fn values(self) -> Vec<&'static str> {
        match self {
            Kind::Choice(c) => c.iter().map(|c| c.value).collect(),
            _ => Vec::new(),
        }
    }
}

/// Where an input's value goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// This appointment column.
    Column(&'static str),
    /// It picks the outcome (`Outcome::when`); stored nowhere.
    Outcome,
}

/// A request field an action reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Input {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    pub target: Target,
    /// Used when the field is absent (an optional input).
    pub default: Option<&'static str>,
    /// The form's label.
    pub label: &'static str,
    /// What the form says when a required input is left empty.
    pub hint: Option<&'static str>,
    /// Appointment members a form pre-fills the input from, first non-empty wins.
    pub prefill: &'static [&'static str],
    /// Other names the field is read by when `name` is absent (the clinic's original
    /// frontend's names, e.g. `action` for `decision`).
    pub aliases: &'static [&'static str],
    /// Written to its column only when the outcome is the one this value of the row's
    /// outcome input picks (else read, checked and not stored).
    pub only_when: Option<&'static str>,
}

const fn input(name: &'static str, kind: Kind, target: Target, label: &'static str) -> Input {
    Input {
        name,
        kind,
        required: true,
        target,
        default: None,
        label,
        hint: None,
        prefill: &[],
        aliases: &[],
        only_when: None,
    }
}

/// Where an action leads. `when` is `None`, or the value the `Target::Outcome` input must
/// have for this outcome.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    pub when: Option<&'static str>,
    pub to: Status,
    /// The workflow timestamp column set to now, if any.
    pub stamp: Option<&'static str>,
}

#[derive(Debug, Clone, Copy)]
pub struct Transition {
    pub action: Action,
    pub who: Who,
    pub from: &'static [Status],
    pub outcomes: &'static [Outcome],
    /// The request fields it reads, each checked by its kind and written to its target.
    pub inputs: &'static [Input],
    /// Columns it sets to a fixed value besides its inputs.
    pub sets: &'static [(&'static str, &'static str)],
    /// Each assigned therapist takes it once; the outcome applies only when the last one
    /// has (`therapist_confirm` of a group booking). Until then the status stays.
    pub per_therapist: bool,
    /// The button's label.
    pub label: &'static str,
    /// Is it destructive (a red button, a red submit)?
    pub danger: bool,
    /// A form's title and submit label instead of `label`.
    pub title: Option<&'static str>,
    /// A sentence a form shows above its inputs.
    pub note: Option<&'static str>,
    /// Appointment members a form shows (member, label) so the person can decide.
    pub shows: &'static [(&'static str, &'static str)],
    /// Other names the action is requested by (`POST appointments/{id}/<alias>/`): the
    /// clinic's original frontend's names for the same step. `find` honours them; the
    /// answer and `allowed_actions` use the action's own name.
    pub aliases: &'static [&'static str],
}

impl Transition {
    pub fn input(&self, name: &str) -> Option<&'static Input> {
        self.inputs.iter().find(|i| i.name == name)
    }

    /// Every name the action is requested by: its own, then its aliases.
    pub fn names(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.action.as_str()).chain(self.aliases.iter().copied())
    }

    pub fn required(&self) -> impl Iterator<Item = &'static str> {
        self.inputs.iter().filter(|i| i.required).map(|i| i.name)
    }

    pub fn optional(&self) -> impl Iterator<Item = &'static str> {
        self.inputs.iter().filter(|i| !i.required).map(|i| i.name)
    }
}

/// A row with no inputs: `action` by `who` from `from` to `to`, setting `stamp`.
const fn step(
    action: Action,
    who: Who,
    from: &'static [Status],
    outcomes: &'static [Outcome],
    label: &'static str,
) -> Transition {
    Transition {
        action,
        who,
        from,
        outcomes,
        inputs: &[],
        sets: &[],
        per_therapist: false,
        label,
        danger: false,
        title: None,
        note: None,
        shows: &[],
        aliases: &[],
    }
}

macro_rules! go {
    ($to:ident, $stamp:literal) => {
        &[Outcome { when: None, to: Status::$to, stamp: Some($stamp) }]
    };
}

pub const PAYMENT_METHODS: &[Choice] = &[
    Choice { value: "cash", label: "Cash" },
    Choice { value: "card", label: "Card" },
    Choice { value: "gcash", label: "GCash" },
    Choice { value: "maya", label: "Maya" },
    Choice { value: "bank_transfer", label: "Bank transfer" },
    Choice { value: "other", label: "Other" },
];

const fn values<const N: usize>(choices: &[Choice]) -> [&'static str; N] {
    assert!(choices.len() == N);
    let mut out = [""; N];
    let mut i = 0;
    while i < N {
        out[i] = choices[i].value;
        i += 1;
    }
    out
}

/// The payment methods' wire values (an appointment's `payment_method` is one of them).
pub const PAYMENT_METHOD_VALUES: &[&str] = &values::<6>(PAYMENT_METHODS);

/// An appointment's `payment_status`: nothing paid yet, part paid, paid
/// (`mark_payment_received` sets it), refunded. Operators may also set it when booking or
/// editing.
pub const PAYMENT_STATUSES: &[Choice] = &[
    Choice { value: "pending", label: "Not paid yet" },
    Choice { value: "partial", label: "Partly paid" },
    Choice { value: "paid", label: "Paid" },
    Choice { value: "refunded", label: "Refunded" },
];

/// The clinic's original system's names for `PAYMENT_STATUSES` that differ from ours
/// (its `unpaid` is our `pending`): read on input and on import, never answered.
pub const PAYMENT_STATUS_ALIASES: &[(&str, &str)] = &[("unpaid", "pending")];

/// Our `payment_status` for `value`, one of ours or an alias of one (`PAYMENT_STATUS_ALIASES`).
pub fn payment_status(value: &str) -> Option<&'static str> {
    PAYMENT_STATUSES
        .iter()
        .map(|c| c.value)
        .find(|v| *v == value)
        .or_else(|| PAYMENT_STATUS_ALIASES.iter().find(|(alias, _)| *alias == value).map(|(_, ours)| *ours))
}

pub const PICKUP_URGENCIES: &[Choice] =
    &[Choice { value: "normal", label: "Normal" }, Choice { value: "urgent", label: "Urgent" }];

pub const REVIEW_DECISIONS: &[Choice] = &[
    Choice { value: "accept", label: "Accept: cancel the appointment" },
    Choice { value: "deny", label: "Deny: send it back as pending" },
];

use Action as A;
use Status as S;

pub const TRANSITIONS: &[Transition] = &[
    Transition {
        per_therapist: true,
        ..step(
            A::TherapistConfirm,
            Who::Therapist,
            &[S::Pending],
            go!(TherapistConfirmed, "therapist_confirmed_at"),
            "Confirm",
        )
    },
    Transition {
        inputs: &[Input {
            hint: Some("Say briefly why, so the operator can find someone else."),
            ..input(
                "rejection_reason",
                Kind::Text { max: MAX_TEXT, multiline: true },
                Target::Column("rejection_reason"),
                "Why can you not take it?",
            )
        }],
        danger: true,
        ..step(A::Reject, Who::TherapistOrDriver, &[S::Pending], go!(Rejected, "rejected_at"), "Reject")
    },
    Transition {
        inputs: &[
            Input {
                default: Some("deny"),
                aliases: &["action"],
                ..input("decision", Kind::Choice(REVIEW_DECISIONS), Target::Outcome, "Decision")
            },
            // Why the operator cancels it; a denial keeps the appointment, so no reason
            // is stored for it.
            Input {
                required: false,
                only_when: Some("accept"),
                ..input(
                    "reason",
                    Kind::Text { max: MAX_SHORT * 4, multiline: false },
                    Target::Column("cancellation_reason"),
                    "Reason for cancelling (optional)",
                )
            },
        ],
        shows: &[("rejection_reason", "Reason given")],
        ..step(
            A::ReviewRejection,
            Who::Operator,
            &[S::Rejected],
            &[
                Outcome { when: Some("accept"), to: S::Cancelled, stamp: Some("cancelled_at") },
                Outcome { when: Some("deny"), to: S::Pending, stamp: None },
            ],
            "Review rejection",
        )
    },
    step(
        A::DriverConfirm,
        Who::Driver,
        &[S::TherapistConfirmed],
        go!(DriverConfirmed, "driver_confirmed_at"),
        "Confirm driving",
    ),
    step(A::StartAppointment, Who::Operator, &[S::DriverConfirmed], go!(InProgress, "started_at"), "Start"),
    step(A::StartJourney, Who::Driver, &[S::InProgress], go!(Journey, "journey_started_at"), "Start journey"),
    step(A::ArriveAtLocation, Who::Driver, &[S::Journey], go!(Arrived, "arrived_at"), "Arrived at client"),
    step(A::DropOffTherapist, Who::Driver, &[S::Arrived], go!(DroppedOff, "dropped_off_at"), "Therapist dropped off"),
    step(
        A::StartSession,
        Who::Therapist,
        &[S::DroppedOff],
        go!(SessionInProgress, "session_started_at"),
        "Start session",
    ),
    Transition {
        aliases: &["complete"],
        ..step(
            A::MarkAwaitingPayment,
            Who::Therapist,
            &[S::SessionInProgress],
            go!(AwaitingPayment, "awaiting_payment_at"),
            "Session done: awaiting payment",
        )
    },
    Transition {
        inputs: &[
            Input {
                default: Some("cash"),
                prefill: &["payment_method"],
                ..input("payment_method", Kind::Choice(PAYMENT_METHODS), Target::Column("payment_method"), "Method")
            },
            Input {
                prefill: &["total_price", "payment_amount"],
                ..input("payment_amount", Kind::Money, Target::Column("payment_amount_cents"), "Amount")
            },
        ],
        sets: &[("payment_status", "paid")],
        aliases: &["mark_completed"],
        ..step(
            A::MarkPaymentReceived,
            Who::Operator,
            &[S::AwaitingPayment],
            go!(Completed, "payment_received_at"),
            "Payment received",
        )
    },
    Transition {
        inputs: &[
            Input {
                required: false,
                default: Some("normal"),
                ..input(
                    "pickup_urgency",
                    Kind::Choice(PICKUP_URGENCIES),
                    Target::Column("pickup_urgency"),
                    "How urgent?",
                )
            },
            Input {
                required: false,
                ..input(
                    "pickup_notes",
                    Kind::Text { max: MAX_TEXT, multiline: true },
                    Target::Column("pickup_notes"),
                    "Notes for the driver (optional)",
                )
            },
        ],
        ..step(
            A::RequestPickup,
            Who::Therapist,
            &[S::Completed],
            go!(PickupRequested, "pickup_requested_at"),
            "Request pickup",
        )
    },
    Transition {
        inputs: &[Input {
            hint: Some("Choose the driver who will pick the therapist up."),
            prefill: &["driver"],
            ..input("driver", Kind::Staff("driver"), Target::Column("driver_id"), "Pickup driver")
        }],
        ..step(
            A::AssignPickup,
            Who::Operator,
            &[S::PickupRequested],
            go!(DriverAssignedPickup, "pickup_assigned_at"),
            "Assign pickup driver",
        )
    },
    step(
        A::ConfirmPickup,
        Who::Driver,
        &[S::DriverAssignedPickup],
        go!(ReturnJourney, "return_journey_at"),
        "Confirm pickup",
    ),
    // The assigned pickup driver cannot go: the pickup is the operator's to assign again.
    Transition {
        inputs: &[Input {
            required: false,
            ..input(
                "reason",
                Kind::Text { max: MAX_SHORT * 4, multiline: false },
                Target::Column("pickup_rejection_reason"),
                "Why can you not pick up? (optional)",
            )
        }],
        danger: true,
        title: Some("Cannot pick up"),
        note: Some("The operators are told at once, to assign another driver."),
        ..step(
            A::RejectPickup,
            Who::Driver,
            &[S::DriverAssignedPickup],
            &[Outcome { when: None, to: S::PickupRequested, stamp: None }],
            "Cannot pick up…",
        )
    },
    step(
        A::CompleteReturnJourney,
        Who::Driver,
        &[S::ReturnJourney],
        go!(TransportCompleted, "transport_completed_at"),
        "Back at base",
    ),
    Transition {
        inputs: &[Input {
            required: false,
            ..input(
                "reason",
                Kind::Text { max: MAX_SHORT * 4, multiline: false },
                Target::Column("cancellation_reason"),
                "Reason (optional)",
            )
        }],
        danger: true,
        title: Some("Cancel appointment"),
        note: Some("The therapist and driver are told at once. This cannot be undone."),
        ..step(A::Cancel, Who::Operator, CANCELLABLE, go!(Cancelled, "cancelled_at"), "Cancel…")
    },
    step(A::AutoCancel, Who::Server, &[S::Pending], go!(AutoCancelled, "cancelled_at"), "Cancelled automatically"),
];

/// The workflow timestamp columns a card may show as "what happened last", with their
/// words (ties go to the earlier line).
pub const STAMP_LABELS: &[(&str, &str)] = &[
    ("transport_completed_at", "Back at base"),
    ("return_journey_at", "Return started"),
    ("pickup_assigned_at", "Pickup driver assigned"),
    ("pickup_requested_at", "Pickup requested"),
    ("payment_received_at", "Paid"),
    ("awaiting_payment_at", "Session ended"),
    ("session_started_at", "Session started"),
    ("dropped_off_at", "Dropped off"),
    ("arrived_at", "Arrived"),
    ("journey_started_at", "Left for client"),
    ("started_at", "Started"),
    ("driver_confirmed_at", "Driver confirmed"),
    ("therapist_confirmed_at", "Therapist confirmed"),
    ("cancelled_at", "Cancelled"),
    ("rejected_at", "Rejected"),
];

/// The row of `action`.
pub fn row(action: Action) -> &'static Transition {
    TRANSITIONS.iter().find(|t| t.action == action).expect("every action has a row")
}

/// The row for `action` a caller may request over REST (`auto_cancel` is not one), by
/// its name or one of its `aliases`.
pub fn find(action: &str) -> Option<&'static Transition> {
    TRANSITIONS.iter().find(|t| t.who != Who::Server && t.names().any(|n| n == action))
}

/// The REST actions, in table order.
pub fn actions() -> impl Iterator<Item = &'static Transition> {
    TRANSITIONS.iter().filter(|t| t.who != Who::Server)
}

/// How one user stands to one appointment, for `allowed`.
#[derive(Debug, Clone, Copy)]
pub struct Assignment {
    /// One of its therapists (lead or group member).
    pub therapist: bool,
    /// Its driver.
    pub driver: bool,
    /// A therapist who has already confirmed (`per_therapist` rows are done for them).
    pub confirmed: bool,
}

impl Who {
    /// May a user of `role`, standing as `on` to the appointment, take this row?
    fn permits(self, role: &str, on: Assignment) -> bool {
        self.allows_role(role)
            && match self {
                Who::Operator => true,
                Who::Therapist => on.therapist,
                Who::Driver => on.driver,
                Who::TherapistOrDriver => on.therapist || on.driver,
                Who::Server => false,
            }
    }
}

/// The ONE rule of what may happen next: the REST actions a user of `role`, standing as
/// `on` to an appointment in `status`, may take now (their `allowed_actions`).
pub fn allowed(status: &str, role: &str, on: Assignment) -> Vec<&'static str> {
    let Some(status) = Status::parse(status) else {
        return Vec::new();
    };
    actions()
        .filter(|t| t.from.contains(&status) && t.who.permits(role, on))
        .filter(|t| !(t.per_therapist && on.confirmed))
        .map(|t| t.action.as_str())
        .collect()
}

/// The steps among `allowed` (a caller's `allowed_actions`, from `allowed`) that lead to
/// `to`, each with the outcome that does: how a `PATCH {status}` (the clinic's original
/// frontend's way to move an appointment) finds the one workflow action it means.
pub fn leading_to(allowed: &[&str], to: Status) -> Vec<(&'static Transition, Outcome)> {
    allowed
        .iter()
        .filter_map(|name| find(name))
        .filter_map(|t| t.outcomes.iter().find(|o| o.to == to).map(|o| (t, *o)))
        .collect()
}

/// What staff of `role`, assigned to an appointment in `status` and yet to confirm, may do
/// next (`allowed_actions_by_role`; an operator's `allowed_actions`, which depend on the
/// status alone).
pub fn allowed_for_role(status: &str, role: &str) -> Vec<&'static str> {
    allowed(status, role, Assignment { therapist: true, driver: true, confirmed: false })
}

impl Input {
    /// The input as the OpenAPI document's property schema.
    pub fn openapi(&self) -> Value {
        let mut s = match self.kind {
            Kind::Text { max, .. } => json!({"type": "string", "maxLength": max}),
            Kind::Money => json!({
                "oneOf": [{"type": "string", "example": "1500.00"}, {"type": "number"}],
                "description": "an amount, two decimals at most; stored in cents",
            }),
            Kind::Choice(_) => json!({"type": "string", "enum": self.kind.values()}),
            Kind::Staff(role) => json!({"type": "integer", "description": format!("the id of an active {role}")}),
        };
        if let Some(d) = self.default {
            s["default"] = json!(d);
        }
        s["title"] = json!(self.label);
        s
    }

    fn json(&self) -> Value {
        let mut j = json!({
            "name": self.name,
            "label": self.label,
            "required": self.required,
            "kind": self.kind.name(),
            "default": self.default,
            "hint": self.hint,
            "prefill": self.prefill,
            "aliases": self.aliases,
            "only_when": self.only_when,
        });
        match self.kind {
            Kind::Text { max, multiline } => {
                j["max_length"] = json!(max);
                j["multiline"] = json!(multiline);
            }
            Kind::Choice(c) => {
                j["choices"] = c.iter().map(|c| json!({"value": c.value, "label": c.label})).collect();
            }
            Kind::Staff(role) => j["role"] = json!(role),
            Kind::Money => {}
        }
        j
    }
}

impl Transition {
    /// The statuses it may lead to, in outcome order.
    pub fn targets(&self) -> Vec<Status> {
        let mut to: Vec<Status> = Vec::new();
        for o in self.outcomes {
            if !to.contains(&o.to) {
                to.push(o.to);
            }
        }
        to
    }

    fn json(&self) -> Value {
        let picker = self.inputs.iter().find(|i| i.target == Target::Outcome).map(|i| i.name);
        json!({
            "name": self.action,
            "aliases": self.aliases,
            "label": self.label,
            "title": self.title.unwrap_or(self.label),
            "danger": self.danger,
            "note": self.note,
            "who": self.who,
            "who_label": self.who.describe(),
            "roles": ROLES.iter().map(|r| r.0).filter(|r| self.who.allows_role(r)).collect::<Vec<_>>(),
            "rest": self.who != Who::Server,
            "from": self.from,
            "to": self.targets(),
            "outcomes": self.outcomes.iter().map(|o| json!({
                "to": o.to,
                "when": o.when.map(|w| json!({picker.unwrap_or_default(): w})),
                "stamp": o.stamp,
            })).collect::<Vec<_>>(),
            "per_therapist": self.per_therapist,
            "inputs": self.inputs.iter().map(Input::json).collect::<Vec<_>>(),
            "required": self.required().collect::<Vec<_>>(),
            "optional": self.optional().collect::<Vec<_>>(),
            "shows": self.shows.iter().map(|(name, label)| json!({"name": name, "label": label})).collect::<Vec<_>>(),
        })
    }
}

impl Status {
    fn to_json(self) -> Value {
        let (label, tone) = self.label();
        let by_role: serde_json::Map<String, Value> =
            ROLES.iter().filter_map(|(r, _)| self.label_for_role(r).map(|l| ((*r).to_string(), json!(l)))).collect();
        json!({
            "name": self,
            "label": label,
            "tone": tone,
            "labels_by_role": by_role,
            "active": self.is_active(),
            "finished": self.is_finished(),
            "awaits_therapist": self.awaits_therapist(),
            "cancellable": self.is_cancellable(),
            "on_staff_board": self.on_staff_board(false),
            "leaves_staff_board_after_its_day": self.on_staff_board(false) && !self.on_staff_board(true),
        })
    }
}

/// The whole workflow as JSON (`GET /api/scheduling/workflow/`): statuses in workflow
/// order with labels, tones and groups; every action (the REST ones and the server's
/// `auto_cancel`, `"rest": false`) with who, from, to, its inputs and their choices;
/// the roles; and the timestamp columns' words.
pub fn to_json() -> Value {
    json!({
        "statuses": Status::ALL.iter().map(|s| s.to_json()).collect::<Vec<_>>(),
        "actions": TRANSITIONS.iter().map(Transition::json).collect::<Vec<_>>(),
        "roles": ROLES.iter().map(|(name, label)| json!({"name": name, "label": label})).collect::<Vec<_>>(),
        "stamps": STAMP_LABELS.iter().map(|(name, label)| json!({"name": name, "label": label})).collect::<Vec<_>>(),
    })
}

fn describe_input(i: &Input) -> String {
    let kind = match i.kind {
        Kind::Text { max, .. } => format!("text ≤ {max}"),
        Kind::Money => "money".into(),
        Kind::Choice(c) => c.iter().map(|c| format!("`{}`", c.value)).collect::<Vec<_>>().join(" \\| "),
        Kind::Staff(role) => format!("{role} id"),
    };
    let mut s = format!("`{}` ({kind}", i.name);
    if let Some(d) = i.default.filter(|_| !i.required) {
        s.push_str(&format!(", default `{d}`"));
    }
    if !i.required {
        s.push_str(", optional");
    }
    for a in i.aliases {
        s.push_str(&format!(", also read as `{a}`"));
    }
    if let Target::Column(c) = i.target {
        if c != i.name {
            s.push_str(&format!(" → {c}"));
        }
    }
    if let Some(w) = i.only_when {
        s.push_str(&format!(" when `{w}`"));
    }
    s.push(')');
    s
}

/// The transition table and the statuses as Markdown (for docs/WORKFLOW.md, checked by
/// a test).
pub fn markdown_table() -> String {
    let mut s = String::from(
        "| action | who | from | to | request fields | timestamp set |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    for t in TRANSITIONS {
        let from = if t.from == CANCELLABLE {
            "any not yet completed".to_string()
        } else {
            t.from.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        };
        let picker = t.inputs.iter().find(|i| i.target == Target::Outcome).map_or("", |i| i.name);
        let to: Vec<String> = t
            .outcomes
            .iter()
            .map(|o| match o.when {
                Some(w) => format!("{} (`{picker}`: `{w}`)", o.to),
                None => o.to.to_string(),
            })
            .collect();
        let mut fields: Vec<String> = t.inputs.iter().map(describe_input).collect();
        fields.extend(t.sets.iter().map(|(c, v)| format!("sets {c} = `{v}`")));
        let stamps: Vec<&str> = t.outcomes.iter().filter_map(|o| o.stamp).collect();
        let mut name = t.action.to_string();
        for a in t.aliases {
            name.push_str(&format!(" (also `{a}`)"));
        }
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            name,
            t.who.describe(),
            from,
            to.join(" / "),
            if fields.is_empty() { "—".into() } else { fields.join(", ") },
            if stamps.is_empty() { "—".into() } else { stamps.join(" / ") },
        ));
    }
    s.push_str(
        "\n| status | label | active | finished | cancellable | on a staff board |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    let yes = |b: bool| if b { "yes" } else { "—" };
    for st in Status::ALL {
        let board = if !st.on_staff_board(false) {
            "—"
        } else if st.on_staff_board(true) {
            "yes"
        } else {
            "its day"
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            st,
            st.label().0,
            yes(st.is_active()),
            yes(st.is_finished()),
            yes(st.is_cancellable()),
            board,
        ));
    }
    s
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn statuses_are_in_declaration_order_and_parse() {
        for (i, s) in Status::ALL.iter().enumerate() {
            assert_eq!(*s as usize, i);
            assert_eq!(Status::parse(s.as_str()), Some(*s));
            assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
            assert_eq!(STATUSES[i], s.as_str());
        }
        assert_eq!(Status::parse("nope"), None);
        for t in TRANSITIONS {
            assert_eq!(Action::parse(t.action.as_str()), Some(t.action));
            assert_eq!(serde_json::to_value(t.action).unwrap(), json!(t.action.as_str()));
        }
        assert_eq!(Action::parse("teleport"), None);
    }

    #[test]
    fn status_groups() {
        use Status::*;
        let inactive: Vec<Status> = Status::ALL.into_iter().filter(|s| !s.is_active()).collect();
        assert_eq!(inactive, [Rejected, TransportCompleted, Cancelled, AutoCancelled]);
        assert_eq!(INACTIVE, ["rejected", "transport_completed", "cancelled", "auto_cancelled"]);
        let finished: Vec<Status> = Status::ALL.into_iter().filter(|s| s.is_finished()).collect();
        assert_eq!(finished, [Completed, TransportCompleted, Cancelled, AutoCancelled]);
        let cancellable: Vec<Status> = Status::ALL.into_iter().filter(|s| s.is_cancellable()).collect();
        assert_eq!(cancellable, CANCELLABLE);
        assert_eq!(cancellable.first(), Some(&Pending));
        assert_eq!(cancellable.last(), Some(&AwaitingPayment));
        assert!(Rejected.is_cancellable() && !Completed.is_cancellable() && !PickupRequested.is_cancellable());
        assert!(Completed.on_staff_board(false) && !Completed.on_staff_board(true));
        assert!(PickupRequested.on_staff_board(true) && Pending.on_staff_board(true));
        assert!(!TransportCompleted.on_staff_board(false) && !Rejected.on_staff_board(false));
        assert!(is_active("pending") && !is_active("cancelled"));
        let waiting: Vec<Status> = Status::ALL.into_iter().filter(|s| s.awaits_therapist()).collect();
        assert_eq!(waiting, [Pending]);
        assert_eq!(row(Action::Cancel).from, CANCELLABLE);
        let before_start: Vec<Status> = Status::ALL.into_iter().filter(|s| s.is_before_start()).collect();
        assert_eq!(before_start, [Pending, TherapistConfirmed, DriverConfirmed]);
        let under_way: Vec<Status> = Status::ALL.into_iter().filter(|s| s.is_under_way()).collect();
        assert_eq!(under_way, [InProgress, Journey, Arrived, DroppedOff, SessionInProgress]);
        let pickup: Vec<Status> = Status::ALL.into_iter().filter(|s| s.awaits_pickup()).collect();
        assert_eq!(pickup, [PickupRequested, DriverAssignedPickup]);
        assert_eq!(payment_status("unpaid"), Some("pending"));
        assert_eq!(payment_status("refunded"), Some("refunded"));
        assert_eq!(payment_status("free"), None);
    }

    #[test]
    fn every_status_is_reachable() {
        for s in Status::ALL.iter().skip(1) {
            assert!(TRANSITIONS.iter().any(|t| t.outcomes.iter().any(|o| o.to == *s)), "{s} unreachable");
        }
    }

    #[test]
    fn inputs_fit_their_rows() {
        for t in TRANSITIONS {
            let pickers: Vec<&Input> = t.inputs.iter().filter(|i| i.target == Target::Outcome).collect();
            if t.outcomes.len() > 1 {
                // One choice input picks the outcome, with exactly one outcome per choice.
                assert_eq!(pickers.len(), 1, "{}", t.action);
                let values = pickers[0].kind.values();
                let whens: Vec<&str> = t.outcomes.iter().filter_map(|o| o.when).collect();
                assert_eq!(values, whens, "{}", t.action);
            } else {
                assert!(pickers.is_empty() && t.outcomes[0].when.is_none(), "{}", t.action);
            }
            for i in t.inputs {
                if let Some(d) = i.default {
                    assert!(i.kind.values().contains(&d), "{}.{} default", t.action, i.name);
                }
            }
        }
    }

    /// Checks that the section of `doc` (a path under docs/) between the markers
    /// `<!-- {marker}:begin -->` and `<!-- {marker}:end -->` is `generated`; with
    /// `UPDATE_DOCS=1` it rewrites the section instead (`rerun` says which tests to run).
    pub(crate) fn check_generated_section(doc: &str, marker: &str, generated: &str, rerun: &str) {
        let path = format!("{}/{doc}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        let (begin, end) = (format!("<!-- {marker}:begin -->\n"), format!("<!-- {marker}:end -->"));
        let (head, rest) = text.split_once(&begin).expect("begin marker");
        let (_, tail) = rest.split_once(&end).expect("end marker");
        let fresh = format!("{head}{begin}{generated}{end}{tail}");
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(&path, &fresh).unwrap();
            return;
        }
        assert_eq!(text, fresh, "{doc} is out of date; run UPDATE_DOCS=1 cargo test --lib {rerun}");
    }

    #[test]
    fn docs_show_the_table() {
        check_generated_section("docs/WORKFLOW.md", "table", &markdown_table(), "workflow");
    }

    #[test]
    fn roles_see_their_buttons() {
        assert_eq!(allowed_for_role("pending", "therapist"), vec!["therapist_confirm", "reject"]);
        assert_eq!(allowed_for_role("pending", "driver"), vec!["reject"]);
        assert_eq!(allowed_for_role("pending", "operator"), vec!["cancel"]);
        assert!(allowed_for_role("auto_cancelled", "operator").is_empty());
    }

    #[test]
    fn aliases_name_one_row_each() {
        let mut names: Vec<&str> = actions().flat_map(|t| t.names()).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "an action name or alias is used twice");
        assert_eq!(find("mark_completed").map(|t| t.action), Some(Action::MarkPaymentReceived));
        assert_eq!(find("complete").map(|t| t.action), Some(Action::MarkAwaitingPayment));
        assert!(Action::parse("mark_completed").is_none(), "answers use the action's own name");
        for t in TRANSITIONS {
            let picker = t.inputs.iter().find(|i| i.target == Target::Outcome);
            for i in t.inputs {
                if let Some(w) = i.only_when {
                    assert!(picker.is_some_and(|p| p.kind.values().contains(&w)), "{}.{}", t.action, i.name);
                }
                for a in i.aliases {
                    assert!(t.input(a).is_none(), "{}.{a} is an input's own name", t.action);
                }
            }
        }
    }

    #[test]
    fn a_status_leads_back_to_one_step() {
        let driver = allowed_for_role("journey", "driver");
        let steps = leading_to(&driver, Status::Arrived);
        assert_eq!(steps.iter().map(|s| s.0.action).collect::<Vec<_>>(), [Action::ArriveAtLocation]);
        assert!(leading_to(&allowed_for_role("in_progress", "driver"), Status::Arrived).is_empty());
        // From `rejected` an operator reaches `cancelled` two ways: ambiguous.
        assert_eq!(leading_to(&allowed_for_role("rejected", "operator"), Status::Cancelled).len(), 2);
        let deny = leading_to(&allowed_for_role("rejected", "operator"), Status::Pending);
        assert_eq!((deny.len(), deny[0].1.when), (1, Some("deny")));
        assert_eq!(allowed_for_role("driver_assigned_pickup", "driver"), ["confirm_pickup", "reject_pickup"]);
    }

    #[test]
    fn the_published_table() {
        let j = to_json();
        assert_eq!(j["statuses"].as_array().unwrap().len(), Status::ALL.len());
        let pay = j["actions"].as_array().unwrap().iter().find(|a| a["name"] == "mark_payment_received").unwrap();
        assert_eq!(pay["inputs"][0]["choices"][4], json!({"value": "bank_transfer", "label": "Bank transfer"}));
        assert_eq!(pay["required"], json!(["payment_method", "payment_amount"]));
        let review = j["actions"].as_array().unwrap().iter().find(|a| a["name"] == "review_rejection").unwrap();
        assert_eq!(review["outcomes"][0]["when"], json!({"decision": "accept"}));
    }
}
