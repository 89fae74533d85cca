//! The clinic's settings: anyone signed in reads them (an app shows the clinic's name,
//! phone and rules); admins change them.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use serde_json::Value;
use telemed_domain::clinic::ClinicSettings;
use telemed_domain::Error;

use super::ApiJson;
use crate::auth::ApiUser;
use crate::clinic::{self as service, Clinic};
use crate::context::Ctx;
use crate::error::AppResult;
use crate::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct ClinicView {
    /// Send it back with a change: a change made from an older revision is refused
    /// (409), so that one admin's edit does not silently undo another's.
    pub revision: i64,
    #[serde(flatten)]
    pub settings: ClinicSettings,
    /// Where the logo is, if there is one.
    pub logo_url: Option<String>,
    /// The telehealth consent's current version.
    pub consent_version: String,
}

async fn view(state: &AppState, clinic: &Clinic) -> AppResult<ClinicView> {
    Ok(ClinicView {
        revision: clinic.revision,
        settings: clinic.settings.clone(),
        logo_url: clinic.logo_url(),
        consent_version: service::telehealth_consent_version(state).await?,
    })
}

/// The clinic's settings.
#[utoipa::path(get, path = "/api/v1/clinic", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = ClinicView)))]
pub async fn get(State(state): State<AppState>, _caller: ApiUser) -> AppResult<Json<ClinicView>> {
    let clinic = service::current(&state).await;
    Ok(Json(view(&state, &clinic).await?))
}

/// Changes some of the clinic's settings (admins): `revision` as last read, and the
/// fields to change, named as `GET` shows them; the others stay as they are.
#[utoipa::path(patch, path = "/api/v1/clinic", tag = "admin", security(("bearer" = [])),
    request_body(content = Object, description = "`revision` and the settings to change"),
    responses((status = 200, body = ClinicView), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn patch(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiUser,
    ApiJson(body): ApiJson<Value>,
) -> AppResult<Json<ClinicView>> {
    caller
        .principal
        .require(telemed_domain::Permission::ClinicWrite)?;
    let Value::Object(mut changes) = body else {
        return Err(Error::invalid("body", "send a JSON object").into());
    };
    let revision = changes
        .remove("revision")
        .and_then(|r| r.as_i64())
        .ok_or_else(|| {
            Error::invalid(
                "revision",
                "send the revision you read (GET /api/v1/clinic)",
            )
        })?;
    // The settings as saved now (not this node's copy, which may be seconds old): the
    // change applies to the revision it names.
    let current = service::reload(&state).await?;
    if current.revision != revision {
        return Err(Error::Conflict(
            "the clinic settings were changed by someone else meanwhile: read them again".into(),
        )
        .into());
    }
    let mut merged = serde_json::to_value(&current.settings).map_err(Error::internal)?;
    let Some(fields) = merged.as_object_mut() else {
        return Err(Error::internal("the clinic settings are not an object").into());
    };
    for (name, value) in changes {
        if !fields.contains_key(&name) {
            return Err(Error::invalid("body", format!("there is no setting {name:?}")).into());
        }
        fields.insert(name, value);
    }
    let settings: ClinicSettings = serde_json::from_value(merged)
        .map_err(|e| Error::invalid("body", format!("a setting has the wrong type: {e}")))?;
    let clinic = service::update(&state, &ctx, &caller.principal, revision, settings).await?;
    Ok(Json(view(&state, &clinic).await?))
}
