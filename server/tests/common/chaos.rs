//! Failure injection: a TCP proxy the test can cut, and a client that reconnects and resumes
//! like the browser app does, recording every tick so gaps and duplicates are counted.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use futures_util::{SinkExt, StreamExt};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use ticker_shared::{ClientMessage, ServerMessage, Symbol, SymbolList, backoff::Backoff};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
    task::JoinHandle,
    time::Instant,
};
use tokio_tungstenite::tungstenite::Message;

/// A TCP proxy between clients and the server whose connections the test can cut at will.
pub struct Proxy {
    pub addr: SocketAddr,
    links: Arc<Mutex<Vec<Link>>>,
    accepted: Arc<Mutex<Vec<Instant>>>,
    live: watch::Receiver<usize>,
    accept_task: JoinHandle<()>,
}

/// One proxied connection: both sockets, cut by aborting its copy task.
struct Link {
    task: JoinHandle<()>,
}

impl Proxy {
    /// A proxy on 127.0.0.1:0 forwarding to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let links: Arc<Mutex<Vec<Link>>> = Arc::default();
        let accepted: Arc<Mutex<Vec<Instant>>> = Arc::default();
        let (live_sender, live) = watch::channel(0usize);
        let live_sender = Arc::new(live_sender);
        let accept_task = {
            let links = links.clone();
            let accepted = accepted.clone();
            actix_web::rt::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    accepted.lock().unwrap().push(Instant::now());
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        continue;
                    };
                    let live = live_sender.clone();
                    live.send_modify(|n| *n += 1);
                    let task = actix_web::rt::spawn(async move {
                        let _count = LiveGuard(live);
                        pipe(client, server).await;
                    });
                    links.lock().unwrap().push(Link { task });
                }
            })
        };
        Proxy {
            addr,
            links,
            accepted,
            live,
            accept_task,
        }
    }

    /// Waits until at least `n` connections pass through the proxy.
    pub async fn wait_for_live(&mut self, n: usize) {
        tokio::time::timeout(super::DEADLINE, self.live.wait_for(|live| *live >= n))
            .await
            .expect("clients connect through the proxy in time")
            .expect("proxy running");
    }

    /// Connections passing through now.
    pub fn live(&self) -> usize {
        *self.live.borrow()
    }

    /// Cuts every connection at once, as a router dropping its state would: both sockets are
    /// reset without a close frame or FIN. Returns how many were cut.
    pub fn cut_all(&self) -> usize {
        let links: Vec<Link> = std::mem::take(&mut *self.links.lock().unwrap());
        let mut cut = 0;
        for link in links {
            if !link.task.is_finished() {
                cut += 1;
            }
            link.task.abort();
        }
        cut
    }

    /// When each connection was accepted, in order.
    pub fn accept_times(&self) -> Vec<Instant> {
        self.accepted.lock().unwrap().clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept_task.abort();
        self.cut_all();
    }
}

/// Counts a proxied connection as live until its task ends (or is aborted).
struct LiveGuard(Arc<watch::Sender<usize>>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

/// Copies both ways until either side ends. On abort, both sockets are dropped with linger 0:
/// the peers see a reset.
async fn pipe(mut client: TcpStream, mut server: TcpStream) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let _ = client.set_zero_linger();
    let _ = server.set_zero_linger();
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}

/// Every tick a client received, checked for continuity per symbol.
#[derive(Debug, Default, Clone)]
pub struct Tape {
    /// Last sequence number per symbol.
    pub last: HashMap<Symbol, u64>,
    /// Ticks applied in order.
    pub ticks: u64,
    /// Ticks that skipped ahead (a lost tick).
    pub gaps: u64,
    /// Ticks already seen.
    pub duplicates: u64,
    /// Snapshots marked as a reset (the server could not replay).
    pub resets: u64,
    /// Connections that reached `hello`.
    pub sessions: u64,
    /// Sessions that found a different server instance than the one before.
    pub restarts_seen: u64,
    /// Close codes the server sent.
    pub close_codes: Vec<u16>,
    /// The server instance of the latest `hello`.
    pub instance: Option<String>,
}

impl Tape {
    fn record(&mut self, message: &ServerMessage) {
        match message {
            ServerMessage::Snapshot(snapshot) => {
                if snapshot.reset {
                    self.resets += 1;
                }
                let seq = snapshot.quote.as_ref().map_or(0, |tick| tick.seq);
                self.last.insert(snapshot.symbol.clone(), seq);
            }
            ServerMessage::Ticks { ticks, .. } => {
                for tick in ticks {
                    let Some(last) = self.last.get_mut(&tick.symbol) else {
                        self.gaps += 1;
                        continue;
                    };
                    if tick.seq == *last + 1 {
                        self.ticks += 1;
                        *last = tick.seq;
                    } else if tick.seq <= *last {
                        self.duplicates += 1;
                    } else {
                        self.gaps += 1;
                        *last = tick.seq;
                    }
                }
            }
            _ => {}
        }
    }

    /// What to send after `hello`: resume where the tape ends, or subscribe afresh.
    fn opening(&self, symbols: &[&str]) -> ClientMessage {
        match &self.instance {
            Some(instance_id) if !self.last.is_empty() => ClientMessage::Resume {
                instance_id: instance_id.clone(),
                last_seq: self.last.iter().map(|(s, q)| (s.clone(), *q)).collect(),
            },
            _ => ClientMessage::Subscribe {
                symbols: SymbolList::Only(
                    symbols
                        .iter()
                        .map(|s| Symbol::new(s).expect("valid symbol"))
                        .collect(),
                ),
            },
        }
    }
}

/// A client that stays connected through cuts and restarts: it reconnects with the app's
/// backoff policy and resumes by sequence number, recording every tick on its [`Tape`].
pub struct ResumingClient {
    stop: watch::Sender<bool>,
    progress: watch::Receiver<Tape>,
    task: JoinHandle<Tape>,
}

impl ResumingClient {
    /// Starts a client of `url` subscribed to `symbols`, reconnecting after delays from
    /// `backoff` with jitter from a generator seeded by `seed`.
    pub fn start(
        url: String,
        symbols: &'static [&'static str],
        backoff: Backoff,
        seed: u64,
    ) -> Self {
        let (stop, stopped) = watch::channel(false);
        let (progress_sender, progress) = watch::channel(Tape::default());
        let task = actix_web::rt::spawn(run(url, symbols, backoff, seed, stopped, progress_sender));
        ResumingClient {
            stop,
            progress,
            task,
        }
    }

    /// The tape so far.
    pub fn tape(&self) -> Tape {
        self.progress.borrow().clone()
    }

    /// Waits until the tape satisfies `done`.
    pub async fn wait_until(&mut self, what: &str, done: impl FnMut(&Tape) -> bool) {
        let waited = tokio::time::timeout(super::DEADLINE, self.progress.wait_for(done))
            .await
            .map(|seen| seen.is_ok());
        match waited {
            Ok(running) => assert!(running, "the client stopped"),
            Err(_) => panic!("timed out waiting until {what}: {:?}", self.tape()),
        }
    }

    /// Stops the client and returns its tape.
    pub async fn finish(self) -> Tape {
        let _ = self.stop.send(true);
        self.task.await.expect("client task")
    }
}

async fn run(
    url: String,
    symbols: &'static [&'static str],
    mut backoff: Backoff,
    seed: u64,
    mut stopped: watch::Receiver<bool>,
    progress: watch::Sender<Tape>,
) -> Tape {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut tape = Tape::default();
    loop {
        tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => return tape,
            () = session(&url, symbols, &mut tape, &mut backoff, &progress) => {}
        }
        let delay = backoff.next_delay(rng.random());
        tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => return tape,
            () = tokio::time::sleep(delay) => {}
        }
    }
}

/// One connection, until it fails or closes.
async fn session(
    url: &str,
    symbols: &[&str],
    tape: &mut Tape,
    backoff: &mut Backoff,
    progress: &watch::Sender<Tape>,
) {
    let connect = tokio_tungstenite::connect_async(url);
    let Ok(Ok((mut ws, _))) = tokio::time::timeout(Duration::from_secs(5), connect).await else {
        return;
    };
    while let Some(Ok(frame)) = ws.next().await {
        let text = match frame {
            Message::Text(text) => text,
            Message::Close(close) => {
                if let Some(close) = close {
                    tape.close_codes.push(close.code.into());
                }
                progress.send_replace(tape.clone());
                return;
            }
            _ => continue,
        };
        let message = ticker_shared::decode_server(&text).expect("server messages decode");
        if let ServerMessage::Hello(hello) = &message {
            backoff.reset();
            tape.sessions += 1;
            if tape
                .instance
                .as_ref()
                .is_some_and(|old| *old != hello.instance_id)
            {
                tape.restarts_seen += 1;
            }
            let opening = tape.opening(symbols);
            tape.instance = Some(hello.instance_id.clone());
            if ws.send(Message::text(opening.to_json())).await.is_err() {
                return;
            }
        }
        tape.record(&message);
        progress.send_replace(tape.clone());
    }
}

/// A seeded generator for the test's own random choices (cut moments), so a failure replays.
pub fn test_rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// A uniformly random duration between `low` and `high`.
pub fn random_between(rng: &mut ChaCha8Rng, low: Duration, high: Duration) -> Duration {
    low + (high - low).mul_f64(rng.random())
}
