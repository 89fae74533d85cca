//! `POST /fhir/R4` with a Bundle of type `transaction` (all or nothing, one database
//! transaction) or `batch` (each entry on its own). Entries create resources
//! (`request.method` POST); a transaction's entries may refer to each other by their
//! `fullUrl` (`urn:uuid:…`), so a whole patient history imports in one request:
//! patients are created first, then what refers to them.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{json, Value};
use telemed_domain::{Error, Result};
use telemed_fhir::{outcome, ResourceType};
use telemed_store::DbResult;

use super::write::{create_in, parse_json, WriteScope, Written};
use super::{FhirCaller, FhirJson};
use crate::context::Ctx;
use crate::error::{status_of, AppResult};
use crate::AppState;

/// At most this many entries in one bundle.
pub const MAX_ENTRIES: usize = 20_000;

struct Item<'a> {
    index: usize,
    full_url: Option<&'a str>,
    resource_type: ResourceType,
    resource: &'a Value,
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
        other => other,
    }
}

fn item(index: usize, entry: &Value) -> Result<Item<'_>> {
    let method = entry["request"]["method"].as_str().unwrap_or_default();
    let url = entry["request"]["url"].as_str().unwrap_or_default();
    if method != "POST" {
        return Err(Error::invalid(
            "request",
            format!("entry {index}: only POST (create) entries are supported"),
        ));
    }
    let resource = &entry["resource"];
    let rt_name = resource["resourceType"].as_str().unwrap_or_default();
    if url != rt_name {
        return Err(Error::invalid(
            "request",
            format!("entry {index}: request.url must be the resource type ({rt_name})"),
        ));
    }
    let resource_type = ResourceType::parse(rt_name).ok_or_else(|| {
        Error::unprocessable(
            "resourceType",
            format!("entry {index}: {rt_name} is not a type telemed stores"),
        )
    })?;
    Ok(Item {
        index,
        full_url: entry["fullUrl"].as_str(),
        resource_type,
        resource,
    })
}

fn response_entry(w: &Written) -> Value {
    let mut r = json!({
        "status": "201 Created",
        "location": w.location(),
        "lastModified": telemed_fhir::resources::instant(w.last_modified),
    });
    if let Some(v) = w.version {
        r["etag"] = json!(format!("W/\"{v}\""));
    }
    json!({ "response": r })
}

pub async fn process(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: FhirCaller,
    body: Bytes,
) -> AppResult<FhirJson> {
    let bundle = parse_json(&body)?;
    if bundle["resourceType"].as_str() != Some("Bundle") {
        return Err(Error::invalid("resourceType", "POST to the base takes a Bundle").into());
    }
    let entries = bundle["entry"].as_array().cloned().unwrap_or_default();
    if entries.len() > MAX_ENTRIES {
        return Err(Error::invalid(
            "entry",
            format!("a bundle holds at most {MAX_ENTRIES} entries"),
        )
        .into());
    }
    match bundle["type"].as_str() {
        Some("transaction") => Ok(transaction(&state, &ctx, &caller, &entries).await?),
        Some("batch") => Ok(batch(&state, &ctx, &caller, &entries).await?),
        _ => Err(Error::invalid("type", "the Bundle's type is transaction or batch").into()),
    }
}

async fn transaction(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    entries: &[Value],
) -> Result<FhirJson> {
    let mut items = entries
        .iter()
        .enumerate()
        .map(|(i, e)| item(i, e))
        .collect::<Result<Vec<_>>>()?;
    // Patients first: the rest refers to them; reports last: they refer to results.
    items.sort_by_key(|i| {
        let rank = match i.resource_type {
            ResourceType::Patient => 0,
            ResourceType::DiagnosticReport => 2,
            _ => 1,
        };
        (rank, i.index)
    });
    let mut written: Vec<Option<Written>> = (0..entries.len()).map(|_| None).collect();
    let mut tx = state.store.begin_write().await?;
    let mut scope = WriteScope::default();
    for it in &items {
        let w = create_in(
            &mut tx,
            state,
            ctx,
            caller,
            &mut scope,
            it.resource_type,
            it.resource,
        )
        .await
        .map_err(|e| at(it.index, e))?;
        if let Some(url) = it.full_url {
            scope.refs.insert(
                url.to_owned(),
                format!("{}/{}", w.resource_type.as_str(), w.id),
            );
        }
        written[it.index] = Some(w);
    }
    telemed_store::audit::append(&mut tx, &scope.audit).await?;
    tx.commit().await.db()?;
    let out: Vec<Value> = written.iter().flatten().map(response_entry).collect();
    Ok(FhirJson::ok(json!({
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": out,
    })))
}

async fn batch(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    entries: &[Value],
) -> Result<FhirJson> {
    let mut out = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let result = async {
            let it = item(i, e)?;
            let mut tx = state.store.begin_write().await?;
            let mut scope = WriteScope::default();
            let w = create_in(
                &mut tx,
                state,
                ctx,
                caller,
                &mut scope,
                it.resource_type,
                it.resource,
            )
            .await?;
            telemed_store::audit::append(&mut tx, &scope.audit).await?;
            tx.commit().await.db()?;
            Ok::<_, Error>(w)
        }
        .await;
        out.push(match result {
            Ok(w) => response_entry(&w),
            Err(e) => {
                let status = status_of(&e);
                json!({ "response": {
                    "status": format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or_default()),
                    "outcome": outcome::error(e.code(), &e.to_string(), None, &ctx.request_id),
                }})
            }
        });
    }
    Ok(FhirJson {
        status: StatusCode::OK,
        ..FhirJson::ok(json!({
            "resourceType": "Bundle",
            "type": "batch-response",
            "entry": out,
        }))
    })
}
