-- Sending a prescription to the pharmacy chosen at signing, when the pharmacy takes
-- prescriptions electronically: queued at signing, then sent or failed (with what the
-- pharmacy's system answered, for the prescriber to see).
ALTER TABLE prescriptions ADD COLUMN sending TEXT;
ALTER TABLE prescriptions ADD COLUMN sending_detail TEXT;
ALTER TABLE prescriptions ADD COLUMN sending_at BIGINT;
