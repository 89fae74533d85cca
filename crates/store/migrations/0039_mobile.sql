-- A person's mobile number for text messages, and which notices come by text. A number
-- is used only once confirmed: the number typed waits in `mobile_pending` with the hash
-- of a six-digit code sent to it by SMS (ten minutes, five tries); the right code moves
-- it to `mobile`. Each group of notices has an SMS choice beside its email one (off
-- until chosen); the group `codes` says how a patient gets sign-in codes.
ALTER TABLE users ADD COLUMN mobile TEXT;
ALTER TABLE users ADD COLUMN mobile_pending TEXT;
ALTER TABLE users ADD COLUMN mobile_code_hash TEXT;
ALTER TABLE users ADD COLUMN mobile_code_expires_at BIGINT;
ALTER TABLE users ADD COLUMN mobile_code_tries BIGINT NOT NULL DEFAULT 0;
ALTER TABLE notification_prefs ADD COLUMN sms BIGINT NOT NULL DEFAULT 0;
