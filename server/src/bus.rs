//! The market-data bus: how ticks travel from the feed to the hub.
//!
//! The feed publishes into a [`MarketBus`] and the hub reads a [`BusSubscription`]; neither
//! knows what carries the ticks. [`InProcessBus`] is the default. A networked bus (Redis or NATS
//! pub/sub, with one feed process and many gateway processes behind a load balancer) implements
//! the same trait; because the feed assigns the sequence numbers, every gateway sees the same
//! `seq` for the same tick.

use futures_util::{StreamExt, stream::BoxStream};
use ticker_shared::Tick;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// What a subscriber reads from the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusEvent {
    /// The next tick.
    Tick(Tick),
    /// The subscriber fell behind and this many ticks were lost to it.
    Lagged(u64),
}

/// A subscriber's stream of bus events; it ends when the bus closes.
pub type BusSubscription = BoxStream<'static, BusEvent>;

/// Publishes ticks to every subscriber.
pub trait MarketBus: Send + Sync + 'static {
    /// Sends one tick to every current subscriber. Never blocks the publisher.
    fn publish(&self, tick: Tick);

    /// A stream of every tick published from now on.
    fn subscribe(&self) -> BusSubscription;

    /// Ends every subscription once the ticks already published are read.
    fn close(&self);
}

/// A bus inside one process, on a Tokio broadcast channel.
#[derive(Debug)]
pub struct InProcessBus {
    sender: broadcast::Sender<Tick>,
    closed: CancellationToken,
}

impl InProcessBus {
    /// A bus that buffers up to `capacity` ticks for its slowest subscriber.
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(1));
        InProcessBus {
            sender,
            closed: CancellationToken::new(),
        }
    }
}

impl MarketBus for InProcessBus {
    fn publish(&self, tick: Tick) {
        // An error only means nobody is subscribed yet, which loses nothing anyone asked for.
        let _ = self.sender.send(tick);
    }

    fn subscribe(&self) -> BusSubscription {
        let receiver = self.sender.subscribe();
        let closed = self.closed.clone();
        futures_util::stream::unfold((receiver, closed), |(mut receiver, closed)| async move {
            let event = tokio::select! {
                biased;
                received = receiver.recv() => match received {
                    Ok(tick) => BusEvent::Tick(tick),
                    Err(broadcast::error::RecvError::Lagged(lost)) => BusEvent::Lagged(lost),
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                () = closed.cancelled() => return None,
            };
            Some((event, (receiver, closed)))
        })
        .boxed()
    }

    fn close(&self) {
        self.closed.cancel();
    }
}

#[cfg(test)]
mod tests {
    use ticker_shared::{Price, Symbol};

    use super::*;

    fn tick(seq: u64) -> Tick {
        Tick {
            symbol: Symbol::new("T").unwrap(),
            seq,
            ts: 0,
            price: Price(1),
            size: 1,
            bid: Price(1),
            ask: Price(2),
            open: Price(1),
            high: Price(1),
            low: Price(1),
            volume: 1,
        }
    }

    #[tokio::test]
    async fn every_subscriber_gets_every_tick_in_order() {
        let bus = InProcessBus::new(16);
        let mut first = bus.subscribe();
        let mut second = bus.subscribe();
        for seq in 1..=3 {
            bus.publish(tick(seq));
        }
        for subscription in [&mut first, &mut second] {
            for seq in 1..=3 {
                assert_eq!(subscription.next().await, Some(BusEvent::Tick(tick(seq))));
            }
        }
    }

    #[tokio::test]
    async fn a_slow_subscriber_is_told_how_many_ticks_it_lost() {
        let bus = InProcessBus::new(2);
        let mut subscription = bus.subscribe();
        for seq in 1..=5 {
            bus.publish(tick(seq));
        }
        assert_eq!(subscription.next().await, Some(BusEvent::Lagged(3)));
        assert_eq!(subscription.next().await, Some(BusEvent::Tick(tick(4))));
    }

    #[tokio::test]
    async fn closing_ends_subscriptions() {
        let bus = InProcessBus::new(2);
        let mut subscription = bus.subscribe();
        bus.close();
        assert_eq!(subscription.next().await, None);
    }
}
