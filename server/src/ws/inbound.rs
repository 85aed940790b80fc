//! Reading a client's frames: reassembles fragmented messages within a size bound and maps
//! every protocol failure to the close code RFC 6455 prescribes.
//!
//! actix-ws's own aggregation reports an oversized fragmented message as an I/O error, which
//! cannot be told apart from a broken connection, so fragments are joined here instead.

use std::{cell::Cell, io, rc::Rc, str::Utf8Error};

use actix_ws::{CloseCode, CloseReason, Item, Message, MessageStream, ProtocolError};
use bytestring::ByteString;
use futures_util::StreamExt;
use ticker_shared::close;

use super::guard::Oversize;

/// A complete message from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// A text message (valid UTF-8).
    Text(ByteString),
    /// A binary message.
    Binary(bytes::Bytes),
    /// A ping with its payload, to be answered by a pong.
    Ping(bytes::Bytes),
    /// A pong.
    Pong,
    /// The client is closing, with its reason if it gave one.
    Close(Option<CloseReason>),
}

/// Why reading stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// The client broke the protocol or a limit; close with this reason.
    Close(CloseReason),
    /// The connection failed underneath; nothing can be sent.
    Lost,
}

/// A client's messages, reassembled and bounded.
pub struct InboundFrames {
    stream: MessageStream,
    fragments: Reassembler,
    /// Set by the payload guard when it cut the stream at an oversized frame header.
    oversize: Rc<Cell<Option<Oversize>>>,
}

/// Joins the fragments of one message, up to a size bound.
#[derive(Debug)]
struct Reassembler {
    max_message: usize,
    /// The fragments so far of a message in progress, and whether it is text.
    partial: Option<(bool, Vec<u8>)>,
}

impl InboundFrames {
    /// Reads `stream`, refusing frames and reassembled messages over `max_message` bytes;
    /// `oversize` is the flag of the [`GuardedPayload`](super::guard::GuardedPayload) under it.
    pub fn new(
        stream: MessageStream,
        max_message: usize,
        oversize: Rc<Cell<Option<Oversize>>>,
    ) -> Self {
        InboundFrames {
            stream: stream.max_frame_size(max_message),
            fragments: Reassembler {
                max_message,
                partial: None,
            },
            oversize,
        }
    }

    /// The next complete message, a violation, or `None` when the stream ends.
    pub async fn next(&mut self) -> Option<Result<Inbound, Violation>> {
        loop {
            let message = match self.stream.next().await {
                Some(Ok(message)) => message,
                Some(Err(err)) => return Some(Err(violation_for(&err))),
                None => {
                    let oversize = self.oversize.take()?;
                    let description = format!(
                        "frame too big: {} bytes declared, at most {} accepted",
                        oversize.declared, self.fragments.max_message
                    );
                    return Some(Err(Violation::Close(CloseReason {
                        code: CloseCode::from(close::MESSAGE_TOO_BIG),
                        description: Some(description),
                    })));
                }
            };
            let inbound = match message {
                Message::Text(text) => Inbound::Text(text),
                Message::Binary(bytes) => Inbound::Binary(bytes),
                Message::Continuation(item) => match self.fragments.push(item) {
                    Ok(Some(inbound)) => inbound,
                    Ok(None) => continue,
                    Err(violation) => return Some(Err(violation)),
                },
                Message::Ping(payload) => Inbound::Ping(payload),
                Message::Pong(_) => Inbound::Pong,
                Message::Close(reason) => Inbound::Close(reason),
                Message::Nop => continue,
            };
            return Some(Ok(inbound));
        }
    }
}

impl Reassembler {
    /// Adds a fragment; returns the message when it is complete. The codec already rejects
    /// fragments out of order, so only the size and the final UTF-8 check remain.
    fn push(&mut self, item: Item) -> Result<Option<Inbound>, Violation> {
        let (text, bytes, last) = match item {
            Item::FirstText(bytes) => (Some(true), bytes, false),
            Item::FirstBinary(bytes) => (Some(false), bytes, false),
            Item::Continue(bytes) => (None, bytes, false),
            Item::Last(bytes) => (None, bytes, true),
        };
        if let Some(text) = text {
            self.partial = Some((text, Vec::new()));
        }
        let Some((is_text, buffer)) = self.partial.as_mut() else {
            return Err(close_with(
                close::PROTOCOL_ERROR,
                "continuation without a first fragment",
            ));
        };
        if buffer.len() + bytes.len() > self.max_message {
            self.partial = None;
            return Err(close_with(close::MESSAGE_TOO_BIG, "message too big"));
        }
        buffer.extend_from_slice(&bytes);
        if !last {
            return Ok(None);
        }
        let is_text = *is_text;
        let (_, buffer) = self.partial.take().unwrap_or_default();
        if !is_text {
            return Ok(Some(Inbound::Binary(buffer.into())));
        }
        match String::from_utf8(buffer) {
            Ok(text) => Ok(Some(Inbound::Text(text.into()))),
            Err(_) => Err(close_with(
                close::INVALID_PAYLOAD,
                "invalid UTF-8 in a text message",
            )),
        }
    }
}

fn close_with(code: u16, description: &str) -> Violation {
    Violation::Close(CloseReason {
        code: CloseCode::from(code),
        description: Some(description.to_owned()),
    })
}

/// Maps an actix-ws decoding error to the close the peer deserves.
///
/// actix-http reports both invalid UTF-8 and non-zero reserved bits as `Io(InvalidData)`; only
/// the UTF-8 case carries a [`Utf8Error`], which tells them apart (1007 versus 1002). Other I/O
/// errors come from the transport: the connection is gone.
pub fn violation_for(err: &ProtocolError) -> Violation {
    match err {
        ProtocolError::Overflow => close_with(close::MESSAGE_TOO_BIG, "frame too big"),
        ProtocolError::Io(io) if io.kind() == io::ErrorKind::InvalidData => {
            if io.get_ref().is_some_and(|inner| inner.is::<Utf8Error>()) {
                close_with(close::INVALID_PAYLOAD, "invalid UTF-8 in a text message")
            } else {
                close_with(close::PROTOCOL_ERROR, "protocol error")
            }
        }
        ProtocolError::Io(_) => Violation::Lost,
        _ => close_with(close::PROTOCOL_ERROR, "protocol error"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(violation: Violation) -> u16 {
        match violation {
            Violation::Close(reason) => reason.code.into(),
            Violation::Lost => 0,
        }
    }

    fn reassembler() -> Reassembler {
        Reassembler {
            max_message: 10,
            partial: None,
        }
    }

    #[test]
    fn fragments_join_into_one_message() {
        let mut fragments = reassembler();
        assert_eq!(fragments.push(Item::FirstText("hel".into())), Ok(None));
        assert_eq!(fragments.push(Item::Continue("lo ".into())), Ok(None));
        assert_eq!(
            fragments.push(Item::Last("안".into())),
            Ok(Some(Inbound::Text("hello 안".into())))
        );
        assert_eq!(
            fragments.push(Item::FirstBinary(vec![1, 2].into())),
            Ok(None)
        );
        assert_eq!(
            fragments.push(Item::Last(vec![3].into())),
            Ok(Some(Inbound::Binary(vec![1, 2, 3].into())))
        );
    }

    #[test]
    fn a_character_split_across_fragments_is_valid_but_invalid_utf8_closes_1007() {
        let mut fragments = reassembler();
        let bytes = "é".as_bytes();
        assert_eq!(
            fragments.push(Item::FirstText(bytes[..1].to_vec().into())),
            Ok(None)
        );
        assert_eq!(
            fragments.push(Item::Last(bytes[1..].to_vec().into())),
            Ok(Some(Inbound::Text("é".into())))
        );
        assert_eq!(fragments.push(Item::FirstText(vec![0xff].into())), Ok(None));
        assert_eq!(
            fragments.push(Item::Last(Vec::new().into())).map_err(code),
            Err(1007)
        );
    }

    #[test]
    fn an_oversized_fragmented_message_closes_1009() {
        let mut fragments = reassembler();
        assert_eq!(fragments.push(Item::FirstText("123456".into())), Ok(None));
        assert_eq!(
            fragments
                .push(Item::Continue("789012".into()))
                .map_err(code),
            Err(1009)
        );
    }

    #[test]
    fn close_codes_follow_rfc_6455() {
        let invalid = vec![0xff_u8];
        let utf8_error = std::str::from_utf8(&invalid).unwrap_err();
        let invalid_utf8 =
            ProtocolError::Io(io::Error::new(io::ErrorKind::InvalidData, utf8_error));
        let reserved_bits = ProtocolError::Io(io::Error::new(
            io::ErrorKind::InvalidData,
            "Received a frame with non-zero reserved bits",
        ));
        let reset = ProtocolError::Io(io::Error::new(io::ErrorKind::ConnectionReset, "reset"));
        assert_eq!(code(violation_for(&ProtocolError::Overflow)), 1009);
        assert_eq!(code(violation_for(&invalid_utf8)), 1007);
        assert_eq!(code(violation_for(&reserved_bits)), 1002);
        assert_eq!(code(violation_for(&ProtocolError::BadOpCode)), 1002);
        assert_eq!(code(violation_for(&ProtocolError::UnmaskedFrame)), 1002);
        assert_eq!(code(violation_for(&reset)), 0);
    }
}
