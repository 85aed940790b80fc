//! Bad input, silent and slow peers, shutdown, and the HTTP side: the server answers each with
//! the documented error or close code and keeps serving everyone else.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod common;

use std::time::Duration;

use common::{Bystander, RawClient, TestServer, expect_error, expect_refusal, test_config};
use futures_util::SinkExt;
use ticker_shared::{ErrorCode, ServerMessage, close};
use tokio_tungstenite::tungstenite::Message;

#[actix_web::test]
async fn bad_messages_get_an_error_and_the_connection_stays_open() {
    let server = TestServer::start(test_config()).await;
    let mut bystander = Bystander::join(&server).await;
    let (mut client, _) = server.connect().await;
    let deeply_nested = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
    let deeply_nested_object = format!(
        r#"{{"type":"ping","ts":{}1{}}}"#,
        r#"{"a":"#.repeat(2_000),
        "}".repeat(2_000)
    );
    // Each case: the input, the error code, and the refused message type the error names.
    let cases: &[(&str, ErrorCode, Option<&str>)] = &[
        (&deeply_nested, ErrorCode::MalformedJson, None),
        (&deeply_nested_object, ErrorCode::MalformedJson, None),
        (
            r#"{"type":"ping","ts":"now"}"#,
            ErrorCode::InvalidMessage,
            Some("ping"),
        ),
        (
            r#"{"type":"ping","ts":1e999}"#,
            ErrorCode::MalformedJson,
            None,
        ),
        (
            r#"{"type":"resume","instance_id":"x","last_seq":{"AAPL":18446744073709551616}}"#,
            ErrorCode::InvalidMessage,
            Some("resume"),
        ),
        (
            r#"{"type":"resume","instance_id":"x","last_seq":{"AAPL":-1}}"#,
            ErrorCode::InvalidMessage,
            Some("resume"),
        ),
        (
            r#"{"type":"subscribe","symbols":["<script>"]}"#,
            ErrorCode::InvalidMessage,
            Some("subscribe"),
        ),
        (r#"{"type":null}"#, ErrorCode::MissingType, None),
        ("안녕하세요!", ErrorCode::MalformedJson, None),
        ("{\"type\":\"subscribe\",", ErrorCode::MalformedJson, None),
        ("", ErrorCode::MalformedJson, None),
        ("[1,2,3]", ErrorCode::NotAnObject, None),
        (r#"{"symbols":["AAPL"]}"#, ErrorCode::MissingType, None),
        (
            r#"{"type":"order","side":"buy"}"#,
            ErrorCode::UnknownType,
            None,
        ),
        (
            r#"{"type":"subscribe","symbols":["AAPL"],"extra":1}"#,
            ErrorCode::UnknownField,
            Some("subscribe"),
        ),
        (
            r#"{"type":"subscribe","symbols":"AAPL"}"#,
            ErrorCode::InvalidMessage,
            Some("subscribe"),
        ),
        (
            r#"{"type":"subscribe","symbols":["AAPL","FOO"]}"#,
            ErrorCode::UnknownSymbol,
            Some("subscribe"),
        ),
        (
            r#"{"type":"unsubscribe","symbols":["FOO"]}"#,
            ErrorCode::UnknownSymbol,
            Some("unsubscribe"),
        ),
        (
            r#"{"type":"resume","instance_id":"x","last_seq":{"FOO":1}}"#,
            ErrorCode::UnknownSymbol,
            Some("resume"),
        ),
    ];
    for (input, code, in_reply_to) in cases {
        client.send_text(input).await;
        let refusal = expect_refusal(&mut client, *code).await;
        assert_eq!(refusal.in_reply_to.as_deref(), *in_reply_to, "{input}");
        assert_eq!(refusal.alert_id, None);
    }
    client
        .ws
        .send(Message::binary(vec![1u8, 2, 3]))
        .await
        .unwrap();
    expect_error(&mut client, ErrorCode::UnsupportedBinary).await;
    let large = format!(r#"{{"type":"ping","ts":1,"pad":"{}"}}"#, "x".repeat(20_000));
    client.send_text(&large).await;
    expect_error(&mut client, ErrorCode::MessageTooLarge).await;

    // The refused subscribe with an unknown symbol changed nothing: no snapshot arrived, and the
    // connection still works.
    let before_pong = client.round_trip().await;
    assert!(
        before_pong
            .iter()
            .all(|m| !matches!(m, ServerMessage::Snapshot(_))),
        "{before_pong:?}"
    );
    assert_eq!(
        server.metric("ticker_client_errors_total").await,
        cases.len() as u64 + 2
    );
    bystander.still_served(5).await;
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn protocol_violations_close_with_the_rfc_6455_code() {
    let mut config = test_config();
    config.max_frame_bytes = 4096;
    let server = TestServer::start(config).await;
    let mut bystander = Bystander::join(&server).await;
    let key = "dGhlIHNhbXBsZSBub25jZQ==";
    // Each case: the frames sent (first byte: FIN, RSV, opcode; payload) and the close code.
    type Frames = Vec<(u8, Vec<u8>)>;
    let cases: Vec<(&str, Frames, u16)> = vec![
        (
            "invalid UTF-8 in a text frame",
            vec![(0x81, vec![0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xff])],
            close::INVALID_PAYLOAD,
        ),
        (
            "invalid UTF-8 across fragments",
            vec![(0x01, vec![0xce, 0xba]), (0x80, vec![0xff, 0xfe])],
            close::INVALID_PAYLOAD,
        ),
        (
            "a frame over the size limit",
            vec![(0x81, vec![b'a'; 5000])],
            close::MESSAGE_TOO_BIG,
        ),
        (
            "reserved bits set",
            vec![(0x81 | 0x40, b"{}".to_vec())],
            close::PROTOCOL_ERROR,
        ),
        (
            "an unknown opcode",
            vec![(0x83, Vec::new())],
            close::PROTOCOL_ERROR,
        ),
        (
            "a continuation with nothing to continue",
            vec![(0x80, b"x".to_vec())],
            close::PROTOCOL_ERROR,
        ),
        (
            "a new message inside a fragmented one",
            vec![(0x01, b"{\"ty".to_vec()), (0x81, b"{}".to_vec())],
            close::PROTOCOL_ERROR,
        ),
        (
            "a fragmented ping",
            vec![(0x09, b"x".to_vec())],
            close::PROTOCOL_ERROR,
        ),
        (
            "a ping over 125 bytes",
            vec![(0x89, vec![b'p'; 200])],
            close::PROTOCOL_ERROR,
        ),
    ];
    for (what, frames, code) in &cases {
        let (mut raw, _) = RawClient::connect(server.addr, key).await;
        for (first_byte, payload) in frames {
            raw.send_frame(*first_byte, payload).await;
        }
        let frame = raw
            .read_until_close()
            .await
            .unwrap_or_else(|| panic!("{what}: no close frame"));
        assert_eq!(frame.close_code(), Some(*code), "{what}");
    }

    // A message split over fragments that together exceed the limit is refused as well.
    let (mut raw, _) = RawClient::connect(server.addr, key).await;
    raw.send_frame(0x01, &[b'a'; 2000]).await;
    for _ in 0..5 {
        raw.send_frame(0x00, &[b'a'; 2000]).await;
    }
    assert_eq!(
        raw.read_until_close().await.and_then(|f| f.close_code()),
        Some(close::MESSAGE_TOO_BIG)
    );
    bystander.still_served(5).await;
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn fragmented_messages_and_client_pings_are_handled() {
    let server = TestServer::start(test_config()).await;
    let (mut raw, _) = RawClient::connect(server.addr, "dGhlIHNhbXBsZSBub25jZQ==").await;
    raw.send_frame(0x89, b"are you there").await;
    raw.send_frame(0x01, br#"{"type":"pi"#).await;
    raw.send_frame(0x80, br#"ng","ts":7}"#).await;
    let mut got_pong_frame = false;
    loop {
        let frame = raw.read_frame().await.expect("connection stays open");
        match frame.opcode {
            0xA => {
                assert_eq!(frame.payload, b"are you there");
                got_pong_frame = true;
            }
            0x1 if String::from_utf8_lossy(&frame.payload).contains(r#""type":"pong""#) => break,
            _ => {}
        }
    }
    assert!(
        got_pong_frame,
        "the WebSocket ping was answered before the application pong"
    );
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn the_server_pings_and_closes_a_silent_peer() {
    let mut config = test_config();
    config.heartbeat_interval = Duration::from_millis(100);
    config.heartbeat_timeout = Duration::from_millis(400);
    let server = TestServer::start(config).await;
    let mut bystander = Bystander::join(&server).await;
    // The bystander reads all along (its library answers the pings as it reads), for longer
    // than the timeout.
    let bystander = tokio::spawn(async move {
        bystander.still_served(50).await;
        bystander
    });
    // The raw client never answers, so only the server's pings and finally a close arrive.
    let (mut silent, _) = RawClient::connect(server.addr, "dGhlIHNhbXBsZSBub25jZQ==").await;
    let mut pings = 0;
    let close = loop {
        let frame = silent
            .read_frame()
            .await
            .expect("a close frame before the end");
        match frame.opcode {
            0x9 => pings += 1,
            0x8 => break frame,
            _ => {}
        }
    };
    assert!(pings >= 2, "expected pings before the timeout, got {pings}");
    assert_eq!(close.close_code(), Some(close::POLICY_VIOLATION));
    assert!(String::from_utf8_lossy(&close.payload[2..]).contains("heartbeat"));
    let mut bystander = bystander.await.unwrap();
    assert_eq!(
        server.metric("ticker_heartbeat_timeouts_total").await,
        1,
        "only the silent peer timed out"
    );
    bystander.still_served(5).await;
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn a_client_that_stops_reading_is_disconnected_without_slowing_the_others() {
    let mut config = test_config();
    config.symbols = Vec::new();
    config.tick_rate = 400.0;
    config.queue_bound = 64;
    config.heartbeat_timeout = Duration::from_secs(120);
    let server = TestServer::start(config).await;
    let mut bystander = Bystander::join(&server).await;

    // A stalled reader: a tiny receive buffer, subscribed to everything, never reading.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(server.addr).await.unwrap();
    let (mut stalled, _) =
        RawClient::handshake(stream, server.addr, "dGhlIHNhbXBsZSBub25jZQ==").await;
    stalled
        .send_frame(0x81, br#"{"type":"subscribe","symbols":["*"]}"#)
        .await;

    server
        .wait_for_metric("ticker_slow_consumer_disconnects_total", 1)
        .await;
    // Everyone else kept receiving every tick meanwhile.
    bystander.still_served(20).await;
    let close = stalled
        .read_until_close()
        .await
        .expect("a close frame after the queued data");
    assert_eq!(close.close_code(), Some(close::POLICY_VIOLATION));
    assert!(String::from_utf8_lossy(&close.payload[2..]).contains("slow consumer"));
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn shutdown_closes_every_client_with_1001_and_run_returns() {
    let server = TestServer::start(test_config()).await;
    let (mut first, _) = server.connect().await;
    let (mut second, _) = server.connect().await;
    first.subscribe(&["AAPL"]).await;
    let closing = tokio::spawn(async move { second.expect_close().await });
    let stopped = tokio::spawn(server.stop());
    let (code, reason) = first.expect_close().await;
    assert_eq!(
        (code, reason.as_str()),
        (close::GOING_AWAY, close::REASON_SHUTDOWN)
    );
    assert_eq!(closing.await.unwrap().0, close::GOING_AWAY);
    drop(first);
    stopped.await.unwrap().unwrap();
}

#[actix_web::test]
async fn health_and_metrics_report_the_server_state() {
    let server = TestServer::start(test_config()).await;
    let (_client, hello) = server.connect().await;
    let (status, body) = server.get("/healthz").await;
    assert_eq!(status, 200);
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["instance_id"], hello.instance_id.as_str());
    assert_eq!(health["connections"], 1);
    assert_eq!(health["symbols"], 3);
    server
        .wait_for_metric("ticker_ticks_published_total", 1)
        .await;
    assert_eq!(server.metric("ticker_connections_open").await, 1);
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn the_built_frontend_is_served_at_the_root() {
    let dir = std::env::temp_dir().join(format!("ticker-static-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>Ticker test page</title>",
    )
    .unwrap();
    let mut config = test_config();
    config.static_dir = dir.clone();
    let server = TestServer::start(config).await;
    let (status, body) = server.get("/").await;
    assert_eq!(status, 200);
    assert!(body.contains("Ticker test page"));
    server.stop().await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[actix_web::test]
async fn without_a_built_frontend_the_root_explains_how_to_build_it() {
    let server = TestServer::start(test_config()).await;
    let (status, body) = server.get("/").await;
    assert_eq!(status, 503);
    assert!(body.contains("cargo xtask run"));
    server.stop().await.unwrap();
}
