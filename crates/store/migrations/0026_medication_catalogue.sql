-- The medication catalogue prescriptions are written from: telemed's starter products,
-- and any catalogue a clinic imports (an RxNorm release). A product is never deleted:
-- one a newer import no longer lists is marked inactive, so that every prescription's
-- product still resolves. Ingredients (name, code, strength) are kept as JSON with the
-- product: they are read with it and never searched on their own.
CREATE TABLE medications (
    id TEXT PRIMARY KEY,
    system TEXT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    dose_form TEXT NOT NULL,
    route TEXT NOT NULL,
    schedule TEXT,
    active INTEGER NOT NULL,
    ingredients TEXT NOT NULL,
    source TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (system, code)
);
-- Type-ahead search: the words of each product's name, for a prefix range scan.
CREATE TABLE medication_words (
-- [sqlite]     word TEXT NOT NULL,
-- [postgres]     word TEXT COLLATE "C" NOT NULL,
    medication_id TEXT NOT NULL REFERENCES medications (id),
    PRIMARY KEY (word, medication_id)
);
