//! The desk chat's pure logic: the messages kept ([`ChatLog`], merged by id so a reconnect's
//! history never repeats one), the posts awaiting their answer ([`ChatDesk`]'s outbox, so a
//! refused one can be put back in the text field), the form's checks and wording.
//!
//! Message ids rise within one server instance and start again after a restart, so a message is
//! known by the instance's turn (counted from the `hello`s) and its id.

use std::collections::VecDeque;

use ticker_shared::{
    ChatMessage, ChatPost, ClientMessage, ServerMessage, chat::MAX_CHAT_TEXT_CHARS,
};

/// Where the display name is kept (`localStorage`).
pub const STORAGE_KEY: &str = "ticker.chat.name";
/// Messages kept (and shown); older ones go.
pub const KEPT_MESSAGES: usize = 200;
/// Posts remembered while their answer is on its way; a connection may have only a few in
/// flight ([`ticker_shared::chat::CHAT_RATE_MESSAGES`] a window), so more means answers were lost.
const OUTBOX_LEN: usize = 16;
/// How close to the bottom, in CSS pixels, the list counts as scrolled to the bottom.
const BOTTOM_SLACK_PX: i32 = 8;
/// What the form says on a transport that only receives.
pub const RECEIVE_ONLY: &str = "Sending is unavailable on this connection (Server-Sent Events \
                                only receive); messages still arrive.";
/// What the form says when there is no connection to send on.
pub const NOT_CONNECTED: &str = "Not sent: not connected to the server; try again once live.";

/// One kept message and the server instance it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// Which server instance, counted from 0 by the `hello`s with a new `instance_id`.
    turn: u32,
    message: ChatMessage,
}

impl Entry {
    fn key(&self) -> (u32, u64) {
        (self.turn, self.message.id)
    }
}

/// The messages kept, oldest first, at most [`KEPT_MESSAGES`], each once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatLog {
    entries: VecDeque<Entry>,
    capacity: usize,
    /// The current server instance's `instance_id`, once a `hello` named it.
    instance: Option<String>,
    turn: u32,
}

/// What a merge changed, for a view that shows the log as a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Merged {
    /// Entries that were shown and went from the front.
    pub dropped: usize,
    /// Entries at the back that are new or moved: a view removes what it shows past
    /// `len() - fresh` and shows these.
    pub fresh: usize,
}

impl ChatLog {
    /// An empty log keeping at most `capacity` messages.
    pub fn new(capacity: usize) -> Self {
        ChatLog {
            entries: VecDeque::new(),
            capacity,
            instance: None,
            turn: 0,
        }
    }

    /// A `hello` from the server instance `instance_id`: messages from here on are its.
    pub fn session(&mut self, instance_id: &str) {
        if self.instance.as_deref() != Some(instance_id) {
            if self.instance.is_some() {
                self.turn += 1;
            }
            self.instance = Some(instance_id.to_owned());
        }
    }

    /// Adds those of `messages` not kept yet, in id order, and forgets the oldest beyond the
    /// capacity.
    pub fn merge(&mut self, messages: impl IntoIterator<Item = ChatMessage>) -> Merged {
        let before = self.entries.len();
        // The first position whose entry changed: everything from it on is fresh.
        let mut first = before;
        for message in messages {
            let entry = Entry {
                turn: self.turn,
                message,
            };
            if let Err(at) = self.entries.binary_search_by_key(&entry.key(), Entry::key) {
                first = first.min(at);
                self.entries.insert(at, entry);
            }
        }
        let excess = self.entries.len().saturating_sub(self.capacity);
        self.entries.drain(..excess);
        let dropped = excess.min(first);
        Merged {
            dropped,
            fresh: self.entries.len() - (first - dropped),
        }
    }

    /// How many messages are kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none are.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The kept messages, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &ChatMessage> {
        self.entries.iter().map(|entry| &entry.message)
    }
}

/// Whether the page can send on its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// A live WebSocket.
    Open,
    /// The event stream: it only receives.
    ReceiveOnly,
    /// No live connection.
    Closed,
}

/// What a server message did to the chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// Messages arrived (possibly none new).
    Shown(Merged),
    /// The server refused one of this page's posts.
    Refused {
        /// What to tell the user.
        notice: String,
        /// The refused post's text, to put back in the text field.
        text: Option<String>,
    },
}

/// The chat as one page takes part in it: what it shows and what it is waiting for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatDesk {
    log: ChatLog,
    /// Posts sent, oldest first, as `(name, text)` trimmed, until their message comes back
    /// or their refusal.
    outbox: VecDeque<(String, String)>,
}

impl Default for ChatDesk {
    fn default() -> Self {
        ChatDesk {
            log: ChatLog::new(KEPT_MESSAGES),
            outbox: VecDeque::new(),
        }
    }
}

impl ChatDesk {
    /// The messages to show.
    pub fn log(&self) -> &ChatLog {
        &self.log
    }

    /// Takes the chat's part of `message`; `None` if it is not the chat's business (a `hello`
    /// is noted, and left to the rest of the page too).
    pub fn receive(&mut self, message: &ServerMessage) -> Option<Received> {
        match message {
            ServerMessage::Hello(hello) => {
                self.log.session(&hello.instance_id);
                // Posts of the previous session were answered there, or never will be.
                self.outbox.clear();
                None
            }
            ServerMessage::ChatHistory { messages } => {
                Some(Received::Shown(self.log.merge(messages.iter().cloned())))
            }
            ServerMessage::Chat(chat) => {
                // The server answers a connection's posts in order: those before this one,
                // if still waiting, were lost.
                if let Some(at) = self
                    .outbox
                    .iter()
                    .position(|(name, text)| *name == chat.name && *text == chat.text)
                {
                    self.outbox.drain(..=at);
                }
                Some(Received::Shown(self.log.merge([chat.clone()])))
            }
            ServerMessage::Error(error) if error.in_reply_to.as_deref() == Some("chat") => {
                Some(Received::Refused {
                    notice: format!("Not sent: {}", error.message),
                    text: self.outbox.pop_front().map(|(_, text)| text),
                })
            }
            _ => None,
        }
    }

    /// The message posting `text` as `name`, checked first (the server's own check, so what
    /// passes here passes there, rate limit aside); else what to tell the user.
    pub fn post(&mut self, name: &str, text: &str, link: Link) -> Result<ClientMessage, String> {
        if link == Link::ReceiveOnly {
            return Err(RECEIVE_ONLY.to_owned());
        }
        let post = ChatPost {
            name: name.to_owned(),
            text: text.to_owned(),
        };
        let (name, text) = post.check().map_err(|err| format!("Not sent: {err}"))?;
        if link == Link::Closed {
            return Err(NOT_CONNECTED.to_owned());
        }
        if self.outbox.len() == OUTBOX_LEN {
            self.outbox.pop_front();
        }
        self.outbox.push_back((name.to_owned(), text.to_owned()));
        Ok(ClientMessage::Chat(ChatPost {
            name: name.to_owned(),
            text: text.to_owned(),
        }))
    }
}

/// A display name for a first visit: `Guest-` and four digits from `random` (in `[0, 1)`).
pub fn guest_name(random: f64) -> String {
    let digits = 1_000 + (random.clamp(0.0, 1.0) * 9_000.0) as u32 % 9_000;
    format!("Guest-{digits}")
}

/// The counter under the text field: characters left (as the limit counts them, trimmed), or
/// how many too many; and whether the text is over the limit.
pub fn characters_left(text: &str) -> (String, bool) {
    let used = text.trim().chars().count();
    match MAX_CHAT_TEXT_CHARS.checked_sub(used) {
        Some(left) => (format!("{left} left"), false),
        None => (format!("{} too many", used - MAX_CHAT_TEXT_CHARS), true),
    }
}

/// Whether a list scrolled to `top` (of `height` shown, `scroll_height` in all) is at its
/// bottom: then it follows new messages; scrolled up, it stays where the user put it.
pub fn at_bottom(top: i32, height: i32, scroll_height: i32) -> bool {
    top + height >= scroll_height - BOTTOM_SLACK_PX
}

#[cfg(test)]
mod tests {
    use ticker_shared::{ErrorCode, ErrorMessage, Hello, chat::MAX_CHAT_NAME_CHARS};

    use super::*;

    fn message(id: u64, text: &str) -> ChatMessage {
        ChatMessage {
            id,
            name: "Ada".into(),
            text: text.into(),
            ts: 1_764_000_000_000 + id as i64,
        }
    }

    fn ids(log: &ChatLog) -> Vec<u64> {
        log.iter().map(|m| m.id).collect()
    }

    fn hello(instance_id: &str) -> ServerMessage {
        ServerMessage::Hello(Hello {
            protocol_version: 1,
            instance_id: instance_id.into(),
            started_at: 0,
            server_time: 0,
            heartbeat_interval_ms: 5_000,
            intervals: Vec::new(),
            symbols: Vec::new(),
        })
    }

    fn history(range: std::ops::RangeInclusive<u64>) -> ServerMessage {
        ServerMessage::ChatHistory {
            messages: range.map(|id| message(id, "hi")).collect(),
        }
    }

    fn refusal(code: ErrorCode, text: &str) -> ServerMessage {
        ServerMessage::Error(ErrorMessage::new(code, text).replying_to("chat"))
    }

    #[test]
    fn a_reconnects_history_adds_only_what_was_missed() {
        let mut log = ChatLog::new(KEPT_MESSAGES);
        log.session("a");
        let first = log.merge((1..=3).map(|id| message(id, "hi")));
        assert_eq!(
            first,
            Merged {
                dropped: 0,
                fresh: 3
            }
        );
        let live = log.merge([message(4, "live")]);
        assert_eq!(
            live,
            Merged {
                dropped: 0,
                fresh: 1
            }
        );
        log.session("a");
        let again = log.merge((2..=6).map(|id| message(id, "hi")));
        assert_eq!(ids(&log), [1, 2, 3, 4, 5, 6], "no duplicates");
        assert_eq!(
            again,
            Merged {
                dropped: 0,
                fresh: 2
            }
        );
        assert_eq!(log.merge([message(6, "hi")]), Merged::default());
    }

    #[test]
    fn memory_is_bounded_and_the_newest_are_kept() {
        let mut log = ChatLog::new(KEPT_MESSAGES);
        log.merge((1..=10).map(|id| message(id, "x")));
        let flood = log.merge((11..=260).map(|id| message(id, "x")));
        assert_eq!(log.len(), KEPT_MESSAGES);
        assert_eq!(log.iter().next().map(|m| m.id), Some(61));
        // All ten shown went; everything kept is new.
        assert_eq!(
            flood,
            Merged {
                dropped: 10,
                fresh: KEPT_MESSAGES
            }
        );
        let one = log.merge([message(261, "x")]);
        assert_eq!(
            one,
            Merged {
                dropped: 1,
                fresh: 1
            }
        );
    }

    #[test]
    fn a_message_arriving_out_of_order_goes_in_its_place() {
        let mut log = ChatLog::new(5);
        log.merge([1, 2, 4, 5].map(|id| message(id, "x")));
        let late = log.merge([message(3, "x")]);
        assert_eq!(ids(&log), [1, 2, 3, 4, 5]);
        assert_eq!(
            late,
            Merged {
                dropped: 0,
                fresh: 3
            },
            "3, 4 and 5 redrawn"
        );
        let trimmed = log.merge([message(0, "x"), message(6, "x")]);
        assert_eq!(ids(&log), [2, 3, 4, 5, 6], "0 came and went at once");
        // The change began at the front: all of it is redrawn.
        assert_eq!(
            trimmed,
            Merged {
                dropped: 0,
                fresh: 5
            }
        );
    }

    #[test]
    fn a_restarted_server_numbers_from_one_again_after_the_old_messages() {
        let mut desk = ChatDesk::default();
        desk.receive(&hello("first"));
        desk.receive(&history(1..=3));
        desk.receive(&hello("second"));
        let shown = desk.receive(&history(1..=2));
        assert_eq!(ids(desk.log()), [1, 2, 3, 1, 2]);
        assert_eq!(
            shown,
            Some(Received::Shown(Merged {
                dropped: 0,
                fresh: 2
            }))
        );
    }

    #[test]
    fn a_refused_post_comes_back_and_a_delivered_one_does_not() {
        let mut desk = ChatDesk::default();
        desk.receive(&hello("a"));
        for text in ["one", "two", "three"] {
            desk.post(" Ada ", text, Link::Open).unwrap();
        }
        // "one" was lost (a dropped frame); "two" arrives; "three" is refused.
        let two = ServerMessage::Chat(message(7, "two"));
        assert!(matches!(desk.receive(&two), Some(Received::Shown(_))));
        let refused = desk.receive(&refusal(
            ErrorCode::RateLimited,
            "too many chat messages; try again in 3.2 s",
        ));
        assert_eq!(
            refused,
            Some(Received::Refused {
                notice: "Not sent: too many chat messages; try again in 3.2 s".into(),
                text: Some("three".into()),
            })
        );
        let again = desk.receive(&refusal(ErrorCode::InvalidChat, "no"));
        assert!(matches!(again, Some(Received::Refused { text: None, .. })));
    }

    #[test]
    fn posts_of_an_ended_session_are_not_put_back() {
        let mut desk = ChatDesk::default();
        desk.post("Ada", "lost", Link::Open).unwrap();
        desk.receive(&hello("a"));
        let refused = desk.receive(&refusal(ErrorCode::RateLimited, "later"));
        assert!(matches!(
            refused,
            Some(Received::Refused { text: None, .. })
        ));
    }

    #[test]
    fn only_chat_errors_and_messages_are_the_chats() {
        let mut desk = ChatDesk::default();
        assert_eq!(desk.receive(&hello("a")), None);
        let other = ServerMessage::Error(
            ErrorMessage::new(ErrorCode::UnknownSymbol, "no").replying_to("subscribe"),
        );
        assert_eq!(desk.receive(&other), None);
    }

    #[test]
    fn a_post_is_checked_before_it_is_sent() {
        let mut desk = ChatDesk::default();
        let sent = desk.post("  Ada ", "  <b>hi</b> & more ", Link::Open);
        assert_eq!(
            sent,
            Ok(ClientMessage::Chat(ChatPost {
                name: "Ada".into(),
                text: "<b>hi</b> & more".into(),
            }))
        );
        let long = "x".repeat(MAX_CHAT_TEXT_CHARS + 1);
        let refused = desk.post("Ada", &long, Link::Open).unwrap_err();
        assert!(refused.starts_with("Not sent: "), "{refused}");
        assert!(refused.contains("281 characters"), "{refused}");
        let name = "n".repeat(MAX_CHAT_NAME_CHARS + 1);
        assert!(desk.post(&name, "hi", Link::Open).is_err());
        assert!(desk.post("", "hi", Link::Open).is_err());
        assert!(desk.post("Ada", "   ", Link::Open).is_err());
        assert_eq!(
            desk.post("Ada", "hi", Link::Closed).unwrap_err(),
            NOT_CONNECTED
        );
        assert_eq!(
            desk.post("Ada", "hi", Link::ReceiveOnly).unwrap_err(),
            RECEIVE_ONLY
        );
        assert_eq!(desk.outbox.len(), 1, "only the post that was sent waits");
    }

    #[test]
    fn the_outbox_is_bounded() {
        let mut desk = ChatDesk::default();
        for n in 0..100 {
            desk.post("Ada", &n.to_string(), Link::Open).unwrap();
        }
        assert_eq!(desk.outbox.len(), OUTBOX_LEN);
    }

    #[test]
    fn guests_get_four_digits() {
        for random in [0.0, 0.123_456, 0.999_999, 1.0, -3.0, f64::NAN] {
            let name = guest_name(random);
            let digits = name.strip_prefix("Guest-").unwrap();
            assert!(
                digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit()),
                "{name}"
            );
        }
        assert_eq!(guest_name(0.5), "Guest-5500");
    }

    #[test]
    fn the_counter_counts_characters_as_the_limit_does() {
        assert_eq!(characters_left(""), ("280 left".into(), false));
        assert_eq!(characters_left("  😀é  "), ("278 left".into(), false));
        let full = "x".repeat(MAX_CHAT_TEXT_CHARS);
        assert_eq!(characters_left(&full), ("0 left".into(), false));
        assert_eq!(characters_left(&(full + "yy")), ("2 too many".into(), true));
    }

    #[test]
    fn the_list_follows_new_messages_only_from_the_bottom() {
        assert!(at_bottom(0, 200, 200), "everything fits");
        assert!(at_bottom(800, 200, 1000));
        assert!(at_bottom(795, 200, 1000), "within the slack");
        assert!(!at_bottom(500, 200, 1000), "scrolled up");
    }
}
