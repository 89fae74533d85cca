-- FHIR Bulk Data exports: one row per kick-off, the NDJSON it produced in files of at
-- most 10,000 resources (kept in the database beside the record they copy; removed
-- with the export).
CREATE TABLE fhir_exports (
    id TEXT PRIMARY KEY,
    requester_id TEXT NOT NULL REFERENCES users (id),
    request_url TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'cancelled')),
    created_at BIGINT NOT NULL,
    completed_at BIGINT,
    error TEXT
);
CREATE INDEX fhir_exports_by_requester ON fhir_exports (requester_id, created_at);

CREATE TABLE fhir_export_files (
    export_id TEXT NOT NULL REFERENCES fhir_exports (id),
    seq BIGINT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_count BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (export_id, seq)
);
