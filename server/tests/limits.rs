//! Every configurable limit, each with its documented answer: Origin (403), connections in
//! total and per address (503), message rate (error, then 1008), subscriptions (error),
//! frame size declared in a header (1009 before any payload is buffered), handshake timeout,
//! idle timeout. Other clients keep being served throughout.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod common;

use std::time::Duration;

use common::{Bystander, DEADLINE, RawClient, TestServer, expect_error, test_config};
use ticker_shared::{ClientMessage, ErrorCode, ServerMessage, SymbolList, close};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// Attempts a handshake to `/ws` with `headers`; returns the status code and the client.
async fn handshake(server: &TestServer, headers: &str) -> (u16, RawClient, String) {
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (client, head) = RawClient::handshake_with(stream, server.addr, "/ws", KEY, headers).await;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap();
    (status, client, head)
}

#[actix_web::test]
async fn a_foreign_origin_is_refused_with_403_same_origin_and_non_browsers_are_not() {
    let mut config = test_config();
    config.allowed_origins = vec!["https://desk.example.com".into()];
    let server = TestServer::start(config).await;
    let own = format!("Origin: http://{}\r\n", server.addr);
    for (headers, expected) in [
        ("Origin: https://evil.example\r\n", 403),
        ("Origin: null\r\n", 403),
        (own.as_str(), 101),
        ("Origin: https://desk.example.com\r\n", 101),
        ("", 101),
    ] {
        let (status, _, head) = handshake(&server, headers).await;
        assert_eq!(status, expected, "{headers:?} got {head}");
    }
    assert_eq!(server.metric("ticker_handshakes_refused_total").await, 2);
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn connections_over_the_limits_are_refused_with_503_until_a_place_frees() {
    let mut config = test_config();
    config.max_connections = 2;
    config.max_connections_per_ip = 2;
    let server = TestServer::start(config).await;
    let (first, _) = server.connect().await;
    let (_second, _) = server.connect().await;
    let (status, _, head) = handshake(&server, "").await;
    assert_eq!(status, 503, "{head}");
    assert!(
        head.to_ascii_lowercase().contains("retry-after: 5"),
        "{head}"
    );

    drop(first);
    // The place frees when the server notices the close; retry until it has.
    let retry = async {
        loop {
            let (status, client, _) = handshake(&server, "").await;
            if status == 101 {
                return client;
            }
            server
                .wait_for_metric("ticker_connections_closed_total", 1)
                .await;
        }
    };
    tokio::time::timeout(DEADLINE, retry).await.unwrap();
    server.stop().await.unwrap();

    // One address alone is held to its own, lower limit.
    let mut config = test_config();
    config.max_connections_per_ip = 1;
    let server = TestServer::start(config).await;
    let (_only, _) = server.connect().await;
    let (status, mut refused, _) = handshake(&server, "").await;
    assert_eq!(status, 503);
    let body = refused.read_body().await;
    assert!(
        body.contains("127.0.0.1 already has 1 connections open"),
        "{body}"
    );
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn a_flood_gets_one_error_then_a_1008_close_and_others_never_notice() {
    let mut config = test_config();
    config.max_message_rate = 5;
    config.message_burst = 5;
    let server = TestServer::start(config).await;
    let mut bystander = Bystander::join(&server).await;
    let (mut flooder, _) = server.connect().await;
    for n in 0..50 {
        flooder
            .send(&ClientMessage::Ping { ts: f64::from(n) })
            .await;
    }
    let mut pongs = 0;
    let mut errors = Vec::new();
    let (code, reason) = loop {
        match flooder.receive().await {
            common::Received::Message(ServerMessage::Pong(_)) => pongs += 1,
            common::Received::Message(ServerMessage::Error(error)) => errors.push(error),
            common::Received::Message(other) => panic!("unexpected {other:?}"),
            common::Received::Close(Some(close)) => break close,
            other => panic!("expected a close, got {other:?}"),
        }
    };
    assert_eq!(pongs, 5, "the burst is served");
    assert_eq!(errors.len(), 1, "one error per run of dropped messages");
    assert_eq!(errors[0].code, ErrorCode::RateLimited);
    assert!(errors[0].message.contains("at most 5 per second"));
    assert_eq!(
        (code, reason.as_str()),
        (close::POLICY_VIOLATION, close::REASON_RATE_LIMITED)
    );
    bystander.still_served(20).await;
    assert!(server.metric("ticker_rate_limited_messages_total").await >= 6);
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn subscriptions_past_the_limit_are_refused_and_nothing_changes() {
    let mut config = test_config();
    config.max_subscriptions = 2;
    let server = TestServer::start(config).await;
    let (mut client, _) = server.connect().await;
    client.subscribe(&["AAPL", "MSFT"]).await;
    client.subscribe(&["NVDA"]).await;
    let message = expect_error(&mut client, ErrorCode::TooManySubscriptions).await;
    assert!(message.contains("limit of 2"), "{message}");
    client
        .send(&ClientMessage::Subscribe {
            symbols: SymbolList::All,
        })
        .await;
    expect_error(&mut client, ErrorCode::TooManySubscriptions).await;
    // Re-subscribing to what it has is free; swapping one for another fits.
    client.subscribe(&["AAPL"]).await;
    client
        .send(&ClientMessage::Unsubscribe {
            symbols: SymbolList::Only(vec![ticker_shared::Symbol::new("MSFT").unwrap()]),
        })
        .await;
    client.subscribe(&["NVDA"]).await;
    // NVDA's snapshot comes (from the hub), and no error on the way.
    client
        .wait_for(|m| match m {
            ServerMessage::Error(error) => panic!("unexpected {error:?}"),
            ServerMessage::Snapshot(s) => (s.symbol.as_str() == "NVDA").then_some(()),
            _ => None,
        })
        .await;
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn a_header_declaring_a_huge_frame_closes_1009_before_its_payload_is_buffered() {
    let server = TestServer::start(test_config()).await;
    let mut bystander = Bystander::join(&server).await;
    let (mut client, head) = RawClient::connect(server.addr, KEY).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    // A masked text frame header declaring 1 GiB, then only a little of the payload.
    let mut header = vec![0x81, 0x80 | 127];
    header.extend_from_slice(&(1u64 << 30).to_be_bytes());
    header.extend_from_slice(&[1, 2, 3, 4]);
    client.send_raw(&header).await;
    client.send_raw(&[b'x'; 1024]).await;
    let close = client.read_until_close().await.unwrap();
    assert_eq!(close.close_code(), Some(close::MESSAGE_TOO_BIG));
    let reason = String::from_utf8_lossy(&close.payload[2..]).into_owned();
    assert!(reason.contains("1073741824 bytes declared"), "{reason}");
    // The server stops reading: a peer that keeps sending gets nowhere.
    bystander.still_served(20).await;
    assert_eq!(server.metric("ticker_protocol_closes_total").await, 1);
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn a_connection_that_never_completes_its_handshake_is_closed() {
    let mut config = test_config();
    config.handshake_timeout = Duration::from_millis(200);
    let server = TestServer::start(config).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // Well under the 5 s default: the configured timeout is what closed it.
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(4), stream.read_to_end(&mut response))
        .await
        .expect("the half-open connection is closed")
        .ok();
    let response = String::from_utf8_lossy(&response);
    assert!(
        response.is_empty() || response.starts_with("HTTP/1.1 408"),
        "{response}"
    );
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn a_connection_subscribed_to_nothing_is_closed_when_idle() {
    let mut config = test_config();
    config.idle_timeout = Duration::from_millis(300);
    let server = TestServer::start(config).await;
    let mut subscribed = Bystander::join(&server).await;
    let (mut idle, _) = server.connect().await;
    let (code, reason) = idle.expect_close().await;
    assert_eq!(
        (code, reason.as_str()),
        (close::POLICY_VIOLATION, close::REASON_IDLE)
    );
    // The subscribed client outlives several idle timeouts (50 ticks/s: ~1 s of ticks).
    subscribed.still_served(50).await;
    let (mut unsubscribed, _) = server.connect().await;
    unsubscribed.subscribe(&["MSFT"]).await;
    unsubscribed
        .send(&ClientMessage::Unsubscribe {
            symbols: SymbolList::All,
        })
        .await;
    assert_eq!(unsubscribed.expect_close().await.0, close::POLICY_VIOLATION);
    assert_eq!(server.metric("ticker_idle_timeouts_total").await, 2);
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn the_echo_route_exists_only_when_enabled_and_echoes_text_and_binary() {
    let server = TestServer::start(test_config()).await;
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (_, head) = RawClient::handshake_with(stream, server.addr, "/echo", KEY, "").await;
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    server.stop().await.unwrap();

    let mut config = test_config();
    config.echo_route = true;
    let server = TestServer::start(config).await;
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (mut echo, head) = RawClient::handshake_with(stream, server.addr, "/echo", KEY, "").await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    echo.send_frame(0x81, "안녕하세요!".as_bytes()).await;
    let frame = tokio::time::timeout(DEADLINE, echo.read_frame())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (frame.opcode, frame.payload.as_slice()),
        (1, "안녕하세요!".as_bytes())
    );
    echo.send_frame(0x82, &[0, 1, 2, 255]).await;
    let frame = tokio::time::timeout(DEADLINE, echo.read_frame())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((frame.opcode, frame.payload), (2, vec![0, 1, 2, 255]));
    // Same close-code mapping as /ws: invalid UTF-8 closes 1007.
    echo.send_frame(0x81, &[0xff, 0xfe]).await;
    let close = echo.read_until_close().await.unwrap();
    assert_eq!(close.close_code(), Some(close::INVALID_PAYLOAD));
    server.stop().await.unwrap();
}
