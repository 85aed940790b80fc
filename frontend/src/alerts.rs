//! The browser's price alerts: the rules the user set, kept across reloads, registered with the
//! server after every `hello` (the server holds a connection's rules only while it lasts), and
//! what each answer from the server does to them. Pure; unit-tested natively.
//!
//! The server evaluates the rules on every tick and sends `alert` the moment one fires; a rule
//! fires once and is gone. A rule is checked here with the same [`AlertRule::check`] the server
//! applies, so a mistake is explained before anything is sent.

use ticker_shared::{
    AlertCondition, AlertError, AlertFired, AlertId, AlertRule, ClientMessage, Price, Symbol,
    symbol::SymbolError,
};

/// Where the rules are kept (`localStorage`).
pub const STORAGE_KEY: &str = "ticker.alerts";

/// Where a rule stands with the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Not held by the server yet: sent and not confirmed, or waiting for a connection.
    Sending,
    /// The server holds it and evaluates it on every tick.
    Active,
}

/// One rule and its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// The rule.
    pub rule: AlertRule,
    /// Whether the server holds it.
    pub status: Status,
}

/// Why the form's rule cannot be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// The symbol is not a symbol at all.
    #[error("{0}")]
    Symbol(#[from] SymbolError),
    /// The price is not a number of currency units with at most two decimals.
    #[error("enter the price as a number such as 187.25")]
    Price,
    /// The rule breaks the protocol's rules (unknown symbol, price out of range, too many).
    #[error("{0}")]
    Rule(#[from] AlertError),
}

/// Every rule the user set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alerts {
    alerts: Vec<Alert>,
    /// The id the next rule gets: ids are never reused within a page's life, so a late answer
    /// about an old rule cannot touch a new one.
    next_id: AlertId,
}

impl Default for Alerts {
    fn default() -> Self {
        Alerts {
            alerts: Vec::new(),
            next_id: 1,
        }
    }
}

impl Alerts {
    /// The rules kept in `text` (as [`Alerts::to_text`] writes them; unreadable lines are
    /// skipped), all waiting to be sent.
    pub fn parse(text: &str) -> Self {
        let alerts: Vec<Alert> = text
            .lines()
            .filter_map(|line| {
                let mut fields = line.split_whitespace();
                let id = fields.next()?.parse().ok()?;
                let symbol = Symbol::new(fields.next()?).ok()?;
                let condition = match fields.next()? {
                    "above" => AlertCondition::Above,
                    "below" => AlertCondition::Below,
                    _ => return None,
                };
                let price = Price(fields.next()?.parse().ok()?);
                Some(Alert {
                    rule: AlertRule {
                        id,
                        symbol,
                        condition,
                        price,
                    },
                    status: Status::Sending,
                })
            })
            .collect();
        let next_id = alerts.iter().map(|a| a.rule.id + 1).max().unwrap_or(1);
        Alerts { alerts, next_id }
    }

    /// The rules as text for storage: one `id symbol condition cents` line each.
    pub fn to_text(&self) -> String {
        self.alerts
            .iter()
            .map(|Alert { rule, .. }| {
                let condition = match rule.condition {
                    AlertCondition::Above => "above",
                    AlertCondition::Below => "below",
                };
                format!(
                    "{} {} {condition} {}\n",
                    rule.id,
                    rule.symbol,
                    rule.price.cents()
                )
            })
            .collect()
    }

    /// The rules, in the order they were set.
    pub fn list(&self) -> &[Alert] {
        &self.alerts
    }

    /// Checks the form's rule (symbol text, condition, price text) against the symbols
    /// `offered` and the rules held; if it passes, keeps it and returns the `add_alert` to send.
    pub fn add(
        &mut self,
        symbol: &str,
        condition: AlertCondition,
        price: &str,
        offered: impl Fn(&Symbol) -> bool,
    ) -> Result<ClientMessage, FormError> {
        let symbol = Symbol::new(&symbol.trim().to_ascii_uppercase())?;
        let price = parse_price(price).ok_or(FormError::Price)?;
        let rule = AlertRule {
            id: self.next_id,
            symbol,
            condition,
            price,
        };
        rule.check(offered, self.alerts.len())?;
        self.next_id += 1;
        self.alerts.push(Alert {
            rule: rule.clone(),
            status: Status::Sending,
        });
        Ok(ClientMessage::AddAlert(rule))
    }

    /// Forgets rule `id`; returns the `remove_alert` to send if it was held.
    pub fn remove(&mut self, id: AlertId) -> Option<ClientMessage> {
        let before = self.alerts.len();
        self.alerts.retain(|a| a.rule.id != id);
        (self.alerts.len() < before).then_some(ClientMessage::RemoveAlert { id })
    }

    /// The connection is gone, and the server's copy of the rules with it.
    pub fn disconnected(&mut self) {
        for alert in &mut self.alerts {
            alert.status = Status::Sending;
        }
    }

    /// After a `hello`: the new connection holds no rule yet, so every one is sent again.
    pub fn register_all(&mut self) -> Vec<ClientMessage> {
        self.alerts
            .iter_mut()
            .map(|alert| {
                alert.status = Status::Sending;
                ClientMessage::AddAlert(alert.rule.clone())
            })
            .collect()
    }

    /// The server confirmed `rule` (`alert_added`).
    pub fn confirmed(&mut self, rule: &AlertRule) {
        if let Some(alert) = self.alerts.iter_mut().find(|a| a.rule == *rule) {
            alert.status = Status::Active;
        }
    }

    /// The server refused rule `id`: it is dropped (the caller shows the server's reason).
    pub fn refused(&mut self, id: AlertId) -> Option<AlertRule> {
        let index = self.alerts.iter().position(|a| a.rule.id == id)?;
        Some(self.alerts.remove(index).rule)
    }

    /// Rule `fired.id` fired: it is gone. Whether it was one of ours.
    pub fn fired(&mut self, fired: &AlertFired) -> bool {
        self.refused(fired.id).is_some()
    }
}

/// A price typed by a person: currency units with up to two decimals (`187`, `187.5`,
/// `-0.25`), in cents; `None` for anything else.
pub fn parse_price(text: &str) -> Option<Price> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (units, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if units.is_empty() && fraction.is_empty()
        || !all_digits(units)
        || !all_digits(fraction)
        || fraction.len() > 2
        || units.len() > 12
    {
        return None;
    }
    let units: i64 = if units.is_empty() {
        0
    } else {
        units.parse().ok()?
    };
    let fraction: i64 = format!("{fraction:0<2}").parse().ok()?;
    let cents = units * Price::CENTS_PER_UNIT + fraction;
    Some(Price(if negative { -cents } else { cents }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(symbol: &Symbol) -> bool {
        ["AAPL", "MSFT"].contains(&symbol.as_str())
    }

    #[test]
    fn prices_are_read_exactly_to_the_cent() {
        assert_eq!(parse_price("187.25"), Some(Price(18_725)));
        assert_eq!(parse_price(" 187.5 "), Some(Price(18_750)));
        assert_eq!(parse_price("187"), Some(Price(18_700)));
        assert_eq!(parse_price(".05"), Some(Price(5)));
        assert_eq!(parse_price("-1.10"), Some(Price(-110)));
        for bad in [
            "",
            ".",
            "1.234",
            "1,5",
            "abc",
            "1e3",
            "--1",
            "9999999999999",
        ] {
            assert_eq!(parse_price(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_good_rule_is_kept_and_sent_and_a_bad_one_explained() {
        let mut alerts = Alerts::default();
        let sent = alerts.add("aapl", AlertCondition::Above, "190", offered);
        let Ok(ClientMessage::AddAlert(rule)) = sent else {
            panic!("sent: {sent:?}");
        };
        assert_eq!((rule.symbol.as_str(), rule.price), ("AAPL", Price(19_000)));
        assert_eq!(alerts.list()[0].status, Status::Sending);
        let err = |symbol, price| {
            Alerts::default()
                .add(symbol, AlertCondition::Below, price, offered)
                .unwrap_err()
                .to_string()
        };
        assert!(err("ZZZZ", "1").contains("unknown symbol ZZZZ"));
        assert!(err("AAPL", "0").contains("must be above 0.00"));
        assert!(err("AAPL", "-3").contains("must be above 0.00"));
        assert!(err("AAPL", "cheap").contains("such as 187.25"));
        assert!(err("a b", "1").contains("symbol"));
    }

    #[test]
    fn at_most_the_protocols_number_of_rules() {
        let mut alerts = Alerts::default();
        for _ in 0..ticker_shared::alert::MAX_ALERTS_PER_CONNECTION {
            alerts
                .add("MSFT", AlertCondition::Above, "500", offered)
                .unwrap();
        }
        let refused = alerts.add("MSFT", AlertCondition::Above, "500", offered);
        assert!(matches!(refused, Err(FormError::Rule(AlertError::TooMany))));
    }

    #[test]
    fn rules_survive_a_reload_and_are_sent_again_after_every_hello() {
        let mut alerts = Alerts::default();
        alerts
            .add("AAPL", AlertCondition::Above, "190.10", offered)
            .unwrap();
        alerts
            .add("MSFT", AlertCondition::Below, "400", offered)
            .unwrap();
        let mut kept = Alerts::parse(&alerts.to_text());
        assert_eq!(kept.list(), alerts.list());
        let sent = kept.register_all();
        assert_eq!(sent.len(), 2);
        kept.confirmed(&kept.list()[0].rule.clone());
        assert_eq!(kept.list()[0].status, Status::Active);
        let again = kept
            .add("AAPL", AlertCondition::Below, "1", offered)
            .unwrap();
        let ClientMessage::AddAlert(rule) = again else {
            panic!("an add_alert");
        };
        assert_eq!(rule.id, 3, "ids continue after the kept ones");
        assert_eq!(Alerts::parse("garbage\n1 AAPL sideways 5\n").list(), &[]);
    }

    #[test]
    fn a_fired_or_refused_rule_is_gone_and_removing_tells_the_server() {
        let mut alerts = Alerts::default();
        alerts
            .add("AAPL", AlertCondition::Above, "190", offered)
            .unwrap();
        alerts
            .add("MSFT", AlertCondition::Above, "500", offered)
            .unwrap();
        let fired = AlertFired {
            id: 1,
            symbol: Symbol::new("AAPL").unwrap(),
            condition: AlertCondition::Above,
            price: Price(19_000),
            trade_price: Price(19_001),
            seq: 9,
            ts: 0,
        };
        assert!(alerts.fired(&fired));
        assert!(!alerts.fired(&fired), "once");
        assert_eq!(alerts.remove(2), Some(ClientMessage::RemoveAlert { id: 2 }));
        assert_eq!(alerts.remove(2), None);
        assert!(alerts.list().is_empty());
    }
}
