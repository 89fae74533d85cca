-- The codings a sender gave an entry's code beside the one the chart shows (an ICD-10
-- code beside SNOMED CT, a local lab code beside LOINC), so that a code search finds
-- the entry by any of them. The shown coding stays in chart_entries.code_system/code.
CREATE TABLE chart_entry_codings (
    entry_id TEXT NOT NULL REFERENCES chart_entries (id),
    patient_id TEXT NOT NULL REFERENCES users (id),
    system TEXT NOT NULL,
    code TEXT NOT NULL,
    PRIMARY KEY (entry_id, system, code)
);
CREATE INDEX chart_entry_codings_by_code ON chart_entry_codings (patient_id, code, system);
