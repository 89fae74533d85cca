//! The bus between nodes: in this process by default; over NATS when `nats_url` is set,
//! so an event raised on one node reaches people connected to any node. With NATS every
//! node, the publisher included, receives events through its subscription, so delivery
//! is the same code on one node or many.

use std::sync::Arc;

use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use telemed_domain::video::Participant;
use telemed_domain::{AppointmentId, GuestId, PeerId, UserId};
use telemed_store::CredentialsEpoch;
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
    /// A tab entered a visit's room: in the call (`admitted`) or waiting to be let in.
    RoomPeer {
        visit: AppointmentId,
        peer: PeerId,
        participant: Participant,
        admitted: bool,
    },
    /// The clinician let a waiting tab into the call.
    RoomAdmitted { visit: AppointmentId, peer: PeerId },
    /// A tab left the room (or its connection ended).
    RoomLeft { visit: AppointmentId, peer: PeerId },
    /// A tab turned its microphone or camera on or off.
    RoomMedia {
        visit: AppointmentId,
        peer: PeerId,
        audio: bool,
        video: bool,
    },
    /// A new in-call chat line, read over HTTP.
    RoomChat { visit: AppointmentId, seq: i64 },
    /// The clinician ended the call.
    RoomEnded { visit: AppointmentId },
    /// The waiting queue changed for the visit's clinician and the front desk: a
    /// patient checked in, a visit was booked, done, cancelled or missed.
    Queue { visit: AppointmentId },
    /// The on-demand queue of a specialty changed (a patient joined, withdrew or was
    /// taken): for the patients waiting in it and its clinicians.
    OnDemand { specialty: String },
    /// WebRTC negotiation (offer, answer, ICE candidate) from one tab to another.
    Signal {
        visit: AppointmentId,
        from: PeerId,
        to: PeerId,
        data: serde_json::Value,
    },
    /// A node committed a change that took power away from a credential (a token
    /// revoked, a password reset, an account disabled): every node checks the
    /// credentials it holds connections for. For the nodes, never sent to a browser.
    CredentialsChanged { node: String },
}

/// Someone who can hold live connections: a person with an account, or a visit's guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Listener {
    User(UserId),
    Guest(GuestId),
}

/// An event and who should receive it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub to: Vec<UserId>,
    /// Guests of a visit (they have no account).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guests: Vec<GuestId>,
    pub event: LiveEvent,
}

impl Envelope {
    pub fn new(to: Vec<UserId>, event: LiveEvent) -> Envelope {
        Envelope {
            to,
            guests: Vec::new(),
            event,
        }
    }

    /// Everyone the envelope names.
    pub fn listeners(&self) -> impl Iterator<Item = Listener> + '_ {
        self.to
            .iter()
            .map(|u| Listener::User(*u))
            .chain(self.guests.iter().map(|g| Listener::Guest(*g)))
    }
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
        let for_nodes = matches!(envelope.event, LiveEvent::CredentialsChanged { .. });
        if envelope.to.is_empty() && envelope.guests.is_empty() && !for_nodes {
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

    /// With several nodes, carries credential changes between them for the life of
    /// the server: each one this node commits is published, and each one another node
    /// publishes moves this node's epoch (its sockets check their credentials at once).
    pub fn relay_credential_changes(&self, epoch: CredentialsEpoch) {
        if !self.is_shared() {
            return;
        }
        let node = uuid::Uuid::new_v4().to_string();
        let mut here = epoch.changes_here();
        let bus = self.clone();
        let me = node.clone();
        tokio::spawn(async move {
            while here.changed().await.is_ok() {
                let event = LiveEvent::CredentialsChanged { node: me.clone() };
                bus.publish(Envelope::new(vec![], event)).await;
            }
        });
        let mut heard = self.subscribe();
        tokio::spawn(async move {
            loop {
                match heard.recv().await {
                    Ok(envelope) => {
                        if let LiveEvent::CredentialsChanged { node: from } = &envelope.event {
                            if *from != node {
                                epoch.advance_from_elsewhere();
                            }
                        }
                    }
                    // Events were skipped: one of them may have been a change.
                    Err(broadcast::error::RecvError::Lagged(_)) => epoch.advance_from_elsewhere(),
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }
}
