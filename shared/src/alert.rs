//! Server-side price alerts: the rule a client registers, the message sent when it fires, and
//! [`AlertRule::check`], the one validation that the browser applies before sending a rule and
//! the server applies again on receipt, so both refuse the same rules with the same words.

use serde::{Deserialize, Serialize};

use crate::{ErrorCode, ErrorMessage, Price, Symbol, Tick};

/// A client-chosen alert id, unique among one connection's rules.
pub type AlertId = u32;

/// Most alert rules one connection may hold at once.
pub const MAX_ALERTS_PER_CONNECTION: usize = 20;

/// The highest alert price accepted: 100 million currency units, far above any share price, and
/// small enough that every accepted price is exact as a JavaScript number.
pub const MAX_ALERT_PRICE: Price = Price(10_000_000_000);

/// Which side of the threshold a trade must reach for the alert to fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertCondition {
    /// Fires on a trade at or above the price.
    Above,
    /// Fires on a trade at or below the price.
    Below,
}

impl AlertCondition {
    /// Whether a trade at `trade` fires a rule with this condition at `threshold`.
    pub fn holds(self, trade: Price, threshold: Price) -> bool {
        match self {
            AlertCondition::Above => trade >= threshold,
            AlertCondition::Below => trade <= threshold,
        }
    }
}

/// "Notify me when `symbol` trades at or `condition` `price`": the `add_alert` message and its
/// `alert_added` confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRule {
    /// The client's id for the rule; a new rule with the id of one held replaces it.
    pub id: AlertId,
    /// The symbol watched.
    pub symbol: Symbol,
    /// Above or below.
    pub condition: AlertCondition,
    /// The threshold.
    pub price: Price,
}

/// Contents of the `alert` message: a rule fired (and is gone) on a trade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertFired {
    /// The rule's id.
    pub id: AlertId,
    /// The rule's symbol.
    pub symbol: Symbol,
    /// The rule's condition.
    pub condition: AlertCondition,
    /// The rule's threshold.
    pub price: Price,
    /// The price of the trade that fired it.
    pub trade_price: Price,
    /// That trade's sequence number: the tick arrived before this message.
    pub seq: u64,
    /// That trade's time, Unix milliseconds.
    pub ts: i64,
}

/// Why a rule is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlertError {
    /// The symbol is well-formed but not offered.
    #[error("unknown symbol {0}; the alert was not set")]
    UnknownSymbol(Symbol),
    /// The price is zero or negative.
    #[error("an alert price must be above 0.00, got {0}; the alert was not set")]
    PriceNotPositive(Price),
    /// The price is above [`MAX_ALERT_PRICE`].
    #[error("an alert price must be at most {MAX_ALERT_PRICE}, got {0}; the alert was not set")]
    PriceTooHigh(Price),
    /// The connection holds [`MAX_ALERTS_PER_CONNECTION`] other rules already.
    #[error(
        "at most {MAX_ALERTS_PER_CONNECTION} alerts per connection; remove one (or reuse its id) \
         first"
    )]
    TooMany,
}

impl AlertError {
    /// The code of the `error` message.
    pub fn code(&self) -> ErrorCode {
        match self {
            AlertError::UnknownSymbol(_) => ErrorCode::UnknownSymbol,
            AlertError::PriceNotPositive(_) | AlertError::PriceTooHigh(_) => {
                ErrorCode::InvalidAlert
            }
            AlertError::TooMany => ErrorCode::TooManyAlerts,
        }
    }

    /// The `error` message refusing the `add_alert` of rule `id`.
    pub fn to_error(&self, id: AlertId) -> ErrorMessage {
        ErrorMessage::new(self.code(), self.to_string())
            .replying_to("add_alert")
            .for_alert(id)
    }
}

impl AlertRule {
    /// Checks the rule before it is sent or set: the symbol is one `offered`, the price is
    /// positive and not absurd, and the connection, which holds `other_rules` rules under other
    /// ids, has room for it (a rule reusing a held id replaces that one and takes no room).
    pub fn check(
        &self,
        offered: impl Fn(&Symbol) -> bool,
        other_rules: usize,
    ) -> Result<(), AlertError> {
        if !offered(&self.symbol) {
            return Err(AlertError::UnknownSymbol(self.symbol.clone()));
        }
        if self.price <= Price(0) {
            return Err(AlertError::PriceNotPositive(self.price));
        }
        if self.price > MAX_ALERT_PRICE {
            return Err(AlertError::PriceTooHigh(self.price));
        }
        if other_rules >= MAX_ALERTS_PER_CONNECTION {
            return Err(AlertError::TooMany);
        }
        Ok(())
    }

    /// Whether a trade at `trade` fires the rule.
    pub fn fires_at(&self, trade: Price) -> bool {
        self.condition.holds(trade, self.price)
    }

    /// The `alert` message for this rule, fired by `tick`.
    pub fn fired_by(&self, tick: &Tick) -> AlertFired {
        AlertFired {
            id: self.id,
            symbol: self.symbol.clone(),
            condition: self.condition,
            price: self.price,
            trade_price: tick.price,
            seq: tick.seq,
            ts: tick.ts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(symbol: &str, price: i64) -> AlertRule {
        AlertRule {
            id: 7,
            symbol: Symbol::new(symbol).unwrap(),
            condition: AlertCondition::Above,
            price: Price(price),
        }
    }

    fn offered(symbol: &Symbol) -> bool {
        ["AAPL", "MSFT"].contains(&symbol.as_str())
    }

    #[test]
    fn above_and_below_include_the_threshold() {
        assert!(AlertCondition::Above.holds(Price(100), Price(100)));
        assert!(AlertCondition::Above.holds(Price(101), Price(100)));
        assert!(!AlertCondition::Above.holds(Price(99), Price(100)));
        assert!(AlertCondition::Below.holds(Price(100), Price(100)));
        assert!(AlertCondition::Below.holds(Price(99), Price(100)));
        assert!(!AlertCondition::Below.holds(Price(101), Price(100)));
    }

    #[test]
    fn a_good_rule_passes_and_each_bad_one_gets_its_code() {
        assert_eq!(rule("AAPL", 18_800).check(offered, 0), Ok(()));
        assert_eq!(rule("AAPL", 1).check(offered, 19), Ok(()));
        assert_eq!(rule("AAPL", MAX_ALERT_PRICE.0).check(offered, 0), Ok(()));
        let cases = [
            (rule("ZZZZ", 100), 0, ErrorCode::UnknownSymbol),
            (rule("AAPL", 0), 0, ErrorCode::InvalidAlert),
            (rule("AAPL", -5), 0, ErrorCode::InvalidAlert),
            (
                rule("AAPL", MAX_ALERT_PRICE.0 + 1),
                0,
                ErrorCode::InvalidAlert,
            ),
            (
                rule("AAPL", 100),
                MAX_ALERTS_PER_CONNECTION,
                ErrorCode::TooManyAlerts,
            ),
        ];
        for (rule, others, code) in cases {
            let err = rule.check(offered, others).unwrap_err();
            assert_eq!(err.code(), code, "{err}");
            let error = err.to_error(rule.id);
            assert_eq!(error.in_reply_to.as_deref(), Some("add_alert"));
            assert_eq!(error.alert_id, Some(7));
        }
    }

    #[test]
    fn the_unknown_symbol_is_checked_first_and_named() {
        let err = rule("ZZZZ", -1).check(offered, 99).unwrap_err();
        assert!(err.to_string().contains("ZZZZ"), "{err}");
    }

    #[test]
    fn a_fired_alert_carries_the_rule_and_the_trade() {
        let symbol = Symbol::new("AAPL").unwrap();
        let tick = Tick {
            symbol: symbol.clone(),
            seq: 1_234,
            ts: 1_764_000_000_123,
            price: Price(18_801),
            size: 100,
            bid: Price(18_800),
            ask: Price(18_801),
            open: Price(18_650),
            high: Price(18_801),
            low: Price(18_600),
            volume: 1_000,
        };
        let rule = rule("AAPL", 18_800);
        assert!(rule.fires_at(tick.price));
        let fired = rule.fired_by(&tick);
        assert_eq!((fired.id, fired.price), (7, Price(18_800)));
        assert_eq!(
            (fired.trade_price, fired.seq, fired.ts),
            (Price(18_801), 1_234, tick.ts)
        );
    }
}
