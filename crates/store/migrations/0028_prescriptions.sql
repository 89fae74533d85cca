-- Prescriptions a clinician signed. A row is written once, at signing, and never
-- changed but for its status (cancelled, stopped, completed: with who, when and why).
-- The product is kept as the catalogue had it then (JSON), beside its code and name;
-- the sig as structured (JSON) and as the words the patient and pharmacy read; the
-- findings of the checks at signing with the reasons given to sign over them (JSON);
-- and the signed token the patient's copy carries for any pharmacy to verify.
CREATE TABLE prescriptions (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES users (id),
    prescriber_id TEXT NOT NULL REFERENCES users (id),
    medication_system TEXT NOT NULL,
    medication_code TEXT NOT NULL,
    medication_name TEXT NOT NULL,
    medication TEXT NOT NULL,
    sig TEXT NOT NULL,
    sig_text_en TEXT NOT NULL,
    sig_text_es TEXT NOT NULL,
    quantity DOUBLE PRECISION NOT NULL,
    quantity_unit TEXT NOT NULL,
    refills INTEGER NOT NULL,
    substitution_allowed INTEGER NOT NULL,
    note TEXT NOT NULL,
    findings TEXT NOT NULL,
    second_factor TEXT NOT NULL,
    signed_at BIGINT NOT NULL,
    token TEXT NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT,
    status_changed_at BIGINT,
    status_changed_by TEXT REFERENCES users (id)
);
CREATE INDEX prescriptions_by_patient ON prescriptions (patient_id, signed_at);
