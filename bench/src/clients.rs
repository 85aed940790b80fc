//! The load clients: healthy ones that read everything, measure latency and check sequence
//! numbers, and a stalled one that subscribes to everything and then never reads.

use std::{
    collections::HashMap,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, Result, bail};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use ticker_shared::{ClientMessage, ServerMessage, Symbol, SymbolList, decode_server};
use tokio::{
    net::{TcpSocket, TcpStream},
    sync::{oneshot, watch},
};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{
        Bytes, Error as WsError, Message, Utf8Bytes, error::ProtocolError, protocol::CloseFrame,
    },
};

/// How a connection that ended without a close frame reads in a report.
const ENDED_WITHOUT_CLOSE: &str = "the connection ended without a close frame";

/// The measurement window a received tick belongs to; the scenario moves every client through
/// them in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Connected, not measured yet.
    Warmup,
    /// Phase A: healthy clients only.
    Baseline,
    /// Phase B, while the stalled client is connected.
    Stalled,
    /// Phase B, after the server disconnected the stalled client.
    Recovered,
    /// Measuring is over: clients close and report.
    Done,
}

impl Phase {
    /// How many phases there are (the length of per-phase arrays).
    pub const COUNT: usize = 5;

    /// The index of this phase in per-phase arrays.
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// Sequence-number guarantees broken on one connection: each symbol's `seq` must go up by
/// exactly 1 from its snapshot on.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SeqViolations {
    /// Places where one or more ticks were skipped.
    pub gaps: u64,
    /// Ticks skipped in total.
    pub missing: u64,
    /// Ticks whose `seq` was not above the last one seen (repeats or going backwards).
    pub duplicates: u64,
    /// Ticks of a symbol that arrived before its snapshot.
    pub before_snapshot: u64,
}

impl SeqViolations {
    /// True if no guarantee was broken.
    pub fn is_clean(&self) -> bool {
        *self == SeqViolations::default()
    }

    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &SeqViolations) {
        self.gaps += other.gaps;
        self.missing += other.missing;
        self.duplicates += other.duplicates;
        self.before_snapshot += other.before_snapshot;
    }
}

/// Checks that each symbol's `seq` increases by exactly 1 on one connection.
#[derive(Debug, Default)]
pub struct SeqChecker {
    last: HashMap<Symbol, u64>,
    /// What went wrong so far.
    pub violations: SeqViolations,
}

impl SeqChecker {
    /// A snapshot of `symbol` whose latest tick is `quote_seq` (`None` before the first trade):
    /// the next tick must follow it.
    pub fn snapshot(&mut self, symbol: &Symbol, quote_seq: Option<u64>) {
        self.last.insert(symbol.clone(), quote_seq.unwrap_or(0));
    }

    /// A tick of `symbol` numbered `seq`; true if it is the next one.
    pub fn tick(&mut self, symbol: &Symbol, seq: u64) -> bool {
        let Some(last) = self.last.get_mut(symbol) else {
            self.violations.before_snapshot += 1;
            self.last.insert(symbol.clone(), seq);
            return false;
        };
        if seq == *last + 1 {
            *last = seq;
            true
        } else if seq > *last {
            self.violations.gaps += 1;
            self.violations.missing += seq - *last - 1;
            *last = seq;
            false
        } else {
            self.violations.duplicates += 1;
            false
        }
    }
}

/// What one healthy client saw.
#[derive(Debug, Default)]
pub struct HealthyReport {
    /// Latency of every tick received, in milliseconds, by phase (see [`Phase::index`]).
    pub latencies: [Vec<f64>; Phase::COUNT],
    /// Payload bytes of `ticks` frames received, by phase.
    pub tick_bytes: [u64; Phase::COUNT],
    /// Sequence-number violations over the whole run.
    pub seq: SeqViolations,
    /// Server messages that did not decode.
    pub undecodable: u64,
    /// `error` messages from the server.
    pub errors: u64,
    /// Why the connection ended before the scenario was done, if it did.
    pub ended_early: Option<String>,
}

/// The wall clock in Unix milliseconds, with sub-millisecond precision.
pub fn unix_millis_f64() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs_f64()
        * 1_000.0
}

/// The `subscribe` message for every symbol, built from the shared types.
fn subscribe_all() -> String {
    ClientMessage::Subscribe {
        symbols: SymbolList::All,
    }
    .to_json()
}

/// A healthy client: connects to `url`, subscribes to every symbol, tells `ready` when its
/// first tick arrives, and reads until `phase` becomes [`Phase::Done`], recording each tick's
/// latency (receipt time minus the tick's `ts`) under the phase current at receipt.
pub async fn healthy(
    url: String,
    mut phase: watch::Receiver<Phase>,
    ready: oneshot::Sender<()>,
) -> Result<HealthyReport> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .with_context(|| format!("cannot connect to {url}"))?;
    ws.send(Message::text(subscribe_all())).await?;
    let mut ready = Some(ready);
    let mut report = HealthyReport::default();
    let mut checker = SeqChecker::default();
    loop {
        let (text, received) = match next_data(&mut ws, &mut phase, Phase::Done).await {
            Read::Text(text, received) => (text, received),
            Read::Binary(..) => {
                // This client speaks JSON only; the server must not send it binary frames.
                report.undecodable += 1;
                continue;
            }
            Read::Ended(how) => {
                report.ended_early = Some(how);
                break;
            }
            Read::Stopped => break,
        };
        let now = phase.borrow().index();
        match decode_server(&text) {
            Ok(ServerMessage::Ticks { ticks, .. }) => {
                report.tick_bytes[now] += text.len() as u64;
                let latencies = &mut report.latencies[now];
                for tick in &ticks {
                    latencies.push(received - tick.ts as f64);
                    checker.tick(&tick.symbol, tick.seq);
                }
                if let Some(ready) = ready.take() {
                    let _ = ready.send(());
                }
            }
            Ok(ServerMessage::Snapshot(snapshot)) => {
                checker.snapshot(&snapshot.symbol, snapshot.quote.map(|quote| quote.seq));
            }
            Ok(ServerMessage::Error(_)) => report.errors += 1,
            Ok(_) => {}
            Err(_) => report.undecodable += 1,
        }
    }
    report.seq = checker.violations;
    if report.ended_early.is_none() {
        // The scenario is over; the server may already be going away, so a failed close is fine.
        let _ = ws.close(None).await;
    }
    Ok(report)
}

/// What a client's read loop got next.
pub enum Read {
    /// A text frame and when it was received (Unix ms).
    Text(Utf8Bytes, f64),
    /// A binary frame and when it was received (Unix ms).
    Binary(Bytes, f64),
    /// The connection ended; how.
    Ended(String),
    /// The run told the client to stop.
    Stopped,
}

/// Waits for the next data frame on `ws`, skipping control frames, until `stage` becomes
/// `done`.
pub async fn next_data<S, T>(
    ws: &mut WebSocketStream<S>,
    stage: &mut watch::Receiver<T>,
    done: T,
) -> Read
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: PartialEq,
{
    loop {
        let message = tokio::select! {
            changed = stage.changed() => {
                if changed.is_err() || *stage.borrow_and_update() == done {
                    return Read::Stopped;
                }
                continue;
            }
            message = ws.next() => message,
        };
        let received = unix_millis_f64();
        return match message {
            Some(Ok(Message::Text(text))) => Read::Text(text, received),
            Some(Ok(Message::Binary(bytes))) => Read::Binary(bytes, received),
            Some(Ok(Message::Close(frame))) => Read::Ended(describe_close(frame.as_ref())),
            Some(Ok(_)) => continue,
            Some(Err(err)) => Read::Ended(describe_end(Some(err))),
            None => Read::Ended(describe_end(None)),
        };
    }
}

/// How a close frame reads in a report: `1008 "slow consumer: outbound queue full"`.
pub fn describe_close(frame: Option<&CloseFrame>) -> String {
    match frame {
        Some(frame) => format!("{} {:?}", u16::from(frame.code), frame.reason.as_str()),
        None => "a close frame without a code".into(),
    }
}

/// How a connection that ended with `error` (or, without one, at the end of the stream) reads
/// in a report.
pub fn describe_end(error: Option<WsError>) -> String {
    match error {
        None | Some(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake)) => {
            ENDED_WITHOUT_CLOSE.into()
        }
        Some(err) => format!("error: {err}"),
    }
}

/// A client that completes the handshake, subscribes to every symbol and then stops reading.
pub struct StalledClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What the stalled client finds in its socket once the server has dropped it.
#[derive(Debug, Clone, Serialize)]
pub struct Drained {
    /// Data frames still buffered (in the kernel and the server) when it started reading again.
    pub frames: u64,
    /// Their payload bytes.
    pub bytes: u64,
    /// The close frame at the end (`code "reason"`), if the server managed to send one.
    pub close: Option<String>,
    /// The close code, if any.
    pub close_code: Option<u16>,
    /// How the connection ended when there was no close frame.
    pub ended: Option<String>,
}

impl StalledClient {
    /// Connects to `url` from a socket whose receive buffer is asked to be `recv_buffer`
    /// bytes (the kernel may round it), so that the stall shows at the server quickly;
    /// subscribes to everything and returns without reading anything more.
    pub async fn connect(url: &str, port: u16, recv_buffer: u32) -> Result<Self> {
        let socket = TcpSocket::new_v4()?;
        socket
            .set_recv_buffer_size(recv_buffer)
            .context("cannot set SO_RCVBUF")?;
        let stream = socket
            .connect(([127, 0, 0, 1], port).into())
            .await
            .context("the stalled client cannot connect")?;
        let (mut ws, _) = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream))
            .await
            .context("the stalled client's handshake failed")?;
        ws.send(Message::text(subscribe_all())).await?;
        Ok(StalledClient { ws })
    }

    /// Reads again, until the close frame or the end of the connection, for at most `limit`.
    pub async fn drain(mut self, limit: Duration) -> Result<Drained> {
        let mut drained = Drained {
            frames: 0,
            bytes: 0,
            close: None,
            close_code: None,
            ended: None,
        };
        let reading = async {
            while let Some(message) = self.ws.next().await {
                match message {
                    Ok(Message::Close(frame)) => {
                        drained.close = Some(describe_close(frame.as_ref()));
                        drained.close_code = frame.map(|frame| u16::from(frame.code));
                        return;
                    }
                    Ok(message) => {
                        drained.frames += 1;
                        drained.bytes += message.len() as u64;
                    }
                    Err(err) => {
                        drained.ended = Some(describe_end(Some(err)));
                        return;
                    }
                }
            }
            drained.ended = Some(describe_end(None));
        };
        if tokio::time::timeout(limit, reading).await.is_err() {
            bail!(
                "the stalled client's connection was still open {} s after it started reading again",
                limit.as_secs()
            );
        }
        Ok(drained)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

    use super::*;

    fn symbol(name: &str) -> Symbol {
        Symbol::new(name).unwrap()
    }

    #[test]
    fn consecutive_ticks_after_a_snapshot_are_clean() {
        let mut checker = SeqChecker::default();
        checker.snapshot(&symbol("AAPL"), Some(41));
        checker.snapshot(&symbol("MSFT"), None);
        assert!(checker.tick(&symbol("AAPL"), 42));
        assert!(checker.tick(&symbol("MSFT"), 1));
        assert!(checker.tick(&symbol("AAPL"), 43));
        assert!(checker.violations.is_clean());
    }

    #[test]
    fn a_skipped_tick_is_a_gap_and_counts_what_is_missing() {
        let mut checker = SeqChecker::default();
        checker.snapshot(&symbol("AAPL"), Some(10));
        assert!(!checker.tick(&symbol("AAPL"), 14));
        assert!(checker.tick(&symbol("AAPL"), 15));
        assert_eq!(
            checker.violations,
            SeqViolations {
                gaps: 1,
                missing: 3,
                ..SeqViolations::default()
            }
        );
    }

    #[test]
    fn repeated_or_older_ticks_are_duplicates_and_do_not_move_the_cursor() {
        let mut checker = SeqChecker::default();
        checker.snapshot(&symbol("AAPL"), Some(10));
        assert!(!checker.tick(&symbol("AAPL"), 10));
        assert!(!checker.tick(&symbol("AAPL"), 3));
        assert!(checker.tick(&symbol("AAPL"), 11));
        assert_eq!(checker.violations.duplicates, 2);
        assert_eq!(checker.violations.gaps, 0);
    }

    #[test]
    fn a_tick_before_its_snapshot_is_a_violation_and_starts_tracking() {
        let mut checker = SeqChecker::default();
        assert!(!checker.tick(&symbol("AAPL"), 7));
        assert!(checker.tick(&symbol("AAPL"), 8));
        assert_eq!(checker.violations.before_snapshot, 1);
    }

    #[test]
    fn a_snapshot_resets_the_cursor() {
        let mut checker = SeqChecker::default();
        checker.snapshot(&symbol("AAPL"), Some(10));
        checker.snapshot(&symbol("AAPL"), Some(100));
        assert!(checker.tick(&symbol("AAPL"), 101));
        assert!(checker.violations.is_clean());
    }

    #[test]
    fn violations_add_up() {
        let mut total = SeqViolations::default();
        let one = SeqViolations {
            gaps: 1,
            missing: 2,
            duplicates: 3,
            before_snapshot: 4,
        };
        total.add(&one);
        total.add(&one);
        assert_eq!(total.missing, 4);
        assert!(!total.is_clean());
    }

    #[test]
    fn the_subscribe_message_names_every_symbol() {
        assert_eq!(subscribe_all(), r#"{"type":"subscribe","symbols":["*"]}"#);
    }

    #[test]
    fn phases_index_per_phase_arrays() {
        assert_eq!(Phase::Warmup.index(), 0);
        assert_eq!(Phase::Done.index(), Phase::COUNT - 1);
    }
}
