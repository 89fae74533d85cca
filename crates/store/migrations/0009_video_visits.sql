-- Live video visits (see ARCHITECTURE.md, "Video visits"): who is in a visit's room,
-- the encounter the call records, the chat kept with it, guests invited by link, and
-- the telehealth consent patients accept before their first video visit.

-- The call of one appointment: from the first admission to its end.
CREATE TABLE encounters (
    appointment_id TEXT PRIMARY KEY REFERENCES appointments (id),
    started_at BIGINT NOT NULL,
    ended_at BIGINT,
    ended_by TEXT REFERENCES users (id),
    -- Call-quality summary written at the end, from what the browsers reported.
    rtt_ms BIGINT,
    loss_permille BIGINT,
    bitrate_kbps BIGINT,
    relayed BIGINT,
    chat_seq BIGINT NOT NULL DEFAULT 0
);

-- One browser tab in a visit's room. `participant_id` is a user id, or a guest's
-- invite id; waiting until `admitted_at`, gone at `left_at`.
CREATE TABLE visit_peers (
    peer TEXT PRIMARY KEY,
    appointment_id TEXT NOT NULL REFERENCES appointments (id),
    participant_id TEXT NOT NULL,
    participant_kind TEXT NOT NULL CHECK (participant_kind IN ('patient', 'clinician', 'guest')),
    entered_at BIGINT NOT NULL,
    admitted_at BIGINT,
    left_at BIGINT,
    -- The tab's latest call-quality report (averages over the call so far).
    rtt_ms BIGINT,
    loss_permille BIGINT,
    bitrate_kbps BIGINT,
    relayed BIGINT,
    reported_at BIGINT
);
CREATE INDEX visit_peers_room ON visit_peers (appointment_id, left_at);

CREATE TABLE visit_chat (
    appointment_id TEXT NOT NULL REFERENCES encounters (appointment_id),
    seq BIGINT NOT NULL,
    participant_id TEXT NOT NULL,
    participant_kind TEXT NOT NULL,
    body TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    PRIMARY KEY (appointment_id, seq)
);

-- A single-use link to a visit for someone without a role in it (interpreter, family
-- member, a second clinician). Opening it spends the link and gives the browser a pass
-- for this visit only.
CREATE TABLE visit_invites (
    id TEXT PRIMARY KEY,
    appointment_id TEXT NOT NULL REFERENCES appointments (id),
    label TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    pass_hash TEXT UNIQUE,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX visit_invites_appointment ON visit_invites (appointment_id);

CREATE TABLE consents (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    version TEXT NOT NULL,
    accepted_at BIGINT NOT NULL,
    UNIQUE (user_id, kind, version)
);
