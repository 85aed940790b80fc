//! Opening many connections: the WebSocket handshake up to the server's `hello` within a
//! timeout, clients started at a steady rate, and the open-file limit they need.

use std::{future::Future, time::Duration};

use anyhow::{Context, Result, bail};
use futures_util::StreamExt;
use ticker_shared::{Hello, ServerMessage, decode_server};
use tokio::{net::TcpStream, task::JoinHandle};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest},
};

use crate::clients::describe_end;

/// A client's WebSocket.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Connects to `url`, offering `subprotocol` if given (`Sec-WebSocket-Protocol`), and reads the
/// server's `hello`, all within `timeout`. A server that does not accept the subprotocol fails
/// the connection.
pub async fn open(url: &str, subprotocol: Option<&str>, timeout: Duration) -> Result<(Ws, Hello)> {
    let opening = async {
        let mut request = url.into_client_request()?;
        if let Some(subprotocol) = subprotocol {
            request
                .headers_mut()
                .insert("Sec-WebSocket-Protocol", subprotocol.parse()?);
        }
        let (mut ws, _) = tokio_tungstenite::connect_async(request).await?;
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => match decode_server(&text) {
                    Ok(ServerMessage::Hello(hello)) => return Ok((ws, hello)),
                    _ => bail!("the first message was not a hello: {:.80}", text.as_str()),
                },
                Some(Ok(_)) => {}
                Some(Err(err)) => bail!(describe_end(Some(err))),
                None => bail!(describe_end(None)),
            }
        }
    };
    tokio::time::timeout(timeout, opening)
        .await
        .with_context(|| format!("no hello within {}", humantime::format_duration(timeout)))?
}

/// Starts `count` tasks, `per_second` of them a second (evenly spaced; a late start is made
/// up at once so the overall rate holds), `start(i)` giving the i-th; returns their handles.
pub async fn staggered<T, F, Fut>(count: usize, per_second: f64, mut start: F) -> Vec<JoinHandle<T>>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let mut pace = tokio::time::interval(Duration::from_secs_f64(1.0 / per_second.max(1e-3)));
    let mut tasks = Vec::with_capacity(count);
    for i in 0..count {
        pace.tick().await;
        tasks.push(tokio::spawn(start(i)));
    }
    tasks
}

/// Raises this process's soft limit on open files to at least `wanted` (up to the hard
/// limit; children such as the server inherit it) and returns the soft limit now in force.
/// Fails when the hard limit is below `wanted`.
pub fn raise_open_file_limit(wanted: u64) -> Result<u64> {
    let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).context("getrlimit")?;
    if soft >= wanted {
        return Ok(soft);
    }
    if hard < wanted {
        bail!(
            "{wanted} open files needed but the hard limit is {hard} (raise it as root, or ask \
             for fewer clients)"
        );
    }
    rlimit::setrlimit(rlimit::Resource::NOFILE, hard, hard).context("setrlimit")?;
    Ok(hard)
}
