//! The feed: paces the simulator against the wall clock and publishes its ticks to the bus.

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::{admin::StallGate, bus::MarketBus, simulator::Simulator};

/// The wall clock in Unix milliseconds.
pub fn unix_millis() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// Ticks published before the feed yields to the hub during a catch-up: fewer than the hub
/// reads in one turn (Tokio's cooperative budget is 128), so a catch-up never outruns it.
const CATCH_UP_BURST: usize = 64;

/// Publishes every tick when the wall clock reaches its timestamp, until `stop` is cancelled.
/// Ticks whose time has already passed (after a stall) are published at once, in order. With a
/// `gate` (`--enable-admin`), the ticks of stalled symbols are withheld.
pub async fn run(
    mut simulator: Simulator,
    bus: Arc<dyn MarketBus>,
    mut gate: Option<StallGate>,
    stop: CancellationToken,
) {
    while let Some(due) = simulator.next_due() {
        let wait = due - unix_millis();
        if wait > 0 {
            let wait = Duration::from_millis(wait.unsigned_abs());
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = stop.cancelled() => break,
            }
        }
        let due = simulator.ticks_until(unix_millis());
        let passed = due.filter_map(|tick| match &mut gate {
            Some(gate) => gate.pass(tick),
            None => Some(tick),
        });
        for (published, tick) in passed.enumerate() {
            bus.publish(tick);
            // A long catch-up (right after a large backfill, or after the process was paused)
            // must not outrun the bus: let the hub, on the same thread, read between bursts.
            if published % CATCH_UP_BURST == CATCH_UP_BURST - 1 {
                tokio::task::yield_now().await;
            }
        }
    }
    info!("feed stopped");
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;
    use crate::{
        bus::{BusEvent, InProcessBus},
        catalogue,
        simulator::SimulatorConfig,
    };

    #[tokio::test]
    async fn a_catch_up_never_outruns_a_reader_on_the_same_thread() {
        // Five symbols at 100 ticks/s, a minute behind: about 30,000 ticks are due at once,
        // against a bus that holds 256.
        let config = SimulatorConfig {
            tick_rate: 100.0,
            seed: 1,
        };
        let simulator = Simulator::new(&catalogue::first(5), config, unix_millis() - 60_000);
        let bus = Arc::new(InProcessBus::new(256));
        let mut subscription = bus.subscribe();
        let stop = CancellationToken::new();
        let feed = tokio::spawn(run(simulator, bus.clone(), None, stop.clone()));
        let mut read = 0;
        while read < 25_000 {
            match subscription.next().await {
                Some(BusEvent::Tick(_)) => read += 1,
                Some(BusEvent::Lagged(lost)) => panic!("the reader lost {lost} ticks after {read}"),
                None => panic!("the bus closed"),
            }
        }
        stop.cancel();
        feed.await.expect("the feed stops");
    }
}
