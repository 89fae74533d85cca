//! Video visits: the people in a visit's room (one row per browser tab), the encounter
//! a call records, the chat kept with it, guest invites, and consents.

use chrono::{DateTime, Utc};
use telemed_domain::access::{Grant, Op, Sealed};
use telemed_domain::record::Section;
use telemed_domain::video::{Participant, ParticipantKind, Quality};
use telemed_domain::{AppointmentId, Error, GuestId, PeerId, Result, UserId};

use crate::{from_micros, to_micros, Conn, DbResult, Store};

/// One browser tab in a room.
#[derive(Debug, Clone, PartialEq)]
pub struct Peer {
    pub peer: PeerId,
    pub appointment: AppointmentId,
    pub participant: Participant,
    pub entered_at: DateTime<Utc>,
    pub admitted_at: Option<DateTime<Utc>>,
    pub left_at: Option<DateTime<Utc>>,
    pub quality: Option<Quality>,
}

#[derive(sqlx::FromRow)]
struct PeerRow {
    peer: String,
    appointment_id: String,
    participant_id: String,
    participant_kind: String,
    entered_at: i64,
    admitted_at: Option<i64>,
    left_at: Option<i64>,
    rtt_ms: Option<i64>,
    loss_permille: Option<i64>,
    bitrate_kbps: Option<i64>,
    relayed: Option<i64>,
}

const PEER_COLUMNS: &str = "peer, appointment_id, participant_id, participant_kind, entered_at, \
    admitted_at, left_at, rtt_ms, loss_permille, bitrate_kbps, relayed";

fn corrupt<E>(_: E) -> Error {
    Error::internal("corrupt visit row")
}

fn quality_of(
    rtt_ms: Option<i64>,
    loss_permille: Option<i64>,
    bitrate_kbps: Option<i64>,
    relayed: Option<i64>,
) -> Option<Quality> {
    Some(Quality {
        rtt_ms: rtt_ms?,
        loss_permille: loss_permille?,
        bitrate_kbps: bitrate_kbps?,
        relayed: relayed? != 0,
    })
}

impl TryFrom<PeerRow> for Peer {
    type Error = Error;
    fn try_from(r: PeerRow) -> Result<Peer> {
        let kind: ParticipantKind = r.participant_kind.parse().map_err(corrupt)?;
        Ok(Peer {
            peer: r.peer.parse().map_err(corrupt)?,
            appointment: r.appointment_id.parse().map_err(corrupt)?,
            participant: Participant::from_parts(kind, &r.participant_id).map_err(corrupt)?,
            entered_at: from_micros(r.entered_at),
            admitted_at: r.admitted_at.map(from_micros),
            left_at: r.left_at.map(from_micros),
            quality: quality_of(r.rtt_ms, r.loss_permille, r.bitrate_kbps, r.relayed),
        })
    }
}

/// A tab enters the room: admitted at once (`admitted`), or waiting.
pub async fn enter(
    conn: &mut Conn,
    peer: PeerId,
    appointment: AppointmentId,
    participant: Participant,
    admitted: bool,
    now: DateTime<Utc>,
) -> Result<Peer> {
    let row: PeerRow = sqlx::query_as(&format!(
        "INSERT INTO visit_peers (peer, appointment_id, participant_id, participant_kind, entered_at, admitted_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {PEER_COLUMNS}"
    ))
    .bind(peer.to_string())
    .bind(appointment.to_string())
    .bind(participant.id_text())
    .bind(participant.kind().as_str())
    .bind(to_micros(now))
    .bind(admitted.then(|| to_micros(now)))
    .fetch_one(conn)
    .await
    .db()?;
    row.try_into()
}

/// Tabs in a room now (waiting or in the call), first in first.
pub async fn room_peers(conn: &mut Conn, appointment: AppointmentId) -> Result<Vec<Peer>> {
    peers_where(conn, appointment, "AND left_at IS NULL").await
}

async fn peers_where(
    conn: &mut Conn,
    appointment: AppointmentId,
    filter: &str,
) -> Result<Vec<Peer>> {
    let rows: Vec<PeerRow> = sqlx::query_as(&format!(
        "SELECT {PEER_COLUMNS} FROM visit_peers WHERE appointment_id = $1 {filter} \
         ORDER BY entered_at, peer"
    ))
    .bind(appointment.to_string())
    .fetch_all(conn)
    .await
    .db()?;
    rows.into_iter().map(Peer::try_from).collect()
}

/// Whether `participant` was let into this visit's call before (a tab that reconnects
/// after a network change comes straight back in).
pub async fn was_admitted(
    conn: &mut Conn,
    appointment: AppointmentId,
    participant: Participant,
) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM visit_peers WHERE appointment_id = $1 AND participant_id = $2 \
         AND admitted_at IS NOT NULL LIMIT 1",
    )
    .bind(appointment.to_string())
    .bind(participant.id_text())
    .fetch_optional(conn)
    .await
    .db()?;
    Ok(found.is_some())
}

/// Lets a waiting tab in. None when it is not waiting in this room (admitted already,
/// gone, or another visit's).
pub async fn admit(
    conn: &mut Conn,
    appointment: AppointmentId,
    peer: PeerId,
    now: DateTime<Utc>,
) -> Result<Option<Peer>> {
    let row: Option<PeerRow> = sqlx::query_as(&format!(
        "UPDATE visit_peers SET admitted_at = $1 \
         WHERE peer = $2 AND appointment_id = $3 AND admitted_at IS NULL AND left_at IS NULL \
         RETURNING {PEER_COLUMNS}"
    ))
    .bind(to_micros(now))
    .bind(peer.to_string())
    .bind(appointment.to_string())
    .fetch_optional(conn)
    .await
    .db()?;
    row.map(Peer::try_from).transpose()
}

/// A tab leaves (or its connection ended). Returns it if it was still in a room.
pub async fn leave(conn: &mut Conn, peer: PeerId, now: DateTime<Utc>) -> Result<Option<Peer>> {
    let row: Option<PeerRow> = sqlx::query_as(&format!(
        "UPDATE visit_peers SET left_at = $1 WHERE peer = $2 AND left_at IS NULL RETURNING {PEER_COLUMNS}"
    ))
    .bind(to_micros(now))
    .bind(peer.to_string())
    .fetch_optional(conn)
    .await
    .db()?;
    row.map(Peer::try_from).transpose()
}

/// Stores a tab's latest call-quality report.
pub async fn report_quality(
    conn: &mut Conn,
    peer: PeerId,
    quality: Quality,
    now: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE visit_peers SET rtt_ms = $1, loss_permille = $2, bitrate_kbps = $3, relayed = $4, reported_at = $5 \
         WHERE peer = $6 AND admitted_at IS NOT NULL",
    )
    .bind(quality.rtt_ms)
    .bind(quality.loss_permille)
    .bind(quality.bitrate_kbps)
    .bind(i64::from(quality.relayed))
    .bind(to_micros(now))
    .bind(peer.to_string())
    .execute(conn)
    .await
    .db()?;
    Ok(done.rows_affected() == 1)
}

/// The call of one appointment.
#[derive(Debug, Clone, PartialEq)]
pub struct Encounter {
    pub appointment: AppointmentId,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub ended_by: Option<UserId>,
    /// Averages over the participants' reports (loss: the worst); none without reports.
    pub quality: Option<Quality>,
}

impl Encounter {
    pub fn duration(&self) -> Option<chrono::Duration> {
        self.ended_at.map(|end| end - self.started_at)
    }
}

#[derive(sqlx::FromRow)]
struct EncounterRow {
    appointment_id: String,
    started_at: i64,
    ended_at: Option<i64>,
    ended_by: Option<String>,
    rtt_ms: Option<i64>,
    loss_permille: Option<i64>,
    bitrate_kbps: Option<i64>,
    relayed: Option<i64>,
}

impl TryFrom<EncounterRow> for Encounter {
    type Error = Error;
    fn try_from(r: EncounterRow) -> Result<Encounter> {
        Ok(Encounter {
            appointment: r.appointment_id.parse().map_err(corrupt)?,
            started_at: from_micros(r.started_at),
            ended_at: r.ended_at.map(from_micros),
            ended_by: r.ended_by.map(|u| u.parse()).transpose().map_err(corrupt)?,
            quality: quality_of(r.rtt_ms, r.loss_permille, r.bitrate_kbps, r.relayed),
        })
    }
}

const ENCOUNTER_COLUMNS: &str = "appointment_id, started_at, ended_at, ended_by, rtt_ms, \
    loss_permille, bitrate_kbps, relayed";

/// Starts the encounter at the first admission; later calls change nothing.
pub async fn start_encounter(
    conn: &mut Conn,
    appointment: AppointmentId,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO encounters (appointment_id, started_at) VALUES ($1, $2) \
         ON CONFLICT (appointment_id) DO NOTHING",
    )
    .bind(appointment.to_string())
    .bind(to_micros(now))
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

/// Ends the encounter: writes the quality summary from the tabs' reports and closes
/// every tab still in the room. False if it was not running.
pub async fn end_encounter(
    conn: &mut Conn,
    appointment: AppointmentId,
    by: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let reported = "FROM visit_peers WHERE appointment_id = $3 AND reported_at IS NOT NULL";
    let done = sqlx::query(&format!(
        "UPDATE encounters SET ended_at = $1, ended_by = $2, \
         rtt_ms = (SELECT CAST(AVG(rtt_ms) AS BIGINT) {reported}), \
         loss_permille = (SELECT MAX(loss_permille) {reported}), \
         bitrate_kbps = (SELECT CAST(AVG(bitrate_kbps) AS BIGINT) {reported}), \
         relayed = (SELECT MAX(relayed) {reported}) \
         WHERE appointment_id = $3 AND ended_at IS NULL"
    ))
    .bind(to_micros(now))
    .bind(by.map(|u| u.to_string()))
    .bind(appointment.to_string())
    .execute(&mut *conn)
    .await
    .db()?;
    sqlx::query(
        "UPDATE visit_peers SET left_at = $1 WHERE appointment_id = $2 AND left_at IS NULL",
    )
    .bind(to_micros(now))
    .bind(appointment.to_string())
    .execute(conn)
    .await
    .db()?;
    Ok(done.rows_affected() == 1)
}

/// One line of the in-call chat.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatLine {
    pub seq: i64,
    pub participant: Participant,
    pub body: String,
    pub sent_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ChatRow {
    seq: i64,
    participant_id: String,
    participant_kind: String,
    body: String,
    sent_at: i64,
}

/// Adds a chat line to a running encounter; None when no call is running.
pub async fn append_chat(
    conn: &mut Conn,
    appointment: AppointmentId,
    from: Participant,
    body: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    let seq: Option<i64> = sqlx::query_scalar(
        "UPDATE encounters SET chat_seq = chat_seq + 1 \
         WHERE appointment_id = $1 AND ended_at IS NULL RETURNING chat_seq",
    )
    .bind(appointment.to_string())
    .fetch_optional(&mut *conn)
    .await
    .db()?;
    let Some(seq) = seq else { return Ok(None) };
    sqlx::query(
        "INSERT INTO visit_chat (appointment_id, seq, participant_id, participant_kind, body, sent_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(appointment.to_string())
    .bind(seq)
    .bind(from.id_text())
    .bind(from.kind().as_str())
    .bind(body.to_owned())
    .bind(to_micros(now))
    .execute(conn)
    .await
    .db()?;
    Ok(Some(seq))
}

/// A link that lets a guest into one visit.
#[derive(Debug, Clone, PartialEq)]
pub struct Invite {
    pub guest: GuestId,
    pub appointment: AppointmentId,
    pub label: String,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct InviteRow {
    id: String,
    appointment_id: String,
    label: String,
    created_by: String,
    created_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl TryFrom<InviteRow> for Invite {
    type Error = Error;
    fn try_from(r: InviteRow) -> Result<Invite> {
        Ok(Invite {
            guest: r.id.parse().map_err(corrupt)?,
            appointment: r.appointment_id.parse().map_err(corrupt)?,
            label: r.label,
            created_by: r.created_by.parse().map_err(corrupt)?,
            created_at: from_micros(r.created_at),
            expires_at: from_micros(r.expires_at),
            used_at: r.used_at.map(from_micros),
            revoked_at: r.revoked_at.map(from_micros),
        })
    }
}

const INVITE_COLUMNS: &str =
    "id, appointment_id, label, created_by, created_at, expires_at, used_at, revoked_at";

pub struct NewInvite<'a> {
    pub appointment: AppointmentId,
    pub label: &'a str,
    pub token_hash: &'a str,
    pub created_by: UserId,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert_invite(
    conn: &mut Conn,
    new: NewInvite<'_>,
    now: DateTime<Utc>,
) -> Result<Invite> {
    let row: InviteRow = sqlx::query_as(&format!(
        "INSERT INTO visit_invites (id, appointment_id, label, token_hash, created_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {INVITE_COLUMNS}"
    ))
    .bind(GuestId::new().to_string())
    .bind(new.appointment.to_string())
    .bind(new.label.to_owned())
    .bind(new.token_hash.to_owned())
    .bind(new.created_by.to_string())
    .bind(to_micros(now))
    .bind(to_micros(new.expires_at))
    .fetch_one(conn)
    .await
    .db()?;
    row.try_into()
}

/// Spends the link behind `token_hash` (single use) and ties the guest's pass to it.
pub async fn use_invite(
    conn: &mut Conn,
    token_hash: &str,
    pass_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<Invite>> {
    let row: Option<InviteRow> = sqlx::query_as(&format!(
        "UPDATE visit_invites SET used_at = $1, pass_hash = $2 \
         WHERE token_hash = $3 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1 \
         RETURNING {INVITE_COLUMNS}"
    ))
    .bind(to_micros(now))
    .bind(pass_hash.to_owned())
    .bind(token_hash.to_owned())
    .fetch_optional(conn)
    .await
    .db()?;
    row.map(Invite::try_from).transpose()
}

pub async fn revoke_invite(
    conn: &mut Conn,
    appointment: AppointmentId,
    guest: GuestId,
    now: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE visit_invites SET revoked_at = $1 WHERE id = $2 AND appointment_id = $3 AND revoked_at IS NULL",
    )
    .bind(to_micros(now))
    .bind(guest.to_string())
    .bind(appointment.to_string())
    .execute(conn)
    .await
    .db()?;
    Ok(done.rows_affected() == 1)
}

/// Records a consent (accepting the same version again changes nothing).
pub async fn accept_consent(
    conn: &mut Conn,
    user: UserId,
    kind: &str,
    version: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO consents (id, user_id, kind, version, accepted_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (user_id, kind, version) DO NOTHING",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(user.to_string())
    .bind(kind.to_owned())
    .bind(version.to_owned())
    .bind(to_micros(now))
    .execute(conn)
    .await
    .db()?;
    Ok(done.rows_affected() == 1)
}

pub use telemed_domain::views::Consent;

impl Store {
    pub async fn room_peer(&self, peer: PeerId) -> Result<Option<Peer>> {
        let row: Option<PeerRow> = sqlx::query_as(&format!(
            "SELECT {PEER_COLUMNS} FROM visit_peers WHERE peer = $1"
        ))
        .bind(peer.to_string())
        .fetch_optional(self.pool())
        .await
        .db()?;
        row.map(Peer::try_from).transpose()
    }

    /// Tabs in a room now (waiting or in the call), first in first.
    pub async fn room_peers(&self, appointment: AppointmentId) -> Result<Vec<Peer>> {
        let mut conn = self.pool().acquire().await.db()?;
        room_peers(&mut conn, appointment).await
    }

    /// Every tab that was ever in the call: who joined and left when.
    pub async fn visit_attendance(&self, appointment: AppointmentId) -> Result<Vec<Peer>> {
        let mut conn = self.pool().acquire().await.db()?;
        peers_where(&mut conn, appointment, "AND admitted_at IS NOT NULL").await
    }

    pub async fn encounter(&self, appointment: AppointmentId) -> Result<Option<Encounter>> {
        let row: Option<EncounterRow> = sqlx::query_as(&format!(
            "SELECT {ENCOUNTER_COLUMNS} FROM encounters WHERE appointment_id = $1"
        ))
        .bind(appointment.to_string())
        .fetch_optional(self.pool())
        .await
        .db()?;
        row.map(Encounter::try_from).transpose()
    }

    /// Chat lines after `after`, oldest first.
    pub async fn visit_chat(
        &self,
        appointment: AppointmentId,
        after: i64,
        limit: i64,
    ) -> Result<Vec<ChatLine>> {
        let rows: Vec<ChatRow> = sqlx::query_as(
            "SELECT seq, participant_id, participant_kind, body, sent_at FROM visit_chat \
             WHERE appointment_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(appointment.to_string())
        .bind(after)
        .bind(limit.clamp(1, 500))
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter()
            .map(|r| {
                let kind: ParticipantKind = r.participant_kind.parse().map_err(corrupt)?;
                Ok(ChatLine {
                    seq: r.seq,
                    participant: Participant::from_parts(kind, &r.participant_id)
                        .map_err(corrupt)?,
                    body: r.body,
                    sent_at: from_micros(r.sent_at),
                })
            })
            .collect()
    }

    /// The invite a guest's pass belongs to, while it is good: not revoked, and the
    /// visit's call not over.
    pub async fn invite_by_pass(&self, pass_hash: &str) -> Result<Option<Invite>> {
        let row: Option<InviteRow> = sqlx::query_as(&format!(
            "SELECT {INVITE_COLUMNS} FROM visit_invites i WHERE pass_hash = $1 AND revoked_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM encounters e WHERE e.appointment_id = i.appointment_id AND e.ended_at IS NOT NULL)"
        ))
        .bind(pass_hash.to_owned())
        .fetch_optional(self.pool())
        .await
        .db()?;
        row.map(Invite::try_from).transpose()
    }

    /// The invite behind a link, whatever its state.
    pub async fn invite_by_token(&self, token_hash: &str) -> Result<Option<Invite>> {
        let row: Option<InviteRow> = sqlx::query_as(&format!(
            "SELECT {INVITE_COLUMNS} FROM visit_invites WHERE token_hash = $1"
        ))
        .bind(token_hash.to_owned())
        .fetch_optional(self.pool())
        .await
        .db()?;
        row.map(Invite::try_from).transpose()
    }

    pub async fn invite(&self, guest: GuestId) -> Result<Option<Invite>> {
        let row: Option<InviteRow> = sqlx::query_as(&format!(
            "SELECT {INVITE_COLUMNS} FROM visit_invites WHERE id = $1"
        ))
        .bind(guest.to_string())
        .fetch_optional(self.pool())
        .await
        .db()?;
        row.map(Invite::try_from).transpose()
    }

    pub async fn invites_for(&self, appointment: AppointmentId) -> Result<Vec<Invite>> {
        let rows: Vec<InviteRow> = sqlx::query_as(&format!(
            "SELECT {INVITE_COLUMNS} FROM visit_invites WHERE appointment_id = $1 ORDER BY created_at"
        ))
        .bind(appointment.to_string())
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter().map(Invite::try_from).collect()
    }

    /// The consents of the patient whose demographics `grant` opens, oldest first.
    pub async fn consents_of(&self, grant: &Grant) -> Result<Vec<Consent>> {
        let patient = grant.require(Section::Demographics, Op::Read)?;
        self.consents_where("user_id = $1", &patient.to_string())
            .await
    }

    /// One consent by its id, sealed with the patient's demographics.
    pub async fn consent(&self, id: &str) -> Result<Option<Sealed<Consent>>> {
        Ok(self
            .consents_where("id = $1", id)
            .await?
            .pop()
            .map(|c| Sealed::new(c.user, Section::Demographics, c)))
    }

    /// Whether `person` accepted version `version` of consent `kind`: a yes or no the
    /// person's own room asks before they enter it, nothing of the consent itself.
    pub async fn has_accepted(&self, person: UserId, kind: &str, version: &str) -> Result<bool> {
        let found: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM consents WHERE user_id = $1 AND kind = $2 AND version = $3",
        )
        .bind(person.to_string())
        .bind(kind)
        .bind(version)
        .fetch_one(self.pool())
        .await
        .db()?;
        Ok(found > 0)
    }

    async fn consents_where(&self, condition: &str, value: &str) -> Result<Vec<Consent>> {
        let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(&format!(
            "SELECT id, user_id, kind, version, accepted_at FROM consents WHERE {condition} \
             ORDER BY accepted_at, id"
        ))
        .bind(value.to_owned())
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter()
            .map(|(id, user, kind, version, at)| {
                Ok(Consent {
                    id,
                    user: user
                        .parse()
                        .map_err(|_| Error::internal("corrupt consent"))?,
                    kind,
                    version,
                    accepted_at: from_micros(at),
                })
            })
            .collect()
    }
}
