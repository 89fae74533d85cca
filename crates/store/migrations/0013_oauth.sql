-- OAuth 2 for FHIR apps (SMART App Launch): clients an admin registers, one-time
-- authorization codes (PKCE), and grants (one per authorization a user gave) with their
-- access and refresh tokens. Secrets, codes and tokens are stored as SHA-256 only.
-- Revoking a grant ends all its tokens at once.

CREATE TABLE oauth_clients (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    -- Exact redirect URIs, one per line.
    redirect_uris TEXT NOT NULL,
    -- NULL for a public client (PKCE only); the secret's hash for a confidential one.
    secret_hash TEXT,
    -- The most this client may be granted (space-separated scopes).
    scopes TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    disabled_at BIGINT
);

CREATE TABLE oauth_grants (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES oauth_clients (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    scopes TEXT NOT NULL,
    -- The launch patient: the token reaches this patient's compartment only.
    patient_id TEXT REFERENCES users (id),
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX oauth_grants_by_user ON oauth_grants (user_id, created_at);

CREATE TABLE oauth_codes (
    code_hash TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL REFERENCES oauth_grants (id),
    redirect_uri TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

CREATE TABLE oauth_tokens (
    token_hash TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL REFERENCES oauth_grants (id),
    kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    -- A refresh token is spent when used (rotation); a second use revokes the grant.
    used_at BIGINT
);
CREATE INDEX oauth_tokens_by_grant ON oauth_tokens (grant_id);
