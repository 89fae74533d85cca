-- Pharmacies, their pharmacists, and what they dispense.
--
-- A new role, pharmacist, for accounts and invitations. PostgreSQL replaces the role
-- checks. SQLite cannot alter a check; a check that admits more is changed in the
-- stored schema as SQLite documents for loosening a constraint (no row is touched),
-- and the schema is read again; the tables created below change the schema's
-- version, so every other connection reads it again too.
-- [postgres] ALTER TABLE users DROP CONSTRAINT users_role_check;
-- [postgres] ALTER TABLE users ADD CONSTRAINT users_role_check
-- [postgres]     CHECK (role IN ('patient', 'clinician', 'staff', 'admin', 'pharmacist'));
-- [postgres] ALTER TABLE invitations DROP CONSTRAINT invitations_role_check;
-- [postgres] ALTER TABLE invitations ADD CONSTRAINT invitations_role_check
-- [postgres]     CHECK (role IN ('clinician', 'staff', 'admin', 'pharmacist'));
-- [sqlite] PRAGMA writable_schema = ON;
-- [sqlite] UPDATE sqlite_master
-- [sqlite] SET sql = replace(sql, '''staff'', ''admin'')', '''staff'', ''admin'', ''pharmacist'')')
-- [sqlite] WHERE type = 'table' AND name IN ('users', 'invitations');
-- [sqlite] PRAGMA writable_schema = RESET;

-- The clinic's directory of pharmacies: where a prescription can be sent or taken.
-- A pharmacy leaves the directory by becoming inactive (prescriptions name it).
CREATE TABLE pharmacies (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    phone TEXT NOT NULL,
    fhir_endpoint TEXT,
    active INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX pharmacies_by_name ON pharmacies (active, name);

-- Which pharmacy a pharmacist account dispenses for (one).
CREATE TABLE pharmacy_members (
    user_id TEXT PRIMARY KEY REFERENCES users (id),
    pharmacy_id TEXT NOT NULL REFERENCES pharmacies (id)
);

-- Where a prescription was sent: the pharmacy chosen at signing (none: the patient
-- takes their copy to any pharmacy).
ALTER TABLE prescriptions ADD COLUMN pharmacy_id TEXT REFERENCES pharmacies (id);

-- A patient's preferred pharmacy, offered first when a clinician prescribes.
CREATE TABLE preferred_pharmacies (
    patient_id TEXT PRIMARY KEY REFERENCES users (id),
    pharmacy_id TEXT NOT NULL REFERENCES pharmacies (id)
);

-- Dispensing state on the prescription: how many dispenses it has had (the version a
-- pharmacist's request names, so a repeated or concurrent request for the same fill
-- changes nothing), the fills completed, and the quantity dispensed of the open fill.
ALTER TABLE prescriptions ADD COLUMN dispense_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE prescriptions ADD COLUMN fills_completed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE prescriptions ADD COLUMN fill_dispensed DOUBLE PRECISION NOT NULL DEFAULT 0;

-- Each dispense, written once: the prescription's sequence number (unique per
-- prescription), the fill it belongs to, the quantity, whether it completed the fill.
CREATE TABLE dispenses (
    id TEXT PRIMARY KEY,
    prescription_id TEXT NOT NULL REFERENCES prescriptions (id),
    sequence INTEGER NOT NULL,
    fill INTEGER NOT NULL,
    quantity DOUBLE PRECISION NOT NULL,
    fill_complete INTEGER NOT NULL,
    pharmacy_id TEXT NOT NULL REFERENCES pharmacies (id),
    pharmacist_id TEXT NOT NULL REFERENCES users (id),
    dispensed_at BIGINT NOT NULL,
    UNIQUE (prescription_id, sequence)
);
