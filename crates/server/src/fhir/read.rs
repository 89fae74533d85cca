//! `GET /{type}/{id}`.

use axum::extract::{Path, State};
use telemed_domain::access::{self as policy, Data, Grant, Op};
use telemed_domain::record::Section;
use telemed_domain::{DocumentId, EntryId, Error, UserId};
use telemed_fhir::{resources, Interaction, ResourceType};
use telemed_store::record::Entry;

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
    Ok(read_one(&state, &ctx, &caller, rt, &id).await?)
}

/// One resource by type and id, after the policy's decision (audited); 404 for what
/// does not exist or the caller may not see.
pub async fn read_one(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    rt: ResourceType,
    id: &str,
) -> Result<FhirJson, Error> {
    caller.require(rt, Interaction::Read)?;
    let found = match rt {
        ResourceType::Patient => {
            let id = UserId::from_path(id)?;
            if caller.outside_compartment(id) {
                return Err(Error::NotFound);
            }
            let grant = record::authorize(
                state,
                ctx,
                &caller.principal,
                id,
                Section::Demographics,
                Op::Read,
            )
            .await?;
            let p = state.store.patient(&grant).await?.ok_or(Error::NotFound)?;
            FhirJson {
                last_modified: Some(p.updated_at),
                ..FhirJson::ok(resources::patient(&p))
            }
        }
        ResourceType::Practitioner => {
            let id = UserId::from_path(id)?;
            let p = state.store.practitioner(id).await?.ok_or(Error::NotFound)?;
            FhirJson {
                last_modified: Some(p.updated_at),
                ..FhirJson::ok(resources::practitioner(&p))
            }
        }
        ResourceType::AuditEvent => {
            let seq: i64 = id.parse().map_err(|_| Error::NotFound)?;
            state.audit.flush().await?;
            let e = state
                .store
                .search_audit(&telemed_store::audit::AuditFilter {
                    before_seq: Some(seq.saturating_add(1)),
                    limit: 1,
                    ..Default::default()
                })
                .await?
                .pop()
                .filter(|e| e.seq == seq)
                .ok_or(Error::NotFound)?;
            let allowed = match e.patient {
                _ if caller.patient.is_none()
                    && caller.principal.can(telemed_domain::Permission::AuditRead) =>
                {
                    true
                }
                Some(p) if !caller.outside_compartment(p) => crate::record::authorize(
                    state,
                    ctx,
                    &caller.principal,
                    p,
                    telemed_domain::access::Data::AccessLog,
                    telemed_domain::access::Op::Read,
                )
                .await
                .is_ok(),
                _ => false,
            };
            if !allowed {
                return Err(Error::NotFound);
            }
            FhirJson::ok(resources::audit_event(&e))
        }
        ResourceType::Appointment | ResourceType::Encounter => {
            let (body, visit) = super::scheduling::read_visit(state, ctx, caller, rt, id).await?;
            FhirJson {
                last_modified: Some(visit.appointment.updated_at),
                ..FhirJson::ok(body)
            }
        }
        ResourceType::Schedule | ResourceType::PractitionerRole => {
            FhirJson::ok(super::scheduling::read_directory(state, rt, id).await?)
        }
        ResourceType::Slot => FhirJson::ok(super::scheduling::read_slot(state, id).await?),
        ResourceType::Consent => FhirJson::ok(super::consents::read(state, ctx, caller, id).await?),
        ResourceType::MedicationRequest => {
            let (body, changed) =
                super::prescriptions::read_request(state, ctx, caller, id).await?;
            FhirJson {
                last_modified: Some(changed),
                ..FhirJson::ok(body)
            }
        }
        ResourceType::MedicationDispense => {
            FhirJson::ok(super::prescriptions::read_dispense(state, ctx, caller, id).await?)
        }
        ResourceType::Communication => {
            FhirJson::ok(super::communications::read(state, ctx, caller, id).await?)
        }
        ResourceType::DocumentReference => {
            let d = compartment_document(state, caller, id).await?;
            let d = crate::documents::open(state, ctx, &caller.principal, d).await?;
            FhirJson {
                version: Some(d.version),
                last_modified: Some(d.updated_at),
                ..FhirJson::ok(resources::document_reference(&super::base_url(state), &d))
            }
        }
        _ => {
            let (e, _) = readable_entry(state, ctx, caller, rt, id).await?;
            FhirJson {
                version: Some(e.version),
                last_modified: Some(e.updated_at),
                ..FhirJson::written(
                    resources::entry_resource(&e)
                        .ok_or(Error::NotFound)?
                        .into_text(),
                )
            }
        }
    };
    Ok(found)
}

/// Every kept version of a chart entry, newest first, after the policy's decision on
/// reading it (audited as a read). History is kept for chart entries only.
async fn entry_versions(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    rt: ResourceType,
    id: &str,
) -> Result<Vec<Entry>, Error> {
    if !rt.keeps_history() {
        return Err(Error::NotFound);
    }
    let (e, grant) = readable_entry(state, ctx, caller, rt, id).await?;
    state.store.entry_versions(&grant, e.id).await
}

/// A chart entry of type `rt`, with the entry and the policy's facts read in one query,
/// after the policy's decision on reading it (audited); 404 for anything else.
async fn readable_entry(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    rt: ResourceType,
    id: &str,
) -> Result<(Entry, Grant), Error> {
    let id = EntryId::from_path(id)?;
    let (sealed, facts) = state
        .store
        .chart_entry_with_facts(id, caller.principal.user_id, state.clock.now())
        .await?
        .ok_or(Error::NotFound)?;
    let patient = sealed.patient();
    if caller.outside_compartment(patient) {
        return Err(Error::NotFound);
    }
    let read = (Data::Section(sealed.section()), Op::Read);
    let grant = policy::decide(&caller.principal, patient, read.0, read.1, facts);
    // Opened only under the grant; an entry of another type is not found, unaudited
    // (nothing of it is read), as for an id that names nothing.
    let entry = match &grant {
        Some(g) => Some(sealed.open(g)?)
            .filter(|e| ResourceType::of_section(e.section, e.results.is_some()) == Some(rt)),
        None => None,
    };
    if grant.is_some() && entry.is_none() {
        return Err(Error::NotFound);
    }
    record::audit_decision(state, ctx, &caller.principal, patient, read, grant.as_ref()).await?;
    match (entry, grant) {
        (Some(e), Some(g)) => Ok((e, g)),
        _ => Err(Error::NotFound),
    }
}

/// `GET /{type}/{id}/_history/{vid}`: a version of a chart entry as it was.
pub async fn vread(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: FhirCaller,
    Path((rt, id, vid)): Path<(String, String, String)>,
) -> AppResult<FhirJson> {
    let rt = resource_type(&rt)?;
    Ok(vread_one(&state, &ctx, &caller, rt, &id, &vid).await?)
}

pub async fn vread_one(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    rt: ResourceType,
    id: &str,
    vid: &str,
) -> Result<FhirJson, Error> {
    caller.require(rt, Interaction::Read)?;
    let versions = entry_versions(state, ctx, caller, rt, id).await?;
    let vid: i64 = vid.parse().map_err(|_| Error::NotFound)?;
    let e = versions
        .into_iter()
        .find(|e| e.version == vid)
        .ok_or(Error::NotFound)?;
    let body = resources::entry(&e).ok_or(Error::NotFound)?;
    Ok(FhirJson {
        version: Some(e.version),
        last_modified: Some(e.updated_at),
        ..FhirJson::ok(body)
    })
}

/// `GET /{type}/{id}/_history`: every kept version of a chart entry, newest first.
pub async fn history(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: FhirCaller,
    Path((rt, id)): Path<(String, String)>,
) -> AppResult<FhirJson> {
    let rt = resource_type(&rt)?;
    caller.require(rt, Interaction::Read)?;
    let versions = entry_versions(&state, &ctx, &caller, rt, &id).await?;
    let base = super::base_url(&state);
    let link = format!("{base}/{}/{id}/_history", rt.as_str());
    let bodies = versions.iter().filter_map(resources::entry).collect();
    Ok(FhirJson::ok(telemed_fhir::bundle::history(
        &base, bodies, link,
    )))
}

/// A document's id, if the document is in the token's compartment.
async fn compartment_document(
    state: &AppState,
    caller: &FhirCaller,
    id: &str,
) -> Result<DocumentId, Error> {
    let id = DocumentId::from_path(id)?;
    let d = state.store.document(id).await?.ok_or(Error::NotFound)?;
    if caller.outside_compartment(d.patient()) {
        return Err(Error::NotFound);
    }
    Ok(id)
}

/// The file of a message attachment with this id, if there is one in the token's
/// compartment (a patient token: threads with that patient). Membership is checked
/// when it is opened.
async fn message_attachment(
    state: &AppState,
    caller: &FhirCaller,
    id: &str,
) -> Result<Option<telemed_domain::BlobId>, Error> {
    let Ok(blob) = id.parse::<telemed_domain::BlobId>() else {
        return Ok(None);
    };
    let Some(place) = state.store.attachment_place(blob).await? else {
        return Ok(None);
    };
    if let Some(own) = caller.patient {
        let thread = state.store.thread(place.thread_id).await?;
        if thread.and_then(|t| t.patient_id) != Some(own) {
            return Err(Error::NotFound);
        }
    }
    Ok(Some(blob))
}

/// `GET /Binary/{id}`: a document's file as it was uploaded (the id is the
/// DocumentReference's), through the same policy and audit as the chart's download;
/// or a message's attachment (the id in its Communication), to the thread's members.
pub async fn binary(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: FhirCaller,
    Path(id): Path<String>,
) -> AppResult<axum::response::Response> {
    let binary = caller.scopes.allows("Binary", Interaction::Read);
    if let Some(blob) = message_attachment(&state, &caller, &id).await? {
        if !(binary || caller.scopes.allows("Communication", Interaction::Read)) {
            return Err(Error::Forbidden.into());
        }
        let (blob, bytes) =
            crate::messaging::open_attachment(&state, &ctx, &caller.principal, blob).await?;
        return Ok(crate::files::response(
            &blob,
            bytes,
            crate::files::Disposition::Download,
        ));
    }
    if !(binary || caller.scopes.allows("DocumentReference", Interaction::Read)) {
        return Err(Error::Forbidden.into());
    }
    let id = compartment_document(&state, &caller, &id).await?;
    let (blob, bytes) = crate::documents::file(
        &state,
        &ctx,
        &caller.principal,
        id,
        crate::documents::Rendition::Original,
    )
    .await?;
    Ok(crate::files::response(
        &blob,
        bytes,
        crate::files::Disposition::Download,
    ))
}

/// `GET /Patient/{id}/$everything`: the patient and every resource of their record the
/// caller may read (each section asked of the policy and audited), as one searchset.
pub async fn everything(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: FhirCaller,
    Path(id): Path<String>,
) -> AppResult<FhirJson> {
    caller.require(ResourceType::Patient, Interaction::Read)?;
    let patient = UserId::from_path(&id)?;
    if caller.outside_compartment(patient) {
        return Err(Error::NotFound.into());
    }
    let grant = record::authorize(
        &state,
        &ctx,
        &caller.principal,
        patient,
        Section::Demographics,
        Op::Read,
    )
    .await?;
    let person = state.store.patient(&grant).await?.ok_or(Error::NotFound)?;
    let mut found = vec![resources::patient(&person)];
    for rt in ResourceType::ALL.into_iter().filter(|t| t.is_clinical()) {
        if !caller.scopes.allows(rt.as_str(), Interaction::Read) {
            continue;
        }
        if rt == ResourceType::DocumentReference {
            match crate::documents::list(&state, &ctx, &caller.principal, patient).await {
                Ok(docs) => {
                    let base = super::base_url(&state);
                    found.extend(docs.iter().map(|d| resources::document_reference(&base, d)))
                }
                Err(Error::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
            continue;
        }
        for section in rt.sections() {
            let grant = match record::authorize(
                &state,
                &ctx,
                &caller.principal,
                patient,
                *section,
                Op::Read,
            )
            .await
            {
                Ok(grant) => grant,
                Err(Error::NotFound) => continue,
                Err(e) => return Err(e.into()),
            };
            let mut q = telemed_store::fhir::EntryQuery::new(
                patient,
                &[*section],
                rt == ResourceType::DiagnosticReport,
            );
            q.limit = EVERYTHING_MAX;
            let (entries, _) = state.store.search_entries(&[grant], &q).await?;
            found.extend(entries.iter().filter_map(resources::entry));
        }
    }
    if caller
        .scopes
        .allows(ResourceType::Consent.as_str(), Interaction::Read)
    {
        let consents = super::consents::of_patient(&state, &ctx, &caller, patient).await?;
        found.extend(consents.iter().map(resources::consent));
    }
    if caller
        .scopes
        .allows(ResourceType::Communication.as_str(), Interaction::Read)
    {
        found
            .extend(super::communications::of_patient(&state, &ctx, &caller, patient, None).await?);
    }
    // Read (and audited) only when the token may see one of the two.
    let allows = |rt: ResourceType| caller.scopes.allows(rt.as_str(), Interaction::Read);
    let (requests_allowed, dispenses_allowed) = (
        allows(ResourceType::MedicationRequest),
        allows(ResourceType::MedicationDispense),
    );
    if requests_allowed || dispenses_allowed {
        let (requests, dispenses) =
            super::prescriptions::resources_of(&state, &ctx, &caller, patient).await?;
        if requests_allowed {
            found.extend(requests);
        }
        if dispenses_allowed {
            found.extend(dispenses);
        }
    }
    for rt in [ResourceType::Appointment, ResourceType::Encounter] {
        if caller.scopes.allows(rt.as_str(), Interaction::Read) {
            found.extend(
                super::scheduling::patient_visits(&state, &ctx, &caller, patient, rt, None).await?,
            );
        }
    }
    let total = found.len() as i64;
    let base = super::base_url(&state);
    let link = format!("{base}/Patient/{patient}/$everything");
    Ok(FhirJson::written(telemed_fhir::bundle::searchset(
        &base,
        super::found::as_json(found),
        vec![],
        Some(total),
        vec![("self", link)],
        &[],
    )))
}

/// The most entries of one section `$everything` returns (a decade of twice-weekly
/// home readings is about 2,000 per vital sign).
const EVERYTHING_MAX: i64 = 100_000;
