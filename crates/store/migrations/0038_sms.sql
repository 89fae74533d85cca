-- Text messages (SMS) beside email: the outbox carries both, by channel. A text keeps
-- the id its provider gave it and what the provider last said of it (sent, delivered,
-- undelivered, failed; `rejected` when the provider refused it outright, never
-- retried). Bodies are erased once handed over, as for email.
ALTER TABLE mail_outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'email';
ALTER TABLE mail_outbox ADD COLUMN provider_id TEXT;
ALTER TABLE mail_outbox ADD COLUMN delivery TEXT;
CREATE INDEX mail_outbox_provider ON mail_outbox (provider_id);
