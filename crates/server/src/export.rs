//! A patient's whole record, gathered for download by the patient (or their proxy):
//! the data behind the JSON export, and the readable PDF made from it. Also the one
//! place that says how a chart entry reads as a line of text (the PDF and the pages).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use telemed_domain::access::{Data, Op, Principal};
use telemed_domain::record::{number, Section, Verification};
use telemed_domain::{Error, Result, UserId};
use telemed_store::documents::Document;
use telemed_store::record::{Addendum, Demographics, Entry, Note, RecentVisit};

use crate::context::Ctx;
use crate::i18n::record::{criticality_name, severity_name, status_name, verification_name};
use crate::i18n::{args, Lang, Texts};
use crate::pdf::{Fonts, PdfWriter};
use crate::record::{authorize_as, decide};
use crate::AppState;

/// Everything in a record that its patient may read.
#[derive(Debug, Clone)]
pub struct RecordExport {
    pub patient: UserId,
    pub patient_name: String,
    pub exported_at: DateTime<Utc>,
    pub demographics: Demographics,
    /// Each chart section with all its entries (resolved and stopped ones too).
    pub sections: Vec<(Section, Vec<Entry>)>,
    /// Signed notes with their addenda.
    pub notes: Vec<(Note, Vec<Addendum>)>,
    pub documents: Vec<Document>,
    pub visits: Vec<RecentVisit>,
    /// Names of the people the record mentions (note authors).
    pub names: HashMap<UserId, String>,
}

/// Most visits, notes and documents in one export.
const EXPORT_LIMIT: i64 = 10_000;

/// Gathers `patient`'s record for its patient or their proxy (audited as
/// `record.export`, with the format). Clinicians read the record in place; a bulk copy
/// is the patient's to take.
pub async fn gather(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
    format: &str,
) -> Result<RecordExport> {
    let action = format!("record.export.{format}");
    let export = (Data::Export, Op::Read);
    let grant = match authorize_as(state, ctx, principal, patient, export, &action).await {
        Ok(grant) => grant,
        // Someone who reads the chart knows the record exists: theirs is a refusal.
        Err(Error::NotFound)
            if decide(state, principal, patient, Data::Chart, Op::Read)
                .await?
                .is_some() =>
        {
            return Err(Error::Forbidden)
        }
        Err(e) => return Err(e),
    };
    let store = &state.store;
    let user = store.user_by_id(patient).await?.ok_or(Error::NotFound)?;
    let mut sections = Vec::with_capacity(Section::CHART.len());
    for section in Section::CHART {
        sections.push((section, store.entries(&grant, section).await?));
    }
    let mut notes = Vec::new();
    for note in store.notes_of(&grant, EXPORT_LIMIT).await? {
        let addenda = store.addenda(&grant, note.id).await?;
        notes.push((note, addenda));
    }
    let authors: Vec<UserId> = notes
        .iter()
        .flat_map(|(n, addenda)| std::iter::once(n.author).chain(addenda.iter().map(|a| a.author)))
        .collect();
    let names: HashMap<UserId, String> = store
        .names_of(&authors)
        .await?
        .into_iter()
        .map(|(id, (name, _))| (id, name))
        .collect();
    let now = state.clock.now();
    Ok(RecordExport {
        patient,
        patient_name: user.display_name,
        exported_at: now,
        demographics: store.demographics(&grant).await?,
        sections,
        notes,
        documents: store.documents_of(&grant, false, EXPORT_LIMIT).await?,
        visits: store
            .recent_visits(&grant, now + chrono::Duration::days(3650), EXPORT_LIMIT)
            .await?,
        names,
    })
}

pub fn section_title(section: Section) -> &'static str {
    match section {
        Section::Demographics => "Demographics and contacts",
        Section::Problems => "Problems",
        Section::Allergies => "Allergies and intolerances",
        Section::Medications => "Medications",
        Section::Immunizations => "Immunizations",
        Section::Vitals => "Vital signs",
        Section::Labs => "Lab results",
        Section::History => "Family and social history",
        Section::Notes => "Visit notes",
        Section::Documents => "Documents and images",
        Section::Prescriptions => "Prescriptions",
    }
}

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// An entry as one line in the reader's language: what, value, code, when, status.
/// What was written (the text, the value, the unit, the time) stays as written; only
/// the words around it and the names of coded values are the reader's.
pub fn entry_line(t: &Texts, e: &Entry) -> String {
    let mut line = e.text.clone();
    match (e.value, e.value2) {
        (Some(a), Some(b)) => line.push_str(&format!(" {}/{}", number(a), number(b))),
        (Some(a), None) => line.push_str(&format!(" {}", number(a))),
        _ => {}
    }
    if let Some(v) = &e.value_text {
        line.push_str(&format!(": {v}"));
    }
    if let Some(u) = &e.unit {
        line.push_str(&format!(" {u}"));
    }
    if let Some(sent) = &e.as_sent {
        // As the other system sent it, character for character: a string, never a number.
        let sent = t.el_sent_as(args::ElSentAs {
            value: sent.as_str().into(),
        });
        line.push_str(&format!(" ({sent})"));
    }
    if e.range_low.is_some() || e.range_high.is_some() {
        let low = e.range_low.map(number).unwrap_or_default();
        let high = e.range_high.map(number).unwrap_or_default();
        let reference = t.el_reference(args::ElReference {
            low: low.into(),
            high: high.into(),
        });
        line.push_str(&format!(" ({reference})"));
        if e.out_of_range() {
            line.push_str(&format!(" {}", t.el_out_of_range));
        }
    }
    if let Some(d) = &e.dosage {
        line.push_str(&format!(", {d}"));
    }
    if let Some(s) = e.severity {
        line.push_str(&format!(", {}", severity_name(t, s)));
    }
    if let Some(c) = e.criticality {
        let criticality = t.el_criticality(args::ElCriticality {
            value: criticality_name(t, c).into(),
        });
        line.push_str(&format!(", {criticality}"));
    }
    if let Some(r) = &e.reaction {
        line.push_str(&format!(" ({r})"));
    }
    if let Some(r) = &e.relation {
        line.push_str(&format!(", {r}"));
    }
    if let Some(code) = &e.code {
        line.push_str(&format!(" [{code}]"));
    }
    if let Some(results) = &e.results {
        // A lab report: its results are lines of their own in the same section.
        let count = t.el_report_of(args::ElReportOf {
            count: results.len().into(),
        });
        line.push_str(&format!(", {count}"));
        if let Some(conclusion) = &e.note {
            line.push_str(&format!(": {conclusion}"));
        }
    }
    if let Some(at) = &e.effective {
        line.push_str(&format!(" — {}", at.label()));
    }
    if let Some(at) = &e.ended {
        line.push_str(&format!(" {} {}", t.el_until, at.label()));
    }
    line.push_str(&format!(" · {}", status_name(t, e.status)));
    // How sure its author was, unless plainly confirmed: an unconfirmed allergy must
    // not read like a confirmed one.
    if let Some(v) = e
        .verification
        .filter(|v| !matches!(v, Verification::Confirmed | Verification::EnteredInError))
    {
        line.push_str(&format!(" · {}", verification_name(t, v)));
    }
    line
}

/// The readable copy of a record, laid out on a blocking thread: shaping and subsetting
/// a long record takes a few hundred milliseconds of CPU (`docs/benchmarks.md`), which
/// must not hold up the requests and live connections sharing the async workers.
pub async fn pdf_of(state: &crate::AppState, record: RecordExport) -> Result<Vec<u8>> {
    let fonts = state.pdf_fonts.clone();
    tokio::task::spawn_blocking(move || to_pdf(&record, &fonts))
        .await
        .map_err(|e| Error::internal(format!("the PDF task: {e}")))?
}

/// The readable copy of a record.
pub fn to_pdf(r: &RecordExport, fonts: &Fonts) -> Result<Vec<u8>> {
    let title = format!("Health record of {}", r.patient_name);
    let mut pdf = PdfWriter::new(&title, fonts)?;
    pdf.title(&title);
    pdf.small(&format!(
        "Exported on {} UTC from telemed. Only signed visit notes are included.",
        r.exported_at.format("%Y-%m-%d %H:%M")
    ));

    pdf.heading(section_title(Section::Demographics));
    let d = &r.demographics;
    for (label, value) in [
        ("Date of birth", &d.birth_date),
        ("Sex", &d.sex),
        ("Phone", &d.phone),
        ("Address", &d.address),
        ("Emergency contact", &d.emergency_contact),
        ("Emergency phone", &d.emergency_phone),
    ] {
        pdf.text(&format!(
            "{label}: {}",
            value.as_deref().unwrap_or("not given")
        ));
    }

    for (section, entries) in &r.sections {
        pdf.heading(section_title(*section));
        if entries.is_empty() {
            pdf.small("Nothing recorded.");
        }
        for e in entries {
            pdf.text(&entry_line(Lang::En.texts(), e));
        }
    }

    pdf.heading("Visits");
    if r.visits.is_empty() {
        pdf.small("No visits.");
    }
    for v in &r.visits {
        pdf.text(&format!(
            "{} with {} — {} ({})",
            v.start_at.format("%Y-%m-%d %H:%M"),
            v.clinician_name,
            v.reason,
            v.status
        ));
    }

    pdf.heading(section_title(Section::Notes));
    if r.notes.is_empty() {
        pdf.small("No signed notes.");
    }
    let name = |id: &UserId| r.names.get(id).map(String::as_str).unwrap_or("a clinician");
    for (note, addenda) in &r.notes {
        pdf.gap(4.0);
        pdf.text(&format!(
            "{} — {} note by {}",
            note.signed_at
                .map(day)
                .unwrap_or_else(|| day(note.created_at)),
            note.template,
            name(&note.author)
        ));
        for (label, part) in [
            ("Subjective", &note.soap.subjective),
            ("Objective", &note.soap.objective),
            ("Assessment", &note.soap.assessment),
            ("Plan", &note.soap.plan),
        ] {
            if !part.trim().is_empty() {
                pdf.small(label);
                pdf.text(part);
            }
        }
        for a in addenda {
            pdf.small(&format!(
                "Addendum, {} by {}",
                a.signed_at.format("%Y-%m-%d %H:%M"),
                name(&a.author)
            ));
            pdf.text(&a.body);
        }
    }

    pdf.heading(section_title(Section::Documents));
    if r.documents.is_empty() {
        pdf.small("No documents.");
    }
    for d in &r.documents {
        pdf.text(&format!(
            "{} — {}, {} ({} KB), {}",
            d.title,
            d.category.as_str().replace('_', " "),
            d.file.media_type.extension().to_uppercase(),
            (d.file.byte_size + 1023) / 1024,
            day(d.created_at)
        ));
    }
    if !r.documents.is_empty() {
        pdf.small("The files themselves are downloaded one by one from the record's pages.");
    }
    pdf.finish()
}
