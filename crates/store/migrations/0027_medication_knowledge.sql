-- What the prescribing checks consult: drug classes, interaction pairs and children's
-- dose ranges. telemed's starter set is put in place on a clinic's first start; a
-- licensed knowledge base imported as CSV replaces the interaction pairs. `source`
-- says where each row came from. Lists (members, allergy terms and codes) are JSON:
-- read with their class, never searched.
CREATE TABLE drug_classes (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    members TEXT NOT NULL,
    allergy_terms TEXT NOT NULL,
    allergy_codes TEXT NOT NULL,
    duplicate_therapy INTEGER NOT NULL,
    source TEXT NOT NULL
);
CREATE TABLE drug_interactions (
    a_kind TEXT NOT NULL,
    a_id TEXT NOT NULL,
    b_kind TEXT NOT NULL,
    b_id TEXT NOT NULL,
    severity TEXT NOT NULL,
    mechanism TEXT NOT NULL,
    advice TEXT NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (a_kind, a_id, b_kind, b_id)
);
CREATE TABLE dose_ranges (
    ingredient TEXT PRIMARY KEY,
    min_mg_per_kg_day DOUBLE PRECISION NOT NULL,
    max_mg_per_kg_day DOUBLE PRECISION NOT NULL,
    max_mg_per_day DOUBLE PRECISION NOT NULL,
    under_age_years INTEGER NOT NULL,
    source TEXT NOT NULL
);
