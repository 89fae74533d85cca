//! The bus between nodes: in this process by default; over NATS when `nats_url` is set,
//! so an event raised on one node reaches people connected to any node. With NATS every
//! node, the publisher included, receives events through its subscription, so delivery
//! is the same code on one node or many.

use std::sync::Arc;

use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use telemed_domain::UserId;
use tokio::sync::broadcast;

/// The NATS subject live events travel on.
pub const SUBJECT: &str = "telemed.live";

/// How many events a slow hub may fall behind before it skips some (and says so).
const BACKLOG: usize = 8192;

/// Something that happened, for the people it concerns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    /// A new in-app notification (`kind` as stored, e.g. `visit.booked`).
    Notification { kind: String },
    /// A new message in a thread the person belongs to.
    Message { thread: String, seq: i64 },
    /// Someone read a thread up to `seq` (read receipts).
    Read {
        thread: String,
        user: UserId,
        seq: i64,
    },
}

/// An event and who should receive it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub to: Vec<UserId>,
    pub event: LiveEvent,
}

#[derive(Clone)]
pub struct Bus {
    local: broadcast::Sender<Arc<Envelope>>,
    nats: Option<async_nats::Client>,
}

impl Bus {
    /// A bus inside this process (one node).
    pub fn in_process() -> Bus {
        let (local, _) = broadcast::channel(BACKLOG);
        Bus { local, nats: None }
    }

    /// Connects to NATS when a URL is given; otherwise stays in process.
    pub async fn connect(nats_url: Option<&str>) -> anyhow::Result<Bus> {
        let Some(url) = nats_url else {
            return Ok(Bus::in_process());
        };
        let client = async_nats::connect(url)
            .await
            .map_err(|e| anyhow::anyhow!("cannot connect to NATS at {url}: {e}"))?;
        let mut subscription = client
            .subscribe(SUBJECT)
            .await
            .map_err(|e| anyhow::anyhow!("cannot subscribe on NATS: {e}"))?;
        let (local, _) = broadcast::channel(BACKLOG);
        let deliver = local.clone();
        tokio::spawn(async move {
            while let Some(message) = subscription.next().await {
                match serde_json::from_slice::<Envelope>(&message.payload) {
                    Ok(envelope) => {
                        let _ = deliver.send(Arc::new(envelope));
                    }
                    Err(_) => tracing::warn!("ignored a malformed live event from NATS"),
                }
            }
            tracing::warn!("the NATS subscription ended; live events from other nodes stop");
        });
        Ok(Bus {
            local,
            nats: Some(client),
        })
    }

    /// Sends an event to everyone it names, on every node. Best effort: live delivery
    /// is a convenience on top of what is stored, never the record itself.
    pub async fn publish(&self, envelope: Envelope) {
        if envelope.to.is_empty() {
            return;
        }
        match &self.nats {
            Some(client) => match serde_json::to_vec(&envelope) {
                Ok(bytes) => {
                    if let Err(e) = client.publish(SUBJECT, bytes.into()).await {
                        tracing::warn!(error = %e, "publishing a live event to NATS failed");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "encoding a live event failed"),
            },
            None => {
                let _ = self.local.send(Arc::new(envelope));
            }
        }
    }

    /// Every event published on the bus, from this node or (with NATS) any node.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Envelope>> {
        self.local.subscribe()
    }

    pub fn is_shared(&self) -> bool {
        self.nats.is_some()
    }
}
