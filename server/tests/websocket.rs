//! The WebSocket protocol end to end: a real server on 127.0.0.1:0 and real clients.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod common;

use std::collections::BTreeMap;

use common::{RawClient, TestServer, masked_frame, test_config, ticks_of};
use ticker_shared::{
    ClientMessage, Interval, PROTOCOL_VERSION, ServerMessage, Symbol, SymbolList, Tick,
    decode_server,
};

fn symbol(text: &str) -> Symbol {
    Symbol::new(text).unwrap()
}

/// Reads until `count` ticks of `symbol` arrived; returns them and checks they are consecutive.
async fn consecutive_ticks(
    client: &mut common::Client,
    symbol: &str,
    after: u64,
    count: usize,
) -> Vec<Tick> {
    let mut ticks = Vec::new();
    let mut last = after;
    while ticks.len() < count {
        let message = client.next_message().await;
        for tick in ticks_of(&message)
            .iter()
            .filter(|t| t.symbol.as_str() == symbol)
        {
            assert_eq!(
                tick.seq,
                last + 1,
                "{symbol}: gap or duplicate after {last}"
            );
            last = tick.seq;
            ticks.push(tick.clone());
        }
    }
    ticks
}

/// Subscribes to `symbol` and reads its snapshot; returns the seq the next tick continues from.
/// (A tick may come before the subscription lands, so tests never assume the first is 1.)
async fn subscribe_from_snapshot(client: &mut common::Client, symbol: &str) -> u64 {
    client.subscribe(&[symbol]).await;
    client
        .wait_for(|message| match message {
            ServerMessage::Snapshot(snapshot) if snapshot.symbol.as_str() == symbol => {
                Some(snapshot.quote.as_ref().map_or(0, |q| q.seq))
            }
            _ => None,
        })
        .await
}

#[actix_web::test]
async fn handshake_answers_101_with_the_rfc_6455_accept_key() {
    let server = TestServer::start(test_config()).await;
    // The example key and accept value from RFC 6455 section 1.3.
    let (_client, head) = RawClient::connect(server.addr, "dGhlIHNhbXBsZSBub25jZQ==").await;
    let lower = head.to_ascii_lowercase();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(lower.contains("upgrade: websocket"), "{head}");
    assert!(
        lower.contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{head}"
    );
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn hello_then_the_chat_history_come_first_even_when_a_bad_frame_is_already_waiting() {
    let server = TestServer::start(test_config()).await;
    for attempt in 0..5 {
        // Sent with the handshake: the frames wait in the server's buffer from the start.
        let frames = [
            masked_frame(0x81, b"not json"),
            masked_frame(0x82, &[1, 2, 3]),
        ]
        .concat();
        let (mut raw, head) =
            RawClient::connect_pipelined(server.addr, "dGhlIHNhbXBsZSBub25jZQ==", &frames).await;
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        let mut kinds = Vec::new();
        while kinds.len() < 4 {
            let frame = tokio::time::timeout(common::DEADLINE, raw.read_frame())
                .await
                .expect("a frame in time")
                .expect("the connection stays open");
            if frame.opcode != 0x1 {
                continue;
            }
            let message = decode_server(std::str::from_utf8(&frame.payload).unwrap()).unwrap();
            kinds.push(match message {
                ServerMessage::Hello(_) => "hello".to_owned(),
                ServerMessage::ChatHistory { .. } => "chat_history".to_owned(),
                ServerMessage::Error(error) => format!("{:?}", error.code),
                other => format!("{other:?}"),
            });
        }
        assert_eq!(
            kinds,
            [
                "hello",
                "chat_history",
                "MalformedJson",
                "UnsupportedBinary"
            ],
            "attempt {attempt}"
        );
    }
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn a_plain_get_on_the_websocket_route_is_refused() {
    let server = TestServer::start(test_config()).await;
    let (status, _) = server.get("/ws").await;
    assert_eq!(status, 400);
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn hello_comes_first_and_describes_the_server() {
    let server = TestServer::start(test_config()).await;
    let (_client, hello) = server.connect().await;
    assert_eq!(hello.protocol_version, PROTOCOL_VERSION);
    assert_eq!(hello.instance_id.len(), 16);
    assert_eq!(hello.heartbeat_interval_ms, 5_000);
    assert_eq!(hello.intervals, Interval::ALL);
    assert_eq!(hello.intervals.last(), Some(&Interval::M5));
    let symbols: Vec<&str> = hello.symbols.iter().map(|s| s.symbol.as_str()).collect();
    assert_eq!(symbols, ["AAPL", "MSFT", "NVDA"]);
    assert!(
        hello
            .symbols
            .iter()
            .all(|s| s.reference_price.cents() > 0 && !s.name.is_empty())
    );
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn subscribe_sends_a_snapshot_then_ticks_with_consecutive_sequence_numbers() {
    let server = TestServer::start(test_config()).await;
    let (mut client, _) = server.connect().await;
    client.subscribe(&["AAPL", "MSFT"]).await;
    let mut after = BTreeMap::new();
    for _ in 0..2 {
        let ServerMessage::Snapshot(snapshot) = client.next_message().await else {
            panic!("expected snapshots first")
        };
        assert!(!snapshot.reset);
        assert!(
            snapshot.candles.keys().copied().eq(Interval::ALL),
            "a snapshot carries every interval, 5m included"
        );
        after.insert(
            snapshot.symbol.to_string(),
            snapshot.quote.map_or(0, |q| q.seq),
        );
    }
    assert_eq!(
        after.keys().map(String::as_str).collect::<Vec<_>>(),
        ["AAPL", "MSFT"]
    );
    let mut seen = BTreeMap::new();
    while seen.values().map(Vec::len).min().unwrap_or(0) < 20 || seen.len() < 2 {
        let message = client.next_message().await;
        for tick in ticks_of(&message) {
            assert_ne!(tick.symbol.as_str(), "NVDA", "not subscribed");
            let last = after.get_mut(tick.symbol.as_str()).unwrap();
            assert_eq!(tick.seq, *last + 1, "gap or duplicate in {}", tick.symbol);
            *last = tick.seq;
            seen.entry(tick.symbol.to_string())
                .or_insert_with(Vec::new)
                .push(tick.clone());
        }
    }
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn the_wildcard_subscribes_to_every_symbol_and_subscribing_twice_is_harmless() {
    let server = TestServer::start(test_config()).await;
    let (mut client, _) = server.connect().await;
    client
        .send(&ClientMessage::Subscribe {
            symbols: SymbolList::All,
        })
        .await;
    client.subscribe(&["AAPL"]).await;
    let before_pong = client.round_trip().await;
    let snapshots: Vec<String> = before_pong
        .iter()
        .filter_map(|m| match m {
            ServerMessage::Snapshot(s) => Some(s.symbol.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(
        snapshots,
        ["AAPL", "MSFT", "NVDA"],
        "one snapshot per symbol, none for the repeat"
    );
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn unsubscribe_is_confirmed_and_stops_the_ticks() {
    let server = TestServer::start(test_config()).await;
    let (mut client, _) = server.connect().await;
    let from = subscribe_from_snapshot(&mut client, "AAPL").await;
    consecutive_ticks(&mut client, "AAPL", from, 1).await;
    client
        .send(&ClientMessage::Unsubscribe {
            symbols: SymbolList::Only(vec![symbol("AAPL")]),
        })
        .await;
    let confirmed = client
        .wait_for(|m| match m {
            ServerMessage::Unsubscribed { symbols } => Some(symbols.clone()),
            _ => None,
        })
        .await;
    assert_eq!(confirmed, vec![symbol("AAPL")]);
    // MSFT keeps ticking; across 30 of its ticks no AAPL tick may appear.
    client.subscribe(&["MSFT"]).await;
    let mut msft = 0;
    while msft < 30 {
        let message = client.next_message().await;
        for tick in ticks_of(&message) {
            assert_eq!(
                tick.symbol.as_str(),
                "MSFT",
                "tick after unsubscribe: {tick:?}"
            );
            msft += 1;
        }
    }
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn resume_after_a_reconnect_replays_exactly_the_missed_ticks() {
    let server = TestServer::start(test_config()).await;
    let (mut first, hello) = server.connect().await;
    let from = subscribe_from_snapshot(&mut first, "AAPL").await;
    let seen = consecutive_ticks(&mut first, "AAPL", from, 5).await;
    let last_seen = seen.last().unwrap().seq;
    drop(first);

    // A watcher proves the market moved on while the first client was away.
    let (mut watcher, _) = server.connect().await;
    watcher.subscribe(&["AAPL"]).await;
    let ServerMessage::Snapshot(snapshot) = watcher.next_message().await else {
        panic!("snapshot")
    };
    let mut moved_to = snapshot.quote.unwrap().seq;
    while moved_to < last_seen + 10 {
        moved_to = consecutive_ticks(&mut watcher, "AAPL", moved_to, 1)
            .await
            .last()
            .unwrap()
            .seq;
    }

    let (mut resumed, hello_again) = server.connect().await;
    assert_eq!(hello_again.instance_id, hello.instance_id);
    resumed
        .send(&ClientMessage::Resume {
            instance_id: hello.instance_id.clone(),
            last_seq: BTreeMap::from([(symbol("AAPL"), last_seen)]),
        })
        .await;
    let mut last = last_seen;
    while last < moved_to + 5 {
        let message = resumed.next_message().await;
        assert!(
            !matches!(message, ServerMessage::Snapshot(_)),
            "resume within history needs no snapshot"
        );
        for tick in ticks_of(&message) {
            assert_eq!(tick.seq, last + 1, "gap or duplicate after resume");
            last = tick.seq;
        }
    }
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn resume_from_another_instance_or_beyond_the_history_gets_a_reset_snapshot() {
    let mut config = test_config();
    config.history = 5;
    let server = TestServer::start(config).await;
    let (mut client, hello) = server.connect().await;
    let from = subscribe_from_snapshot(&mut client, "AAPL").await;
    consecutive_ticks(&mut client, "AAPL", from, 12).await;

    for (instance_id, last_seq) in [
        ("0000000000000000".to_owned(), 11),
        (hello.instance_id.clone(), 1),
    ] {
        let (mut resumed, _) = server.connect().await;
        resumed
            .send(&ClientMessage::Resume {
                instance_id,
                last_seq: BTreeMap::from([(symbol("AAPL"), last_seq)]),
            })
            .await;
        let message = resumed.next_message().await;
        let ServerMessage::Snapshot(snapshot) = message else {
            panic!("expected a snapshot, got {message:?}")
        };
        assert!(
            snapshot.reset,
            "the snapshot must say it replaces old state"
        );
        let from = snapshot.quote.unwrap().seq;
        consecutive_ticks(&mut resumed, "AAPL", from, 3).await;
    }
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn an_application_ping_is_answered_with_its_timestamp() {
    let server = TestServer::start(test_config()).await;
    let (mut client, _) = server.connect().await;
    client
        .send(&ClientMessage::Ping {
            ts: 1_764_000_000_456.25,
        })
        .await;
    let ServerMessage::Pong(pong) = client.next_message().await else {
        panic!("expected pong")
    };
    assert_eq!(pong.ts, 1_764_000_000_456.25);
    assert!(pong.server_time > 1_700_000_000_000);
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn the_same_seed_gives_the_same_prices_on_two_servers() {
    // Each server's ticks by seq, from wherever the subscription landed up to seq `UNTIL`.
    const UNTIL: u64 = 100;
    let mut streams = Vec::new();
    for _ in 0..2 {
        let server = TestServer::start(test_config()).await;
        let (mut client, _) = server.connect().await;
        let from = subscribe_from_snapshot(&mut client, "NVDA").await;
        let count = UNTIL.saturating_sub(from).max(1) as usize;
        let ticks = consecutive_ticks(&mut client, "NVDA", from, count).await;
        streams.push(
            ticks
                .iter()
                .map(|t| (t.seq, (t.price, t.size)))
                .collect::<BTreeMap<_, _>>(),
        );
        server.stop().await.unwrap();
    }
    let common: Vec<u64> = streams[0]
        .keys()
        .filter(|seq| streams[1].contains_key(seq))
        .copied()
        .collect();
    assert!(common.len() >= 5, "too few ticks in common: {common:?}");
    for seq in common {
        assert_eq!(streams[0][&seq], streams[1][&seq], "tick {seq} differs");
    }
}

#[actix_web::test]
async fn a_symbol_count_past_the_catalogue_simulates_synthetic_symbols() {
    let mut config = test_config();
    config.symbols = Vec::new();
    config.symbol_count = Some(40);
    let server = TestServer::start(config).await;
    let (mut client, hello) = server.connect().await;
    assert_eq!(hello.symbols.len(), 40);
    assert_eq!(hello.symbols[0].symbol.as_str(), "AAPL");
    assert_eq!(hello.symbols[39].symbol.as_str(), "SIM0040");
    let from = subscribe_from_snapshot(&mut client, "SIM0040").await;
    consecutive_ticks(&mut client, "SIM0040", from, 3).await;
    server.stop().await.unwrap();
}

type Stream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `/ws` offering `protocols` (`Sec-WebSocket-Protocol`); returns the stream and the
/// subprotocol the server chose, if any.
async fn connect_offering(server: &TestServer, protocols: &str) -> (Stream, Option<String>) {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = server.url("ws", "/ws").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", protocols.parse().unwrap());
    let (ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    let chosen = response
        .headers()
        .get("Sec-WebSocket-Protocol")
        .map(|value| value.to_str().unwrap().to_owned());
    (ws, chosen)
}

#[actix_web::test]
async fn a_client_offering_the_binary_subprotocol_gets_live_ticks_in_binary_frames() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let server = TestServer::start(test_config()).await;
    let (mut ws, chosen) = connect_offering(&server, "ticker.v1.bin, ticker.v1.json").await;
    assert_eq!(chosen.as_deref(), Some("ticker.v1.bin"));
    async fn next(ws: &mut Stream) -> Message {
        tokio::time::timeout(common::DEADLINE, ws.next())
            .await
            .expect("a frame in time")
            .expect("the stream goes on")
            .expect("a frame")
    }
    let Message::Text(hello) = next(&mut ws).await else {
        panic!("hello is JSON text")
    };
    let Ok(ServerMessage::Hello(hello)) = ticker_shared::decode_server(&hello) else {
        panic!("hello first")
    };
    let symbols: Vec<Symbol> = hello.symbols.iter().map(|s| s.symbol.clone()).collect();
    let subscribe = ClientMessage::Subscribe {
        symbols: SymbolList::Only(vec![symbol("MSFT")]),
    };
    ws.send(Message::text(subscribe.to_json())).await.unwrap();
    let (mut last, mut binary_ticks) = (None, 0);
    while binary_ticks < 20 {
        match next(&mut ws).await {
            Message::Text(text) => match ticker_shared::decode_server(&text).unwrap() {
                ServerMessage::Snapshot(snapshot) => {
                    last = Some(snapshot.quote.map_or(0, |q| q.seq));
                }
                ServerMessage::ChatHistory { .. } => {}
                other => panic!("live ticks come in binary frames, got {other:?}"),
            },
            Message::Binary(bytes) => {
                let Ok(ServerMessage::Ticks { ticks, .. }) =
                    ticker_shared::binary::decode(&bytes, &symbols)
                else {
                    panic!("a binary ticks message")
                };
                for tick in ticks {
                    assert_eq!(tick.symbol.as_str(), "MSFT");
                    let after = last.expect("the snapshot comes before the ticks");
                    assert_eq!(tick.seq, after + 1, "gap or duplicate after {after}");
                    last = Some(tick.seq);
                    binary_ticks += 1;
                }
            }
            _ => {}
        }
    }
}

#[actix_web::test]
async fn json_is_chosen_when_offered_alone_and_used_when_nothing_is_offered() {
    let server = TestServer::start(test_config()).await;
    let (_json, chosen) = connect_offering(&server, "ticker.v1.json").await;
    assert_eq!(chosen.as_deref(), Some("ticker.v1.json"));
    // Offering only subprotocols Ticker does not speak: the server answers without the header
    // (a client that insists on one of them then gives up, as RFC 6455 says).
    let stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let protocols = "Sec-WebSocket-Protocol: chat, superchat\r\n";
    let (_raw, head) = RawClient::handshake_with(
        stream,
        server.addr,
        "/ws",
        "dGhlIHNhbXBsZSBub25jZQ==",
        protocols,
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        !head.to_ascii_lowercase().contains("sec-websocket-protocol"),
        "{head}"
    );
    let (mut client, _) = server.connect().await;
    let after = subscribe_from_snapshot(&mut client, "AAPL").await;
    consecutive_ticks(&mut client, "AAPL", after, 5).await;
}
