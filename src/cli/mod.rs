//! The command line: `serve`, `user …`, `backup`, `restore`, `check`, `demo-db`, `import-django`. Each command
//! returns `Result<(), String>`; `main` prints the error as one sentence on stderr and
//! exits non-zero, never with a panic trace.

mod backup;
pub mod check;
mod serve;
mod user;

use crate::config::{PasswordPolicy, Settings};
use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "royal-care", version, about = "Live scheduling server for a home-service massage clinic.")]
pub struct Cli {
    /// The database file [default: ./royal-care.db, or ./royal-care-demo.db with --demo].
    #[arg(long, global = true, env = "ROYAL_CARE_DB")]
    pub db: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server.
    Serve(Settings),
    /// Manage staff accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Write a consistent copy of the database, also while the server runs: into DEST as
    /// royal-care-YYYYMMDD-HHMMSS.db (UTC) when DEST is a directory, else to the new file DEST.
    Backup {
        dest: PathBuf,
        /// With a directory: keep only the newest N timestamped backups in it.
        #[arg(long, value_name = "N")]
        keep: Option<usize>,
    },
    /// Replace the database with the backup FILE (the server must be stopped); the old
    /// database is kept as <db>.before-restore-<time>.
    Restore { file: PathBuf },
    /// Check a running server end to end: log in, open the live socket, read the first message.
    Check {
        /// The server's address, e.g. http://127.0.0.1:8000
        url: String,
        #[arg(long)]
        username: String,
    },
    /// Build the example database (demo staff, clients, services, a day of appointments) at FILE.
    DemoDb { file: PathBuf },
    /// Bring the clinic's Django data (its SQLite file, or `manage.py dumpdata` JSON) into a
    /// NEW database (--db, default ./royal-care.db), keeping ids, passwords and live sessions.
    ImportDjango {
        /// The Django SQLite file or dumpdata JSON.
        source: PathBuf,
        /// The life given to knox tokens that had no expiry, in seconds (the server's token TTL).
        #[arg(long, env = "ROYAL_CARE_TOKEN_TTL_SECS", default_value_t = 36_000)]
        token_ttl_secs: u64,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a staff account; the password is asked twice, or read as one line from stdin.
    Add {
        #[arg(long)]
        username: String,
        #[arg(long, value_parser = ["operator", "therapist", "driver"])]
        role: String,
        #[arg(long, default_value = "")]
        first_name: String,
        #[arg(long, default_value = "")]
        last_name: String,
        #[arg(long, default_value = "")]
        email: String,
        #[command(flatten)]
        hashing: PasswordPolicy,
    },
    /// Set a new password for USERNAME and end all their sessions.
    Passwd {
        username: String,
        #[command(flatten)]
        hashing: PasswordPolicy,
    },
    /// Deactivate USERNAME: they can no longer log in, and their open sessions and sockets end.
    /// The last active operator cannot be deactivated.
    Deactivate { username: String },
    /// Activate USERNAME again: they can log in with their old password.
    Activate { username: String },
    /// List staff accounts.
    List,
}

pub const DEFAULT_DB: &str = "royal-care.db";
pub const DEFAULT_DEMO_DB: &str = "royal-care-demo.db";

/// Parses the command line, runs the command, and returns the process exit code.
pub fn main() -> i32 {
    let cli = match parse(std::env::args_os()) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    init_logging();
    let db = cli.db.clone();
    let result = match cli.command {
        Command::Serve(settings) => serve::run(db, settings),
        Command::User(cmd) => user::run(&db.unwrap_or_else(|| DEFAULT_DB.into()), cmd),
        Command::Backup { dest, keep } => backup::run(&db.unwrap_or_else(|| DEFAULT_DB.into()), &dest, keep),
        Command::Restore { file } => backup::restore(&db.unwrap_or_else(|| DEFAULT_DB.into()), &file),
        Command::Check { url, username } => check::run(&url, &username),
        Command::DemoDb { file } => crate::scheduling::demo::build(&file),
        Command::ImportDjango { source, token_ttl_secs } => {
            let db = db.unwrap_or_else(|| DEFAULT_DB.into());
            crate::import::run(&source, &db, token_ttl_secs).map(|s| print!("{}", s.render(&source, &db)))
        }
    };
    match result {
        Ok(()) => 0,
        Err(msg) => {
            eprintln!("error: {msg}");
            1
        }
    }
}

/// Parses the command line. `--help` and `--version` print as clap prints them; a usage
/// error is one sentence on stderr (SPEC §3), not clap's usage block, and the exit code
/// is clap's (2).
fn parse(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<Cli, i32> {
    let args: Vec<std::ffi::OsString> = args.into_iter().collect();
    let parsed = Cli::command().try_get_matches_from(&args).and_then(|m| {
        crate::config::remember_sources(&m);
        Cli::from_arg_matches(&m)
    });
    parsed.map_err(|e| {
        if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
            let _ = e.print();
            return 0;
        }
        eprintln!("{}", usage_error(&e.render().to_string(), e.kind(), &command_path(&args)));
        e.exit_code()
    })
}

/// The (sub)command the arguments name, e.g. "royal-care user add", for its `--help`.
fn command_path(args: &[std::ffi::OsString]) -> String {
    let mut cmd = Cli::command();
    let mut path = vec!["royal-care".to_string()];
    for arg in args.iter().skip(1).filter_map(|a| a.to_str()) {
        // Flags and their values are skipped: `--db x user add` is `royal-care user add`.
        if let Some(sub) = cmd.find_subcommand(arg).cloned() {
            path.push(arg.to_string());
            cmd = sub;
        }
    }
    path.join(" ")
}

/// Clap's rendered error (a sentence, a tip, a usage block) as one sentence pointing to
/// the `--help` of `command`.
fn usage_error(rendered: &str, kind: ErrorKind, command: &str) -> String {
    let what = if kind == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        "a command is missing".to_string()
    } else {
        let first = rendered.lines().next().unwrap_or("").trim();
        first.strip_prefix("error: ").unwrap_or(first).trim_end_matches('.').to_string()
    };
    format!("error: {what}; see `{command} --help`.")
}

fn init_logging() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_timestamp_millis()
        .init();
    // A panic in a connection thread ends that connection; log it as one line.
    std::panic::set_hook(Box::new(|info| {
        log::error!("internal error (a thread panicked): {info}");
    }));
}

/// Opens an existing database for a maintenance command; refuses to create one by accident.
pub(crate) fn open_existing(db: &std::path::Path) -> Result<crate::store::Store, String> {
    if !db.exists() {
        return Err(format!(
            "there is no database at {}; give the right {}, or start the server once to create it.",
            db.display(),
            crate::config::named("db")
        ));
    }
    crate::store::Store::open(db)
}
