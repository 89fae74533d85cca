-- In-app notifications: what happened (a kind), about what (a subject id and time),
-- never clinical detail. `source` makes a retried job create its notification once.

CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    subject_id TEXT,
    subject_at BIGINT,
    source TEXT UNIQUE,
    created_at BIGINT NOT NULL,
    read_at BIGINT
);
CREATE INDEX notifications_user ON notifications (user_id, created_at);

-- iCalendar SEQUENCE of a visit: grows with each move or cancellation, so calendar
-- apps apply the newest invitation.
ALTER TABLE appointments ADD COLUMN sequence BIGINT NOT NULL DEFAULT 0;
