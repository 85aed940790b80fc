//! The symbols this server offers, and the compact ids the hub uses for them.

use std::collections::HashMap;

use ticker_shared::{Symbol, SymbolInfo, SymbolList};

/// Index of a symbol in the [`Universe`]; the hub keys its tables by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SymbolId(pub usize);

/// Every symbol on offer, fixed for the life of the process.
#[derive(Debug, Clone)]
pub struct Universe {
    infos: Vec<SymbolInfo>,
    ids: HashMap<Symbol, SymbolId>,
}

impl Universe {
    /// A universe of these symbols, in this order.
    pub fn new(infos: Vec<SymbolInfo>) -> Self {
        let ids = infos
            .iter()
            .enumerate()
            .map(|(i, info)| (info.symbol.clone(), SymbolId(i)))
            .collect();
        Universe { infos, ids }
    }

    /// Static facts of every symbol, in id order.
    pub fn infos(&self) -> &[SymbolInfo] {
        &self.infos
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.infos.len()
    }

    /// Whether the universe is empty.
    pub fn is_empty(&self) -> bool {
        self.infos.is_empty()
    }

    /// The id of `symbol`, if offered.
    pub fn id(&self, symbol: &str) -> Option<SymbolId> {
        self.ids.get(symbol).copied()
    }

    /// The symbol with id `id`.
    ///
    /// # Panics
    /// If `id` did not come from this universe.
    pub fn symbol(&self, id: SymbolId) -> &Symbol {
        &self.infos[id.0].symbol
    }

    /// Every id.
    pub fn all_ids(&self) -> impl Iterator<Item = SymbolId> + use<> {
        (0..self.infos.len()).map(SymbolId)
    }

    /// The ids of `list`, or every symbol of it that is not offered.
    pub fn resolve(&self, list: &SymbolList) -> Result<Vec<SymbolId>, Vec<Symbol>> {
        match list {
            SymbolList::All => Ok(self.all_ids().collect()),
            SymbolList::Only(symbols) => self.resolve_each(symbols.iter()),
        }
    }

    /// The ids of `symbols`, or every one of them that is not offered.
    pub fn resolve_each<'a>(
        &self,
        symbols: impl Iterator<Item = &'a Symbol>,
    ) -> Result<Vec<SymbolId>, Vec<Symbol>> {
        let mut ids = Vec::new();
        let mut unknown = Vec::new();
        for symbol in symbols {
            match self.id(symbol.as_str()) {
                Some(id) => ids.push(id),
                None => unknown.push(symbol.clone()),
            }
        }
        if unknown.is_empty() {
            Ok(ids)
        } else {
            Err(unknown)
        }
    }
}

#[cfg(test)]
mod tests {
    use ticker_shared::Price;

    use super::*;

    fn universe() -> Universe {
        let info = |s: &str| SymbolInfo {
            symbol: Symbol::new(s).unwrap(),
            name: s.to_owned(),
            tick_size: Price(1),
            reference_price: Price(100),
        };
        Universe::new(vec![info("AAPL"), info("MSFT")])
    }

    #[test]
    fn resolves_lists_and_the_wildcard() {
        let universe = universe();
        let msft = SymbolList::Only(vec![Symbol::new("MSFT").unwrap()]);
        assert_eq!(universe.resolve(&msft), Ok(vec![SymbolId(1)]));
        assert_eq!(
            universe.resolve(&SymbolList::All),
            Ok(vec![SymbolId(0), SymbolId(1)])
        );
    }

    #[test]
    fn names_every_unknown_symbol() {
        let list = SymbolList::Only(
            ["AAPL", "FOO", "BAR"]
                .iter()
                .map(|s| Symbol::new(s).unwrap())
                .collect(),
        );
        let unknown = universe().resolve(&list).unwrap_err();
        assert_eq!(
            unknown.iter().map(Symbol::as_str).collect::<Vec<_>>(),
            ["FOO", "BAR"]
        );
    }
}
