//! A Server-Sent Events client for the tests: a plain HTTP/1.1 request, a chunked response body
//! decoded by hand, and the `text/event-stream` format parsed into events.

use std::net::SocketAddr;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use super::DEADLINE;

/// One event of the stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    /// The `event:` field; empty for the default `message` event.
    pub event: String,
    /// The `id:` field, if the event had one.
    pub id: Option<String>,
    /// The `data:` lines joined by `\n`.
    pub data: String,
}

/// What opening a stream gave.
pub enum Opened {
    /// A 200 response: the stream.
    Stream(SseClient),
    /// Any other response: status and body.
    Refused(u16, String),
}

/// An open event stream.
pub struct SseClient {
    stream: TcpStream,
    /// Raw bytes not yet de-chunked.
    raw: Vec<u8>,
    /// De-chunked body not yet parsed into events.
    body: String,
    /// The terminating zero-length chunk was read.
    finished: bool,
}

impl SseClient {
    /// `GET path` with `extra_headers` (each ending in `\r\n`).
    pub async fn open(addr: SocketAddr, path: &str, extra_headers: &str) -> Opened {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n{extra_headers}\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .expect("write request");
        let mut client = SseClient {
            stream,
            raw: Vec::new(),
            body: String::new(),
            finished: false,
        };
        let head = tokio::time::timeout(DEADLINE, async {
            loop {
                if let Some(end) = client.raw.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&client.raw[..end]).into_owned();
                    client.raw.drain(..end + 4);
                    return head;
                }
                assert!(client.fill().await, "the server closed before responding");
            }
        })
        .await
        .expect("response head in time");
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status line");
        if status != 200 {
            let length: usize = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0);
            while client.raw.len() < length && client.fill().await {}
            let body = String::from_utf8_lossy(&client.raw).into_owned();
            return Opened::Refused(status, body);
        }
        let lower = head.to_ascii_lowercase();
        assert!(lower.contains("content-type: text/event-stream"), "{head}");
        assert!(lower.contains("transfer-encoding: chunked"), "{head}");
        Opened::Stream(client)
    }

    /// Like [`SseClient::open`], for a request that must succeed.
    pub async fn connect(addr: SocketAddr, path: &str, extra_headers: &str) -> SseClient {
        match Self::open(addr, path, extra_headers).await {
            Opened::Stream(client) => client,
            Opened::Refused(status, body) => panic!("refused with {status}: {body}"),
        }
    }

    /// Reads more bytes; false when the connection ended.
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk).await {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.raw.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// Moves complete chunks from `raw` to `body`.
    fn dechunk(&mut self) {
        loop {
            let Some(line_end) = self.raw.windows(2).position(|w| w == b"\r\n") else {
                return;
            };
            let size_text = String::from_utf8_lossy(&self.raw[..line_end]).into_owned();
            let size = usize::from_str_radix(size_text.trim(), 16).expect("chunk size");
            if self.raw.len() < line_end + 2 + size + 2 {
                return;
            }
            let data = self.raw[line_end + 2..line_end + 2 + size].to_vec();
            self.raw.drain(..line_end + 2 + size + 2);
            if size == 0 {
                self.finished = true;
                return;
            }
            self.body
                .push_str(std::str::from_utf8(&data).expect("UTF-8 event stream"));
        }
    }

    /// The next event, or `None` when the stream ended. Comments and `retry:` are skipped.
    pub async fn next_event(&mut self) -> Option<Event> {
        tokio::time::timeout(DEADLINE, async {
            loop {
                self.dechunk();
                if let Some(end) = self.body.find("\n\n") {
                    let block: String = self.body.drain(..end + 2).collect();
                    if let Some(event) = parse_event(&block) {
                        return Some(event);
                    }
                    continue;
                }
                if self.finished || !self.fill().await {
                    return None;
                }
            }
        })
        .await
        .expect("an event or the end of the stream within the deadline")
    }
}

/// Parses one event block; `None` for a block with no data (comments, `retry:`).
fn parse_event(block: &str) -> Option<Event> {
    let mut event = Event::default();
    let mut data = Vec::new();
    for line in block.lines() {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => event.event = value.to_owned(),
            "id" => event.id = Some(value.to_owned()),
            "data" => data.push(value),
            _ => {}
        }
    }
    if data.is_empty() {
        return None;
    }
    event.data = data.join("\n");
    Some(event)
}
