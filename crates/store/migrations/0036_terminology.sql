-- Code systems clinicians pick codes from as they type (ICD-10-CM, LOINC, CVX): telemed's
-- starter set from a clinic's first start, and the full releases an admin imports. A
-- concept is never deleted: a release that no longer lists it leaves it inactive.
-- Type-ahead searches an index each node builds in memory from these rows.
CREATE TABLE terminology_concepts (
    system TEXT NOT NULL,
    code TEXT NOT NULL,
    -- The system's own name for the concept (English).
    display TEXT NOT NULL,
    -- LOINC: vital-signs, laboratory or other; NULL where a system has no such split.
    category TEXT,
    -- Recorded in a chart (an ICD-10-CM category heading is not).
    selectable INTEGER NOT NULL,
    active INTEGER NOT NULL,
    -- 'starter', or the import that last brought it ('import <terminology_imports.id>').
    source TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (system, code)
);
-- A concept's names in other languages.
CREATE TABLE terminology_names (
    system TEXT NOT NULL,
    code TEXT NOT NULL,
    lang TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (system, code, lang),
    FOREIGN KEY (system, code) REFERENCES terminology_concepts (system, code)
);
-- Releases imported (or being imported), with their progress.
CREATE TABLE terminology_imports (
    id TEXT PRIMARY KEY,
    system TEXT NOT NULL,
    file_name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    bytes_total BIGINT NOT NULL,
    bytes_read BIGINT NOT NULL,
    concepts INTEGER NOT NULL,
    added INTEGER NOT NULL,
    retired INTEGER NOT NULL,
    error TEXT,
    started_by TEXT REFERENCES users (id),
    started_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX terminology_imports_recent ON terminology_imports (started_at);
-- One import of a system at a time.
CREATE UNIQUE INDEX terminology_imports_one_running ON terminology_imports (system) WHERE status = 'running';
