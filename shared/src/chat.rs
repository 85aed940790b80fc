//! Desk chat: the message a client posts, the message everyone receives, the limits both ends
//! know, and [`ChatPost::check`], the validation the browser runs before sending and the server
//! runs again on receipt.
//!
//! Chat text is plain text: one line without control characters, line or paragraph separators
//! (U+2028, U+2029) or bidirectional controls. It
//! is trimmed of surrounding whitespace and otherwise stored and sent exactly as posted: nothing
//! on the server or in the protocol escapes or interprets HTML, so a client must render it as
//! text.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{ErrorCode, ErrorMessage};

/// Longest display name, in characters (Unicode scalar values) after trimming.
pub const MAX_CHAT_NAME_CHARS: usize = 24;
/// Longest message text, in characters (Unicode scalar values) after trimming.
pub const MAX_CHAT_TEXT_CHARS: usize = 280;
/// Messages of the desk's recent past sent to every connection right after `hello`.
pub const CHAT_HISTORY_LEN: usize = 50;
/// Most chat messages one connection may post within [`CHAT_RATE_WINDOW`].
pub const CHAT_RATE_MESSAGES: usize = 5;
/// The window of the chat rate limits: at most [`CHAT_RATE_MESSAGES`] per connection and
/// [`CHAT_ROOM_RATE_MESSAGES`] over the whole desk within any such span.
pub const CHAT_RATE_WINDOW: Duration = Duration::from_secs(10);
/// Most chat messages the whole desk, every connection together, may post within
/// [`CHAT_RATE_WINDOW`]. Every message goes into every connection's queue, so without it `n`
/// connections each at their own limit would fill every queue `n` times faster; with it chat
/// adds at most this many messages per window to any queue, however many connect. A dozen
/// people each posting at their own limit are never refused.
pub const CHAT_ROOM_RATE_MESSAGES: usize = 12 * CHAT_RATE_MESSAGES;

/// Contents of the client's `chat` message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatPost {
    /// The sender's display name, chosen freely per message.
    pub name: String,
    /// The message.
    pub text: String,
}

/// Contents of the server's `chat` message: one message, as every connection receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// The server's number for the message, rising by one per message from 1 within one
    /// server instance.
    pub id: u64,
    /// The sender's display name, trimmed.
    pub name: String,
    /// The text, trimmed, otherwise exactly as sent.
    pub text: String,
    /// When the server received it, Unix milliseconds.
    pub ts: i64,
}

/// Why a post is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatError {
    /// The name is empty or only whitespace.
    #[error("a chat message needs a name")]
    EmptyName,
    /// The name is longer than [`MAX_CHAT_NAME_CHARS`].
    #[error("the name is {0} characters long; at most {MAX_CHAT_NAME_CHARS} are allowed")]
    NameTooLong(usize),
    /// The text is empty or only whitespace.
    #[error("a chat message needs some text")]
    EmptyText,
    /// The text is longer than [`MAX_CHAT_TEXT_CHARS`].
    #[error("the message is {0} characters long; at most {MAX_CHAT_TEXT_CHARS} are allowed")]
    TextTooLong(usize),
    /// The name or the text holds a control character (a line break, a tab, an escape, …) or
    /// a Unicode line or paragraph separator (see [`breaks_the_line`]).
    #[error(
        "the {field} contains U+{code:04X}, a control character or line break; send one line of \
         plain text"
    )]
    ControlCharacter {
        /// `"name"` or `"text"`.
        field: &'static str,
        /// The character's code point.
        code: u32,
    },
    /// The name or the text holds a Unicode bidirectional control (see [`is_bidi_control`]),
    /// which reorders how the text around it is shown: a name could pass for someone else's.
    #[error(
        "the {field} contains the bidirectional control U+{code:04X}, which changes how the \
         text around it is shown; send plain text without direction controls"
    )]
    BidiControl {
        /// `"name"` or `"text"`.
        field: &'static str,
        /// The character's code point.
        code: u32,
    },
}

/// Whether `c` is a Unicode bidirectional control: the embeddings and overrides (U+202A to
/// U+202E), the isolates (U+2066 to U+2069) and the marks (U+200E, U+200F, U+061C). They are
/// format characters, not control characters, so `char::is_control` lets them through; in a
/// chat line they can make text display in another order than it reads (a name spoofing
/// another's, text that reverses what follows it), so a post may not hold them.
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
    )
}

/// Whether `c` is a control character (`char::is_control`: line feeds, tabs, escapes, …) or
/// the Unicode line or paragraph separator (U+2028, U+2029), which are not control characters
/// but break a line all the same: a post is one line.
pub fn breaks_the_line(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

impl ChatError {
    /// The code of the `error` message: `chat_too_long` for a name or text over its limit,
    /// `invalid_chat` for the rest.
    pub fn code(&self) -> ErrorCode {
        match self {
            ChatError::NameTooLong(_) | ChatError::TextTooLong(_) => ErrorCode::ChatTooLong,
            _ => ErrorCode::InvalidChat,
        }
    }

    /// The `error` message refusing the post.
    pub fn to_error(&self) -> ErrorMessage {
        ErrorMessage::new(self.code(), self.to_string()).replying_to("chat")
    }
}

impl ChatPost {
    /// Checks the post; returns the name and text as they will be posted (trimmed).
    pub fn check(&self) -> Result<(&str, &str), ChatError> {
        let name = self.name.trim();
        let text = self.text.trim();
        check_field("name", name, MAX_CHAT_NAME_CHARS)?;
        check_field("text", text, MAX_CHAT_TEXT_CHARS)?;
        Ok((name, text))
    }
}

/// Checks one trimmed field against its limit.
fn check_field(field: &'static str, value: &str, max: usize) -> Result<(), ChatError> {
    let is_name = field == "name";
    if value.is_empty() {
        return Err(if is_name {
            ChatError::EmptyName
        } else {
            ChatError::EmptyText
        });
    }
    let chars = value.chars().count();
    if chars > max {
        return Err(if is_name {
            ChatError::NameTooLong(chars)
        } else {
            ChatError::TextTooLong(chars)
        });
    }
    match value
        .chars()
        .find(|&c| breaks_the_line(c) || is_bidi_control(c))
    {
        Some(c) if breaks_the_line(c) => Err(ChatError::ControlCharacter {
            field,
            code: u32::from(c),
        }),
        Some(c) => Err(ChatError::BidiControl {
            field,
            code: u32::from(c),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(name: &str, text: &str) -> ChatPost {
        ChatPost {
            name: name.into(),
            text: text.into(),
        }
    }

    #[test]
    fn a_post_is_trimmed_and_otherwise_kept_as_it_is() {
        let script = post("  Ada ", "\t<script>alert(1)</script> &amp; ");
        assert_eq!(
            script.check(),
            Ok(("Ada", "<script>alert(1)</script> &amp;"))
        );
        let limits = post(&"é".repeat(24), &"😀".repeat(280));
        assert!(limits.check().is_ok(), "limits count characters, not bytes");
    }

    #[test]
    fn every_bidirectional_control_is_refused_and_nothing_near_them_is() {
        let controls: Vec<u32> = ('\0'..=char::MAX)
            .filter(|&c| is_bidi_control(c))
            .map(u32::from)
            .collect();
        let expected: Vec<u32> = [0x061C, 0x200E, 0x200F]
            .into_iter()
            .chain(0x202A..=0x202E)
            .chain(0x2066..=0x2069)
            .collect();
        assert_eq!(controls, expected);
        for code in controls {
            let c = char::from_u32(code).unwrap();
            let spoof = post("Ada", &format!("a{c}b"));
            assert_eq!(
                spoof.check(),
                Err(ChatError::BidiControl {
                    field: "text",
                    code
                })
            );
        }
        let neighbours = post("Ada", "\u{200D}\u{2065}\u{206A}\u{2060} שלום مرحبا");
        assert!(
            neighbours.check().is_ok(),
            "joiners and right-to-left text pass"
        );
    }

    #[test]
    fn each_bad_post_gets_its_code_and_names_the_problem() {
        let cases = [
            (post("", "hi"), ErrorCode::InvalidChat, "name"),
            (post("   ", "hi"), ErrorCode::InvalidChat, "name"),
            (post("Ada", " \n "), ErrorCode::InvalidChat, "text"),
            (post(&"n".repeat(25), "hi"), ErrorCode::ChatTooLong, "25"),
            (post("Ada", &"x".repeat(281)), ErrorCode::ChatTooLong, "281"),
            (post("Ada", "one\ntwo"), ErrorCode::InvalidChat, "U+000A"),
            (post("A\u{1b}da", "hi"), ErrorCode::InvalidChat, "name"),
            (post("Ada", "bell\u{7}"), ErrorCode::InvalidChat, "U+0007"),
            (post("Ada", "c1\u{85}x"), ErrorCode::InvalidChat, "U+0085"),
            (
                post("Ada", "one\u{2028}two"),
                ErrorCode::InvalidChat,
                "U+2028",
            ),
            (
                post("A\u{2029}da", "hi"),
                ErrorCode::InvalidChat,
                "line break",
            ),
            (post("\u{202E}adA", "hi"), ErrorCode::InvalidChat, "U+202E"),
            (post("Ada\u{2066}", "hi"), ErrorCode::InvalidChat, "name"),
            (post("Ada", "x\u{200F}y"), ErrorCode::InvalidChat, "U+200F"),
            (
                post("Ada", "x\u{61C}y"),
                ErrorCode::InvalidChat,
                "bidirectional",
            ),
        ];
        for (post, code, mentions) in cases {
            let err = post.check().unwrap_err();
            let error = err.to_error();
            assert_eq!(error.code, code, "{post:?}: {err}");
            assert!(error.message.contains(mentions), "{post:?}: {err}");
            assert_eq!(error.in_reply_to.as_deref(), Some("chat"));
        }
    }
}
