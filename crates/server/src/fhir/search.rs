//! `GET /{type}?…` and `POST /{type}/_search` (form body): one searchset page.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use serde_json::Value;
use telemed_domain::access::{self as policy, CareFacts, Data, Grant, Op};
use telemed_domain::record::Section;
use telemed_domain::{EntryId, Error, Permission, Result, Role, UserId};
use telemed_fhir::bundle::{self, Resource};
use telemed_fhir::search::{Handling, Search, Total};
use telemed_fhir::{query, resources, search as parser, Interaction, ResourceType};
use telemed_store::fhir::EntryQuery;

use super::found::{as_json, included_patient, searched_patient, total, Found, Searched};
use super::{base_url, resource_type, FhirCaller, FhirJson};
use crate::context::Ctx;
use crate::error::AppResult;
use crate::{record, AppState};

pub async fn by_get(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: FhirCaller,
    Path(rt): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> AppResult<FhirJson> {
    let pairs = form_pairs(raw.as_deref().unwrap_or_default().as_bytes())?;
    Ok(search(&state, &ctx, &caller, &rt, pairs, handling(&headers)).await?)
}

/// The client's `Prefer: handling=…` (lenient unless it asks for strict).
fn handling(headers: &HeaderMap) -> Handling {
    Handling::from_prefer(headers.get("prefer").and_then(|v| v.to_str().ok()))
}

/// The same search with its parameters in a form body (and any in the query string).
pub async fn by_post(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: FhirCaller,
    Path(rt): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<FhirJson> {
    let mut pairs = form_pairs(raw.as_deref().unwrap_or_default().as_bytes())?;
    pairs.extend(form_pairs(&body)?);
    Ok(search(&state, &ctx, &caller, &rt, pairs, handling(&headers)).await?)
}

pub(super) fn form_pairs(bytes: &[u8]) -> Result<Vec<(String, String)>> {
    serde_urlencoded::from_bytes(bytes)
        .map_err(|_| Error::invalid("search", "the search parameters are not form-encoded"))
}

/// A search by type name and parameters: one searchset page with its paging links.
pub(super) async fn search(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    rt: &str,
    pairs: Vec<(String, String)>,
    handling: Handling,
) -> Result<FhirJson> {
    let rt = resource_type(rt)?;
    caller.require(rt, Interaction::Search)?;
    let search = parser::parse(rt, &pairs, handling)?;
    let found = run(state, ctx, caller, &search).await?;
    let base = base_url(state);
    // The links repeat what the search did: without the parameters it ignored.
    let pairs: Vec<(String, String)> = pairs
        .into_iter()
        .filter(|(k, _)| !search.ignored.contains(k))
        .collect();
    let mut links = vec![("self", page_url(&base, rt, &pairs, search.offset))];
    // `_summary=count` asks for no page at all: there is no next one.
    if found.more && search.count > 0 {
        links.push((
            "next",
            page_url(&base, rt, &pairs, search.offset + search.count),
        ));
    }
    if search.offset > 0 {
        let previous = search.offset.saturating_sub(search.count);
        links.push(("previous", page_url(&base, rt, &pairs, previous)));
    }
    Ok(FhirJson::written(bundle::searchset(
        &base,
        found.matches,
        found.included,
        found.total,
        links,
        &search.ignored,
    )))
}

/// Runs a parsed search (also used by conditional create).
pub(super) async fn run(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    search: &Search,
) -> Result<Found> {
    match search.resource_type {
        ResourceType::Patient => patients(state, ctx, caller, search).await,
        ResourceType::Practitioner => practitioners(state, search).await,
        ResourceType::AuditEvent => audit_events(state, ctx, caller, search).await,
        ResourceType::Appointment | ResourceType::Encounter => {
            super::scheduling::search_visits(state, ctx, caller, search).await
        }
        ResourceType::Schedule | ResourceType::PractitionerRole => {
            super::scheduling::search_directory(state, search).await
        }
        ResourceType::Slot => super::scheduling::search_slots(state, search).await,
        ResourceType::Consent => super::consents::search(state, ctx, caller, search).await,
        ResourceType::MedicationRequest => {
            super::prescriptions::search_requests(state, ctx, caller, search).await
        }
        ResourceType::MedicationDispense => {
            super::prescriptions::search_dispenses(state, ctx, caller, search).await
        }
        ResourceType::Communication => {
            super::communications::search(state, ctx, caller, search).await
        }
        _ => entries(state, ctx, caller, search).await,
    }
}

/// The search's own URL at another offset (the parameters repeated, `_offset` replaced).
fn page_url(base: &str, rt: ResourceType, pairs: &[(String, String)], offset: usize) -> String {
    let mut kept: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != "_offset")
        .cloned()
        .collect();
    if offset > 0 {
        kept.push(("_offset".into(), offset.to_string()));
    }
    let query = serde_urlencoded::to_string(&kept).unwrap_or_default();
    if query.is_empty() {
        format!("{base}/{}", rt.as_str())
    } else {
        format!("{base}/{}?{query}", rt.as_str())
    }
}

/// Chart entries of one patient: the patient named by the search or the token.
async fn entries(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    search: &Search,
) -> Result<Found> {
    let rt = search.resource_type;
    let patient = match searched_patient(caller, search)? {
        Searched::Patient(p) => p,
        Searched::Nobody => return Ok(Found::nothing()),
        Searched::Unnamed => {
            return Err(Error::invalid(
                "patient",
                format!("a {} search names its patient (patient=…)", rt.as_str()),
            ))
        }
    };
    if rt == ResourceType::DocumentReference {
        return documents(state, ctx, caller, search, patient).await;
    }
    let mut q = query::entry_query(search, patient);
    // Only the sections the search can return are asked for (and audited).
    // (An observation with the vital-signs category is a vital sign; any other
    // category may be on a vital sign or a lab result.)
    q.sections.retain(|s| {
        q.categories.iter().all(|group| {
            group
                .iter()
                .any(|c| c != "vital-signs" || *s == Section::Vitals)
        })
    });
    let (allowed, grants): (Vec<Section>, Vec<Grant>) =
        record::authorize_section_reads(state, ctx, &caller.principal, patient, &q.sections)
            .await?
            .into_iter()
            .unzip();
    if allowed.is_empty() {
        return Ok(Found::nothing());
    }
    q.sections = allowed;
    let (rows, more) = state.store.search_entries(&grants, &q).await?;
    let counted = state.store.count_entries(&grants, &q);
    let total = total(search, rows.len(), more, counted).await?;
    let matches: Vec<Resource> = rows.iter().filter_map(resources::entry_resource).collect();
    let mut included = vec![];
    let includes = |target| search.include.iter().any(|i| i.target == target);
    let includes_patient = includes(ResourceType::Patient);
    if includes_patient && !matches.is_empty() {
        included.extend(
            included_patient(state, ctx, caller, patient)
                .await?
                .into_iter()
                .map(Resource::from),
        );
    }
    if includes(ResourceType::Observation) {
        // The reports' results are lab entries of the same patient: the Labs section
        // was decided (and audited) for this search already.
        let ids: Vec<EntryId> = rows
            .iter()
            .flat_map(|e| e.results.iter().flatten().copied())
            .collect();
        if !ids.is_empty() {
            let ids_len = ids.len() as i64;
            let mut results = EntryQuery::new(patient, &[Section::Labs], false);
            results.ids = vec![ids];
            results.limit = ids_len;
            let (found, _) = state.store.search_entries(&grants, &results).await?;
            included.extend(found.iter().filter_map(resources::entry_resource));
        }
    }
    Ok(Found {
        matches,
        included,
        total,
        more,
    })
}

/// A patient's documents, through the documents service (policy, audit, and the
/// entered-in-error ones for clinicians only), filtered and paged here.
async fn documents(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    search: &Search,
    patient: UserId,
) -> Result<Found> {
    let mut docs = match crate::documents::list(state, ctx, &caller.principal, patient).await {
        Ok(d) => d,
        Err(Error::NotFound) => return Ok(Found::nothing()),
        Err(e) => return Err(e),
    };
    docs.retain(|d| query::document_matches(search, d));
    if search
        .sort
        .first()
        .is_some_and(|(_, descending)| !descending)
    {
        docs.reverse();
    }
    let base = base_url(state);
    Ok(Found::page(&docs, search, |d| {
        resources::document_reference(&base, d)
    }))
}

/// Patients: staff and clinicians (with `patients:read`) search everyone; a patient
/// finds themself and those whose proxy they are; a token with a patient context, that
/// patient. Each patient returned is audited as a demographics read, with the basis the
/// policy gives.
async fn patients(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    search: &Search,
) -> Result<Found> {
    let principal = &caller.principal;
    let mut q = query::person_query(search, Role::Patient);
    let mut proxied = vec![];
    if principal.role == Role::Patient {
        proxied = state
            .store
            .proxies(principal.user_id, false)
            .await?
            .into_iter()
            .map(|p| p.patient)
            .collect();
        let mut within = proxied.clone();
        within.push(principal.user_id);
        q.within = Some(within);
    } else if !principal.can(Permission::PatientsRead) {
        return Err(Error::Forbidden);
    }
    if let Some(own) = caller.patient {
        q.within = Some(vec![own]);
    }
    let (people, more) = state.store.search_people(&q).await?;
    let total = total(search, people.len(), more, state.store.count_people(&q)).await?;
    let demographics = Data::Section(Section::Demographics);
    let mut matches = Vec::with_capacity(people.len());
    let mut granted = Vec::with_capacity(people.len());
    for p in &people {
        // Demographics need no care relationship: the facts a search knows decide.
        let facts = CareFacts {
            patient_exists: true,
            proxy: proxied.contains(&p.id),
            ..CareFacts::default()
        };
        let Some(grant) = policy::decide(principal, p.id, demographics, Op::Read, facts) else {
            continue;
        };
        granted.push((p.id, grant));
        matches.push(resources::patient(p));
    }
    // Every match audited, in one commit, before the page is answered.
    record::audit_reads(state, ctx, principal, demographics, &granted).await?;
    Ok(Found {
        matches: as_json(matches),
        included: vec![],
        total,
        more,
    })
}

/// The audit trail: a patient's access log (to the patient, or a token pinned to them),
/// or every entry for those who may read the audit trail (admins).
async fn audit_events(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    search: &Search,
) -> Result<Found> {
    use telemed_store::fhir::TimeCond;
    let patient = match searched_patient(caller, search)? {
        Searched::Patient(p) => Some(p),
        Searched::Nobody => return Ok(Found::nothing()),
        Searched::Unnamed => None,
    };
    let mut filter = telemed_store::audit::AuditFilter::default();
    match patient {
        Some(p) => {
            let read = crate::record::authorize(
                state,
                ctx,
                &caller.principal,
                p,
                telemed_domain::access::Data::AccessLog,
                telemed_domain::access::Op::Read,
            )
            .await;
            match read {
                Ok(_) => filter.patient = Some(p),
                Err(Error::NotFound) => return Ok(Found::nothing()),
                Err(e) => return Err(e),
            }
        }
        None if caller.principal.can(Permission::AuditRead) => {}
        None => {
            return Err(Error::invalid(
                "patient",
                "an AuditEvent search names its patient (patient=…)",
            ))
        }
    }
    for f in search.on(telemed_fhir::types::Target::Recorded) {
        for v in &f.values {
            if let telemed_fhir::search::Value::Date(c) = v {
                match *c {
                    TimeCond::AtOrAfter(t) => filter.since = Some(t),
                    TimeCond::Before(t) => filter.until = Some(t),
                    TimeCond::Within(lo, hi) => {
                        filter.since = Some(lo);
                        filter.until = Some(hi);
                    }
                    TimeCond::Outside(..) => {
                        return Err(Error::invalid(
                            "date",
                            "AuditEvent dates take eq, lt, le, gt, ge, sa or eb",
                        ))
                    }
                }
            }
        }
    }
    state.audit.flush().await?;
    // An accurate total reads the whole trail asked for, up to this many entries.
    const MOST_COUNTED: i64 = 100_000;
    filter.limit = if search.total == Total::Accurate {
        MOST_COUNTED
    } else {
        (search.offset + search.count + 1) as i64
    };
    let entries = state.store.search_audit(&filter).await?;
    let more = entries.len() > search.offset + search.count;
    let page: Vec<Value> = entries
        .iter()
        .skip(search.offset)
        .take(search.count)
        .map(resources::audit_event)
        .collect();
    let total = match search.total {
        Total::Accurate => Some(entries.len() as i64),
        Total::Estimate if !more => Some((search.offset + page.len()) as i64),
        _ => None,
    };
    Ok(Found {
        matches: as_json(page),
        included: vec![],
        total,
        more,
    })
}

/// The practitioner directory (clinicians), open to any authenticated client.
async fn practitioners(state: &AppState, search: &Search) -> Result<Found> {
    let q = query::person_query(search, Role::Clinician);
    let (people, more) = state.store.search_people(&q).await?;
    let total = total(search, people.len(), more, state.store.count_people(&q)).await?;
    Ok(Found {
        matches: people
            .iter()
            .map(|p| resources::practitioner(p).into())
            .collect(),
        included: vec![],
        total,
        more,
    })
}
