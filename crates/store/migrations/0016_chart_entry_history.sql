-- Earlier versions of chart entries, for FHIR vread and _history: a status change
-- copies the row as it was into this table, in the same transaction. The current
-- version stays in chart_entries.
CREATE TABLE chart_entry_history (
    id TEXT NOT NULL REFERENCES chart_entries (id),
    patient_id TEXT NOT NULL REFERENCES users (id),
    section TEXT NOT NULL,
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
    version BIGINT NOT NULL,
    PRIMARY KEY (id, version)
);
