//! The clinic's pharmacy directory and which pharmacy a pharmacist account works for.
//! Not patient data: the directory is reference data an admin keeps.

use chrono::{DateTime, Utc};
use telemed_domain::access::{Grant, Op};
use telemed_domain::record::Section;
use telemed_domain::{Error, Result, UserId};

use crate::{to_micros, Conn, DbResult, Store};

/// A pharmacy of the directory.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Pharmacy {
    pub id: String,
    pub name: String,
    pub address: String,
    pub phone: String,
    /// Where its FHIR server takes MedicationRequests, when it has one.
    pub fhir_endpoint: Option<String>,
    pub active: bool,
}

/// What an admin writes of a pharmacy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PharmacyDetails {
    pub name: String,
    pub address: String,
    pub phone: String,
    pub fhir_endpoint: Option<String>,
}

type Row = (String, String, String, String, Option<String>, i64);

const COLUMNS: &str = "id, name, address, phone, fhir_endpoint, active";

fn pharmacy((id, name, address, phone, fhir_endpoint, active): Row) -> Pharmacy {
    Pharmacy {
        id,
        name,
        address,
        phone,
        fhir_endpoint,
        active: active != 0,
    }
}

/// Adds a pharmacy to the directory, active.
pub async fn insert(
    conn: &mut Conn,
    id: &str,
    details: &PharmacyDetails,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO pharmacies (id, name, address, phone, fhir_endpoint, active, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $6)",
    )
    .bind(id)
    .bind(&details.name)
    .bind(&details.address)
    .bind(&details.phone)
    .bind(details.fhir_endpoint.as_deref())
    .bind(to_micros(now))
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

/// Rewrites a pharmacy's details and whether it is active; false when there is none.
pub async fn update(
    conn: &mut Conn,
    id: &str,
    details: &PharmacyDetails,
    active: bool,
    now: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE pharmacies SET name = $1, address = $2, phone = $3, fhir_endpoint = $4, \
         active = $5, updated_at = $6 WHERE id = $7",
    )
    .bind(&details.name)
    .bind(&details.address)
    .bind(&details.phone)
    .bind(details.fhir_endpoint.as_deref())
    .bind(i64::from(active))
    .bind(to_micros(now))
    .bind(id)
    .execute(conn)
    .await
    .db()?;
    Ok(done.rows_affected() == 1)
}

/// Makes `user` a member of `pharmacy` (replacing a membership elsewhere).
pub async fn set_member(conn: &mut Conn, user: UserId, pharmacy: &str) -> Result<()> {
    sqlx::query("DELETE FROM pharmacy_members WHERE user_id = $1")
        .bind(user.to_string())
        .execute(&mut *conn)
        .await
        .db()?;
    sqlx::query("INSERT INTO pharmacy_members (user_id, pharmacy_id) VALUES ($1, $2)")
        .bind(user.to_string())
        .bind(pharmacy)
        .execute(conn)
        .await
        .db()?;
    Ok(())
}

/// Sets the preferred pharmacy of the patient of `grant` (a write grant on their
/// demographics), or clears it.
pub async fn set_preferred(conn: &mut Conn, grant: &Grant, pharmacy: Option<&str>) -> Result<()> {
    let patient = grant.require(Section::Demographics, Op::Write)?;
    sqlx::query("DELETE FROM preferred_pharmacies WHERE patient_id = $1")
        .bind(patient.to_string())
        .execute(&mut *conn)
        .await
        .db()?;
    if let Some(pharmacy) = pharmacy {
        sqlx::query("INSERT INTO preferred_pharmacies (patient_id, pharmacy_id) VALUES ($1, $2)")
            .bind(patient.to_string())
            .bind(pharmacy)
            .execute(conn)
            .await
            .db()?;
    }
    Ok(())
}

impl Store {
    /// The preferred pharmacy of the patient of `grant` (a read grant on their
    /// demographics), when it is still in the directory.
    pub async fn preferred_pharmacy(&self, grant: &Grant) -> Result<Option<Pharmacy>> {
        let patient = grant.require(Section::Demographics, Op::Read)?;
        let row: Option<Row> = sqlx::query_as(
            "SELECT p.id, p.name, p.address, p.phone, p.fhir_endpoint, p.active \
             FROM preferred_pharmacies f JOIN pharmacies p ON p.id = f.pharmacy_id \
             WHERE f.patient_id = $1 AND p.active = 1",
        )
        .bind(patient.to_string())
        .fetch_optional(self.pool())
        .await
        .db()?;
        Ok(row.map(pharmacy))
    }

    /// The directory, active pharmacies first, each by name.
    pub async fn pharmacies(&self, include_inactive: bool) -> Result<Vec<Pharmacy>> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM pharmacies WHERE active = 1 OR $1 = 1 \
             ORDER BY active DESC, name, id"
        ))
        .bind(i64::from(include_inactive))
        .fetch_all(self.pool())
        .await
        .db()?;
        Ok(rows.into_iter().map(pharmacy).collect())
    }

    pub async fn pharmacy(&self, id: &str) -> Result<Option<Pharmacy>> {
        let row: Option<Row> =
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM pharmacies WHERE id = $1"))
                .bind(id)
                .fetch_optional(self.pool())
                .await
                .db()?;
        Ok(row.map(pharmacy))
    }

    /// The active pharmacy `user` works for, if any.
    pub async fn pharmacy_of(&self, user: UserId) -> Result<Option<Pharmacy>> {
        let row: Option<Row> = sqlx::query_as(
            "SELECT p.id, p.name, p.address, p.phone, p.fhir_endpoint, p.active \
             FROM pharmacy_members m JOIN pharmacies p ON p.id = m.pharmacy_id \
             WHERE m.user_id = $1 AND p.active = 1",
        )
        .bind(user.to_string())
        .fetch_optional(self.pool())
        .await
        .db()?;
        Ok(row.map(pharmacy))
    }

    /// The pharmacist accounts of `pharmacy`: id and display name.
    pub async fn pharmacy_members(&self, pharmacy: &str) -> Result<Vec<(UserId, String)>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT u.id, u.display_name FROM pharmacy_members m \
             JOIN users u ON u.id = m.user_id WHERE m.pharmacy_id = $1 ORDER BY u.display_name",
        )
        .bind(pharmacy)
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter()
            .map(|(id, name)| {
                Ok((
                    id.parse()
                        .map_err(|_| Error::internal("a pharmacy member's id does not read"))?,
                    name,
                ))
            })
            .collect()
    }
}
