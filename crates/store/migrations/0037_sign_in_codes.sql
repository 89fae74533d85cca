-- Codes a patient signs in with instead of a password: six digits sent by email, valid
-- for ten minutes, used once; a newer code voids the older ones. The hash covers the
-- user id and the code, so equal codes of two people never meet. Guesses are bounded
-- by the sign-in throttle (failures per account and per address lock both).
CREATE TABLE sign_in_codes (
    code_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX sign_in_codes_user ON sign_in_codes (user_id, used_at);
