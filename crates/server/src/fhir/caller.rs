//! Who is calling the FHIR API, and with which scopes.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use telemed_domain::access::Principal;
use telemed_domain::{Error, Permission, UserId};
use telemed_fhir::{Interaction, ResourceType, Scopes};

use crate::auth::ApiUser;
use crate::error::AppError;
use crate::AppState;

/// A FHIR client: the user it acts for, its SMART scopes, and the patient whose
/// compartment it is confined to, if any.
#[derive(Debug, Clone)]
pub struct FhirCaller {
    pub principal: Principal,
    pub scopes: Scopes,
    pub patient: Option<UserId>,
}

impl FhirCaller {
    /// Refuses (403) what the token's scopes do not cover; the record's policy decides
    /// the rest.
    pub fn require(&self, rt: ResourceType, interaction: Interaction) -> Result<(), Error> {
        if self.scopes.allows(rt.as_str(), interaction) {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }

    /// Whether `patient` is outside the token's compartment.
    pub fn outside_compartment(&self, patient: UserId) -> bool {
        self.patient.is_some_and(|p| p != patient)
    }
}

impl FromRequestParts<AppState> for FhirCaller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        super::negotiate(&parts.headers, &parts.uri)?;
        let bearer = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .unwrap_or_default();
        let hash = crate::crypto::token_hash(bearer);
        let now = state.clock.now();
        if let Some(known) = state.callers.recall(&hash, now) {
            return Ok(known);
        }
        let seen = state.callers.epoch();
        let (caller, expires_at) = if bearer.starts_with(crate::oauth::ACCESS_PREFIX) {
            oauth_caller(state, &hash).await?
        } else {
            let api = ApiUser::by_token_hash(state, &hash).await?;
            let scopes = api_token_scopes(&api.principal)?;
            let caller = FhirCaller {
                principal: api.principal,
                scopes,
                patient: None,
            };
            (caller, api.expires_at)
        };
        state
            .callers
            .remember(&hash, seen, &caller, now, expires_at);
        Ok(caller)
    }
}

/// What a personal API token stands for in SMART terms: the practitioner directory and
/// clinicians' bookable time, visits with `appointments`,
/// patients' demographics with `patients:read` (or one's own, as a patient), the audit
/// trail with `audit:read`, the whole record read with `records:read` and written with
/// `records:write`.
fn api_token_scopes(principal: &Principal) -> Result<Scopes, Error> {
    let mut words = vec![
        "user/Practitioner.rs",
        "user/PractitionerRole.rs",
        "user/Schedule.rs",
        "user/Slot.rs",
    ];
    if principal.can(Permission::Messages) {
        words.push("user/Communication.rs");
    }
    if principal.can(Permission::Appointments) {
        // Booking and cancelling, under the scheduling rules of the token's owner.
        words.push("user/Appointment.crus");
        words.push("user/Encounter.rs");
    }
    if principal.can(Permission::PatientsRead) || principal.can(Permission::Profile) {
        words.push("user/Patient.rs");
        words.push("user/Consent.rs");
    }
    if principal.can(Permission::AuditRead) {
        words.push("user/AuditEvent.rs");
    }
    if principal.can(Permission::RecordsRead) {
        words.push("user/*.rs");
    }
    if principal.can(Permission::RecordsWrite) {
        words.push("user/*.cruds");
    }
    Scopes::parse(&words.join(" "))
}

/// An app's access token: the grant's scopes and patient context, acting for its user
/// with the user's role (the scopes only narrow it); and when the token expires.
async fn oauth_caller(
    state: &AppState,
    token_hash: &str,
) -> Result<(FhirCaller, DateTime<Utc>), AppError> {
    let live = state
        .store
        .live_access_grant(token_hash, state.clock.now())
        .await?
        .ok_or(Error::Unauthenticated)?;
    let caller = FhirCaller {
        principal: Principal {
            user_id: live.grant.user_id,
            role: live.role,
            permissions: live.role.permissions().to_vec(),
        },
        scopes: Scopes::parse(&live.grant.scopes)?,
        patient: live.grant.patient,
    };
    Ok((caller, live.expires_at))
}
