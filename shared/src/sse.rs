//! The Server-Sent Events transport (`/sse`), the fallback for networks that block WebSockets:
//! its event names and the resume cursor.
//!
//! Each event's `data` is one [`crate::ServerMessage`] in the same JSON as on the WebSocket, sent
//! as the default `message` event. Two more events exist only on this transport:
//! [`EVENT_HEARTBEAT`] (the server's keep-alive, in place of WebSocket pings) and [`EVENT_END`]
//! (the server is ending the stream; in place of a close frame).
//!
//! The stream cannot carry a `resume` message from the client, so the same information — where
//! the client stands in each symbol's tick sequence — travels as a [`ResumeCursor`] instead:
//! the server sets it as each event's `id`, the browser's `EventSource` sends the last one back
//! in the `Last-Event-ID` header when it reconnects by itself, and a client that reconnects on
//! its own passes it as the `last_event_id` query parameter.
//!
//! The cursor's text: the instance id, `/`, then `SYMBOL:SEQ` pairs separated by `,`, in symbol
//! order:
//!
//! ```text
//! 5f2c9a1e0b7d4c38/AAPL:1042,MSFT:977
//! ```
//!
//! Symbols never contain `/`, `:` or `,` (see [`Symbol`]), and instance ids are hexadecimal, so
//! the text needs no escaping. Parsing is total and bounded like every other client input.

use std::{collections::BTreeMap, fmt};

use crate::{MAX_CLIENT_MESSAGE_BYTES, MAX_SYMBOLS_PER_REQUEST, Symbol, symbol::SymbolError};

/// Name of the keep-alive event the server sends every heartbeat interval; its data is the
/// server's clock in Unix milliseconds. A client that hears nothing for several intervals
/// treats the stream as dead.
pub const EVENT_HEARTBEAT: &str = "heartbeat";

/// Name of the event the server sends just before it ends a stream on purpose; its data is
/// `{"code":…,"reason":…}` with the close code a WebSocket would have received
/// (1001 on shutdown, 1008 for a slow consumer).
pub const EVENT_END: &str = "end";

/// Longest instance id accepted in a cursor.
const MAX_INSTANCE_ID_LEN: usize = 64;

/// Where a client stands: the server instance its sequence numbers come from and the last
/// sequence number it has seen per symbol. The text form is the `Display` output; parse it
/// with [`ResumeCursor::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResumeCursor {
    /// `instance_id` from the `hello` the sequence numbers belong to.
    pub instance_id: String,
    /// Last sequence number seen, per symbol.
    pub last_seq: BTreeMap<Symbol, u64>,
}

/// Why a text is not a valid [`ResumeCursor`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    /// The text is longer than any cursor the server writes.
    #[error("resume cursor is {0} bytes; at most {MAX_CLIENT_MESSAGE_BYTES} are accepted")]
    TooLong(usize),
    /// The `/` between the instance id and the sequence numbers is missing.
    #[error("resume cursor must look like INSTANCE/SYMBOL:SEQ,SYMBOL:SEQ")]
    Shape,
    /// The instance id is empty, too long or not hexadecimal.
    #[error("resume cursor has an invalid instance id")]
    InstanceId,
    /// An entry is not `SYMBOL:SEQ`, or its sequence number is not a number.
    #[error("resume cursor entry {0:?} must be SYMBOL:SEQ with SEQ a whole number")]
    Entry(String),
    /// An entry names an invalid symbol.
    #[error("resume cursor: {0}")]
    Symbol(#[from] SymbolError),
    /// The same symbol appears twice.
    #[error("resume cursor names {0} twice")]
    Duplicate(Symbol),
    /// More symbols than one request may name.
    #[error("resume cursor names more than {MAX_SYMBOLS_PER_REQUEST} symbols")]
    TooManySymbols,
}

impl ResumeCursor {
    /// Parses the text form. Every input gives a cursor or a [`CursorError`].
    pub fn parse(text: &str) -> Result<Self, CursorError> {
        if text.len() > MAX_CLIENT_MESSAGE_BYTES {
            return Err(CursorError::TooLong(text.len()));
        }
        let (instance_id, entries) = text.split_once('/').ok_or(CursorError::Shape)?;
        let valid_instance = !instance_id.is_empty()
            && instance_id.len() <= MAX_INSTANCE_ID_LEN
            && instance_id.bytes().all(|b| b.is_ascii_hexdigit());
        if !valid_instance {
            return Err(CursorError::InstanceId);
        }
        let mut last_seq = BTreeMap::new();
        for entry in entries.split(',').filter(|entry| !entry.is_empty()) {
            if last_seq.len() == MAX_SYMBOLS_PER_REQUEST {
                return Err(CursorError::TooManySymbols);
            }
            let (symbol, seq) = entry
                .split_once(':')
                .ok_or_else(|| CursorError::Entry(shorten(entry)))?;
            let seq: u64 = seq
                .parse()
                .map_err(|_| CursorError::Entry(shorten(entry)))?;
            let symbol = Symbol::new(symbol)?;
            if last_seq.insert(symbol.clone(), seq).is_some() {
                return Err(CursorError::Duplicate(symbol));
            }
        }
        Ok(ResumeCursor {
            instance_id: instance_id.to_owned(),
            last_seq,
        })
    }
}

impl fmt::Display for ResumeCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.instance_id)?;
        f.write_str("/")?;
        for (i, (symbol, seq)) in self.last_seq.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{symbol}:{seq}")?;
        }
        Ok(())
    }
}

/// Keeps error messages short when a client sends a huge entry.
fn shorten(text: &str) -> String {
    const KEEP: usize = 32;
    if text.chars().count() <= KEEP {
        text.to_owned()
    } else {
        text.chars().take(KEEP).chain("…".chars()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbol(text: &str) -> Symbol {
        Symbol::new(text).unwrap()
    }

    #[test]
    fn writes_the_documented_form_and_reads_it_back() {
        let cursor = ResumeCursor {
            instance_id: "5f2c9a1e0b7d4c38".into(),
            last_seq: BTreeMap::from([(symbol("MSFT"), 977), (symbol("AAPL"), 1042)]),
        };
        let text = cursor.to_string();
        assert_eq!(text, "5f2c9a1e0b7d4c38/AAPL:1042,MSFT:977");
        assert_eq!(ResumeCursor::parse(&text), Ok(cursor));
    }

    #[test]
    fn a_cursor_without_symbols_is_valid() {
        let cursor = ResumeCursor::parse("ab12/").unwrap();
        assert_eq!(cursor.instance_id, "ab12");
        assert!(cursor.last_seq.is_empty());
    }

    #[test]
    fn bad_cursors_say_what_is_wrong() {
        let huge_seq = "AAPL:99999999999999999999999";
        let cases = [
            ("AAPL:1", CursorError::Shape),
            ("/AAPL:1", CursorError::InstanceId),
            ("xyz!/AAPL:1", CursorError::InstanceId),
            ("ab/AAPL", CursorError::Entry("AAPL".into())),
            ("ab/AAPL:-1", CursorError::Entry("AAPL:-1".into())),
            (
                &format!("ab/{huge_seq}"),
                CursorError::Entry(huge_seq.into()),
            ),
            (
                "ab/aapl:1",
                CursorError::Symbol(SymbolError::BadCharacter("aapl".into())),
            ),
            ("ab/AAPL:1,AAPL:2", CursorError::Duplicate(symbol("AAPL"))),
        ];
        for (text, expected) in cases {
            let err = ResumeCursor::parse(text).unwrap_err();
            assert_eq!(err, expected, "{text:?}");
            assert!(!err.to_string().is_empty());
        }
    }

    #[test]
    fn oversize_and_overlong_cursors_are_refused() {
        let huge = format!("ab/{}", "A:1,".repeat(MAX_CLIENT_MESSAGE_BYTES));
        assert!(matches!(
            ResumeCursor::parse(&huge),
            Err(CursorError::TooLong(_))
        ));
        let many: Vec<String> = (0..=MAX_SYMBOLS_PER_REQUEST)
            .map(|i| format!("S{i}:1"))
            .collect();
        assert_eq!(
            ResumeCursor::parse(&format!("ab/{}", many.join(","))),
            Err(CursorError::TooManySymbols)
        );
    }
}
