//! Which transport the feed uses, and when it switches. Pure, unit-tested natively.
//!
//! The WebSocket comes first. Some networks block it (a proxy that refuses `Upgrade`, a
//! firewall that drops it), so after [`WEBSOCKET_FAILURES_BEFORE_FALLBACK`] attempts in a row
//! that never got as far as the server's `hello`, the feed falls back to the Server-Sent Events
//! stream (`/sse`), which is plain HTTP. While on it, the feed probes the WebSocket every
//! [`UPGRADE_PROBE_INTERVAL_MS`] and moves back as soon as one opens. If the event stream
//! cannot be opened either, the feed goes back to trying the WebSocket: the server may simply
//! be down, and the WebSocket is the better transport when it returns.

/// WebSocket attempts in a row that fail to open before the feed falls back to SSE.
pub const WEBSOCKET_FAILURES_BEFORE_FALLBACK: u32 = 3;

/// How often, while on SSE, the feed checks whether a WebSocket opens again.
pub const UPGRADE_PROBE_INTERVAL_MS: u32 = 10_000;

/// A way of receiving the feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `/ws`, full duplex; the default.
    WebSocket,
    /// `/sse`, Server-Sent Events; the fallback.
    EventStream,
}

impl Transport {
    /// A stable name, used as a CSS hook and by the browser tests.
    pub fn key(self) -> &'static str {
        match self {
            Transport::WebSocket => "websocket",
            Transport::EventStream => "sse",
        }
    }

    /// The text shown in the status bar.
    pub fn label(self) -> &'static str {
        match self {
            Transport::WebSocket => "WebSocket",
            Transport::EventStream => "SSE fallback",
        }
    }
}

/// How one session on a transport ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEnd {
    /// It never received `hello`: refused, blocked or unreachable. Says why.
    NotOpened(String),
    /// It was live, then ended. Says why.
    Ended(String),
    /// On the event stream, a probe found that the WebSocket opens again.
    UpgradeAvailable,
    /// It was fine but must be reopened at once on the same transport: the event stream's
    /// subscription is in its URL, so a change of the watchlist opens a new stream.
    Reopen(String),
}

/// What to do after a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Next {
    /// The transport of the next attempt.
    pub transport: Transport,
    /// Whether to wait out the backoff first (no wait when switching to a transport that is
    /// expected to work).
    pub back_off: bool,
}

/// The switching rules, fed with how each session ended.
#[derive(Debug, Clone)]
pub struct TransportPolicy {
    current: Transport,
    websocket_failures: u32,
}

impl Default for TransportPolicy {
    fn default() -> Self {
        TransportPolicy {
            current: Transport::WebSocket,
            websocket_failures: 0,
        }
    }
}

impl TransportPolicy {
    /// The transport to use now.
    pub fn current(&self) -> Transport {
        self.current
    }

    /// Records how the session on the current transport ended and decides the next attempt.
    pub fn after(&mut self, end: &SessionEnd) -> Next {
        let back_off = match (self.current, end) {
            (_, SessionEnd::Reopen(_)) => false,
            (Transport::WebSocket, SessionEnd::NotOpened(_)) => {
                self.websocket_failures += 1;
                if self.websocket_failures >= WEBSOCKET_FAILURES_BEFORE_FALLBACK {
                    self.switch_to(Transport::EventStream);
                    false
                } else {
                    true
                }
            }
            (Transport::WebSocket, _) => {
                self.websocket_failures = 0;
                true
            }
            (Transport::EventStream, SessionEnd::UpgradeAvailable) => {
                self.switch_to(Transport::WebSocket);
                false
            }
            (Transport::EventStream, SessionEnd::NotOpened(_)) => {
                self.switch_to(Transport::WebSocket);
                true
            }
            (Transport::EventStream, SessionEnd::Ended(_)) => true,
        };
        Next {
            transport: self.current,
            back_off,
        }
    }

    fn switch_to(&mut self, transport: Transport) {
        self.current = transport;
        self.websocket_failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn not_opened() -> SessionEnd {
        SessionEnd::NotOpened("refused".into())
    }

    #[test]
    fn falls_back_to_sse_after_repeated_websocket_failures_without_waiting() {
        let mut policy = TransportPolicy::default();
        for _ in 1..WEBSOCKET_FAILURES_BEFORE_FALLBACK {
            let next = policy.after(&not_opened());
            assert_eq!(next.transport, Transport::WebSocket);
            assert!(next.back_off);
        }
        let next = policy.after(&not_opened());
        assert_eq!(
            next,
            Next {
                transport: Transport::EventStream,
                back_off: false
            }
        );
    }

    #[test]
    fn a_websocket_that_was_live_resets_the_failure_count() {
        let mut policy = TransportPolicy::default();
        for _ in 1..WEBSOCKET_FAILURES_BEFORE_FALLBACK {
            policy.after(&not_opened());
        }
        policy.after(&SessionEnd::Ended("cut".into()));
        for _ in 1..WEBSOCKET_FAILURES_BEFORE_FALLBACK {
            assert_eq!(policy.after(&not_opened()).transport, Transport::WebSocket);
        }
    }

    #[test]
    fn moves_back_to_the_websocket_when_a_probe_succeeds() {
        let mut policy = TransportPolicy::default();
        for _ in 0..WEBSOCKET_FAILURES_BEFORE_FALLBACK {
            policy.after(&not_opened());
        }
        let dropped = policy.after(&SessionEnd::Ended("dropped".into()));
        assert_eq!(
            dropped.transport,
            Transport::EventStream,
            "a drop is no reason to switch"
        );
        let next = policy.after(&SessionEnd::UpgradeAvailable);
        assert_eq!(
            next,
            Next {
                transport: Transport::WebSocket,
                back_off: false
            }
        );
    }

    #[test]
    fn a_reopen_stays_on_the_transport_without_waiting() {
        let mut policy = TransportPolicy::default();
        for _ in 0..WEBSOCKET_FAILURES_BEFORE_FALLBACK {
            policy.after(&not_opened());
        }
        let next = policy.after(&SessionEnd::Reopen("watchlist changed".into()));
        assert_eq!(
            next,
            Next {
                transport: Transport::EventStream,
                back_off: false
            }
        );
    }

    #[test]
    fn when_sse_cannot_open_either_the_websocket_is_tried_again() {
        let mut policy = TransportPolicy::default();
        for _ in 0..WEBSOCKET_FAILURES_BEFORE_FALLBACK {
            policy.after(&not_opened());
        }
        let next = policy.after(&not_opened());
        assert_eq!(next.transport, Transport::WebSocket);
        assert!(next.back_off);
    }
}
