-- Per-person choice of email per notification group (in-app notifications always
-- happen). No row: email on.

CREATE TABLE notification_prefs (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    email BIGINT NOT NULL,
    PRIMARY KEY (user_id, kind)
);
