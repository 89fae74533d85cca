-- The patient record (see ARCHITECTURE.md, "Patient record"): demographics, chart
-- entries, visit notes with addenda, and what the access policy needs to know: care
-- teams, proxies (parents, carers) and break-the-glass grants.

CREATE TABLE patient_profiles (
    patient_id TEXT PRIMARY KEY REFERENCES users (id),
    birth_date TEXT,
    sex TEXT CHECK (sex IN ('female', 'male', 'other', 'unknown')),
    phone TEXT,
    address TEXT,
    emergency_contact TEXT,
    emergency_phone TEXT,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL REFERENCES users (id)
);

CREATE TABLE chart_entries (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES users (id),
    section TEXT NOT NULL CHECK (section IN
        ('problems', 'allergies', 'medications', 'immunizations', 'vitals', 'labs', 'history')),
    code_system TEXT,
    code TEXT,
    text TEXT NOT NULL,
    status TEXT NOT NULL,
    effective_at BIGINT,
    ended_at BIGINT,
    value DOUBLE PRECISION,
    value2 DOUBLE PRECISION,
    value_text TEXT,
    unit TEXT,
    range_low DOUBLE PRECISION,
    range_high DOUBLE PRECISION,
    severity TEXT,
    reaction TEXT,
    dosage TEXT,
    relation TEXT,
    note TEXT,
    recorded_at BIGINT NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users (id),
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX chart_entries_by_section ON chart_entries (patient_id, section, effective_at);

CREATE TABLE visit_notes (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES users (id),
    appointment_id TEXT REFERENCES appointments (id),
    author_id TEXT NOT NULL REFERENCES users (id),
    template TEXT NOT NULL,
    subjective TEXT NOT NULL,
    objective TEXT NOT NULL,
    assessment TEXT NOT NULL,
    plan TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'signed')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    signed_at BIGINT,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX visit_notes_by_patient ON visit_notes (patient_id, created_at);
-- One note per encounter.
CREATE UNIQUE INDEX visit_notes_one_per_visit ON visit_notes (appointment_id);

-- Corrections to a signed note: signed when written, never changed.
CREATE TABLE note_addenda (
    id TEXT PRIMARY KEY,
    note_id TEXT NOT NULL REFERENCES visit_notes (id),
    author_id TEXT NOT NULL REFERENCES users (id),
    body TEXT NOT NULL,
    signed_at BIGINT NOT NULL
);
CREATE INDEX note_addenda_by_note ON note_addenda (note_id, signed_at);

CREATE TABLE care_team (
    patient_id TEXT NOT NULL REFERENCES users (id),
    clinician_id TEXT NOT NULL REFERENCES users (id),
    added_by TEXT NOT NULL REFERENCES users (id),
    added_at BIGINT NOT NULL,
    PRIMARY KEY (patient_id, clinician_id)
);
CREATE INDEX care_team_by_clinician ON care_team (clinician_id);

-- A parent or carer reading (and adding documents to) a patient's record.
CREATE TABLE record_proxies (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES users (id),
    proxy_id TEXT NOT NULL REFERENCES users (id),
    relationship TEXT NOT NULL,
    granted_by TEXT NOT NULL REFERENCES users (id),
    granted_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX record_proxies_by_proxy ON record_proxies (proxy_id, patient_id);

-- Emergency access without a care relationship: a stated reason, a deadline.
CREATE TABLE break_glass (
    id TEXT PRIMARY KEY,
    actor_id TEXT NOT NULL REFERENCES users (id),
    patient_id TEXT NOT NULL REFERENCES users (id),
    reason TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX break_glass_by_actor ON break_glass (actor_id, patient_id, expires_at);
CREATE INDEX break_glass_by_patient ON break_glass (patient_id, granted_at);
