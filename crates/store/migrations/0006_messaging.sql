-- Secure messaging: threads between a patient and their care team (or the clinic's
-- inbox), or between clinicians. Messages are numbered per thread (`seq`, from the
-- thread's `last_seq` counter) so a reconnecting client asks for "after N" and gets
-- what it missed in order.

CREATE TABLE threads (
    id TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    -- The patient the thread is with; NULL between clinicians.
    patient_id TEXT REFERENCES users (id),
    -- 1: the clinic's general inbox, which every staff member sees.
    clinic_inbox BIGINT NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    last_seq BIGINT NOT NULL DEFAULT 0,
    last_message_at BIGINT NOT NULL
);
CREATE INDEX threads_patient ON threads (patient_id);

CREATE TABLE thread_members (
    thread_id TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id),
    read_seq BIGINT NOT NULL DEFAULT 0,
    archived_at BIGINT,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (thread_id, user_id)
);
CREATE INDEX thread_members_user ON thread_members (user_id);

CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    thread_id TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    sender_id TEXT NOT NULL REFERENCES users (id),
    body TEXT NOT NULL,
    -- The sender's own id for the message: a resend after a lost answer stores nothing new.
    client_id TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (thread_id, seq)
);
CREATE UNIQUE INDEX messages_client_id ON messages (sender_id, client_id);
