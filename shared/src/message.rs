//! The messages of protocol version 1: JSON text frames, tagged by `type`, in `snake_case`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{
    AlertFired, AlertId, AlertRule, Candle, ChatMessage, ChatPost, ErrorCode, Interval, Symbol,
    SymbolInfo, SymbolList, Tick,
};

/// A message from the browser (or any client) to the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Start receiving these symbols: the server answers with one `snapshot` per newly
    /// subscribed symbol, then streams its ticks. Subscribing twice is harmless.
    Subscribe {
        /// Symbols to add, or `["*"]` for all.
        symbols: SymbolList,
    },
    /// Stop receiving these symbols; answered by `unsubscribed`, after which no tick of them
    /// arrives.
    Unsubscribe {
        /// Symbols to drop, or `["*"]` for all.
        symbols: SymbolList,
    },
    /// After a reconnect: subscribe to these symbols, continuing after the last sequence number
    /// seen of each. The server replays the missed ticks if it still holds them and the
    /// instance is the same; otherwise it sends a `snapshot` with `reset: true`.
    Resume {
        /// `instance_id` from the `hello` of the connection the sequence numbers came from.
        instance_id: String,
        /// Last sequence number seen, per symbol.
        last_seq: BTreeMap<Symbol, u64>,
    },
    /// Application-level ping; answered by `pong` echoing `ts`.
    Ping {
        /// The client's clock when sending, in any unit the client likes (usually ms).
        ts: f64,
    },
    /// Older candles of one symbol at one interval, for a chart scrolled back past what the
    /// snapshot gave; answered by `history`. The symbol need not be subscribed.
    History(HistoryRequest),
    /// Sets a price alert, evaluated by the server on every later tick of the symbol; answered
    /// by `alert_added` (or an `error` naming the rule). A rule with the id of one held
    /// replaces it, so re-sending every rule after a reconnect is harmless.
    AddAlert(AlertRule),
    /// Drops the alert with this id; answered by `alert_removed`, also when no rule had it.
    RemoveAlert {
        /// The rule's id.
        id: AlertId,
    },
    /// Posts a message to the desk chat: broadcast as `chat` to every connection, the sender's
    /// included, or refused with an `error`.
    Chat(ChatPost),
}

/// The field names each client message type may carry, `type` excluded. Decoding rejects any
/// other field by name (see [`crate::decode_client`]).
pub(crate) fn client_fields(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "subscribe" | "unsubscribe" => Some(&["symbols"]),
        "resume" => Some(&["instance_id", "last_seq"]),
        "ping" => Some(&["ts"]),
        "history" => Some(&["symbol", "interval", "before", "limit"]),
        "add_alert" => Some(&["id", "symbol", "condition", "price"]),
        "remove_alert" => Some(&["id"]),
        "chat" => Some(&["name", "text"]),
        _ => None,
    }
}

/// A message from the server to the client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// First message on every connection.
    Hello(Hello),
    /// The full current state of one symbol.
    Snapshot(Snapshot),
    /// One or more ticks, in sequence order per symbol. Several ticks share a frame when the
    /// server has more than one ready to send.
    Ticks {
        /// The ticks, at least one.
        ticks: Vec<Tick>,
        /// Candles that these ticks closed, now final (absent when none did). Apply them after
        /// the ticks: each replaces the candle with the same start that the ticks built.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        candles: Vec<CandleUpdate>,
    },
    /// A candle that has just closed and is final. Servers of this version send closed candles
    /// inside `ticks` instead; a client still accepts this message on its own.
    Candle(CandleUpdate),
    /// Confirms an `unsubscribe`: no tick of these symbols follows.
    Unsubscribed {
        /// The symbols no longer subscribed.
        symbols: Vec<Symbol>,
    },
    /// Answer to a client `ping`.
    Pong(Pong),
    /// Something the client sent was refused; the connection stays open.
    Error(ErrorMessage),
    /// Answer to a client `history` request: a page of older candles.
    History(HistoryPage),
    /// Confirms an `add_alert`: the rule is set, as given.
    AlertAdded(AlertRule),
    /// Confirms a `remove_alert`: no rule has this id any more.
    AlertRemoved {
        /// The id of the removed rule.
        id: AlertId,
    },
    /// A rule fired on a trade and is gone (alerts are one-shot). It follows the message that
    /// carried that trade.
    Alert(AlertFired),
    /// A desk chat message, sent to every connection (the sender's too).
    Chat(ChatMessage),
    /// The desk chat's recent messages, oldest first: the second message on every connection,
    /// right after `hello`.
    ChatHistory {
        /// At most [`crate::chat::CHAT_HISTORY_LEN`] messages, possibly none.
        messages: Vec<ChatMessage>,
    },
}

/// Contents of the `hello` message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Protocol version the server speaks, [`crate::PROTOCOL_VERSION`].
    pub protocol_version: u16,
    /// Random id of this server process. Sequence numbers continue only within one instance:
    /// a different id after a reconnect means the server restarted.
    pub instance_id: String,
    /// When this instance started, Unix milliseconds.
    pub started_at: i64,
    /// Server clock when the hello was sent, Unix milliseconds.
    pub server_time: i64,
    /// How often the server sends WebSocket pings, in milliseconds.
    pub heartbeat_interval_ms: u64,
    /// Candle intervals the server aggregates.
    pub intervals: Vec<Interval>,
    /// Every symbol the server offers.
    pub symbols: Vec<SymbolInfo>,
}

/// Contents of the `snapshot` message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The symbol described.
    pub symbol: Symbol,
    /// True when this snapshot replaces state the client may hold (a resume that could not be
    /// served from history, or a server restart): the client must drop its old data.
    pub reset: bool,
    /// The latest tick, or `null` if the symbol has not traded yet. Its `seq` is the sequence
    /// number the next tick continues from.
    pub quote: Option<Tick>,
    /// The most recent candles per interval, oldest first; the last one is still open.
    pub candles: BTreeMap<Interval, Vec<Candle>>,
}

/// Contents of the client's `history` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRequest {
    /// The symbol whose candles are wanted.
    pub symbol: Symbol,
    /// Their interval.
    pub interval: Interval,
    /// Only candles that start before this time (Unix milliseconds) are wanted: usually the
    /// start of the oldest candle the client holds.
    pub before: i64,
    /// How many candles at most, 1 to [`crate::MAX_HISTORY_CANDLES`].
    pub limit: u32,
}

/// Contents of the server's `history` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    /// The symbol, as requested.
    pub symbol: Symbol,
    /// The interval, as requested.
    pub interval: Interval,
    /// The newest `limit` candles that start before `before`, oldest first (possibly none).
    pub candles: Vec<Candle>,
    /// True when the server holds no candle older than the first one here (or none at all):
    /// asking further back gives nothing, so the client should stop.
    pub complete: bool,
}

/// Contents of the `candle` message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandleUpdate {
    /// The candle's symbol.
    pub symbol: Symbol,
    /// The candle's interval.
    pub interval: Interval,
    /// The final candle.
    pub candle: Candle,
}

/// Contents of the `pong` message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pong {
    /// The `ts` of the client's `ping`, unchanged.
    pub ts: f64,
    /// Server clock when answering, Unix milliseconds.
    pub server_time: i64,
}

/// Contents of the `error` message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorMessage {
    /// Stable machine-readable code.
    pub code: ErrorCode,
    /// Human-readable explanation; its wording may change.
    pub message: String,
    /// The `type` of the client message refused (`"subscribe"`, `"add_alert"`, …), when the
    /// server could tell it; absent for input with no known type and for refusals that are not
    /// about one message (a rate limit on every frame, a binary frame).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    /// The `id` of the alert a refused `add_alert` or `remove_alert` named, so a client can tell
    /// which of its rules was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_id: Option<AlertId>,
}

impl ErrorMessage {
    /// An error about no message in particular.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorMessage {
            code,
            message: message.into(),
            in_reply_to: None,
            alert_id: None,
        }
    }

    /// The same error, naming the `type` of the client message it refuses.
    pub fn replying_to(mut self, kind: &str) -> Self {
        self.in_reply_to = Some(kind.to_owned());
        self
    }

    /// The same error, naming the alert the refused message was about.
    pub fn for_alert(mut self, id: AlertId) -> Self {
        self.alert_id = Some(id);
        self
    }
}

impl From<ErrorMessage> for ServerMessage {
    fn from(error: ErrorMessage) -> Self {
        ServerMessage::Error(error)
    }
}

impl ClientMessage {
    /// The message's `type` on the wire, e.g. `"subscribe"`.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientMessage::Subscribe { .. } => "subscribe",
            ClientMessage::Unsubscribe { .. } => "unsubscribe",
            ClientMessage::Resume { .. } => "resume",
            ClientMessage::Ping { .. } => "ping",
            ClientMessage::History(_) => "history",
            ClientMessage::AddAlert(_) => "add_alert",
            ClientMessage::RemoveAlert { .. } => "remove_alert",
            ClientMessage::Chat(_) => "chat",
        }
    }

    /// The message as a JSON text frame.
    pub fn to_json(&self) -> String {
        // unwrap: every field serializes infallibly (strings, numbers, string-keyed maps).
        serde_json::to_string(self).expect("client messages always serialize")
    }
}

impl ServerMessage {
    /// The message as a JSON text frame.
    pub fn to_json(&self) -> String {
        // unwrap: every field serializes infallibly (strings, numbers, string-keyed maps).
        serde_json::to_string(self).expect("server messages always serialize")
    }

    /// An `error` message about no client message in particular (see [`ErrorMessage`] for
    /// one that names what it refuses).
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        ServerMessage::Error(ErrorMessage::new(code, message))
    }
}
