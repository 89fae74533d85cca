//! Who is calling the FHIR API, and with which scopes.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
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
        let bearer = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .unwrap_or_default();
        if bearer.starts_with(crate::oauth::ACCESS_PREFIX) {
            return oauth_caller(state, bearer).await;
        }
        let api = ApiUser::from_request_parts(parts, state).await?;
        let scopes = api_token_scopes(&api.principal)?;
        Ok(FhirCaller {
            principal: api.principal,
            scopes,
            patient: None,
        })
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
/// with the user's role (the scopes only narrow it).
async fn oauth_caller(state: &AppState, token: &str) -> Result<FhirCaller, AppError> {
    let grant = state
        .store
        .live_access_grant(&crate::crypto::token_hash(token), state.clock.now())
        .await?
        .ok_or(Error::Unauthenticated)?;
    let user = state
        .store
        .user_by_id(grant.user_id)
        .await?
        .filter(|u| u.disabled_at.is_none())
        .ok_or(Error::Unauthenticated)?;
    Ok(FhirCaller {
        principal: Principal {
            user_id: user.id,
            role: user.role,
            permissions: user.role.permissions().to_vec(),
        },
        scopes: Scopes::parse(&grant.scopes)?,
        patient: grant.patient,
    })
}
