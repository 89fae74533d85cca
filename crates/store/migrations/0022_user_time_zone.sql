-- The IANA time zone of the browser a person last signed in with (telemed.js reports
-- it), for the times their emails state.
ALTER TABLE users ADD COLUMN time_zone TEXT;
