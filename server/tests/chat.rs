//! The desk chat end to end: messages reach every connection (WebSocket and SSE), newcomers get
//! the recent ones right after `hello`, bad or too frequent posts get clear errors, and text is
//! passed on exactly as sent.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod common;

use common::{Bystander, Client, TestServer, expect_refusal, sse::SseClient, test_config};
use ticker_shared::{
    ChatMessage, ChatPost, ClientMessage, ErrorCode, ServerMessage,
    chat::{CHAT_HISTORY_LEN, CHAT_RATE_MESSAGES, MAX_CHAT_NAME_CHARS, MAX_CHAT_TEXT_CHARS},
    decode_server,
};

fn post(name: &str, text: &str) -> ClientMessage {
    ClientMessage::Chat(ChatPost {
        name: name.into(),
        text: text.into(),
    })
}

/// Reads until the next chat message.
async fn next_chat(client: &mut Client) -> ChatMessage {
    client
        .wait_for(|m| match m {
            ServerMessage::Chat(chat) => Some(chat.clone()),
            _ => None,
        })
        .await
}

/// The chat messages `client` has been sent so far.
async fn chats_so_far(client: &mut Client) -> Vec<ChatMessage> {
    let messages = client.round_trip().await;
    messages
        .into_iter()
        .filter_map(|m| match m {
            ServerMessage::Chat(chat) => Some(chat),
            _ => None,
        })
        .collect()
}

#[actix_web::test]
async fn a_message_reaches_every_connection_the_sender_included_exactly_as_sent() {
    let server = TestServer::start(test_config()).await;
    let (mut ada, _) = server.connect().await;
    let (mut bob, _) = server.connect().await;
    let text = r#"<script>alert("x")</script> & <b>bold?</b> 😀"#;
    ada.send(&post("  Ada  ", text)).await;
    let to_ada = next_chat(&mut ada).await;
    let to_bob = next_chat(&mut bob).await;
    assert_eq!(to_ada, to_bob);
    assert_eq!(to_bob.name, "Ada", "the name is trimmed");
    assert_eq!(to_bob.text, text, "the text is passed on verbatim");
    assert_eq!(to_bob.id, 1);
    assert!(to_bob.ts > 0);
    bob.send(&post("Bob", "hi Ada")).await;
    assert_eq!(next_chat(&mut ada).await.id, 2);
    assert_eq!(server.metric("ticker_chat_messages_total").await, 2);
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn a_newcomer_gets_the_last_fifty_messages_right_after_hello() {
    let server = TestServer::start(test_config()).await;
    let (_, _, history) = server.connect_with_chat().await;
    assert!(history.is_empty(), "nothing said yet");
    let total = CHAT_HISTORY_LEN + 5;
    let mut posters = Vec::new();
    for n in 0..total {
        if n % CHAT_RATE_MESSAGES == 0 {
            posters.push(server.connect().await.0);
        }
        let poster = posters.last_mut().unwrap();
        poster.send(&post("Ada", &format!("message {n}"))).await;
        assert_eq!(next_chat(poster).await.text, format!("message {n}"));
    }
    let (_, _, history) = server.connect_with_chat().await;
    let texts: Vec<String> = history.iter().map(|m| m.text.clone()).collect();
    let expected: Vec<String> = (total - CHAT_HISTORY_LEN..total)
        .map(|n| format!("message {n}"))
        .collect();
    assert_eq!(texts, expected, "the last fifty, oldest first");
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn sse_streams_get_the_chat_history_and_every_message() {
    let server = TestServer::start(test_config()).await;
    let (mut ada, _) = server.connect().await;
    ada.send(&post("Ada", "before the stream")).await;
    next_chat(&mut ada).await;
    let mut stream = SseClient::connect(server.addr, "/sse?symbols=AAPL", "").await;
    let kinds_and_chats = async {
        let mut seen = Vec::new();
        loop {
            let event = stream.next_event().await.expect("the stream goes on");
            if !event.event.is_empty() {
                continue;
            }
            let message = decode_server(&event.data).unwrap();
            match &message {
                ServerMessage::Hello(_) => seen.push("hello".to_owned()),
                ServerMessage::ChatHistory { messages } => {
                    seen.push(format!("history of {}", messages.len()));
                    ada.send(&post("Ada", "while streaming")).await;
                }
                ServerMessage::Chat(chat) => {
                    seen.push(chat.text.clone());
                    return seen;
                }
                _ => {}
            }
        }
    };
    assert_eq!(
        kinds_and_chats.await,
        ["hello", "history of 1", "while streaming"]
    );
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn bad_posts_get_errors_that_name_the_problem_and_reach_nobody() {
    let server = TestServer::start(test_config()).await;
    let (mut ada, _) = server.connect().await;
    let (mut bob, _) = server.connect().await;
    let long_name = "n".repeat(MAX_CHAT_NAME_CHARS + 1);
    let long_text = "é".repeat(MAX_CHAT_TEXT_CHARS + 1);
    let cases = [
        (post(&long_name, "hi"), ErrorCode::ChatTooLong, "25"),
        (post("Ada", &long_text), ErrorCode::ChatTooLong, "281"),
        (post("Ada", "   "), ErrorCode::InvalidChat, "text"),
        (post("", "hi"), ErrorCode::InvalidChat, "name"),
        (
            post("Ada", "line one\nline two"),
            ErrorCode::InvalidChat,
            "U+000A",
        ),
        (
            post("A\u{1b}[31mda", "hi"),
            ErrorCode::InvalidChat,
            "U+001B",
        ),
        (
            post("\u{202E}nimda", "hi"),
            ErrorCode::InvalidChat,
            "U+202E",
        ),
    ];
    for (message, code, mentions) in cases {
        ada.send(&message).await;
        let error = expect_refusal(&mut ada, code).await;
        assert_eq!(error.in_reply_to.as_deref(), Some("chat"));
        assert!(error.message.contains(mentions), "{}", error.message);
    }
    ada.send_text(r#"{"type":"chat","name":"Ada"}"#).await;
    let error = expect_refusal(&mut ada, ErrorCode::InvalidMessage).await;
    assert_eq!(error.in_reply_to.as_deref(), Some("chat"));
    assert_eq!(chats_so_far(&mut bob).await, vec![], "nothing was posted");
    let exactly_at_the_limits = post(
        &"n".repeat(MAX_CHAT_NAME_CHARS),
        &"é".repeat(MAX_CHAT_TEXT_CHARS),
    );
    ada.send(&exactly_at_the_limits).await;
    assert_eq!(
        next_chat(&mut bob).await.text.chars().count(),
        MAX_CHAT_TEXT_CHARS
    );
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn the_sixth_message_within_ten_seconds_is_refused_with_when_to_retry() {
    let server = TestServer::start(test_config()).await;
    let (mut ada, _) = server.connect().await;
    let (mut bob, _) = server.connect().await;
    for n in 0..=CHAT_RATE_MESSAGES {
        ada.send(&post("Ada", &format!("quick {n}"))).await;
    }
    let error = expect_refusal(&mut ada, ErrorCode::RateLimited).await;
    assert_eq!(error.in_reply_to.as_deref(), Some("chat"));
    assert!(
        error.message.contains("at most 5 per 10 s") && error.message.contains("try again in"),
        "{}",
        error.message
    );
    let seen: Vec<String> = chats_so_far(&mut bob)
        .await
        .into_iter()
        .map(|m| m.text)
        .collect();
    let expected: Vec<String> = (0..CHAT_RATE_MESSAGES)
        .map(|n| format!("quick {n}"))
        .collect();
    assert_eq!(seen, expected, "the first five went out, the sixth did not");
    bob.send(&post("Bob", "the limit is per connection")).await;
    assert_eq!(
        next_chat(&mut ada).await.text,
        "the limit is per connection"
    );
    server.stop().await.unwrap();
}

#[actix_web::test]
async fn a_client_flooding_bad_chat_does_not_disturb_another() {
    let server = TestServer::start(test_config()).await;
    let mut bystander = Bystander::join(&server).await;
    let (mut flooder, _) = server.connect().await;
    // Past the burst (40 by default) messages are dropped, and past twice that it is closed.
    for _ in 0..100 {
        flooder.send(&post("", "")).await;
    }
    let (code, _) = flooder.expect_close().await;
    assert_eq!(code, ticker_shared::close::POLICY_VIOLATION);
    let (mut speaker, _) = server.connect().await;
    speaker.send(&post("Carol", "still here?")).await;
    let mut heard = Vec::new();
    let target = bystander.last + 20;
    bystander
        .served_until(|last, message| {
            if let ServerMessage::Chat(chat) = message {
                heard.push(chat.text.clone());
            }
            last >= target && !heard.is_empty()
        })
        .await;
    assert_eq!(heard, ["still here?"], "the flood posted nothing");
    server.stop().await.unwrap();
}
