//! A byte budget on the raw WebSocket stream, before actix-ws parses it.
//!
//! actix-http's frame parser only checks a frame's size once the whole frame has arrived, so a
//! header declaring a 1 GiB frame followed by a trickle of payload is buffered for as long as
//! the peer likes. [`GuardedPayload`] reads the frame headers as the bytes pass and ends the
//! stream the moment one declares more than the limit: nothing of that frame is buffered.
//! Written here because no crate offers a header scanner for actix's payload stream; it is a
//! small state machine over RFC 6455 §5.2.

use std::{
    cell::Cell,
    pin::Pin,
    rc::Rc,
    task::{Context, Poll},
};

use actix_web::{dev, error::PayloadError};
use bytes::Bytes;
use futures_util::Stream;

/// Longest frame header: 2 bytes, an 8-byte extended length and a 4-byte mask.
const MAX_HEADER: usize = 14;

/// A frame header declared a payload over the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Oversize {
    /// The declared payload length.
    pub declared: u64,
}

/// Follows frame boundaries in a byte stream and checks each declared length.
#[derive(Debug, Clone)]
pub struct FrameGuard {
    max_payload: u64,
    state: State,
}

#[derive(Debug, Clone)]
enum State {
    Header { bytes: [u8; MAX_HEADER], len: usize },
    Payload { remaining: u64 },
}

const NEW_HEADER: State = State::Header {
    bytes: [0; MAX_HEADER],
    len: 0,
};

impl FrameGuard {
    /// A guard refusing frames whose payload exceeds `max_payload` bytes.
    pub fn new(max_payload: usize) -> Self {
        FrameGuard {
            max_payload: max_payload as u64,
            state: NEW_HEADER,
        }
    }

    /// Scans the next bytes of the stream.
    pub fn scan(&mut self, mut chunk: &[u8]) -> Result<(), Oversize> {
        while !chunk.is_empty() {
            match &mut self.state {
                State::Payload { remaining } => {
                    let skip = (*remaining).min(chunk.len() as u64);
                    *remaining -= skip;
                    // `skip` is at most `chunk.len()`, so it fits in usize.
                    chunk = &chunk[skip as usize..];
                    if *remaining == 0 {
                        self.state = NEW_HEADER;
                    }
                }
                State::Header { bytes, len } => {
                    let needed = header_len(&bytes[..*len]);
                    let take = (needed - *len).min(chunk.len());
                    bytes[*len..*len + take].copy_from_slice(&chunk[..take]);
                    *len += take;
                    chunk = &chunk[take..];
                    if *len < 2 || *len < header_len(&bytes[..*len]) {
                        continue;
                    }
                    let declared = payload_len(&bytes[..*len]);
                    if declared > self.max_payload {
                        return Err(Oversize { declared });
                    }
                    self.state = if declared == 0 {
                        NEW_HEADER
                    } else {
                        State::Payload {
                            remaining: declared,
                        }
                    };
                }
            }
        }
        Ok(())
    }
}

/// The header's full length, known once its first two bytes are.
fn header_len(prefix: &[u8]) -> usize {
    let [_, second, ..] = prefix else {
        return 2;
    };
    let extended = match second & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let mask = if second & 0x80 != 0 { 4 } else { 0 };
    2 + extended + mask
}

/// The payload length a complete header declares.
fn payload_len(header: &[u8]) -> u64 {
    match header[1] & 0x7f {
        126 => u64::from(u16::from_be_bytes([header[2], header[3]])),
        127 => header[2..10]
            .iter()
            .fold(0, |len, &byte| (len << 8) | u64::from(byte)),
        len => u64::from(len),
    }
}

/// The request payload of a WebSocket connection, ended at the first oversized frame header.
pub struct GuardedPayload {
    inner: dev::Payload,
    guard: FrameGuard,
    tripped: Rc<Cell<Option<Oversize>>>,
}

impl GuardedPayload {
    /// Guards `inner`; `tripped` is set when the stream is cut, so the reader can tell the
    /// client why (close 1009) instead of seeing a plain end of stream.
    pub fn new(
        inner: dev::Payload,
        max_payload: usize,
        tripped: Rc<Cell<Option<Oversize>>>,
    ) -> Self {
        GuardedPayload {
            inner,
            guard: FrameGuard::new(max_payload),
            tripped,
        }
    }
}

impl Stream for GuardedPayload {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.tripped.get().is_some() {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(bytes))) => match this.guard.scan(&bytes) {
                Ok(()) => Poll::Ready(Some(Ok(bytes))),
                Err(oversize) => {
                    this.tripped.set(Some(oversize));
                    Poll::Ready(None)
                }
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame header declaring `len` bytes.
    fn header(len: u64) -> Vec<u8> {
        let mut bytes = vec![0x81];
        match len {
            0..=125 => bytes.push(0x80 | len as u8),
            126..=0xffff => {
                bytes.push(0x80 | 126);
                bytes.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                bytes.push(0x80 | 127);
                bytes.extend_from_slice(&len.to_be_bytes());
            }
        }
        bytes.extend_from_slice(&[1, 2, 3, 4]);
        bytes
    }

    fn frame(len: usize) -> Vec<u8> {
        let mut bytes = header(len as u64);
        bytes.resize(bytes.len() + len, b'x');
        bytes
    }

    #[test]
    fn frames_within_the_limit_pass_in_any_chunking() {
        let stream: Vec<u8> = [0, 5, 125, 126, 1000, 0xffff, 70_000]
            .into_iter()
            .flat_map(frame)
            .collect();
        for chunk_size in [1, 2, 3, 7, 13, 4096, stream.len()] {
            let mut guard = FrameGuard::new(70_000);
            for chunk in stream.chunks(chunk_size) {
                assert_eq!(guard.scan(chunk), Ok(()), "chunks of {chunk_size}");
            }
            assert!(matches!(guard.state, State::Header { len: 0, .. }));
        }
    }

    #[test]
    fn a_huge_declared_length_trips_on_the_header_alone() {
        let mut stream = frame(10);
        stream.extend(header(1 << 30));
        for chunk_size in [1, 3, stream.len()] {
            let mut guard = FrameGuard::new(64 * 1024);
            let outcome: Result<Vec<()>, Oversize> =
                stream.chunks(chunk_size).map(|c| guard.scan(c)).collect();
            assert_eq!(outcome, Err(Oversize { declared: 1 << 30 }));
        }
        let mut guard = FrameGuard::new(65_535);
        assert_eq!(
            guard.scan(&header(65_536)),
            Err(Oversize { declared: 65_536 })
        );
    }

    #[test]
    fn unmasked_frames_are_followed_too() {
        // Server-style (unmasked) header: actix rejects it later, the guard must not lose sync.
        let mut guard = FrameGuard::new(10);
        assert_eq!(
            guard.scan(&[0x81, 3, b'a', b'b', b'c', 0x81, 11]),
            Err(Oversize { declared: 11 })
        );
    }
}
