//! WebSocket close codes (RFC 6455 §7.4.1) the server sends, and what each means to a client.
//!
//! A client reconnects (with backoff) after every close except [`NORMAL`]; [`GOING_AWAY`] and
//! [`POLICY_VIOLATION`] with reason [`REASON_SLOW_CONSUMER`] are the expected ones.

/// The client asked to close.
pub const NORMAL: u16 = 1000;
/// The server is shutting down.
pub const GOING_AWAY: u16 = 1001;
/// The peer broke the WebSocket protocol (bad opcode, reserved bits, unmasked frame, ...).
pub const PROTOCOL_ERROR: u16 = 1002;
/// A text message was not valid UTF-8.
pub const INVALID_PAYLOAD: u16 = 1007;
/// The client fell behind (its outbound queue filled) or stopped answering heartbeats; the
/// close reason says which.
pub const POLICY_VIOLATION: u16 = 1008;
/// The server is at its connection limit; try again later.
pub const TRY_AGAIN_LATER: u16 = 1013;
/// A frame or message was larger than the server accepts.
pub const MESSAGE_TOO_BIG: u16 = 1009;
/// The server failed unexpectedly.
pub const INTERNAL_ERROR: u16 = 1011;

/// Close reason sent with [`POLICY_VIOLATION`] when a client's outbound queue was full.
pub const REASON_SLOW_CONSUMER: &str = "slow consumer: outbound queue full";
/// Close reason sent with [`POLICY_VIOLATION`] when a client was silent past the timeout.
pub const REASON_HEARTBEAT_TIMEOUT: &str = "heartbeat timeout";
/// Close reason sent with [`POLICY_VIOLATION`] when a client kept sending past the rate limit.
pub const REASON_RATE_LIMITED: &str = "message rate limit exceeded";
/// Close reason sent with [`POLICY_VIOLATION`] when a client stayed subscribed to nothing
/// past the idle timeout.
pub const REASON_IDLE: &str = "idle timeout: no subscriptions";
/// Close reason sent with [`GOING_AWAY`] on shutdown.
pub const REASON_SHUTDOWN: &str = "server shutting down";
