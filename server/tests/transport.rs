//! The transports besides plain `ws://`: `wss://` with a certificate made in the test, and the
//! Server-Sent Events fallback (`/sse`) with resume by `Last-Event-ID`.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod common;

use std::{path::PathBuf, sync::Arc, time::Duration};

use common::{
    DEADLINE, TestServer,
    sse::{Event, Opened, SseClient},
    test_config, ticks_of,
};
use futures_util::{SinkExt, StreamExt};
use ticker_shared::{
    ErrorMessage, ResumeCursor, ServerMessage, Snapshot, Symbol, close, decode_server,
    sse::{EVENT_END, EVENT_HEARTBEAT},
};
use tokio::net::TcpStream;
use tokio_rustls::{
    TlsConnector,
    rustls::{self, ClientConfig, RootCertStore, pki_types::ServerName},
};
use tokio_tungstenite::{WebSocketStream, tungstenite::Message};

// ---------------------------------------------------------------------------------------------
// wss://

/// A self-signed certificate for `localhost` and 127.0.0.1, written to a fresh directory.
struct SelfSigned {
    dir: PathBuf,
    cert_der: Vec<u8>,
}

impl SelfSigned {
    fn generate() -> Self {
        let rcgen::CertifiedKey { cert, key_pair } = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])
        .unwrap();
        let dir = std::env::temp_dir().join(format!(
            "ticker-tls-{}-{:x}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
        std::fs::write(dir.join("key.pem"), key_pair.serialize_pem()).unwrap();
        SelfSigned {
            dir,
            cert_der: cert.der().to_vec(),
        }
    }

    /// A client configuration that trusts only this certificate.
    fn client_config(&self) -> ClientConfig {
        let mut roots = RootCertStore::empty();
        roots.add(self.cert_der.clone().into()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth()
    }
}

impl Drop for SelfSigned {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// The next protocol message on a WebSocket over any stream.
async fn next_frame<S>(ws: &mut WebSocketStream<S>) -> ServerMessage
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        let frame = tokio::time::timeout(DEADLINE, ws.next())
            .await
            .expect("a frame in time")
            .expect("the connection stays open")
            .unwrap();
        if let Message::Text(text) = frame {
            return decode_server(&text).unwrap();
        }
    }
}

#[actix_web::test]
async fn wss_serves_the_protocol_to_a_client_that_trusts_the_certificate() {
    let certificate = SelfSigned::generate();
    let mut config = test_config();
    config.tls_cert = Some(certificate.dir.join("cert.pem"));
    config.tls_key = Some(certificate.dir.join("key.pem"));
    let server = TestServer::start(config).await;

    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let connector = TlsConnector::from(Arc::new(certificate.client_config()));
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("TLS handshake with the server's certificate");
    let url = format!("wss://localhost:{}/ws", server.addr.port());
    let (mut ws, response) = tokio_tungstenite::client_async(url, tls)
        .await
        .expect("WebSocket handshake over TLS");
    assert_eq!(response.status().as_u16(), 101);
    assert!(matches!(next_frame(&mut ws).await, ServerMessage::Hello(_)));
    assert!(matches!(
        next_frame(&mut ws).await,
        ServerMessage::ChatHistory { .. }
    ));
    let subscribe = r#"{"type":"subscribe","symbols":["AAPL"]}"#;
    ws.send(Message::text(subscribe)).await.unwrap();
    let ServerMessage::Snapshot(snapshot) = next_frame(&mut ws).await else {
        panic!("snapshot first")
    };
    let mut last = snapshot.quote.map_or(0, |q| q.seq);
    let mut seen = 0;
    while seen < 5 {
        for tick in ticks_of(&next_frame(&mut ws).await) {
            assert_eq!(tick.seq, last + 1);
            last = tick.seq;
            seen += 1;
        }
    }

    // A client that does not trust the certificate cannot connect.
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let untrusting =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(RootCertStore::empty())
            .with_no_client_auth();
    let refused = TlsConnector::from(Arc::new(untrusting))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await;
    assert!(refused.is_err(), "an unknown certificate must be refused");
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn a_missing_certificate_stops_the_server_with_a_clear_error() {
    let mut config = test_config();
    config.tls_cert = Some("/nonexistent/cert.pem".into());
    config.tls_key = Some("/nonexistent/key.pem".into());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let err = ticker_server::run(config, listener, std::future::pending())
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("/nonexistent/cert.pem"),
        "{err:#}"
    );
}

// ---------------------------------------------------------------------------------------------
// Server-Sent Events

fn message_of(event: &Event) -> ServerMessage {
    assert_eq!(event.event, "", "expected a message event, got {event:?}");
    decode_server(&event.data).unwrap_or_else(|err| panic!("undecodable {}: {err}", event.data))
}

/// The next `message` event, skipping heartbeats.
async fn next_message(stream: &mut SseClient) -> (ServerMessage, Option<String>) {
    loop {
        let event = stream.next_event().await.expect("the stream goes on");
        if event.event == EVENT_HEARTBEAT {
            continue;
        }
        return (message_of(&event), event.id);
    }
}

/// Reads `count` more ticks of `symbol`, checking they follow `last` without gap or duplicate
/// and that each event's id names the position reached. Returns the last seq and id.
async fn consecutive(
    stream: &mut SseClient,
    symbol: &str,
    mut last: u64,
    count: u64,
) -> (u64, String) {
    let target = last + count;
    let mut last_id = String::new();
    while last < target {
        let (message, id) = next_message(stream).await;
        for tick in ticks_of(&message) {
            assert_eq!(tick.symbol.as_str(), symbol);
            assert_eq!(tick.seq, last + 1, "gap or duplicate after {last}");
            last = tick.seq;
        }
        let id = id.expect("every message event has an id");
        let cursor = ResumeCursor::parse(&id).unwrap();
        if !ticks_of(&message).is_empty() {
            assert_eq!(cursor.last_seq[&Symbol::new(symbol).unwrap()], last, "{id}");
        }
        last_id = id;
    }
    (last, last_id)
}

/// Opens `/sse?symbols=AAPL` with `headers`, reads hello, the chat history and the snapshot
/// that must follow; returns the stream, the snapshot and the seq the next tick continues from.
async fn open_aapl(server: &TestServer, headers: &str) -> (SseClient, Snapshot, u64) {
    let mut stream = SseClient::connect(server.addr, "/sse?symbols=AAPL", headers).await;
    let (hello, _) = next_message(&mut stream).await;
    assert!(
        matches!(hello, ServerMessage::Hello(_)),
        "hello first, got {hello:?}"
    );
    let (history, _) = next_message(&mut stream).await;
    assert!(
        matches!(history, ServerMessage::ChatHistory { .. }),
        "the chat history after hello, got {history:?}"
    );
    let (first, _) = next_message(&mut stream).await;
    let ServerMessage::Snapshot(snapshot) = first else {
        panic!("a snapshot after hello, got {first:?}")
    };
    let seq = snapshot.quote.as_ref().map_or(0, |q| q.seq);
    (stream, snapshot, seq)
}

#[actix_web::test]
async fn sse_streams_hello_a_snapshot_and_consecutive_ticks() {
    let server = TestServer::start(test_config()).await;
    let (mut stream, snapshot, seq) = open_aapl(&server, "").await;
    assert_eq!(snapshot.symbol.as_str(), "AAPL");
    assert!(!snapshot.reset);
    consecutive(&mut stream, "AAPL", seq, 20).await;
    assert_eq!(server.metric("ticker_sse_streams_opened_total").await, 1);
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn sse_resumes_after_last_event_id_without_gap_or_duplicate() {
    let server = TestServer::start(test_config()).await;
    let (mut stream, _, seq) = open_aapl(&server, "").await;
    let (last, id) = consecutive(&mut stream, "AAPL", seq, 5).await;
    drop(stream);

    // While this client is away, a witness sees the market move on.
    let (mut witness, ..) = open_aapl(&server, "").await;
    let mut moved_to = 0;
    while moved_to < last + 10 {
        let (message, _) = next_message(&mut witness).await;
        moved_to = ticks_of(&message).last().map_or(moved_to, |t| t.seq);
    }

    // The header, as `EventSource` sends it: the missed ticks are replayed, nothing else.
    let mut back = SseClient::connect(
        server.addr,
        "/sse?symbols=AAPL",
        &format!("Last-Event-ID: {id}\r\n"),
    )
    .await;
    assert!(matches!(
        next_message(&mut back).await.0,
        ServerMessage::Hello(_)
    ));
    let (last, id) = consecutive(&mut back, "AAPL", last, 15).await;
    drop(back);

    // The query parameter, for a client that reconnects by itself.
    let path = format!("/sse?symbols=AAPL&last_event_id={id}");
    let mut again = SseClient::connect(server.addr, &path, "").await;
    assert!(matches!(
        next_message(&mut again).await.0,
        ServerMessage::Hello(_)
    ));
    consecutive(&mut again, "AAPL", last, 5).await;
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn sse_cursor_from_another_instance_gets_a_reset_snapshot() {
    let server = TestServer::start(test_config()).await;
    let (mut stream, snapshot, seq) = open_aapl(&server, "Last-Event-ID: 00ff/AAPL:7\r\n").await;
    assert!(snapshot.reset, "a restarted server's client must reset");
    consecutive(&mut stream, "AAPL", seq, 3).await;
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn sse_bad_requests_get_a_400_with_a_machine_readable_error() {
    let server = TestServer::start(test_config()).await;
    let cases = [
        ("/sse?symbols=ZZZZ", "", "unknown_symbol"),
        ("/sse?symbols=aapl", "", "invalid_message"),
        (
            "/sse?symbols=AAPL&last_event_id=nonsense",
            "",
            "invalid_message",
        ),
        ("/sse", "Last-Event-ID: ab/AAPL:x\r\n", "invalid_message"),
    ];
    for (path, headers, code) in cases {
        let Opened::Refused(status, body) = SseClient::open(server.addr, path, headers).await
        else {
            panic!("{path} was accepted")
        };
        assert_eq!(status, 400, "{path}: {body}");
        let ServerMessage::Error(ErrorMessage {
            code: got, message, ..
        }) = decode_server(&body).unwrap()
        else {
            panic!("{path}: not an error message: {body}")
        };
        assert_eq!(
            serde_json::to_value(got).unwrap(),
            code,
            "{path}: {message}"
        );
        assert!(!message.is_empty());
    }
    // A wrong Origin is refused like a WebSocket handshake.
    let Opened::Refused(status, _) =
        SseClient::open(server.addr, "/sse", "Origin: https://evil.example\r\n").await
    else {
        panic!("a foreign origin was accepted")
    };
    assert_eq!(status, 403);
    // Nothing of this disturbed the server.
    let (mut stream, _, seq) = open_aapl(&server, "").await;
    consecutive(&mut stream, "AAPL", seq, 3).await;
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn sse_sends_heartbeats_and_ends_with_1001_on_shutdown() {
    let mut config = test_config();
    config.heartbeat_interval = Duration::from_millis(100);
    config.heartbeat_timeout = Duration::from_secs(5);
    let server = TestServer::start(config).await;
    // Subscribed to a symbol but reading only heartbeats between ticks.
    let mut stream = SseClient::connect(server.addr, "/sse?symbols=MSFT", "").await;
    let mut heartbeats = 0;
    while heartbeats < 2 {
        let event = stream.next_event().await.expect("stream open");
        if event.event == EVENT_HEARTBEAT {
            let server_time: i64 = event.data.parse().expect("heartbeat carries the time");
            assert!(server_time > 1_600_000_000_000);
            heartbeats += 1;
        }
    }
    let stopping = tokio::spawn(server.stop());
    let end = loop {
        let event = stream
            .next_event()
            .await
            .expect("an end event before the stream ends");
        if event.event == EVENT_END {
            break event;
        }
    };
    let notice: serde_json::Value = serde_json::from_str(&end.data).unwrap();
    assert_eq!(notice["code"], close::GOING_AWAY);
    assert_eq!(notice["reason"], close::REASON_SHUTDOWN);
    assert_eq!(
        stream.next_event().await,
        None,
        "the stream ends after `end`"
    );
    tokio::time::timeout(DEADLINE, stopping)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[actix_web::test]
async fn a_stalled_sse_reader_is_dropped_as_a_slow_consumer_and_others_go_on() {
    let mut config = test_config();
    config.queue_bound = 16;
    config.tick_rate = 500.0;
    let server = TestServer::start(config).await;
    let (mut healthy, _, seq) = open_aapl(&server, "").await;
    // A reader that never reads: a tiny receive buffer fills, then the server's, then its queue.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket.connect(server.addr).await.unwrap();
    let request = format!(
        "GET /sse?symbols=* HTTP/1.1\r\nHost: {}\r\n\r\n",
        server.addr
    );
    tokio::io::AsyncWriteExt::write_all(&mut stalled, request.as_bytes())
        .await
        .unwrap();
    server
        .wait_for_metric("ticker_slow_consumer_disconnects_total", 1)
        .await;
    drop(stalled);
    consecutive(&mut healthy, "AAPL", seq, 50).await;
    server.stop().await.unwrap();
}
