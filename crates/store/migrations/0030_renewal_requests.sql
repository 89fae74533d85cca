-- A patient's requests to renew a prescription, in the prescriber's queue until they
-- answer: approved (with the new prescription they signed), denied with a reason, or
-- a visit asked for. One pending request per prescription.
CREATE TABLE renewal_requests (
    id TEXT PRIMARY KEY,
    prescription_id TEXT NOT NULL REFERENCES prescriptions (id),
    patient_id TEXT NOT NULL REFERENCES users (id),
    prescriber_id TEXT NOT NULL REFERENCES users (id),
    requested_by TEXT NOT NULL REFERENCES users (id),
    note TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    answer TEXT,
    answered_by TEXT REFERENCES users (id),
    answered_at BIGINT,
    renewed_as TEXT REFERENCES prescriptions (id)
);
CREATE INDEX renewal_requests_queue ON renewal_requests (prescriber_id, status, requested_at);
CREATE INDEX renewal_requests_by_patient ON renewal_requests (patient_id, requested_at);
CREATE UNIQUE INDEX renewal_requests_one_pending ON renewal_requests (prescription_id)
    WHERE status = 'pending';
