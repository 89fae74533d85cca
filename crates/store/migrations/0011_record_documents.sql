-- The latest reading of each vital sign for the chart summary, without reading the
-- patient's whole history.
CREATE INDEX chart_entries_by_code ON chart_entries (patient_id, section, code, effective_at);

-- Documents and images in the patient record (see ARCHITECTURE.md, "Patient record"):
-- each is an encrypted blob, with an encrypted preview (a thumbnail for photos, a
-- rendered PNG for DICOM) and, for DICOM, what its header says.

CREATE TABLE record_documents (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES users (id),
    blob_id TEXT NOT NULL UNIQUE REFERENCES blobs (id),
    category TEXT NOT NULL CHECK (category IN
        ('photo', 'report', 'lab_report', 'scan', 'imaging', 'letter', 'other')),
    title TEXT NOT NULL,
    description TEXT,
    appointment_id TEXT REFERENCES appointments (id),
    thumbnail_blob_id TEXT REFERENCES blobs (id),
    preview_blob_id TEXT REFERENCES blobs (id),
    status TEXT NOT NULL CHECK (status IN ('current', 'entered_in_error')),
    uploaded_by TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX record_documents_by_patient ON record_documents (patient_id, created_at);

-- The header of a DICOM document: the study, series and instance it belongs to.
CREATE TABLE dicom_instances (
    document_id TEXT PRIMARY KEY REFERENCES record_documents (id),
    study_uid TEXT NOT NULL,
    series_uid TEXT NOT NULL,
    sop_instance_uid TEXT NOT NULL,
    sop_class_uid TEXT NOT NULL,
    transfer_syntax TEXT NOT NULL,
    modality TEXT,
    study_date TEXT,
    study_description TEXT,
    series_description TEXT,
    series_number BIGINT,
    instance_number BIGINT,
    body_part TEXT,
    patient_name TEXT,
    patient_identifier TEXT,
    rows_count BIGINT,
    columns_count BIGINT,
    frames BIGINT,
    window_center DOUBLE PRECISION,
    window_width DOUBLE PRECISION
);
CREATE INDEX dicom_instances_by_study ON dicom_instances (study_uid, series_uid);
