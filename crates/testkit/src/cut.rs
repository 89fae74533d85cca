//! A TCP path to a database server that a test can cut and restore: what a network
//! failure, or the server going away, looks like from telemed's side, without stopping
//! the server other tests use.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Forwards connections from a local port to `target` until cut.
pub struct CuttablePath {
    port: u16,
    open: Arc<AtomicBool>,
    /// Bumped on every cut: connections made before it end.
    cuts: watch::Sender<u64>,
}

impl CuttablePath {
    pub async fn start(target: String) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let open = Arc::new(AtomicBool::new(true));
        let (cuts, _) = watch::channel(0u64);
        let (accepting, cut_seen) = (open.clone(), cuts.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if !accepting.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let target = target.clone();
                let mut cut = cut_seen.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    let mut client = client;
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Ok(CuttablePath { port, open, cuts })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Ends every connection through the path and refuses new ones.
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    /// Lets connections through again.
    pub fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }

    /// `url` (a `postgres://` URL) with its host and port replaced by this path's.
    pub fn url_through(&self, url: &str) -> String {
        let (before, _, after) = split_host(url);
        format!("{before}127.0.0.1:{}{after}", self.port)
    }
}

/// The `host:port` a `postgres://` URL names (port 5432 unless given).
pub fn target_of(url: &str) -> String {
    let (_, host, _) = split_host(url);
    if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    }
}

/// A URL as what comes before its host, the host (with its port), and what follows.
fn split_host(url: &str) -> (&str, &str, &str) {
    let start = url
        .find('@')
        .map(|at| at + 1)
        .or_else(|| url.find("://").map(|s| s + 3))
        .unwrap_or(0);
    let end = url[start..].find('/').map_or(url.len(), |e| start + e);
    (&url[..start], &url[start..end], &url[end..])
}
