-- A person's name in parts, for FHIR (HumanName.family/given) and name search. The
-- search_* columns hold the parts folded (lower case, no accents), each word with a
-- space in front, so "a word starts with" is LIKE '% ana%' on either database.
-- Existing accounts are filled in from their display name when the store opens.
ALTER TABLE users ADD COLUMN family_name TEXT;
ALTER TABLE users ADD COLUMN given_names TEXT;
ALTER TABLE users ADD COLUMN search_family TEXT;
ALTER TABLE users ADD COLUMN search_given TEXT;
