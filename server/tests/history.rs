//! `history` requests end to end: older candles than a snapshot holds, page by page, until the
//! server says there are no more.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod common;

use std::time::Duration;

use common::{Client, RawClient, TestServer, expect_refusal, masked_frame, test_config};
use ticker_server::market::SNAPSHOT_CANDLES;
use ticker_shared::{
    ClientMessage, ErrorCode, HistoryPage, HistoryRequest, Interval, MAX_HISTORY_IN_FLIGHT,
    ServerMessage, Symbol, decode_server,
};

/// Candles the server keeps per interval in these tests: more than a snapshot sends.
const DEPTH: u32 = 200;
/// Candles asked for per page.
const PAGE: u32 = 50;

/// A server with ten minutes of simulated history, keeping [`DEPTH`] candles per interval.
async fn server_with_history() -> TestServer {
    let mut config = test_config();
    config.backfill = Duration::from_secs(600);
    config.candle_history = DEPTH;
    TestServer::start(config).await
}

fn request(symbol: &str, interval: Interval, before: i64, limit: u32) -> ClientMessage {
    ClientMessage::History(HistoryRequest {
        symbol: Symbol::new(symbol).unwrap(),
        interval,
        before,
        limit,
    })
}

async fn history(client: &mut Client, message: ClientMessage) -> HistoryPage {
    client.send(&message).await;
    client
        .wait_for(|m| match m {
            ServerMessage::History(page) => Some(page.clone()),
            _ => None,
        })
        .await
}

#[actix_web::test]
async fn history_pages_back_until_complete_without_a_subscription() {
    let server = server_with_history().await;
    let (mut client, _) = server.connect().await;
    let mut pages = Vec::new();
    let mut before = i64::MAX;
    loop {
        let page = history(&mut client, request("AAPL", Interval::S1, before, PAGE)).await;
        assert_eq!(page.symbol.as_str(), "AAPL");
        assert_eq!(page.interval, Interval::S1);
        assert!(page.candles.len() <= PAGE as usize);
        assert!(
            page.candles.windows(2).all(|w| w[0].start < w[1].start),
            "oldest first, each candle once"
        );
        assert!(page.candles.iter().all(|c| c.start < before));
        let complete = page.complete;
        if let Some(first) = page.candles.first() {
            before = first.start;
        }
        pages.push(page);
        if complete {
            break;
        }
        assert!(pages.len() <= DEPTH as usize, "the pages never end");
    }
    let (last, full) = pages.split_last().unwrap();
    assert!(
        full.iter()
            .all(|page| page.candles.len() == PAGE as usize && !page.complete),
        "every page but the last is full and says there is more"
    );
    assert!(last.complete);
    let total: usize = pages.iter().map(|page| page.candles.len()).sum();
    assert!(
        total > SNAPSHOT_CANDLES && total <= DEPTH as usize,
        "{total} candles: more than a snapshot, at most the depth"
    );
    let again = history(&mut client, request("AAPL", Interval::S1, before, PAGE)).await;
    assert!(again.candles.is_empty() && again.complete, "nothing older");
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn five_minute_history_comes_from_the_same_aggregation() {
    let server = server_with_history().await;
    let (mut client, _) = server.connect().await;
    let page = history(&mut client, request("MSFT", Interval::M5, i64::MAX, PAGE)).await;
    assert!(
        (2..=4).contains(&page.candles.len()),
        "ten minutes of market (and the seconds since) make two to four 5m candles: {:?}",
        page.candles
    );
    assert!(page.complete);
    assert!(page.candles.iter().all(|c| c.start % 300_000 == 0));
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn bad_history_requests_get_errors_that_name_them() {
    let server = server_with_history().await;
    let (mut client, _) = server.connect().await;
    client
        .send(&request("ZZZZ", Interval::S1, i64::MAX, 10))
        .await;
    let error = expect_refusal(&mut client, ErrorCode::UnknownSymbol).await;
    assert_eq!(error.in_reply_to.as_deref(), Some("history"));
    assert!(error.message.contains("ZZZZ"), "{}", error.message);
    for limit in [0, 501] {
        let text = format!(
            r#"{{"type":"history","symbol":"AAPL","interval":"1s","before":0,"limit":{limit}}}"#
        );
        client.send_text(&text).await;
        let error = expect_refusal(&mut client, ErrorCode::InvalidMessage).await;
        assert_eq!(error.in_reply_to.as_deref(), Some("history"));
        assert!(error.message.contains("500"), "{}", error.message);
    }
    let page = history(&mut client, request("AAPL", Interval::S1, i64::MAX, 1)).await;
    assert_eq!(page.candles.len(), 1, "the connection still serves history");
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn a_connection_has_at_most_four_history_requests_waiting_for_their_pages() {
    let server = server_with_history().await;
    let asked = MAX_HISTORY_IN_FLIGHT + 2;
    let text = request("AAPL", Interval::S1, i64::MAX, 500).to_json();
    // All sent with the handshake: the server reads them all before it writes any page.
    let frames = vec![masked_frame(0x81, text.as_bytes()); asked].concat();
    let (mut raw, head) =
        RawClient::connect_pipelined(server.addr, "dGhlIHNhbXBsZSBub25jZQ==", &frames).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let (mut pages, mut refusals) = (0, Vec::new());
    while pages + refusals.len() < asked {
        let frame = tokio::time::timeout(common::DEADLINE, raw.read_frame())
            .await
            .expect("a frame in time")
            .expect("the connection stays open");
        match decode_server(std::str::from_utf8(&frame.payload).unwrap()) {
            Ok(ServerMessage::History(page)) => {
                assert!(!page.candles.is_empty());
                pages += 1;
            }
            Ok(ServerMessage::Error(error)) => refusals.push(error),
            _ => {}
        }
    }
    assert_eq!(pages, MAX_HISTORY_IN_FLIGHT);
    assert_eq!(refusals.len(), asked - MAX_HISTORY_IN_FLIGHT);
    for refusal in &refusals {
        assert_eq!(refusal.code, ErrorCode::RateLimited);
        assert_eq!(refusal.in_reply_to.as_deref(), Some("history"));
        assert!(
            refusal
                .message
                .contains("ask again once an answer has arrived"),
            "{}",
            refusal.message
        );
    }
    // The pages written, their places are free again.
    raw.send_frame(0x81, text.as_bytes()).await;
    let answer = tokio::time::timeout(common::DEADLINE, async {
        loop {
            let frame = raw.read_frame().await.expect("the connection stays open");
            if let Ok(message @ (ServerMessage::History(_) | ServerMessage::Error(_))) =
                decode_server(std::str::from_utf8(&frame.payload).unwrap_or(""))
            {
                return message;
            }
        }
    })
    .await
    .expect("an answer in time");
    assert!(matches!(answer, ServerMessage::History(_)), "{answer:?}");
    server.stop().await.unwrap();
}
