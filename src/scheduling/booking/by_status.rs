//! `PATCH appointments/{id}/ {status, …}`, as the clinic's original frontend moves an
//! appointment (its driver dashboard sends `{status: "arrived"}`, its operator
//! `{status: "driver_assigned_pickup", driver, notes}`): the status names the ONE workflow
//! step the caller may take now whose outcome it is (`workflow::leading_to` over the
//! caller's `allowed_actions`), and that step runs through `step` like the action itself,
//! reading the row's inputs from the same body. Nothing else: no step, or more than one
//! (say which with the action's own path), is a 409 with the allowed next steps; steps are
//! never chained. The body's other appointment fields (`notes`, …) are then applied as
//! an operator's edit (`update`) in the same transaction, so a therapist's or driver's
//! PATCH may carry only `status`, `version` and the step's inputs.

use super::commands::{load_visible, step, update, Written};
use crate::error::{ApiError, ErrorCode};
use crate::scheduling::workflow::{self, Status, Target};
use crate::store::users::User;
use crate::store::Tx;
use serde_json::{json, Map, Value};

/// Runs the one step `body["status"]` means for `who`, then the rest of the body as an edit.
pub fn patch_status(
    tx: &mut Tx,
    who: &User,
    id: i64,
    body: &Map<String, Value>,
    expected: Option<i64>,
) -> Result<Written, ApiError> {
    let before = load_visible(tx, who, id)?;
    let to = match body.get("status").and_then(Value::as_str).and_then(Status::parse) {
        Some(s) => s,
        None => return Err(ApiError::field("status", format!("Must be one of: {}.", workflow::STATUSES.join(", ")))),
    };
    let allowed = before.allowed_actions(who);
    let steps = workflow::leading_to(&allowed, to);
    let refuse = |why: String| {
        ApiError::new(ErrorCode::InvalidStatus, why)
            .with_extra("allowed_actions", json!(allowed))
            .with_extra("status", json!(before.status))
    };
    let next = if allowed.is_empty() {
        "there is nothing for you to do on it".to_string()
    } else {
        format!("you may: {}", allowed.join(", "))
    };
    let (t, outcome) = match steps.as_slice() {
        [one] => *one,
        [] => {
            let now = before.status.replace('_', " ");
            return Err(refuse(if before.status == to.as_str() {
                format!("The appointment is already {now}; {next}.")
            } else {
                format!("The appointment is {now}, so you cannot set it to {}; {next}.", to.as_str().replace('_', " "))
            }));
        }
        many => {
            let names: Vec<&str> = many.iter().map(|(t, _)| t.action.as_str()).collect();
            return Err(refuse(format!(
                "Several steps lead to {} ({}); use the one you mean, POST appointments/{id}/<action>/.",
                to,
                names.join(", ")
            )));
        }
    };
    // The step reads its inputs from the body; the outcome input (if the row has one)
    // is the value that leads to `to`.
    let mut step_body = body.clone();
    step_body.remove("status");
    for input in t.inputs {
        if let (Target::Outcome, Some(when)) = (input.target, outcome.when) {
            for a in input.aliases {
                step_body.remove(*a);
            }
            step_body.insert(input.name.to_string(), json!(when));
        }
    }
    let done = step(tx, who, id, t, &step_body, expected)?;
    // What is left is an edit of the appointment (operators only, as any edit).
    let mut edit = body.clone();
    for name in ["status", "version"]
        .into_iter()
        .chain(t.inputs.iter().flat_map(|i| std::iter::once(i.name).chain(i.aliases.iter().copied())))
    {
        edit.remove(name);
    }
    if edit.is_empty() {
        return Ok(done);
    }
    update(tx, who, id, &edit, true, None)
}
