//! Turning text into messages and back.
//!
//! [`decode_client`] is total: any input, however hostile, yields a [`ClientMessage`] or a
//! [`DecodeError`] whose [`ErrorCode`] the server sends back. [`TickFrame`] builds a `ticks`
//! frame from ticks serialized once, so a server can share the bytes among all subscribers.

mod server;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use self::server::decode_server;

use crate::{
    AlertId, CandleUpdate, ClientMessage, ErrorMessage, MAX_CLIENT_MESSAGE_BYTES,
    MAX_HISTORY_CANDLES, MAX_SYMBOLS_PER_REQUEST, ServerMessage, Tick, message::client_fields,
};

/// Stable, machine-readable error codes of the `error` message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The message exceeded [`MAX_CLIENT_MESSAGE_BYTES`].
    MessageTooLarge,
    /// The text is not JSON.
    MalformedJson,
    /// The JSON is not an object.
    NotAnObject,
    /// The object has no string `type` field.
    MissingType,
    /// The `type` is not one the server knows.
    UnknownType,
    /// The object has a field its `type` does not define.
    UnknownField,
    /// A field is missing or has the wrong type or value.
    InvalidMessage,
    /// A symbol is not offered by the server.
    UnknownSymbol,
    /// A binary frame arrived; this protocol uses text frames only.
    UnsupportedBinary,
    /// The client sent messages faster than the server's per-connection rate limit; the
    /// message was dropped. A client that keeps going is closed with 1008.
    RateLimited,
    /// The request would take the connection past the server's subscription limit; nothing
    /// was changed.
    TooManySubscriptions,
    /// An alert rule's price is not positive or absurdly high; the rule was not set.
    InvalidAlert,
    /// The connection holds [`crate::alert::MAX_ALERTS_PER_CONNECTION`] rules already; the
    /// rule was not set.
    TooManyAlerts,
    /// A chat message's name or text is empty or holds a control character, a line separator or
    /// a bidirectional control; it was not posted.
    InvalidChat,
    /// A chat message's name or text is over its length limit; it was not posted.
    ChatTooLong,
}

/// Why client text is not a valid [`ClientMessage`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The text is longer than [`MAX_CLIENT_MESSAGE_BYTES`].
    #[error("message is {len} bytes, more than the {MAX_CLIENT_MESSAGE_BYTES} allowed")]
    TooLarge {
        /// Size of the rejected text in bytes.
        len: usize,
    },
    /// The text is not JSON.
    #[error("not valid JSON: {0}")]
    MalformedJson(String),
    /// The JSON value is not an object.
    #[error("a message must be a JSON object with a \"type\" field")]
    NotAnObject,
    /// The object lacks a string `type`.
    #[error("a message must have a string \"type\" field")]
    MissingType,
    /// The `type` is unknown.
    #[error(
        "unknown message type {0:?}; expected subscribe, unsubscribe, resume, ping, history, \
         add_alert, remove_alert or chat"
    )]
    UnknownType(String),
    /// The object has a field its type does not define.
    #[error("unknown field {field:?} in a {kind:?} message")]
    UnknownField {
        /// The message type.
        kind: String,
        /// The unexpected field.
        field: String,
        /// The alert id an `add_alert` or `remove_alert` named, if it had a valid one.
        alert_id: Option<AlertId>,
    },
    /// A field is missing, of the wrong type, or has an invalid value.
    #[error("invalid {kind:?} message: {reason}")]
    Invalid {
        /// The message type.
        kind: String,
        /// What is wrong, from the field's validation.
        reason: String,
        /// The alert id an `add_alert` or `remove_alert` named, if it had a valid one.
        alert_id: Option<AlertId>,
    },
}

impl DecodeError {
    /// The code sent to the client in the `error` message.
    pub fn code(&self) -> ErrorCode {
        match self {
            DecodeError::TooLarge { .. } => ErrorCode::MessageTooLarge,
            DecodeError::MalformedJson(_) => ErrorCode::MalformedJson,
            DecodeError::NotAnObject => ErrorCode::NotAnObject,
            DecodeError::MissingType => ErrorCode::MissingType,
            DecodeError::UnknownType(_) => ErrorCode::UnknownType,
            DecodeError::UnknownField { .. } => ErrorCode::UnknownField,
            DecodeError::Invalid { .. } => ErrorCode::InvalidMessage,
        }
    }

    /// What the `error` message telling the client what went wrong says, naming the refused
    /// message's type when it is a known one.
    pub fn to_error(&self) -> ErrorMessage {
        let error = ErrorMessage::new(self.code(), self.to_string());
        match self {
            DecodeError::UnknownField { kind, alert_id, .. }
            | DecodeError::Invalid { kind, alert_id, .. } => {
                let error = error.replying_to(kind);
                match alert_id {
                    Some(id) => error.for_alert(*id),
                    None => error,
                }
            }
            _ => error,
        }
    }

    /// The `error` message telling the client what went wrong (see [`DecodeError::to_error`]).
    pub fn to_message(&self) -> ServerMessage {
        self.to_error().into()
    }
}

/// Longest piece of client input quoted back in an error message.
const MAX_QUOTED_BYTES: usize = 64;
/// Longest explanation passed on from the JSON parser, which may quote client input whole
/// (`invalid type: string "…"`).
const MAX_REASON_BYTES: usize = 160;

/// Decodes one text frame from a client.
///
/// The checks run in order — size, JSON syntax (serde_json limits nesting to 128 levels), object
/// shape, `type`, field names, field values — so the error names the first problem.
pub fn decode_client(text: &str) -> Result<ClientMessage, DecodeError> {
    if text.len() > MAX_CLIENT_MESSAGE_BYTES {
        return Err(DecodeError::TooLarge { len: text.len() });
    }
    let value: Value =
        serde_json::from_str(text).map_err(|err| DecodeError::MalformedJson(err.to_string()))?;
    let Value::Object(object) = value else {
        return Err(DecodeError::NotAnObject);
    };
    let Some(Value::String(kind)) = object.get("type") else {
        return Err(DecodeError::MissingType);
    };
    let kind = kind.clone();
    let Some(fields) = client_fields(&kind) else {
        return Err(DecodeError::UnknownType(quote(&kind)));
    };
    let alert_id = alert_id_of(&kind, &object);
    if let Some(field) = object
        .keys()
        .find(|key| *key != "type" && !fields.contains(&key.as_str()))
    {
        return Err(DecodeError::UnknownField {
            kind,
            field: quote(field),
            alert_id,
        });
    }
    let message: ClientMessage =
        serde_json::from_value(Value::Object(object)).map_err(|err| DecodeError::Invalid {
            kind: kind.clone(),
            reason: shorten(&err.to_string(), MAX_REASON_BYTES),
            alert_id,
        })?;
    if let Some(reason) = out_of_range(&message) {
        return Err(DecodeError::Invalid {
            kind,
            reason,
            alert_id,
        });
    }
    Ok(message)
}

/// The alert id an alert message names, when it is a valid one: an error about the rest of the
/// message can then say which rule it refuses.
fn alert_id_of(kind: &str, object: &serde_json::Map<String, Value>) -> Option<AlertId> {
    if !matches!(kind, "add_alert" | "remove_alert") {
        return None;
    }
    object
        .get("id")
        .and_then(Value::as_u64)
        .and_then(|id| AlertId::try_from(id).ok())
}

/// What is wrong with a value that has the right type but is out of the message's range.
fn out_of_range(message: &ClientMessage) -> Option<String> {
    match message {
        ClientMessage::Resume { last_seq, .. } if last_seq.len() > MAX_SYMBOLS_PER_REQUEST => {
            Some(format!(
                "at most {MAX_SYMBOLS_PER_REQUEST} symbols per request, got {}",
                last_seq.len()
            ))
        }
        ClientMessage::History(request) if !(1..=MAX_HISTORY_CANDLES).contains(&request.limit) => {
            Some(format!(
                "limit must be 1 to {MAX_HISTORY_CANDLES} candles, got {}",
                request.limit
            ))
        }
        _ => None,
    }
}

/// Shortens client-supplied text before it is echoed in an error message, which shows it
/// escaped (`{:?}`): the bound is on that rendering, where one control character takes up to
/// ten bytes (`\u{10ffff}`), not on the raw text.
fn quote(text: &str) -> String {
    let mut rendered = 0;
    for (at, c) in text.char_indices() {
        rendered += c.escape_debug().map(char::len_utf8).sum::<usize>();
        if rendered > MAX_QUOTED_BYTES {
            return format!("{}…", &text[..at]);
        }
    }
    text.to_owned()
}

/// `text` cut to at most `max` bytes on a character boundary, with `…` if anything was cut.
fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let end = (0..=max)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    format!("{}…", &text[..end])
}

/// Serializes a tick on its own, as it appears inside a `ticks` message, so that the bytes can be
/// shared by every subscriber and joined with [`TickFrame`].
pub fn encode_tick(tick: &Tick) -> String {
    // unwrap: a tick has only strings and integers, which always serialize.
    serde_json::to_string(tick).expect("ticks always serialize")
}

/// Serializes a closed candle as it appears in the `candles` of a `ticks` message.
pub fn encode_candle(update: &CandleUpdate) -> String {
    // unwrap: a candle update has only strings and integers, which always serialize.
    serde_json::to_string(update).expect("candle updates always serialize")
}

/// Builds a `ticks` message from ticks and candles already serialized by [`encode_tick`] and
/// [`encode_candle`], without re-serializing them. The result is byte-for-byte what
/// [`ServerMessage::to_json`] gives for the same ticks and candles.
///
/// A server keeps one frame per symbol for the ticks of a short window and [`TickFrame::join`]s
/// the frames of the symbols a subscription covers into the one message every subscriber with
/// that subscription is sent.
#[derive(Debug, Default, Clone)]
pub struct TickFrame {
    /// Serialized ticks, comma-separated.
    ticks: String,
    /// Serialized candle updates, comma-separated.
    candles: String,
    count: usize,
}

impl TickFrame {
    const PREFIX: &'static str = r#"{"type":"ticks","ticks":["#;
    const CANDLES: &'static str = r#"],"candles":["#;
    const SUFFIX: &'static str = "]}";

    /// An empty frame.
    pub fn new() -> Self {
        TickFrame::default()
    }

    /// Appends one serialized tick.
    pub fn push(&mut self, encoded_tick: &str) {
        append(&mut self.ticks, encoded_tick);
        self.count += 1;
    }

    /// Appends one serialized candle update (see [`encode_candle`]).
    pub fn push_candle(&mut self, encoded_candle: &str) {
        append(&mut self.candles, encoded_candle);
    }

    /// Number of ticks appended.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no tick was appended.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes the finished frame will have.
    pub fn byte_len(&self) -> usize {
        Self::joined_len(std::iter::once(self))
    }

    /// Forgets the ticks and candles, keeping the allocations for reuse.
    pub fn clear(&mut self) {
        self.ticks.clear();
        self.candles.clear();
        self.count = 0;
    }

    /// The finished message text, or `None` if no tick was appended; leaves the frame empty.
    pub fn finish(&mut self) -> Option<String> {
        let text = Self::join([&*self]);
        self.clear();
        text
    }

    /// One message with the ticks of every part, in order, then their candles; `None` if the
    /// parts hold no tick. Allocates once, at the exact size.
    pub fn join<'a, I>(parts: I) -> Option<String>
    where
        I: IntoIterator<Item = &'a TickFrame>,
        I::IntoIter: Clone,
    {
        let parts = parts.into_iter();
        let len = Self::joined_len(parts.clone());
        if len == 0 {
            return None;
        }
        let mut text = String::with_capacity(len);
        text.push_str(Self::PREFIX);
        let mut first = true;
        for part in parts.clone().filter(|part| !part.ticks.is_empty()) {
            if !std::mem::take(&mut first) {
                text.push(',');
            }
            text.push_str(&part.ticks);
        }
        let mut candles = parts.filter(|part| !part.candles.is_empty()).peekable();
        if candles.peek().is_some() {
            text.push_str(Self::CANDLES);
            let mut first = true;
            for part in candles {
                if !std::mem::take(&mut first) {
                    text.push(',');
                }
                text.push_str(&part.candles);
            }
        }
        text.push_str(Self::SUFFIX);
        debug_assert_eq!(text.len(), len);
        Some(text)
    }

    /// The length [`TickFrame::join`] will give: 0 without ticks.
    fn joined_len<'a>(parts: impl Iterator<Item = &'a TickFrame>) -> usize {
        let (mut ticks, mut tick_parts, mut candles, mut candle_parts) = (0, 0, 0, 0);
        for part in parts {
            if !part.ticks.is_empty() {
                ticks += part.ticks.len();
                tick_parts += 1;
            }
            if !part.candles.is_empty() {
                candles += part.candles.len();
                candle_parts += 1;
            }
        }
        if tick_parts == 0 {
            return 0;
        }
        let separators = |parts: usize| parts.saturating_sub(1);
        let candles_len = if candle_parts == 0 {
            0
        } else {
            Self::CANDLES.len() + candles + separators(candle_parts)
        };
        Self::PREFIX.len() + ticks + separators(tick_parts) + candles_len + Self::SUFFIX.len()
    }
}

/// Appends `item` to a comma-separated list.
fn append(list: &mut String, item: &str) {
    if !list.is_empty() {
        list.push(',');
    }
    list.push_str(item);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_cuts_long_text_on_a_char_boundary() {
        assert_eq!(quote("short"), "short");
        let long = "é".repeat(100);
        let quoted = quote(&long);
        assert!(quoted.len() <= MAX_QUOTED_BYTES + "…".len());
        assert!(quoted.ends_with('…'));
    }

    #[test]
    fn quoting_bounds_the_escaped_rendering_of_control_characters() {
        let field = format!("s{}", "\u{7f}".repeat(200));
        let text = format!(r#"{{"type":"subscribe","symbols":["AAPL"],"{field}":1}}"#);
        let err = decode_client(&text).unwrap_err();
        assert_eq!(err.code(), ErrorCode::UnknownField);
        let DecodeError::UnknownField { field: quoted, .. } = &err else {
            unreachable!("checked by the code above")
        };
        assert!(format!("{quoted:?}").len() <= MAX_QUOTED_BYTES + "\"…\"".len());
        let reply = err.to_message().to_json();
        assert!(reply.len() < 300, "{} bytes: {reply}", reply.len());
    }

    #[test]
    fn a_long_string_in_the_wrong_place_is_not_echoed_whole() {
        let text = format!(r#"{{"type":"ping","ts":"{}"}}"#, "x".repeat(1000));
        let err = decode_client(&text).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidMessage);
        let reply = err.to_message().to_json();
        assert!(reply.len() < 300, "{} bytes: {reply}", reply.len());
        assert!(reply.contains("invalid type: string"), "{reply}");
    }

    #[test]
    fn an_empty_tick_frame_finishes_to_nothing() {
        let mut frame = TickFrame::new();
        assert!(frame.is_empty());
        assert_eq!(frame.byte_len(), 0);
        assert_eq!(frame.finish(), None);
    }
}
