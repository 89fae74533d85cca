//! Writes: `POST /{type}` (create, conditional with If-None-Exist), `PUT /{type}/{id}`
//! (update where telemed's record allows it), and the pieces the transaction endpoint
//! runs inside its own database transaction. Every write asks the record's policy with
//! facts read in the write's transaction and appends its audit entry there.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use serde_json::Value;
use telemed_domain::access::{self as policy, Data, Op};
use telemed_domain::audit::AuditRecord;
use telemed_domain::record::{NewEntry, Section, ValidEntry};
use telemed_domain::{Error, Permission, Result, Role, UserId};
use telemed_fhir::bounded::Limits;
use telemed_fhir::input::{self, Incoming, NewPatient};
use telemed_fhir::{resources, search as parser, Interaction, ResourceType};
use telemed_store::record::{self as record_store, Entry};
use telemed_store::users::{self, NewUser};
use telemed_store::{Conn, Tx};

use super::{resource_type, FhirCaller, FhirJson};
use crate::audit::Event;
use crate::change::Change;
use crate::context::Ctx;
use crate::error::AppResult;
use crate::AppState;

/// What a write made: the resource as now stored.
pub struct Written {
    pub resource_type: ResourceType,
    pub id: String,
    pub version: Option<i64>,
    pub body: Value,
    pub last_modified: chrono::DateTime<chrono::Utc>,
}

impl Written {
    pub fn response(self, status: StatusCode) -> FhirJson {
        FhirJson {
            status,
            body: super::Body::Json(self.body),
            version: self.version,
            last_modified: Some(self.last_modified),
            location: None,
        }
    }

    pub fn location(&self) -> String {
        match self.version {
            Some(v) => format!("{}/{}/_history/{v}", self.resource_type.as_str(), self.id),
            None => format!("{}/{}", self.resource_type.as_str(), self.id),
        }
    }
}

/// The state of one write transaction: the policy's facts per patient (read once), and
/// the audit entries to append before commit.
#[derive(Default)]
pub struct WriteScope {
    facts: HashMap<UserId, policy::CareFacts>,
    pub audit: Vec<AuditRecord>,
    /// A transaction's `urn:uuid:` ids of the patients created so far.
    pub refs: HashMap<String, String>,
}

/// Creates one resource inside `tx`; references to a transaction's `urn:uuid:` ids
/// resolve through `scope.refs`.
pub async fn create_in(
    tx: &mut Conn,
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    scope: &mut WriteScope,
    rt: ResourceType,
    json: &Value,
) -> Result<Written> {
    caller.require(rt, Interaction::Create)?;
    let json = &resolved(json, &scope.refs)?;
    match input::parse(rt, json)? {
        Incoming::Patient(p) => create_patient(tx, state, ctx, caller, scope, *p).await,
        Incoming::Entry {
            section,
            patient,
            mut entry,
        } => {
            resolve_results(&mut entry, &scope.refs)?;
            let reference = scope
                .refs
                .get(&patient)
                .map(String::as_str)
                .unwrap_or(&patient);
            let id = reference
                .strip_prefix("Patient/")
                .ok_or_else(|| Error::unprocessable("subject", "the subject is a Patient"))?;
            let patient = UserId::from_path(id)
                .map_err(|_| Error::unprocessable("subject", "no such patient"))?;
            if caller.outside_compartment(patient) {
                return Err(Error::unprocessable("subject", "no such patient"));
            }
            let now = state.clock.now();
            let grant = allow_write(tx, state, ctx, caller, scope, patient, section)
                .await
                .map_err(|e| match e {
                    Error::NotFound => Error::unprocessable("subject", "no such patient"),
                    other => other,
                })?;
            let valid = entry.validate(section, now).map_err(|e| unfit(rt, e))?;
            let stored = record_store::insert_entry(tx, &grant, &valid, now)
                .await
                .map_err(|e| unfit(rt, e))?;
            scope.audit.push(
                Event::new(ctx, now, &grant.action(), section.as_str())
                    .by(caller.principal.user_id, caller.principal.role)
                    .on(stored.id)
                    .patient(patient)
                    .detail("fhir")
                    .build(),
            );
            written_entry(&stored)
        }
    }
}

/// Every `reference` in a resource, at any depth.
pub fn references(v: &Value) -> Vec<&str> {
    fn walk<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(o) => {
                for (k, x) in o {
                    match (k.as_str(), x) {
                        ("reference", Value::String(r)) => out.push(r),
                        _ => walk(x, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = vec![];
    walk(v, &mut out);
    out
}

/// The resource with the references a transaction resolved (its entries' `urn:uuid:`
/// full URLs, conditional references) rewritten to what they stand for, as FHIR's
/// transaction rules ask; a `urn:` reference left means the bundle does not create
/// what it names (422).
fn resolved(json: &Value, refs: &HashMap<String, String>) -> Result<Value> {
    fn walk(v: &mut Value, refs: &HashMap<String, String>) {
        match v {
            Value::Object(o) => {
                for (k, x) in o.iter_mut() {
                    match (k.as_str(), x.as_str().and_then(|r| refs.get(r))) {
                        ("reference", Some(to)) => *x = Value::String(to.clone()),
                        _ => walk(x, refs),
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| walk(x, refs)),
            _ => {}
        }
    }
    let mut json = json.clone();
    walk(&mut json, refs);
    if let Some(r) = references(&json)
        .into_iter()
        .find(|r| r.starts_with("urn:"))
    {
        return Err(Error::unprocessable(
            "reference",
            format!("{r} names no resource of this bundle"),
        ));
    }
    Ok(json)
}

/// A lab report's `result` references as entry ids (a transaction's `urn:uuid:` ids
/// through `refs`).
fn resolve_results(entry: &mut NewEntry, refs: &HashMap<String, String>) -> Result<()> {
    for r in entry.results.iter_mut().flatten() {
        let reference = refs.get(r.as_str()).unwrap_or(r);
        *r = reference
            .strip_prefix("Observation/")
            .ok_or_else(|| Error::unprocessable("result", "a result is an Observation"))?
            .to_owned();
    }
    Ok(())
}

/// A resource telemed's record cannot hold is 422, naming the FHIR element of `rt`
/// the refused value came from.
fn unfit(rt: ResourceType, e: Error) -> Error {
    match e.as_unprocessable() {
        Error::Unprocessable { field, message } => Error::Unprocessable {
            field: input::element_of(rt, field),
            message,
        },
        other => other,
    }
}

/// The first field the update would change besides the status, the end that comes
/// with it and the verification; `None` when there is none. For an entry another system
/// sent, every field the chart shows counts (the rest of its resource is the sender's
/// to restate).
fn edited(valid: &ValidEntry, current: &Entry) -> Option<&'static str> {
    let always = [
        ("code", valid.section == current.section),
        ("code", valid.code == current.code),
        ("code_system", valid.code_system == current.code_system),
        ("value", valid.value == current.value),
        ("value2", valid.value2 == current.value2),
        ("effective", valid.effective == current.effective),
        ("results", valid.results == current.results),
    ];
    let sent = [
        ("text", valid.text == current.text),
        ("value_text", valid.value_text == current.value_text),
        (
            "unit",
            valid.unit == current.unit && valid.as_sent == current.as_sent,
        ),
        (
            "range_low",
            valid.range_low == current.range_low && valid.range_high == current.range_high,
        ),
        ("severity", valid.severity == current.severity),
        ("criticality", valid.criticality == current.criticality),
        ("reaction", valid.reaction == current.reaction),
        ("dosage", valid.dosage == current.dosage),
        ("note", valid.note == current.note),
    ];
    let imported = current.source.is_some();
    always
        .into_iter()
        .chain(sent.into_iter().filter(|_| imported))
        .find(|(_, same)| !same)
        .map(|(field, _)| field)
}

fn written_entry(e: &Entry) -> Result<Written> {
    let rt = ResourceType::of_section(e.section, e.results.is_some()).ok_or(Error::NotFound)?;
    Ok(Written {
        resource_type: rt,
        id: e.id.to_string(),
        version: Some(e.version),
        body: resources::entry(e).ok_or(Error::NotFound)?,
        last_modified: e.updated_at,
    })
}

/// The policy's grant to write `section` of `patient`, from facts read in `tx`; a
/// refusal is audited and answered like a patient that does not exist (`NotFound`).
async fn allow_write(
    tx: &mut Conn,
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    scope: &mut WriteScope,
    patient: UserId,
    section: Section,
) -> Result<policy::Grant> {
    let now = state.clock.now();
    let facts = match scope.facts.get(&patient) {
        Some(f) => *f,
        None => {
            let f = record_store::care_facts_in(tx, caller.principal.user_id, patient, now).await?;
            scope.facts.insert(patient, f);
            f
        }
    };
    let write = (Data::Section(section), Op::Write);
    if let Some(grant) = policy::decide(&caller.principal, patient, write.0, write.1, facts) {
        return Ok(grant);
    }
    crate::record::audit_decision(state, ctx, &caller.principal, patient, write, None).await?;
    Err(Error::NotFound)
}

/// A patient registered through FHIR (an import, another system's registration): an
/// account without a password (they can set one through "forgot password" if the
/// address is real), the demographics, and, when a clinician registers them, the
/// clinician on their care team.
async fn create_patient(
    tx: &mut Conn,
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    scope: &mut WriteScope,
    p: NewPatient,
) -> Result<Written> {
    let principal = &caller.principal;
    if !(matches!(principal.role, Role::Clinician | Role::Staff)
        && principal.can(Permission::PatientsRead))
        || caller.patient.is_some()
    {
        return Err(Error::Forbidden);
    }
    let now = state.clock.now();
    let display = users::validate_display_name(&p.display_name).map_err(Error::as_unprocessable)?;
    // No address given: a reserved, never deliverable one (RFC 2606 `.invalid`).
    let email_text = p
        .email
        .clone()
        .unwrap_or_else(|| format!("patient-{}@patients.invalid", uuid::Uuid::new_v4().simple()));
    let email = telemed_domain::Email::parse(&email_text)
        .map_err(|_| Error::unprocessable("telecom", "the e-mail address is not valid"))?;
    let id = users::insert(
        tx,
        NewUser {
            email: &email,
            display_name: &display,
            role: Role::Patient,
            password_hash: "!",
            email_verified: false,
            locale: "en",
            name: Some(p.name.clone()),
        },
        now,
    )
    .await
    .map_err(|e| match e {
        Error::Conflict(_) => Error::Conflict("a patient with this e-mail address exists".into()),
        other => other,
    })?;
    telemed_store::fhir::identifiers::add(tx, id, &p.identifiers).await?;
    let demographics =
        crate::record::valid_demographics(p.demographics, now).map_err(Error::as_unprocessable)?;
    if principal.role == Role::Clinician {
        record_store::add_to_care_team(tx, id, principal.user_id, principal.user_id, now).await?;
    }
    // The registrar's write to the new record is the policy's to allow, as any other.
    let grant = allow_write(tx, state, ctx, caller, scope, id, Section::Demographics).await?;
    record_store::save_demographics(tx, &grant, &demographics, now).await?;
    record_store::set_patient_source(tx, &grant, &p.source.to_string()).await?;
    scope.audit.push(
        Event::new(ctx, now, "patient.create", "patient")
            .by(principal.user_id, principal.role)
            .on(id)
            .patient(id)
            .detail("fhir")
            .build(),
    );
    let person = read_person_in(tx, &grant).await?;
    Ok(Written {
        resource_type: ResourceType::Patient,
        id: id.to_string(),
        version: None,
        body: resources::patient(&person),
        last_modified: person.updated_at,
    })
}

/// The patient as the write's transaction sees them, under its demographics grant.
async fn read_person_in(
    tx: &mut Conn,
    grant: &policy::Grant,
) -> Result<telemed_store::fhir::Person> {
    telemed_store::fhir::person_in(tx, grant)
        .await?
        .ok_or_else(|| Error::internal("the patient written is missing"))
}

/// `POST /{type}`: creates, or with `If-None-Exist: <search>` returns the one match.
pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: FhirCaller,
    Path(rt): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<FhirJson> {
    let rt = resource_type(&rt)?;
    let json = super::body::parse(&state.json_budget, &body, &Limits::RESOURCE).await?;
    if rt == ResourceType::MedicationRequest {
        let code = headers
            .get(super::prescriptions::SECOND_FACTOR_HEADER)
            .and_then(|v| v.to_str().ok());
        let (id, body, at) =
            super::prescriptions::create(&state, &ctx, &caller, &json, code).await?;
        return Ok(FhirJson {
            status: StatusCode::CREATED,
            body: super::Body::Json(body),
            version: None,
            last_modified: Some(at),
            location: Some(format!("MedicationRequest/{id}")),
        });
    }
    let condition = headers.get("if-none-exist").and_then(|v| v.to_str().ok());
    Ok(create_one(&state, &ctx, &caller, rt, &json, condition).await?)
}

/// One create in a transaction of its own, as `POST /{type}` (and a batch entry) does
/// it: an Appointment is booked; with a condition, the one match is returned instead.
pub async fn create_one(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    rt: ResourceType,
    json: &Value,
    if_none_exist: Option<&str>,
) -> Result<FhirJson> {
    // A condition is searched and the create committed in one conditional write's turn,
    // so two requests with the same condition cannot both create.
    let turn = match if_none_exist {
        Some(condition) => {
            let turn = state.store.begin_conditional_write().await?;
            if let Some(existing) = existing(state, ctx, caller, rt, condition).await? {
                return Ok(FhirJson::ok(existing));
            }
            Some(turn)
        }
        None => None,
    };
    if rt == ResourceType::Appointment {
        caller.require(rt, Interaction::Create)?;
        let visit = super::scheduling::book(state, ctx, caller, json).await?;
        return Ok(FhirJson {
            status: StatusCode::CREATED,
            last_modified: Some(visit.appointment.updated_at),
            location: Some(format!(
                "{}/Appointment/{}",
                super::base_url(state),
                visit.appointment.id
            )),
            ..FhirJson::ok(resources::appointment(&visit))
        });
    }
    let tx = match turn {
        Some(turn) => turn.begin().await?,
        None => state.store.begin_write().await?,
    };
    let written = in_own_transaction(tx, async |tx, scope| {
        create_in(tx, state, ctx, caller, scope, rt, json).await
    })
    .await?;
    let location = format!("{}/{}", super::base_url(state), written.location());
    let mut response = written.response(StatusCode::CREATED);
    response.location = Some(location);
    Ok(response)
}

/// The one match of a conditional create's search (`If-None-Exist`, a bundle entry's
/// `ifNoneExist`): none (create), one (it), several (412).
pub async fn existing(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    rt: ResourceType,
    condition: &str,
) -> Result<Option<Value>> {
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(condition)
        .map_err(|_| Error::invalid("If-None-Exist", "If-None-Exist is a search query"))?;
    pairs.push(("_count".into(), "2".into()));
    caller.require(rt, Interaction::Search)?;
    // Strict: a condition with a parameter telemed ignored would match more than meant.
    let search = parser::parse(rt, &pairs, parser::Handling::Strict)?;
    let found = super::search::run(state, ctx, caller, &search).await?;
    match found.matches.len() {
        0 => Ok(None),
        1 => Ok(found
            .matches
            .into_iter()
            .next()
            .map(telemed_fhir::bundle::Resource::into_value)),
        _ => Err(Error::PreconditionFailed(
            "If-None-Exist matches more than one resource".into(),
        )),
    }
}

/// The version an `If-Match: W/"n"` header (or a bundle entry's `ifMatch`) asks for.
pub fn if_match(value: Option<&str>) -> Result<Option<i64>> {
    match value {
        None => Ok(None),
        Some(v) => v
            .trim()
            .trim_start_matches("W/")
            .trim_matches('"')
            .parse()
            .map(Some)
            .map_err(|_| Error::invalid("If-Match", "If-Match is a version: W/\"3\"")),
    }
}

/// `PUT /{type}/{id}`. A chart entry is never edited in telemed (a correction is a new
/// entry, the old one marked entered-in-error): an update may change its status and
/// end only. A Patient update replaces the name and demographics telemed keeps. An Appointment
/// update cancels the visit.
pub async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: FhirCaller,
    Path((rt, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<FhirJson> {
    let rt = resource_type(&rt)?;
    let json = super::body::parse(&state.json_budget, &body, &Limits::RESOURCE).await?;
    let expected = if_match(headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()))?;
    let change = Update {
        resource_type: rt,
        id: &id,
        resource: &json,
        expected,
    };
    Ok(update_one(&state, &ctx, &caller, &change).await?)
}

/// One update in a transaction of its own, as `PUT /{type}/{id}` (and a batch entry)
/// does it.
pub async fn update_one(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    change: &Update<'_>,
) -> Result<FhirJson> {
    if change.resource_type == ResourceType::Appointment {
        caller.require(change.resource_type, Interaction::Update)?;
        same_id(change.resource, change.id)?;
        let visit =
            super::scheduling::cancel(state, ctx, caller, change.id, change.resource).await?;
        return Ok(FhirJson {
            last_modified: Some(visit.appointment.updated_at),
            ..FhirJson::ok(resources::appointment(&visit))
        });
    }
    let tx = state.store.begin_write().await?;
    let written = in_own_transaction(tx, async |tx, scope| {
        update_in(tx, state, ctx, caller, scope, change).await
    })
    .await?;
    Ok(written.response(StatusCode::OK))
}

/// One write in a database transaction of its own, its audit entries appended there.
async fn in_own_transaction(
    mut tx: Tx,
    write: impl AsyncFnOnce(&mut Conn, &mut WriteScope) -> Result<Written>,
) -> Result<Written> {
    let mut scope = WriteScope::default();
    let written = write(&mut tx, &mut scope).await?;
    let mut change = Change::on(tx);
    change.audit_all(scope.audit);
    change.commit().await?;
    Ok(written)
}

fn same_id(json: &Value, id: &str) -> Result<()> {
    if json["id"].as_str() == Some(id) {
        Ok(())
    } else {
        Err(Error::invalid(
            "id",
            "the resource's id is not the one in the URL",
        ))
    }
}

/// What an update asks for: the resource at `id` to become `resource`, if it is at
/// version `expected` (an `If-Match`).
pub struct Update<'a> {
    pub resource_type: ResourceType,
    pub id: &'a str,
    pub resource: &'a Value,
    pub expected: Option<i64>,
}

/// Updates one resource inside `tx` (not an Appointment: cancelling a visit is a
/// transaction of its own).
pub async fn update_in(
    tx: &mut Conn,
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    scope: &mut WriteScope,
    change: &Update<'_>,
) -> Result<Written> {
    let Update {
        resource_type: rt,
        id,
        resource: json,
        expected,
    } = *change;
    caller.require(rt, Interaction::Update)?;
    same_id(json, id)?;
    let json = &resolved(json, &scope.refs)?;
    let now = state.clock.now();
    match input::parse(rt, json)? {
        Incoming::Patient(p) => {
            let patient = UserId::from_path(id)?;
            if caller.outside_compartment(patient) {
                return Err(Error::NotFound);
            }
            let grant = allow_write(
                tx,
                state,
                ctx,
                caller,
                scope,
                patient,
                Section::Demographics,
            )
            .await?;
            // A patient may be registered without a name, but a name once known is not
            // removed by an update that leaves it out.
            let nameless = json["name"].as_array().is_none_or(Vec::is_empty);
            if nameless
                && read_person_in(tx, &grant).await?.display_name
                    != telemed_domain::names::UNIDENTIFIED
            {
                return Err(Error::unprocessable(
                    "name",
                    "an update keeps the patient's name: send it (a name is corrected, not removed)",
                ));
            }
            let display =
                users::validate_display_name(&p.display_name).map_err(Error::as_unprocessable)?;
            let demographics = crate::record::valid_demographics(p.demographics, now)
                .map_err(Error::as_unprocessable)?;
            record_store::save_demographics(tx, &grant, &demographics, now).await?;
            record_store::set_patient_source(tx, &grant, &p.source.to_string()).await?;
            users::rename(tx, patient, &display, &p.name, now).await?;
            scope
                .audit
                .push(crate::record::audit_write(ctx, state, &grant, patient).build());
            let person = read_person_in(tx, &grant).await?;
            Ok(Written {
                resource_type: ResourceType::Patient,
                id: patient.to_string(),
                version: None,
                body: resources::patient(&person),
                last_modified: person.updated_at,
            })
        }
        Incoming::Entry {
            section, mut entry, ..
        } => {
            resolve_results(&mut entry, &scope.refs)?;
            let entry_id = telemed_domain::EntryId::from_path(id)?;
            let sealed = record_store::chart_entry_in(tx, entry_id)
                .await?
                .ok_or(Error::NotFound)?;
            if caller.outside_compartment(sealed.patient()) {
                return Err(Error::NotFound);
            }
            let grant = allow_write(
                tx,
                state,
                ctx,
                caller,
                scope,
                sealed.patient(),
                sealed.section(),
            )
            .await?;
            let current = sealed.open(&grant)?;
            if ResourceType::of_section(current.section, current.results.is_some()) != Some(rt) {
                return Err(Error::NotFound);
            }
            if expected.is_some_and(|v| v != current.version) {
                return Err(Error::PreconditionFailed(format!(
                    "the resource is at version {}",
                    current.version
                )));
            }
            let valid = entry.validate(section, now).map_err(|e| unfit(rt, e))?;
            if let Some(field) = edited(&valid, &current) {
                return Err(unfit(
                    rt,
                    Error::invalid(
                        field,
                        "a chart entry is not edited: an update changes its status (and how sure \
                         its author is); mark it entered-in-error and create a new one",
                    ),
                ));
            }
            let changed = record_store::set_entry_status(
                tx,
                &grant,
                current.id,
                current.version,
                valid.status,
                valid.ended.as_ref(),
                now,
            )
            .await
            .map_err(|e| match e {
                Error::Conflict(m) => Error::PreconditionFailed(m),
                other => other,
            })?;
            // What the sender now says is what telemed keeps and returns.
            let changed = match &valid.source {
                Some(source) => {
                    record_store::replace_source(
                        tx,
                        &grant,
                        changed.id,
                        source,
                        valid.status,
                        valid.verification,
                    )
                    .await?
                }
                None => changed,
            };
            scope.audit.push(
                crate::record::audit_status_change(ctx, state, &grant, changed.id, valid.status)
                    .build(),
            );
            written_entry(&changed)
        }
    }
}
