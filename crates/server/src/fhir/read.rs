//! `GET /{type}/{id}`.

use axum::extract::{Path, State};
use telemed_domain::record::{Op, Section};
use telemed_domain::{EntryId, Error, Role, UserId};
use telemed_fhir::{resources, Interaction, ResourceType};

use super::{resource_type, FhirCaller, FhirJson};
use crate::context::Ctx;
use crate::error::AppResult;
use crate::{record, AppState};

pub async fn read(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: FhirCaller,
    Path((rt, id)): Path<(String, String)>,
) -> AppResult<FhirJson> {
    let rt = resource_type(&rt)?;
    caller.require(rt, Interaction::Read)?;
    let found = match rt {
        ResourceType::Patient => {
            let id = UserId::from_path(&id)?;
            if caller.outside_compartment(id) {
                return Err(Error::NotFound.into());
            }
            record::authorize(
                &state,
                &ctx,
                &caller.principal,
                id,
                Section::Demographics,
                Op::Read,
            )
            .await?;
            let p = state
                .store
                .person(id, Role::Patient)
                .await?
                .ok_or(Error::NotFound)?;
            FhirJson {
                last_modified: Some(p.updated_at),
                ..FhirJson::ok(resources::patient(&p))
            }
        }
        ResourceType::Practitioner => {
            let id = UserId::from_path(&id)?;
            let p = state
                .store
                .person(id, Role::Clinician)
                .await?
                .ok_or(Error::NotFound)?;
            FhirJson {
                last_modified: Some(p.updated_at),
                ..FhirJson::ok(resources::practitioner(&p))
            }
        }
        _ => {
            let id = EntryId::from_path(&id)?;
            let e = state.store.chart_entry(id).await?.ok_or(Error::NotFound)?;
            if ResourceType::of_section(e.section) != Some(rt)
                || caller.outside_compartment(e.patient)
            {
                return Err(Error::NotFound.into());
            }
            record::authorize(
                &state,
                &ctx,
                &caller.principal,
                e.patient,
                e.section,
                Op::Read,
            )
            .await?;
            let body = resources::entry(&e).ok_or(Error::NotFound)?;
            FhirJson {
                version: Some(e.version),
                last_modified: Some(e.updated_at),
                ..FhirJson::ok(body)
            }
        }
    };
    Ok(found)
}
