//! FHIR Bulk Data export (the asynchronous request pattern): `Patient/$export` and
//! `Group/{id}/$export` answer 202 with a status URL; the export runs in the
//! background, patient by patient, through the same policy and audit as a read; the
//! status URL answers 202 while it runs and then a manifest of NDJSON files, which the
//! requester downloads with their token. `DELETE` on the status URL cancels.
//!
//! A Group is a clinician's panel (their care team and the patients they have visits
//! with): `Group/{clinician id}`, exported by that clinician.

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use telemed_domain::access::Op;
use telemed_domain::record::Section;
use telemed_domain::{Error, Result, Role, UserId};
use telemed_fhir::search::parse_date;
use telemed_fhir::{resources, Interaction, ResourceType};
use telemed_store::fhir::EntryQuery;

use super::{base_url, FhirCaller};
use crate::context::Ctx;
use crate::error::AppResult;
use crate::{record, AppState};

/// The types an export holds: a patient's compartment (not the directory, not the
/// audit trail).
fn exported(t: ResourceType) -> bool {
    t == ResourceType::Patient
        || t.is_clinical()
        || matches!(
            t,
            ResourceType::Appointment
                | ResourceType::Encounter
                | ResourceType::Consent
                | ResourceType::Communication
                | ResourceType::MedicationRequest
                | ResourceType::MedicationDispense
        )
}

/// How often a running export tells the database it is alive.
const HEARTBEAT_EVERY: std::time::Duration = std::time::Duration::from_secs(20);
/// How long without a heartbeat before an export counts as lost with its node.
pub const STALLED_AFTER: chrono::Duration = chrono::Duration::minutes(2);

/// Every minute, for the life of the server, reports failed the exports whose node
/// stopped (see `fail_stalled_exports`).
pub async fn watch_stalled_exports(state: AppState) {
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        match fail_stalled_exports(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                exports = n,
                "bulk exports whose node stopped were marked failed"
            ),
            Err(e) => tracing::error!(error = ?e, "checking for stalled bulk exports failed"),
        }
    }
}

/// Reports failed the exports whose node stopped mid-way (no heartbeat for
/// `STALLED_AFTER`), so their clients hear it and ask again instead of polling forever.
pub async fn fail_stalled_exports(state: &AppState) -> Result<u64> {
    let now = state.clock.now();
    state
        .store
        .fail_stalled_exports(
            now - STALLED_AFTER,
            "the node running the export stopped; ask for it again",
            now,
        )
        .await
}

/// Resources per NDJSON file.
const PER_FILE: usize = 10_000;

struct Request {
    types: Vec<ResourceType>,
    /// Whether `_type` named the types (each must then be allowed); otherwise the
    /// export holds every type the token may read.
    named: bool,
    since: Option<telemed_store::fhir::TimeCond>,
}

impl Request {
    /// Whether something last changed at `t` belongs in the export (`_since`).
    fn changed_since(&self, t: chrono::DateTime<chrono::Utc>) -> bool {
        match self.since {
            Some(telemed_store::fhir::TimeCond::AtOrAfter(since)) => t >= since,
            _ => true,
        }
    }
}

fn request(headers: &HeaderMap, raw: Option<&str>) -> Result<Request> {
    let prefer = headers
        .get("prefer")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !prefer.contains("respond-async") {
        return Err(Error::invalid(
            "Prefer",
            "a bulk export needs Prefer: respond-async",
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or_default())
        .map_err(|_| Error::invalid("query", "the parameters are not form-encoded"))?;
    let mut out = Request {
        types: ResourceType::ALL
            .into_iter()
            .filter(|t| exported(*t))
            .collect(),
        named: false,
        since: None,
    };
    for (k, v) in pairs {
        match k.as_str() {
            "_outputFormat" => {
                if !matches!(
                    v.as_str(),
                    "ndjson" | "application/ndjson" | "application/fhir+ndjson"
                ) {
                    return Err(Error::invalid("_outputFormat", "only NDJSON is produced"));
                }
            }
            "_type" => {
                out.named = true;
                out.types = v
                    .split(',')
                    .map(|t| {
                        ResourceType::parse(t)
                            .filter(|t| exported(*t))
                            .ok_or_else(|| Error::invalid("_type", format!("{t} is not exported")))
                    })
                    .collect::<Result<_>>()?
            }
            "_since" => out.since = Some(parse_date("_since", &format!("ge{v}"))?),
            _ => {
                return Err(Error::invalid(
                    "query",
                    format!("{k} is not a bulk export parameter"),
                ))
            }
        }
    }
    Ok(out)
}

/// `GET /Patient/$export`: every patient the caller may read the record of.
pub async fn patients(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: FhirCaller,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let req = request(&headers, raw.as_deref())?;
    let principal = &caller.principal;
    let who = match (caller.patient, principal.role) {
        (Some(p), _) => vec![p],
        (None, Role::Clinician) => state.store.panel_of(principal.user_id).await?,
        (None, Role::Patient) => {
            let mut v: Vec<UserId> = state
                .store
                .proxies(principal.user_id, false)
                .await?
                .into_iter()
                .map(|p| p.patient)
                .collect();
            v.push(principal.user_id);
            v
        }
        _ => return Err(Error::Forbidden.into()),
    };
    Ok(kick_off(state, ctx, caller, who, req, "Patient/$export", raw).await?)
}

/// `GET /Group/{clinician id}/$export`: a clinician's panel, by that clinician.
pub async fn group(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: FhirCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let req = request(&headers, raw.as_deref())?;
    let clinician = UserId::from_path(&id)?;
    if clinician != caller.principal.user_id || caller.principal.role != Role::Clinician {
        return Err(Error::NotFound.into());
    }
    let who = state.store.panel_of(clinician).await?;
    let path = format!("Group/{clinician}/$export");
    Ok(kick_off(state, ctx, caller, who, req, &path, raw).await?)
}

async fn kick_off(
    state: AppState,
    ctx: Ctx,
    caller: FhirCaller,
    patients: Vec<UserId>,
    mut req: Request,
    path: &str,
    raw: Option<String>,
) -> Result<Response> {
    if req.named {
        for t in &req.types {
            caller.require(*t, Interaction::Read)?;
        }
    } else {
        req.types
            .retain(|t| caller.scopes.allows(t.as_str(), Interaction::Read));
    }
    let id = uuid::Uuid::new_v4().simple().to_string();
    let base = base_url(&state);
    let url = match raw.filter(|q| !q.is_empty()) {
        Some(q) => format!("{base}/{path}?{q}"),
        None => format!("{base}/{path}"),
    };
    state
        .store
        .insert_export(&id, caller.principal.user_id, &url, state.clock.now())
        .await?;
    let job = id.clone();
    let worker = state.clone();
    tokio::spawn(async move {
        let outcome = export(&worker, &ctx, &caller, &job, &patients, &req).await;
        let error = outcome.as_ref().err().map(|e| {
            tracing::error!(export = %job, error = %e, "bulk export failed");
            "the export failed; ask for it again"
        });
        if let Err(e) = worker
            .store
            .finish_export(&job, error, worker.clock.now())
            .await
        {
            tracing::error!(export = %job, error = %e, "could not record the end of a bulk export");
        }
    });
    let mut r = StatusCode::ACCEPTED.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("{base}/$export-status/{id}")) {
        r.headers_mut().insert(header::CONTENT_LOCATION, v);
    }
    Ok(r)
}

/// Writes the NDJSON files: per type, patient by patient, in files of `PER_FILE`.
async fn export(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    id: &str,
    patients: &[UserId],
    req: &Request,
) -> Result<()> {
    let mut seq = 0i64;
    let mut beat = std::time::Instant::now();
    for rt in &req.types {
        let mut lines: Vec<String> = vec![];
        for patient in patients {
            if beat.elapsed() >= HEARTBEAT_EVERY {
                state.store.export_heartbeat(id, state.clock.now()).await?;
                beat = std::time::Instant::now();
            }
            for line in resources_of(state, ctx, caller, *patient, *rt, req).await? {
                lines.push(line);
                if lines.len() == PER_FILE {
                    seq += 1;
                    state
                        .store
                        .add_export_file(id, seq, rt.as_str(), PER_FILE as i64, &lines.join("\n"))
                        .await?;
                    lines.clear();
                }
            }
        }
        if !lines.is_empty() {
            seq += 1;
            state
                .store
                .add_export_file(id, seq, rt.as_str(), lines.len() as i64, &lines.join("\n"))
                .await?;
        }
    }
    Ok(())
}

/// One patient's resources of one type, as NDJSON lines, if the policy allows.
async fn resources_of(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    patient: UserId,
    rt: ResourceType,
    req: &Request,
) -> Result<Vec<String>> {
    if rt == ResourceType::Patient {
        let grant = match record::authorize(
            state,
            ctx,
            &caller.principal,
            patient,
            Section::Demographics,
            Op::Read,
        )
        .await
        {
            Ok(grant) => grant,
            Err(Error::NotFound) => return Ok(vec![]),
            Err(e) => return Err(e),
        };
        return Ok(state
            .store
            .patient(&grant)
            .await?
            .filter(|p| req.changed_since(p.updated_at))
            .map(|p| resources::patient(&p).to_string())
            .into_iter()
            .collect());
    }
    if rt == ResourceType::Communication {
        let messages =
            super::communications::of_patient(state, ctx, caller, patient, req.since).await?;
        return Ok(messages.iter().map(Value::to_string).collect());
    }
    if matches!(
        rt,
        ResourceType::MedicationRequest | ResourceType::MedicationDispense
    ) {
        let (prescriptions, dispenses) =
            super::prescriptions::of_patient(state, ctx, caller, patient).await?;
        if rt == ResourceType::MedicationRequest {
            return Ok(prescriptions
                .iter()
                .filter(|p| req.changed_since(p.status_changed_at.unwrap_or(p.signed_at)))
                .map(|p| resources::medication_request(p).to_string())
                .collect());
        }
        return Ok(dispenses
            .iter()
            .filter(|d| req.changed_since(d.dispensed_at))
            .filter_map(|d| {
                let p = prescriptions.iter().find(|p| p.id == d.prescription_id)?;
                Some(resources::medication_dispense(d, p).to_string())
            })
            .collect());
    }
    if rt == ResourceType::Consent {
        let consents = super::consents::of_patient(state, ctx, caller, patient).await?;
        return Ok(consents
            .iter()
            .filter(|c| req.changed_since(c.accepted_at))
            .map(|c| resources::consent(c).to_string())
            .collect());
    }
    if matches!(rt, ResourceType::Appointment | ResourceType::Encounter) {
        let visits =
            super::scheduling::patient_visits(state, ctx, caller, patient, rt, req.since).await?;
        return Ok(visits.iter().map(Value::to_string).collect());
    }
    if rt == ResourceType::DocumentReference {
        return match crate::documents::list(state, ctx, &caller.principal, patient).await {
            Ok(docs) => Ok(docs
                .iter()
                .filter(|d| req.changed_since(d.updated_at))
                .map(|d| resources::document_reference(&super::base_url(state), d).to_string())
                .collect()),
            Err(Error::NotFound) => Ok(vec![]),
            Err(e) => Err(e),
        };
    }
    let mut out = vec![];
    for section in rt.sections() {
        let grant =
            match record::authorize(state, ctx, &caller.principal, patient, *section, Op::Read)
                .await
            {
                Ok(grant) => grant,
                Err(Error::NotFound) => continue,
                Err(e) => return Err(e),
            };
        let mut q = EntryQuery::new(patient, &[*section], rt == ResourceType::DiagnosticReport);
        q.limit = 100_000;
        if let Some(since) = req.since {
            q.updated = vec![vec![since]];
        }
        let (entries, _) = state.store.search_entries(&[grant], &q).await?;
        out.extend(
            entries
                .iter()
                .filter_map(resources::entry)
                .map(|r| r.to_string()),
        );
    }
    Ok(out)
}

/// `GET /$export-status/{id}`: 202 while running, the manifest when done.
pub async fn status(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: FhirCaller,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let export = state
        .store
        .export(&id)
        .await?
        .filter(|e| e.requester == caller.principal.user_id && e.status != "cancelled")
        .ok_or(Error::NotFound)?;
    match export.status.as_str() {
        "running" => {
            let mut r = StatusCode::ACCEPTED.into_response();
            r.headers_mut()
                .insert("x-progress", HeaderValue::from_static("in progress"));
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
            Ok(r)
        }
        "done" => {
            let base = base_url(&state);
            let output: Vec<Value> = state
                .store
                .export_files(&id)
                .await?
                .into_iter()
                .map(|f| {
                    json!({ "type": f.resource_type, "url": format!("{base}/$export-file/{id}/{}", f.seq), "count": f.count })
                })
                .collect();
            Ok(axum::Json(json!({
                "transactionTime": resources::instant(export.created_at),
                "request": export.request_url,
                "requiresAccessToken": true,
                "output": output,
                "error": [],
            }))
            .into_response())
        }
        _ => {
            // The stored reason is telemed's own wording, written for the client.
            let message = export
                .error
                .unwrap_or_else(|| "the export failed; ask for it again".into());
            let body = telemed_fhir::outcome::error("internal", &message, None, &ctx.request_id);
            let mut r = (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(telemed_fhir::FHIR_JSON),
            );
            Ok(r)
        }
    }
}

/// `DELETE /$export-status/{id}`: cancels the export, or removes its files.
pub async fn cancel(
    State(state): State<AppState>,
    caller: FhirCaller,
    Path(id): Path<String>,
) -> AppResult<Response> {
    if !state
        .store
        .delete_export(&id, caller.principal.user_id, state.clock.now())
        .await?
    {
        return Err(Error::NotFound.into());
    }
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `GET /$export-file/{id}/{seq}`: one NDJSON file, to its requester.
pub async fn file(
    State(state): State<AppState>,
    caller: FhirCaller,
    Path((id, seq)): Path<(String, i64)>,
) -> AppResult<Response> {
    state
        .store
        .export(&id)
        .await?
        .filter(|e| e.requester == caller.principal.user_id && e.status == "done")
        .ok_or(Error::NotFound)?;
    let body = state
        .store
        .export_file(&id, seq)
        .await?
        .ok_or(Error::NotFound)?;
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+ndjson"),
    );
    Ok(r)
}
