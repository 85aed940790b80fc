//! `HubHandle`, how connections reach the hub: each method queues a [`Command`] for the hub's
//! task, which handles commands one at a time, in order, between ticks.

use ticker_shared::{AlertId, AlertRule, ChatPost, HistoryRequest};
use tokio::sync::{mpsc, oneshot};

use super::{ClientId, ClientLink};
use crate::universe::SymbolId;

/// What a connection asks of the hub, in the order it asks.
pub(super) enum Command {
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
    History {
        client: ClientId,
        id: SymbolId,
        request: HistoryRequest,
    },
    AddAlert {
        client: ClientId,
        rule: AlertRule,
    },
    RemoveAlert {
        client: ClientId,
        id: AlertId,
    },
    Chat {
        client: ClientId,
        post: ChatPost,
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
    /// The handle sending into `commands`, the hub's queue.
    pub(super) fn new(commands: mpsc::Sender<Command>) -> Self {
        HubHandle { commands }
    }

    async fn send(&self, command: Command) {
        // An error means the hub stopped (shutdown); the connection is about to end too.
        let _ = self.commands.send(command).await;
    }

    /// Registers a connection: the hub queues the desk's recent chat (`chat_history`) for it at
    /// once, and ticks only once it subscribes.
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

    /// Answers a `history` request for `id` through the client's queue, in order with the rest.
    pub async fn history(&self, client: ClientId, id: SymbolId, request: HistoryRequest) {
        self.send(Command::History {
            client,
            id,
            request,
        })
        .await;
    }

    /// Sets a price alert for `client` (see [`crate::alert::AlertBook`]); answered with `alert_added` or an
    /// `error` naming the rule.
    pub async fn add_alert(&self, client: ClientId, rule: AlertRule) {
        self.send(Command::AddAlert { client, rule }).await;
    }

    /// Removes `client`'s alert `id`; answered with `alert_removed`.
    pub async fn remove_alert(&self, client: ClientId, id: AlertId) {
        self.send(Command::RemoveAlert { client, id }).await;
    }

    /// Posts to the desk chat: the message goes to every connection, or an `error` to `client`.
    pub async fn chat(&self, client: ClientId, post: ChatPost) {
        self.send(Command::Chat { client, post }).await;
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
