-- The virtual waiting room: when the patient checked in.

ALTER TABLE appointments ADD COLUMN arrived_at BIGINT;
