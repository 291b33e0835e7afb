//! Every setting of `royal-care serve`, in one table: the flag, its `ROYAL_CARE_*`
//! environment variable, its default and what it is for. Nothing is configured anywhere
//! else; `docs/CONFIG.md` is this table in prose, and `validate` holds the cross-checks.
//!
//! Limits that are not worth a knob (header bytes, WebSocket frame size) are constants
//! next to the code they bound, with a comment saying why that number.

use clap::builder::BoolishValueParser;
use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, Args};
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

/// Minutes a booking may stay pending by default.
pub const PENDING_TIMEOUT_MINS: u64 = 30;

/// The demo's pending timeout when none is set: 12 hours, so a demo's pending bookings
/// wait for a therapist's answer through a day of showing it (docs/CONFIG.md).
pub const DEMO_PENDING_TIMEOUT_MINS: u64 = 720;

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

    /// Reverse proxies (addresses or CIDRs, comma-separated, e.g. 127.0.0.1 for Caddy on
    /// the same machine) whose X-Forwarded-For, -Proto and -Host are believed. Everyone
    /// else's X-Forwarded-* headers are ignored.
    #[arg(
        long = "trusted-proxy",
        env = "ROYAL_CARE_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_name = "ADDRESS[/BITS]"
    )]
    pub trusted_proxies: Vec<ProxyNet>,

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
    /// single machine cannot take every place; more get 503 and are closed. A trusted
    /// proxy's connections are bounded only by ROYAL_CARE_MAX_CONNECTIONS (the proxy
    /// carries many clients' requests on each of them).
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

    /// The clinic's time zone, an IANA name such as Asia/Manila: "today" for boards, lists,
    /// summaries, availability and the demo. Default: the machine's local zone.
    #[arg(long, env = "ROYAL_CARE_TIME_ZONE")]
    pub time_zone: Option<String>,

    /// Minutes an appointment may stay `pending` without a therapist's answer before the
    /// server cancels it (`auto_cancelled`). Default 30; with --demo, 720 (a day's demo).
    #[arg(long, env = "ROYAL_CARE_PENDING_TIMEOUT_MINS")]
    pub pending_timeout_mins: Option<u64>,

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
    /// Unset, it is 30 minutes, or 12 hours in demo mode.
    pub fn pending_timeout(&self) -> u64 {
        let default = if self.demo { DEMO_PENDING_TIMEOUT_MINS } else { PENDING_TIMEOUT_MINS };
        self.pending_timeout_secs.unwrap_or(self.pending_timeout_mins.unwrap_or(default).saturating_mul(60))
    }

    /// The clinic's zone (`None`: the machine's local zone); an unknown name is refused
    /// with one sentence saying where to find the names.
    pub fn zone(&self) -> Result<Option<chrono_tz::Tz>, String> {
        self.time_zone.as_deref().map(crate::time::parse_zone).transpose()
    }

    /// Cross-checks clap cannot express; the error is one sentence for the operator.
    pub fn validate(&self) -> Result<(), String> {
        self.hashing.validate()?;
        self.zone()?;
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

/// One `--trusted-proxy` entry: an address (`127.0.0.1`, `::1`) or a network in CIDR
/// form (`10.0.0.0/8`). IPv4-mapped IPv6 addresses match their IPv4 form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyNet {
    addr: IpAddr,
    prefix: u8,
}

impl ProxyNet {
    /// True when `ip` is this address or inside this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for ProxyNet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("trusted proxy {s:?} must be an address like 127.0.0.1 or a network like 10.0.0.0/8");
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr = IpAddr::from_str(addr).map_err(|_| bad())?.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
        };
        Ok(ProxyNet { addr, prefix })
    }
}

impl std::fmt::Display for ProxyNet {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// True when `ip` is one of the trusted proxies.
pub fn is_trusted_proxy(trusted: &[ProxyNet], ip: IpAddr) -> bool {
    trusted.iter().any(|n| n.contains(ip))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks() {
        let one: ProxyNet = "127.0.0.1".parse().unwrap();
        assert!(one.contains(ip("127.0.0.1")));
        assert!(one.contains(ip("::ffff:127.0.0.1")));
        assert!(!one.contains(ip("127.0.0.2")));
        let lan: ProxyNet = "192.168.1.0/24".parse().unwrap();
        assert!(lan.contains(ip("192.168.1.77")));
        assert!(!lan.contains(ip("192.168.2.1")));
        let all: ProxyNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        assert!(!all.contains(ip("2001:db8::1")));
        let v6: ProxyNet = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")));
        assert!(!v6.contains(ip("fe80::1")));
        for bad in ["", "localhost", "10.0.0.0/33", "::1/129", "10.0.0.1/x"] {
            assert!(bad.parse::<ProxyNet>().is_err(), "{bad}");
        }
    }
}
