//! Wire-format tests: every message round-trips, golden fixtures pin the exact JSON, and bad
//! client input yields the documented error.
//!
//! The fixtures in `tests/fixtures/` are the contract with every client. If a change to them is
//! deliberate, regenerate them with `UPDATE_FIXTURES=1 cargo test -p ticker-shared` and update
//! `docs/PROTOCOL.md` in the same commit.

use std::{collections::BTreeMap, path::PathBuf};

use proptest::prelude::*;
use ticker_shared::{
    AlertCondition, AlertError, AlertId, AlertRule, Candle, CandleUpdate, ChatError, ChatMessage,
    ChatPost, ClientMessage, DecodeError, ErrorCode, ErrorMessage, Hello, HistoryPage,
    HistoryRequest, Interval, MAX_HISTORY_CANDLES, PROTOCOL_VERSION, Pong, Price, ServerMessage,
    Snapshot, Symbol, SymbolInfo, SymbolList, Tick,
    alert::{MAX_ALERT_PRICE, MAX_ALERTS_PER_CONNECTION},
    chat::{MAX_CHAT_NAME_CHARS, MAX_CHAT_TEXT_CHARS, breaks_the_line, is_bidi_control},
    codec::{TickFrame, encode_candle, encode_tick},
    decode_client, decode_server,
};

fn sym(text: &str) -> Symbol {
    Symbol::new(text).expect("test symbols are valid")
}

fn tick(symbol: &str, seq: u64, price: i64) -> Tick {
    Tick {
        symbol: sym(symbol),
        seq,
        ts: 1_764_000_000_123,
        price: Price(price),
        size: 300,
        bid: Price(price - 1),
        ask: Price(price),
        open: Price(18_650),
        high: Price(18_800),
        low: Price(18_600),
        volume: 1_234_500,
    }
}

fn candle(start: i64) -> Candle {
    Candle {
        start,
        open: Price(18_700),
        high: Price(18_740),
        low: Price(18_690),
        close: Price(18_734),
        volume: 4_200,
    }
}

fn client_samples() -> Vec<(&'static str, ClientMessage)> {
    vec![
        (
            "client_subscribe",
            ClientMessage::Subscribe {
                symbols: SymbolList::Only(vec![sym("AAPL"), sym("MSFT")]),
            },
        ),
        (
            "client_subscribe_all",
            ClientMessage::Subscribe {
                symbols: SymbolList::All,
            },
        ),
        (
            "client_unsubscribe",
            ClientMessage::Unsubscribe {
                symbols: SymbolList::Only(vec![sym("MSFT")]),
            },
        ),
        (
            "client_resume",
            ClientMessage::Resume {
                instance_id: "5f0c2a9e7d31b4c8".into(),
                last_seq: BTreeMap::from([(sym("AAPL"), 14_402), (sym("MSFT"), 13_977)]),
            },
        ),
        (
            "client_ping",
            ClientMessage::Ping {
                ts: 1_764_000_000_456.5,
            },
        ),
        (
            "client_history",
            ClientMessage::History(HistoryRequest {
                symbol: sym("AAPL"),
                interval: Interval::S1,
                before: 1_764_000_000_000,
                limit: 300,
            }),
        ),
        ("client_add_alert", ClientMessage::AddAlert(alert_rule())),
        ("client_remove_alert", ClientMessage::RemoveAlert { id: 7 }),
        (
            "client_chat",
            ClientMessage::Chat(ChatPost {
                name: "Ada".into(),
                text: "hello desk".into(),
            }),
        ),
    ]
}

fn chat_message(id: u64, text: &str) -> ChatMessage {
    ChatMessage {
        id,
        name: "Ada".into(),
        text: text.into(),
        ts: 1_764_000_000_123,
    }
}

fn alert_rule() -> AlertRule {
    AlertRule {
        id: 7,
        symbol: sym("AAPL"),
        condition: AlertCondition::Above,
        price: Price(18_800),
    }
}

fn server_samples() -> Vec<(&'static str, ServerMessage)> {
    vec![
        (
            "server_hello",
            ServerMessage::Hello(Hello {
                protocol_version: PROTOCOL_VERSION,
                instance_id: "5f0c2a9e7d31b4c8".into(),
                started_at: 1_764_000_000_000,
                server_time: 1_764_000_000_100,
                heartbeat_interval_ms: 5_000,
                intervals: Interval::ALL.to_vec(),
                symbols: vec![SymbolInfo {
                    symbol: sym("AAPL"),
                    name: "Apple Inc.".into(),
                    tick_size: Price(1),
                    reference_price: Price(18_650),
                }],
            }),
        ),
        (
            "server_snapshot",
            ServerMessage::Snapshot(Snapshot {
                symbol: sym("AAPL"),
                reset: false,
                quote: Some(tick("AAPL", 14_402, 18_734)),
                candles: BTreeMap::from([
                    (Interval::S1, vec![candle(1_764_000_000_000)]),
                    (Interval::S5, vec![candle(1_764_000_000_000)]),
                    (Interval::M1, vec![candle(1_763_999_940_000)]),
                    (Interval::M5, vec![candle(1_763_999_700_000)]),
                ]),
            }),
        ),
        (
            "server_ticks",
            ServerMessage::Ticks {
                ticks: vec![tick("AAPL", 14_403, 18_735), tick("MSFT", 13_978, 41_210)],
                candles: Vec::new(),
            },
        ),
        (
            "server_ticks_with_candles",
            ServerMessage::Ticks {
                ticks: vec![tick("AAPL", 14_404, 18_736)],
                candles: vec![CandleUpdate {
                    symbol: sym("AAPL"),
                    interval: Interval::S1,
                    candle: candle(1_764_000_000_000),
                }],
            },
        ),
        (
            "server_candle",
            ServerMessage::Candle(CandleUpdate {
                symbol: sym("AAPL"),
                interval: Interval::S5,
                candle: candle(1_764_000_000_000),
            }),
        ),
        (
            "server_unsubscribed",
            ServerMessage::Unsubscribed {
                symbols: vec![sym("MSFT")],
            },
        ),
        (
            "server_pong",
            ServerMessage::Pong(Pong {
                ts: 1_764_000_000_456.5,
                server_time: 1_764_000_000_460,
            }),
        ),
        (
            "server_history",
            ServerMessage::History(HistoryPage {
                symbol: sym("AAPL"),
                interval: Interval::S1,
                candles: vec![candle(1_763_999_998_000), candle(1_763_999_999_000)],
                complete: false,
            }),
        ),
        (
            "server_alert_added",
            ServerMessage::AlertAdded(alert_rule()),
        ),
        (
            "server_alert_removed",
            ServerMessage::AlertRemoved { id: 7 },
        ),
        (
            "server_alert",
            ServerMessage::Alert(alert_rule().fired_by(&tick("AAPL", 1_234, 18_801))),
        ),
        (
            "server_chat",
            ServerMessage::Chat(chat_message(42, "hello desk")),
        ),
        (
            "server_chat_history",
            ServerMessage::ChatHistory {
                messages: vec![
                    chat_message(41, "<b>not bold</b> & verbatim"),
                    chat_message(42, "hello desk"),
                ],
            },
        ),
        (
            "server_error",
            ServerMessage::error(ErrorCode::UnknownSymbol, "unknown symbol \"FOO\""),
        ),
        (
            "server_error_in_reply_to",
            ErrorMessage::new(
                ErrorCode::UnknownSymbol,
                "unknown symbol(s) FOO; nothing was changed",
            )
            .replying_to("subscribe")
            .into(),
        ),
        (
            "server_error_chat",
            ChatError::TextTooLong(281).to_error().into(),
        ),
        (
            "server_error_alert",
            AlertError::PriceNotPositive(Price(0)).to_error(7).into(),
        ),
    ]
}

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("{name}.json"))
}

/// Compares `json` with the fixture `name`, or rewrites the fixture when `UPDATE_FIXTURES` is set.
fn assert_matches_fixture(name: &str, json: &str) {
    let path = fixture_path(name);
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(&path, format!("{json}\n")).expect("fixture is writable");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|err| {
        panic!(
            "fixture {} missing ({err}); see this file's header",
            path.display()
        )
    });
    assert_eq!(
        json,
        expected.trim_end(),
        "wire format of {name} changed; see this file's header"
    );
}

#[test]
fn client_messages_match_their_fixtures_and_round_trip() {
    for (name, message) in client_samples() {
        let json = message.to_json();
        assert_matches_fixture(name, &json);
        assert_eq!(decode_client(&json), Ok(message), "{name}");
    }
}

#[test]
fn server_messages_match_their_fixtures_and_round_trip() {
    for (name, message) in server_samples() {
        let json = message.to_json();
        assert_matches_fixture(name, &json);
        assert_eq!(
            decode_server(&json).expect("fixture decodes"),
            message,
            "{name}"
        );
    }
}

#[test]
fn the_two_pass_server_decoder_agrees_with_serdes_derived_one() {
    let derived = |text: &str| serde_json::from_str::<ServerMessage>(text).ok();
    for (name, message) in server_samples() {
        let json = message.to_json();
        assert_eq!(decode_server(&json).ok(), derived(&json), "{name}");
    }
    // The tag anywhere, optional fields absent, unknown fields ignored, as serde does.
    let reordered = r#"{"symbols":["AAPL"],"extra":[1,{"a":2}],"type":"unsubscribed"}"#;
    assert_eq!(decode_server(reordered).ok(), derived(reordered));
    assert!(decode_server(reordered).is_ok());
    let bare_ticks = r#"{"type":"ticks","ticks":[]}"#;
    assert_eq!(decode_server(bare_ticks).ok(), derived(bare_ticks));
    for bad in [
        "",
        "[]",
        r#"{"type":"nope"}"#,
        r#"{"type":7}"#,
        r#"{"symbols":["AAPL"]}"#,
        r#"{"type":"pong","ts":"soon"}"#,
        r#"{"type":"hello"}"#,
    ] {
        assert!(
            decode_server(bad).is_err() && derived(bad).is_none(),
            "{bad}"
        );
    }
}

#[test]
fn a_tick_frame_built_from_shared_bytes_equals_the_serialized_message() {
    let ticks = vec![
        tick("AAPL", 1, 100),
        tick("MSFT", 7, 200),
        tick("AAPL", 2, 101),
    ];
    let mut frame = TickFrame::new();
    for t in &ticks {
        frame.push(&encode_tick(t));
    }
    assert_eq!(frame.len(), 3);
    let expected = ServerMessage::Ticks {
        ticks,
        candles: Vec::new(),
    }
    .to_json();
    assert_eq!(frame.byte_len(), expected.len());
    assert_eq!(frame.finish(), Some(expected));
    assert!(frame.is_empty(), "finish leaves the frame empty for reuse");
}

#[test]
fn joined_per_symbol_frames_equal_the_serialized_message_with_candles_after_ticks() {
    let closed = |symbol: &str, start: i64| CandleUpdate {
        symbol: Symbol::new(symbol).unwrap(),
        interval: Interval::S1,
        candle: Candle {
            start,
            open: Price(100),
            high: Price(101),
            low: Price(99),
            close: Price(100),
            volume: 5,
        },
    };
    let mut aapl = TickFrame::new();
    let mut msft = TickFrame::new();
    let empty = TickFrame::new();
    aapl.push(&encode_tick(&tick("AAPL", 1, 100)));
    aapl.push(&encode_tick(&tick("AAPL", 2, 101)));
    aapl.push_candle(&encode_candle(&closed("AAPL", 0)));
    msft.push(&encode_tick(&tick("MSFT", 7, 200)));
    msft.push_candle(&encode_candle(&closed("MSFT", 0)));
    let expected = ServerMessage::Ticks {
        ticks: vec![
            tick("AAPL", 1, 100),
            tick("AAPL", 2, 101),
            tick("MSFT", 7, 200),
        ],
        candles: vec![closed("AAPL", 0), closed("MSFT", 0)],
    }
    .to_json();
    assert_eq!(TickFrame::join([&aapl, &empty, &msft]), Some(expected));
    let only_msft_candle = {
        let mut frame = TickFrame::new();
        frame.push_candle(&encode_candle(&closed("MSFT", 0)));
        frame
    };
    let ticks_of_aapl_candle_of_msft = TickFrame::join([&aapl, &only_msft_candle]).unwrap();
    let Ok(ServerMessage::Ticks { ticks, candles }) = decode_server(&ticks_of_aapl_candle_of_msft)
    else {
        panic!("a ticks message: {ticks_of_aapl_candle_of_msft}")
    };
    assert_eq!((ticks.len(), candles.len()), (2, 2));
    assert_eq!(
        TickFrame::join([&empty, &only_msft_candle]),
        None,
        "no tick, no message"
    );
}

#[test]
fn bad_client_input_gets_the_documented_error_code() {
    let too_large = format!(r#"{{"type":"ping","ts":1,"pad":"{}"}}"#, "x".repeat(20_000));
    let deeply_nested = format!("{}{}", "[".repeat(1_000), "]".repeat(1_000));
    let too_many = format!(
        r#"{{"type":"resume","instance_id":"x","last_seq":{{{}}}}}"#,
        (0..300)
            .map(|i| format!(r#""S{i}":1"#))
            .collect::<Vec<_>>()
            .join(",")
    );
    let cases: &[(&str, &str, ErrorCode)] = &[
        (
            "plain text from the seed",
            "안녕하세요!",
            ErrorCode::MalformedJson,
        ),
        ("empty frame", "", ErrorCode::MalformedJson),
        (
            "truncated JSON",
            r#"{"type":"subscribe","symbols":["AAPL""#,
            ErrorCode::MalformedJson,
        ),
        (
            "deeply nested JSON",
            &deeply_nested,
            ErrorCode::MalformedJson,
        ),
        ("oversize", &too_large, ErrorCode::MessageTooLarge),
        ("array", r#"["subscribe"]"#, ErrorCode::NotAnObject),
        ("number", "42", ErrorCode::NotAnObject),
        ("no type", r#"{"symbols":["AAPL"]}"#, ErrorCode::MissingType),
        ("non-string type", r#"{"type":7}"#, ErrorCode::MissingType),
        (
            "unknown type",
            r#"{"type":"buy","symbol":"AAPL"}"#,
            ErrorCode::UnknownType,
        ),
        (
            "server type from a client",
            r#"{"type":"hello"}"#,
            ErrorCode::UnknownType,
        ),
        (
            "unknown field",
            r#"{"type":"subscribe","symbols":["AAPL"],"depth":10}"#,
            ErrorCode::UnknownField,
        ),
        (
            "missing field",
            r#"{"type":"subscribe"}"#,
            ErrorCode::InvalidMessage,
        ),
        (
            "wrong field type",
            r#"{"type":"subscribe","symbols":"AAPL"}"#,
            ErrorCode::InvalidMessage,
        ),
        (
            "empty symbol list",
            r#"{"type":"subscribe","symbols":[]}"#,
            ErrorCode::InvalidMessage,
        ),
        (
            "malformed symbol",
            r#"{"type":"subscribe","symbols":["<script>"]}"#,
            ErrorCode::InvalidMessage,
        ),
        (
            "huge number",
            r#"{"type":"resume","instance_id":"x","last_seq":{"AAPL":1e400}}"#,
            ErrorCode::MalformedJson,
        ),
        (
            "negative seq",
            r#"{"type":"resume","instance_id":"x","last_seq":{"AAPL":-1}}"#,
            ErrorCode::InvalidMessage,
        ),
        (
            "seq beyond u64",
            r#"{"type":"resume","instance_id":"x","last_seq":{"AAPL":18446744073709551616}}"#,
            ErrorCode::InvalidMessage,
        ),
        (
            "too many resume symbols",
            &too_many,
            ErrorCode::InvalidMessage,
        ),
        (
            "ping without number",
            r#"{"type":"ping","ts":"now"}"#,
            ErrorCode::InvalidMessage,
        ),
        (
            "history of no candles",
            r#"{"type":"history","symbol":"AAPL","interval":"1s","before":0,"limit":0}"#,
            ErrorCode::InvalidMessage,
        ),
        (
            "history of too many candles",
            r#"{"type":"history","symbol":"AAPL","interval":"1s","before":0,"limit":501}"#,
            ErrorCode::InvalidMessage,
        ),
        (
            "history with a negative limit",
            r#"{"type":"history","symbol":"AAPL","interval":"1s","before":0,"limit":-1}"#,
            ErrorCode::InvalidMessage,
        ),
        (
            "history at an unknown interval",
            r#"{"type":"history","symbol":"AAPL","interval":"2m","before":0,"limit":10}"#,
            ErrorCode::InvalidMessage,
        ),
        (
            "history without before",
            r#"{"type":"history","symbol":"AAPL","interval":"1s","limit":10}"#,
            ErrorCode::InvalidMessage,
        ),
        (
            "history with a fractional time",
            r#"{"type":"history","symbol":"AAPL","interval":"1s","before":1.5,"limit":10}"#,
            ErrorCode::InvalidMessage,
        ),
        (
            "alert on a condition that is neither above nor below",
            r#"{"type":"add_alert","id":7,"symbol":"AAPL","condition":"crosses","price":100}"#,
            ErrorCode::InvalidMessage,
        ),
        (
            "alert at a fractional price",
            r#"{"type":"add_alert","id":7,"symbol":"AAPL","condition":"above","price":100.5}"#,
            ErrorCode::InvalidMessage,
        ),
        (
            "alert price as text",
            r#"{"type":"add_alert","id":7,"symbol":"AAPL","condition":"above","price":"100"}"#,
            ErrorCode::InvalidMessage,
        ),
        (
            "alert without a price",
            r#"{"type":"add_alert","id":7,"symbol":"AAPL","condition":"above"}"#,
            ErrorCode::InvalidMessage,
        ),
        (
            "alert id beyond u32",
            r#"{"type":"add_alert","id":4294967296,"symbol":"AAPL","condition":"above","price":1}"#,
            ErrorCode::InvalidMessage,
        ),
        (
            "negative alert id",
            r#"{"type":"remove_alert","id":-1}"#,
            ErrorCode::InvalidMessage,
        ),
        (
            "alert with a malformed symbol",
            r#"{"type":"add_alert","id":7,"symbol":"<b>","condition":"above","price":1}"#,
            ErrorCode::InvalidMessage,
        ),
        (
            "alert with an unknown field",
            r#"{"type":"add_alert","id":7,"symbol":"AAPL","condition":"above","price":1,"repeat":true}"#,
            ErrorCode::UnknownField,
        ),
        (
            "chat without a name",
            r#"{"type":"chat","text":"hello"}"#,
            ErrorCode::InvalidMessage,
        ),
        (
            "chat text that is not a string",
            r#"{"type":"chat","name":"Ada","text":["hello"]}"#,
            ErrorCode::InvalidMessage,
        ),
        (
            "chat with an unknown field",
            r#"{"type":"chat","name":"Ada","text":"hi","html":true}"#,
            ErrorCode::UnknownField,
        ),
        (
            "history with an unknown field",
            r#"{"type":"history","symbol":"AAPL","interval":"1s","before":0,"limit":10,"after":0}"#,
            ErrorCode::UnknownField,
        ),
    ];
    for (what, input, code) in cases {
        let err = decode_client(input).expect_err(what);
        assert_eq!(err.code(), *code, "{what}: {err}");
        let ServerMessage::Error(reply) = err.to_message() else {
            panic!("{what}: not an error message")
        };
        assert!(
            reply.message.len() < 300,
            "{what}: error message too long: {}",
            reply.message
        );
    }
}

#[test]
fn errors_name_the_offending_part() {
    let unknown_field = decode_client(r#"{"type":"subscribe","symbols":["AAPL"],"depth":10}"#);
    assert_eq!(
        unknown_field,
        Err(DecodeError::UnknownField {
            kind: "subscribe".into(),
            field: "depth".into(),
            alert_id: None,
        })
    );
    let unknown_type = decode_client(r#"{"type":"buy"}"#);
    assert_eq!(unknown_type, Err(DecodeError::UnknownType("buy".into())));
}

#[test]
fn decode_errors_name_the_refused_type_only_when_it_is_a_known_one() {
    let cases = [
        (
            r#"{"type":"subscribe","symbols":["AAPL"],"depth":10}"#,
            Some("subscribe"),
        ),
        (r#"{"type":"ping","ts":"now"}"#, Some("ping")),
        (r#"{"type":"buy"}"#, None),
        (r#"{"symbols":["AAPL"]}"#, None),
        ("not json", None),
    ];
    for (input, in_reply_to) in cases {
        let error = decode_client(input).unwrap_err().to_error();
        assert_eq!(error.in_reply_to.as_deref(), in_reply_to, "{input}");
        assert_eq!(error.alert_id, None, "{input}");
    }
}

#[test]
fn a_refused_alert_message_names_its_id_when_it_has_a_valid_one() {
    let cases = [
        (
            r#"{"type":"add_alert","id":7,"symbol":"AAPL","condition":"crosses","price":1}"#,
            "add_alert",
            Some(7),
        ),
        (
            r#"{"type":"add_alert","id":9,"symbol":"AAPL","condition":"above","price":1,"x":0}"#,
            "add_alert",
            Some(9),
        ),
        (r#"{"type":"remove_alert","id":"7"}"#, "remove_alert", None),
        (
            r#"{"type":"remove_alert","id":3,"all":true}"#,
            "remove_alert",
            Some(3),
        ),
        (
            r#"{"type":"add_alert","id":-7,"symbol":"AAPL","condition":"above","price":1}"#,
            "add_alert",
            None,
        ),
    ];
    for (input, kind, alert_id) in cases {
        let error = decode_client(input).unwrap_err().to_error();
        assert_eq!(error.in_reply_to.as_deref(), Some(kind), "{input}");
        assert_eq!(error.alert_id, alert_id, "{input}");
    }
}

#[test]
fn an_error_without_the_optional_fields_keeps_its_old_bytes() {
    let plain = ServerMessage::error(ErrorCode::UnknownSymbol, "x").to_json();
    assert_eq!(
        plain,
        r#"{"type":"error","code":"unknown_symbol","message":"x"}"#
    );
    let older_server = r#"{"type":"error","code":"unknown_symbol","message":"x"}"#;
    let Ok(ServerMessage::Error(error)) = decode_server(older_server) else {
        panic!("decodes")
    };
    assert_eq!((error.in_reply_to, error.alert_id), (None, None));
}

fn symbol_strategy() -> impl Strategy<Value = Symbol> {
    "[A-Z][A-Z0-9.-]{0,11}".prop_map(|text| sym(&text))
}

fn client_message_strategy() -> impl Strategy<Value = ClientMessage> {
    let list = prop_oneof![
        Just(SymbolList::All),
        prop::collection::btree_set(symbol_strategy(), 1..20)
            .prop_map(|set| SymbolList::Only(set.into_iter().collect())),
    ];
    prop_oneof![
        list.clone()
            .prop_map(|symbols| ClientMessage::Subscribe { symbols }),
        list.prop_map(|symbols| ClientMessage::Unsubscribe { symbols }),
        (
            "[0-9a-f]{0,32}",
            prop::collection::btree_map(symbol_strategy(), any::<u64>(), 0..20)
        )
            .prop_map(|(instance_id, last_seq)| ClientMessage::Resume {
                instance_id,
                last_seq
            }),
        (-1e15f64..1e15).prop_map(|ts| ClientMessage::Ping { ts }),
        (
            symbol_strategy(),
            prop::sample::select(Interval::ALL.to_vec()),
            any::<i64>(),
            1..=MAX_HISTORY_CANDLES,
        )
            .prop_map(|(symbol, interval, before, limit)| {
                ClientMessage::History(HistoryRequest {
                    symbol,
                    interval,
                    before,
                    limit,
                })
            }),
        (
            any::<AlertId>(),
            symbol_strategy(),
            prop::sample::select(vec![AlertCondition::Above, AlertCondition::Below]),
            any::<i64>(),
        )
            .prop_map(|(id, symbol, condition, price)| {
                ClientMessage::AddAlert(AlertRule {
                    id,
                    symbol,
                    condition,
                    price: Price(price),
                })
            }),
        any::<AlertId>().prop_map(|id| ClientMessage::RemoveAlert { id }),
        (any::<String>(), any::<String>())
            .prop_map(|(name, text)| ClientMessage::Chat(ChatPost { name, text })),
    ]
}

/// Letters, spaces, right-to-left text and, now and then, a bidirectional control or a line or
/// paragraph separator (or a character next to their ranges): `any::<String>()` almost never
/// holds one.
const BIDI_AND_LETTERS: &str = "[ a-zא-ת\u{200D}\u{2065}\u{206A}]{0,20}[\u{202A}-\u{202E}\u{2066}-\u{2069}\u{200E}\u{200F}\u{061C}\u{2028}\u{2029}]?[ a-z]{0,4}";

proptest! {
    #[test]
    fn decoding_arbitrary_text_never_panics(text in any::<String>()) {
        let _ = decode_client(&text);
    }

    #[test]
    fn decoding_json_shaped_text_never_panics(text in r#"\{"type":"(subscribe|resume|ping|history|add_alert|remove_alert|chat)"[,:\[\]{}"a-zA-Z0-9*. -]{0,60}\}?"#) {
        let _ = decode_client(&text);
    }

    #[test]
    fn the_server_decoder_accepts_exactly_what_serde_accepts(text in r#"\{"type":"(ticks|pong|unsubscribed|alert_removed|chat_history|error)"(,"(ticks|candles|ts|server_time|symbols|id|messages|code|message)":(\[\]|[0-9]{1,3}|"[a-z_A-Z]{0,8}"|\["AAPL"\])){0,3}\}"#) {
        prop_assert_eq!(
            decode_server(&text).ok(),
            serde_json::from_str::<ServerMessage>(&text).ok()
        );
    }

    #[test]
    fn every_client_message_round_trips(message in client_message_strategy()) {
        prop_assert_eq!(decode_client(&message.to_json()), Ok(message));
    }

    #[test]
    fn chat_posts_pass_exactly_when_trimmed_fields_fit_and_hold_no_control_of_either_kind(
        name in prop_oneof![any::<String>(), "[ a-zA-Z\t]{0,30}", BIDI_AND_LETTERS],
        text in prop_oneof![any::<String>(), "[ -~\n]{0,300}", "[é😀 ]{270,290}", BIDI_AND_LETTERS],
    ) {
        let post = ChatPost { name: name.clone(), text: text.clone() };
        let fits = |value: &str, max: usize| {
            let trimmed = value.trim();
            !trimmed.is_empty()
                && trimmed.chars().count() <= max
                && !trimmed.chars().any(|c| breaks_the_line(c) || is_bidi_control(c))
        };
        let expected = fits(&name, MAX_CHAT_NAME_CHARS) && fits(&text, MAX_CHAT_TEXT_CHARS);
        let checked = post.check();
        prop_assert_eq!(checked.is_ok(), expected, "{:?}", checked);
        if let Ok((checked_name, checked_text)) = checked {
            prop_assert_eq!(checked_name, name.trim());
            prop_assert_eq!(checked_text, text.trim(), "verbatim but for the trimming");
        }
    }

    #[test]
    fn alert_rules_pass_exactly_when_price_and_room_allow(
        price in prop_oneof![any::<i64>(), -10i64..10, MAX_ALERT_PRICE.0 - 5..MAX_ALERT_PRICE.0 + 5],
        others in 0..MAX_ALERTS_PER_CONNECTION * 2,
        condition in prop::sample::select(vec![AlertCondition::Above, AlertCondition::Below]),
    ) {
        let rule = AlertRule { price: Price(price), condition, ..alert_rule() };
        let verdict = rule.check(|s| s.as_str() == "AAPL", others);
        let expected = if price <= 0 || price > MAX_ALERT_PRICE.0 {
            Some(ErrorCode::InvalidAlert)
        } else if others >= MAX_ALERTS_PER_CONNECTION {
            Some(ErrorCode::TooManyAlerts)
        } else {
            None
        };
        prop_assert_eq!(verdict.err().map(|e| e.code()), expected);
    }
}
