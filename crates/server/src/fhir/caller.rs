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
        let api = ApiUser::from_request_parts(parts, state).await?;
        let scopes = api_token_scopes(&api.principal)?;
        Ok(FhirCaller {
            principal: api.principal,
            scopes,
            patient: None,
        })
    }
}

/// What a personal API token stands for in SMART terms: the practitioner directory,
/// patients' demographics with `patients:read` (or one's own, as a patient), the whole
/// record read with `records:read` and written with `records:write`.
fn api_token_scopes(principal: &Principal) -> Result<Scopes, Error> {
    let mut words = vec!["user/Practitioner.rs"];
    if principal.can(Permission::PatientsRead) || principal.can(Permission::Profile) {
        words.push("user/Patient.rs");
    }
    if principal.can(Permission::RecordsRead) {
        words.push("user/*.rs");
    }
    if principal.can(Permission::RecordsWrite) {
        words.push("user/*.cruds");
    }
    Scopes::parse(&words.join(" "))
}
