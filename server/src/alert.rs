//! The alert rule book: every connection's price alerts, checked against every tick.
//!
//! Per symbol the armed rules sit in two maps ordered by threshold. An `above` rule fires on a
//! trade at or above its price, so the rules one trade fires are the lowest `above` thresholds:
//! they are taken from the front of that map while they are at most the trade price. `below`
//! rules are taken from the back of theirs while they are at least the trade price. On both
//! sides, of rules with equal thresholds the one set first fires first. A tick therefore costs
//! O(log n) plus the rules it fires, however many rules are armed, and a tick that fires nothing
//! looks at one entry per map. Rules are one-shot: a fired rule leaves the book. Pure state with
//! no I/O; the hub owns it and queues what fires.

use std::{
    cmp::Reverse,
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use ticker_shared::{AlertCondition, AlertError, AlertFired, AlertId, AlertRule, Price, Tick};

use crate::{
    hub::ClientId,
    universe::{SymbolId, Universe},
};

/// Orders a symbol's `above` rules as they fire, from the front: by rising threshold, then by
/// when they were set (the serial).
type AboveKey = (Price, u64);
/// Orders a symbol's `below` rules as they fire, from the back: by rising threshold, then by
/// falling serial, so that of equal thresholds the back holds the rule set first.
type BelowKey = (Price, Reverse<u64>);

/// Every connection's rules, armed per symbol.
#[derive(Debug)]
pub struct AlertBook {
    universe: Arc<Universe>,
    /// Per symbol (by id), its armed rules.
    armed: Vec<Armed>,
    /// Per connection, where each of its rules is armed: for replacing and removing a rule by
    /// id, counting a connection's rules, and dropping them all when it leaves.
    placed: HashMap<ClientId, HashMap<AlertId, Placed>>,
    /// Makes keys unique, so equal thresholds coexist and fire in the order they were set.
    next_serial: u64,
}

/// One symbol's armed rules.
#[derive(Debug, Default)]
struct Armed {
    above: BTreeMap<AboveKey, Owned>,
    below: BTreeMap<BelowKey, Owned>,
}

impl Armed {
    fn insert(&mut self, placed: Placed, owned: Owned) {
        match placed.condition {
            AlertCondition::Above => self.above.insert((placed.price, placed.serial), owned),
            AlertCondition::Below => {
                let key = (placed.price, Reverse(placed.serial));
                self.below.insert(key, owned)
            }
        };
    }

    fn remove(&mut self, placed: Placed) {
        match placed.condition {
            AlertCondition::Above => self.above.remove(&(placed.price, placed.serial)),
            AlertCondition::Below => self.below.remove(&(placed.price, Reverse(placed.serial))),
        };
    }
}

/// A rule and the connection it belongs to.
#[derive(Debug)]
struct Owned {
    client: ClientId,
    rule: AlertRule,
}

/// Where a rule is armed.
#[derive(Debug, Clone, Copy)]
struct Placed {
    symbol: SymbolId,
    condition: AlertCondition,
    price: Price,
    /// Unique per rule set: its place among rules of equal threshold.
    serial: u64,
}

impl AlertBook {
    /// An empty book for the symbols of `universe`.
    pub fn new(universe: Arc<Universe>) -> Self {
        let armed = universe.all_ids().map(|_| Armed::default()).collect();
        AlertBook {
            universe,
            armed,
            placed: HashMap::new(),
            next_serial: 0,
        }
    }

    /// Sets `rule` for `client`, replacing the client's rule with the same id. A refused rule
    /// (see [`AlertRule::check`]) changes nothing: a rule it would have replaced stays armed.
    pub fn add(&mut self, client: ClientId, rule: AlertRule) -> Result<(), AlertError> {
        let symbol = self.universe.id(rule.symbol.as_str());
        let held = self.placed.get(&client);
        let others = held.map_or(0, |rules| {
            rules.len() - usize::from(rules.contains_key(&rule.id))
        });
        rule.check(|_| symbol.is_some(), others)?;
        let Some(symbol) = symbol else {
            return Err(AlertError::UnknownSymbol(rule.symbol));
        };
        self.remove(client, rule.id);
        let placed = Placed {
            symbol,
            condition: rule.condition,
            price: rule.price,
            serial: self.next_serial,
        };
        self.next_serial += 1;
        self.placed
            .entry(client)
            .or_default()
            .insert(rule.id, placed);
        self.armed[symbol.0].insert(placed, Owned { client, rule });
        Ok(())
    }

    /// Removes `client`'s rule `id`; returns whether there was one.
    pub fn remove(&mut self, client: ClientId, id: AlertId) -> bool {
        let Some(rules) = self.placed.get_mut(&client) else {
            return false;
        };
        let Some(placed) = rules.remove(&id) else {
            return false;
        };
        if rules.is_empty() {
            self.placed.remove(&client);
        }
        self.armed[placed.symbol.0].remove(placed);
        true
    }

    /// Drops every rule of `client`, which has gone.
    pub fn forget(&mut self, client: ClientId) {
        for placed in self
            .placed
            .remove(&client)
            .into_iter()
            .flat_map(HashMap::into_values)
        {
            self.armed[placed.symbol.0].remove(placed);
        }
    }

    /// Fires the rules of `symbol` that `tick` meets, appending each with its connection to
    /// `fired` (`above` rules by rising threshold, then `below` rules by falling threshold,
    /// equal thresholds in the order they were set), and takes them out of the book.
    pub fn on_tick(
        &mut self,
        symbol: SymbolId,
        tick: &Tick,
        fired: &mut Vec<(ClientId, AlertFired)>,
    ) {
        let Some(armed) = self.armed.get_mut(symbol.0) else {
            return;
        };
        let before = fired.len();
        while let Some(entry) = armed.above.first_entry()
            && entry.get().rule.fires_at(tick.price)
        {
            let Owned { client, rule } = entry.remove();
            fired.push((client, rule.fired_by(tick)));
        }
        while let Some(entry) = armed.below.last_entry()
            && entry.get().rule.fires_at(tick.price)
        {
            let Owned { client, rule } = entry.remove();
            fired.push((client, rule.fired_by(tick)));
        }
        for (client, alert) in &fired[before..] {
            if let Some(rules) = self.placed.get_mut(client) {
                rules.remove(&alert.id);
                if rules.is_empty() {
                    self.placed.remove(client);
                }
            }
        }
    }

    /// Rules `client` holds.
    #[cfg(test)]
    pub fn held_by(&self, client: ClientId) -> usize {
        self.placed.get(&client).map_or(0, HashMap::len)
    }

    /// Rules armed, over every connection.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.placed.values().map(HashMap::len).sum()
    }

    /// Whether no rule is armed.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.placed.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use ticker_shared::{
        ErrorCode, Symbol, SymbolInfo,
        alert::{MAX_ALERT_PRICE, MAX_ALERTS_PER_CONNECTION},
    };

    use super::*;

    fn universe() -> Arc<Universe> {
        let info = |name: &str| SymbolInfo {
            symbol: Symbol::new(name).unwrap(),
            name: name.into(),
            tick_size: Price(1),
            reference_price: Price(100),
        };
        Arc::new(Universe::new(vec![info("AAPL"), info("MSFT")]))
    }

    fn rule(id: AlertId, symbol: &str, condition: AlertCondition, price: i64) -> AlertRule {
        AlertRule {
            id,
            symbol: Symbol::new(symbol).unwrap(),
            condition,
            price: Price(price),
        }
    }

    fn above(id: AlertId, price: i64) -> AlertRule {
        rule(id, "AAPL", AlertCondition::Above, price)
    }

    fn below(id: AlertId, price: i64) -> AlertRule {
        rule(id, "AAPL", AlertCondition::Below, price)
    }

    fn tick(seq: u64, price: i64) -> Tick {
        Tick {
            symbol: Symbol::new("AAPL").unwrap(),
            seq,
            ts: 1_000 * seq as i64,
            price: Price(price),
            size: 1,
            bid: Price(price),
            ask: Price(price),
            open: Price(price),
            high: Price(price),
            low: Price(price),
            volume: seq,
        }
    }

    /// `(client, rule id, seq)` of what a tick at `price` fires.
    fn fire(book: &mut AlertBook, seq: u64, price: i64) -> Vec<(ClientId, AlertId, u64)> {
        let mut fired = Vec::new();
        book.on_tick(SymbolId(0), &tick(seq, price), &mut fired);
        fired
            .into_iter()
            .map(|(client, alert)| (client, alert.id, alert.seq))
            .collect()
    }

    #[test]
    fn a_tick_fires_the_rules_it_meets_once_and_no_others() {
        let mut book = AlertBook::new(universe());
        for r in [above(1, 105), above(2, 110), below(3, 95), below(4, 90)] {
            book.add(1, r).unwrap();
        }
        book.add(1, rule(5, "MSFT", AlertCondition::Above, 1))
            .unwrap();
        assert_eq!(fire(&mut book, 1, 100), vec![], "between every threshold");
        assert_eq!(fire(&mut book, 2, 105), vec![(1, 1, 2)], "at the threshold");
        assert_eq!(fire(&mut book, 3, 106), vec![], "one-shot");
        assert_eq!(fire(&mut book, 4, 89), vec![(1, 3, 4), (1, 4, 4)]);
        assert_eq!(fire(&mut book, 5, 120), vec![(1, 2, 5)]);
        assert_eq!(book.len(), 1, "only the MSFT rule is left");
        assert_eq!(book.held_by(1), 1);
    }

    #[test]
    fn one_tick_fires_many_rules_in_threshold_order_then_in_the_order_set() {
        let mut book = AlertBook::new(universe());
        book.add(1, above(1, 103)).unwrap();
        book.add(2, above(1, 101)).unwrap();
        book.add(1, above(2, 101)).unwrap();
        book.add(2, below(2, 200)).unwrap();
        book.add(2, below(3, 300)).unwrap();
        book.add(3, below(1, 200)).unwrap();
        book.add(1, below(4, 200)).unwrap();
        assert_eq!(
            fire(&mut book, 9, 150),
            vec![
                (2, 1, 9),
                (1, 2, 9),
                (1, 1, 9),
                (2, 3, 9),
                (2, 2, 9),
                (3, 1, 9),
                (1, 4, 9)
            ]
        );
        assert!(book.is_empty());
    }

    #[test]
    fn an_id_in_use_is_replaced_and_a_refused_replacement_keeps_the_old_rule() {
        let mut book = AlertBook::new(universe());
        book.add(1, above(7, 200)).unwrap();
        book.add(1, below(7, 50)).unwrap();
        assert_eq!(book.held_by(1), 1);
        assert_eq!(
            fire(&mut book, 1, 300),
            vec![],
            "the above rule was replaced"
        );
        let refused = book.add(1, rule(7, "ZZZZ", AlertCondition::Above, 1));
        assert_eq!(refused.map_err(|e| e.code()), Err(ErrorCode::UnknownSymbol));
        let refused = book.add(1, below(7, 0));
        assert_eq!(refused.map_err(|e| e.code()), Err(ErrorCode::InvalidAlert));
        assert_eq!(fire(&mut book, 2, 40), vec![(1, 7, 2)], "the old rule held");
    }

    #[test]
    fn each_connection_holds_at_most_the_limit_and_reusing_an_id_takes_no_room() {
        let mut book = AlertBook::new(universe());
        let limit = MAX_ALERTS_PER_CONNECTION as AlertId;
        for id in 0..limit {
            book.add(1, above(id, 1_000 + i64::from(id))).unwrap();
        }
        let refused = book.add(1, above(limit, 5));
        assert_eq!(refused.map_err(|e| e.code()), Err(ErrorCode::TooManyAlerts));
        book.add(1, above(0, 5)).unwrap();
        book.add(2, above(0, MAX_ALERT_PRICE.0)).unwrap();
        assert_eq!(book.held_by(1), MAX_ALERTS_PER_CONNECTION);
        assert!(book.remove(1, 3));
        assert!(!book.remove(1, 3), "already gone");
        assert!(!book.remove(9, 0), "not a client with rules");
        book.add(1, above(limit, 5)).unwrap();
        assert_eq!(book.len(), MAX_ALERTS_PER_CONNECTION + 1);
    }

    #[test]
    fn a_client_that_leaves_takes_its_rules_with_it() {
        let mut book = AlertBook::new(universe());
        book.add(1, above(1, 110)).unwrap();
        book.add(1, below(2, 90)).unwrap();
        book.add(2, above(1, 110)).unwrap();
        book.forget(1);
        book.forget(3);
        assert_eq!(book.len(), 1);
        assert_eq!(fire(&mut book, 1, 120), vec![(2, 1, 1)]);
        assert_eq!(fire(&mut book, 2, 80), vec![]);
        assert!(book.is_empty());
        assert!(
            book.armed
                .iter()
                .all(|a| a.above.is_empty() && a.below.is_empty())
        );
    }

    #[test]
    fn with_many_rules_armed_a_tick_fires_exactly_those_it_meets() {
        let mut book = AlertBook::new(universe());
        for client in 0..500 {
            for n in 0..MAX_ALERTS_PER_CONNECTION as AlertId / 2 {
                let offset = i64::from(n) + 1;
                book.add(client, above(n * 2, 1_000 + offset)).unwrap();
                book.add(client, below(n * 2 + 1, 1_000 - offset)).unwrap();
            }
        }
        let armed = book.len();
        assert_eq!(armed, 500 * MAX_ALERTS_PER_CONNECTION);
        assert_eq!(fire(&mut book, 1, 1_000), vec![]);
        assert_eq!(book.len(), armed);
        let fired = fire(&mut book, 2, 1_001);
        assert_eq!(
            fired.len(),
            500,
            "the lowest above threshold of every client"
        );
        assert!(fired.iter().all(|&(_, id, _)| id == 0));
    }
}
