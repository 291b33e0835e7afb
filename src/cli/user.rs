//! `royal-care user add|passwd|deactivate|activate|list`: staff accounts from the command line,
//! also while the server runs (the server sees a deactivation through the event log and
//! closes that user's sockets). Passwords come from a prompt (asked twice) or, when stdin
//! is not a terminal, one line of stdin — never from the command line, where `ps` shows it.

use super::UserCommand;
use crate::auth::{self, password};
use crate::store::users::{self, NewUser};
use std::io::{BufRead, IsTerminal};
use std::path::Path;

pub fn run(db: &Path, cmd: UserCommand) -> Result<(), String> {
    match cmd {
        UserCommand::Add { username, role, first_name, last_name, email, hashing } => {
            hashing.validate()?;
            check_username(&username)?;
            let store = crate::store::Store::open(db)?;
            if store.read(|c| users::by_username(c, &username)).map_err(db_err)?.is_some() {
                return Err(format!("a user named {username:?} already exists; pick another username."));
            }
            let pw = read_password(&username)?;
            let hash = password::hash(&pw, hashing.password_iterations);
            let u = NewUser {
                username: username.clone(),
                email,
                first_name,
                last_name,
                role: role.clone(),
                ..Default::default()
            };
            let id = store.write(|tx| users::insert(tx, &u, &hash)).map_err(db_err)?;
            println!("Added {role} {username} (id {id}).");
            Ok(())
        }
        UserCommand::Passwd { username, hashing } => {
            hashing.validate()?;
            let store = super::open_existing(db)?;
            let user = find(&store, &username)?;
            let pw = read_password(&username)?;
            let hash = password::hash(&pw, hashing.password_iterations);
            store
                .write(|tx| {
                    users::set_password(tx, user.id, &hash)?;
                    auth::revoke(tx, user.id, None)
                })
                .map_err(db_err)?;
            println!("Password changed for {username}; their sessions were ended.");
            Ok(())
        }
        UserCommand::Deactivate { username } => {
            let store = super::open_existing(db)?;
            let user = find(&store, &username)?;
            // Like staff/ PATCH: appointments showing them get an event (through the log).
            store
                .write(|tx| {
                    crate::scheduling::details::with_details_events(
                        tx,
                        crate::scheduling::details::Shown::Staff(user.id),
                        |tx| auth::deactivate(tx, user.id),
                    )
                })
                .map_err(|e| refused(&username, e))?;
            println!("Deactivated {username}; their sessions were ended.");
            Ok(())
        }
        UserCommand::Activate { username } => {
            let store = super::open_existing(db)?;
            let user = find(&store, &username)?;
            if user.is_active {
                println!("{username} is already active.");
                return Ok(());
            }
            store
                .write(|tx| {
                    crate::scheduling::details::with_details_events(
                        tx,
                        crate::scheduling::details::Shown::Staff(user.id),
                        |tx| users::set_active(tx, user.id, true),
                    )
                })
                .map_err(db_err)?;
            println!("Activated {username}; they can log in with their password.");
            Ok(())
        }
        UserCommand::List => {
            let store = super::open_existing(db)?;
            let all = store.read(users::list).map_err(db_err)?;
            println!("{:<5} {:<20} {:<10} {:<8} {:<25} email", "id", "username", "role", "active", "name");
            for u in all {
                let name = format!("{} {}", u.first_name, u.last_name);
                println!(
                    "{:<5} {:<20} {:<10} {:<8} {:<25} {}",
                    u.id,
                    u.username,
                    u.role,
                    if u.is_active { "yes" } else { "no" },
                    name.trim(),
                    u.email
                );
            }
            Ok(())
        }
    }
}

/// A deactivation the rules refuse (the last active operator) as one sentence.
fn refused(username: &str, e: crate::error::ApiError) -> String {
    let why = e.fields.as_ref().and_then(|f| f.values().next()).and_then(|v| v[0].as_str()).map(String::from);
    match why {
        Some(why) => {
            let mut chars = why.chars();
            let first = chars.next().map(|c| c.to_lowercase().collect::<String>()).unwrap_or_default();
            format!("cannot deactivate {username}: {first}{}", chars.as_str())
        }
        None => format!("the database could not be updated: {}", e.detail),
    }
}

fn db_err(e: rusqlite::Error) -> String {
    format!("the database could not be updated: {e}")
}

fn find(store: &crate::store::Store, username: &str) -> Result<users::User, String> {
    store
        .read(|c| users::by_username(c, username))
        .map_err(db_err)?
        .ok_or_else(|| format!("there is no user named {username:?}; see `royal-care user list`."))
}

fn check_username(u: &str) -> Result<(), String> {
    let ok = !u.is_empty() && u.len() <= 150 && u.chars().all(|c| c.is_alphanumeric() || "@.+-_".contains(c));
    if ok {
        Ok(())
    } else {
        Err("a username is 1–150 letters, digits and @ . + - _ only; choose another.".into())
    }
}

/// The new password: asked twice at a terminal, else one line from stdin.
fn read_password(username: &str) -> Result<String, String> {
    let pw = if std::io::stdin().is_terminal() {
        let a = rpassword::prompt_password(format!("New password for {username}: "))
            .map_err(|e| format!("cannot read the password: {e}"))?;
        let b = rpassword::prompt_password("Again: ").map_err(|e| format!("cannot read the password: {e}"))?;
        if a != b {
            return Err("the two passwords differ; run the command again.".into());
        }
        a
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    auth::check_new_password("password", username, &pw).map_err(|e| {
        let why =
            e.fields.and_then(|f| f.get("password").and_then(|v| v[0].as_str().map(String::from))).unwrap_or_default();
        format!("the password {why}; choose another.")
    })?;
    Ok(pw)
}
