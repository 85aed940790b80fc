//! The page's life beyond the network: a hidden tab and a machine that sleeps.
//!
//! While the tab is hidden the dashboard draws nothing (see `dashboard::display`). When it is
//! shown again, or when the wall clock jumps ahead of a periodic timer (the machine slept: the
//! timer could not run), the link may have died without a word, a zombie: the dashboard asks
//! the feed to check it at once ([`CheckReason`]) instead of waiting for the watchdog.

use std::{cell::RefCell, rc::Rc, time::Duration};

use leptos::prelude::*;
use wasm_bindgen::{JsCast, closure::Closure};

use crate::{
    dashboard::{Dashboard, wall_clock},
    feed::CheckReason,
};

/// How often the wake detector looks at the wall clock.
pub const WAKE_POLL: Duration = Duration::from_secs(1);
/// A timer this much later than due means the page (or the machine) was asleep, in ms. Hidden
/// tabs run timers once a second, clear of this; after five hidden minutes Chrome runs them
/// once a minute, and then each run asks for a check: a ping a minute, which is harmless.
pub const WAKE_JUMP_MS: f64 = 10_000.0;

/// Finds wall-clock jumps between the runs of a periodic timer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WakeDetector {
    last: Option<f64>,
}

impl WakeDetector {
    /// One run of a timer of `period_ms` at wall time `now` (Unix ms): whether the wall clock
    /// moved on by much more than the period since the last run.
    pub fn tick(&mut self, now: f64, period_ms: f64) -> bool {
        let jumped = self
            .last
            .is_some_and(|last| now - last > period_ms + WAKE_JUMP_MS);
        self.last = Some(now);
        jumped
    }
}

/// Follows the tab's visibility and the wall clock for the life of the page.
pub fn watch(dashboard: &Rc<Dashboard>) {
    let Some(document) = crate::dom::document() else {
        return;
    };
    let changed = Closure::<dyn FnMut()>::new({
        let dashboard = Rc::clone(dashboard);
        let document = document.clone();
        move || dashboard.set_hidden(document.hidden())
    });
    let _ = document
        .add_event_listener_with_callback("visibilitychange", changed.as_ref().unchecked_ref());
    // The listener lives as long as the page.
    changed.forget();

    let detector = RefCell::new(WakeDetector::default());
    let dashboard = Rc::clone(dashboard);
    let period = WAKE_POLL.as_millis() as f64;
    let poll = move || {
        if detector.borrow_mut().tick(wall_clock(), period) {
            dashboard.check_connection(CheckReason::Wake);
        }
    };
    if let Err(err) = set_interval_with_handle(poll, WAKE_POLL) {
        tracing::warn!(error = ?err, "cannot start the wake detector");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timer_that_runs_late_by_far_more_than_its_period_means_a_wake() {
        let mut detector = WakeDetector::default();
        assert!(
            !detector.tick(0.0, 1_000.0),
            "the first run has nothing to compare"
        );
        assert!(!detector.tick(1_000.0, 1_000.0));
        assert!(!detector.tick(3_500.0, 1_000.0), "throttled, not asleep");
        assert!(
            detector.tick(3_500.0 + 60_000.0, 1_000.0),
            "a minute asleep"
        );
        assert!(!detector.tick(3_500.0 + 61_000.0, 1_000.0));
        assert!(
            !detector.tick(0.0, 1_000.0),
            "the clock set back is no wake"
        );
    }
}
