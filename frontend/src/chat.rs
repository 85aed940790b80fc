//! The desk chat's pure logic: the messages kept ([`ChatLog`], merged by id so a reconnect's
//! history never repeats one), the post awaiting its answer ([`ChatDesk`], so a refused one
//! can be put back in the text field), the form's checks and wording.
//!
//! Message ids rise within one server instance and start again after a restart, so a message is
//! known by the instance's turn (counted from the `hello`s) and its id.

use ticker_shared::{
    ChatMessage, ChatPost, ClientMessage, ServerMessage, chat::MAX_CHAT_TEXT_CHARS,
};

/// Where the display name is kept (`localStorage`).
pub const STORAGE_KEY: &str = "ticker.chat.name";
/// Messages kept (and shown); older ones go.
pub const KEPT_MESSAGES: usize = 200;
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
    entries: Vec<Entry>,
    capacity: usize,
    /// The current server instance's `instance_id`, once a `hello` named it.
    instance: Option<String>,
    turn: u32,
}

/// What a merge changed, for a view that shows the log as a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merged {
    /// The usual case: the oldest `dropped` entries went from the front, the newest `added`
    /// are new at the back (both possibly 0).
    Tail {
        /// Entries removed from the front.
        dropped: usize,
        /// Entries added at the back.
        added: usize,
    },
    /// A message landed among those shown (it arrived out of order): show the log afresh.
    Redraw,
}

impl ChatLog {
    /// An empty log keeping at most `capacity` messages.
    pub fn new(capacity: usize) -> Self {
        ChatLog {
            entries: Vec::new(),
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
        let mut added = 0;
        let mut inside = false;
        for message in messages {
            let entry = Entry {
                turn: self.turn,
                message,
            };
            if let Err(at) = self.entries.binary_search_by_key(&entry.key(), Entry::key) {
                inside |= at < before;
                added += 1;
                self.entries.insert(at, entry);
            }
        }
        let excess = self.entries.len().saturating_sub(self.capacity);
        self.entries.drain(..excess);
        if inside {
            return Merged::Redraw;
        }
        // What went beyond the capacity went from the old entries first.
        let dropped = excess.min(before);
        Merged::Tail {
            dropped,
            added: added - (excess - dropped),
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
    /// A new session began (a `hello`, which is the rest of the page's business too).
    Session,
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
    /// The last post sent (trimmed), until its message comes back or a refusal: a refusal
    /// is most likely of the last post (a burst into the rate limit), so its text is the one
    /// to put back.
    last: Option<ChatPost>,
}

impl Default for ChatDesk {
    fn default() -> Self {
        ChatDesk {
            log: ChatLog::new(KEPT_MESSAGES),
            last: None,
        }
    }
}

impl ChatDesk {
    /// The messages to show.
    pub fn log(&self) -> &ChatLog {
        &self.log
    }

    /// Takes the chat's part of `message`; `None` if it is not the chat's business.
    pub fn receive(&mut self, message: &ServerMessage) -> Option<Received> {
        match message {
            ServerMessage::Hello(hello) => {
                self.log.session(&hello.instance_id);
                // A post of the previous session was answered there, or never will be.
                self.last = None;
                Some(Received::Session)
            }
            ServerMessage::ChatHistory { messages } => {
                Some(Received::Shown(self.log.merge(messages.iter().cloned())))
            }
            ServerMessage::Chat(chat) => {
                if self
                    .last
                    .as_ref()
                    .is_some_and(|last| last.name == chat.name && last.text == chat.text)
                {
                    self.last = None;
                }
                Some(Received::Shown(self.log.merge([chat.clone()])))
            }
            ServerMessage::Error(error) if error.in_reply_to.as_deref() == Some("chat") => {
                Some(Received::Refused {
                    notice: format!("Not sent: {}", error.message),
                    text: self.last.take().map(|last| last.text),
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
        let checked = ChatPost {
            name: name.to_owned(),
            text: text.to_owned(),
        };
        self.last = Some(checked.clone());
        Ok(ClientMessage::Chat(checked))
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

    fn tail(dropped: usize, added: usize) -> Merged {
        Merged::Tail { dropped, added }
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
        assert_eq!(first, tail(0, 3));
        let live = log.merge([message(4, "live")]);
        assert_eq!(live, tail(0, 1));
        log.session("a");
        let again = log.merge((2..=6).map(|id| message(id, "hi")));
        assert_eq!(ids(&log), [1, 2, 3, 4, 5, 6], "no duplicates");
        assert_eq!(again, tail(0, 2));
        assert_eq!(log.merge([message(6, "hi")]), tail(0, 0));
    }

    #[test]
    fn memory_is_bounded_and_the_newest_are_kept() {
        let mut log = ChatLog::new(KEPT_MESSAGES);
        log.merge((1..=10).map(|id| message(id, "x")));
        let flood = log.merge((11..=260).map(|id| message(id, "x")));
        assert_eq!(log.len(), KEPT_MESSAGES);
        assert_eq!(log.iter().next().map(|m| m.id), Some(61));
        // All ten shown went; everything kept is new.
        assert_eq!(flood, tail(10, KEPT_MESSAGES));
        let one = log.merge([message(261, "x")]);
        assert_eq!(one, tail(1, 1));
    }

    #[test]
    fn a_message_arriving_out_of_order_goes_in_its_place() {
        let mut log = ChatLog::new(5);
        log.merge([1, 2, 4, 5].map(|id| message(id, "x")));
        let late = log.merge([message(3, "x")]);
        assert_eq!(ids(&log), [1, 2, 3, 4, 5]);
        assert_eq!(late, Merged::Redraw);
        let trimmed = log.merge([message(0, "x"), message(6, "x")]);
        assert_eq!(ids(&log), [2, 3, 4, 5, 6], "0 came and went at once");
        assert_eq!(trimmed, Merged::Redraw);
        assert_eq!(log.merge([message(7, "x")]), tail(1, 1));
    }

    #[test]
    fn a_restarted_server_numbers_from_one_again_after_the_old_messages() {
        let mut desk = ChatDesk::default();
        desk.receive(&hello("first"));
        desk.receive(&history(1..=3));
        desk.receive(&hello("second"));
        let shown = desk.receive(&history(1..=2));
        assert_eq!(ids(desk.log()), [1, 2, 3, 1, 2]);
        assert_eq!(shown, Some(Received::Shown(tail(0, 2))));
    }

    #[test]
    fn a_refused_post_comes_back_and_a_delivered_one_does_not() {
        let mut desk = ChatDesk::default();
        desk.receive(&hello("a"));
        for text in ["one", "two", "three"] {
            desk.post(" Ada ", text, Link::Open).unwrap();
        }
        // "one" and "two" arrive; "three", the last, is refused.
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
        // A post that came back is not put back by a later refusal (of an earlier post).
        desk.post("Ada", "four", Link::Open).unwrap();
        let mut four = message(8, "four");
        four.name = "Bob".into();
        desk.receive(&ServerMessage::Chat(four.clone()));
        assert!(desk.last.is_some(), "Bob's message is not this page's");
        four.name = "Ada".into();
        desk.receive(&ServerMessage::Chat(four));
        let late = desk.receive(&refusal(ErrorCode::RateLimited, "later"));
        assert!(matches!(late, Some(Received::Refused { text: None, .. })));
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
        assert_eq!(desk.receive(&hello("a")), Some(Received::Session));
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
        let last = desk.last.as_ref().map(|post| post.text.as_str());
        assert_eq!(
            last,
            Some("<b>hi</b> & more"),
            "only a post that was sent waits"
        );
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
