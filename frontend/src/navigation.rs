//! Keyboard movement in a list (the watchlist's rows): which row the arrow keys, Home and End
//! select, and which row takes the place of one that is removed. Pure, unit-tested natively.

/// A move of the selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// One row up (`ArrowUp`).
    Previous,
    /// One row down (`ArrowDown`).
    Next,
    /// The top row (`Home`).
    First,
    /// The bottom row (`End`).
    Last,
}

impl Step {
    /// The move a key asks for (`KeyboardEvent.key`), if any.
    pub fn from_key(key: &str) -> Option<Step> {
        match key {
            "ArrowUp" => Some(Step::Previous),
            "ArrowDown" => Some(Step::Next),
            "Home" => Some(Step::First),
            "End" => Some(Step::Last),
            _ => None,
        }
    }

    /// The row selected after this move from `current` in a list of `len` rows; the ends do
    /// not wrap around. Without a current row, any move starts at the top. `None` if empty.
    pub fn target(self, len: usize, current: Option<usize>) -> Option<usize> {
        let last = len.checked_sub(1)?;
        let Some(current) = current.map(|c| c.min(last)) else {
            return Some(0);
        };
        Some(match self {
            Step::Previous => current.saturating_sub(1),
            Step::Next => (current + 1).min(last),
            Step::First => 0,
            Step::Last => last,
        })
    }
}

/// The row (index before the removal) to select when the row at `removed` of `len` rows goes:
/// the one below it, or above it for the bottom row; `None` if it was the only one.
pub fn after_removal(len: usize, removed: usize) -> Option<usize> {
    if len <= 1 {
        None
    } else if removed + 1 < len {
        Some(removed + 1)
    } else {
        Some(removed - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrows_move_one_row_and_stop_at_the_ends_home_and_end_jump() {
        let step = |key: &str, current| Step::from_key(key).unwrap().target(5, current);
        assert_eq!(step("ArrowDown", Some(1)), Some(2));
        assert_eq!(step("ArrowDown", Some(4)), Some(4));
        assert_eq!(step("ArrowUp", Some(1)), Some(0));
        assert_eq!(step("ArrowUp", Some(0)), Some(0));
        assert_eq!(step("Home", Some(3)), Some(0));
        assert_eq!(step("End", Some(0)), Some(4));
        assert_eq!(
            step("ArrowUp", None),
            Some(0),
            "no selection: start at the top"
        );
        assert_eq!(step("End", Some(9)), Some(4), "a stale index is clamped");
        assert_eq!(Step::Next.target(0, None), None);
        assert_eq!(Step::from_key("a"), None);
    }

    #[test]
    fn a_removed_row_hands_the_selection_to_its_neighbour() {
        assert_eq!(after_removal(3, 0), Some(1));
        assert_eq!(after_removal(3, 1), Some(2));
        assert_eq!(
            after_removal(3, 2),
            Some(1),
            "the bottom row: the one above"
        );
        assert_eq!(after_removal(1, 0), None);
    }
}
