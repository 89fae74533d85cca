//! The prescribing knowledge in the database: drug classes, interaction pairs and
//! children's dose ranges, loaded whole into `Knowledge` (a few thousand rows), seeded
//! with telemed's starter set, and the interaction pairs replaced by a licensed
//! knowledge base.

use telemed_domain::prescribing::{Agent, DoseRange, DrugClass, Interaction, Knowledge, Severity};
use telemed_domain::{Error, Result};

use crate::{Conn, DbResult, Store};

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|_| Error::internal("knowledge does not serialise"))
}

fn list(text: &str) -> Result<Vec<String>> {
    serde_json::from_str(text).map_err(|_| Error::internal("a stored drug class does not read"))
}

fn agent_row(agent: &Agent) -> (&'static str, &str) {
    match agent {
        Agent::Ingredient(name) => ("ingredient", name),
        Agent::Class(id) => ("class", id),
    }
}

fn agent(kind: &str, id: String) -> Result<Agent> {
    match kind {
        "ingredient" => Ok(Agent::Ingredient(id)),
        "class" => Ok(Agent::Class(id)),
        _ => Err(Error::internal(
            "a stored interaction names neither an ingredient nor a class",
        )),
    }
}

/// Whether the knowledge tables hold anything yet.
pub async fn is_empty(conn: &mut Conn) -> Result<bool> {
    let classes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM drug_classes")
        .fetch_one(&mut *conn)
        .await
        .db()?;
    let pairs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM drug_interactions")
        .fetch_one(&mut *conn)
        .await
        .db()?;
    Ok(classes == 0 && pairs == 0)
}

/// Adds drug classes (an id already there is left as it is).
pub async fn add_classes(conn: &mut Conn, classes: &[DrugClass], source: &str) -> Result<()> {
    for c in classes {
        sqlx::query(
            "INSERT INTO drug_classes (id, name, members, allergy_terms, allergy_codes, duplicate_therapy, source) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(&c.id)
        .bind(&c.name)
        .bind(json(&c.members)?)
        .bind(json(&c.allergy_terms)?)
        .bind(json(&c.allergy_codes)?)
        .bind(i64::from(c.duplicate_therapy))
        .bind(source)
        .execute(&mut *conn)
        .await
        .db()?;
    }
    Ok(())
}

/// Adds dose ranges (an ingredient already there is left as it is).
pub async fn add_dose_ranges(conn: &mut Conn, ranges: &[DoseRange], source: &str) -> Result<()> {
    for d in ranges {
        sqlx::query(
            "INSERT INTO dose_ranges (ingredient, min_mg_per_kg_day, max_mg_per_kg_day, max_mg_per_day, under_age_years, source) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(&d.ingredient)
        .bind(d.min_mg_per_kg_day)
        .bind(d.max_mg_per_kg_day)
        .bind(d.max_mg_per_day)
        .bind(i64::from(d.under_age_years))
        .bind(source)
        .execute(&mut *conn)
        .await
        .db()?;
    }
    Ok(())
}

/// Replaces every interaction pair with `pairs`; returns how many there were before.
pub async fn replace_interactions(
    conn: &mut Conn,
    pairs: &[Interaction],
    source: &str,
) -> Result<u64> {
    let removed = sqlx::query("DELETE FROM drug_interactions")
        .execute(&mut *conn)
        .await
        .db()?
        .rows_affected();
    for i in pairs {
        let ((a_kind, a_id), (b_kind, b_id)) = (agent_row(&i.a), agent_row(&i.b));
        sqlx::query(
            "INSERT INTO drug_interactions (a_kind, a_id, b_kind, b_id, severity, mechanism, advice, source) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(a_kind)
        .bind(a_id)
        .bind(b_kind)
        .bind(b_id)
        .bind(i.severity.as_str())
        .bind(&i.mechanism)
        .bind(&i.advice)
        .bind(source)
        .execute(&mut *conn)
        .await
        .db()?;
    }
    Ok(removed)
}

type ClassRow = (String, String, String, String, String, i64);
type PairRow = (String, String, String, String, String, String, String);
type DoseRow = (String, f64, f64, f64, i64);

impl Store {
    /// The ids of the drug classes.
    pub async fn drug_class_ids(&self) -> Result<Vec<String>> {
        sqlx::query_scalar("SELECT id FROM drug_classes ORDER BY id")
            .fetch_all(self.pool())
            .await
            .db()
    }

    /// The whole knowledge, indexed.
    pub async fn knowledge(&self) -> Result<Knowledge> {
        let classes: Vec<ClassRow> = sqlx::query_as(
            "SELECT id, name, members, allergy_terms, allergy_codes, duplicate_therapy FROM drug_classes",
        )
        .fetch_all(self.pool())
        .await
        .db()?;
        let classes = classes
            .into_iter()
            .map(|(id, name, members, terms, codes, duplicate)| {
                Ok(DrugClass {
                    id,
                    name,
                    members: list(&members)?,
                    allergy_terms: list(&terms)?,
                    allergy_codes: list(&codes)?,
                    duplicate_therapy: duplicate != 0,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let pairs: Vec<PairRow> = sqlx::query_as(
            "SELECT a_kind, a_id, b_kind, b_id, severity, mechanism, advice FROM drug_interactions",
        )
        .fetch_all(self.pool())
        .await
        .db()?;
        let pairs = pairs
            .into_iter()
            .map(
                |(a_kind, a_id, b_kind, b_id, severity, mechanism, advice)| {
                    Ok(Interaction {
                        a: agent(&a_kind, a_id)?,
                        b: agent(&b_kind, b_id)?,
                        severity: Severity::parse(&severity)?,
                        mechanism,
                        advice,
                    })
                },
            )
            .collect::<Result<Vec<_>>>()?;
        let doses: Vec<DoseRow> = sqlx::query_as(
            "SELECT ingredient, min_mg_per_kg_day, max_mg_per_kg_day, max_mg_per_day, under_age_years FROM dose_ranges",
        )
        .fetch_all(self.pool())
        .await
        .db()?;
        let doses = doses
            .into_iter()
            .map(|(ingredient, min, max, max_day, age)| DoseRange {
                ingredient,
                min_mg_per_kg_day: min,
                max_mg_per_kg_day: max,
                max_mg_per_day: max_day,
                under_age_years: u32::try_from(age).unwrap_or(18),
            })
            .collect();
        Ok(Knowledge::new(classes, pairs, doses))
    }
}
