//! The fan-out hub: one task that owns the [`Market`] and every client's subscriptions.
//!
//! Ticks from the bus and commands from connections are handled in one place, in order, so a
//! snapshot or a replay is always followed by exactly the ticks after it. Each tick is
//! serialized once; every subscriber's queue gets a clone of the same bytes. Queues are bounded
//! and filled with `try_send`: the hub never waits for a client. A client whose queue is full is
//! disconnected (close 1008, "slow consumer") and can resume without loss from the history.

use std::{collections::HashMap, sync::Arc};

use bytestring::ByteString;
use futures_util::StreamExt;
use ticker_shared::{Pong, ServerMessage, codec::TickFrame};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use crate::{
    bus::{BusEvent, BusSubscription},
    feed::unix_millis,
    market::{Market, Replay},
    metrics::Metrics,
    universe::SymbolId,
};

/// Identifies one WebSocket connection.
pub type ClientId = u64;

/// Most ticks in one replay frame, so a long replay takes few queue slots and no frame is huge.
const REPLAY_TICKS_PER_FRAME: usize = 256;
/// Commands waiting for the hub before connections have to wait.
const COMMAND_QUEUE: usize = 4_096;

/// What the hub puts in a client's queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// One serialized tick. The connection joins consecutive ticks into one `ticks` frame.
    Tick(ByteString),
    /// A complete message, sent as its own frame.
    Message(ByteString),
}

/// Why the hub dropped a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kick {
    /// The client's outbound queue was full.
    SlowConsumer,
}

/// How the hub reaches one connection.
#[derive(Debug)]
pub struct ClientLink {
    /// The client's bounded outbound queue.
    pub outbox: mpsc::Sender<Outbound>,
    /// Told once if the hub drops the client.
    pub kick: oneshot::Sender<Kick>,
}

impl ClientLink {
    /// A new link with a queue of `queue_bound` items, and the connection's ends of it: the
    /// queue to read and the kick to watch.
    pub fn new(queue_bound: usize) -> (Self, mpsc::Receiver<Outbound>, oneshot::Receiver<Kick>) {
        let (outbox, queue) = mpsc::channel(queue_bound);
        let (kick, kicked) = oneshot::channel();
        (ClientLink { outbox, kick }, queue, kicked)
    }
}

enum Command {
    Connect {
        client: ClientId,
        link: ClientLink,
    },
    Subscribe {
        client: ClientId,
        ids: Vec<SymbolId>,
    },
    Unsubscribe {
        client: ClientId,
        ids: Vec<SymbolId>,
    },
    Resume {
        client: ClientId,
        same_instance: bool,
        last_seq: Vec<(SymbolId, u64)>,
    },
    Pong {
        client: ClientId,
        ts: f64,
    },
    Sync {
        done: oneshot::Sender<()>,
    },
    Disconnect {
        client: ClientId,
    },
}

/// A cheap, clonable handle for sending commands to the hub. Every method waits only if the
/// hub's command queue is full, and does nothing once the hub has stopped.
#[derive(Debug, Clone)]
pub struct HubHandle {
    commands: mpsc::Sender<Command>,
}

impl HubHandle {
    async fn send(&self, command: Command) {
        // An error means the hub stopped (shutdown); the connection is about to end too.
        let _ = self.commands.send(command).await;
    }

    /// Registers a connection. It gets nothing until it subscribes.
    pub async fn connect(&self, client: ClientId, link: ClientLink) {
        self.send(Command::Connect { client, link }).await;
    }

    /// Subscribes `client` to `ids`: a snapshot for each newly subscribed symbol, then ticks.
    pub async fn subscribe(&self, client: ClientId, ids: Vec<SymbolId>) {
        self.send(Command::Subscribe { client, ids }).await;
    }

    /// Unsubscribes `client` from `ids` and confirms with `unsubscribed`.
    pub async fn unsubscribe(&self, client: ClientId, ids: Vec<SymbolId>) {
        self.send(Command::Unsubscribe { client, ids }).await;
    }

    /// Subscribes `client` to each symbol of `last_seq`, replaying the ticks after the given
    /// sequence number when `same_instance` and the history allow, else sending a reset snapshot.
    pub async fn resume(
        &self,
        client: ClientId,
        same_instance: bool,
        last_seq: Vec<(SymbolId, u64)>,
    ) {
        self.send(Command::Resume {
            client,
            same_instance,
            last_seq,
        })
        .await;
    }

    /// Answers a client's `ping` through the client's queue, so the `pong` follows everything
    /// its earlier commands produced (snapshots, replays, confirmations): a client can use a
    /// ping as a barrier.
    pub async fn pong(&self, client: ClientId, ts: f64) {
        self.send(Command::Pong { client, ts }).await;
    }

    /// Resolves once the hub has handled every command sent before this one, so everything
    /// they put in a client's queue is there.
    pub async fn sync(&self) {
        let (done, handled) = oneshot::channel();
        self.send(Command::Sync { done }).await;
        let _ = handled.await;
    }

    /// Forgets a connection.
    pub async fn disconnect(&self, client: ClientId) {
        self.send(Command::Disconnect { client }).await;
    }
}

/// One subscriber of one symbol: the client and its queue, kept together so that a fan-out
/// needs no lookup.
#[derive(Debug)]
struct Subscriber {
    client: ClientId,
    outbox: mpsc::Sender<Outbound>,
}

#[derive(Debug)]
struct Client {
    outbox: mpsc::Sender<Outbound>,
    kick: Option<oneshot::Sender<Kick>>,
    /// Per symbol, the client's position in that symbol's subscriber list, if subscribed.
    /// Makes unsubscribe and disconnect O(1) per symbol even with many thousands of clients.
    slots: Vec<Option<usize>>,
}

/// Why a delivery failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dropped {
    QueueFull,
    Gone,
}

/// The hub's state; runs as one task (see [`spawn`]).
#[derive(Debug)]
pub struct Hub {
    market: Market,
    clients: HashMap<ClientId, Client>,
    subscribers: Vec<Vec<Subscriber>>,
    /// Serialized non-reset snapshot per symbol, valid until the symbol's next tick; a burst of
    /// subscriptions (a reconnect storm) serializes each snapshot once.
    snapshot_cache: Vec<Option<ByteString>>,
    /// Clients whose delivery failed during the current fan-out, removed after it.
    failed: Vec<(ClientId, Dropped)>,
    metrics: Arc<Metrics>,
}

/// Starts the hub on the current Tokio runtime. It runs until the bus ends or every handle is
/// dropped.
pub fn spawn(
    market: Market,
    bus: BusSubscription,
    metrics: Arc<Metrics>,
) -> (HubHandle, tokio::task::JoinHandle<()>) {
    let (commands, receiver) = mpsc::channel(COMMAND_QUEUE);
    let hub = Hub::new(market, metrics);
    let task = tokio::spawn(hub.run(bus, receiver));
    (HubHandle { commands }, task)
}

impl Hub {
    fn new(market: Market, metrics: Arc<Metrics>) -> Self {
        let symbols = market.universe().len();
        Hub {
            market,
            clients: HashMap::new(),
            subscribers: (0..symbols).map(|_| Vec::new()).collect(),
            snapshot_cache: vec![None; symbols],
            failed: Vec::new(),
            metrics,
        }
    }

    async fn run(mut self, mut bus: BusSubscription, mut commands: mpsc::Receiver<Command>) {
        loop {
            tokio::select! {
                // Market data first: a burst of commands must not delay prices.
                biased;
                event = bus.next() => match event {
                    Some(BusEvent::Tick(tick)) => self.on_tick(tick),
                    Some(BusEvent::Lagged(lost)) => {
                        warn!(lost, "hub fell behind the market-data bus");
                        Metrics::add(&self.metrics.bus_lagged_ticks, lost);
                    }
                    None => break,
                },
                command = commands.recv() => match command {
                    Some(command) => self.on_command(command),
                    None => break,
                },
            }
        }
        info!("hub stopped");
    }

    fn on_tick(&mut self, tick: ticker_shared::Tick) {
        Metrics::inc(&self.metrics.ticks_published);
        let Some(applied) = self.market.apply(tick) else {
            return;
        };
        let id = applied.id;
        self.snapshot_cache[id.0] = None;
        let candles: Vec<ByteString> = applied
            .closed
            .into_iter()
            .map(|update| ServerMessage::Candle(update).to_json().into())
            .collect();
        for subscriber in &self.subscribers[id.0] {
            let delivered = candles
                .iter()
                .map(|frame| Outbound::Message(frame.clone()))
                .chain(std::iter::once(Outbound::Tick(applied.encoded.clone())))
                .try_for_each(|item| deliver(&subscriber.outbox, item));
            if let Err(dropped) = delivered {
                self.failed.push((subscriber.client, dropped));
            }
        }
        Metrics::add(
            &self.metrics.tick_deliveries,
            self.subscribers[id.0].len() as u64,
        );
        self.drop_failed();
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Connect { client, link } => {
                let slots = vec![None; self.subscribers.len()];
                self.clients.insert(
                    client,
                    Client {
                        outbox: link.outbox,
                        kick: Some(link.kick),
                        slots,
                    },
                );
            }
            Command::Subscribe { client, ids } => {
                for id in ids {
                    if self.add_subscription(client, id) {
                        let snapshot = self.snapshot(id);
                        self.enqueue(client, Outbound::Message(snapshot));
                    }
                }
            }
            Command::Unsubscribe { client, ids } => {
                for &id in &ids {
                    self.remove_subscription(client, id);
                }
                let symbols = ids
                    .iter()
                    .map(|&id| self.market.universe().symbol(id).clone())
                    .collect();
                let confirmation = ServerMessage::Unsubscribed { symbols }.to_json();
                self.enqueue(client, Outbound::Message(confirmation.into()));
            }
            Command::Resume {
                client,
                same_instance,
                last_seq,
            } => {
                for (id, seq) in last_seq {
                    self.resume(client, id, same_instance, seq);
                }
            }
            Command::Pong { client, ts } => {
                let pong = ServerMessage::Pong(Pong {
                    ts,
                    server_time: unix_millis(),
                });
                self.enqueue(client, Outbound::Message(pong.to_json().into()));
            }
            Command::Sync { done } => {
                let _ = done.send(());
            }
            Command::Disconnect { client } => self.remove_client(client),
        }
        self.drop_failed();
    }

    fn resume(&mut self, client: ClientId, id: SymbolId, same_instance: bool, last_seq: u64) {
        if !self.clients.contains_key(&client) {
            return;
        }
        self.add_subscription(client, id);
        let replay = if same_instance {
            self.market.replay_after(id, last_seq)
        } else {
            Replay::Unavailable
        };
        let frames: Vec<ByteString> = match replay {
            Replay::UpToDate => Vec::new(),
            Replay::Ticks(ticks) => {
                debug!(client, symbol = %self.market.universe().symbol(id), count = ticks.len(), "replaying");
                Metrics::add(&self.metrics.tick_deliveries, ticks.len() as u64);
                ticks
                    .chunks(REPLAY_TICKS_PER_FRAME)
                    .filter_map(|chunk| {
                        let mut frame = TickFrame::new();
                        chunk.iter().for_each(|tick| frame.push(tick));
                        frame.finish().map(ByteString::from)
                    })
                    .collect()
            }
            Replay::Unavailable => vec![
                ServerMessage::Snapshot(self.market.snapshot(id, true))
                    .to_json()
                    .into(),
            ],
        };
        for frame in frames {
            self.enqueue(client, Outbound::Message(frame));
        }
    }

    /// The current snapshot of `id`, serialized once per tick of that symbol.
    fn snapshot(&mut self, id: SymbolId) -> ByteString {
        let market = &self.market;
        self.snapshot_cache[id.0]
            .get_or_insert_with(|| {
                ServerMessage::Snapshot(market.snapshot(id, false))
                    .to_json()
                    .into()
            })
            .clone()
    }

    /// Subscribes `client` to `id`; false if it was already subscribed or is unknown.
    fn add_subscription(&mut self, client: ClientId, id: SymbolId) -> bool {
        let Some(entry) = self.clients.get_mut(&client) else {
            return false;
        };
        if entry.slots[id.0].is_some() {
            return false;
        }
        let list = &mut self.subscribers[id.0];
        entry.slots[id.0] = Some(list.len());
        list.push(Subscriber {
            client,
            outbox: entry.outbox.clone(),
        });
        true
    }

    fn remove_subscription(&mut self, client: ClientId, id: SymbolId) {
        let Some(position) = self
            .clients
            .get_mut(&client)
            .and_then(|entry| entry.slots[id.0].take())
        else {
            return;
        };
        let list = &mut self.subscribers[id.0];
        list.swap_remove(position);
        if let Some(moved) = list.get(position)
            && let Some(entry) = self.clients.get_mut(&moved.client)
        {
            entry.slots[id.0] = Some(position);
        }
    }

    fn remove_client(&mut self, client: ClientId) {
        let Some(entry) = self.clients.get(&client) else {
            return;
        };
        let subscribed: Vec<SymbolId> = entry
            .slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.is_some())
            .map(|(i, _)| SymbolId(i))
            .collect();
        for id in subscribed {
            self.remove_subscription(client, id);
        }
        self.clients.remove(&client);
    }

    fn enqueue(&mut self, client: ClientId, item: Outbound) {
        if let Some(entry) = self.clients.get(&client)
            && let Err(dropped) = deliver(&entry.outbox, item)
        {
            self.failed.push((client, dropped));
        }
    }

    fn drop_failed(&mut self) {
        while let Some((client, dropped)) = self.failed.pop() {
            if dropped == Dropped::QueueFull
                && let Some(kick) = self
                    .clients
                    .get_mut(&client)
                    .and_then(|entry| entry.kick.take())
            {
                info!(client, "disconnecting slow consumer");
                Metrics::inc(&self.metrics.slow_consumer_disconnects);
                // The connection may have ended meanwhile; then there is nobody left to tell.
                let _ = kick.send(Kick::SlowConsumer);
            }
            self.remove_client(client);
        }
    }
}

fn deliver(outbox: &mpsc::Sender<Outbound>, item: Outbound) -> Result<(), Dropped> {
    outbox.try_send(item).map_err(|err| match err {
        mpsc::error::TrySendError::Full(_) => Dropped::QueueFull,
        mpsc::error::TrySendError::Closed(_) => Dropped::Gone,
    })
}

#[cfg(test)]
mod tests {
    use ticker_shared::{Price, Symbol, SymbolInfo, Tick};

    use super::*;
    use crate::universe::Universe;

    fn hub() -> Hub {
        let info = |s: &str| SymbolInfo {
            symbol: Symbol::new(s).unwrap(),
            name: s.into(),
            tick_size: Price(1),
            reference_price: Price(100),
        };
        let universe = Arc::new(Universe::new(vec![info("AAPL"), info("MSFT")]));
        Hub::new(Market::new(universe, 16), Arc::new(Metrics::default()))
    }

    fn tick(symbol: &str, seq: u64) -> Tick {
        Tick {
            symbol: Symbol::new(symbol).unwrap(),
            seq,
            ts: 1_000,
            price: Price(100),
            size: 1,
            bid: Price(99),
            ask: Price(100),
            open: Price(100),
            high: Price(100),
            low: Price(100),
            volume: seq,
        }
    }

    struct TestClient {
        outbox: mpsc::Receiver<Outbound>,
        kicked: oneshot::Receiver<Kick>,
    }

    fn connect(hub: &mut Hub, client: ClientId, bound: usize) -> TestClient {
        let (outbox, receiver) = mpsc::channel(bound);
        let (kick, kicked) = oneshot::channel();
        hub.on_command(Command::Connect {
            client,
            link: ClientLink { outbox, kick },
        });
        TestClient {
            outbox: receiver,
            kicked,
        }
    }

    fn drain(client: &mut TestClient) -> Vec<Outbound> {
        std::iter::from_fn(|| client.outbox.try_recv().ok()).collect()
    }

    fn ticks(items: &[Outbound]) -> Vec<ByteString> {
        items
            .iter()
            .filter_map(|item| match item {
                Outbound::Tick(bytes) => Some(bytes.clone()),
                Outbound::Message(_) => None,
            })
            .collect()
    }

    #[test]
    fn every_subscriber_gets_the_same_serialized_bytes() {
        let mut hub = hub();
        let mut clients: Vec<TestClient> = (1..=2).map(|id| connect(&mut hub, id, 16)).collect();
        for id in 1..=2 {
            hub.on_command(Command::Subscribe {
                client: id,
                ids: vec![SymbolId(0)],
            });
        }
        hub.on_tick(tick("AAPL", 1));
        let received: Vec<Vec<ByteString>> = clients.iter_mut().map(|c| ticks(&drain(c))).collect();
        assert_eq!(received[0].len(), 1);
        assert_eq!(received[0], received[1]);
        assert_eq!(
            received[0][0].as_ptr(),
            received[1][0].as_ptr(),
            "one serialization, shared"
        );
    }

    #[test]
    fn a_full_queue_kicks_only_that_client() {
        let mut hub = hub();
        let mut slow = connect(&mut hub, 1, 2);
        let mut fast = connect(&mut hub, 2, 64);
        for id in 1..=2 {
            hub.on_command(Command::Subscribe {
                client: id,
                ids: vec![SymbolId(0)],
            });
        }
        drain(&mut fast);
        for seq in 1..=5 {
            hub.on_tick(tick("AAPL", seq));
        }
        assert_eq!(slow.kicked.try_recv(), Ok(Kick::SlowConsumer));
        assert_eq!(
            ticks(&drain(&mut fast)).len(),
            5,
            "the fast client got every tick"
        );
        assert!(!hub.clients.contains_key(&1));
        assert_eq!(hub.subscribers[0].len(), 1);
        assert_eq!(
            hub.metrics
                .slow_consumer_disconnects
                .load(std::sync::atomic::Ordering::Relaxed),
            1
        );
    }

    #[test]
    fn subscriber_bookkeeping_survives_removals_in_any_order() {
        let mut hub = hub();
        let mut clients: Vec<TestClient> = (0..5).map(|id| connect(&mut hub, id, 64)).collect();
        for id in 0..5 {
            hub.on_command(Command::Subscribe {
                client: id,
                ids: vec![SymbolId(0), SymbolId(1)],
            });
        }
        hub.on_command(Command::Disconnect { client: 2 });
        hub.on_command(Command::Disconnect { client: 0 });
        hub.on_command(Command::Unsubscribe {
            client: 4,
            ids: vec![SymbolId(0)],
        });
        clients.iter_mut().for_each(|c| {
            drain(c);
        });
        hub.on_tick(tick("AAPL", 1));
        hub.on_tick(tick("MSFT", 1));
        let counts: Vec<usize> = clients.iter_mut().map(|c| ticks(&drain(c)).len()).collect();
        assert_eq!(counts, vec![0, 2, 0, 2, 1]);
        for (position, subscriber) in hub.subscribers[0].iter().enumerate() {
            assert_eq!(hub.clients[&subscriber.client].slots[0], Some(position));
        }
    }

    #[test]
    fn a_resume_replays_in_frames_before_the_next_live_tick() {
        let mut hub = hub();
        for seq in 1..=5 {
            hub.on_tick(tick("AAPL", seq));
        }
        let mut client = connect(&mut hub, 1, 16);
        let instance_matches = true;
        hub.on_command(Command::Resume {
            client: 1,
            same_instance: instance_matches,
            last_seq: vec![(SymbolId(0), 2)],
        });
        hub.on_tick(tick("AAPL", 6));
        let items = drain(&mut client);
        assert_eq!(
            items.len(),
            2,
            "one replay frame, then the live tick: {items:?}"
        );
        let Outbound::Message(replay) = &items[0] else {
            panic!("replay is a frame")
        };
        let Ok(ServerMessage::Ticks { ticks }) = ticker_shared::decode_server(replay) else {
            panic!("a ticks frame")
        };
        assert_eq!(
            ticks.iter().map(|t| t.seq).collect::<Vec<_>>(),
            vec![3, 4, 5]
        );
        assert!(matches!(&items[1], Outbound::Tick(_)));
    }
}
