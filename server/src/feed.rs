//! The feed: paces the simulator against the wall clock and publishes its ticks to the bus.

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::{bus::MarketBus, simulator::Simulator};

/// The wall clock in Unix milliseconds.
pub fn unix_millis() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// Publishes every tick when the wall clock reaches its timestamp, until `stop` is cancelled.
/// Ticks whose time has already passed (after a stall) are published at once, in order.
pub async fn run(mut simulator: Simulator, bus: Arc<dyn MarketBus>, stop: CancellationToken) {
    while let Some(due) = simulator.next_due() {
        let wait = due - unix_millis();
        if wait > 0 {
            let wait = Duration::from_millis(wait.unsigned_abs());
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = stop.cancelled() => break,
            }
        }
        for tick in simulator.ticks_until(unix_millis()) {
            bus.publish(tick);
        }
    }
    info!("feed stopped");
}
