-- Scheduling: clinician profiles, visit types, weekly availability with exceptions,
-- appointments, and the tick table through which the database refuses double-booking.

ALTER TABLE clinician_profiles ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE clinician_profiles ADD COLUMN languages TEXT NOT NULL DEFAULT 'en';
ALTER TABLE clinician_profiles ADD COLUMN regions TEXT NOT NULL DEFAULT '';
ALTER TABLE clinician_profiles ADD COLUMN bio TEXT NOT NULL DEFAULT '';
ALTER TABLE clinician_profiles ADD COLUMN buffer_minutes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE clinician_profiles ADD COLUMN horizon_days BIGINT NOT NULL DEFAULT 60;
ALTER TABLE clinician_profiles ADD COLUMN min_notice_minutes BIGINT NOT NULL DEFAULT 60;

CREATE TABLE visit_types (
    clinician_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('video', 'audio', 'messaging')),
    duration_minutes BIGINT NOT NULL,
    fee_cents BIGINT NOT NULL,
    currency TEXT NOT NULL,
    PRIMARY KEY (clinician_id, kind)
);

-- weekday: 0 = Monday ... 6 = Sunday; minutes since local midnight.
CREATE TABLE availability_rules (
    clinician_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    weekday BIGINT NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    start_minute BIGINT NOT NULL,
    end_minute BIGINT NOT NULL
);
CREATE INDEX availability_rules_clinician ON availability_rules (clinician_id);

-- Dates as YYYY-MM-DD in the clinician's zone; no hours = closed all day.
CREATE TABLE availability_exceptions (
    clinician_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    date_from TEXT NOT NULL,
    date_to TEXT NOT NULL,
    start_minute BIGINT,
    end_minute BIGINT
);
CREATE INDEX availability_exceptions_clinician ON availability_exceptions (clinician_id);

CREATE TABLE appointments (
    id TEXT PRIMARY KEY,
    clinician_id TEXT NOT NULL REFERENCES users (id),
    patient_id TEXT NOT NULL REFERENCES users (id),
    visit_kind TEXT NOT NULL CHECK (visit_kind IN ('video', 'audio', 'messaging')),
    start_at BIGINT NOT NULL,
    end_at BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('proposed', 'booked', 'arrived', 'fulfilled', 'cancelled', 'noshow', 'entered-in-error')),
    reason TEXT NOT NULL,
    booked_by TEXT NOT NULL REFERENCES users (id),
    cancel_reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX appointments_clinician ON appointments (clinician_id, start_at);
CREATE INDEX appointments_patient ON appointments (patient_id, start_at);

-- Each 5-minute tick of an active appointment, claimed once per clinician: two
-- overlapping bookings cannot both commit, whatever the code above does.
CREATE TABLE appointment_ticks (
    clinician_id TEXT NOT NULL,
    tick BIGINT NOT NULL,
    appointment_id TEXT NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    PRIMARY KEY (clinician_id, tick)
);
CREATE INDEX appointment_ticks_appointment ON appointment_ticks (appointment_id);
