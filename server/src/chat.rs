//! The desk chat room: the recent messages, message numbering, and the chat rate limits, each
//! connection's and the whole desk's. Pure state with an injected clock; the hub owns it,
//! broadcasts what it accepts to every connection and sends the recent messages to each new one.
//!
//! A post is checked by [`ChatPost::check`] (the same check the browser runs), then against the
//! sender's rate limit and the desk's ([`ChatRate`] both; the desk's bounds what chat puts in
//! every connection's queue however many post); an accepted post is numbered, kept among the last
//! [`CHAT_HISTORY_LEN`], and serialized once for everyone. Text is kept verbatim (trimmed): the
//! server neither escapes nor interprets it.

use std::{
    collections::{HashMap, VecDeque},
    time::Duration,
};

use bytestring::ByteString;
use ticker_shared::{
    ChatMessage, ChatPost, ErrorCode, ErrorMessage, ServerMessage,
    chat::{CHAT_HISTORY_LEN, CHAT_RATE_MESSAGES, CHAT_RATE_WINDOW, CHAT_ROOM_RATE_MESSAGES},
};
use tokio::time::Instant;

use crate::hub::ClientId;

/// The chat room of one server instance.
#[derive(Debug)]
pub struct ChatRoom {
    /// The last [`CHAT_HISTORY_LEN`] messages, oldest first.
    recent: VecDeque<ChatMessage>,
    /// The id of the last message posted (0 before the first).
    last_id: u64,
    /// The `chat_history` message, serialized once per change: a reconnect storm would
    /// otherwise serialize it once per connection.
    history: Option<ByteString>,
    /// Per connection that has posted, its recent posts: for its rate limit.
    senders: HashMap<ClientId, ChatRate>,
    /// Everyone's recent posts: for the desk's rate limit.
    desk: ChatRate,
}

impl Default for ChatRoom {
    fn default() -> Self {
        ChatRoom {
            recent: VecDeque::new(),
            last_id: 0,
            history: None,
            senders: HashMap::new(),
            desk: ChatRate::new(CHAT_ROOM_RATE_MESSAGES),
        }
    }
}

impl ChatRoom {
    /// An empty room.
    pub fn new() -> Self {
        ChatRoom::default()
    }

    /// Posts `post` from `client` at `now` (`ts` on the wall clock). Returns the `chat` message
    /// to send to every connection, or the `error` to send to `client` alone.
    pub fn post(
        &mut self,
        client: ClientId,
        post: &ChatPost,
        now: Instant,
        ts: i64,
    ) -> Result<ByteString, ErrorMessage> {
        let (name, text) = post.check().map_err(|refused| refused.to_error())?;
        let own = self
            .senders
            .entry(client)
            .or_insert_with(|| ChatRate::new(CHAT_RATE_MESSAGES));
        // A post refused by either limit counts against neither.
        if let Some(wait) = own.wait(now) {
            return Err(rate_limited(wait));
        }
        if let Some(wait) = self.desk.wait(now) {
            return Err(desk_busy(wait));
        }
        own.record(now);
        self.desk.record(now);
        self.last_id += 1;
        let message = ChatMessage {
            id: self.last_id,
            name: name.to_owned(),
            text: text.to_owned(),
            ts,
        };
        let encoded = ServerMessage::Chat(message.clone()).to_json();
        if self.recent.len() == CHAT_HISTORY_LEN {
            self.recent.pop_front();
        }
        self.recent.push_back(message);
        self.history = None;
        Ok(encoded.into())
    }

    /// The `chat_history` message: the recent messages, oldest first.
    pub fn history(&mut self) -> ByteString {
        let recent = &self.recent;
        self.history
            .get_or_insert_with(|| {
                let messages = recent.iter().cloned().collect();
                ServerMessage::ChatHistory { messages }.to_json().into()
            })
            .clone()
    }

    /// Forgets the rate-limit state of `client`, which has gone.
    pub fn forget(&mut self, client: ClientId) {
        self.senders.remove(&client);
    }

    /// Connections with rate-limit state (those that posted and have not gone).
    #[cfg(test)]
    pub fn senders(&self) -> usize {
        self.senders.len()
    }
}

/// The `error` for a post over the sender's rate limit, saying when the next one will pass.
fn rate_limited(retry_in: Duration) -> ErrorMessage {
    let message = format!(
        "too many chat messages: at most {CHAT_RATE_MESSAGES} per {} s; this one was not \
         posted, try again in {}",
        CHAT_RATE_WINDOW.as_secs(),
        seconds(retry_in)
    );
    ErrorMessage::new(ErrorCode::RateLimited, message).replying_to("chat")
}

/// The `error` for a post over the desk's rate limit, saying so and when to retry.
fn desk_busy(retry_in: Duration) -> ErrorMessage {
    let message = format!(
        "the desk is busy: at most {CHAT_ROOM_RATE_MESSAGES} chat messages per {} s from \
         everyone together; this one was not posted, try again in {}",
        CHAT_RATE_WINDOW.as_secs(),
        seconds(retry_in)
    );
    ErrorMessage::new(ErrorCode::RateLimited, message).replying_to("chat")
}

/// A wait as seconds with one decimal, rounded up, so that retrying after the time said always
/// passes.
fn seconds(wait: Duration) -> String {
    let tenths = wait.as_millis().div_ceil(100);
    format!("{}.{} s", tenths / 10, tenths % 10)
}

/// A chat rate limit: at most `limit` accepted posts within any [`CHAT_RATE_WINDOW`]. A sliding
/// log of the accepted posts' times, so the limit is exact and the wait it reports is exact too;
/// refused posts do not count.
#[derive(Debug)]
pub struct ChatRate {
    /// Most posts accepted within a window.
    limit: usize,
    /// When the posts still inside the window were accepted, oldest first.
    accepted: VecDeque<Instant>,
}

impl ChatRate {
    /// A limit of `limit` posts per [`CHAT_RATE_WINDOW`], nothing posted yet.
    pub fn new(limit: usize) -> Self {
        ChatRate {
            limit,
            accepted: VecDeque::new(),
        }
    }

    /// Accounts for a post at `now`: `Ok` if it may pass (and counts it), else how long until
    /// one may.
    #[cfg(test)]
    pub fn check(&mut self, now: Instant) -> Result<(), Duration> {
        match self.wait(now) {
            Some(wait) => Err(wait),
            None => {
                self.record(now);
                Ok(())
            }
        }
    }

    /// How long until a post may pass, as of `now`; `None` if one may now. Counts nothing.
    pub fn wait(&mut self, now: Instant) -> Option<Duration> {
        while let Some(&oldest) = self.accepted.front()
            && oldest + CHAT_RATE_WINDOW <= now
        {
            self.accepted.pop_front();
        }
        if self.accepted.len() < self.limit {
            return None;
        }
        let oldest = self.accepted.front().copied().unwrap_or(now);
        Some((oldest + CHAT_RATE_WINDOW).saturating_duration_since(now))
    }

    /// Counts a post accepted at `now` (after [`ChatRate::wait`] said it may pass).
    pub fn record(&mut self, now: Instant) {
        self.accepted.push_back(now);
    }
}

#[cfg(test)]
mod tests {
    use ticker_shared::{chat::MAX_CHAT_TEXT_CHARS, decode_server};

    use super::*;

    fn post(text: &str) -> ChatPost {
        ChatPost {
            name: "Ada".into(),
            text: text.into(),
        }
    }

    fn decoded(text: &str) -> ServerMessage {
        decode_server(text).expect("the room writes valid messages")
    }

    #[test]
    fn five_posts_pass_in_a_window_then_the_sixth_waits_for_the_oldest_to_leave_it() {
        let start = Instant::now();
        let mut rate = ChatRate::new(CHAT_RATE_MESSAGES);
        for second in 0..5 {
            assert_eq!(rate.check(start + Duration::from_secs(second)), Ok(()));
        }
        let at = start + Duration::from_millis(6_500);
        assert_eq!(rate.check(at), Err(Duration::from_millis(3_500)));
        assert_eq!(
            rate.check(start + Duration::from_millis(9_999)),
            Err(Duration::from_millis(1)),
            "refused posts do not count"
        );
        assert_eq!(rate.check(start + CHAT_RATE_WINDOW), Ok(()));
        assert_eq!(
            rate.check(start + CHAT_RATE_WINDOW),
            Err(Duration::from_secs(1)),
            "the second-oldest is now the oldest"
        );
    }

    #[test]
    fn a_steady_poster_at_the_rate_is_never_refused() {
        let start = Instant::now();
        let mut rate = ChatRate::new(CHAT_RATE_MESSAGES);
        let spacing = CHAT_RATE_WINDOW / CHAT_RATE_MESSAGES as u32;
        for n in 0..100 {
            assert_eq!(rate.check(start + spacing * n), Ok(()), "post {n}");
        }
    }

    #[test]
    fn the_desk_takes_at_most_its_limit_from_everyone_together_and_says_it_is_busy() {
        let mut room = ChatRoom::new();
        let start = Instant::now();
        let millis = |ms: u64| start + Duration::from_millis(ms);
        // Many connections, each posting once (well inside its own limit), within a second.
        for n in 0..CHAT_ROOM_RATE_MESSAGES as u64 {
            room.post(n, &post("busy desk"), millis(n * 10), 0).unwrap();
        }
        let busy = room.post(1_000, &post("one too many"), millis(2_000), 0);
        let busy = busy.unwrap_err();
        assert_eq!(busy.code, ErrorCode::RateLimited);
        assert_eq!(busy.in_reply_to.as_deref(), Some("chat"));
        assert!(
            busy.message.contains("the desk is busy")
                && busy.message.contains("at most 60 chat messages per 10 s")
                && busy.message.contains("try again in 8.0 s"),
            "{}",
            busy.message
        );
        let ServerMessage::ChatHistory { messages } = decoded(&room.history()) else {
            panic!("chat history")
        };
        assert_eq!(messages.last().map(|m| m.id), Some(60), "not posted");
        // The first post leaves the window at 10 s: one more passes, then the second's turn.
        let again = room.post(1_000, &post("now"), millis(10_000), 0);
        assert!(again.is_ok(), "{again:?}");
        let next = room.post(1_001, &post("and me?"), millis(10_000), 0);
        assert!(next.unwrap_err().message.contains("try again in 0.1 s"));
        assert!(room.post(1_001, &post("now me"), millis(10_010), 0).is_ok());
    }

    #[test]
    fn a_post_refused_by_one_limit_counts_against_neither() {
        let mut room = ChatRoom::new();
        let now = Instant::now();
        for n in 0..CHAT_RATE_MESSAGES as u64 {
            room.post(1, &post(&format!("own {n}")), now, 0).unwrap();
        }
        // Refused by its own limit: the desk does not count it.
        for _ in 0..CHAT_ROOM_RATE_MESSAGES {
            let refused = room.post(1, &post("again"), now, 0).unwrap_err();
            assert!(
                refused.message.contains("at most 5 per 10 s"),
                "{}",
                refused.message
            );
        }
        let others = CHAT_ROOM_RATE_MESSAGES - CHAT_RATE_MESSAGES;
        for n in 0..others as u64 {
            room.post(100 + n, &post("others"), now, 0).unwrap();
        }
        // Refused by the desk: its own log does not count it, so later it may post its five.
        let busy = room.post(2, &post("busy?"), now, 0).unwrap_err();
        assert!(
            busy.message.contains("the desk is busy"),
            "{}",
            busy.message
        );
        let later = now + CHAT_RATE_WINDOW;
        for n in 0..CHAT_RATE_MESSAGES {
            let passed = room.post(2, &post(&format!("later {n}")), later, 0);
            assert!(passed.is_ok(), "{passed:?}");
        }
    }

    #[test]
    fn posts_are_numbered_broadcast_verbatim_and_kept_for_newcomers() {
        let mut room = ChatRoom::new();
        let now = Instant::now();
        let empty = room.history();
        assert_eq!(
            decoded(&empty),
            ServerMessage::ChatHistory { messages: vec![] }
        );
        let sent = room
            .post(1, &post("  <script>alert('x')</script>  "), now, 17)
            .unwrap();
        let ServerMessage::Chat(message) = decoded(&sent) else {
            panic!("a chat message: {sent}")
        };
        assert_eq!(
            (message.id, message.text.as_str(), message.ts),
            (1, "<script>alert('x')</script>", 17)
        );
        room.post(2, &post("second"), now, 18).unwrap();
        let ServerMessage::ChatHistory { messages } = decoded(&room.history()) else {
            panic!("chat history")
        };
        let ids: Vec<u64> = messages.iter().map(|m| m.id).collect();
        assert_eq!(ids, vec![1, 2]);
        assert_eq!(messages[0], message);
    }

    #[test]
    fn the_history_keeps_the_last_fifty() {
        let mut room = ChatRoom::new();
        let start = Instant::now();
        // One post per connection, spaced more widely than the desk's rate: the rate limits
        // stay out of the way.
        let spacing = CHAT_RATE_WINDOW / (CHAT_ROOM_RATE_MESSAGES as u32 - 1);
        for n in 0..120u32 {
            let at = start + spacing * n;
            room.post(n.into(), &post(&format!("m{n}")), at, 0).unwrap();
        }
        let ServerMessage::ChatHistory { messages } = decoded(&room.history()) else {
            panic!("chat history")
        };
        assert_eq!(messages.len(), CHAT_HISTORY_LEN);
        assert_eq!(messages.first().map(|m| m.id), Some(71));
        assert_eq!(messages.last().map(|m| m.text.as_str()), Some("m119"));
    }

    #[test]
    fn refusals_name_the_problem_and_change_nothing() {
        let mut room = ChatRoom::new();
        let now = Instant::now();
        let too_long = room.post(1, &post(&"x".repeat(MAX_CHAT_TEXT_CHARS + 1)), now, 0);
        assert_eq!(too_long.unwrap_err().code, ErrorCode::ChatTooLong);
        let empty = room.post(1, &post("   "), now, 0);
        assert_eq!(empty.unwrap_err().code, ErrorCode::InvalidChat);
        for _ in 0..CHAT_RATE_MESSAGES {
            room.post(1, &post("hi"), now, 0).unwrap();
        }
        let limited = room
            .post(1, &post("hi"), now + Duration::from_millis(2_001), 0)
            .unwrap_err();
        assert_eq!(limited.code, ErrorCode::RateLimited);
        assert_eq!(limited.in_reply_to.as_deref(), Some("chat"));
        assert!(
            limited.message.contains("at most 5 per 10 s") && limited.message.contains("8.0 s"),
            "{}",
            limited.message
        );
        room.post(2, &post("another connection"), now, 0).unwrap();
        let ServerMessage::ChatHistory { messages } = decoded(&room.history()) else {
            panic!("chat history")
        };
        assert_eq!(messages.len(), CHAT_RATE_MESSAGES + 1);
        assert_eq!(room.senders(), 2);
        room.forget(1);
        assert_eq!(room.senders(), 1);
    }
}
