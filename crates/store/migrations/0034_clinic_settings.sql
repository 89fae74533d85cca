-- The clinic as its admins describe it on the clinic page: its name, how to reach it,
-- its zone, the languages and kinds of visit it offers, and its scheduling policy. One
-- row, kept as the JSON the server validated, with a revision so that two admins'
-- concurrent edits cannot overwrite each other unseen. No row: the built-in defaults.
CREATE TABLE clinic_settings (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    settings TEXT NOT NULL,
    revision BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT REFERENCES users (id)
);

-- The clinic's logo (PNG, JPEG or WebP), shown on every page; base64 of the bytes as
-- uploaded.
CREATE TABLE clinic_logo (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    media_type TEXT NOT NULL,
    data TEXT NOT NULL,
    digest TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Consent texts the clinic published, per version and language. A version is never
-- changed once published: a patient's acceptance (consents.version) names the text
-- they read. No row for a kind: the built-in text (version 2026-11).
CREATE TABLE consent_texts (
    kind TEXT NOT NULL,
    version TEXT NOT NULL,
    lang TEXT NOT NULL,
    body TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    published_by TEXT NOT NULL REFERENCES users (id),
    PRIMARY KEY (kind, version, lang)
);
CREATE INDEX consent_texts_published ON consent_texts (kind, published_at);
