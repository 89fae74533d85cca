-- Clinical data kept as it was written (ARCHITECTURE.md, "What a sender wrote is kept").
-- A chart entry keeps: its times as written (a year, a month, a date or an instant
-- with its offset; *_at stays the start of that span, for ordering and searching), how
-- sure its author was (verification), an allergy's criticality, the value and unit as
-- sent when telemed converted them, its observation categories (space-delimited, for
-- the category search), and the resource as another system wrote it (source, FHIR
-- JSON with its references resolved) with the status that resource stated.
ALTER TABLE chart_entries ADD COLUMN effective_text TEXT;
ALTER TABLE chart_entries ADD COLUMN ended_text TEXT;
ALTER TABLE chart_entries ADD COLUMN verification TEXT;
ALTER TABLE chart_entries ADD COLUMN criticality TEXT;
ALTER TABLE chart_entries ADD COLUMN as_sent TEXT;
ALTER TABLE chart_entries ADD COLUMN categories TEXT;
ALTER TABLE chart_entries ADD COLUMN source TEXT;
ALTER TABLE chart_entries ADD COLUMN source_status TEXT;
ALTER TABLE chart_entry_history ADD COLUMN effective_text TEXT;
ALTER TABLE chart_entry_history ADD COLUMN ended_text TEXT;
ALTER TABLE chart_entry_history ADD COLUMN verification TEXT;
ALTER TABLE chart_entry_history ADD COLUMN criticality TEXT;
ALTER TABLE chart_entry_history ADD COLUMN as_sent TEXT;
ALTER TABLE chart_entry_history ADD COLUMN categories TEXT;
ALTER TABLE chart_entry_history ADD COLUMN source TEXT;
ALTER TABLE chart_entry_history ADD COLUMN source_status TEXT;
UPDATE chart_entries SET categories = ' vital-signs ' WHERE section = 'vitals';
UPDATE chart_entries SET categories = ' laboratory ' WHERE section = 'labs';
UPDATE chart_entry_history SET categories = ' vital-signs ' WHERE section = 'vitals';
UPDATE chart_entry_history SET categories = ' laboratory ' WHERE section = 'labs';
-- A patient registered by another system: the Patient resource as it was written.
ALTER TABLE patient_profiles ADD COLUMN source TEXT;
