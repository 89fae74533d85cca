-- Files uploaded for a message that has not been sent yet. Sending a message takes its
-- files out of this table; what stays past expires_at is deleted (`[files]
-- unsent_upload_hours`). Files filed in a record or sent are never here.
CREATE TABLE unsent_uploads (
    blob_id TEXT PRIMARY KEY REFERENCES blobs (id),
    owner_id TEXT NOT NULL REFERENCES users (id),
    expires_at BIGINT NOT NULL
);
CREATE INDEX unsent_uploads_expiry ON unsent_uploads (expires_at);
CREATE INDEX unsent_uploads_owner ON unsent_uploads (owner_id);

-- Uploads already waiting: a day after the upgrade at the earliest, so that nobody
-- loses a file they were about to send.
INSERT INTO unsent_uploads (blob_id, owner_id, expires_at)
SELECT b.id, b.owner_id,
-- [sqlite]     MAX(b.created_at, CAST(strftime('%s', 'now') AS INTEGER) * 1000000) + 86400000000
-- [postgres]     GREATEST(b.created_at, CAST(EXTRACT(EPOCH FROM now()) AS BIGINT) * 1000000) + 86400000000
FROM blobs b
WHERE NOT EXISTS (SELECT 1 FROM message_attachments a WHERE a.blob_id = b.id)
  AND NOT EXISTS (
    SELECT 1 FROM record_documents d
    WHERE d.blob_id = b.id OR d.thumbnail_blob_id = b.id OR d.preview_blob_id = b.id
  );
