-- Identifiers other systems know a patient by (a medical record number, a national
-- id), given when the patient is created through FHIR; `system` is '' when the
-- identifier came without one. One system's value names one patient.
CREATE TABLE patient_identifiers (
    patient_id TEXT NOT NULL REFERENCES users (id),
    system TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (patient_id, system, value),
    UNIQUE (system, value)
);
