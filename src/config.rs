//! Every setting of `royal-care serve`, in one table: the flag, its `ROYAL_CARE_*`
//! environment variable, its default and what it is for. Nothing is configured anywhere
//! else; `docs/CONFIG.md` is this table in prose, and `validate` holds the cross-checks.
//!
//! Limits that are not worth a knob (header bytes, WebSocket frame size) are constants
//! next to the code they bound, with a comment saying why that number.

use clap::builder::BoolishValueParser;
use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, Args};
use std::sync::OnceLock;
use std::time::Duration;

/// The settings this run took from `ROYAL_CARE_*` environment variables rather than flags
/// (their clap ids), recorded once by `remember_sources` after parsing.
static FROM_ENV: OnceLock<Vec<String>> = OnceLock::new();

/// Records which settings came from the environment, so that errors name what the person
/// actually wrote (`named`). Walks the command and its subcommands.
pub fn remember_sources(matches: &ArgMatches) {
    let mut ids = Vec::new();
    let mut m = Some(matches);
    while let Some(level) = m {
        for id in level.ids() {
            if level.value_source(id.as_str()) == Some(ValueSource::EnvVariable) {
                ids.push(id.to_string());
            }
        }
        m = level.subcommand().map(|(_, sub)| sub);
    }
    let _ = FROM_ENV.set(ids);
}

/// How an error names setting `id` (a field of the table below, or `db`): its
/// environment variable if that is where the value came from, else its flag — every
/// variable is `ROYAL_CARE_` and the flag's name in capitals.
pub fn named(id: &str) -> String {
    if FROM_ENV.get().is_some_and(|ids| ids.iter().any(|i| i == id)) {
        format!("ROYAL_CARE_{}", id.to_uppercase())
    } else {
        format!("--{}", id.replace('_', "-"))
    }
}

/// The lowest PBKDF2 iteration count for new password hashes in a real install
/// (OWASP 2023 advice for PBKDF2-HMAC-SHA256).
pub const MIN_PASSWORD_ITERATIONS: u32 = 600_000;

#[derive(Args, Debug, Clone)]
pub struct Settings {
    /// Address and port to listen on. Use 0.0.0.0:8000 to serve the clinic's LAN.
    #[arg(long, env = "ROYAL_CARE_ADDR", default_value = "127.0.0.1:8000")]
    pub addr: String,

    /// Start from a fresh copy of the example database with demo accounts, its
    /// appointments moved to today. Never use for real data.
    #[arg(long, env = "ROYAL_CARE_DEMO", value_parser = BoolishValueParser::new())]
    pub demo: bool,

    /// Other origins (scheme://host:port) allowed to call the API and open WebSockets,
    /// comma-separated, e.g. the clinic's React app. The server's own origin is always allowed.
    #[arg(long, env = "ROYAL_CARE_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// How long a login token lives, in seconds (Knox TOKEN_TTL; default 10 hours).
    #[arg(long, env = "ROYAL_CARE_TOKEN_TTL_SECS", default_value_t = 36_000)]
    pub token_ttl_secs: u64,

    /// Extend a token's life on each use (Knox AUTO_REFRESH); written at most once a minute.
    #[arg(long, env = "ROYAL_CARE_AUTO_REFRESH", default_value_t = true, action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub auto_refresh: bool,

    /// Most connections (HTTP and WebSocket) open at once; more get 503 and are closed.
    #[arg(long, env = "ROYAL_CARE_MAX_CONNECTIONS", default_value_t = 2_000)]
    pub max_connections: usize,

    /// Most connections one client address may hold open at once (IPv6: one /64), so a
    /// single machine cannot take every place; more get 503 and are closed. Behind a
    /// reverse proxy on the same machine every client shares the proxy's address.
    #[arg(long, env = "ROYAL_CARE_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 250)]
    pub max_connections_per_address: usize,

    /// Largest request body in bytes; larger ones get 413.
    #[arg(long, env = "ROYAL_CARE_MAX_BODY_BYTES", default_value_t = 1_048_576)]
    pub max_body_bytes: usize,

    /// Seconds a client may take to send a request head or body before 408.
    #[arg(long, env = "ROYAL_CARE_REQUEST_TIMEOUT_SECS", default_value_t = 10)]
    pub request_timeout_secs: u64,

    /// Seconds an idle keep-alive connection is kept open.
    #[arg(long, env = "ROYAL_CARE_KEEPALIVE_SECS", default_value_t = 30)]
    pub keepalive_secs: u64,

    /// Most WebSockets one user may hold open at once (tabs, phones).
    #[arg(long, env = "ROYAL_CARE_MAX_SOCKETS_PER_USER", default_value_t = 20)]
    pub max_sockets_per_user: usize,

    /// Seconds between server pings on a WebSocket.
    #[arg(long, env = "ROYAL_CARE_WS_PING_SECS", default_value_t = 25)]
    pub ws_ping_secs: u64,

    /// Seconds of silence after which a WebSocket is closed.
    #[arg(long, env = "ROYAL_CARE_WS_IDLE_SECS", default_value_t = 60)]
    pub ws_idle_secs: u64,

    /// Minutes an appointment may stay `pending` without a therapist's answer before the
    /// server cancels it (`auto_cancelled`).
    #[arg(long, env = "ROYAL_CARE_PENDING_TIMEOUT_MINS", default_value_t = 30)]
    pub pending_timeout_mins: u64,

    /// The same timeout in seconds, overriding the minutes. For test suites only.
    #[arg(long, env = "ROYAL_CARE_PENDING_TIMEOUT_SECS", hide = true)]
    pub pending_timeout_secs: Option<u64>,

    /// Hours of the event log kept for clients resuming with `?since=`; older resumes resync.
    #[arg(long, env = "ROYAL_CARE_EVENT_RETENTION_HOURS", default_value_t = 168)]
    pub event_retention_hours: u64,

    /// Notifications kept per user (the newest; older ones are pruned every 10 s).
    #[arg(long, env = "ROYAL_CARE_NOTIFICATIONS_PER_USER", default_value_t = 500)]
    pub notifications_per_user: u64,

    #[command(flatten)]
    pub hashing: PasswordPolicy,
}

/// How new password hashes are made; shared by `serve` and the `user` commands.
#[derive(Args, Debug, Clone)]
pub struct PasswordPolicy {
    /// PBKDF2 iterations for new password hashes (at least 600,000).
    #[arg(long, env = "ROYAL_CARE_PASSWORD_ITERATIONS", default_value_t = MIN_PASSWORD_ITERATIONS)]
    pub password_iterations: u32,

    /// Allow fewer than 600,000 password iterations. For test suites only.
    #[arg(long, env = "ROYAL_CARE_INSECURE_FAST_HASHES_FOR_TESTS", hide = true, value_parser = BoolishValueParser::new())]
    pub insecure_fast_hashes_for_tests: bool,
}

impl PasswordPolicy {
    pub fn validate(&self) -> Result<(), String> {
        if self.password_iterations < MIN_PASSWORD_ITERATIONS && !self.insecure_fast_hashes_for_tests {
            return Err(format!(
                "{} must be at least {MIN_PASSWORD_ITERATIONS}; raise it or leave it out.",
                named("password_iterations")
            ));
        }
        if self.password_iterations == 0 {
            return Err(format!("{} must be above zero.", named("password_iterations")));
        }
        Ok(())
    }
}

impl Settings {
    /// Seconds an appointment may stay `pending` (the seconds override, else the minutes):
    /// the one reading of the two settings, for the auto-cancel and for `/health/`.
    pub fn pending_timeout(&self) -> u64 {
        self.pending_timeout_secs.unwrap_or(self.pending_timeout_mins.saturating_mul(60))
    }

    /// Cross-checks clap cannot express; the error is one sentence for the operator.
    pub fn validate(&self) -> Result<(), String> {
        self.hashing.validate()?;
        if self.max_connections == 0
            || self.max_connections_per_address == 0
            || self.max_body_bytes == 0
            || self.max_sockets_per_user == 0
        {
            return Err("connection, body and socket limits must be above zero.".into());
        }
        if self.notifications_per_user == 0 {
            return Err(format!("{} must be above zero.", named("notifications_per_user")));
        }
        if self.token_ttl_secs == 0 {
            return Err(format!("{} must be above zero.", named("token_ttl_secs")));
        }
        if self.ws_ping_secs == 0 || self.ws_idle_secs <= self.ws_ping_secs {
            return Err(format!("{} must be longer than {}.", named("ws_idle_secs"), named("ws_ping_secs")));
        }
        for o in &self.allowed_origins {
            if !(o.starts_with("http://") || o.starts_with("https://")) || o.ends_with('/') {
                return Err(format!("allowed origin {o:?} must look like http://host:port, without a path."));
            }
        }
        Ok(())
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    pub fn keepalive(&self) -> Duration {
        Duration::from_secs(self.keepalive_secs)
    }
}

impl Default for Settings {
    /// The defaults of the table above, for tests and tools that embed the server.
    fn default() -> Self {
        #[derive(clap::Parser)]
        struct Wrap {
            #[command(flatten)]
            s: Settings,
        }
        <Wrap as clap::Parser>::parse_from(["royal-care"]).s
    }
}
