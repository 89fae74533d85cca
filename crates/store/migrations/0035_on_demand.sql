-- Patients waiting to be seen now (the on-demand queue of a specialty the clinic opened
-- for it), and who took them. A patient waits in one queue at a time; a request is
-- taken by one clinician only (the conditional update that takes it is the guard), and
-- the visit it became is an ordinary appointment.
CREATE TABLE on_demand_requests (
    -- The order patients joined in (timestamps can be equal).
-- [sqlite]     seq INTEGER PRIMARY KEY AUTOINCREMENT,
-- [postgres]     seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    patient_id TEXT NOT NULL REFERENCES users (id),
    specialty TEXT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('waiting', 'taken', 'withdrawn')),
    created_at BIGINT NOT NULL,
    taken_by TEXT REFERENCES users (id),
    taken_at BIGINT,
    appointment_id TEXT REFERENCES appointments (id),
    closed_at BIGINT
);
CREATE UNIQUE INDEX on_demand_one_wait ON on_demand_requests (patient_id) WHERE status = 'waiting';
CREATE INDEX on_demand_queue ON on_demand_requests (specialty, status, seq);
