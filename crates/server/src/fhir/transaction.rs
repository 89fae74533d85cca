//! `POST /fhir/R4` with a Bundle of type `transaction` (all or nothing, one database
//! transaction) or `batch` (each entry on its own, as if sent alone).
//!
//! An entry creates (`POST`, conditionally with `ifNoneExist`), updates (`PUT
//! Type/id`, with `ifMatch`) or reads (`GET` a resource, a version or a search).
//! Resources are never deleted (a chart entry is marked entered-in-error instead), so
//! `DELETE` entries are refused. In a transaction, entries may refer to each other by
//! their `fullUrl` (`urn:uuid:…`), and a reference may be a search
//! (`Patient?identifier=…`) that must match exactly one resource, so a whole patient
//! history imports in one request. A transaction runs in the order the specification
//! gives: creates (patients first, lab reports last: they refer to results), updates,
//! then reads, which see the committed result and are not part of the all-or-nothing.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{json, Value};
use telemed_domain::{Error, Result};
use telemed_fhir::bounded::Limits;
use telemed_fhir::{outcome, ResourceType};
use telemed_store::DbResult;

use super::write::{self, create_in, update_in, Update, WriteScope, Written};
use super::{Body, FhirCaller, FhirJson};
use crate::context::Ctx;
use crate::error::{status_of, AppResult};
use crate::AppState;

/// At most this many entries in one bundle.
pub const MAX_ENTRIES: usize = 20_000;

/// What one entry asks for.
enum Request<'a> {
    Create {
        resource_type: ResourceType,
        resource: &'a Value,
        if_none_exist: Option<&'a str>,
    },
    Update(Update<'a>),
    /// A read, a version read or a search, by its URL relative to the base.
    Read(&'a str),
}

struct Item<'a> {
    index: usize,
    full_url: Option<&'a str>,
    request: Request<'a>,
}

impl Item<'_> {
    /// Whether the entry's write depends on a search: a conditional create, or a
    /// reference given as a search.
    fn is_conditional(&self) -> bool {
        match &self.request {
            Request::Create {
                resource,
                if_none_exist,
                ..
            } => if_none_exist.is_some() || conditional_references(resource).next().is_some(),
            Request::Update(change) => conditional_references(change.resource).next().is_some(),
            Request::Read(_) => false,
        }
    }
}

/// An entry's error, naming the entry.
fn at(index: usize, e: Error) -> Error {
    match e {
        Error::Invalid { field, message } => Error::Invalid {
            field,
            message: format!("entry {index}: {message}"),
        },
        Error::Unprocessable { field, message } => Error::Unprocessable {
            field,
            message: format!("entry {index}: {message}"),
        },
        Error::Conflict(m) => Error::Conflict(format!("entry {index}: {m}")),
        Error::PreconditionFailed(m) => Error::PreconditionFailed(format!("entry {index}: {m}")),
        other => other,
    }
}

fn item(index: usize, entry: &Value) -> Result<Item<'_>> {
    let request = &entry["request"];
    let method = request["method"].as_str().unwrap_or_default();
    let url = request["url"].as_str().unwrap_or_default();
    let resource = &entry["resource"];
    let request =
        match method {
            "POST" => {
                let resource_type = typed(resource, url)?;
                Request::Create {
                    resource_type,
                    resource,
                    if_none_exist: request["ifNoneExist"].as_str(),
                }
            }
            "PUT" => {
                let (type_name, id) = url.split_once('/').unwrap_or((url, ""));
                if id.is_empty() || id.contains(['/', '?']) {
                    return Err(Error::invalid(
                    "request",
                    "request.url of an update is Type/id (conditional updates are not supported)",
                ));
                }
                Request::Update(Update {
                    resource_type: typed(resource, type_name)?,
                    id,
                    resource,
                    expected: write::if_match(request["ifMatch"].as_str())?,
                })
            }
            "GET" if !url.is_empty() => Request::Read(url),
            "DELETE" => return Err(Error::invalid(
                "request",
                "telemed does not delete resources: mark a chart entry entered-in-error with PUT",
            )),
            _ => {
                return Err(Error::invalid(
                    "request",
                    "request.method is POST, PUT or GET, with a request.url",
                ))
            }
        };
    Ok(Item {
        index,
        full_url: entry["fullUrl"].as_str(),
        request,
    })
}

/// The type of a create's or update's resource, which `url_type` must name.
fn typed(resource: &Value, url_type: &str) -> Result<ResourceType> {
    let name = resource["resourceType"].as_str().unwrap_or_default();
    if url_type != name {
        return Err(Error::invalid(
            "request",
            format!("request.url must be the resource's type ({name})"),
        ));
    }
    ResourceType::parse(name).ok_or_else(|| {
        Error::unprocessable(
            "resourceType",
            format!("{name} is not a type telemed stores"),
        )
    })
}

/// The response entry of a write or a read.
fn response_entry(status: StatusCode, location: Option<String>, found: FhirJson) -> Value {
    let mut r = serde_json::Map::new();
    r.insert("status".into(), json!(status_line(status)));
    if let Some(l) = location {
        r.insert("location".into(), json!(l));
    }
    if let Some(v) = found.version {
        r.insert("etag".into(), json!(format!("W/\"{v}\"")));
    }
    if let Some(t) = found.last_modified {
        r.insert(
            "lastModified".into(),
            json!(telemed_fhir::resources::instant(t)),
        );
    }
    let mut entry = serde_json::Map::new();
    if status == StatusCode::OK {
        entry.insert("resource".into(), found.body.into_value());
    }
    entry.insert("response".into(), Value::Object(r));
    Value::Object(entry)
}

fn status_line(status: StatusCode) -> String {
    format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or_default()
    )
}

fn written_entry(w: Written, status: StatusCode) -> Value {
    let location = w.location();
    response_entry(status, Some(location), w.response(status))
}

fn error_entry(ctx: &Ctx, e: &Error) -> Value {
    json!({ "response": {
        "status": status_line(status_of(e)),
        "outcome": outcome::error(e.code(), &e.to_string(), None, &ctx.request_id),
    }})
}

pub async fn process(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: FhirCaller,
    body: Bytes,
) -> AppResult<FhirJson> {
    let bundle = super::body::parse(&state.json_budget, &body, &Limits::BUNDLE).await?;
    if bundle["resourceType"].as_str() != Some("Bundle") {
        return Err(Error::invalid("resourceType", "POST to the base takes a Bundle").into());
    }
    let entries = bundle["entry"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if entries.len() > MAX_ENTRIES {
        return Err(Error::invalid(
            "entry",
            format!("a bundle holds at most {MAX_ENTRIES} entries"),
        )
        .into());
    }
    let out = match bundle["type"].as_str() {
        Some("transaction") => transaction(&state, &ctx, &caller, entries).await?,
        Some("batch") => batch(&state, &ctx, &caller, entries).await,
        _ => {
            return Err(Error::invalid("type", "the Bundle's type is transaction or batch").into())
        }
    };
    Ok(FhirJson::ok(out))
}

async fn transaction(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    entries: &[Value],
) -> Result<Value> {
    let items = entries
        .iter()
        .enumerate()
        .map(|(i, e)| item(i, e).map_err(|e| at(i, e)))
        .collect::<Result<Vec<_>>>()?;
    let mut out: Vec<Value> = vec![Value::Null; entries.len()];
    let mut scope = WriteScope::default();
    // Before the write transaction opens (its searches read the committed record):
    // conditional creates whose resource exists, and conditional references, in a
    // conditional write's turn held until the commit, so that two transactions with the
    // same condition cannot both find nothing and both create.
    let turn = if items.iter().any(Item::is_conditional) {
        Some(state.store.begin_conditional_write().await?)
    } else {
        None
    };
    let mut creates = Vec::new();
    for it in &items {
        if let Request::Create {
            resource_type,
            resource,
            if_none_exist,
        } = it.request
        {
            let found = match if_none_exist {
                Some(condition) => write::existing(state, ctx, caller, resource_type, condition)
                    .await
                    .map_err(|e| at(it.index, e))?,
                None => None,
            };
            match found {
                Some(existing) => {
                    let reference = reference_to(&existing);
                    if let Some(url) = it.full_url {
                        scope.refs.insert(url.to_owned(), reference.clone());
                    }
                    out[it.index] =
                        response_entry(StatusCode::OK, Some(reference), found_json(existing));
                }
                None => creates.push((it, resource_type, resource)),
            }
        }
    }
    resolve_conditional_references(state, ctx, caller, &items, &mut scope.refs).await?;
    let creates = in_dependency_order(creates);
    let mut tx = match turn {
        Some(turn) => turn.begin().await?,
        None => state.store.begin_write().await?,
    };
    for (it, rt, resource) in creates {
        if rt == ResourceType::Appointment {
            return Err(at(it.index, appointment_in_transaction()));
        }
        let w = create_in(&mut tx, state, ctx, caller, &mut scope, rt, resource)
            .await
            .map_err(|e| at(it.index, e))?;
        if let Some(url) = it.full_url {
            scope.refs.insert(
                url.to_owned(),
                format!("{}/{}", w.resource_type.as_str(), w.id),
            );
        }
        out[it.index] = written_entry(w, StatusCode::CREATED);
    }
    for it in &items {
        if let Request::Update(change) = &it.request {
            if change.resource_type == ResourceType::Appointment {
                return Err(at(it.index, appointment_in_transaction()));
            }
            let w = update_in(&mut tx, state, ctx, caller, &mut scope, change)
                .await
                .map_err(|e| at(it.index, e))?;
            out[it.index] = written_entry(w, StatusCode::OK);
        }
    }
    telemed_store::audit::append(&mut tx, &scope.audit).await?;
    tx.commit().await.db()?;
    for it in &items {
        if let Request::Read(url) = it.request {
            out[it.index] = match get(state, ctx, caller, url).await {
                Ok(found) => response_entry(StatusCode::OK, None, found),
                Err(e) => error_entry(ctx, &e),
            };
        }
    }
    Ok(json!({
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": out,
    }))
}

/// A transaction's creates ordered so that each comes after the entries of the bundle
/// it refers to (a patient before its observations, results before their report, a
/// panel's members before the panel), in bundle order otherwise. Entries that refer to
/// each other in a circle keep bundle order; their forward references are refused.
fn in_dependency_order<'a, T>(
    creates: Vec<(&'a Item<'a>, T, &'a Value)>,
) -> Vec<(&'a Item<'a>, T, &'a Value)> {
    let position: HashMap<&str, usize> = creates
        .iter()
        .enumerate()
        .filter_map(|(i, (it, _, _))| it.full_url.map(|url| (url, i)))
        .collect();
    let mut waiting_on = vec![0usize; creates.len()];
    let mut needed_by = vec![Vec::new(); creates.len()];
    for (i, (_, _, resource)) in creates.iter().enumerate() {
        let mut deps: Vec<usize> = write::references(resource)
            .into_iter()
            .filter_map(|r| position.get(r).copied())
            .filter(|&j| j != i)
            .collect();
        deps.sort_unstable();
        deps.dedup();
        waiting_on[i] = deps.len();
        for j in deps {
            needed_by[j].push(i);
        }
    }
    let mut ready: std::collections::BTreeSet<usize> =
        (0..creates.len()).filter(|&i| waiting_on[i] == 0).collect();
    let mut order = Vec::with_capacity(creates.len());
    let mut placed = vec![false; creates.len()];
    while order.len() < creates.len() {
        let next = match ready.pop_first() {
            Some(i) => i,
            // A circle: the first entry not yet placed goes next.
            None => (0..creates.len()).find(|&i| !placed[i]).unwrap_or_default(),
        };
        if std::mem::replace(&mut placed[next], true) {
            continue;
        }
        order.push(next);
        for &k in &needed_by[next] {
            waiting_on[k] = waiting_on[k].saturating_sub(1);
            if waiting_on[k] == 0 && !placed[k] {
                ready.insert(k);
            }
        }
    }
    let mut slots: Vec<Option<(&'a Item<'a>, T, &'a Value)>> =
        creates.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

fn appointment_in_transaction() -> Error {
    Error::unprocessable(
        "request",
        "an Appointment is booked or cancelled on its own or in a batch, not in a transaction",
    )
}

/// The `Type/id` of a resource the API returned.
fn reference_to(resource: &Value) -> String {
    format!(
        "{}/{}",
        resource["resourceType"].as_str().unwrap_or_default(),
        resource["id"].as_str().unwrap_or_default()
    )
}

/// A resource found by a search, with the version and time its `meta` carries.
fn found_json(resource: Value) -> FhirJson {
    let version = resource["meta"]["versionId"]
        .as_str()
        .and_then(|v| v.parse().ok());
    let last_modified = resource["meta"]["lastUpdated"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc));
    FhirJson {
        version,
        last_modified,
        ..FhirJson::ok(resource)
    }
}

/// The references telemed reads from a resource (its patient, a report's results)
/// that are searches (`Patient?identifier=…`).
fn conditional_references(resource: &Value) -> impl Iterator<Item = &str> {
    let single = ["subject", "patient"]
        .into_iter()
        .map(|element| &resource[element]);
    let results = resource["result"].as_array().into_iter().flatten();
    single
        .chain(results)
        .filter_map(|r| r["reference"].as_str())
        .filter(|r| !r.starts_with("urn:") && r.contains('?'))
}

/// Resolves every conditional reference of a transaction's writes to the one resource
/// its search matches (none or several fail the transaction).
async fn resolve_conditional_references(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    items: &[Item<'_>],
    refs: &mut HashMap<String, String>,
) -> Result<()> {
    for it in items {
        let resource = match &it.request {
            Request::Create { resource, .. } => *resource,
            Request::Update(change) => change.resource,
            Request::Read(_) => continue,
        };
        for reference in conditional_references(resource) {
            if refs.contains_key(reference) {
                continue;
            }
            let (type_name, query) = reference.split_once('?').unwrap_or_default();
            let rt = ResourceType::parse(type_name).ok_or_else(|| {
                at(
                    it.index,
                    Error::unprocessable(
                        "reference",
                        format!("{reference} is not a search telemed can run"),
                    ),
                )
            })?;
            let found = write::existing(state, ctx, caller, rt, query)
                .await
                .map_err(|e| at(it.index, e))?
                .ok_or_else(|| {
                    at(
                        it.index,
                        Error::unprocessable("reference", format!("{reference} matches nothing")),
                    )
                })?;
            refs.insert(reference.to_owned(), reference_to(&found));
        }
    }
    Ok(())
}

/// A batch or transaction `GET`: `Type/id`, `Type/id/_history/vid` or `Type?search`.
async fn get(state: &AppState, ctx: &Ctx, caller: &FhirCaller, url: &str) -> Result<FhirJson> {
    let url = url.trim_start_matches('/');
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let parts: Vec<&str> = path.split('/').collect();
    let rt = |name: &str| ResourceType::parse(name).ok_or(Error::NotFound);
    match parts.as_slice() {
        [name] => {
            super::search::search(
                state,
                ctx,
                caller,
                name,
                super::search::form_pairs(query.as_bytes())?,
                Default::default(),
            )
            .await
        }
        [name, id] if query.is_empty() => {
            super::read::read_one(state, ctx, caller, rt(name)?, id).await
        }
        [name, id, "_history", vid] if query.is_empty() => {
            super::read::vread_one(state, ctx, caller, rt(name)?, id, vid).await
        }
        _ => Err(Error::invalid(
            "request",
            "a GET entry reads Type/id, Type/id/_history/version or searches Type?…",
        )),
    }
}

/// Each entry on its own, as the same request sent alone would be: one failing entry
/// does not stop the others. Entries do not refer to each other.
async fn batch(state: &AppState, ctx: &Ctx, caller: &FhirCaller, entries: &[Value]) -> Value {
    let mut out = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let result = async {
            match item(i, e)?.request {
                Request::Create {
                    resource_type,
                    resource,
                    if_none_exist,
                } => {
                    let found = write::create_one(
                        state,
                        ctx,
                        caller,
                        resource_type,
                        resource,
                        if_none_exist,
                    )
                    .await?;
                    let status = found.status;
                    let found = FhirJson {
                        body: Body::Json(found.body.into_value()),
                        ..found
                    };
                    let location = match (&found.location, &found.body) {
                        (Some(l), _) => l.clone(),
                        (None, Body::Json(v)) => reference_to(v),
                        (None, Body::Written(_)) => String::new(),
                    };
                    Ok(response_entry(status, Some(location), found))
                }
                Request::Update(change) => {
                    let found = write::update_one(state, ctx, caller, &change).await?;
                    let body = found.body.into_value();
                    let location = reference_to(&body);
                    let found = FhirJson {
                        body: Body::Json(body),
                        ..found
                    };
                    Ok(response_entry(StatusCode::OK, Some(location), found))
                }
                Request::Read(url) => Ok(response_entry(
                    StatusCode::OK,
                    None,
                    get(state, ctx, caller, url).await?,
                )),
            }
        }
        .await;
        out.push(result.unwrap_or_else(|e: Error| error_entry(ctx, &at(i, e))));
    }
    json!({
        "resourceType": "Bundle",
        "type": "batch-response",
        "entry": out,
    })
}
