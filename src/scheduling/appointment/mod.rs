//! An appointment: `model` is the row as stored and loaded; `json` its one JSON shape.

mod json;
mod model;

pub use json::{
    answer_for, deleted_stub, for_user, to_json, to_json_many, with_actions_for, with_rest_json, write_list,
    AppointmentJson,
};
pub use model::{ids_where, load, load_many, Appointment, STAMPS};
