//! The field rule, beside the visibility rule (`visibility` says which appointments,
//! clients and accounts a user may see; this says which of their members each role
//! receives): operators receive everything; a therapist or driver only what their work
//! needs. A driver takes the therapist to the client's door: name, address, location and
//! phone, not the appointment's or the client's notes (they may hold health
//! information); a therapist needs those notes (contraindications matter). Neither needs
//! a client's or a colleague's email, nor the phone numbers of the whole staff list (a
//! colleague's phone is on the appointments they share). `RESTRICTED` is the one table;
//! every way data leaves the server uses it: the appointment JSON (`appointment::json`:
//! REST, a socket's `initial_data`, and — through the paths stored with each event,
//! `events::WITHHELD_FOR` — every event and replay a staff member receives), the clients
//! endpoints and the staff endpoints. Withheld members are absent, not emptied. It sits
//! below `appointment` (which uses it); `visibility` sits above, so it cannot live there.

use super::clients::Client;
use crate::store::users::User;
use serde_json::Value;

/// An object that leaves the server, as far as this rule goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    /// An appointment's own members.
    Appointment,
    /// A client: `clients/` and an appointment's `client_details`.
    Client,
    /// A staff account in `staff/` (the list and one account).
    Account,
    /// A staff member shown on an appointment: `therapist_details`, `therapists_details`,
    /// `driver_details`, `operator_details`.
    Colleague,
}

/// The rule: (object, member, the roles that receive it). A member not listed here
/// reaches everyone who may see the object; a role not named (also an unknown one, e.g.
/// an imported account without a role) does not receive it. docs/API.md has it as a table.
pub const RESTRICTED: &[(Object, &str, &[&str])] = &[
    // Notes of a visit and of a client may hold health information: the therapist's
    // work, not the driver's. Directions for the driver belong in `location`.
    (Object::Appointment, "notes", &["operator", "therapist"]),
    (Object::Client, "notes", &["operator", "therapist"]),
    // Staff call the client; writing to them is the office's work.
    (Object::Client, "email", &["operator"]),
    (Object::Colleague, "email", &["operator"]),
    // The staff list says who is who; contact details are the office's (a colleague's
    // phone is on the appointments you share, as a `Colleague`).
    (Object::Account, "email", &["operator"]),
    (Object::Account, "phone_number", &["operator"]),
];

/// Where an appointment object shows other objects: its `*_details` members (an array
/// member's objects each follow the rule).
pub const SHOWN_ON_APPOINTMENT: &[(&str, Object)] = &[
    ("client_details", Object::Client),
    ("therapist_details", Object::Colleague),
    ("therapists_details", Object::Colleague),
    ("driver_details", Object::Colleague),
    ("operator_details", Object::Colleague),
];

/// Does a user with `role` receive `member` of `object`?
pub fn receives(role: &str, object: Object, member: &str) -> bool {
    RESTRICTED.iter().find(|(o, m, _)| *o == object && *m == member).is_none_or(|(_, _, roles)| roles.contains(&role))
}

/// The members of `object` that a user with `role` does not receive.
pub fn withheld(role: &str, object: Object) -> impl Iterator<Item = &'static str> + '_ {
    RESTRICTED.iter().filter(move |(o, _, roles)| *o == object && !roles.contains(&role)).map(|(_, m, _)| *m)
}

/// `v` (an `object`'s JSON) without the members `role` does not receive.
pub fn strip(role: &str, object: Object, mut v: Value) -> Value {
    if let Some(m) = v.as_object_mut() {
        for member in withheld(role, object) {
            m.remove(member);
        }
    }
    v
}

/// The members of an appointment object a user with `role` does not receive, as paths:
/// `notes`, `client_details.notes`, `therapists_details.email` (in every element) …
/// An event stores them per recipient (`events::WITHHELD_FOR`), and the events' renderer
/// and a write's answer remove them (`events::withhold`).
pub fn appointment_paths(role: &str) -> Vec<String> {
    let mut paths: Vec<String> = withheld(role, Object::Appointment).map(str::to_string).collect();
    for (member, object) in SHOWN_ON_APPOINTMENT {
        paths.extend(withheld(role, *object).map(|m| format!("{member}.{m}")));
    }
    paths
}

/// A client as `role` receives it (`clients/` answers).
pub fn client_json(role: &str, c: &Client) -> Value {
    strip(role, Object::Client, c.to_json())
}

/// Account `u` as `viewer` receives it (`staff/` answers): their own in full, as
/// login and profile show it.
pub fn account_json(viewer: &User, u: &User) -> Value {
    if viewer.id == u.id {
        u.to_json()
    } else {
        strip(&viewer.role, Object::Account, u.to_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_receive_everything_and_staff_what_their_work_needs() {
        assert!(appointment_paths("operator").is_empty());
        assert_eq!(
            appointment_paths("therapist"),
            [
                "client_details.email",
                "therapist_details.email",
                "therapists_details.email",
                "driver_details.email",
                "operator_details.email"
            ]
        );
        let driver = appointment_paths("driver");
        assert!(driver.contains(&"notes".to_string()) && driver.contains(&"client_details.notes".to_string()));
        // An unknown role gets the least: everything restricted.
        assert_eq!(appointment_paths(""), driver);
        for role in ["therapist", "driver"] {
            for m in ["first_name", "last_name", "phone_number", "address"] {
                assert!(receives(role, Object::Client, m), "{role} needs the client's {m}");
            }
            assert!(receives(role, Object::Colleague, "phone_number"));
            assert!(!receives(role, Object::Account, "email") && !receives(role, Object::Account, "phone_number"));
        }
        assert!(receives("therapist", Object::Client, "notes") && !receives("driver", Object::Client, "notes"));
    }

    /// docs/API.md's table ("What each role receives") says what `RESTRICTED` does.
    #[test]
    fn the_documented_table_is_the_rule() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/API.md")).unwrap();
        let label = |o: Object| match o {
            Object::Appointment => "appointment",
            Object::Client => "client",
            Object::Colleague => "staff on an appointment",
            Object::Account => "staff account",
        };
        for (object, member, _) in RESTRICTED {
            let row = doc
                .lines()
                .map(|l| l.split('|').map(str::trim).collect::<Vec<_>>())
                .find(|c| c.len() > 5 && c[1].starts_with(label(*object)) && c[2].contains(&format!("`{member}`")))
                .unwrap_or_else(|| panic!("docs/API.md has no row for {object:?} {member}"));
            for (i, role) in ["operator", "therapist", "driver"].iter().enumerate() {
                assert_eq!(row[3 + i].starts_with('✓'), receives(role, *object, member), "{object:?} {member} {role}");
            }
        }
    }
}
