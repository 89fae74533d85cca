-- The node running a bulk export writes the time here while it works; an export whose
-- time grows old lost its node and is reported failed (the client asks again).
ALTER TABLE fhir_exports ADD COLUMN heartbeat_at BIGINT;
