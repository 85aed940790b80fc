//! Which of the server's symbols the watchlist shows, and how that choice is kept.
//!
//! The list is kept in `localStorage` as the symbols joined by commas, and read against the
//! `hello`'s symbols: unknown ones are dropped, order is the server's. With nothing stored (or
//! nothing left that the server offers) every symbol is listed. At least one symbol always
//! stays listed: a connection subscribed to nothing is closed by the server as idle.

use ticker_shared::{Symbol, SymbolInfo};

/// Where the list is kept (`localStorage`).
pub const STORAGE_KEY: &str = "ticker.watchlist";

/// One flag per symbol of the `hello`, in server order: listed or not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Watched {
    listed: Vec<bool>,
}

impl Watched {
    /// The list `stored` names among `offered` (every symbol when nothing usable is stored).
    pub fn from_stored(stored: Option<&str>, offered: &[SymbolInfo]) -> Self {
        let names: Vec<&str> = stored
            .map(|text| text.split(',').map(str::trim).collect())
            .unwrap_or_default();
        let listed: Vec<bool> = offered
            .iter()
            .map(|info| names.contains(&info.symbol.as_str()))
            .collect();
        if listed.contains(&true) {
            Watched { listed }
        } else {
            Watched::all(offered.len())
        }
    }

    /// Every one of `count` symbols listed.
    pub fn all(count: usize) -> Self {
        Watched {
            listed: vec![true; count],
        }
    }

    /// The list as stored: the listed symbols of `offered`, comma-separated, in server order.
    pub fn to_stored(&self, offered: &[SymbolInfo]) -> String {
        self.symbols(offered)
            .map(Symbol::as_str)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Whether the symbol at `index` is listed.
    pub fn is_listed(&self, index: usize) -> bool {
        self.listed.get(index).copied().unwrap_or(false)
    }

    /// Whether every symbol is listed.
    pub fn is_everything(&self) -> bool {
        self.listed.iter().all(|&listed| listed)
    }

    /// The listed symbols of `offered`, in server order.
    pub fn symbols<'a>(&'a self, offered: &'a [SymbolInfo]) -> impl Iterator<Item = &'a Symbol> {
        offered
            .iter()
            .zip(&self.listed)
            .filter(|(_, listed)| **listed)
            .map(|(info, _)| &info.symbol)
    }

    /// Lists (`true`) or unlists the symbol at `index`; whether anything changed. Unlisting the
    /// last listed symbol is refused.
    pub fn set(&mut self, index: usize, listed: bool) -> bool {
        let Some(flag) = self.listed.get(index).copied() else {
            return false;
        };
        if flag == listed {
            return false;
        }
        if !listed && self.listed.iter().filter(|&&l| l).count() == 1 {
            return false;
        }
        self.listed[index] = listed;
        true
    }
}

#[cfg(test)]
mod tests {
    use ticker_shared::Price;

    use super::*;

    fn offered(symbols: &[&str]) -> Vec<SymbolInfo> {
        symbols
            .iter()
            .map(|symbol| SymbolInfo {
                symbol: Symbol::new(symbol).unwrap(),
                name: symbol.to_string(),
                tick_size: Price(1),
                reference_price: Price(100),
            })
            .collect()
    }

    #[test]
    fn nothing_stored_lists_every_symbol_in_server_order() {
        let offered = offered(&["MSFT", "AAPL", "NVDA"]);
        let watched = Watched::from_stored(None, &offered);
        assert!(watched.is_everything());
        assert_eq!(watched.to_stored(&offered), "MSFT,AAPL,NVDA");
    }

    #[test]
    fn a_stored_list_keeps_known_symbols_in_server_order_and_drops_the_rest() {
        let offered = offered(&["MSFT", "AAPL", "NVDA"]);
        let watched = Watched::from_stored(Some("NVDA, ZZZZ,MSFT,,bad sym"), &offered);
        assert_eq!(watched.to_stored(&offered), "MSFT,NVDA");
        assert!(!watched.is_listed(1));
        assert!(!watched.is_everything());
        // Nothing usable left: every symbol rather than an empty watchlist.
        for junk in ["", "ZZZZ", ",,"] {
            assert!(Watched::from_stored(Some(junk), &offered).is_everything());
        }
    }

    #[test]
    fn symbols_come_and_go_but_the_last_one_stays() {
        let offered = offered(&["MSFT", "AAPL"]);
        let mut watched = Watched::all(2);
        assert!(!watched.set(0, true), "already listed");
        assert!(watched.set(0, false));
        assert!(!watched.set(1, false), "the last listed symbol stays");
        assert_eq!(watched.to_stored(&offered), "AAPL");
        assert!(watched.set(0, true));
        assert!(watched.is_everything());
        assert!(!watched.set(7, true), "no such symbol");
    }
}
