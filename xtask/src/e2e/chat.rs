//! The desk chat in the browser, with other viewers that are real WebSocket clients of the
//! server run from this process (tokio-tungstenite, speaking the `shared` protocol types).
//!
//! - A message posted before the page loads is in its chat on join (`chat_history`), with the
//!   poster's name and the local time.
//! - A viewer's `<script>…</script><b>bold</b> & more` is shown as exactly those characters:
//!   no element made from it and no script run.
//! - The person types a message and presses Enter: the other viewer receives it with the
//!   page's display name (a guest's, kept in localStorage), and the page shows it once.
//! - The list follows new messages at the bottom, and stays where the user scrolled to.
//! - After a reload (a new connection: the history again, nothing twice), six messages in a
//!   burst: five reach everyone, the sixth is refused with the server's rate-limit error and
//!   its text put back in the field.
//! - An over-long text is refused before sending, with a clear message and the counter over.
//! - On the SSE fallback ([`receive_only`], called from the fallback step) the form is
//!   disabled and says why, messages still arrive; back on the WebSocket it is enabled again
//!   ([`can_send_again`]).

use anyhow::{Context, Result, bail, ensure};
use fantoccini::{Client, Locator, key::Key};
use futures_util::{SinkExt, StreamExt, stream::SplitSink};
use serde_json::{Value, json};
use ticker_shared::{
    ChatMessage, ChatPost, ClientMessage, ServerMessage, SymbolList,
    chat::{CHAT_RATE_MESSAGES, MAX_CHAT_TEXT_CHARS},
    decode_server,
};
use tokio::{net::TcpStream, sync::mpsc, task::JoinHandle, time::timeout};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, tungstenite::Message};

use super::{DEADLINE, keys::press, wait_for_script};

/// The chat panel as the test sees it. `arguments[0]`: a server timestamp whose local `HH:MM`
/// the page should show (or null).
const CHAT: &str = r#"
const log = document.getElementById('chat-log');
const part = (row, name) => row.querySelector('.chat-' + name)?.textContent ?? null;
const rows = [...(log?.children ?? [])].map(row => ({
    name: part(row, 'name'), time: part(row, 'time'), text: part(row, 'text'),
}));
const field = id => document.getElementById(id);
const pad = n => String(n).padStart(2, '0');
const at = arguments[0] === null ? null : new Date(arguments[0]);
return {
    state: document.querySelector('[data-testid=connection]')?.dataset.state,
    transport: document.querySelector('[data-testid=transport]')?.dataset.transport,
    rows,
    tags: [...new Set([...(log?.querySelectorAll('*') ?? [])].map(e => e.tagName))],
    injected: document.querySelectorAll('.chat-panel script, .chat-panel b').length,
    pwned: typeof window.__pwned,
    role: log?.getAttribute('role'),
    live: log?.getAttribute('aria-live'),
    name: field('chat-name')?.value,
    stored: localStorage.getItem('ticker.chat.name'),
    text: field('chat-text')?.value,
    left: field('chat-left')?.textContent,
    over: field('chat-left')?.classList.contains('over'),
    notice: field('chat-notice')?.textContent,
    disabled: field('chat-text')?.disabled && field('chat-send')?.disabled,
    overflows: log ? log.scrollHeight > log.clientHeight + 20 : false,
    atBottom: log ? log.scrollTop + log.clientHeight >= log.scrollHeight - 2 : false,
    scrollTop: log?.scrollTop ?? 0,
    localTime: at ? pad(at.getHours()) + ':' + pad(at.getMinutes()) : null,
    pageBelowWindow: document.documentElement.scrollHeight - window.innerHeight,
};
"#;

/// The name the Rust viewers post under.
const VIEWER: &str = "Rust viewer";
/// The text that would do harm if it were parsed as HTML.
const HOSTILE: &str = "<script>window.__pwned = 1</script><b>bold</b> & more";

async fn wait(client: &Client, what: &str, check: impl Fn(&Value) -> bool) -> Result<Value> {
    wait_for_script(client, what, CHAT, vec![Value::Null], check).await
}

/// The texts of the page's chat, oldest first.
fn texts(state: &Value) -> Vec<String> {
    super::rows(state)
        .filter_map(|row| row["text"].as_str().map(str::to_owned))
        .collect()
}

/// How often the page's chat shows `text`.
fn shown(state: &Value, text: &str) -> usize {
    texts(state).iter().filter(|t| *t == text).count()
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Another viewer of the desk: a WebSocket client of the server, subscribed to one symbol (a
/// connection subscribed to nothing is closed as idle), reading every chat message it is sent.
struct Viewer {
    sink: SplitSink<Socket, Message>,
    chats: mpsc::UnboundedReceiver<ChatMessage>,
    reader: JoinHandle<()>,
}

impl Viewer {
    async fn connect(port: u16) -> Result<Self> {
        let url = format!("ws://127.0.0.1:{port}/ws");
        let (socket, _) = timeout(DEADLINE, tokio_tungstenite::connect_async(url))
            .await
            .context("the viewer's WebSocket did not open in time")??;
        let (mut sink, mut stream) = socket.split();
        let hello = loop {
            let frame = timeout(DEADLINE, stream.next())
                .await
                .context("no hello in time")?
                .context("the server closed before hello")??;
            if let Message::Text(text) = frame
                && let Ok(ServerMessage::Hello(hello)) = decode_server(&text)
            {
                break hello;
            }
        };
        let first = hello
            .symbols
            .first()
            .context("the server offers no symbol")?;
        let subscribe = ClientMessage::Subscribe {
            symbols: SymbolList::Only(vec![first.symbol.clone()]),
        };
        sink.send(Message::text(subscribe.to_json())).await?;
        let (found, chats) = mpsc::unbounded_channel();
        // Reading all the time also answers the server's pings.
        let reader = tokio::spawn(async move {
            while let Some(Ok(frame)) = stream.next().await {
                if let Message::Text(text) = frame
                    && let Ok(ServerMessage::Chat(chat)) = decode_server(&text)
                    && found.send(chat).is_err()
                {
                    return;
                }
            }
        });
        Ok(Viewer {
            sink,
            chats,
            reader,
        })
    }

    async fn post(&mut self, text: &str) -> Result<()> {
        let post = ClientMessage::Chat(ChatPost {
            name: VIEWER.into(),
            text: text.into(),
        });
        self.sink.send(Message::text(post.to_json())).await?;
        Ok(())
    }

    /// The next chat message this viewer is sent.
    async fn next(&mut self) -> Result<ChatMessage> {
        timeout(DEADLINE, self.chats.recv())
            .await
            .context("no chat message reached the viewer in time")?
            .context("the viewer's connection ended")
    }

    /// Skips to the chat message with `text`.
    async fn until(&mut self, text: &str) -> Result<ChatMessage> {
        loop {
            let chat = self.next().await?;
            if chat.text == text {
                return Ok(chat);
            }
        }
    }

    /// Posts `text` and waits until it comes back: posted, and on its way to everyone.
    async fn say(&mut self, text: &str) -> Result<ChatMessage> {
        self.post(text).await?;
        self.until(text).await
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Types `text` into the page's message field and presses Enter.
async fn type_and_enter(client: &Client, text: &str) -> Result<()> {
    let field = client.find(Locator::Id("chat-text")).await?;
    field.clear().await?;
    field.send_keys(text).await?;
    press(client, Key::Enter).await
}

/// Runs the chat checks on a live page served on `port`; leaves it live.
pub async fn check(client: &Client, port: u16) -> Result<Value> {
    let nonce = std::process::id();
    let mut viewer = Viewer::connect(port).await?;

    // Said before the page (re)loads: there on join.
    let before = format!("said before you came in ({nonce})");
    let said = viewer.say(&before).await?;
    client.refresh().await?;
    let joined = wait_for_script(
        client,
        "the page shows the chat history on join",
        CHAT,
        vec![json!(said.ts)],
        |s| s["state"] == "live" && shown(s, &before) == 1,
    )
    .await?;
    let row = super::rows(&joined)
        .find(|row| row["text"] == before.as_str())
        .context("the message is shown")?;
    ensure!(
        row["name"] == VIEWER && row["time"] == joined["localTime"],
        "the message shows its sender and local time: {row} (expected {})",
        joined["localTime"]
    );
    ensure!(
        joined["role"] == "log" && joined["live"] == "polite",
        "the list is a polite log: {joined}"
    );
    println!("e2e | chat: the history is there on join, with name and local time");

    // Text, not markup.
    viewer.say(HOSTILE).await?;
    let hostile = wait(client, "the page shows the hostile text", |s| {
        texts(s).last().map(String::as_str) == Some(HOSTILE)
    })
    .await?;
    ensure!(
        hostile["injected"] == 0 && hostile["pwned"] == "undefined",
        "the text made elements or ran: {hostile}"
    );
    ensure!(
        hostile["tags"]
            .as_array()
            .is_some_and(|tags| tags.iter().all(|t| t == "P" || t == "SPAN")),
        "only the list's own elements are in it: {}",
        hostile["tags"]
    );
    println!("e2e | chat: <script> and <b> are shown as text; nothing injected, nothing run");

    // The person writes; the other viewer receives it under the page's name.
    let name = hostile["name"].as_str().unwrap_or_default().to_owned();
    ensure!(
        name.strip_prefix("Guest-")
            .is_some_and(|digits| digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit()))
            && hostile["stored"] == name.as_str(),
        "a first visit gets a guest name, kept: {hostile}"
    );
    let mine = format!("hello from the page ({nonce})");
    type_and_enter(client, &mine).await?;
    let received = viewer.until(&mine).await?;
    ensure!(
        received.name == name,
        "the viewer got {received:?} under another name than {name}"
    );
    // Anything the page shows of its own message comes before the marker that follows it.
    let marker = format!("after yours ({nonce})");
    viewer.say(&marker).await?;
    let once = wait(
        client,
        "the page shows its own message and the marker",
        |s| shown(s, &marker) == 1,
    )
    .await?;
    ensure!(
        shown(&once, &mine) == 1,
        "the page shows its own message {} times",
        shown(&once, &mine)
    );
    let full = format!("{MAX_CHAT_TEXT_CHARS} left");
    ensure!(
        once["text"] == "" && once["left"] == full.as_str() && once["notice"] == "",
        "the field is cleared after sending: {once}"
    );
    println!("e2e | chat: Enter sends; the other viewer receives it as {name}; shown once");

    scrolling(client, port, nonce).await?;

    // A new connection (a reload): the history again, each message once; then a burst.
    client.refresh().await?;
    let reloaded = wait(client, "the page is back with the history", |s| {
        s["state"] == "live" && shown(s, &marker) == 1
    })
    .await?;
    let all = texts(&reloaded);
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    ensure!(
        unique.len() == all.len(),
        "a message is shown twice: {all:?}"
    );
    let burst: Vec<String> = (1..=CHAT_RATE_MESSAGES + 1)
        .map(|n| format!("burst {n} ({nonce})"))
        .collect();
    for text in &burst {
        type_and_enter(client, text).await?;
    }
    let limited = wait(client, "the rate-limit error is shown", |s| {
        s["notice"]
            .as_str()
            .is_some_and(|n| n.contains("too many chat messages"))
    })
    .await?;
    let (last, posted) = burst.split_last().context("a burst")?;
    let notice = limited["notice"].as_str().unwrap_or_default().to_owned();
    ensure!(
        notice.contains("try again in") && limited["text"] == last.as_str(),
        "the error says when to retry and the refused text is back: {limited}"
    );
    // The refusal follows every message the burst posted: all there, and not the last.
    ensure!(
        posted.iter().all(|text| shown(&limited, text) == 1) && shown(&limited, last) == 0,
        "the page shows the first {} of the burst once each and not the last: {:?}",
        posted.len(),
        texts(&limited)
    );
    let (first, rest) = posted.split_first().context("a burst")?;
    viewer.until(first).await?;
    for text in rest {
        let chat = viewer.next().await?;
        ensure!(
            chat.text == *text,
            "the viewer got {chat:?} instead of {text}"
        );
    }
    let mut other = Viewer::connect(port).await?;
    let after_burst = format!("after the burst ({nonce})");
    nothing_before(&mut viewer, &mut other, &after_burst, "the refused message").await?;
    println!(
        "e2e | chat: {} quick messages: the last refused: {notice}",
        burst.len()
    );

    // Too long: refused before it is sent.
    let long = "x".repeat(MAX_CHAT_TEXT_CHARS + 1);
    let field = client.find(Locator::Id("chat-text")).await?;
    field.clear().await?;
    field.send_keys(&long).await?;
    wait(client, "the counter is over the limit", |s| {
        s["left"] == "1 too many" && s["over"] == true
    })
    .await?;
    press(client, Key::Enter).await?;
    let refused = wait(client, "the over-long text is refused", |s| {
        s["notice"]
            .as_str()
            .is_some_and(|n| n.contains(&long.chars().count().to_string()))
    })
    .await?;
    let local = refused["notice"].as_str().unwrap_or_default().to_owned();
    ensure!(
        local.starts_with("Not sent:")
            && local.contains(&format!("at most {MAX_CHAT_TEXT_CHARS}"))
            && refused["text"] == long.as_str(),
        "a clear message, and the text kept to shorten: {refused}"
    );
    let after_long = format!("after the long one ({nonce})");
    nothing_before(&mut viewer, &mut other, &after_long, "the over-long text").await?;
    field.clear().await?;
    println!("e2e | chat: an over-long text is not sent: {local}");
    Ok(json!({
        // How far the page reaches below the 1400 × 900 window (the chart keeps its height).
        "page_below_window_px": joined["pageBelowWindow"],
        "guest_name": name,
        "rate_limit_error": notice,
        "too_long_error": local,
    }))
}

/// With more messages than the list shows: it follows new ones at the bottom; scrolled up,
/// it stays put; back at the bottom, it follows again.
async fn scrolling(client: &Client, port: u16, nonce: u32) -> Result<()> {
    // A viewer of its own: each connection may post only so many messages.
    let mut filler = Viewer::connect(port).await?;
    let long = |n: u32| format!("{n}: {} ({nonce})", "a long line of chat ".repeat(12));
    for n in 1..=3 {
        filler.say(&long(n)).await?;
    }
    let last = long(3);
    wait(client, "the list overflows, at the bottom", |s| {
        shown(s, &last) == 1 && s["overflows"] == true && s["atBottom"] == true
    })
    .await?;
    let up = scroll_and_say(client, &mut filler, "0", &long(4)).await?;
    ensure!(
        up["scrollTop"] == 0,
        "the list moved while the user was reading older messages: {up}"
    );
    let down = scroll_and_say(client, &mut filler, "log.scrollHeight", &long(5)).await?;
    ensure!(
        down["atBottom"] == true,
        "back at the bottom, the list does not follow: {down}"
    );
    println!("e2e | chat: the list follows new messages, except while scrolled up");
    Ok(())
}

/// Has `other` say `marker`, and checks that it is the next message `viewer` gets: `what`
/// (posted before it, if at all) did not reach it.
async fn nothing_before(
    viewer: &mut Viewer,
    other: &mut Viewer,
    marker: &str,
    what: &str,
) -> Result<()> {
    other.say(marker).await?;
    let next = viewer.next().await?;
    ensure!(next.text == marker, "{what} reached the viewer: {next:?}");
    Ok(())
}

/// Scrolls the page's list to `top` (a JS expression of `log`), as a person would, then has
/// `viewer` say `text`; the page's chat once it shows it.
async fn scroll_and_say(
    client: &Client,
    viewer: &mut Viewer,
    top: &str,
    text: &str,
) -> Result<Value> {
    let scroll = format!("const log = document.getElementById('chat-log'); log.scrollTop = {top}");
    client.execute(&scroll, Vec::new()).await?;
    viewer.say(text).await?;
    wait(client, "the page shows the new message", |s| {
        shown(s, text) == 1
    })
    .await
}

/// On the SSE fallback: the form is disabled and says why; a message still arrives.
pub async fn receive_only(client: &Client, port: u16) -> Result<()> {
    let state = wait(client, "the chat form is disabled on SSE", |s| {
        s["transport"] == "sse" && s["disabled"] == true
    })
    .await?;
    let notice = state["notice"].as_str().unwrap_or_default().to_owned();
    if !notice.contains("Sending is unavailable") {
        bail!("the form does not say why it is disabled: {state}");
    }
    let mut viewer = Viewer::connect(port).await?;
    let text = format!("to the SSE page ({})", std::process::id());
    viewer.say(&text).await?;
    wait(client, "a message arrives over SSE", |s| {
        s["transport"] == "sse" && shown(s, &text) == 1
    })
    .await?;
    println!("e2e | chat: on SSE the form is disabled and says why; messages still arrive");
    Ok(())
}

/// Back on the WebSocket: the form is enabled again, the note gone.
pub async fn can_send_again(client: &Client) -> Result<()> {
    wait(client, "the chat form is enabled again", |s| {
        s["transport"] == "websocket" && s["disabled"] == false && s["notice"] == ""
    })
    .await?;
    println!("e2e | chat: back on the WebSocket the form is enabled again");
    Ok(())
}
