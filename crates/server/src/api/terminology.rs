//! Code systems over the JSON API: type-ahead search of ICD-10-CM, LOINC and CVX, for a
//! code system or for a chart section (which picks the system and, for LOINC, vital
//! signs or laboratory tests).

use crate::terminology::Found;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use telemed_domain::record::Section;
use telemed_domain::terminology::CodeSystem;
use telemed_domain::Error;

use super::ApiQuery;
use crate::auth::ApiUser;
use crate::context::Ctx;
use crate::error::AppResult;
use crate::terminology as service;
use crate::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ConceptSearch {
    /// The start of words of the concept's name ("contact derm"), or of its code
    /// ("L23", "8867-4"); at most 100 characters.
    pub q: String,
    /// `icd10cm`, `loinc` or `cvx`; or give `section` instead.
    pub system: Option<String>,
    /// A chart section (`problems`, `vitals`, `labs`, `immunizations`): its code system.
    pub section: Option<String>,
    /// At most this many (1 to 50; 20 when not given).
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ConceptView {
    /// The code system's URI, as a chart entry's `code_system` takes it.
    pub system: String,
    pub code: String,
    /// The code system's own name for it.
    pub display: String,
    /// Its name in the caller's language, where the concept has one.
    pub name: Option<String>,
}

impl From<Found> for ConceptView {
    fn from(f: Found) -> Self {
        ConceptView {
            system: f.system.uri().to_owned(),
            code: f.code,
            display: f.display,
            name: f.name,
        }
    }
}

/// Concepts whose names have words starting with each word typed, or whose code starts
/// with what was typed: codes first, then the shortest names. Only codes one may record
/// (not ICD-10-CM category headings), active in the release held.
#[utoipa::path(get, path = "/api/v1/terminology", tag = "record", security(("bearer" = [])), params(ConceptSearch),
    responses((status = 200, body = [ConceptView]), (status = 400, body = crate::error::ErrorBody)))]
pub async fn search(
    State(state): State<AppState>,
    ctx: Ctx,
    _caller: ApiUser,
    ApiQuery(q): ApiQuery<ConceptSearch>,
) -> AppResult<Json<Vec<ConceptView>>> {
    let limit = q.limit.unwrap_or(20);
    if !(1..=50).contains(&limit) {
        return Err(Error::invalid("limit", "limit is between 1 and 50").into());
    }
    let lang = ctx.lang.code();
    let found = match (q.system.as_deref(), q.section.as_deref()) {
        (Some(system), None) => {
            let system = CodeSystem::from_key(system)
                .ok_or_else(|| Error::invalid("system", "system is icd10cm, loinc or cvx"))?;
            service::search(&state, system, &q.q, lang, limit).await?
        }
        (None, Some(section)) => {
            let section = Section::parse(section).ok_or_else(|| {
                Error::invalid(
                    "section",
                    "section is problems, vitals, labs or immunizations",
                )
            })?;
            service::search_for_section(&state, section, &q.q, lang, limit).await?
        }
        _ => {
            return Err(Error::invalid("system", "give either system or section").into());
        }
    };
    Ok(Json(found.into_iter().map(Into::into).collect()))
}
