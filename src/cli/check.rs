//! `royal-care check URL --username U`: the field check after an install. (Stub: issue 4.)

pub fn run(_url: &str, _username: &str) -> Result<(), String> {
    Err("check is not available yet; it comes with live updates.".into())
}
