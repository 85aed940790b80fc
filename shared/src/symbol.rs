//! Validated instrument symbols and symbol selections.

use std::{borrow::Borrow, fmt, sync::Arc};

use serde::{Deserialize, Serialize};

use crate::MAX_SYMBOLS_PER_REQUEST;

/// The wildcard that selects every symbol in a `subscribe` or `unsubscribe`.
pub const ALL_SYMBOLS: &str = "*";

/// Longest symbol accepted, in bytes.
pub const MAX_SYMBOL_LEN: usize = 12;

/// A ticker symbol such as `AAPL` or `BRK.B`.
///
/// Valid symbols are 1 to [`MAX_SYMBOL_LEN`] bytes of `A`–`Z`, `0`–`9`, `.` and `-`, starting with
/// a letter. The text is reference-counted because the same symbol is copied into every tick.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Symbol(Arc<str>);

/// Why a string is not a valid [`Symbol`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SymbolError {
    /// The string is empty.
    #[error("symbol is empty")]
    Empty,
    /// The string is longer than [`MAX_SYMBOL_LEN`].
    #[error("symbol {0:?} is longer than {MAX_SYMBOL_LEN} characters")]
    TooLong(String),
    /// The string has a character outside `A-Z 0-9 . -` or does not start with a letter.
    #[error("symbol {0:?} must be upper-case letters, digits, '.' or '-', starting with a letter")]
    BadCharacter(String),
}

impl Symbol {
    /// Validates `text` as a symbol.
    pub fn new(text: &str) -> Result<Self, SymbolError> {
        if text.is_empty() {
            return Err(SymbolError::Empty);
        }
        if text.len() > MAX_SYMBOL_LEN {
            return Err(SymbolError::TooLong(truncate_for_error(text)));
        }
        let mut bytes = text.bytes();
        let starts_with_letter = bytes.next().is_some_and(|b| b.is_ascii_uppercase());
        let rest_ok =
            bytes.all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !(starts_with_letter && rest_ok) {
            return Err(SymbolError::BadCharacter(text.to_owned()));
        }
        Ok(Symbol(Arc::from(text)))
    }

    /// The symbol's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Keeps error messages short when a client sends a huge string as a symbol.
fn truncate_for_error(text: &str) -> String {
    text.chars()
        .take(MAX_SYMBOL_LEN + 4)
        .chain("…".chars())
        .collect()
}

impl TryFrom<String> for Symbol {
    type Error = SymbolError;

    fn try_from(text: String) -> Result<Self, SymbolError> {
        Symbol::new(&text)
    }
}

impl From<Symbol> for String {
    fn from(symbol: Symbol) -> String {
        symbol.0.as_ref().to_owned()
    }
}

impl Borrow<str> for Symbol {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The symbols a `subscribe` or `unsubscribe` names: every symbol (`["*"]`) or a list.
///
/// On the wire it is a non-empty JSON array of at most [`MAX_SYMBOLS_PER_REQUEST`] strings; an
/// array containing `"*"` selects every symbol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub enum SymbolList {
    /// Every symbol the server offers.
    All,
    /// Exactly these symbols, without duplicates, in the order first given.
    Only(Vec<Symbol>),
}

/// Why a list of strings is not a valid [`SymbolList`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SymbolListError {
    /// The list is empty.
    #[error("symbols must not be empty (use [\"*\"] for every symbol)")]
    Empty,
    /// The list is longer than [`MAX_SYMBOLS_PER_REQUEST`].
    #[error("at most {MAX_SYMBOLS_PER_REQUEST} symbols per request, got {0}")]
    TooMany(usize),
    /// An entry is not a valid symbol.
    #[error(transparent)]
    Symbol(#[from] SymbolError),
}

impl TryFrom<Vec<String>> for SymbolList {
    type Error = SymbolListError;

    fn try_from(texts: Vec<String>) -> Result<Self, SymbolListError> {
        if texts.is_empty() {
            return Err(SymbolListError::Empty);
        }
        if texts.len() > MAX_SYMBOLS_PER_REQUEST {
            return Err(SymbolListError::TooMany(texts.len()));
        }
        if texts.iter().any(|text| text == ALL_SYMBOLS) {
            return Ok(SymbolList::All);
        }
        let mut symbols: Vec<Symbol> = Vec::with_capacity(texts.len());
        for text in texts {
            let symbol = Symbol::new(&text)?;
            if !symbols.contains(&symbol) {
                symbols.push(symbol);
            }
        }
        Ok(SymbolList::Only(symbols))
    }
}

impl From<SymbolList> for Vec<String> {
    fn from(list: SymbolList) -> Vec<String> {
        match list {
            SymbolList::All => vec![ALL_SYMBOLS.to_owned()],
            SymbolList::Only(symbols) => symbols.into_iter().map(String::from).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_symbols() {
        for text in ["AAPL", "BRK.B", "BF-B", "X", "V2"] {
            assert_eq!(
                Symbol::new(text).map(|s| s.to_string()),
                Ok(text.to_owned())
            );
        }
    }

    #[test]
    fn rejects_malformed_symbols() {
        assert_eq!(Symbol::new(""), Err(SymbolError::Empty));
        assert!(matches!(
            Symbol::new("ABCDEFGHIJKLMNOP"),
            Err(SymbolError::TooLong(_))
        ));
        for text in ["aapl", "1ABC", ".X", "AA PL", "ÄPPL", "*", "<script>"] {
            assert!(
                matches!(Symbol::new(text), Err(SymbolError::BadCharacter(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn a_huge_symbol_is_truncated_in_the_error() {
        let huge = "A".repeat(10_000);
        let message = Symbol::new(&huge).unwrap_err().to_string();
        assert!(message.len() < 100, "{message}");
    }

    #[test]
    fn wildcard_selects_everything_and_lists_drop_duplicates() {
        let all = SymbolList::try_from(vec!["AAPL".to_owned(), "*".to_owned()]);
        assert_eq!(all, Ok(SymbolList::All));
        let list = SymbolList::try_from(vec!["MSFT".into(), "AAPL".into(), "MSFT".into()]).unwrap();
        let expected = vec![Symbol::new("MSFT").unwrap(), Symbol::new("AAPL").unwrap()];
        assert_eq!(list, SymbolList::Only(expected));
    }

    #[test]
    fn empty_and_oversized_lists_are_rejected() {
        assert_eq!(
            SymbolList::try_from(Vec::new()),
            Err(SymbolListError::Empty)
        );
        let many = vec!["AAPL".to_owned(); MAX_SYMBOLS_PER_REQUEST + 1];
        assert_eq!(
            SymbolList::try_from(many),
            Err(SymbolListError::TooMany(MAX_SYMBOLS_PER_REQUEST + 1))
        );
    }
}
