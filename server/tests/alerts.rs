//! Price alerts end to end: rules set over a real WebSocket fire once, right after the tick that
//! met them; bad rules get errors naming them; a client flooding bad rules disturbs nobody.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod common;

use common::{Bystander, Client, TestServer, expect_refusal, test_config, ticks_of};
use ticker_shared::{
    AlertCondition, AlertFired, AlertId, AlertRule, ClientMessage, ErrorCode, Price, ServerMessage,
    Symbol,
    alert::{MAX_ALERT_PRICE, MAX_ALERTS_PER_CONNECTION},
};

fn rule(id: AlertId, symbol: &str, condition: AlertCondition, price: i64) -> AlertRule {
    AlertRule {
        id,
        symbol: Symbol::new(symbol).unwrap(),
        condition,
        price: Price(price),
    }
}

/// Sets `rule` and waits for its confirmation.
async fn add(client: &mut Client, rule: AlertRule) {
    client.send(&ClientMessage::AddAlert(rule.clone())).await;
    let added = client
        .wait_for(|m| match m {
            ServerMessage::AlertAdded(added) => Some(added.clone()),
            _ => None,
        })
        .await;
    assert_eq!(added, rule);
}

/// Subscribes to AAPL and waits for its snapshot.
async fn subscribe_aapl(client: &mut Client) {
    client.subscribe(&["AAPL"]).await;
    client
        .wait_for(|m| matches!(m, ServerMessage::Snapshot(_)).then_some(()))
        .await;
}

/// What a client saw that matters here, in the order it came.
#[derive(Debug, Clone, PartialEq)]
enum Event {
    Tick(u64, Price),
    Added(AlertId),
    Fired(AlertFired),
}

/// Everything a client saw of AAPL ticks and alerts.
#[derive(Default)]
struct Log {
    events: Vec<Event>,
}

impl Log {
    fn record(&mut self, message: &ServerMessage) {
        for tick in ticks_of(message)
            .iter()
            .filter(|t| t.symbol.as_str() == "AAPL")
        {
            self.events.push(Event::Tick(tick.seq, tick.price));
        }
        match message {
            ServerMessage::AlertAdded(rule) => self.events.push(Event::Added(rule.id)),
            ServerMessage::Alert(alert) => self.events.push(Event::Fired(alert.clone())),
            _ => {}
        }
    }

    /// Reads until `count` AAPL ticks have arrived after the last confirmation, then until
    /// everything the server queued before a ping's answer has.
    async fn read(&mut self, client: &mut Client, count: usize) {
        while self.ticks_after_last_added() < count {
            let message = client.next_message().await;
            self.record(&message);
        }
        for message in client.round_trip().await {
            self.record(&message);
        }
    }

    fn ticks_after_last_added(&self) -> usize {
        let Some(last) = self
            .events
            .iter()
            .rposition(|e| matches!(e, Event::Added(_)))
        else {
            return 0;
        };
        let rest = &self.events[last + 1..];
        rest.iter().filter(|e| matches!(e, Event::Tick(..))).count()
    }

    fn fired(&self) -> Vec<(usize, &AlertFired)> {
        self.events
            .iter()
            .enumerate()
            .filter_map(|(at, e)| match e {
                Event::Fired(alert) => Some((at, alert)),
                _ => None,
            })
            .collect()
    }

    /// Checks that `id` fired exactly once, on the first tick after it was set, and after that
    /// tick; returns the alert.
    fn assert_fired_once_after_its_tick(&self, id: AlertId) -> &AlertFired {
        let fired: Vec<_> = self
            .fired()
            .into_iter()
            .filter(|(_, a)| a.id == id)
            .collect();
        assert_eq!(fired.len(), 1, "alert {id} fired once: {:?}", self.events);
        let (at, alert) = fired[0];
        let added = self.events.iter().position(|e| *e == Event::Added(id));
        let first_tick = self.events[added.unwrap()..].iter().find_map(|e| match e {
            Event::Tick(seq, price) => Some((*seq, *price)),
            _ => None,
        });
        assert_eq!(
            first_tick,
            Some((alert.seq, alert.trade_price)),
            "alert {id} fired on the first tick after it was set"
        );
        let tick = Event::Tick(alert.seq, alert.trade_price);
        let tick_at = self.events.iter().position(|e| *e == tick);
        assert!(tick_at.unwrap() < at, "the tick came before its alert");
        alert
    }
}

#[actix_web::test]
async fn alerts_fire_once_right_after_the_first_tick_that_meets_them() {
    let server = TestServer::start(test_config()).await;
    let (mut client, _) = server.connect().await;
    subscribe_aapl(&mut client).await;
    // Any trade is at or above 0.01 and at or below the highest price: both fire on the next
    // tick. The third never does.
    let rules = [
        rule(1, "AAPL", AlertCondition::Above, 1),
        rule(2, "AAPL", AlertCondition::Below, MAX_ALERT_PRICE.0),
        rule(3, "AAPL", AlertCondition::Above, MAX_ALERT_PRICE.0),
    ];
    for rule in &rules {
        client.send(&ClientMessage::AddAlert(rule.clone())).await;
    }
    let mut log = Log::default();
    log.read(&mut client, 30).await;
    for rule in &rules[..2] {
        let alert = log.assert_fired_once_after_its_tick(rule.id);
        assert_eq!(
            (&alert.symbol, alert.condition, alert.price),
            (&rule.symbol, rule.condition, rule.price)
        );
    }
    let order: Vec<AlertId> = log.fired().iter().map(|(_, a)| a.id).collect();
    assert_eq!(order, vec![1, 2], "in order, and rule 3 never fired");
    assert_eq!(server.metric("ticker_alerts_fired_total").await, 2);
    for _ in 0..2 {
        client.send(&ClientMessage::RemoveAlert { id: 3 }).await;
        let removed = client
            .wait_for(|m| match m {
                ServerMessage::AlertRemoved { id } => Some(*id),
                _ => None,
            })
            .await;
        assert_eq!(removed, 3, "removing twice is harmless");
    }
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn an_alert_id_in_use_is_replaced() {
    let server = TestServer::start(test_config()).await;
    let (mut client, _) = server.connect().await;
    subscribe_aapl(&mut client).await;
    let never = rule(5, "AAPL", AlertCondition::Above, MAX_ALERT_PRICE.0);
    let at_once = rule(5, "AAPL", AlertCondition::Below, MAX_ALERT_PRICE.0);
    add(&mut client, never).await;
    client.send(&ClientMessage::AddAlert(at_once)).await;
    let mut log = Log::default();
    log.read(&mut client, 10).await;
    let alert = log.assert_fired_once_after_its_tick(5);
    assert_eq!(
        alert.condition,
        AlertCondition::Below,
        "the new rule, not the old one"
    );
    assert_eq!(log.fired().len(), 1);
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn bad_rules_are_refused_with_errors_that_name_them() {
    let mut config = test_config();
    // This test sends more messages at once than the default burst allows.
    config.message_burst = 200;
    let server = TestServer::start(config).await;
    let (mut client, _) = server.connect().await;
    let cases = [
        (
            rule(1, "ZZZZ", AlertCondition::Above, 100),
            ErrorCode::UnknownSymbol,
        ),
        (
            rule(2, "AAPL", AlertCondition::Above, 0),
            ErrorCode::InvalidAlert,
        ),
        (
            rule(3, "AAPL", AlertCondition::Below, -100),
            ErrorCode::InvalidAlert,
        ),
        (
            rule(4, "AAPL", AlertCondition::Above, MAX_ALERT_PRICE.0 + 1),
            ErrorCode::InvalidAlert,
        ),
    ];
    for (rule, code) in cases {
        client.send(&ClientMessage::AddAlert(rule.clone())).await;
        let error = expect_refusal(&mut client, code).await;
        assert_eq!(error.in_reply_to.as_deref(), Some("add_alert"));
        assert_eq!(error.alert_id, Some(rule.id));
    }
    client
        .send_text(
            r#"{"type":"add_alert","id":8,"symbol":"AAPL","condition":"sideways","price":1}"#,
        )
        .await;
    let error = expect_refusal(&mut client, ErrorCode::InvalidMessage).await;
    assert_eq!(
        (error.in_reply_to.as_deref(), error.alert_id),
        (Some("add_alert"), Some(8))
    );

    let limit = MAX_ALERTS_PER_CONNECTION as AlertId;
    for id in 0..limit {
        add(
            &mut client,
            rule(id, "MSFT", AlertCondition::Above, MAX_ALERT_PRICE.0),
        )
        .await;
    }
    client
        .send(&ClientMessage::AddAlert(rule(
            limit,
            "MSFT",
            AlertCondition::Above,
            5,
        )))
        .await;
    let error = expect_refusal(&mut client, ErrorCode::TooManyAlerts).await;
    assert_eq!(error.alert_id, Some(limit));
    assert!(error.message.contains("20"), "{}", error.message);
    add(&mut client, rule(0, "NVDA", AlertCondition::Below, 1)).await;
    let before_pong = client.round_trip().await;
    assert!(
        before_pong
            .iter()
            .all(|m| !matches!(m, ServerMessage::AlertAdded(_))),
        "the refused rules were not set: {before_pong:?}"
    );
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn a_client_flooding_bad_rules_does_not_disturb_another() {
    let server = TestServer::start(test_config()).await;
    let mut bystander = Bystander::join(&server).await;
    let mine = rule(1, "AAPL", AlertCondition::Above, 1);
    bystander.client.send(&ClientMessage::AddAlert(mine)).await;
    let (mut flooder, _) = server.connect().await;
    // Past the burst (40 by default) messages are dropped, and past twice that it is closed.
    for id in 0..100 {
        let bad = rule(id, "AAPL", AlertCondition::Above, -1);
        flooder.send(&ClientMessage::AddAlert(bad)).await;
    }
    let (code, _) = flooder.expect_close().await;
    assert_eq!(code, ticker_shared::close::POLICY_VIOLATION);
    let mut log = Log::default();
    let target = bystander.last + 20;
    bystander
        .served_until(|last, message| {
            log.record(message);
            last >= target
        })
        .await;
    log.assert_fired_once_after_its_tick(1);
    server.stop().await.unwrap();
}
