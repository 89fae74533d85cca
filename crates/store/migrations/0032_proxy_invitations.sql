-- Proxy access by invitation: the patient (or the front desk) names an email address,
-- and the person who signs in with that address accepts or declines. The inviter is
-- answered the same whoever the address belongs to, so an invitation tells nobody
-- whether someone is a patient here.
CREATE TABLE proxy_invitations (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES users (id),
    email TEXT NOT NULL,
    relationship TEXT NOT NULL,
    invited_by TEXT NOT NULL REFERENCES users (id),
    invited_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    -- accepted, declined or withdrawn; NULL while it waits for an answer
    answer TEXT,
    answered_at BIGINT,
    -- the access an acceptance opened
    proxy_grant_id TEXT REFERENCES record_proxies (id)
);
CREATE INDEX proxy_invitations_by_email ON proxy_invitations (email, answer);
CREATE INDEX proxy_invitations_by_patient ON proxy_invitations (patient_id, answer);
