//! Patients' identifiers in other systems (`patient_identifiers`): kept when a patient
//! is created through FHIR, shown in `Patient.identifier`, searched by `identifier=`.

use telemed_domain::{Error, Result, UserId};

use crate::{Conn, DbResult};

pub use telemed_domain::views::Identifier;

/// Records `patient`'s identifiers. One that another patient already has is a
/// `Conflict` (checked after the insert, so two concurrent creates cannot both win).
pub async fn add(conn: &mut Conn, patient: UserId, identifiers: &[Identifier]) -> Result<()> {
    for i in identifiers {
        sqlx::query(
            "INSERT INTO patient_identifiers (patient_id, system, value) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(patient.to_string())
        .bind(i.system.clone())
        .bind(i.value.clone())
        .execute(&mut *conn)
        .await
        .db()?;
        let (owner,): (String,) = sqlx::query_as(
            "SELECT patient_id FROM patient_identifiers WHERE system = $1 AND value = $2",
        )
        .bind(i.system.clone())
        .bind(i.value.clone())
        .fetch_one(&mut *conn)
        .await
        .db()?;
        if owner != patient.to_string() {
            return Err(Error::Conflict(
                "another patient has this identifier".into(),
            ));
        }
    }
    Ok(())
}

/// The identifiers of each of `patients`, in the order asked, each list sorted.
pub async fn of<'c, E>(executor: E, patients: &[UserId]) -> Result<Vec<Vec<Identifier>>>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    if patients.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT patient_id, system, value FROM patient_identifiers WHERE patient_id IN ({}) \
         ORDER BY patient_id, system, value",
        super::placeholders(patients.len())
    );
    let mut query = sqlx::query_as::<_, (String, String, String)>(&sql);
    for p in patients {
        query = query.bind(p.to_string());
    }
    let rows = query.fetch_all(executor).await.db()?;
    Ok(super::by_person(
        patients,
        rows.into_iter()
            .map(|(owner, system, value)| (owner, Identifier { system, value })),
    ))
}
