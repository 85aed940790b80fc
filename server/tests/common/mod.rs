//! Test support: a real server on 127.0.0.1:0, a WebSocket client that speaks the protocol, and a
//! raw client that can send what well-behaved libraries refuse to (bad UTF-8, reserved bits) or
//! stay silent and stop reading.

#![allow(
    dead_code,
    reason = "each test file uses a different part of the support code"
)]

pub mod chaos;
pub mod sse;

use std::{net::SocketAddr, time::Duration};

use futures_util::{SinkExt, StreamExt};
use ticker_server::config::Config;
use ticker_shared::{
    ChatMessage, ClientMessage, ErrorCode, ErrorMessage, ServerMessage, Symbol, SymbolList, Tick,
    decode_server,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::oneshot,
};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, tungstenite::Message};

/// Upper bound on any single wait in the tests; generous, because CI machines are slow.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A configuration for tests: port 0, no backfill, three symbols ticking fast.
pub fn test_config() -> Config {
    let mut config = Config::for_tests();
    config.symbols = vec!["AAPL".into(), "MSFT".into(), "NVDA".into()];
    config.tick_rate = 50.0;
    config.seed = Some(1);
    config.workers = Some(1);
    config.static_dir = "/nonexistent".into();
    config
}

/// A running server.
pub struct TestServer {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl TestServer {
    /// Starts the server with `config` on a free loopback port.
    pub async fn start(config: Config) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local address");
        let (shutdown, signal) = oneshot::channel::<()>();
        let task = actix_web::rt::spawn(ticker_server::run(config, listener, async {
            let _ = signal.await;
        }));
        TestServer {
            addr,
            shutdown: Some(shutdown),
            task,
        }
    }

    /// The server's URL for `path`.
    pub fn url(&self, scheme: &str, path: &str) -> String {
        format!("{scheme}://{}{path}", self.addr)
    }

    /// Connects a protocol client and reads its `hello` and the `chat_history` that follows.
    pub async fn connect(&self) -> (Client, ticker_shared::Hello) {
        let (client, hello, _) = self.connect_with_chat().await;
        (client, hello)
    }

    /// Connects a protocol client, reads its `hello`, checks that the chat history comes next
    /// and returns it too.
    pub async fn connect_with_chat(&self) -> (Client, ticker_shared::Hello, Vec<ChatMessage>) {
        let (ws, _) = tokio_tungstenite::connect_async(self.url("ws", "/ws"))
            .await
            .expect("websocket connects");
        let mut client = Client { ws };
        let ServerMessage::Hello(hello) = client.next_message().await else {
            panic!("hello first")
        };
        let ServerMessage::ChatHistory { messages } = client.next_message().await else {
            panic!("the chat history right after hello")
        };
        (client, hello, messages)
    }

    /// A plain HTTP GET, returning status and body.
    pub async fn get(&self, path: &str) -> (u16, String) {
        self.request("GET", path, "").await
    }

    /// A plain HTTP POST without a body, with `headers` (each ending in `\r\n`), returning
    /// status and body.
    pub async fn post(&self, path: &str, headers: &str) -> (u16, String) {
        self.request("POST", path, &format!("Content-Length: 0\r\n{headers}"))
            .await
    }

    async fn request(&self, method: &str, path: &str, headers: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(self.addr).await.expect("connect");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n{headers}\r\n",
            self.addr
        );
        stream
            .write_all(request.as_bytes())
            .await
            .expect("write request");
        let mut response = String::new();
        tokio::time::timeout(DEADLINE, stream.read_to_string(&mut response))
            .await
            .expect("response in time")
            .expect("read");
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status line");
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    /// The value of a counter from `/metrics`.
    pub async fn metric(&self, name: &str) -> u64 {
        let (_, body) = self.get("/metrics").await;
        body.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("metric {name} missing"))
    }

    /// Waits until the counter `name` reaches `at_least`.
    pub async fn wait_for_metric(&self, name: &str, at_least: u64) {
        let poll = async {
            while self.metric(name).await < at_least {
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(DEADLINE, poll)
            .await
            .unwrap_or_else(|_| panic!("{name} never reached {at_least}"));
    }

    /// Triggers shutdown and waits for `run` to return.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        tokio::time::timeout(DEADLINE, &mut self.task)
            .await
            .expect("server stops in time")
            .expect("server task")
    }
}

/// A WebSocket client speaking Ticker's protocol.
pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What a client read.
#[derive(Debug)]
pub enum Received {
    Message(ServerMessage),
    Close(Option<(u16, String)>),
    Ended,
}

impl Client {
    pub async fn send(&mut self, message: &ClientMessage) {
        self.send_text(&message.to_json()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.expect("send");
    }

    pub async fn subscribe(&mut self, symbols: &[&str]) {
        let symbols = symbols
            .iter()
            .map(|s| Symbol::new(s).expect("valid symbol"))
            .collect();
        self.send(&ClientMessage::Subscribe {
            symbols: SymbolList::Only(symbols),
        })
        .await;
    }

    /// The next protocol message or close, skipping WebSocket pings and pongs.
    pub async fn receive(&mut self) -> Received {
        let next = async {
            loop {
                match self.ws.next().await {
                    Some(Ok(Message::Text(text))) => {
                        let message = decode_server(&text)
                            .unwrap_or_else(|err| panic!("undecodable {text}: {err}"));
                        return Received::Message(message);
                    }
                    Some(Ok(Message::Close(frame))) => {
                        return Received::Close(
                            frame.map(|f| (u16::from(f.code), f.reason.to_string())),
                        );
                    }
                    Some(Ok(Message::Binary(_))) => panic!("the server sent a binary frame"),
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => return Received::Ended,
                }
            }
        };
        tokio::time::timeout(DEADLINE, next)
            .await
            .expect("a message within the deadline")
    }

    /// The next protocol message; panics on close.
    pub async fn next_message(&mut self) -> ServerMessage {
        match self.receive().await {
            Received::Message(message) => message,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// Reads messages until `pick` returns something.
    pub async fn wait_for<T>(&mut self, mut pick: impl FnMut(&ServerMessage) -> Option<T>) -> T {
        loop {
            let message = self.next_message().await;
            if let Some(found) = pick(&message) {
                return found;
            }
        }
    }

    /// Reads until the server closes; returns the close code and reason.
    pub async fn expect_close(&mut self) -> (u16, String) {
        loop {
            match self.receive().await {
                Received::Message(_) => continue,
                Received::Close(Some(close)) => return close,
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    }

    /// Sends an application ping and waits for its pong: every message sent before it was
    /// processed, and everything the server queued before the pong has been read.
    pub async fn round_trip(&mut self) -> Vec<ServerMessage> {
        let ts = 4242.5;
        self.send(&ClientMessage::Ping { ts }).await;
        let mut before = Vec::new();
        loop {
            match self.next_message().await {
                ServerMessage::Pong(pong) if pong.ts == ts => return before,
                other => before.push(other),
            }
        }
    }
}

/// The ticks in a message, if it is a `ticks` message.
pub fn ticks_of(message: &ServerMessage) -> &[Tick] {
    match message {
        ServerMessage::Ticks { ticks, .. } => ticks,
        _ => &[],
    }
}

/// A client subscribed to AAPL that checks its ticks stay consecutive while others misbehave.
pub struct Bystander {
    pub client: Client,
    pub last: u64,
}

impl Bystander {
    pub async fn join(server: &TestServer) -> Self {
        let (mut client, _) = server.connect().await;
        client.subscribe(&["AAPL"]).await;
        let ServerMessage::Snapshot(snapshot) = client.next_message().await else {
            panic!("snapshot")
        };
        Bystander {
            client,
            last: snapshot.quote.map_or(0, |q| q.seq),
        }
    }

    /// Reads until `count` more consecutive ticks arrived.
    pub async fn still_served(&mut self, count: u64) {
        let target = self.last + count;
        self.served_until(|last, _| last >= target).await;
    }

    /// Reads messages, checking that the ticks stay consecutive, until `done` (given the last
    /// seq and each message) says so.
    pub async fn served_until(&mut self, mut done: impl FnMut(u64, &ServerMessage) -> bool) {
        loop {
            let message = self.client.next_message().await;
            for tick in ticks_of(&message) {
                assert_eq!(tick.seq, self.last + 1, "the bystander lost a tick");
                self.last = tick.seq;
            }
            if done(self.last, &message) {
                return;
            }
        }
    }
}

/// Waits for an `error` message and checks its code; returns its text.
pub async fn expect_error(client: &mut Client, code: ErrorCode) -> String {
    expect_refusal(client, code).await.message
}

/// Waits for an `error` message and checks its code; returns all of it.
pub async fn expect_refusal(client: &mut Client, code: ErrorCode) -> ErrorMessage {
    let error = client
        .wait_for(|m| match m {
            ServerMessage::Error(error) => Some(error.clone()),
            _ => None,
        })
        .await;
    assert_eq!(error.code, code, "{}", error.message);
    error
}

/// A raw RFC 6455 client that writes frames byte by byte.
pub struct RawClient {
    pub stream: TcpStream,
    buffer: Vec<u8>,
}

/// A frame read by [`RawClient`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    pub opcode: u8,
    pub payload: Vec<u8>,
}

impl RawFrame {
    /// The close code of a close frame.
    pub fn close_code(&self) -> Option<u16> {
        (self.opcode == 0x8 && self.payload.len() >= 2)
            .then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }
}

impl RawClient {
    /// Connects and completes the handshake; returns the client and the response head.
    pub async fn connect(addr: SocketAddr, key: &str) -> (Self, String) {
        let stream = TcpStream::connect(addr).await.expect("connect");
        Self::handshake(stream, addr, key).await
    }

    /// Completes the handshake on an already connected stream.
    pub async fn handshake(stream: TcpStream, addr: SocketAddr, key: &str) -> (Self, String) {
        Self::handshake_with(stream, addr, "/ws", key, "").await
    }

    /// Completes a handshake to `path` with `extra_headers` (each ending in `\r\n`).
    pub async fn handshake_with(
        stream: TcpStream,
        addr: SocketAddr,
        path: &str,
        key: &str,
        extra_headers: &str,
    ) -> (Self, String) {
        Self::handshake_pipelined(stream, addr, path, key, extra_headers, &[]).await
    }

    /// Connects to `/ws` and writes `frames` (see [`masked_frame`]) in the same write as the
    /// handshake, so they are there before the server has sent anything.
    pub async fn connect_pipelined(addr: SocketAddr, key: &str, frames: &[u8]) -> (Self, String) {
        let stream = TcpStream::connect(addr).await.expect("connect");
        Self::handshake_pipelined(stream, addr, "/ws", key, "", frames).await
    }

    async fn handshake_pipelined(
        mut stream: TcpStream,
        addr: SocketAddr,
        path: &str,
        key: &str,
        extra_headers: &str,
        frames: &[u8],
    ) -> (Self, String) {
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extra_headers}\r\n"
        );
        let bytes = [request.as_bytes(), frames].concat();
        stream.write_all(&bytes).await.expect("write handshake");
        let mut client = RawClient {
            stream,
            buffer: Vec::new(),
        };
        let head = tokio::time::timeout(DEADLINE, async {
            loop {
                if let Some(end) = client.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&client.buffer[..end]).into_owned();
                    client.buffer.drain(..end + 4);
                    return head;
                }
                client.fill().await.expect("handshake response");
            }
        })
        .await
        .expect("handshake in time");
        (client, head)
    }

    async fn fill(&mut self) -> Option<()> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        self.buffer.extend_from_slice(&chunk[..n]);
        Some(())
    }

    /// Writes one masked frame. `first_byte` holds FIN, RSV and the opcode.
    pub async fn send_frame(&mut self, first_byte: u8, payload: &[u8]) {
        // The server may already have closed; the test then sees it when reading.
        let _ = self
            .stream
            .write_all(&masked_frame(first_byte, payload))
            .await;
    }

    /// Reads the rest of an HTTP response after its head, until the server closes.
    pub async fn read_body(&mut self) -> String {
        tokio::time::timeout(DEADLINE, async { while self.fill().await.is_some() {} })
            .await
            .expect("the server ends the response");
        String::from_utf8_lossy(&self.buffer).into_owned()
    }

    /// Writes raw bytes, e.g. a frame header without its payload.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        // The server may already have closed; the test then sees it when reading.
        let _ = self.stream.write_all(bytes).await;
    }

    /// Reads the next frame, or `None` when the connection ends.
    pub async fn read_frame(&mut self) -> Option<RawFrame> {
        loop {
            if let Some((frame, used)) = parse_server_frame(&self.buffer) {
                self.buffer.drain(..used);
                return Some(frame);
            }
            self.fill().await?;
        }
    }

    /// Reads frames until a close frame (returned) or the end of the connection (`None`).
    pub async fn read_until_close(&mut self) -> Option<RawFrame> {
        tokio::time::timeout(DEADLINE, async {
            while let Some(frame) = self.read_frame().await {
                if frame.opcode == 0x8 {
                    return Some(frame);
                }
            }
            None
        })
        .await
        .expect("the server closes within the deadline")
    }
}

/// One masked client frame. `first_byte` holds FIN, RSV and the opcode.
pub fn masked_frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x37u8, 0xfa, 0x21, 0x3d];
    let mut frame = vec![first_byte];
    match payload.len() {
        len @ 0..=125 => frame.push(0x80 | len as u8),
        len @ 126..=65_535 => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// Parses one unmasked server frame from the front of `buffer`.
fn parse_server_frame(buffer: &[u8]) -> Option<(RawFrame, usize)> {
    if buffer.len() < 2 {
        return None;
    }
    let opcode = buffer[0] & 0x0f;
    let (len, header) = match buffer[1] & 0x7f {
        126 => (
            u16::from_be_bytes(buffer.get(2..4)?.try_into().ok()?) as usize,
            4,
        ),
        127 => (
            u64::from_be_bytes(buffer.get(2..10)?.try_into().ok()?) as usize,
            10,
        ),
        len => (len as usize, 2),
    };
    let payload = buffer.get(header..header + len)?.to_vec();
    Some((RawFrame { opcode, payload }, header + len))
}
