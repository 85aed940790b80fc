//! The test knobs behind `--enable-admin`: stalling a symbol silences its feed while the others
//! go on, unstalling resumes it without a gap, and the routes refuse what they should (absent
//! unless enabled, unknown or malformed symbols, foreign pages).

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod common;

use std::{
    collections::HashMap,
    time::{SystemTime, UNIX_EPOCH},
};

use common::{Client, TestServer, test_config, ticks_of};
use ticker_shared::{ErrorCode, ServerMessage, decode_server};

fn admin_config() -> ticker_server::config::Config {
    let mut config = test_config();
    config.enable_admin = true;
    config
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Each symbol's last sequence number and latest tick time, checked for continuity.
#[derive(Default)]
struct Seqs {
    last: HashMap<String, (u64, i64)>,
}

impl Seqs {
    /// Reads one message; panics on a gap or a duplicate.
    async fn read(&mut self, client: &mut Client) -> ServerMessage {
        let message = client.next_message().await;
        if let ServerMessage::Snapshot(snapshot) = &message {
            let quote = snapshot.quote.as_ref().map_or((0, 0), |q| (q.seq, q.ts));
            self.last.insert(snapshot.symbol.to_string(), quote);
        }
        for tick in ticks_of(&message) {
            let entry = self.last.get_mut(tick.symbol.as_str()).unwrap();
            assert_eq!(tick.seq, entry.0 + 1, "{} skipped or repeated", tick.symbol);
            *entry = (tick.seq, tick.ts);
        }
        message
    }

    fn ts(&self, symbol: &str) -> i64 {
        self.last.get(symbol).map_or(0, |&(_, ts)| ts)
    }

    fn seq(&self, symbol: &str) -> u64 {
        self.last.get(symbol).map_or(0, |&(seq, _)| seq)
    }
}

#[actix_web::test]
async fn a_stalled_symbol_goes_silent_while_the_others_tick_and_resumes_without_a_gap() {
    let server = TestServer::start(admin_config()).await;
    let (mut client, _) = server.connect().await;
    client.subscribe(&["AAPL", "MSFT", "NVDA"]).await;
    let mut seqs = Seqs::default();
    while ["AAPL", "MSFT", "NVDA"]
        .iter()
        .any(|symbol| seqs.seq(symbol) == 0)
    {
        seqs.read(&mut client).await;
    }

    let (status, body) = server.post("/admin/stall/AAPL", "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, r#"{"symbol":"AAPL","stalled":true}"#);
    // The feed publishes a tick once the clock reaches its time: any AAPL tick timed after the
    // answer was withheld. Watch a second of the others' ticks beyond that.
    let stalled_at = now_ms();
    while seqs.ts("MSFT") < stalled_at + 1_000 || seqs.ts("NVDA") < stalled_at + 1_000 {
        let message = seqs.read(&mut client).await;
        for tick in ticks_of(&message) {
            assert!(
                tick.symbol.as_str() != "AAPL" || tick.ts <= stalled_at,
                "AAPL ticked while stalled: {tick:?}"
            );
        }
    }
    assert!(seqs.ts("AAPL") <= stalled_at);
    let silent_after = seqs.seq("AAPL");

    let (status, body) = server.post("/admin/unstall/AAPL", "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, r#"{"symbol":"AAPL","stalled":false}"#);
    // AAPL ticks again: a tick timed after the answer arrives (else the read times out), and
    // its first tick after the silence carries the next sequence number (every read also
    // checks that each tick follows the one before).
    let unstalled_at = now_ms();
    let mut resumed = Vec::new();
    while resumed.last().is_none_or(|&(_, ts)| ts <= unstalled_at) {
        let message = seqs.read(&mut client).await;
        let aapl = ticks_of(&message)
            .iter()
            .filter(|t| t.symbol.as_str() == "AAPL");
        resumed.extend(aapl.map(|tick| (tick.seq, tick.ts)));
    }
    assert_eq!(
        resumed[0].0,
        silent_after + 1,
        "the stall left no gap: {resumed:?}"
    );
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn the_admin_routes_exist_only_when_enabled_and_refuse_what_they_cannot_do() {
    let server = TestServer::start(test_config()).await;
    assert_eq!(server.post("/admin/stall/AAPL", "").await.0, 404);
    server.stop().await.unwrap();

    let server = TestServer::start(admin_config()).await;
    let refused = |(status, body): (u16, String)| {
        let code = match decode_server(&body) {
            Ok(ServerMessage::Error(error)) => error.code,
            other => panic!("expected an error message, got {other:?} from {body:?}"),
        };
        (status, code)
    };
    assert_eq!(
        refused(server.post("/admin/stall/ZZZZ", "").await),
        (404, ErrorCode::UnknownSymbol)
    );
    assert_eq!(
        refused(server.post("/admin/unstall/not%20a%20symbol", "").await),
        (400, ErrorCode::InvalidMessage)
    );
    let (status, _) = server
        .post("/admin/stall/AAPL", "Origin: https://evil.example\r\n")
        .await;
    assert_eq!(status, 403, "a foreign page may not stall the feed");
    let own = format!("Origin: http://{}\r\n", server.addr);
    assert_eq!(server.post("/admin/stall/AAPL", &own).await.0, 200);
    server.stop().await.unwrap();
}
