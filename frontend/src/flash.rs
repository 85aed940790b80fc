//! The price flash, limited to fewer than three flashes a second per cell (WCAG 2.3.1, "three
//! flashes or below threshold"). Pure, unit-tested natively.
//!
//! The model counts every move ([`Flash`]); the screen shows a new flash only if the cell's
//! last one started at least [`MIN_FLASH_SPACING_MS`] ago, and otherwise just updates the
//! figure. 400 ms apart, no second holds more than three starts, with room for the delay
//! between deciding and painting.

use crate::state::{Direction, Flash};

/// Least time between two flashes of one cell, in milliseconds.
pub const MIN_FLASH_SPACING_MS: f64 = 400.0;

/// What one cell shows of its flashes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FlashGate {
    /// The move the model counted last time a flash was shown.
    seen: u32,
    /// The flash on screen; its generation counts the flashes shown, so each new one changes
    /// the cell's class and restarts the animation.
    shown: Flash,
    started_at: Option<f64>,
}

impl FlashGate {
    /// The flash to show for the model's `latest` at page time `now`: a new move starts a
    /// flash if the last one is old enough; otherwise the cell keeps what it shows.
    pub fn show(&mut self, latest: Flash, now: f64) -> Flash {
        let moved = latest.generation != self.seen && latest.direction != Direction::Flat;
        let rested = self
            .started_at
            .is_none_or(|started| now - started >= MIN_FLASH_SPACING_MS);
        if moved && rested {
            self.seen = latest.generation;
            self.shown = Flash {
                direction: latest.direction,
                generation: self.shown.generation.wrapping_add(1),
            };
            self.started_at = Some(now);
        }
        self.shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(generation: u32) -> Flash {
        Flash {
            direction: Direction::Up,
            generation,
        }
    }

    #[test]
    fn moves_ten_times_a_second_flash_at_most_three_times_in_any_second() {
        let mut gate = FlashGate::default();
        let mut starts = Vec::new();
        let mut shown = gate.show(Flash::default(), 0.0);
        for i in 1..=100u32 {
            let now = f64::from(i) * 100.0 + f64::from(i % 3) * 7.0;
            let next = gate.show(up(i), now);
            if next != shown {
                starts.push(now);
            }
            shown = next;
        }
        assert!(starts.len() >= 15, "most moves still flash: {starts:?}");
        for (i, &start) in starts.iter().enumerate() {
            let in_window = starts[i..].iter().take_while(|&&t| t < start + 1_000.0);
            assert!(in_window.count() <= 3, "{starts:?}");
        }
    }

    #[test]
    fn each_flash_shown_changes_the_class_even_when_moves_were_skipped() {
        let mut gate = FlashGate::default();
        let first = gate.show(up(1), 0.0);
        assert_eq!(gate.show(up(2), 100.0), first, "too soon: no new flash");
        let second = gate.show(up(3), 500.0);
        assert_eq!(
            second.generation,
            first.generation + 1,
            "one more flash shown"
        );
        assert_eq!(gate.show(up(3), 2_000.0), second, "no new move: nothing");
        let flat = Flash {
            direction: Direction::Flat,
            generation: 3,
        };
        assert_eq!(
            gate.show(flat, 3_000.0),
            second,
            "a snapshot starts no flash"
        );
    }
}
