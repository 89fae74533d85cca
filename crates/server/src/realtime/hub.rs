//! This node's open live connections, per person. The hub takes every event off the
//! bus and queues it, encoded once, on each of the recipient's connections. A
//! connection whose queue is full is too slow: it is closed (the client reconnects and
//! catches up over HTTP) rather than holding everyone else back.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use telemed_domain::UserId;
use tokio::sync::{broadcast, mpsc};
use tokio::time::{Duration, Instant};

use super::bus::{Envelope, Listener};

/// Open connections one person may hold (tabs, devices).
pub const MAX_CONNECTIONS_PER_USER: usize = 20;
/// Failed (unauthenticated) connection attempts one address may make per minute.
pub const MAX_REFUSED_PER_MINUTE: u32 = 30;
/// Events queued for one connection before it counts as too slow.
const QUEUE: usize = 256;

/// What a connection's writer receives: an encoded event, or the order to close.
#[derive(Debug, Clone)]
pub enum Outgoing {
    Event(Arc<str>),
    Close,
}

struct Connection {
    id: u64,
    tx: mpsc::Sender<Outgoing>,
}

#[derive(Default)]
pub struct Hub {
    connections: Mutex<HashMap<Listener, Vec<Connection>>>,
    next_id: AtomicU64,
    refused: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

/// A registered connection; dropping it unregisters.
pub struct Registration {
    hub: Arc<Hub>,
    user: Listener,
    id: u64,
    pub rx: mpsc::Receiver<Outgoing>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.unregister(self.user, self.id);
    }
}

impl Hub {
    pub fn new() -> Arc<Hub> {
        Arc::new(Hub::default())
    }

    /// Registers a connection of `user`, unless they hold the most already.
    pub fn register(self: &Arc<Self>, user: Listener) -> Option<Registration> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut all = self.connections.lock().ok()?;
        let theirs = all.entry(user).or_default();
        if theirs.len() >= MAX_CONNECTIONS_PER_USER {
            return None;
        }
        theirs.push(Connection { id, tx });
        Some(Registration {
            hub: self.clone(),
            user,
            id,
            rx,
        })
    }

    fn unregister(&self, user: Listener, id: u64) {
        if let Ok(mut all) = self.connections.lock() {
            if let Some(theirs) = all.get_mut(&user) {
                theirs.retain(|c| c.id != id);
                if theirs.is_empty() {
                    all.remove(&user);
                }
            }
        }
    }

    /// Open connections on this node (all, or one person's).
    pub fn count(&self, user: Option<UserId>) -> usize {
        self.connections
            .lock()
            .map(|all| match user {
                Some(u) => all.get(&Listener::User(u)).map_or(0, Vec::len),
                None => all.values().map(Vec::len).sum(),
            })
            .unwrap_or(0)
    }

    /// Queues `envelope` on its recipients' connections on this node.
    pub fn deliver(&self, envelope: &Envelope) {
        let Ok(text) = serde_json::to_string(&envelope.event) else {
            return;
        };
        let text: Arc<str> = text.into();
        let Ok(all) = self.connections.lock() else {
            return;
        };
        for listener in envelope.listeners() {
            for c in all.get(&listener).into_iter().flatten() {
                if c.tx.try_send(Outgoing::Event(text.clone())).is_err() {
                    // Too slow or gone: the writer sees the closed queue and ends.
                    let _ = c.tx.try_send(Outgoing::Close);
                }
            }
        }
    }

    /// Closes every connection of `user` on this node (signed out, disabled).
    pub fn close_all(&self, user: UserId) {
        if let Ok(all) = self.connections.lock() {
            for c in all.get(&Listener::User(user)).into_iter().flatten() {
                let _ = c.tx.try_send(Outgoing::Close);
            }
        }
    }

    /// Delivers bus events for the life of the server.
    pub async fn run(self: Arc<Self>, mut events: broadcast::Receiver<Arc<Envelope>>) {
        loop {
            match events.recv().await {
                Ok(envelope) => self.deliver(&envelope),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(
                        skipped = n,
                        "live delivery fell behind; clients catch up on reconnect"
                    );
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    /// Counts a refused attempt from `addr`; false once it made too many this minute.
    pub fn allow_attempt(&self, addr: Option<IpAddr>) -> bool {
        let Some(addr) = addr else { return true };
        let Ok(mut refused) = self.refused.lock() else {
            return true;
        };
        let now = Instant::now();
        refused.retain(|_, (_, since)| now.duration_since(*since) < Duration::from_secs(60));
        refused
            .get(&addr)
            .is_none_or(|(count, _)| *count < MAX_REFUSED_PER_MINUTE)
    }

    pub fn note_refused(&self, addr: Option<IpAddr>) {
        let Some(addr) = addr else { return };
        if let Ok(mut refused) = self.refused.lock() {
            let entry = refused.entry(addr).or_insert((0, Instant::now()));
            entry.0 += 1;
        }
    }
}
