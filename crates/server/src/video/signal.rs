//! The video frames a tab sends on its live connection, and the replies it gets. Every
//! frame but `join` acts in a room this connection joined; the room's rules (who may
//! admit, who is in the call) are checked again in the database each time, so a tab
//! that was sent away cannot keep talking.
//!
//! Client → server: `join`, `admit`, `signal` (offer, answer, ICE candidate to one
//! peer), `media` (microphone/camera state), `chat`, `quality`, `leave`, `end`.
//! Server → this tab: `joined` (its peer id, who is in the room, the ICE servers),
//! `ok`, `error`. Everything else reaches the room as `LiveEvent`s on the bus.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{json, Value};
use telemed_domain::video::Quality;
use telemed_domain::{AppointmentId, Error, PeerId};

use super::{ice, Caller, Room};
use crate::context::Ctx;
use crate::AppState;

/// A frame from a tab.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    Ping,
    Join {
        visit: AppointmentId,
    },
    Admit {
        visit: AppointmentId,
        peer: PeerId,
    },
    Signal {
        visit: AppointmentId,
        to: PeerId,
        data: Value,
    },
    Media {
        visit: AppointmentId,
        audio: bool,
        video: bool,
    },
    Chat {
        visit: AppointmentId,
        body: String,
    },
    Quality {
        visit: AppointmentId,
        rtt_ms: i64,
        loss_permille: i64,
        bitrate_kbps: i64,
        relayed: bool,
    },
    Leave {
        visit: AppointmentId,
    },
    End {
        visit: AppointmentId,
    },
}

impl ClientFrame {
    fn name(&self) -> &'static str {
        match self {
            ClientFrame::Ping => "ping",
            ClientFrame::Join { .. } => "join",
            ClientFrame::Admit { .. } => "admit",
            ClientFrame::Signal { .. } => "signal",
            ClientFrame::Media { .. } => "media",
            ClientFrame::Chat { .. } => "chat",
            ClientFrame::Quality { .. } => "quality",
            ClientFrame::Leave { .. } => "leave",
            ClientFrame::End { .. } => "end",
        }
    }
}

/// One live connection's rooms.
pub struct Signaling {
    caller: Caller,
    ctx: Ctx,
    rooms: HashMap<AppointmentId, (Room, PeerId)>,
}

/// The most rooms one tab is in at once.
const MAX_ROOMS_PER_CONNECTION: usize = 2;

fn refusal(frame: &str, e: &Error) -> String {
    let message = match e {
        Error::NotFound => "no such visit, or not yours".to_owned(),
        Error::Forbidden => "only the clinician can do that".to_owned(),
        Error::Invalid { message, .. } => message.clone(),
        Error::Conflict(message) => message.clone(),
        Error::Internal(_) => "something went wrong; try again".to_owned(),
        other => other.to_string(),
    };
    json!({"type": "error", "for": frame, "message": message}).to_string()
}

impl Signaling {
    pub fn new(caller: Caller, ctx: Ctx) -> Signaling {
        Signaling {
            caller,
            ctx,
            rooms: HashMap::new(),
        }
    }

    /// Handles one text frame; returns the reply for this tab, if any.
    pub async fn handle(&mut self, state: &AppState, text: &str) -> Option<String> {
        let frame: ClientFrame = match serde_json::from_str(text) {
            Ok(frame) => frame,
            Err(_) => return Some(
                json!({"type": "error", "for": "frame", "message": "unknown or malformed frame"})
                    .to_string(),
            ),
        };
        let name = frame.name();
        match self.act(state, frame).await {
            Ok(reply) => reply,
            Err(e) => {
                if let Error::Internal(detail) = &e {
                    tracing::error!(error = %detail, frame = name, "video signaling failed");
                }
                Some(refusal(name, &e))
            }
        }
    }

    fn joined(&self, visit: AppointmentId) -> Result<&(Room, PeerId), Error> {
        self.rooms
            .get(&visit)
            .ok_or_else(|| Error::Conflict("join the visit first".into()))
    }

    async fn act(&mut self, state: &AppState, frame: ClientFrame) -> Result<Option<String>, Error> {
        let ok = |name: &str| Some(json!({"type": "ok", "for": name}).to_string());
        match frame {
            ClientFrame::Ping => Ok(Some(json!({"type": "pong"}).to_string())),
            ClientFrame::Join { visit } => {
                if let Some((room, peer)) = self.rooms.remove(&visit) {
                    super::leave(state, &self.ctx, &room, peer).await?;
                }
                if self.rooms.len() >= MAX_ROOMS_PER_CONNECTION {
                    return Err(Error::Conflict("leave your other visit first".into()));
                }
                let room = super::open_room(state, &self.caller, visit).await?;
                let entered = super::enter(state, &self.ctx, &room).await?;
                let me = entered.me.peer;
                let peers: Vec<Value> = entered
                    .others
                    .iter()
                    .map(|p| json!({"peer": p.peer, "participant": p.participant, "admitted": p.admitted_at.is_some()}))
                    .collect();
                let reply = json!({
                    "type": "joined",
                    "visit": visit,
                    "peer": me,
                    "participant": room.me,
                    "admitted": entered.me.admitted_at.is_some(),
                    "peers": peers,
                    "ice": ice::ice_config(&state.config.video, &me.to_string(), state.clock.now()),
                });
                self.rooms.insert(visit, (room, me));
                Ok(Some(reply.to_string()))
            }
            ClientFrame::Admit { visit, peer } => {
                let (room, _) = self.joined(visit)?;
                super::admit(state, &self.ctx, room, peer).await?;
                Ok(ok("admit"))
            }
            ClientFrame::Signal { visit, to, data } => {
                let (room, me) = self.joined(visit)?;
                if data.to_string().len() > 32 * 1024 {
                    return Err(Error::invalid("data", "negotiation data is too large"));
                }
                super::relay_signal(state, room, *me, to, data).await?;
                Ok(None)
            }
            ClientFrame::Media {
                visit,
                audio,
                video,
            } => {
                let (room, me) = self.joined(visit)?;
                super::media_state(state, room, *me, audio, video).await?;
                Ok(None)
            }
            ClientFrame::Chat { visit, body } => {
                let (room, me) = self.joined(visit)?;
                let seq = super::chat(state, &self.ctx, room, *me, &body).await?;
                Ok(Some(
                    json!({"type": "ok", "for": "chat", "seq": seq}).to_string(),
                ))
            }
            ClientFrame::Quality {
                visit,
                rtt_ms,
                loss_permille,
                bitrate_kbps,
                relayed,
            } => {
                let (room, me) = self.joined(visit)?;
                let quality = Quality {
                    rtt_ms,
                    loss_permille,
                    bitrate_kbps,
                    relayed,
                };
                super::report_quality(state, room, *me, quality).await?;
                Ok(None)
            }
            ClientFrame::Leave { visit } => {
                let (room, peer) = self
                    .rooms
                    .remove(&visit)
                    .ok_or_else(|| Error::Conflict("join the visit first".into()))?;
                super::leave(state, &self.ctx, &room, peer).await?;
                Ok(ok("leave"))
            }
            ClientFrame::End { visit } => {
                let (room, _) = self.joined(visit)?;
                super::end(state, &self.ctx, room).await?;
                self.rooms.remove(&visit);
                Ok(ok("end"))
            }
        }
    }

    /// The connection ended: its tabs leave their rooms.
    pub async fn close(self, state: &AppState) {
        for (_, (room, peer)) in self.rooms {
            if let Err(e) = super::leave(state, &self.ctx, &room, peer).await {
                tracing::warn!(error = %e, "leaving a visit room on disconnect failed");
            }
        }
    }
}
