//! Every close code the server uses, in one place. docs/LIVE_UPDATES.md lists the same
//! codes in its "Limits and close codes" table (checked by a test below).

/// A WebSocket close code (RFC 6455 §7.4, plus the two the application defines).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseCode {
    /// 1000: the answer to a client's close.
    Normal,
    /// 1001: the server is shutting down, or the client was silent past the idle limit.
    GoingAway,
    /// 1002: a WebSocket protocol error.
    Protocol,
    /// 1006: the connection is gone. Never sent (there is nobody to send it to): a close
    /// with this code ends the connection without a close frame.
    Gone,
    /// 1007: a text message that is not UTF-8.
    InvalidData,
    /// 1008: a message flood, or over the per-user socket cap.
    Policy,
    /// 1009: an inbound message or frame over the limit.
    TooBig,
    /// 1011: a server error.
    ServerError,
    /// 1013: the server is busy; try again.
    TryAgain,
    /// 4001: not authenticated, or the session ended: log in again.
    Auth,
    /// 4008: the client could not keep up (its outbound queue filled).
    Slow,
}

impl CloseCode {
    /// Every code, for documentation checks.
    pub const ALL: &'static [CloseCode] = &[
        CloseCode::Normal,
        CloseCode::GoingAway,
        CloseCode::Protocol,
        CloseCode::Gone,
        CloseCode::InvalidData,
        CloseCode::Policy,
        CloseCode::TooBig,
        CloseCode::ServerError,
        CloseCode::TryAgain,
        CloseCode::Auth,
        CloseCode::Slow,
    ];

    /// The number on the wire.
    pub fn code(self) -> u16 {
        match self {
            CloseCode::Normal => 1000,
            CloseCode::GoingAway => 1001,
            CloseCode::Protocol => 1002,
            CloseCode::Gone => 1006,
            CloseCode::InvalidData => 1007,
            CloseCode::Policy => 1008,
            CloseCode::TooBig => 1009,
            CloseCode::ServerError => 1011,
            CloseCode::TryAgain => 1013,
            CloseCode::Auth => 4001,
            CloseCode::Slow => 4008,
        }
    }

    /// Is a close frame sent for it? (Not for `Gone`: the connection is already lost.)
    pub fn is_sent(self) -> bool {
        self != CloseCode::Gone
    }
}

impl std::fmt::Display for CloseCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The codes in the first column of docs/LIVE_UPDATES.md's close-code table.
    fn documented() -> BTreeSet<u16> {
        let doc = include_str!("../../docs/LIVE_UPDATES.md");
        let table = doc.split("## Limits and close codes").nth(1).expect("the doc has a close-code section");
        let mut codes = BTreeSet::new();
        for line in table.lines().skip_while(|l| !l.starts_with('|')).take_while(|l| l.starts_with('|')) {
            let first = line.split('|').nth(1).unwrap_or("");
            for word in first.split(|c: char| !c.is_ascii_digit()).filter(|w| !w.is_empty()) {
                codes.insert(word.parse().unwrap());
            }
        }
        codes
    }

    #[test]
    fn the_docs_list_exactly_the_codes_in_use() {
        let used: BTreeSet<u16> = CloseCode::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(used.len(), CloseCode::ALL.len(), "two variants share a code");
        assert_eq!(documented(), used, "docs/LIVE_UPDATES.md's close-code table and CloseCode differ");
    }
}
