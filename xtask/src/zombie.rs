//! A proxy for the browser test that makes zombie connections: it forwards everything until
//! [`ZombieProxy::freeze`], after which every connection open at that moment stops forwarding
//! in both directions without being closed (no FIN, no reset), as when a NAT mapping is dropped
//! or a laptop sleeps while the server goes on. Connections opened later are forwarded as
//! usual, so a client that notices and reconnects gets through.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU64, Ordering},
};

use anyhow::Result;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::watch,
    task::JoinHandle,
};

/// One proxied connection: the freeze generation it was opened in, and its task.
type Link = (u64, JoinHandle<()>);

/// A running proxy on 127.0.0.1.
pub struct ZombieProxy {
    /// Its port.
    pub port: u16,
    /// Bumped by each freeze; a connection opened before a bump is frozen by it.
    freezes: watch::Sender<u64>,
    links: Arc<Mutex<Vec<Link>>>,
    /// Frozen connections, both sockets held open and never read again.
    parked: Arc<Mutex<Vec<(TcpStream, TcpStream)>>>,
    accepted: Arc<AtomicU64>,
    to_browser: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl ZombieProxy {
    /// Starts a proxy to the server on `upstream_port`.
    pub async fn start(upstream_port: u16) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let (freezes, _) = watch::channel(0u64);
        let links: Arc<Mutex<Vec<Link>>> = Arc::default();
        let parked: Arc<Mutex<Vec<(TcpStream, TcpStream)>>> = Arc::default();
        let accepted = Arc::new(AtomicU64::new(0));
        let to_browser = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn({
            let (freezes, links, parked) = (freezes.clone(), links.clone(), parked.clone());
            let (accepted, to_browser) = (accepted.clone(), to_browser.clone());
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    accepted.fetch_add(1, Ordering::Relaxed);
                    let mut frozen = freezes.subscribe();
                    let generation = *frozen.borrow_and_update();
                    let (parked, to_browser) = (parked.clone(), to_browser.clone());
                    let link = tokio::spawn(async move {
                        let Ok(mut upstream) =
                            TcpStream::connect(("127.0.0.1", upstream_port)).await
                        else {
                            return;
                        };
                        let mut client = client;
                        tokio::select! {
                            _ = pipe(&mut client, &mut upstream, &to_browser) => {}
                            _ = frozen.wait_for(|&now| now > generation) => {
                                parked.lock().expect("not poisoned").push((client, upstream));
                            }
                        }
                    });
                    links.lock().expect("not poisoned").push((generation, link));
                }
            }
        });
        Ok(ZombieProxy {
            port,
            freezes,
            links,
            parked,
            accepted,
            to_browser,
            task,
        })
    }

    /// Freezes every connection open now; once each has stopped forwarding, returns how many
    /// connections are parked in all (by this freeze and any before it).
    pub async fn freeze(&self) -> Result<usize> {
        let mut generation = 0;
        self.freezes.send_modify(|g| {
            *g += 1;
            generation = *g;
        });
        let frozen: Vec<JoinHandle<()>> = {
            let mut links = self.links.lock().expect("not poisoned");
            let (old, new): (Vec<Link>, Vec<Link>) = links
                .drain(..)
                .partition(|(opened, _)| *opened < generation);
            *links = new;
            old.into_iter().map(|(_, task)| task).collect()
        };
        for task in frozen {
            // A link ends once parked (or closed by either side before the freeze).
            let _ = task.await;
        }
        Ok(self.parked.lock().expect("not poisoned").len())
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Bytes forwarded from the server to the browser so far.
    pub fn forwarded_to_browser(&self) -> u64 {
        self.to_browser.load(Ordering::Relaxed)
    }
}

impl Drop for ZombieProxy {
    fn drop(&mut self) {
        self.task.abort();
        for (_, link) in self.links.lock().expect("not poisoned").drain(..) {
            link.abort();
        }
    }
}

/// Copies both ways until either side ends, counting the bytes that go to the browser.
async fn pipe(client: &mut TcpStream, upstream: &mut TcpStream, to_browser: &AtomicU64) {
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (mut client_read, mut client_write) = client.split();
    let (mut upstream_read, mut upstream_write) = upstream.split();
    let up = tokio::io::copy(&mut client_read, &mut upstream_write);
    let down = async {
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            let read = upstream_read.read(&mut buffer).await?;
            if read == 0 {
                return std::io::Result::Ok(());
            }
            client_write.write_all(&buffer[..read]).await?;
            to_browser.fetch_add(read as u64, Ordering::Relaxed);
        }
    };
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
}
