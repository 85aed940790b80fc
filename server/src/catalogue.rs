//! The instruments the simulated market offers: real tickers with plausible prices and
//! volatilities.

use ticker_shared::{Price, Symbol, SymbolInfo};

/// One simulated instrument: what clients see ([`SymbolInfo`]) plus how it moves.
#[derive(Debug, Clone, PartialEq)]
pub struct Instrument {
    /// Symbol, name, tick size and reference price, as sent in `hello`.
    pub info: SymbolInfo,
    /// Annualised volatility of the log price (0.30 is 30 % a year).
    pub volatility: f64,
    /// Quoted spread in basis points of the price; at least one tick is always quoted.
    pub spread_bps: f64,
}

/// `(symbol, name, previous close in cents, annualised volatility)` of every instrument.
const TABLE: &[(&str, &str, i64, f64)] = &[
    ("AAPL", "Apple Inc.", 23_045, 0.26),
    ("MSFT", "Microsoft Corp.", 42_310, 0.24),
    ("NVDA", "NVIDIA Corp.", 14_180, 0.52),
    ("AMZN", "Amazon.com Inc.", 20_990, 0.33),
    ("GOOGL", "Alphabet Inc. Class A", 17_520, 0.30),
    ("META", "Meta Platforms Inc.", 58_240, 0.38),
    ("TSLA", "Tesla Inc.", 34_460, 0.60),
    ("BRK.B", "Berkshire Hathaway Inc. Class B", 47_120, 0.16),
    ("JPM", "JPMorgan Chase & Co.", 24_150, 0.22),
    ("V", "Visa Inc.", 31_080, 0.19),
    ("UNH", "UnitedHealth Group Inc.", 52_370, 0.27),
    ("XOM", "Exxon Mobil Corp.", 11_840, 0.24),
    ("JNJ", "Johnson & Johnson", 15_530, 0.16),
    ("WMT", "Walmart Inc.", 8_512, 0.18),
    ("MA", "Mastercard Inc.", 52_060, 0.20),
    ("PG", "Procter & Gamble Co.", 17_010, 0.15),
    ("HD", "Home Depot Inc.", 40_120, 0.23),
    ("COST", "Costco Wholesale Corp.", 91_875, 0.21),
    ("AVGO", "Broadcom Inc.", 16_990, 0.45),
    ("KO", "Coca-Cola Co.", 6_418, 0.14),
    ("PEP", "PepsiCo Inc.", 15_812, 0.16),
    ("ADBE", "Adobe Inc.", 50_140, 0.34),
    ("NFLX", "Netflix Inc.", 88_215, 0.40),
    ("AMD", "Advanced Micro Devices Inc.", 13_975, 0.50),
    ("CRM", "Salesforce Inc.", 33_060, 0.33),
    ("INTC", "Intel Corp.", 2_214, 0.48),
    ("DIS", "Walt Disney Co.", 11_230, 0.27),
    ("NKE", "Nike Inc. Class B", 7_615, 0.31),
    ("BA", "Boeing Co.", 15_540, 0.36),
    ("PFE", "Pfizer Inc.", 2_603, 0.25),
];

/// Quoted spread of every instrument, in basis points. Large US stocks quote about one cent to
/// a few basis points wide.
const SPREAD_BPS: f64 = 1.5;

/// Every instrument the simulator knows, in a stable order.
pub fn all() -> Vec<Instrument> {
    TABLE
        .iter()
        .map(|&(symbol, name, close, volatility)| Instrument {
            info: SymbolInfo {
                // unwrap: the table's symbols are valid; `catalogue_symbols_are_valid` checks them.
                symbol: Symbol::new(symbol).expect("catalogue symbols are valid"),
                name: name.to_owned(),
                tick_size: Price::CENT,
                reference_price: Price(close),
            },
            volatility,
            spread_bps: SPREAD_BPS,
        })
        .collect()
}

/// The first `count` instruments: the catalogue's, then, past its end, synthetic ones
/// (`SIM0031`, `SIM0032`, …) with deterministic prices and volatilities, so a benchmark can
/// ask for any market size and get the same market every time.
pub fn first(count: usize) -> Vec<Instrument> {
    let mut instruments = all();
    instruments.truncate(count);
    let known = instruments.len();
    instruments.extend((known + 1..=count).map(synthetic));
    instruments
}

/// The synthetic instrument number `n` (1-based, past the catalogue).
fn synthetic(n: usize) -> Instrument {
    // A spread of prices from $5 to about $505 and volatilities from 15 % to 55 %, varied by a
    // multiplicative hash of `n` so neighbours differ.
    let spread = (n as u64).wrapping_mul(2_654_435_761) % 10_000;
    Instrument {
        info: SymbolInfo {
            // unwrap: `SIM` and four or more digits is a valid symbol up to a million
            // instruments; `first_extends_the_catalogue_with_synthetic_instruments` checks it.
            symbol: Symbol::new(&format!("SIM{n:04}")).expect("synthetic symbols are valid"),
            name: format!("Simulated instrument {n}"),
            tick_size: Price::CENT,
            reference_price: Price(500 + spread as i64 * 5),
        },
        volatility: 0.15 + spread as f64 / 10_000.0 * 0.40,
        spread_bps: SPREAD_BPS,
    }
}

/// The named symbols were not in the catalogue.
#[derive(Debug, thiserror::Error)]
#[error("unknown symbol(s) {unknown}; the simulator offers {offered}")]
pub struct UnknownSymbols {
    unknown: String,
    offered: String,
}

/// The instruments named in `wanted` (all of them when `wanted` is empty), in the order given.
pub fn select(wanted: &[String]) -> Result<Vec<Instrument>, UnknownSymbols> {
    let all = all();
    if wanted.is_empty() {
        return Ok(all);
    }
    let mut chosen = Vec::with_capacity(wanted.len());
    let mut unknown = Vec::new();
    for name in wanted {
        let name = name.trim().to_ascii_uppercase();
        match all.iter().find(|i| i.info.symbol.as_str() == name) {
            Some(instrument) if !chosen.contains(instrument) => chosen.push(instrument.clone()),
            Some(_) => {}
            None => unknown.push(name),
        }
    }
    if unknown.is_empty() {
        Ok(chosen)
    } else {
        let offered = all
            .iter()
            .map(|i| i.info.symbol.as_str())
            .collect::<Vec<_>>()
            .join(",");
        Err(UnknownSymbols {
            unknown: unknown.join(","),
            offered,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_symbols_are_valid_unique_and_plentiful() {
        let all = all();
        assert!(all.len() >= 20);
        let mut symbols: Vec<&str> = all.iter().map(|i| i.info.symbol.as_str()).collect();
        symbols.sort_unstable();
        symbols.dedup();
        assert_eq!(
            symbols.len(),
            all.len(),
            "duplicate symbol in the catalogue"
        );
        assert!(
            all.iter()
                .all(|i| i.info.reference_price.cents() > 0 && i.volatility > 0.0)
        );
    }

    #[test]
    fn select_keeps_order_ignores_case_and_duplicates() {
        let chosen = select(&["msft".into(), "AAPL".into(), "MSFT".into()]).unwrap();
        let symbols: Vec<&str> = chosen.iter().map(|i| i.info.symbol.as_str()).collect();
        assert_eq!(symbols, ["MSFT", "AAPL"]);
    }

    #[test]
    fn first_extends_the_catalogue_with_synthetic_instruments() {
        assert_eq!(first(3), all()[..3].to_vec());
        let many = first(500);
        assert_eq!(many.len(), 500);
        assert_eq!(many[..all().len()], all()[..]);
        assert_eq!(
            many[all().len()].info.symbol.as_str(),
            format!("SIM{:04}", all().len() + 1)
        );
        let mut symbols: Vec<&str> = many.iter().map(|i| i.info.symbol.as_str()).collect();
        symbols.sort_unstable();
        symbols.dedup();
        assert_eq!(symbols.len(), 500, "synthetic symbols are unique");
        assert!(many.iter().all(|i| i.info.reference_price.cents() >= 500));
        assert_eq!(first(500), many, "the same market every time");
    }

    #[test]
    fn select_names_every_unknown_symbol() {
        let err = select(&["AAPL".into(), "FOO".into(), "BAR".into()]).unwrap_err();
        assert!(err.to_string().contains("FOO,BAR"), "{err}");
    }
}
