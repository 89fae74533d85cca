-- A person's earlier names (a correction, a new legal name), each with when it stopped
-- being theirs; shown as FHIR `HumanName` entries of use `old`.
CREATE TABLE former_names (
    user_id TEXT NOT NULL REFERENCES users (id),
    display_name TEXT NOT NULL,
    family_name TEXT,
    given_names TEXT,
    until BIGINT NOT NULL
);
CREATE INDEX former_names_user ON former_names (user_id, until);
