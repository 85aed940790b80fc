//! The page's requests to the feed: watchlist changes (subscribe, unsubscribe, kept across
//! reloads), connection checks, and [`Dashboard::send`] for the messages of the alerts, chat
//! and chart, all carried by the [`Command`] channel.

use std::rc::Rc;

use leptos::prelude::*;
use ticker_shared::{ClientMessage, Symbol};

use super::Dashboard;
use crate::{
    feed::{CheckReason, Command, Commands},
    storage, watched,
};

impl Dashboard {
    /// The feed's end of the command channel; `None` once taken.
    pub fn take_commands(&self) -> Option<Commands> {
        self.command_queue.borrow_mut().take()
    }

    /// Asks the feed to check the connection now (see [`Command::Check`]).
    pub fn check_connection(&self, reason: CheckReason) {
        // Fails only if the feed has stopped, and then there is no connection to check.
        let _ = self.commands.unbounded_send(Command::Check(reason));
    }

    /// The listed symbols for the event stream's URL (`*` for all).
    pub fn subscription_query(&self) -> String {
        self.view.borrow().subscription_query()
    }

    /// Adds the symbol named `symbol` to the watchlist (`listed`) or removes it: the server is
    /// told at once and the list is kept for the next visit. The symbol, if anything changed
    /// (unknown symbols change nothing, and the last one cannot be removed).
    pub fn set_listed(self: &Rc<Self>, symbol: &str, listed: bool) -> Option<Symbol> {
        let mut view = self.view.borrow_mut();
        let index = view.index_of(symbol)?;
        let message = view.set_listed(index, listed)?;
        let symbol = view.symbols()[index].symbol.clone();
        storage::save(watched::STORAGE_KEY, &view.watchlist_text());
        drop(view);
        self.display.borrow_mut().listed(index, super::page_clock());
        if let Some(row) = self
            .signals
            .rows
            .with_untracked(|rows| rows.get(index).cloned())
        {
            row.listed.set(listed);
            row.stale.set(false);
        }
        if !listed {
            // Unsubscribed, its line would stand still beside the others.
            self.signals.compare.update(|c| c.retain(|s| *s != symbol));
        }
        self.send(message);
        Some(symbol)
    }

    /// Sends `message` on the live session; without one it is dropped (see [`Command::Send`]).
    pub(super) fn send(&self, message: ClientMessage) {
        // Fails only if the feed has stopped, and then there is no session to send on.
        let _ = self.commands.unbounded_send(Command::Send(message));
    }
}
