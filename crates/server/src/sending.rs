//! Sending a signed prescription to the pharmacy chosen at signing. The way a pharmacy
//! takes prescriptions is a channel: today a FHIR server (the prescription POSTed as a
//! MedicationRequest); a national network (NCPDP SCRIPT, an EU e-prescription service)
//! is another channel, added here without touching prescribing. A pharmacy without one
//! gets nothing: the patient takes their copy (PDF and QR code).
//!
//! Signing queues the sending in its own transaction (the job queue); the job retries
//! with growing waits, and the prescription shows where it stands — queued, sent, or
//! failed with what the pharmacy's system answered — to the prescriber.

use serde::{Deserialize, Serialize};
use telemed_domain::access::{self, SystemTask};
use telemed_domain::views::Prescription;
use telemed_domain::{Error, Result};
use telemed_store::pharmacies::Pharmacy;
use telemed_store::prescriptions;
use telemed_store::Conn;

use crate::AppState;

/// The job kind of a sending.
pub const SEND_PRESCRIPTION: &str = "prescription.send";

/// How a pharmacy takes prescriptions electronically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channel {
    /// A FHIR R4 server: `POST {endpoint}/MedicationRequest`.
    Fhir { endpoint: String },
}

impl Channel {
    /// The channel of `pharmacy`, if it has one.
    pub fn of(pharmacy: &Pharmacy) -> Option<Channel> {
        pharmacy
            .fhir_endpoint
            .as_ref()
            .map(|endpoint| Channel::Fhir {
                endpoint: endpoint.clone(),
            })
    }

    /// Sends `p`; what the pharmacy's system answered (its reference to it) or why not.
    async fn send(&self, p: &Prescription) -> Result<String> {
        match self {
            Channel::Fhir { endpoint } => {
                let body = telemed_fhir::resources::medication_request(p);
                let client = reqwest::Client::builder()
                    .timeout(std::time::Duration::from_secs(20))
                    .build()
                    .map_err(Error::internal)?;
                let answer = client
                    .post(format!("{endpoint}/MedicationRequest"))
                    .header("content-type", "application/fhir+json")
                    .header("accept", "application/fhir+json")
                    .body(body.to_string())
                    .send()
                    .await
                    .map_err(|e| Error::internal(format!("the pharmacy's server: {e}")))?;
                let status = answer.status();
                let location = answer
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                if status.is_success() {
                    Ok(location.unwrap_or_else(|| format!("accepted ({status})")))
                } else {
                    Err(Error::internal(format!(
                        "the pharmacy's server answered {status}"
                    )))
                }
            }
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Payload {
    prescription: String,
}

/// Queues sending prescription `id` in the signing's transaction.
pub async fn enqueue(conn: &mut Conn, id: &str, now: chrono::DateTime<chrono::Utc>) -> Result<()> {
    let payload = serde_json::to_string(&Payload {
        prescription: id.to_owned(),
    })
    .map_err(Error::internal)?;
    telemed_store::jobs::enqueue(
        conn,
        SEND_PRESCRIPTION,
        &payload,
        now,
        Some(&format!("send:{id}")),
        now,
    )
    .await
}

/// Runs a sending job: sends, and records `sent` or `failed` (then the job retries).
pub async fn run(state: &AppState, payload: &str, attempt: i64) -> Result<()> {
    let Payload { prescription } = serde_json::from_str(payload).map_err(Error::internal)?;
    let sealed = state
        .store
        .prescription(&prescription)
        .await?
        .ok_or(Error::NotFound)?;
    let patient = sealed.patient();
    // telemed itself sends (what it records of the sending names no author).
    let grant = access::system(SystemTask::PrescriptionSending, patient, patient);
    let p = sealed.open(&grant)?;
    let channel = match p.pharmacy_id.as_deref() {
        Some(id) => state
            .store
            .pharmacy(id)
            .await?
            .as_ref()
            .and_then(Channel::of),
        None => None,
    };
    let Some(channel) = channel else {
        return Ok(());
    };
    let now = state.clock.now();
    let outcome = channel.send(&p).await;
    let (to, detail) = match &outcome {
        Ok(reference) => ("sent", reference.clone()),
        Err(Error::Internal(why)) => ("failed", format!("attempt {}: {why}", attempt + 1)),
        Err(other) => ("failed", format!("attempt {}: {other}", attempt + 1)),
    };
    let mut change = crate::change::Change::begin(state).await?;
    prescriptions::set_sending(change.tx(), &grant, &p.id, to, &detail, now).await?;
    let event = crate::audit::Event::new(
        &crate::context::Ctx::background("job"),
        now,
        "prescription.send",
        "prescription",
    )
    .on(&p.id)
    .patient(patient)
    .outcome(if outcome.is_ok() {
        telemed_domain::audit::Outcome::Success
    } else {
        telemed_domain::audit::Outcome::Failure
    })
    .detail(to);
    change.audit(event);
    change.commit().await?;
    outcome.map(drop)
}
