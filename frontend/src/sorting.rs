//! The watchlist's sort order: by any column, either way, or the server's order.

use std::cmp::Ordering;

use ticker_shared::SymbolInfo;

use crate::state::QuoteRow;

/// A column the watchlist can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// The ticker symbol.
    Symbol,
    /// The company name.
    Name,
    /// Last trade price.
    Last,
    /// Change from the previous close, in cents.
    Change,
    /// Change in basis points.
    ChangePercent,
    /// Session high.
    High,
    /// Session low.
    Low,
    /// Session volume.
    Volume,
}

/// How the rows are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    /// The column compared.
    pub column: Column,
    /// Largest (or last in the alphabet) first.
    pub descending: bool,
}

impl Column {
    /// Whether a first click sorts largest first: numbers yes, text no.
    fn numeric(self) -> bool {
        !matches!(self, Column::Symbol | Column::Name)
    }

    /// Compares two rows by this column; rows without a quote yet come last whichever way.
    fn compare(
        self,
        (a_info, a): (&SymbolInfo, Option<&QuoteRow>),
        (b_info, b): (&SymbolInfo, Option<&QuoteRow>),
    ) -> Option<Ordering> {
        let figure = |quote: Option<&QuoteRow>| -> Option<i64> {
            let q = quote?;
            match self {
                Column::Symbol | Column::Name => None,
                Column::Last => Some(q.last.0),
                Column::Change => Some(q.change.0),
                Column::ChangePercent => q.change_bps,
                Column::High => Some(q.high.0),
                Column::Low => Some(q.low.0),
                Column::Volume => i64::try_from(q.volume).ok(),
            }
        };
        match self {
            Column::Symbol => Some(a_info.symbol.as_str().cmp(b_info.symbol.as_str())),
            Column::Name => Some(a_info.name.cmp(&b_info.name)),
            _ => Some(figure(a)?.cmp(&figure(b)?)),
        }
    }
}

/// The sort after a click on `column`'s header: a new column starts largest first for numbers
/// and A→Z for text; the same column turns around; a third click returns to the server's
/// order (`None`).
pub fn after_click(current: Option<Sort>, column: Column) -> Option<Sort> {
    match current {
        Some(sort) if sort.column == column => {
            let first_was_descending = column.numeric();
            if sort.descending == first_was_descending {
                Some(Sort {
                    column,
                    descending: !sort.descending,
                })
            } else {
                None
            }
        }
        _ => Some(Sort {
            column,
            descending: column.numeric(),
        }),
    }
}

/// The order of `rows` (their indexes) under `sort`; the server's order without one. Ties, and
/// rows that cannot be compared yet (no quote), keep the server's order, the latter last.
pub fn order(rows: &[(SymbolInfo, Option<QuoteRow>)], sort: Option<Sort>) -> Vec<usize> {
    let mut indexes: Vec<usize> = (0..rows.len()).collect();
    let Some(sort) = sort else {
        return indexes;
    };
    indexes.sort_by(|&a, &b| {
        let (a_row, b_row) = (&rows[a], &rows[b]);
        let compared = sort
            .column
            .compare((&a_row.0, a_row.1.as_ref()), (&b_row.0, b_row.1.as_ref()));
        match compared {
            Some(ordering) if sort.descending => ordering.reverse(),
            Some(ordering) => ordering,
            None => {
                let known = |row: &(SymbolInfo, Option<QuoteRow>)| {
                    sort.column
                        .compare((&row.0, row.1.as_ref()), (&row.0, row.1.as_ref()))
                };
                // Rows with a figure before rows without one.
                known(b_row).is_some().cmp(&known(a_row).is_some())
            }
        }
        .then(a.cmp(&b))
    });
    indexes
}

#[cfg(test)]
mod tests {
    use ticker_shared::{Price, Symbol};

    use super::*;
    use crate::state::Flash;

    fn row(symbol: &str, last: Option<i64>) -> (SymbolInfo, Option<QuoteRow>) {
        let info = SymbolInfo {
            symbol: Symbol::new(symbol).unwrap(),
            name: format!("{symbol} Inc."),
            tick_size: Price(1),
            reference_price: Price(100),
        };
        let quote = last.map(|last| QuoteRow {
            last: Price(last),
            change: Price(last - 100),
            change_bps: Some((last - 100) * 100),
            high: Price(last),
            low: Price(last),
            volume: last as u64,
            flash: Flash::default(),
        });
        (info, quote)
    }

    #[test]
    fn numbers_sort_largest_first_and_text_a_to_z_then_turn_around_then_reset() {
        let mut sort = after_click(None, Column::Last);
        assert_eq!(
            sort,
            Some(Sort {
                column: Column::Last,
                descending: true
            })
        );
        sort = after_click(sort, Column::Last);
        assert_eq!(sort.map(|s| s.descending), Some(false));
        assert_eq!(after_click(sort, Column::Last), None);
        let by_symbol = after_click(sort, Column::Symbol);
        assert_eq!(by_symbol.map(|s| s.descending), Some(false));
        assert_eq!(
            after_click(by_symbol, Column::Symbol).map(|s| s.descending),
            Some(true)
        );
    }

    #[test]
    fn rows_without_a_quote_come_last_either_way_and_ties_keep_server_order() {
        let rows = vec![
            row("MSFT", Some(300)),
            row("AAPL", None),
            row("NVDA", Some(500)),
            row("AMZN", Some(300)),
        ];
        let by = |column, descending| order(&rows, Some(Sort { column, descending }));
        assert_eq!(by(Column::Last, true), vec![2, 0, 3, 1]);
        assert_eq!(by(Column::Last, false), vec![0, 3, 2, 1]);
        assert_eq!(by(Column::Symbol, false), vec![1, 3, 0, 2]);
        assert_eq!(order(&rows, None), vec![0, 1, 2, 3]);
    }
}
