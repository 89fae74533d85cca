//! The medication catalogue: products to prescribe from, found by their code or by the
//! words of their name as a prescriber types. Not patient data: any caller the service
//! lets in may search it.

use chrono::{DateTime, Utc};
use telemed_domain::names::search_words;
use telemed_domain::prescribing::{Ingredient, Medication, Schedule};
use telemed_domain::{Error, Result};

use crate::{like_escape, to_micros, Conn, DbResult, Store};

/// A product as the catalogue holds it: its row id beside the product.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogueEntry {
    pub id: String,
    pub medication: Medication,
    /// Where it came from: `starter`, or the import that brought it.
    pub source: String,
}

type Row = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    String,
    String,
);

const COLUMNS: &str =
    "id, system, code, name, dose_form, route, schedule, active, ingredients, source";

fn entry(row: Row) -> Result<CatalogueEntry> {
    let (id, system, code, name, dose_form, route, schedule, active, ingredients, source) = row;
    let ingredients: Vec<Ingredient> = serde_json::from_str(&ingredients)
        .map_err(|_| Error::internal("a catalogue product's ingredients do not read"))?;
    Ok(CatalogueEntry {
        id,
        medication: Medication {
            system,
            code,
            name,
            ingredients,
            dose_form,
            route,
            schedule: schedule.as_deref().map(Schedule::parse).transpose()?,
            active: active != 0,
        },
        source,
    })
}

/// Adds products to the catalogue, or brings those it has (same system and code) up
/// to date; each product's name words are indexed again. Returns how many were new.
pub async fn upsert(
    conn: &mut Conn,
    products: &[Medication],
    source: &str,
    now: DateTime<Utc>,
) -> Result<usize> {
    let mut added = 0;
    for m in products {
        let ingredients = serde_json::to_string(&m.ingredients)
            .map_err(|_| Error::internal("ingredients do not serialise"))?;
        let existing: Option<String> =
            sqlx::query_scalar("SELECT id FROM medications WHERE system = $1 AND code = $2")
                .bind(&m.system)
                .bind(&m.code)
                .fetch_optional(&mut *conn)
                .await
                .db()?;
        let id = match existing {
            Some(id) => {
                sqlx::query(
                    "UPDATE medications SET name = $1, dose_form = $2, route = $3, schedule = $4, \
                     active = $5, ingredients = $6, source = $7, updated_at = $8 WHERE id = $9",
                )
                .bind(&m.name)
                .bind(&m.dose_form)
                .bind(&m.route)
                .bind(m.schedule.map(Schedule::as_str))
                .bind(i64::from(m.active))
                .bind(&ingredients)
                .bind(source)
                .bind(to_micros(now))
                .bind(&id)
                .execute(&mut *conn)
                .await
                .db()?;
                sqlx::query("DELETE FROM medication_words WHERE medication_id = $1")
                    .bind(&id)
                    .execute(&mut *conn)
                    .await
                    .db()?;
                id
            }
            None => {
                let id = uuid::Uuid::new_v4().to_string();
                sqlx::query(&format!(
                    "INSERT INTO medications ({COLUMNS}, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                ))
                .bind(&id)
                .bind(&m.system)
                .bind(&m.code)
                .bind(&m.name)
                .bind(&m.dose_form)
                .bind(&m.route)
                .bind(m.schedule.map(Schedule::as_str))
                .bind(i64::from(m.active))
                .bind(&ingredients)
                .bind(source)
                .bind(to_micros(now))
                .execute(&mut *conn)
                .await
                .db()?;
                added += 1;
                id
            }
        };
        for word in search_words(&m.name).split_whitespace() {
            sqlx::query(
                "INSERT INTO medication_words (word, medication_id) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(word)
            .bind(&id)
            .execute(&mut *conn)
            .await
            .db()?;
        }
    }
    Ok(added)
}

/// Marks every product of `system` inactive (an import then makes active again the
/// ones it lists); returns how many were active.
pub async fn deactivate_system(conn: &mut Conn, system: &str, now: DateTime<Utc>) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE medications SET active = 0, updated_at = $1 WHERE system = $2 AND active = 1",
    )
    .bind(to_micros(now))
    .bind(system)
    .execute(conn)
    .await
    .db()?;
    Ok(done.rows_affected())
}

/// How many products of `system` are active.
pub async fn active_in(conn: &mut Conn, system: &str) -> Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM medications WHERE system = $1 AND active = 1")
        .bind(system)
        .fetch_one(conn)
        .await
        .db()
}

/// How many products the catalogue holds (active or not).
pub async fn count(conn: &mut Conn) -> Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM medications")
        .fetch_one(conn)
        .await
        .db()
}

impl Store {
    /// Active products whose name has a word starting with each word of `query`
    /// ("amox 500" finds "amoxicillin 500 MG Oral Capsule"), shortest names first.
    pub async fn search_medications(&self, query: &str, limit: i64) -> Result<Vec<CatalogueEntry>> {
        let words = search_words(query);
        let words: Vec<&str> = words.split_whitespace().collect();
        let Some(first) = words.first() else {
            return Ok(Vec::new());
        };
        // The first word narrows through the index (a prefix is a range of words); the
        // others must start a word of the name too.
        let mut sql = format!(
            "SELECT {COLUMNS} FROM medications m WHERE m.active = 1 AND m.id IN \
             (SELECT w.medication_id FROM medication_words w WHERE w.word >= $1 AND w.word < $2)"
        );
        let mut binds = vec![first.to_string(), format!("{first}\u{10FFFF}")];
        for word in &words[1..] {
            binds.push(format!("{}%", like_escape(word)));
            binds.push(format!("% {}%", like_escape(word)));
            let (a, b) = (binds.len() - 1, binds.len());
            sql.push_str(&format!(
                " AND (LOWER(m.name) LIKE ${a} ESCAPE '\\' OR LOWER(m.name) LIKE ${b} ESCAPE '\\')"
            ));
        }
        sql.push_str(&format!(
            " ORDER BY LENGTH(m.name), m.name LIMIT {}",
            limit.clamp(1, 100)
        ));
        let mut q = sqlx::query_as::<_, Row>(&sql);
        for b in &binds {
            q = q.bind(b);
        }
        q.fetch_all(self.pool())
            .await
            .db()?
            .into_iter()
            .map(entry)
            .collect()
    }

    /// The product with this code in this code system (active or not).
    pub async fn medication(&self, system: &str, code: &str) -> Result<Option<CatalogueEntry>> {
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM medications WHERE system = $1 AND code = $2"
        ))
        .bind(system)
        .bind(code)
        .fetch_optional(self.pool())
        .await
        .db()?;
        row.map(entry).transpose()
    }

    /// The distinct ingredient names of the active catalogue (to recognise a
    /// medication the chart records in words).
    pub async fn catalogue_ingredients(&self) -> Result<Vec<String>> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT ingredients FROM medications WHERE active = 1")
                .fetch_all(self.pool())
                .await
                .db()?;
        let mut names: Vec<String> = rows
            .iter()
            .filter_map(|(json,)| serde_json::from_str::<Vec<Ingredient>>(json).ok())
            .flatten()
            .map(|i| i.name)
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }
}
