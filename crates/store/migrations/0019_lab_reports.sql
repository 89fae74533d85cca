-- A lab report is a lab entry that groups results: their ids, space-separated, in
-- order (an empty string for a report with a conclusion only). NULL for every other
-- entry. Kept in the history like the other columns.
ALTER TABLE chart_entries ADD COLUMN result_ids TEXT;
ALTER TABLE chart_entry_history ADD COLUMN result_ids TEXT;
