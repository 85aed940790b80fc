//! A proxy for the browser test that behaves like a corporate proxy blocking WebSockets: it
//! forwards plain HTTP to the server untouched but answers every WebSocket handshake with
//! 403 while blocking is on. The SSE fallback test points the browser at it.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use anyhow::Result;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

/// Largest request head the proxy reads before deciding; browsers send far less.
const MAX_HEAD: usize = 16 * 1024;

/// A running proxy on 127.0.0.1.
pub struct WebSocketBlocker {
    /// Its port.
    pub port: u16,
    blocking: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl WebSocketBlocker {
    /// Starts a proxy to `upstream_port` that blocks WebSockets until [`Self::unblock`].
    pub async fn start(upstream_port: u16) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let blocking = Arc::new(AtomicBool::new(true));
        let flag = blocking.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let blocking = flag.load(Ordering::Relaxed);
                tokio::spawn(async move {
                    let _ = forward(client, upstream_port, blocking).await;
                });
            }
        });
        Ok(WebSocketBlocker {
            port,
            blocking,
            task,
        })
    }

    /// Lets WebSocket handshakes through from now on.
    pub fn unblock(&self) {
        self.blocking.store(false, Ordering::Relaxed);
    }
}

impl Drop for WebSocketBlocker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads the request head; refuses a WebSocket handshake if `blocking`, else pipes both ways.
/// (A browser opens every WebSocket on a connection of its own, so the first head decides.)
async fn forward(mut client: TcpStream, upstream_port: u16, blocking: bool) -> Result<()> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD {
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&chunk[..n]);
    }
    let upgrade = String::from_utf8_lossy(&head)
        .to_ascii_lowercase()
        .contains("upgrade: websocket");
    if blocking && upgrade {
        client
            .write_all(
                b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 24\r\n\
                  Connection: close\r\n\r\nWebSockets are blocked.\n",
            )
            .await?;
        return Ok(());
    }
    let mut upstream = TcpStream::connect(("127.0.0.1", upstream_port)).await?;
    upstream.set_nodelay(true)?;
    client.set_nodelay(true)?;
    upstream.write_all(&head).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}
