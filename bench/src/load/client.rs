//! One load client: connects, subscribes to the first K symbols of the `hello`, and counts
//! frames, ticks, bytes and tick latencies while the run is measuring.

use std::time::Duration;

use futures_util::SinkExt;
use ticker_shared::{
    ClientMessage, Hello, ServerMessage, Symbol, SymbolList,
    binary::{self, SUBPROTOCOL_BINARY},
    decode_server,
};
use tokio::sync::{oneshot, watch};
use tokio_tungstenite::tungstenite::Message;

use crate::{
    clients::{Read, next_data},
    connect,
    stats::Histogram,
};

/// Where the run is; every client reads it on each frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Connecting and warming up: frames are read, not counted.
    Warmup,
    /// Counting.
    Measure,
    /// Over: clients close and report.
    Done,
}

/// How `ticks` frames are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decode {
    /// Only the `ts` fields of a `ticks` frame, found by a scan (other messages, and frames
    /// not in the exact shape `ticker_shared` writes, are decoded in full); in a binary frame,
    /// read with `ticker_shared::binary::tick_timestamps`.
    Light,
    /// Every message decoded into `ticker_shared` types.
    Full,
}

/// How the client asks the server to send live ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// JSON text frames (the protocol's default; no subprotocol offered).
    #[default]
    Json,
    /// Ticker's compact binary frames: offers the `ticker.v1.bin` subprotocol (the peers do not
    /// speak it, so they refuse the connection).
    Binary,
}

/// What one client saw while the run was measuring.
#[derive(Debug, Default)]
pub struct ClientReport {
    /// It connected and subscribed.
    pub connected: bool,
    /// Data frames received.
    pub frames: u64,
    /// Ticks in them.
    pub ticks: u64,
    /// Their payload bytes.
    pub bytes: u64,
    /// Tick latencies: receipt time minus the tick's `ts`, in milliseconds.
    pub latency: Histogram,
    /// Messages that did not decode.
    pub undecodable: u64,
    /// `error` messages from the server.
    pub errors: u64,
    /// Why the connection ended before the run was over (after connecting), if it did.
    pub ended_early: Option<String>,
}

/// The symbols to subscribe to: the first `count` of the server's, or all (`*`) when `count`
/// is 0 or covers them all.
pub fn symbols(hello: &Hello, count: usize) -> SymbolList {
    if count == 0 || count >= hello.symbols.len() {
        SymbolList::All
    } else {
        SymbolList::Only(
            hello.symbols[..count]
                .iter()
                .map(|info| info.symbol.clone())
                .collect(),
        )
    }
}

/// The `"ts":` key of a tick; symbols (`A-Z 0-9 . -`) cannot contain it, so in a `ticks`
/// frame each occurrence is one tick's timestamp.
const TS_KEY: &str = "\"ts\":";
/// How a `ticks` frame written by `ticker_shared` (`TickFrame`) begins.
const TICKS_PREFIX: &str = "{\"type\":\"ticks\",\"ticks\":[";

/// The timestamps of a `ticks` frame in `ticker_shared`'s exact shape, into `out`, without
/// decoding the rest; false (and `out` unspecified) for anything else. Decoding every field
/// costs several times more than this scan, and a client at 100k frames/s is CPU-bound.
pub fn tick_timestamps(text: &str, out: &mut Vec<i64>) -> bool {
    out.clear();
    let Some(body) = text.strip_prefix(TICKS_PREFIX) else {
        return false;
    };
    for (at, _) in body.match_indices(TS_KEY) {
        let rest = &body[at + TS_KEY.len()..];
        let end = rest
            .find(|c: char| c != '-' && !c.is_ascii_digit())
            .unwrap_or(rest.len());
        match rest[..end].parse() {
            Ok(ts) => out.push(ts),
            Err(_) => return false,
        }
    }
    !out.is_empty()
}

/// Runs one client against `url` until `stage` is [`Stage::Done`]: tells `connected` whether
/// it connected (within `timeout`) and subscribed to `symbol_count` symbols, then reads.
pub async fn run(
    url: String,
    symbol_count: usize,
    timeout: Duration,
    decode: Decode,
    encoding: Encoding,
    mut stage: watch::Receiver<Stage>,
    connected: oneshot::Sender<Result<(), String>>,
) -> ClientReport {
    let mut report = ClientReport::default();
    let opened = async {
        let subprotocol = (encoding == Encoding::Binary).then_some(SUBPROTOCOL_BINARY);
        let (mut ws, hello) = connect::open(&url, subprotocol, timeout).await?;
        let subscribe = ClientMessage::Subscribe {
            symbols: symbols(&hello, symbol_count),
        };
        ws.send(Message::text(subscribe.to_json())).await?;
        let names: Vec<Symbol> = hello.symbols.into_iter().map(|s| s.symbol).collect();
        anyhow::Ok((ws, names))
    };
    let (mut ws, names) = match opened.await {
        Ok(opened) => opened,
        Err(err) => {
            let _ = connected.send(Err(err.to_string()));
            return report;
        }
    };
    report.connected = true;
    let _ = connected.send(Ok(()));
    let mut stamps = Vec::new();
    loop {
        let (len, received) = match next_data(&mut ws, &mut stage, Stage::Done).await {
            Read::Text(text, received) => {
                let light = decode == Decode::Light && tick_timestamps(&text, &mut stamps);
                if !light {
                    count_stamps(decode_server(&text).ok(), &mut stamps, &mut report);
                }
                (text.len(), received)
            }
            Read::Binary(bytes, received) => {
                let light =
                    decode == Decode::Light && binary::tick_timestamps(&bytes, &mut stamps).is_ok();
                if !light {
                    let decoded = binary::decode(&bytes, &names).ok();
                    count_stamps(decoded, &mut stamps, &mut report);
                }
                (bytes.len(), received)
            }
            Read::Ended(how) => {
                report.ended_early = Some(how);
                break;
            }
            Read::Stopped => break,
        };
        if *stage.borrow() == Stage::Measure {
            report.frames += 1;
            report.bytes += len as u64;
            report.ticks += stamps.len() as u64;
            for &ts in &stamps {
                report.latency.record(received - ts as f64);
            }
        }
    }
    if report.ended_early.is_none() {
        // The run is over; the server may be going away, so a failed close is fine.
        let _ = ws.close(None).await;
    }
    report
}

/// Puts the timestamps of a decoded message's ticks in `stamps` (none for other messages) and
/// counts errors and what did not decode.
fn count_stamps(message: Option<ServerMessage>, stamps: &mut Vec<i64>, report: &mut ClientReport) {
    stamps.clear();
    match message {
        Some(ServerMessage::Ticks { ticks, .. }) => stamps.extend(ticks.iter().map(|t| t.ts)),
        Some(ServerMessage::Error(_)) => report.errors += 1,
        Some(_) => {}
        None => report.undecodable += 1,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

    use ticker_shared::{
        Tick,
        codec::{TickFrame, encode_tick},
    };

    use super::*;

    const TICK: &str = r#"{"symbol":"BRK.B","seq":14403,"ts":1764000000123,"price":18735,"size":300,"bid":18734,"ask":18735,"open":18650,"high":18800,"low":18600,"volume":1234500}"#;

    #[test]
    fn the_scan_finds_the_same_timestamps_as_full_decoding() {
        let mut frame = TickFrame::new();
        let mut tick: Tick = serde_json::from_str(TICK).unwrap();
        for ts in [1_764_000_000_123, 1_764_000_000_124, 5] {
            tick.ts = ts;
            frame.push(&encode_tick(&tick));
        }
        let text = frame.finish().unwrap();
        let Ok(ServerMessage::Ticks { ticks, .. }) = decode_server(&text) else {
            panic!("{text}");
        };
        let mut stamps = Vec::new();
        assert!(tick_timestamps(&text, &mut stamps));
        assert_eq!(stamps, ticks.iter().map(|t| t.ts).collect::<Vec<_>>());
    }

    #[test]
    fn anything_but_a_ticks_frame_goes_to_full_decoding() {
        let mut stamps = Vec::new();
        assert!(!tick_timestamps(
            r#"{"type":"pong","ts":1.5,"server_time":2}"#,
            &mut stamps
        ));
        assert!(!tick_timestamps(
            r#"{"ticks":[],"type":"ticks"}"#,
            &mut stamps
        ));
        assert!(!tick_timestamps(
            r#"{"type":"ticks","ticks":[{"ts":"x"}]}"#,
            &mut stamps
        ));
    }

    #[test]
    fn zero_or_too_many_symbols_mean_all() {
        let hello: Hello = serde_json::from_str(
            r#"{"protocol_version":1,"instance_id":"a","started_at":0,"server_time":0,
                "heartbeat_interval_ms":5000,"intervals":["1s"],"symbols":[
                {"symbol":"AAPL","name":"A","tick_size":1,"reference_price":1},
                {"symbol":"MSFT","name":"M","tick_size":1,"reference_price":1}]}"#,
        )
        .unwrap();
        assert_eq!(symbols(&hello, 0), SymbolList::All);
        assert_eq!(symbols(&hello, 2), SymbolList::All);
        let one = ClientMessage::Subscribe {
            symbols: symbols(&hello, 1),
        };
        assert_eq!(one.to_json(), r#"{"type":"subscribe","symbols":["AAPL"]}"#);
    }
}
