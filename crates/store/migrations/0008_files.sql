-- Files, encrypted at rest (see ARCHITECTURE.md, "Files"). The object in storage holds
-- only ciphertext; its data key is here, wrapped under the master key named by key_id.

CREATE TABLE blobs (
    id TEXT PRIMARY KEY,
    -- What the content was sniffed to be: png, jpeg, gif, webp, pdf, dicom.
    media_type TEXT NOT NULL,
    file_name TEXT NOT NULL,
    byte_size BIGINT NOT NULL,
    -- SHA-256 of the plaintext, checked again after every decryption.
    sha256 TEXT NOT NULL,
    key_id TEXT NOT NULL,
    wrapped_key TEXT NOT NULL,
    owner_id TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX blobs_key_id ON blobs (key_id);
CREATE INDEX blobs_owner ON blobs (owner_id, created_at);

-- A file belongs to at most one message; uploaded files wait unattached until sent.
CREATE TABLE message_attachments (
    blob_id TEXT PRIMARY KEY REFERENCES blobs (id),
    message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    thread_id TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    position BIGINT NOT NULL
);
CREATE INDEX message_attachments_message ON message_attachments (message_id);
