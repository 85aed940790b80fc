//! The dashboard's desk chat: messages and refusals from the server shown in the panel, and the
//! user's posts checked and sent on the command channel.

use leptos::prelude::*;
use ticker_shared::ServerMessage;

use super::Dashboard;
use crate::{
    chat::{Link, Received},
    components::chat,
    signals::ConnectionStatus,
    transport::Transport,
};

impl Dashboard {
    /// Takes the chat's part of `message`: new messages go into the panel's list, a refusal of
    /// this page's post into its notice (and the text back into the field); a new session
    /// enables the form, or disables it on the event stream, which only receives. Whether that
    /// was all there is to the message.
    pub(super) fn receive_chat(&self, message: &ServerMessage) -> bool {
        let mut desk = self.chat.borrow_mut();
        match desk.receive(message) {
            None => false,
            Some(Received::Session) => {
                chat::session(self.signals.transport.get_untracked() == Transport::EventStream);
                false
            }
            Some(Received::Shown(merged)) => {
                chat::show(desk.log(), merged);
                true
            }
            Some(Received::Refused { notice, text }) => {
                chat::notice(&notice);
                if let Some(text) = text {
                    chat::put_back(&text);
                }
                true
            }
        }
    }

    /// Sends `text` as `name`, if it passes the checks and the connection can take it; else
    /// the notice says why. Whether it was sent.
    pub fn post_chat(&self, name: &str, text: &str) -> bool {
        let link = if self.signals.transport.get_untracked() == Transport::EventStream {
            Link::ReceiveOnly
        } else if self.signals.status.get_untracked() == ConnectionStatus::Live {
            Link::Open
        } else {
            Link::Closed
        };
        let posted = self.chat.borrow_mut().post(name, text, link);
        let sent = posted.is_ok();
        match posted {
            Ok(message) => {
                chat::notice("");
                self.send(message);
            }
            Err(notice) => chat::notice(&notice),
        }
        sent
    }
}
