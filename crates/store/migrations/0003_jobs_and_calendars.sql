-- A persistent job queue (reminders and other work that must survive a restart and run
-- once even with several server processes), calendar attachments on mail, and
-- clinicians' private calendar feed tokens.

CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    -- Set for jobs that must exist once, e.g. reminder:<appointment>:<hours>.
    dedup_key TEXT UNIQUE,
    run_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    done_at BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (done_at, run_at);

ALTER TABLE mail_outbox ADD COLUMN calendar TEXT;

CREATE TABLE calendar_feeds (
    clinician_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
