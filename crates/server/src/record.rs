//! The patient record as a service: every read and write asks the record's access
//! policy (`domain::record::decide`) with the facts the store finds, audits the
//! decision, and answers a refusal exactly like a patient that does not exist.

use chrono::Duration;
use telemed_domain::access::{self as policy, Basis, CareFacts, Data, Grant, Op, Principal};
use telemed_domain::audit::Outcome;
use telemed_domain::clinical_time::{ClinicalTime, Precision};
use telemed_domain::names::PersonName;
use telemed_domain::record::{EntryStatus, NewEntry, Section, Soap};
use telemed_domain::{AppointmentId, EntryId, Error, NoteId, Result, Role, UserId};
use telemed_store::notifications::{self, NewNotification};
use telemed_store::record::{self as store, Demographics, Entry, Note};

use crate::audit::Event;
use crate::change::Change;
use crate::context::Ctx;
use crate::i18n::notes::note_template;
use crate::i18n::Lang;
use crate::realtime::{Envelope, LiveEvent};
use crate::AppState;

/// An audit entry by `principal` about `patient`'s record as a whole.
pub(crate) fn about_patient(
    ctx: &Ctx,
    now: chrono::DateTime<chrono::Utc>,
    action: &str,
    principal: &Principal,
    patient: UserId,
) -> Event {
    Event::new(ctx, now, action, "patient")
        .by(principal.user_id, principal.role)
        .on(patient)
        .patient(patient)
}

/// Asks the policy for `op` on `data` (a section, the chart, the access log, an
/// export). Reads and refusals are audited here, under the grant's action; an allowed
/// write is audited by the write's own transaction (see `audit_write`).
pub async fn authorize(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
    data: impl Into<Data>,
    op: Op,
) -> Result<Grant> {
    let facts = care_facts(state, principal, patient).await?;
    authorize_with(state, ctx, principal, patient, (data.into(), op), facts).await
}

/// The same, audited under a finer action of the same vocabulary (a document's
/// `record.documents.download` or `.view` rather than `.read`).
pub(crate) async fn authorize_as(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
    asked: (Data, Op),
    action: &str,
) -> Result<Grant> {
    let facts = care_facts(state, principal, patient).await?;
    decide_audited(state, ctx, principal, patient, asked, facts, action).await
}

/// The same, with the facts already read (e.g. in the query that found the row).
pub(crate) async fn authorize_with(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
    (data, op): (Data, Op),
    facts: CareFacts,
) -> Result<Grant> {
    let action = policy::action_name(data, op);
    decide_audited(state, ctx, principal, patient, (data, op), facts, &action).await
}

/// The policy's decision, audited under `action`; a refusal is `NotFound`.
async fn decide_audited(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
    (data, op): (Data, Op),
    facts: CareFacts,
    action: &str,
) -> Result<Grant> {
    let grant = policy::decide(principal, patient, data, op, facts);
    audit_as(state, ctx, principal, patient, op, action, grant.as_ref()).await?;
    grant.ok_or(Error::NotFound)
}

/// Audits a decision the caller took with `policy::decide` (a page asking several
/// questions on one read of the facts): a read allowed, or any refusal. An allowed
/// write is audited by its own transaction.
pub(crate) async fn audit_decision(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
    (data, op): (Data, Op),
    grant: Option<&Grant>,
) -> Result<()> {
    let action = policy::action_name(data, op);
    audit_as(state, ctx, principal, patient, op, &action, grant).await
}

/// Audits reads the caller took with `policy::decide` on several patients at once (a
/// search's matches): one entry per patient, under each grant's basis, committed
/// together before any of them is answered.
pub(crate) async fn audit_reads(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    data: Data,
    granted: &[(UserId, Grant)],
) -> Result<()> {
    let action = policy::action_name(data, Op::Read);
    let now = state.clock.now();
    let events = granted
        .iter()
        .map(|(patient, grant)| {
            about_patient(ctx, now, &action, principal, *patient)
                .detail(grant.basis().as_str())
                .build()
        })
        .collect();
    state.audit.record_all(events).await
}

/// Reads of several sections of one patient's record asked at once (a FHIR search over
/// the sections a resource type spans): the facts are read once, the sections allowed
/// are audited together in one commit, the refusals queued. The grants of the sections
/// allowed, in the order asked; an empty list when none is.
pub(crate) async fn authorize_section_reads(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
    sections: &[Section],
) -> Result<Vec<(Section, Grant)>> {
    let facts = care_facts(state, principal, patient).await?;
    let now = state.clock.now();
    let mut allowed = vec![];
    let mut read_events = vec![];
    for &section in sections {
        let asked = (Data::from(section), Op::Read);
        let action = policy::action_name(asked.0, asked.1);
        let event = about_patient(ctx, now, &action, principal, patient);
        match policy::decide(principal, patient, asked.0, asked.1, facts) {
            Some(grant) => {
                read_events.push(event.detail(grant.basis().as_str()).build());
                allowed.push((section, grant));
            }
            None => {
                state
                    .audit
                    .queue(event.outcome(Outcome::Denied).build())
                    .await?
            }
        }
    }
    state.audit.record_all(read_events).await?;
    Ok(allowed)
}

async fn audit_as(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
    op: Op,
    action: &str,
    grant: Option<&Grant>,
) -> Result<()> {
    if grant.is_some() && op == Op::Write {
        return Ok(());
    }
    let event = about_patient(ctx, state.clock.now(), action, principal, patient);
    match grant {
        Some(g) => {
            state
                .audit
                .record(event.detail(g.basis().as_str()).build())
                .await
        }
        // A refusal discloses nothing and may come inside the refused write's
        // transaction: queued, not waited for.
        None => {
            state
                .audit
                .queue(event.outcome(Outcome::Denied).build())
                .await
        }
    }
}

/// What the policy says, with the facts the store finds; nothing audited.
pub(crate) async fn decide(
    state: &AppState,
    principal: &Principal,
    patient: UserId,
    data: impl Into<Data>,
    op: Op,
) -> Result<Option<Grant>> {
    let facts = care_facts(state, principal, patient).await?;
    Ok(policy::decide(principal, patient, data.into(), op, facts))
}

/// The facts the policy decides on, read once for a page that asks several questions.
pub(crate) async fn care_facts(
    state: &AppState,
    principal: &Principal,
    patient: UserId,
) -> Result<CareFacts> {
    state
        .store
        .care_facts(principal.user_id, patient, state.clock.now())
        .await
}

/// The audit entry of an allowed write, appended in the write's transaction.
pub(crate) fn audit_write(ctx: &Ctx, state: &AppState, grant: &Grant, id: impl ToString) -> Event {
    let section = match grant.data() {
        Data::Section(s) => s.as_str(),
        _ => "patient",
    };
    let event = Event::new(ctx, state.clock.now(), &grant.action(), section);
    let event = match (grant.actor(), grant.actor_role()) {
        (Some(actor), Some(role)) => event.by(actor, role),
        _ => event,
    };
    event
        .on(id)
        .patient(grant.patient())
        .detail(grant.basis().as_str())
}

/// The audit entry of a chart entry's status change (the UI's and FHIR's `PUT`).
pub(crate) fn audit_status_change(
    ctx: &Ctx,
    state: &AppState,
    grant: &Grant,
    entry: EntryId,
    status: EntryStatus,
) -> Event {
    audit_write(ctx, state, grant, entry).detail(format!(
        "{} status {}",
        grant.basis().as_str(),
        status.as_str()
    ))
}

// ---- demographics -----------------------------------------------------------------------

pub async fn demographics(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
) -> Result<Demographics> {
    let grant = authorize(
        state,
        ctx,
        principal,
        patient,
        Section::Demographics,
        Op::Read,
    )
    .await?;
    state.store.demographics(&grant).await
}

pub(crate) fn clean(field: &'static str, v: &Option<String>, max: usize) -> Result<Option<String>> {
    let v = v.as_deref().map(str::trim).filter(|s| !s.is_empty());
    match v {
        Some(s) if s.chars().count() > max || s.chars().any(char::is_control) => {
            Err(Error::invalid(
                field,
                format!("{field}: at most {max} characters, one line"),
            ))
        }
        v => Ok(v.map(str::to_owned)),
    }
}

/// Demographics as given, checked: a real date of birth not in the future, a known sex,
/// texts of sensible length without control characters.
pub fn valid_demographics(
    d: Demographics,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Demographics> {
    let birth_date = clean("birth_date", &d.birth_date, 10)?;
    if let Some(b) = &birth_date {
        // A year or a month is kept as such when that is all that is known.
        let date = ClinicalTime::parse("birth_date", b)
            .ok()
            .filter(|d| d.precision() <= Precision::Day)
            .ok_or_else(|| {
                Error::invalid(
                    "birth_date",
                    "birth_date must be YYYY-MM-DD, YYYY-MM or YYYY",
                )
            })?;
        if date.start() > now {
            return Err(Error::invalid("birth_date", "birth_date is in the future"));
        }
    }
    let sex = clean("sex", &d.sex, 10)?;
    if sex
        .as_deref()
        .is_some_and(|s| !["female", "male", "other", "unknown"].contains(&s))
    {
        return Err(Error::invalid(
            "sex",
            "sex must be female, male, other or unknown",
        ));
    }
    Ok(Demographics {
        birth_date,
        sex,
        phone: clean("phone", &d.phone, 40)?,
        address: clean("address", &d.address, 300)?,
        emergency_contact: clean("emergency_contact", &d.emergency_contact, 200)?,
        emergency_phone: clean("emergency_phone", &d.emergency_phone, 40)?,
    })
}

/// A person's name as the chart's form gives it: the family name and the given names.
/// Both empty is no change (`None`); a family name is needed otherwise.
pub fn name_from_form(family: &str, given: &str) -> Result<Option<(String, PersonName)>> {
    let (family, given) = (family.trim(), given.trim());
    if family.is_empty() && given.is_empty() {
        return Ok(None);
    }
    if family.is_empty() {
        return Err(Error::invalid("family_name", "enter the family name"));
    }
    let parts = PersonName {
        family: family.split_whitespace().collect::<Vec<_>>().join(" "),
        given: given.split_whitespace().map(str::to_owned).collect(),
    };
    let display = telemed_store::users::validate_display_name(&parts.display())?;
    Ok(Some((display, parts)))
}

/// Saves demographics and, when `name` is given (display name, parts), the patient's
/// name, in one transaction under the demographics write grant.
pub async fn save_demographics(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
    d: &Demographics,
    name: Option<&(String, PersonName)>,
) -> Result<Demographics> {
    let grant = authorize(
        state,
        ctx,
        principal,
        patient,
        Section::Demographics,
        Op::Write,
    )
    .await?;
    let d = valid_demographics(d.clone(), state.clock.now())?;
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    store::save_demographics(change.tx(), &grant, &d, now).await?;
    if let Some((display, parts)) = name {
        telemed_store::users::rename(change.tx(), grant.patient(), display, parts, now).await?;
    }
    change.audit(audit_write(ctx, state, &grant, grant.patient()));
    change.commit().await?;
    state.store.demographics(&grant).await
}

// ---- chart entries ----------------------------------------------------------------------

fn chart_section(section: Section) -> Result<Section> {
    if section.is_chart() {
        Ok(section)
    } else {
        Err(Error::NotFound)
    }
}

pub async fn entries(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
    section: Section,
) -> Result<Vec<Entry>> {
    let section = chart_section(section)?;
    let grant = authorize(state, ctx, principal, patient, section, Op::Read).await?;
    state.store.entries(&grant, section).await
}

pub async fn add_entry(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
    section: Section,
    entry: NewEntry,
) -> Result<Entry> {
    let section = chart_section(section)?;
    let grant = authorize(state, ctx, principal, patient, section, Op::Write).await?;
    let now = state.clock.now();
    let valid = entry.validate(section, now)?;
    if let (Some(system), Some(code)) = (&valid.code_system, &valid.code) {
        crate::terminology::check_typed_code(state, system, code).await?;
    }
    let mut change = Change::begin(state).await?;
    let entry = store::insert_entry(change.tx(), &grant, &valid, now).await?;
    change.audit(audit_write(ctx, state, &grant, entry.id));
    change.commit().await?;
    Ok(entry)
}

pub struct StatusChange<'a> {
    pub entry: EntryId,
    pub version: i64,
    pub status: &'a str,
    pub ended: Option<&'a str>,
}

pub async fn change_status(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
    section: Section,
    change: StatusChange<'_>,
) -> Result<Entry> {
    let section = chart_section(section)?;
    let grant = authorize(state, ctx, principal, patient, section, Op::Write).await?;
    let status = EntryStatus::parse(change.status)
        .ok_or_else(|| Error::invalid("status", "unknown status"))?;
    let ended = change
        .ended
        .map(|e| ClinicalTime::parse("ended", e))
        .transpose()?;
    let now = state.clock.now();
    let mut unit = Change::begin(state).await?;
    let entry = store::set_entry_status(
        unit.tx(),
        &grant,
        change.entry,
        change.version,
        status,
        ended.as_ref(),
        now,
    )
    .await?;
    if entry.section != section {
        return Err(Error::NotFound);
    }
    unit.audit(audit_status_change(ctx, state, &grant, entry.id, status));
    unit.commit().await?;
    Ok(entry)
}

/// The record at a glance (audited once as `record.chart.read`): the chart page's,
/// the summary beside a video visit, the summary endpoint.
pub async fn summary(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
) -> Result<(store::Summary, Grant)> {
    let grant = authorize(state, ctx, principal, patient, Data::Chart, Op::Read).await?;
    let summary = state.store.summary(&grant, state.clock.now()).await?;
    Ok((summary, grant))
}

/// Everything the chart page shows of a patient's record, read under one grant.
pub struct Chart {
    pub grant: Grant,
    pub person: telemed_store::users::User,
    pub current: store::Current,
    /// The last visits that have started, newest first.
    pub recent_visits: Vec<store::RecentVisit>,
    pub demographics: Demographics,
    /// Each chart section's newest entries (`lines` of them, and one more when there
    /// are more).
    pub sections: Vec<(Section, Vec<Entry>)>,
    /// Documents (entered-in-error ones for clinicians, who keep the history).
    pub documents: Vec<telemed_store::documents::Document>,
    pub notes: Vec<Note>,
    /// Prescriptions, newest first.
    pub prescriptions: Vec<telemed_store::prescriptions::Prescription>,
    /// The patient's preferred pharmacy, for the reader who prescribes or who keeps
    /// the patient's details (the patient, a proxy, the front desk).
    pub preferred_pharmacy: Option<telemed_store::pharmacies::Pharmacy>,
    /// Renewal requests, newest first.
    pub renewals: Vec<telemed_store::renewals::RenewalRequest>,
    /// The patient's coming visits (a file may be sent ahead of one).
    pub upcoming: Vec<telemed_store::scheduling::Appointment>,
    /// The reader's own visits with the patient around now (a note may be of one).
    pub own_visits: Vec<telemed_store::scheduling::Appointment>,
    /// Until when the reader's emergency access lasts, if that is why they read.
    pub emergency_until: Option<chrono::DateTime<chrono::Utc>>,
    /// What else the policy allows the reader here.
    pub may_chart: bool,
    pub may_upload: bool,
    pub may_edit_demographics: bool,
    pub may_export: bool,
}

/// The chart, or why not: refused like a record that does not exist, except that a
/// clinician is offered emergency access to a patient who does exist.
pub enum ChartView {
    Open(Box<Chart>),
    OfferBreakGlass,
}

/// The chart page's reading of the record: one decision of the policy on one read of
/// the care facts (audited as `record.chart.read`), then every part under its grant.
pub async fn chart(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
    lines: i64,
) -> Result<ChartView> {
    let facts = care_facts(state, principal, patient).await?;
    let may = |data: Data, op| policy::decide(principal, patient, data, op, facts).is_some();
    let grant = policy::decide(principal, patient, Data::Chart, Op::Read, facts);
    let read = (Data::Chart, Op::Read);
    audit_decision(state, ctx, principal, patient, read, grant.as_ref()).await?;
    let Some(grant) = grant else {
        // A clinician sees every patient's demographics to book and register, so the
        // record's existence is no secret to them: they may ask for emergency access.
        return if principal.role == Role::Clinician && facts.patient_exists {
            Ok(ChartView::OfferBreakGlass)
        } else {
            Err(Error::NotFound)
        };
    };
    let store = &state.store;
    let now = state.clock.now();
    let person = store.user_by_id(patient).await?.ok_or(Error::NotFound)?;
    let current = store.current(&grant).await?;
    let recent_visits = store.recent_visits(&grant, now, 5).await?;
    let demographics = store.demographics(&grant).await?;
    let mut sections = Vec::with_capacity(Section::CHART.len());
    for section in Section::CHART {
        let newest = store.latest_entries(&grant, section, lines + 1).await?;
        sections.push((section, newest));
    }
    let documents = store
        .documents_of(
            &grant,
            grant.sees_entered_in_error(),
            telemed_domain::documents::DOCUMENT_LIST_LIMIT,
        )
        .await?;
    let notes = store.notes_of(&grant, 200).await?;
    let prescriptions = store.prescriptions_of(&grant).await?;
    let may_chart = principal.role == Role::Clinician && may(Section::Problems.into(), Op::Write);
    let visits = policy::visits_in_record(&grant).ok_or(Error::NotFound)?;
    let upcoming = store
        .appointments(
            &visits,
            now - Duration::hours(2),
            now + Duration::days(365),
            20,
        )
        .await?
        .into_iter()
        .filter(|a| a.status.is_active())
        .collect();
    let own_visits = if may_chart {
        store
            .appointments(
                &visits,
                now - Duration::days(30),
                now + Duration::days(7),
                50,
            )
            .await?
            .into_iter()
            .filter(|a| a.clinician_id == principal.user_id)
            .collect()
    } else {
        Vec::new()
    };
    let renewals = store.renewals_of(&grant).await?;
    let preferred_pharmacy = if may_chart || may(Section::Demographics.into(), Op::Write) {
        store.preferred_pharmacy(&grant).await?
    } else {
        None
    };
    let emergency_until = if grant.basis() == Basis::BreakGlass {
        store
            .break_glass_of(patient)
            .await?
            .into_iter()
            .filter(|g| g.actor == principal.user_id && g.expires_at > now)
            .map(|g| g.expires_at)
            .next()
    } else {
        None
    };
    Ok(ChartView::Open(Box::new(Chart {
        may_upload: may(Section::Documents.into(), Op::Write),
        may_edit_demographics: may(Section::Demographics.into(), Op::Write),
        may_export: may(Data::Export, Op::Read),
        may_chart,
        grant,
        person,
        current,
        recent_visits,
        demographics,
        sections,
        documents,
        notes,
        prescriptions,
        preferred_pharmacy,
        renewals,
        upcoming,
        own_visits,
        emergency_until,
    })))
}

// ---- notes ------------------------------------------------------------------------------

pub struct NewNoteRequest<'a> {
    pub appointment: Option<AppointmentId>,
    pub template: &'a str,
    /// The writer's language: the template's prompts are written in it.
    pub lang: Lang,
    pub soap: Option<Soap>,
}

/// A clinician starts the note of a visit (or a note outside a visit) as a draft,
/// prefilled from the template unless text is given.
pub async fn start_note(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
    req: NewNoteRequest<'_>,
) -> Result<Note> {
    let grant = authorize(state, ctx, principal, patient, Section::Notes, Op::Write).await?;
    if grant.actor_role() != Some(Role::Clinician) {
        return Err(Error::Forbidden);
    }
    let template = note_template(req.lang.texts(), req.template).ok_or_else(|| {
        Error::invalid(
            "template",
            "unknown template; one of general, dermatology, psychiatry, cardiology",
        )
    })?;
    if let Some(a) = req.appointment {
        let reach = policy::visits_in_record(&grant).ok_or(Error::NotFound)?;
        if state.store.appointment(&reach, a).await?.is_none() {
            return Err(Error::invalid(
                "appointment_id",
                "that visit is not this patient's",
            ));
        }
    }
    let soap = req.soap.unwrap_or_else(|| template.soap());
    soap.validate()?;
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    let id = store::insert_note(
        change.tx(),
        &grant,
        store::NewNote {
            appointment: req.appointment,
            template: template.key,
            soap: &soap,
        },
        now,
    )
    .await?;
    change.audit(draft_event(ctx, state, &grant, id));
    change.commit().await?;
    note_as_written(state, &grant, id).await
}

/// A note as it stands after a write under `grant`.
async fn note_as_written(state: &AppState, grant: &Grant, id: NoteId) -> Result<Note> {
    state
        .store
        .note(id)
        .await?
        .ok_or_else(|| Error::internal("the note written is missing"))?
        .open(grant)
}

/// The audit entry of a draft's creation or change.
fn draft_event(ctx: &Ctx, state: &AppState, grant: &Grant, id: NoteId) -> Event {
    audit_write(ctx, state, grant, id).detail(format!("{} draft", grant.basis().as_str()))
}

/// A note and its addenda, for whoever may read the patient's notes; drafts only for
/// clinicians (a patient or proxy asking for a draft gets "not found").
pub async fn note(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    id: NoteId,
) -> Result<(Note, Vec<store::Addendum>)> {
    let note = state.store.note(id).await?.ok_or(Error::NotFound)?;
    let grant = authorize(
        state,
        ctx,
        principal,
        note.patient(),
        Section::Notes,
        Op::Read,
    )
    .await?;
    let note = note.open(&grant)?;
    if note.status == store::NoteStatus::Draft && !grant.sees_drafts() {
        return Err(Error::NotFound);
    }
    let addenda = state.store.addenda(&grant, id).await?;
    Ok((note, addenda))
}

pub async fn notes(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
) -> Result<Vec<Note>> {
    let grant = authorize(state, ctx, principal, patient, Section::Notes, Op::Read).await?;
    state.store.notes_of(&grant, 500).await
}

/// What a clinician may do to a note: the patient's notes are theirs to write.
async fn note_for_write(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    id: NoteId,
) -> Result<(Note, Grant)> {
    let note = state.store.note(id).await?.ok_or(Error::NotFound)?;
    let grant = authorize(
        state,
        ctx,
        principal,
        note.patient(),
        Section::Notes,
        Op::Write,
    )
    .await?;
    if grant.actor_role() != Some(Role::Clinician) {
        return Err(Error::NotFound);
    }
    Ok((note.open(&grant)?, grant))
}

pub async fn save_draft(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    id: NoteId,
    version: i64,
    soap: &Soap,
) -> Result<Note> {
    soap.validate()?;
    let (_, grant) = note_for_write(state, ctx, principal, id).await?;
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    store::update_draft(change.tx(), &grant, id, version, soap, now).await?;
    change.audit(draft_event(ctx, state, &grant, id));
    change.commit().await?;
    note_as_written(state, &grant, id).await
}

pub async fn sign(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    id: NoteId,
    version: i64,
) -> Result<Note> {
    let (note, grant) = note_for_write(state, ctx, principal, id).await?;
    if note.status == store::NoteStatus::Draft && note.soap.is_blank() {
        return Err(Error::invalid("note", "write the note before signing it"));
    }
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    store::sign_note(change.tx(), &grant, id, version, now).await?;
    change.audit(note_event(
        ctx,
        now,
        "record.notes.sign",
        principal,
        &grant,
        id,
    ));
    change.commit().await?;
    note_as_written(state, &grant, id).await
}

pub async fn add_addendum(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    id: NoteId,
    body: &str,
) -> Result<store::Addendum> {
    let body = body.trim();
    if body.is_empty() || body.chars().count() > telemed_domain::record::NOTE_PART_MAX {
        return Err(Error::invalid(
            "body",
            format!(
                "an addendum has text, at most {} characters",
                telemed_domain::record::NOTE_PART_MAX
            ),
        ));
    }
    let (_, grant) = note_for_write(state, ctx, principal, id).await?;
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    let addendum = store::add_addendum(change.tx(), &grant, id, body, now).await?;
    change.audit(note_event(
        ctx,
        now,
        "record.notes.addendum",
        principal,
        &grant,
        id,
    ));
    change.commit().await?;
    state
        .store
        .addenda(&grant, id)
        .await?
        .into_iter()
        .find(|a| a.id == addendum)
        .ok_or_else(|| Error::internal("new addendum missing"))
}

/// The audit entry of a note's signing or addendum.
fn note_event(
    ctx: &Ctx,
    now: chrono::DateTime<chrono::Utc>,
    action: &str,
    principal: &Principal,
    grant: &Grant,
    id: NoteId,
) -> Event {
    Event::new(ctx, now, action, "notes")
        .by(principal.user_id, principal.role)
        .on(id)
        .patient(grant.patient())
        .detail(grant.basis().as_str())
}

// ---- relationships ------------------------------------------------------------------------

/// Emergency access: a clinician states why, and reads the record for
/// `record.break_glass_minutes`; the patient is told at once.
pub async fn break_glass(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
    reason: &str,
) -> Result<chrono::DateTime<chrono::Utc>> {
    let reason = reason.trim();
    if principal.role != Role::Clinician || !principal.can(telemed_domain::Permission::RecordsRead)
    {
        return Err(Error::Forbidden);
    }
    if reason.chars().count() < 10 || reason.chars().count() > 500 {
        return Err(Error::invalid(
            "reason",
            "state the reason for emergency access (10 to 500 characters)",
        ));
    }
    let now = state.clock.now();
    let facts = state
        .store
        .care_facts(principal.user_id, patient, now)
        .await?;
    if !facts.patient_exists {
        return Err(Error::NotFound);
    }
    let expires = now + Duration::minutes(state.config.record.break_glass_minutes);
    let mut change = Change::begin(state).await?;
    let id = store::insert_break_glass(
        change.tx(),
        principal.user_id,
        patient,
        reason,
        now,
        expires,
    )
    .await?;
    let event = about_patient(ctx, now, "record.break_glass", principal, patient).detail(format!(
        "emergency access for {} minutes",
        state.config.record.break_glass_minutes
    ));
    change.audit(event);
    let notice = NewNotification {
        user_id: patient,
        kind: "record.emergency_access",
        subject_id: None,
        subject_at: Some(now),
        source: Some(&id),
    };
    notifications::notify(change.tx(), notice, now).await?;
    // Always by email too, whatever the notification settings: the patient must be able
    // to question an emergency access they did not expect.
    if let Some(user) = telemed_store::users::by_id_in(change.tx(), patient).await? {
        let lang = crate::i18n::Lang::from_code(&user.locale).unwrap_or(crate::i18n::Lang::En);
        let link = format!("{}/account/access-log", state.config.public_url);
        let when = now.format("%Y-%m-%d %H:%M UTC").to_string();
        let mail = crate::mail::Mail::EmergencyAccess {
            when: &when,
            link: &link,
        };
        crate::mail::enqueue(change.tx(), &user.email, mail, ctx.clinic.letter(lang), now).await?;
    }
    change.commit().await?;
    state
        .bus
        .publish(Envelope::new(
            vec![patient],
            LiveEvent::Notification {
                kind: "record.emergency_access".into(),
            },
        ))
        .await;
    Ok(expires)
}

/// Adds a clinician to a patient's care team: the front desk, or a clinician who
/// already has a care relationship (referring a colleague).
pub async fn add_to_care_team(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
    clinician: UserId,
) -> Result<bool> {
    let section = if principal.role == Role::Staff {
        Section::Demographics
    } else {
        Section::Problems
    };
    let grant = authorize(state, ctx, principal, patient, section, Op::Write).await?;
    if grant.basis() == Basis::BreakGlass || grant.actor_role() == Some(Role::Patient) {
        return Err(Error::Forbidden);
    }
    let member = state.store.user_by_id(clinician).await?;
    if member.is_none_or(|u| u.role != Role::Clinician) {
        return Err(Error::invalid("clinician_id", "that is not a clinician"));
    }
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    let added =
        store::add_to_care_team(change.tx(), patient, clinician, principal.user_id, now).await?;
    if added {
        let event = about_patient(ctx, now, "record.care_team.add", principal, patient)
            .detail(format!("clinician {clinician}"));
        change.audit(event);
        change.commit().await?;
    } else {
        change.rollback().await?;
    }
    Ok(added)
}

/// One line of a patient's access log: who did what to their record, and when.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct AccessLogEntry {
    pub at: chrono::DateTime<chrono::Utc>,
    pub who: String,
    pub role: Option<Role>,
    pub action: String,
    pub outcome: telemed_domain::audit::Outcome,
}

/// Who accessed `patient`'s record, newest first (at most `limit`), with the names of
/// who acted: for the patient themself and for auditors (`record.access_log.read`).
pub async fn access_log(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
    limit: i64,
) -> Result<Vec<AccessLogEntry>> {
    let grant = authorize(state, ctx, principal, patient, Data::AccessLog, Op::Read).await?;
    let patient = grant.require_data(Data::AccessLog)?;
    state.audit.flush().await?;
    let filter = telemed_store::audit::AuditFilter {
        patient: Some(patient),
        limit,
        ..Default::default()
    };
    let entries = state.store.search_audit(&filter).await?;
    let actors: Vec<UserId> = entries.iter().filter_map(|e| e.actor).collect();
    let names = state.store.names_of(&actors).await?;
    Ok(entries
        .into_iter()
        .map(|e| AccessLogEntry {
            at: e.at,
            who: e
                .actor
                .and_then(|a| names.get(&a).map(|n| n.0.clone()))
                .unwrap_or_else(|| "telemed".into()),
            role: e.actor_role,
            action: e.action,
            outcome: e.outcome,
        })
        .collect())
}
