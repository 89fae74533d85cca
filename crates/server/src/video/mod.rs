//! Live video visits: who may enter a visit's room, the waiting room and admission,
//! routing WebRTC negotiation between the tabs in a call, the in-call chat, and the
//! encounter each call records (start, end, who joined and left when, call quality).
//!
//! Rooms live in the database (`visit_peers`), not in a node's memory, so the two
//! sides of a call may reach different nodes; events travel on the `Bus`. The media
//! itself never touches the server: browsers connect to each other (a full mesh of up
//! to four), directly or through TURN.

pub mod guests;
pub mod ice;
pub mod record;
pub mod signal;

use chrono::Duration;
use telemed_domain::access;
use telemed_domain::record::Section;
use telemed_domain::schedule::VisitKind;
use telemed_domain::video::{Participant, Quality, MAX_PARTICIPANTS, TELEHEALTH_CONSENT};
use telemed_domain::{AppointmentId, Error, PeerId, Result, UserId};
use telemed_store::scheduling::{self, Appointment, AppointmentStatus};
use telemed_store::visits::{self, Consent, Invite, Peer};
use telemed_store::DbResult as _;

use crate::audit::Event;
use crate::change::Change;
use crate::context::Ctx;
use crate::realtime::{Envelope, LiveEvent};
use crate::AppState;

/// Tabs one room holds at most, waiting or in the call (a guard against a runaway
/// client, well above four people with a spare tab each).
const MAX_TABS_PER_ROOM: usize = 12;
/// The room stays open this long after the booked end when the call has not ended.
const OVERRUN_HOURS: i64 = 2;
/// Longest in-call chat line, in characters.
pub const MAX_CHAT_CHARS: usize = 2000;

/// Who is asking to use a room.
#[derive(Debug, Clone)]
pub enum Caller {
    /// Someone signed in (or with an API token).
    User(UserId),
    /// A guest holding a pass for one visit.
    Guest(Invite),
}

/// A visit's room, opened by one of its participants.
#[derive(Debug, Clone)]
pub struct Room {
    pub appointment: Appointment,
    pub me: Participant,
}

impl Room {
    pub fn id(&self) -> AppointmentId {
        self.appointment.id
    }

    /// An audit entry for something this participant did in the room; `detail` is
    /// short and non-personal. A guest (no account) is named by their invite id.
    fn audit(
        &self,
        ctx: &Ctx,
        now: chrono::DateTime<chrono::Utc>,
        action: &str,
        detail: &str,
    ) -> Event {
        let event = Event::new(ctx, now, action, "appointment")
            .on(self.appointment.id)
            .patient(self.appointment.patient_id);
        let (event, detail) = match self.me {
            Participant::Patient(u) => (
                event.by(u, telemed_domain::Role::Patient),
                detail.to_owned(),
            ),
            Participant::Clinician(u) => (
                event.by(u, telemed_domain::Role::Clinician),
                detail.to_owned(),
            ),
            Participant::Guest(g) => (event, format!("guest {g} {detail}")),
        };
        match detail.trim() {
            "" => event,
            d => event.detail(d),
        }
    }

    fn require_host(&self) -> Result<()> {
        if self.me.hosts() {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }
}

/// The participant `caller` is in this appointment's room, if any.
fn participant_of(caller: &Caller, a: &Appointment) -> Option<Participant> {
    match caller {
        Caller::User(id) if *id == a.patient_id => Some(Participant::Patient(*id)),
        Caller::User(id) if *id == a.clinician_id => Some(Participant::Clinician(*id)),
        Caller::Guest(invite) if invite.appointment == a.id && invite.revoked_at.is_none() => {
            Some(Participant::Guest(invite.guest))
        }
        _ => None,
    }
}

/// Opens the room of `id` for `caller`: only the visit's patient and clinician and its
/// invited guests; anyone else is told it does not exist. The room is open from when
/// check-in opens until the call ends (or, without a call, a while after the booked end).
pub async fn open_room(state: &AppState, caller: &Caller, id: AppointmentId) -> Result<Room> {
    let reach = match caller {
        Caller::User(person) => access::visit_party(*person),
        Caller::Guest(invite) => access::invited_guest(invite.appointment),
    };
    let appointment = state
        .store
        .appointment(&reach, id)
        .await?
        .ok_or(Error::NotFound)?;
    let me = participant_of(caller, &appointment).ok_or(Error::NotFound)?;
    if appointment.visit_kind == VisitKind::Messaging {
        return Err(Error::Conflict(
            "this visit is by messages, not video".into(),
        ));
    }
    let encounter = state.store.encounter(id).await?;
    if encounter.as_ref().is_some_and(|e| e.ended_at.is_some()) {
        return Err(Error::Conflict("this visit has ended".into()));
    }
    match appointment.status {
        AppointmentStatus::Booked | AppointmentStatus::Arrived => {}
        AppointmentStatus::Cancelled => {
            return Err(Error::Conflict("this visit was cancelled".into()))
        }
        _ => return Err(Error::Conflict("this visit has ended".into())),
    }
    let now = state.clock.now();
    let opening = crate::clinic::current(state)
        .await
        .settings
        .check_in_opens_minutes;
    if now < appointment.start_at - Duration::minutes(opening) {
        return Err(Error::Conflict(format!(
            "the visit room opens {opening} minutes before the visit"
        )));
    }
    if encounter.is_none() && now > appointment.end_at + Duration::hours(OVERRUN_HOURS) {
        return Err(Error::Conflict("this visit has ended".into()));
    }
    Ok(Room { appointment, me })
}

/// Whether the patient accepted the current telehealth consent text (the clinic's
/// latest published version; an earlier acceptance is asked again).
pub async fn has_consent(state: &AppState, patient: UserId) -> Result<bool> {
    let version = crate::clinic::telehealth_consent_version(state).await?;
    state
        .store
        .has_accepted(patient, TELEHEALTH_CONSENT, &version)
        .await
}

/// The consents `patient` gave, oldest first, for whoever may read their demographics
/// (the patient, a proxy, their clinicians, the front desk); audited as that read.
pub async fn consents_of(
    state: &AppState,
    ctx: &Ctx,
    principal: &access::Principal,
    patient: UserId,
) -> Result<Vec<Consent>> {
    let read = (Section::Demographics, access::Op::Read);
    let grant = crate::record::authorize(state, ctx, principal, patient, read.0, read.1).await?;
    state.store.consents_of(&grant).await
}

/// The patient accepts the telehealth consent text they read, version `read` (audited).
/// A version that is no longer the current one is refused: the text changed meanwhile.
pub async fn accept_consent(
    state: &AppState,
    ctx: &Ctx,
    patient: UserId,
    read: &str,
) -> Result<()> {
    let version = crate::clinic::telehealth_consent_version(state).await?;
    if read != version {
        return Err(Error::Conflict(
            "the consent text has changed since it was shown: read the new version".into(),
        ));
    }
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    if visits::accept_consent(change.tx(), patient, TELEHEALTH_CONSENT, &version, now).await? {
        let record = Event::new(ctx, now, "consent.accept", "consent")
            .by(patient, telemed_domain::Role::Patient)
            .patient(patient)
            .detail(format!("{TELEHEALTH_CONSENT} {version}"));
        change.audit(record);
        change.commit().await
    } else {
        // Already so: nothing written, nothing to audit.
        change.rollback().await
    }
}

/// Everyone who may hold a live connection into this room: the patient, the clinician
/// and the guests whose links were used.
async fn publish(state: &AppState, room: &Room, event: LiveEvent) -> Result<()> {
    let guests = state
        .store
        .invites_for(room.id())
        .await?
        .into_iter()
        .filter(|i| i.used_at.is_some() && i.revoked_at.is_none())
        .map(|i| i.guest)
        .collect();
    state
        .bus
        .publish(Envelope {
            to: vec![room.appointment.patient_id, room.appointment.clinician_id],
            guests,
            event,
        })
        .await;
    Ok(())
}

/// What a tab learns when it enters: its own peer, and who else is in the room.
pub struct Entered {
    pub me: Peer,
    pub others: Vec<Peer>,
}

/// A tab enters the room. The clinician is in the call at once; the patient and guests
/// wait until the clinician admits them, unless they were admitted earlier in this
/// visit (a tab that reconnects after a network change comes straight back). The
/// patient entering checks them in.
pub async fn enter(state: &AppState, ctx: &Ctx, room: &Room) -> Result<Entered> {
    if let Participant::Patient(p) = room.me {
        if !has_consent(state, p).await? {
            return Err(Error::Conflict(
                "accept the telehealth consent first".into(),
            ));
        }
    }
    let now = state.clock.now();
    let peer = PeerId::new();
    let mut change = Change::begin(state).await?;
    let present = visits::room_peers(change.tx(), room.id()).await?;
    if present.len() >= MAX_TABS_PER_ROOM {
        return Err(Error::Conflict("this visit room is full".into()));
    }
    let admitted = room.me.hosts() || visits::was_admitted(change.tx(), room.id(), room.me).await?;
    if matches!(room.me, Participant::Patient(_)) {
        scheduling::transition(
            change.tx(),
            room.id(),
            AppointmentStatus::Booked,
            AppointmentStatus::Arrived,
            now,
        )
        .await?;
    }
    let me = visits::enter(change.tx(), peer, room.id(), room.me, admitted, now).await?;
    let record = room.audit(
        ctx,
        now,
        "visit.enter",
        if admitted { "in the call" } else { "waiting" },
    );
    change.audit(record);
    change.commit().await?;
    publish(
        state,
        room,
        LiveEvent::RoomPeer {
            visit: room.id(),
            peer,
            participant: room.me,
            admitted,
        },
    )
    .await?;
    let others = present.into_iter().filter(|p| p.peer != peer).collect();
    Ok(Entered { me, others })
}

/// The clinician lets a waiting tab into the call; the first admission starts the
/// encounter.
pub async fn admit(state: &AppState, ctx: &Ctx, room: &Room, peer: PeerId) -> Result<Peer> {
    room.require_host()?;
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    let present = visits::room_peers(change.tx(), room.id()).await?;
    let waiting = present
        .iter()
        .find(|p| p.peer == peer && p.admitted_at.is_none())
        .ok_or_else(|| Error::Conflict("that person is not waiting in this room".into()))?;
    let in_call: std::collections::HashSet<Participant> = present
        .iter()
        .filter(|p| p.admitted_at.is_some())
        .map(|p| p.participant)
        .collect();
    if !in_call.contains(&waiting.participant) && in_call.len() >= MAX_PARTICIPANTS {
        return Err(Error::Conflict(format!(
            "a call holds up to {MAX_PARTICIPANTS} people"
        )));
    }
    let admitted = visits::admit(change.tx(), room.id(), peer, now)
        .await?
        .ok_or_else(|| Error::Conflict("that person is not waiting in this room".into()))?;
    visits::start_encounter(change.tx(), room.id(), now).await?;
    let detail = format!("admitted {}", admitted.participant.kind());
    let record = room.audit(ctx, now, "visit.admit", &detail);
    change.audit(record);
    change.commit().await?;
    publish(
        state,
        room,
        LiveEvent::RoomAdmitted {
            visit: room.id(),
            peer,
        },
    )
    .await?;
    Ok(admitted)
}

/// A tab in this room, or `NotFound`.
async fn peer_in(state: &AppState, room: &Room, peer: PeerId) -> Result<Peer> {
    state
        .store
        .room_peer(peer)
        .await?
        .filter(|p| p.appointment == room.id() && p.left_at.is_none())
        .ok_or(Error::NotFound)
}

/// The caller's own tab, which must be in the call (not waiting).
async fn own_peer_in_call(state: &AppState, room: &Room, peer: PeerId) -> Result<Peer> {
    let me = peer_in(state, room, peer).await?;
    if me.participant != room.me {
        return Err(Error::Forbidden);
    }
    if me.admitted_at.is_none() {
        return Err(Error::Conflict(
            "wait until the clinician lets you in".into(),
        ));
    }
    Ok(me)
}

/// Passes WebRTC negotiation from one tab in the call to another in the same call.
pub async fn relay_signal(
    state: &AppState,
    room: &Room,
    from: PeerId,
    to: PeerId,
    data: serde_json::Value,
) -> Result<()> {
    own_peer_in_call(state, room, from).await?;
    let target = peer_in(state, room, to).await?;
    if target.admitted_at.is_none() {
        return Err(Error::Conflict("that person is still waiting".into()));
    }
    let event = LiveEvent::Signal {
        visit: room.id(),
        from,
        to,
        data,
    };
    let envelope = match target.participant {
        Participant::Patient(u) | Participant::Clinician(u) => Envelope::new(vec![u], event),
        Participant::Guest(g) => Envelope {
            to: Vec::new(),
            guests: vec![g],
            event,
        },
    };
    state.bus.publish(envelope).await;
    Ok(())
}

/// Tells the room a tab's microphone or camera went on or off.
pub async fn media_state(
    state: &AppState,
    room: &Room,
    peer: PeerId,
    audio: bool,
    video: bool,
) -> Result<()> {
    own_peer_in_call(state, room, peer).await?;
    publish(
        state,
        room,
        LiveEvent::RoomMedia {
            visit: room.id(),
            peer,
            audio,
            video,
        },
    )
    .await
}

/// Stores a tab's call-quality report.
pub async fn report_quality(
    state: &AppState,
    room: &Room,
    peer: PeerId,
    quality: Quality,
) -> Result<()> {
    let quality = quality.validated()?;
    own_peer_in_call(state, room, peer).await?;
    let mut tx = state.store.begin_write().await?;
    visits::report_quality(&mut tx, peer, quality, state.clock.now()).await?;
    tx.commit().await.db()
}

/// Adds a line to the in-call chat (kept with the visit).
pub async fn chat(
    state: &AppState,
    ctx: &Ctx,
    room: &Room,
    peer: PeerId,
    body: &str,
) -> Result<i64> {
    let body = body.trim();
    if body.is_empty() {
        return Err(Error::invalid("body", "write something first"));
    }
    if body.chars().count() > MAX_CHAT_CHARS {
        return Err(Error::invalid(
            "body",
            format!("keep chat lines under {MAX_CHAT_CHARS} characters"),
        ));
    }
    own_peer_in_call(state, room, peer).await?;
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    let seq = visits::append_chat(change.tx(), room.id(), room.me, body, now)
        .await?
        .ok_or_else(|| Error::Conflict("the call is not running".into()))?;
    let record = room.audit(ctx, now, "visit.chat", "");
    change.audit(record);
    change.commit().await?;
    publish(
        state,
        room,
        LiveEvent::RoomChat {
            visit: room.id(),
            seq,
        },
    )
    .await?;
    Ok(seq)
}

/// A tab leaves the room (its own `peer`), or its connection ended.
pub async fn leave(state: &AppState, ctx: &Ctx, room: &Room, peer: PeerId) -> Result<()> {
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    let Some(left) = visits::leave(change.tx(), peer, now).await? else {
        return Ok(());
    };
    if left.participant != room.me || left.appointment != room.id() {
        return Err(Error::Forbidden);
    }
    let record = room.audit(ctx, now, "visit.leave", "");
    change.audit(record);
    change.commit().await?;
    publish(
        state,
        room,
        LiveEvent::RoomLeft {
            visit: room.id(),
            peer,
        },
    )
    .await
}

/// The clinician ends the call: the encounter closes with its quality summary, every
/// tab leaves, and the visit is fulfilled (when the patient came).
pub async fn end(state: &AppState, ctx: &Ctx, room: &Room) -> Result<()> {
    room.require_host()?;
    let now = state.clock.now();
    let by = match room.me {
        Participant::Clinician(u) => Some(u),
        _ => None,
    };
    let mut change = Change::begin(state).await?;
    let ended = visits::end_encounter(change.tx(), room.id(), by, now).await?;
    if !ended {
        return Err(Error::Conflict(
            "the call has not started: admit the patient first".into(),
        ));
    }
    for from in [AppointmentStatus::Arrived, AppointmentStatus::Booked] {
        if scheduling::transition(
            change.tx(),
            room.id(),
            from,
            AppointmentStatus::Fulfilled,
            now,
        )
        .await?
        {
            break;
        }
    }
    let record = room.audit(ctx, now, "visit.end", "");
    change.audit(record);
    change.commit().await?;
    publish(state, room, LiveEvent::RoomEnded { visit: room.id() }).await
}
