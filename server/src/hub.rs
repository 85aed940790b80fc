//! The fan-out hub: one task that owns the [`Market`] and every client's subscriptions.
//!
//! Ticks from the bus and commands from connections are handled in one place, in order, so a
//! snapshot or a replay is always followed by exactly the ticks after it.
//!
//! **Fan-out.** Each tick is serialized once, when the market applies it, and added to its
//! symbol's frame for the current *window* ([`HubConfig::window`], a few milliseconds). Frames
//! go out at most once per window: a tick that finds the last frames a window old or more goes
//! out at once, and the ticks that follow within the window wait for its end, together. Clients
//! with the same set of subscribed symbols form a *group*. When the window closes, the hub joins
//! the frames of each group's symbols into one `ticks` message (with the candles those ticks
//! closed), in the group's [`Encoding`], and puts that one shared buffer in every member's
//! queue: one allocation per group and window, one reference-count increment and one `try_send`
//! per client and window, however many ticks the window held. A window of zero sends every tick
//! on its own (batching off).
//!
//! Queues are bounded and filled with `try_send`: the hub never waits for a client. A client
//! whose queue is full is disconnected (close 1008, "slow consumer") and can resume without loss
//! from the history. A command whose answer is ordered against ticks (a subscription's snapshot,
//! a replay, `unsubscribed`, `alert_added`) first closes the current window, so its answer never
//! overtakes or repeats a tick; the others (pings, history, chat, …) leave the window open, so
//! however often clients send them the window's ticks still go out in one frame per group (see
//! `Hub::closes_window`).
//!
//! The hub also owns what the desk shares: every connection's price alerts ([`AlertBook`],
//! checked on every tick it applies, fired alerts queued when the window closes, behind the
//! frame holding their tick) and the chat room ([`ChatRoom`]: a new connection's first queued
//! message is the recent chat, and a post goes into every connection's queue).
//!
//! The parts: `hub/groups.rs` keeps who is in which group, `hub/window.rs` the ticks of the
//! current window and the frames built from them, `hub/handle.rs` the [`HubHandle`] and the
//! commands it sends; this file runs the task (ticks, commands, the fan-out, and what the alert
//! book and the chat room answer).

mod groups;
mod handle;
mod window;

use std::{collections::HashMap, sync::Arc, time::Duration};

use bytes::Bytes;
use bytestring::ByteString;
use futures_util::StreamExt;
use ticker_shared::{AlertFired, AlertRule, ChatPost, Pong, ServerMessage, codec::TickFrame};
use tokio::{
    sync::{mpsc, oneshot},
    time::Instant,
};
use tracing::{debug, info, warn};

pub use self::handle::HubHandle;
use self::{
    groups::{Groups, Membership},
    handle::Command,
    window::Window,
};
use crate::{
    alert::AlertBook,
    bus::{BusEvent, BusSubscription},
    chat::ChatRoom,
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
/// A window closes early once it holds this many ticks, so no frame grows without bound.
pub const MAX_TICKS_PER_WINDOW: usize = 1_024;

/// How the hub batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubConfig {
    /// How long ticks gather before their frames go out. Zero sends each tick as it arrives.
    pub window: Duration,
}

/// How a client receives live ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Encoding {
    /// JSON text frames (the default, and the only form on the event stream).
    #[default]
    Json,
    /// Binary frames of [`ticker_shared::binary`] (the `ticker.v1.bin` subprotocol).
    Binary,
}

/// The payload of one WebSocket data frame: a serialized `ticks` message in one [`Encoding`]
/// here, and whatever a connection writes (`ws.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// Text, for a text frame (JSON).
    Text(ByteString),
    /// Bytes, for a binary frame.
    Binary(Bytes),
}

/// The live ticks of one window for one subscription set, shared by every client in the group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveFrame {
    /// The serialized `ticks` message.
    pub payload: Payload,
    /// Each symbol in the frame with the sequence number of its last tick there, in symbol
    /// order: how far the frame moves a client's position (the event stream's cursor).
    pub positions: Arc<[(SymbolId, u64)]>,
    /// Ticks in the frame.
    pub ticks: usize,
}

/// What the hub puts in a client's queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// Live ticks, in a frame shared with every client subscribed to the same symbols. Behind
    /// an `Arc`: one reference count per delivery, and a small queue slot (every client's
    /// queue allocates its slots in blocks, idle or not).
    Live(Arc<LiveFrame>),
    /// A complete message, serialized once: for this client alone (snapshot, replay,
    /// confirmation, pong, alert, error) or, for chat, the same bytes for everyone.
    Message(ByteString),
    /// A `history` page for this client alone. Apart from the other messages because pages are
    /// large: a connection counts those it asked for until it has written them
    /// ([`ticker_shared::MAX_HISTORY_IN_FLIGHT`]).
    History(ByteString),
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
    /// How the client receives live ticks.
    pub encoding: Encoding,
}

impl ClientLink {
    /// A new link with a queue of `queue_bound` items, and the connection's ends of it: the
    /// queue to read and the kick to watch.
    pub fn new(
        queue_bound: usize,
        encoding: Encoding,
    ) -> (Self, mpsc::Receiver<Outbound>, oneshot::Receiver<Kick>) {
        let (outbox, queue) = mpsc::channel(queue_bound);
        let (kick, kicked) = oneshot::channel();
        let link = ClientLink {
            outbox,
            kick,
            encoding,
        };
        (link, queue, kicked)
    }
}

#[derive(Debug)]
struct Client {
    outbox: mpsc::Sender<Outbound>,
    kick: Option<oneshot::Sender<Kick>>,
    encoding: Encoding,
    /// The client's group and its position in the group's member list; `None` while it is
    /// subscribed to nothing. The position makes leaving O(1) however large the group.
    membership: Option<Membership>,
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
    config: HubConfig,
    clients: HashMap<ClientId, Client>,
    groups: Groups,
    window: Window,
    /// Serialized non-reset snapshot per symbol, valid until the symbol's next tick; a burst of
    /// subscriptions (a reconnect storm) serializes each snapshot once.
    snapshot_cache: Vec<Option<ByteString>>,
    /// Clients whose delivery failed during the current fan-out, removed after it.
    failed: Vec<(ClientId, Dropped)>,
    /// Every connection's price alerts.
    alerts: AlertBook,
    /// Alerts fired by the window's ticks, queued when the window closes: after the frame
    /// holding the tick that fired them.
    fired: Vec<(ClientId, AlertFired)>,
    /// The desk chat.
    chat: ChatRoom,
    metrics: Arc<Metrics>,
}

/// Starts the hub on the current Tokio runtime. It runs until the bus ends or every handle is
/// dropped.
pub fn spawn(
    market: Market,
    bus: BusSubscription,
    config: HubConfig,
    metrics: Arc<Metrics>,
) -> (HubHandle, tokio::task::JoinHandle<()>) {
    let (commands, receiver) = mpsc::channel(COMMAND_QUEUE);
    let hub = Hub::new(market, config, metrics);
    let task = tokio::spawn(hub.run(bus, receiver));
    (HubHandle::new(commands), task)
}

impl Hub {
    fn new(market: Market, config: HubConfig, metrics: Arc<Metrics>) -> Self {
        let symbols = market.universe().len();
        let alerts = AlertBook::new(market.universe().clone());
        Hub {
            market,
            config,
            clients: HashMap::new(),
            groups: Groups::default(),
            window: Window::new(symbols),
            snapshot_cache: vec![None; symbols],
            failed: Vec::new(),
            alerts,
            fired: Vec::new(),
            chat: ChatRoom::new(),
            metrics,
        }
    }

    async fn run(mut self, mut bus: BusSubscription, mut commands: mpsc::Receiver<Command>) {
        // One timer, re-armed per window rather than created per loop iteration.
        let window_closes = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(window_closes);
        loop {
            tokio::select! {
                // A due window first, then market data: a burst of commands must not delay
                // prices, and a busy bus must not hold back the frames.
                biased;
                () = &mut window_closes, if self.window.closes_at.is_some() => self.flush(),
                event = bus.next() => match event {
                    Some(BusEvent::Tick(tick)) => {
                        self.on_tick(tick);
                        if let Some(at) = self.window.closes_at
                            && window_closes.deadline() != at
                        {
                            window_closes.as_mut().reset(at);
                        }
                    }
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
        self.flush();
        info!("hub stopped");
    }

    /// Applies a tick to the market and adds it to the window, closing the window when batching
    /// is off or the window is full.
    fn on_tick(&mut self, tick: ticker_shared::Tick) {
        Metrics::inc(&self.metrics.ticks_published);
        let Some(applied) = self.market.apply(tick) else {
            return;
        };
        let id = applied.id;
        self.snapshot_cache[id.0] = None;
        let last = self.market.last(id);
        if let Some(tick) = last {
            self.alerts.on_tick(id, tick, &mut self.fired);
        }
        // A binary group can only appear between windows (the commands that join groups close
        // the window first), so a window either needs the binary form from its first tick or
        // not at all.
        let binary = last.filter(|_| self.groups.any_binary());
        self.window.push(id, &applied, binary);
        if self.config.window.is_zero() || self.window.ticks >= MAX_TICKS_PER_WINDOW {
            self.flush();
        } else if self.window.closes_at.is_none() {
            let now = Instant::now();
            let closes_at = self.window.opens_until(now, self.config.window);
            if closes_at <= now {
                self.flush();
            } else {
                self.window.closes_at = Some(closes_at);
            }
        }
    }

    /// Closes the window: one frame per group that subscribes to a symbol that ticked, shared by
    /// the group's members.
    fn flush(&mut self) {
        let window = &mut self.window;
        window.closes_at = None;
        if window.touched.is_empty() {
            return;
        }
        window.touched.sort_unstable();
        window.last_flush = Some(Instant::now());
        let window = &self.window;
        let mut deliveries = 0;
        let mut covered = Vec::new();
        for group in self.groups.iter() {
            covered.clear();
            group.covered(&window.touched, &mut covered);
            if covered.is_empty() {
                continue;
            }
            let Some(payload) = window.frame(group.encoding, &covered) else {
                continue;
            };
            let frame = Arc::new(LiveFrame {
                payload,
                positions: covered
                    .iter()
                    .map(|&id| (id, self.market.last_seq(id)))
                    .collect(),
                ticks: window.ticks_of(&covered),
            });
            for member in &group.members {
                if let Err(dropped) = deliver(&member.outbox, Outbound::Live(frame.clone())) {
                    self.failed.push((member.client, dropped));
                }
            }
            deliveries += (frame.ticks * group.members.len()) as u64;
        }
        self.window.clear();
        Metrics::add(&self.metrics.tick_deliveries, deliveries);
        self.queue_fired_alerts();
        self.drop_failed();
    }

    /// Queues each alert the window's ticks fired for its client, behind the window's frames.
    fn queue_fired_alerts(&mut self) {
        Metrics::add(&self.metrics.alerts_fired, self.fired.len() as u64);
        for (client, alert) in std::mem::take(&mut self.fired) {
            let message = ServerMessage::Alert(alert).to_json();
            self.enqueue(client, Outbound::Message(message.into()));
        }
    }

    /// Whether `command` must see the current window closed first: whether what it answers
    /// is ordered against the ticks of the window (applied before the command, not yet sent).
    fn closes_window(&self, command: &Command) -> bool {
        match command {
            // A snapshot or replay must include exactly the ticks before it; `unsubscribed`
            // must follow the ticks the client was subscribed to when they happened; and a
            // client joins a group only between windows (see `on_tick`).
            Command::Subscribe { .. } | Command::Unsubscribe { .. } | Command::Resume { .. } => {
                true
            }
            // Every tick after `alert_added` has been checked against the rule.
            Command::AddAlert { .. } => true,
            // An alert a tick of this window fired goes out before `alert_removed` of its rule.
            Command::RemoveAlert { client, id } => self
                .fired
                .iter()
                .any(|(fired_for, alert)| fired_for == client && alert.id == *id),
            // None is ordered against ticks: a new connection is in no group yet and a gone one
            // in none any more; a pong follows what the client's earlier messages produced,
            // which is queued already; a history page holds candles of the past (an open one
            // may change afterwards, as in a snapshot); chat goes to everyone, ticks or not.
            // Clients may send these often: closing the window for each would split every
            // group's frame as often.
            Command::Connect { .. }
            | Command::Disconnect { .. }
            | Command::Pong { .. }
            | Command::History { .. }
            | Command::Chat { .. }
            | Command::Sync { .. } => false,
        }
    }

    fn on_command(&mut self, command: Command) {
        if self.closes_window(&command) {
            self.flush();
        }
        match command {
            Command::Connect { client, link } => {
                self.clients.insert(
                    client,
                    Client {
                        outbox: link.outbox,
                        kick: Some(link.kick),
                        encoding: link.encoding,
                        membership: None,
                    },
                );
                // The connection has just sent `hello`: the recent chat comes next.
                let history = self.chat.history();
                self.enqueue(client, Outbound::Message(history));
            }
            Command::Subscribe { client, ids } => {
                for id in self.add_subscriptions(client, &ids) {
                    let snapshot = self.snapshot(id);
                    self.enqueue(client, Outbound::Message(snapshot));
                }
            }
            Command::Unsubscribe { client, ids } => {
                self.remove_subscriptions(client, &ids);
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
                let ids: Vec<SymbolId> = last_seq.iter().map(|&(id, _)| id).collect();
                self.add_subscriptions(client, &ids);
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
            Command::History {
                client,
                id,
                request,
            } => {
                let page = ServerMessage::History(self.market.history(id, &request));
                self.enqueue(client, Outbound::History(page.to_json().into()));
            }
            Command::AddAlert { client, rule } => self.add_alert(client, rule),
            Command::RemoveAlert { client, id } => {
                self.alerts.remove(client, id);
                let reply = ServerMessage::AlertRemoved { id }.to_json();
                self.enqueue(client, Outbound::Message(reply.into()));
            }
            Command::Chat { client, post } => self.chat(client, &post),
            Command::Sync { done } => {
                let _ = done.send(());
            }
            Command::Disconnect { client } => self.remove_client(client),
        }
        self.drop_failed();
    }

    /// Sets `rule` for `client` and confirms it, or refuses it with an `error` naming it.
    fn add_alert(&mut self, client: ClientId, rule: AlertRule) {
        // A client already dropped (a slow consumer whose commands were still queued) must not
        // leave rules behind.
        if !self.clients.contains_key(&client) {
            return;
        }
        let reply = match self.alerts.add(client, rule.clone()) {
            Ok(()) => ServerMessage::AlertAdded(rule),
            Err(refused) => {
                Metrics::inc(&self.metrics.client_errors);
                refused.to_error(rule.id).into()
            }
        };
        self.enqueue(client, Outbound::Message(reply.to_json().into()));
    }

    /// Posts `client`'s chat message to every connection, or refuses it to `client` alone.
    fn chat(&mut self, client: ClientId, post: &ChatPost) {
        // As for alerts: a client already dropped leaves no rate-limit state behind.
        if !self.clients.contains_key(&client) {
            return;
        }
        match self.chat.post(client, post, Instant::now(), unix_millis()) {
            Ok(message) => {
                Metrics::inc(&self.metrics.chat_messages);
                for (&id, entry) in &self.clients {
                    if let Err(dropped) = deliver(&entry.outbox, Outbound::Message(message.clone()))
                    {
                        self.failed.push((id, dropped));
                    }
                }
            }
            Err(refused) => {
                Metrics::inc(&self.metrics.client_errors);
                let reply = ServerMessage::Error(refused).to_json();
                self.enqueue(client, Outbound::Message(reply.into()));
            }
        }
    }

    /// Replays what `client` missed of `id` (already subscribed), or sends a reset snapshot.
    fn resume(&mut self, client: ClientId, id: SymbolId, same_instance: bool, last_seq: u64) {
        if !self.clients.contains_key(&client) {
            return;
        }
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

    /// Adds `ids` to `client`'s subscriptions, moving it to the group of its new set. Returns
    /// the symbols that were not subscribed before, in the order given.
    fn add_subscriptions(&mut self, client: ClientId, ids: &[SymbolId]) -> Vec<SymbolId> {
        let Some(entry) = self.clients.get(&client) else {
            return Vec::new();
        };
        let current = self.groups.symbols_of(entry.membership);
        let mut added = Vec::new();
        for &id in ids {
            if current.binary_search(&id).is_err() && !added.contains(&id) {
                added.push(id);
            }
        }
        if !added.is_empty() {
            let mut symbols: Vec<SymbolId> = current.iter().chain(&added).copied().collect();
            symbols.sort_unstable();
            self.regroup(client, symbols.into());
        }
        added
    }

    /// Removes `ids` from `client`'s subscriptions, moving it to the group of its new set.
    fn remove_subscriptions(&mut self, client: ClientId, ids: &[SymbolId]) {
        let Some(entry) = self.clients.get(&client) else {
            return;
        };
        let current = self.groups.symbols_of(entry.membership);
        let kept: Vec<SymbolId> = current
            .iter()
            .copied()
            .filter(|id| !ids.contains(id))
            .collect();
        if kept.len() != current.len() {
            self.regroup(client, kept.into());
        }
    }

    /// Moves `client` from its group to the group for `symbols` (sorted, deduplicated).
    fn regroup(&mut self, client: ClientId, symbols: Arc<[SymbolId]>) {
        self.leave_group(client);
        if let Some(entry) = self.clients.get_mut(&client) {
            entry.membership = self
                .groups
                .join(client, entry.encoding, &entry.outbox, symbols);
        }
    }

    fn leave_group(&mut self, client: ClientId) {
        let Some(entry) = self.clients.get_mut(&client) else {
            return;
        };
        if let Some(membership) = entry.membership.take()
            && let Some((moved, place)) = self.groups.leave(membership)
            && let Some(moved) = self.clients.get_mut(&moved)
        {
            moved.membership = Some(place);
        }
    }

    fn remove_client(&mut self, client: ClientId) {
        self.leave_group(client);
        self.clients.remove(&client);
        self.alerts.forget(client);
        self.chat.forget(client);
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
    use ticker_shared::{
        AlertId, HistoryRequest, Price, Symbol, SymbolInfo, Tick,
        binary::{self, BinaryFrame},
        decode_server,
    };

    use super::*;
    use crate::universe::Universe;

    const SYMBOLS: [&str; 3] = ["AAPL", "MSFT", "NVDA"];

    fn symbols() -> Vec<Symbol> {
        SYMBOLS.iter().map(|s| Symbol::new(s).unwrap()).collect()
    }

    fn hub_with_window(window: Duration) -> Hub {
        let info = |symbol: Symbol| SymbolInfo {
            name: symbol.to_string(),
            symbol,
            tick_size: Price(1),
            reference_price: Price(100),
        };
        let universe = Arc::new(Universe::new(symbols().into_iter().map(info).collect()));
        Hub::new(
            Market::new(universe, 16, crate::market::SNAPSHOT_CANDLES),
            HubConfig { window },
            Arc::new(Metrics::default()),
        )
    }

    /// A hub that sends every tick on its own.
    fn hub() -> Hub {
        hub_with_window(Duration::ZERO)
    }

    /// A hub whose window has just closed and will not close again by itself: ticks gather
    /// until the test calls `flush`.
    fn gathering_hub() -> Hub {
        let mut hub = hub_with_window(Duration::from_secs(3600));
        hub.window.last_flush = Some(Instant::now());
        hub
    }

    /// A tick of `symbol` at 1.00 (also for the tests of `hub/`'s parts).
    pub(super) fn tick_at(symbol: &str, seq: u64, ts: i64) -> Tick {
        Tick {
            symbol: Symbol::new(symbol).unwrap(),
            seq,
            ts,
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

    fn tick(symbol: &str, seq: u64) -> Tick {
        tick_at(symbol, seq, 1_000)
    }

    struct TestClient {
        outbox: mpsc::Receiver<Outbound>,
        kicked: oneshot::Receiver<Kick>,
    }

    fn connect(hub: &mut Hub, client: ClientId, bound: usize) -> TestClient {
        connect_as(hub, client, bound, Encoding::Json)
    }

    /// Connects `client` and takes the chat history every connection gets first.
    fn connect_as(hub: &mut Hub, client: ClientId, bound: usize, encoding: Encoding) -> TestClient {
        let (link, outbox, kicked) = ClientLink::new(bound, encoding);
        hub.on_command(Command::Connect { client, link });
        let mut connected = TestClient { outbox, kicked };
        let first = drain(&mut connected);
        assert!(
            matches!(&first[..], [item] if matches!(message(item), ServerMessage::ChatHistory { .. })),
            "{first:?}"
        );
        connected
    }

    fn subscribe(hub: &mut Hub, client: ClientId, ids: &[usize]) {
        hub.on_command(Command::Subscribe {
            client,
            ids: ids.iter().map(|&i| SymbolId(i)).collect(),
        });
    }

    fn drain(client: &mut TestClient) -> Vec<Outbound> {
        std::iter::from_fn(|| client.outbox.try_recv().ok()).collect()
    }

    fn live(items: &[Outbound]) -> Vec<LiveFrame> {
        items
            .iter()
            .filter_map(|item| match item {
                Outbound::Live(frame) => Some(LiveFrame::clone(frame)),
                Outbound::Message(_) | Outbound::History(_) => None,
            })
            .collect()
    }

    /// `(symbol, seq)` of every tick in `items`, live or replayed, and the candles' symbols.
    fn decoded(items: &[Outbound]) -> (Vec<(String, u64)>, Vec<String>) {
        let (mut ticks, mut closed) = (Vec::new(), Vec::new());
        for item in items {
            let message = match item {
                Outbound::Live(frame) => match &frame.payload {
                    Payload::Binary(bytes) => binary::decode(bytes, &symbols()),
                    Payload::Text(text) => Ok(decode_server(text).expect("valid JSON")),
                },
                Outbound::Message(text) | Outbound::History(text) => {
                    Ok(decode_server(text).expect("valid JSON"))
                }
            };
            match message.expect("the hub sends valid messages") {
                ServerMessage::Ticks { ticks: t, candles } => {
                    ticks.extend(t.into_iter().map(|t| (t.symbol.to_string(), t.seq)));
                    closed.extend(candles.into_iter().map(|c| c.symbol.to_string()));
                }
                ServerMessage::Snapshot(s) => ticks.push((
                    format!("snapshot {}", s.symbol),
                    s.quote.map_or(0, |q| q.seq),
                )),
                _ => {}
            }
        }
        (ticks, closed)
    }

    fn payload_ptr(frame: &LiveFrame) -> *const u8 {
        match &frame.payload {
            Payload::Text(text) => text.as_ptr(),
            Payload::Binary(bytes) => bytes.as_ptr(),
        }
    }

    #[test]
    fn binary_and_json_clients_get_the_same_ticks_in_their_own_shared_frames() {
        let mut hub = gathering_hub();
        let mut json = connect_as(&mut hub, 1, 16, Encoding::Json);
        let mut binary = [2, 3].map(|id| connect_as(&mut hub, id, 16, Encoding::Binary));
        for id in 1..=3 {
            subscribe(&mut hub, id, &[0, 2]);
        }
        drain(&mut json);
        binary.iter_mut().for_each(|c| drop(drain(c)));
        hub.on_tick(tick_at("AAPL", 1, 1_000));
        hub.on_tick(tick_at("NVDA", 1, 1_500));
        hub.on_tick(tick_at("AAPL", 2, 2_000));
        hub.flush();
        let json_items = drain(&mut json);
        let binary_items: Vec<Vec<Outbound>> = binary.iter_mut().map(drain).collect();
        let binary_frames = [live(&binary_items[0]), live(&binary_items[1])];
        assert!(matches!(binary_frames[0][0].payload, Payload::Binary(_)));
        assert_eq!(
            payload_ptr(&binary_frames[0][0]),
            payload_ptr(&binary_frames[1][0])
        );
        assert_eq!(decoded(&json_items), decoded(&binary_items[0]));
        let (ticks, candles) = decoded(&binary_items[0]);
        assert_eq!(ticks.len(), 3);
        assert_eq!(candles, vec!["AAPL".to_string()]);
    }

    #[test]
    fn every_subscriber_gets_the_same_serialized_bytes() {
        let mut hub = hub();
        let mut clients: Vec<TestClient> = (1..=2).map(|id| connect(&mut hub, id, 16)).collect();
        for id in 1..=2 {
            subscribe(&mut hub, id, &[0]);
        }
        hub.on_tick(tick("AAPL", 1));
        let received: Vec<Vec<LiveFrame>> = clients.iter_mut().map(|c| live(&drain(c))).collect();
        assert_eq!(received[0].len(), 1);
        assert_eq!(received[0], received[1]);
        assert_eq!(
            payload_ptr(&received[0][0]),
            payload_ptr(&received[1][0]),
            "one serialization, shared"
        );
    }

    #[test]
    fn a_window_joins_ticks_into_one_frame_per_subscription_set() {
        let mut hub = gathering_hub();
        let mut clients: Vec<TestClient> = (1..=3).map(|id| connect(&mut hub, id, 16)).collect();
        subscribe(&mut hub, 1, &[0, 1]);
        subscribe(&mut hub, 2, &[1, 0]);
        subscribe(&mut hub, 3, &[1]);
        clients.iter_mut().for_each(|c| drop(drain(c)));
        for (symbol, seq) in [("AAPL", 1), ("MSFT", 1), ("AAPL", 2), ("NVDA", 1)] {
            hub.on_tick(tick(symbol, seq));
        }
        assert!(
            clients.iter_mut().all(|c| drain(c).is_empty()),
            "nothing leaves before the window closes"
        );
        assert!(
            hub.window.binary.iter().all(BinaryFrame::is_empty),
            "no binary client, no binary encoding"
        );
        hub.flush();
        let frames: Vec<Vec<LiveFrame>> = clients.iter_mut().map(|c| live(&drain(c))).collect();
        assert!(frames.iter().all(|f| f.len() == 1), "{frames:?}");
        let (first, second, third) = (&frames[0][0], &frames[1][0], &frames[2][0]);
        assert_eq!(
            payload_ptr(first),
            payload_ptr(second),
            "same set, same bytes"
        );
        assert_eq!(first.ticks, 3);
        assert_eq!(&*first.positions, &[(SymbolId(0), 2), (SymbolId(1), 1)]);
        assert_eq!(third.ticks, 1);
        let (ticks, _) = decoded(&[Outbound::Live(Arc::new(first.clone()))]);
        assert_eq!(
            ticks,
            vec![("AAPL".into(), 1), ("AAPL".into(), 2), ("MSFT".into(), 1)]
        );
        assert_eq!(hub.groups.len(), 2);
    }

    #[test]
    fn a_lone_tick_leaves_at_once_and_a_burst_waits_for_the_window() {
        let mut hub = hub_with_window(Duration::from_secs(3600));
        let mut client = connect(&mut hub, 1, 16);
        subscribe(&mut hub, 1, &[0]);
        drain(&mut client);
        hub.window.last_flush = None;
        hub.on_tick(tick("AAPL", 1));
        assert_eq!(
            live(&drain(&mut client)).len(),
            1,
            "the first tick left at once"
        );
        hub.on_tick(tick("AAPL", 2));
        hub.on_tick(tick("AAPL", 3));
        assert!(
            drain(&mut client).is_empty(),
            "the rest wait for the window"
        );
        let closes_at = hub.window.closes_at.expect("a window is open");
        let last_flush = hub.window.last_flush.expect("the first tick went out");
        assert_eq!(closes_at, last_flush + Duration::from_secs(3600));
        hub.flush();
        let frames = live(&drain(&mut client));
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].ticks, 2);
    }

    #[test]
    fn a_full_window_closes_early() {
        let mut hub = gathering_hub();
        let mut client = connect(&mut hub, 1, 16);
        subscribe(&mut hub, 1, &[0]);
        drain(&mut client);
        for seq in 1..=MAX_TICKS_PER_WINDOW as u64 + 1 {
            hub.on_tick(tick("AAPL", seq));
        }
        let frames = live(&drain(&mut client));
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].ticks, MAX_TICKS_PER_WINDOW);
        assert_eq!(hub.window.ticks, 1, "the last tick opened the next window");
    }

    #[test]
    fn a_subscription_mid_window_sees_neither_a_gap_nor_a_repeat() {
        let mut hub = gathering_hub();
        let mut early = connect(&mut hub, 1, 64);
        subscribe(&mut hub, 1, &[0]);
        hub.on_tick(tick("AAPL", 1));
        hub.on_tick(tick("AAPL", 2));
        let mut late = connect(&mut hub, 2, 64);
        subscribe(&mut hub, 2, &[0]);
        hub.on_tick(tick("AAPL", 3));
        hub.flush();
        let (late_seen, _) = decoded(&drain(&mut late));
        assert_eq!(
            late_seen,
            vec![("snapshot AAPL".into(), 2), ("AAPL".into(), 3)]
        );
        let (early_seen, _) = decoded(&drain(&mut early));
        let seqs: Vec<u64> = early_seen.iter().map(|(_, seq)| *seq).collect();
        assert_eq!(seqs, vec![0, 1, 2, 3]);
    }

    #[test]
    fn closed_candles_ride_in_the_frame_of_the_tick_that_closed_them() {
        let mut hub = hub();
        let mut client = connect(&mut hub, 1, 16);
        subscribe(&mut hub, 1, &[0]);
        drain(&mut client);
        hub.on_tick(tick_at("AAPL", 1, 1_000));
        hub.on_tick(tick_at("AAPL", 2, 2_000));
        let items = drain(&mut client);
        assert_eq!(
            items.len(),
            2,
            "one frame per tick, no separate candle frame"
        );
        let (_, closed) = decoded(&items[1..]);
        assert_eq!(
            closed,
            vec!["AAPL".to_string()],
            "the 1 s candle of second 1"
        );
    }

    #[test]
    fn a_full_queue_kicks_only_that_client() {
        let mut hub = hub();
        let mut slow = connect(&mut hub, 1, 2);
        let mut fast = connect(&mut hub, 2, 64);
        for id in 1..=2 {
            subscribe(&mut hub, id, &[0]);
        }
        drain(&mut fast);
        for seq in 1..=5 {
            hub.on_tick(tick("AAPL", seq));
        }
        assert_eq!(slow.kicked.try_recv(), Ok(Kick::SlowConsumer));
        assert_eq!(
            live(&drain(&mut fast)).len(),
            5,
            "the fast client got every tick"
        );
        assert!(!hub.clients.contains_key(&1));
        assert_eq!(hub.groups.len(), 1);
        assert_eq!(
            hub.metrics
                .slow_consumer_disconnects
                .load(std::sync::atomic::Ordering::Relaxed),
            1
        );
    }

    #[test]
    fn group_bookkeeping_survives_removals_in_any_order() {
        let mut hub = hub();
        let mut clients: Vec<TestClient> = (0..5).map(|id| connect(&mut hub, id, 64)).collect();
        for id in 0..5 {
            subscribe(&mut hub, id, &[0, 1]);
        }
        hub.on_command(Command::Disconnect { client: 2 });
        hub.on_command(Command::Disconnect { client: 0 });
        hub.on_command(Command::Unsubscribe {
            client: 4,
            ids: vec![SymbolId(0)],
        });
        clients.iter_mut().for_each(|c| drop(drain(c)));
        hub.on_tick(tick("AAPL", 1));
        hub.on_tick(tick("MSFT", 1));
        let counts: Vec<usize> = clients.iter_mut().map(|c| live(&drain(c)).len()).collect();
        assert_eq!(counts, vec![0, 2, 0, 2, 1]);
        for group in hub.groups.iter() {
            for (position, member) in group.members.iter().enumerate() {
                let membership = hub.clients[&member.client].membership;
                assert_eq!(membership.map(|(_, p)| p), Some(position));
            }
        }
        hub.on_command(Command::Unsubscribe {
            client: 4,
            ids: vec![SymbolId(1)],
        });
        assert_eq!(hub.clients[&4].membership, None);
        assert_eq!(hub.groups.len(), 1, "the emptied group is gone");
    }

    fn alert(id: AlertId, price: i64) -> AlertRule {
        AlertRule {
            id,
            symbol: Symbol::new("AAPL").unwrap(),
            condition: ticker_shared::AlertCondition::Above,
            price: Price(price),
        }
    }

    fn message(item: &Outbound) -> ServerMessage {
        let (Outbound::Message(text) | Outbound::History(text)) = item else {
            panic!("a message of its own, not live ticks: {item:?}")
        };
        decode_server(text).expect("valid JSON")
    }

    #[test]
    fn an_alert_is_queued_after_the_frame_holding_the_tick_that_fired_it_and_only_once() {
        let mut hub = gathering_hub();
        let mut client = connect(&mut hub, 1, 16);
        subscribe(&mut hub, 1, &[0]);
        hub.on_command(Command::AddAlert {
            client: 1,
            rule: alert(7, 100),
        });
        let confirmed = drain(&mut client);
        assert!(matches!(
            message(confirmed.last().unwrap()),
            ServerMessage::AlertAdded(AlertRule { id: 7, .. })
        ));
        hub.on_tick(tick("AAPL", 1));
        hub.on_tick(tick("AAPL", 2));
        assert!(drain(&mut client).is_empty(), "nothing before the window");
        hub.flush();
        let items = drain(&mut client);
        assert_eq!(items.len(), 2, "{items:?}");
        assert_eq!(
            decoded(&items[..1]).0,
            [("AAPL".into(), 1), ("AAPL".into(), 2)]
        );
        let ServerMessage::Alert(fired) = message(&items[1]) else {
            panic!("an alert after the frame")
        };
        assert_eq!((fired.id, fired.seq, fired.trade_price), (7, 1, Price(100)));
        hub.on_tick(tick("AAPL", 3));
        hub.flush();
        assert_eq!(live(&drain(&mut client)).len(), 1, "the rule fired once");
        assert_eq!(
            hub.metrics
                .alerts_fired
                .load(std::sync::atomic::Ordering::Relaxed),
            1
        );
    }

    /// What `items` are, in order: `"live N"` for a frame of N ticks, `"history"` for a history
    /// page, else the message type.
    fn kinds(items: &[Outbound]) -> Vec<String> {
        items
            .iter()
            .map(|item| match item {
                Outbound::Live(frame) => format!("live {}", frame.ticks),
                Outbound::History(_) => "history".to_owned(),
                Outbound::Message(text) => {
                    let value: serde_json::Value = serde_json::from_str(text).expect("JSON");
                    value["type"].as_str().expect("a type").to_owned()
                }
            })
            .collect()
    }

    #[test]
    fn commands_not_ordered_against_ticks_leave_the_window_whole() {
        let mut hub = gathering_hub();
        let mut clients = [1, 2].map(|id| connect(&mut hub, id, 64));
        for id in 1..=2 {
            subscribe(&mut hub, id, &[0]);
        }
        clients.iter_mut().for_each(|c| drop(drain(c)));
        hub.on_tick(tick("AAPL", 1));
        let request = HistoryRequest {
            symbol: Symbol::new("AAPL").unwrap(),
            interval: ticker_shared::Interval::S1,
            before: i64::MAX,
            limit: 10,
        };
        let post = ChatPost {
            name: "Ada".into(),
            text: "mid-window".into(),
        };
        let (link, _outbox, _kicked) = ClientLink::new(16, Encoding::Json);
        for command in [
            Command::History {
                client: 1,
                id: SymbolId(0),
                request,
            },
            Command::Chat { client: 2, post },
            Command::Pong { client: 1, ts: 1.5 },
            Command::RemoveAlert { client: 1, id: 9 },
            Command::Connect { client: 3, link },
            Command::Disconnect { client: 3 },
        ] {
            hub.on_command(command);
        }
        let (done, _) = oneshot::channel();
        hub.on_command(Command::Sync { done });
        hub.on_tick(tick("AAPL", 2));
        hub.flush();
        assert_eq!(
            kinds(&drain(&mut clients[0])),
            ["history", "chat", "pong", "alert_removed", "live 2"],
            "the answers at once, the window's ticks in one frame"
        );
        assert_eq!(kinds(&drain(&mut clients[1])), ["chat", "live 2"]);
    }

    #[test]
    fn alert_commands_close_the_window_so_their_answers_follow_its_ticks() {
        let mut hub = gathering_hub();
        let mut client = connect(&mut hub, 1, 64);
        subscribe(&mut hub, 1, &[0]);
        drain(&mut client);
        hub.on_tick(tick("AAPL", 1));
        hub.on_command(Command::AddAlert {
            client: 1,
            rule: alert(7, 100),
        });
        assert_eq!(
            kinds(&drain(&mut client)),
            ["live 1", "alert_added"],
            "ticks before the rule are not checked against it, and come before its confirmation"
        );
        hub.on_tick(tick("AAPL", 2));
        hub.on_command(Command::RemoveAlert { client: 1, id: 7 });
        assert_eq!(
            kinds(&drain(&mut client)),
            ["live 1", "alert", "alert_removed"],
            "the rule fired in the window: its alert comes before its removal"
        );
    }

    #[test]
    fn rules_go_with_their_client_and_a_gone_client_sets_none() {
        let mut hub = hub();
        let _client = connect(&mut hub, 1, 16);
        hub.on_command(Command::AddAlert {
            client: 1,
            rule: alert(1, 200),
        });
        assert_eq!(hub.alerts.held_by(1), 1);
        hub.on_command(Command::Disconnect { client: 1 });
        assert!(hub.alerts.is_empty());
        hub.on_command(Command::AddAlert {
            client: 1,
            rule: alert(2, 200),
        });
        assert!(
            hub.alerts.is_empty(),
            "a command queued after the client left"
        );
    }

    #[test]
    fn a_chat_message_reaches_every_connection_and_newcomers_get_it_in_the_history() {
        let mut hub = hub();
        let mut clients: Vec<TestClient> = (1..=3).map(|id| connect(&mut hub, id, 16)).collect();
        subscribe(&mut hub, 1, &[0]);
        drop(drain(&mut clients[0]));
        let post = ChatPost {
            name: "Ada".into(),
            text: "hello desk".into(),
        };
        hub.on_command(Command::Chat { client: 2, post });
        for client in &mut clients {
            let items = drain(client);
            let [item] = &items[..] else {
                panic!("one message each: {items:?}")
            };
            let ServerMessage::Chat(chat) = message(item) else {
                panic!("a chat message: {item:?}")
            };
            assert_eq!((chat.id, chat.text.as_str()), (1, "hello desk"));
        }
        let (link, mut outbox, _kicked) = ClientLink::new(16, Encoding::Json);
        hub.on_command(Command::Connect { client: 4, link });
        let Ok(Outbound::Message(text)) = outbox.try_recv() else {
            panic!("the history first")
        };
        let Ok(ServerMessage::ChatHistory { messages }) = decode_server(&text) else {
            panic!("chat history: {text}")
        };
        assert_eq!(messages.len(), 1);
        hub.on_command(Command::Disconnect { client: 2 });
        let post = ChatPost {
            name: "Gone".into(),
            text: "after leaving".into(),
        };
        hub.on_command(Command::Chat { client: 2, post });
        assert!(
            drain(&mut clients[0]).is_empty(),
            "a gone client posts nothing"
        );
        assert_eq!(hub.chat.senders(), 0);
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
        assert!(matches!(&items[0], Outbound::Message(_)));
        assert!(matches!(&items[1], Outbound::Live(_)));
        let (ticks, _) = decoded(&items);
        let seqs: Vec<u64> = ticks.iter().map(|(_, seq)| *seq).collect();
        assert_eq!(seqs, vec![3, 4, 5, 6]);
    }
}
