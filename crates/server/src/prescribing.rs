//! E-prescribing as a service: the medication catalogue (telemed's starter products,
//! put in place on the first start), and the checks of a prescription being written —
//! allergies, interactions, duplicate therapy, a child's dose — against the patient's
//! chart, read under the policy's grant. The knowledge the checks consult (starter or
//! imported) is loaded from the database at start and indexed (`AppState::knowledge`).

use std::collections::HashSet;
use std::sync::Arc;

use chrono::NaiveDate;
use serde::Serialize;
use telemed_domain::access::{Data, Grant, Op, Principal};
use telemed_domain::audit::Outcome;
use telemed_domain::names::search_words;
use telemed_domain::prescribing::checks::{
    self, ActiveMedication, AllergyFact, Finding, PatientContext,
};
use telemed_domain::prescribing::dispensing::Fills;
use telemed_domain::prescribing::prescription::{
    sign_over, NewPrescription, Override, PrescriptionStatus, MAX_TEXT,
};
use telemed_domain::prescribing::sig::{Language, Sig};
use telemed_domain::prescribing::{
    ingredient_key, interactions_csv, rxnorm, starter, Knowledge, Medication,
};
use telemed_domain::record::Section;
use telemed_domain::record::RXNORM;
use telemed_domain::{Error, Result, Role, UserId};
use telemed_store::knowledge;
use telemed_store::medications::{self, CatalogueEntry};
use telemed_store::prescriptions::{self, Prescription};
use telemed_store::{DbResult as _, Store};

use crate::accounts::mfa;
use crate::audit::Event;
use crate::change::Change;
use crate::context::Ctx;
use crate::AppState;

/// LOINC body weight: the chart's weight, in kg.
const BODY_WEIGHT: &str = "29463-7";

/// Puts telemed's starter catalogue and knowledge in place where they are empty (the
/// first start of a clinic); what a clinic already has is left as it is.
pub async fn seed_starter(store: &Store, now: chrono::DateTime<chrono::Utc>) -> Result<()> {
    let mut tx = store.begin_write().await?;
    if medications::count(&mut tx).await? == 0 {
        medications::upsert(&mut tx, &starter::medications()?, "starter", now).await?;
    }
    if knowledge::is_empty(&mut tx).await? {
        knowledge::add_classes(&mut tx, &starter::classes()?, "starter").await?;
        knowledge::replace_interactions(&mut tx, &starter::interactions()?, "starter").await?;
        knowledge::add_dose_ranges(&mut tx, &starter::dose_ranges()?, "starter").await?;
    }
    tx.commit().await.db()
}

/// What the checks consult, held in memory by each node: the knowledge (classes,
/// interaction pairs, dose ranges) and the ingredient names the catalogue and the
/// knowledge know, to recognise a medication the chart records in words. Built at start
/// and after an import on this node (`AppState::knowledge`).
pub struct Reference {
    pub knowledge: Knowledge,
    names: IngredientNames,
}

impl Reference {
    /// Reads the knowledge and the catalogue's ingredient names from the database.
    pub async fn load(store: &Store) -> Result<Reference> {
        let knowledge = store.knowledge().await?;
        let names = IngredientNames::new(&store.catalogue_ingredients().await?, &knowledge);
        Ok(Reference { knowledge, names })
    }
}

/// Rebuilds this node's reference after an import.
async fn reload(state: &AppState) -> Result<()> {
    let fresh = Arc::new(Reference::load(&state.store).await?);
    match state.knowledge.write() {
        Ok(mut k) => *k = fresh,
        Err(poisoned) => *poisoned.into_inner() = fresh,
    }
    Ok(())
}

/// What an interaction import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InteractionsReport {
    /// Pairs the knowledge held before (all replaced).
    pub replaced: u64,
    /// Pairs it holds now.
    pub imported: usize,
}

/// Replaces the interaction pairs with a licensed knowledge base in CSV
/// (`interactions_csv`): read whole or refused naming the line, nothing changed; on
/// success one transaction, audited (`medications.knowledge_import`), and this node's
/// checks use it at once (other nodes at their next start).
pub async fn import_interactions(
    state: &AppState,
    ctx: &Ctx,
    csv: &str,
    source: &str,
) -> Result<InteractionsReport> {
    let classes: HashSet<String> = state.store.drug_class_ids().await?.into_iter().collect();
    let pairs = interactions_csv::read(csv, &classes)?;
    let now = state.clock.now();
    let mut change = crate::change::Change::begin(state).await?;
    let replaced = knowledge::replace_interactions(change.tx(), &pairs, source).await?;
    let event =
        crate::audit::Event::new(ctx, now, "medications.knowledge_import", "medication").detail(
            format!("interactions: {} pairs replace {replaced}", pairs.len()),
        );
    change.audit(event);
    change.commit().await?;
    reload(state).await?;
    Ok(InteractionsReport {
        replaced,
        imported: pairs.len(),
    })
}

/// What an RxNorm import did, for the admin's report.
#[derive(Debug, Clone)]
pub struct ImportReport {
    pub read: rxnorm::Report,
    /// Products new to the catalogue.
    pub added: usize,
    /// Products the catalogue had (brought up to date, active).
    pub updated: usize,
    /// RxNorm products of an earlier import this release no longer lists, now inactive
    /// (kept: prescriptions still name them).
    pub retired: i64,
}

/// Imports an RxNorm release's RRF files (`RXNCONSO.RRF`, `RXNREL.RRF`, `RXNSAT.RRF`
/// in `dir`) into the catalogue, in one transaction: the release's products become the
/// active RxNorm products; earlier ones it no longer lists become inactive. `progress`
/// hears of each 100,000 lines read. The import is audited (`medications.import`).
pub async fn import_rxnorm(
    state: &AppState,
    ctx: &Ctx,
    dir: &std::path::Path,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<ImportReport> {
    let open = |name: &str| {
        std::fs::File::open(dir.join(name))
            .map(std::io::BufReader::new)
            .map_err(|e| Error::invalid("rxnorm", format!("{name} in {}: {e}", dir.display())))
    };
    let (conso, rel, sat) = (
        open("RXNCONSO.RRF")?,
        open("RXNREL.RRF")?,
        open("RXNSAT.RRF")?,
    );
    let (products, read) = rxnorm::read(conso, rel, sat, progress)?;
    if products.is_empty() {
        return Err(Error::invalid(
            "rxnorm",
            "the release holds no clinical or branded drug with an ingredient: nothing imported",
        ));
    }
    let now = state.clock.now();
    let source = format!("rxnorm {}", now.format("%Y-%m-%d"));
    let mut change = crate::change::Change::begin(state).await?;
    let before = medications::active_in(change.tx(), RXNORM).await?;
    medications::deactivate_system(change.tx(), RXNORM, now).await?;
    let added = medications::upsert(change.tx(), &products, &source, now).await?;
    let after = medications::active_in(change.tx(), RXNORM).await?;
    let updated = products.len() - added;
    let retired = (before + added as i64 - after).max(0);
    let event =
        crate::audit::Event::new(ctx, now, "medications.import", "medication").detail(format!(
            "rxnorm: {} products ({added} new, {updated} updated, {retired} retired)",
            products.len()
        ));
    change.audit(event);
    change.commit().await?;
    reload(state).await?;
    Ok(ImportReport {
        read,
        added,
        updated,
        retired,
    })
}

/// Products whose names start with the words typed (at most `limit`, 100 at most), for
/// anyone signed in: the catalogue is reference data, not anyone's record.
pub async fn search(state: &AppState, query: &str, limit: i64) -> Result<Vec<CatalogueEntry>> {
    if query.chars().count() > 100 {
        return Err(Error::invalid("q", "search with at most 100 characters"));
    }
    state.store.search_medications(query, limit).await
}

/// A prescription as it is being written: the product (by code system and code) and
/// how it is to be taken.
#[derive(Debug, Clone)]
pub struct Proposed {
    pub product: Product,
    pub sig: Sig,
}

/// What is prescribed: a product of the catalogue, or a drug written in words (only
/// with the "not checked" flag: the checks see just the ingredients its name names).
#[derive(Debug, Clone, PartialEq)]
pub enum Product {
    /// By the catalogue's code system (`urn:telemed:medication-starter`, RxNorm's
    /// URI…) and code.
    Catalogue {
        system: String,
        code: String,
    },
    FreeText(String),
}

impl Product {
    /// The product a request names: a system and code, or free text, not both.
    pub fn of(system: &str, code: &str, free_text: Option<&str>) -> Result<Product> {
        let free_text = free_text.map(str::trim).filter(|t| !t.is_empty());
        match (
            system.trim().is_empty() && code.trim().is_empty(),
            free_text,
        ) {
            (true, Some(text)) => Ok(Product::FreeText(text.to_owned())),
            (false, None) => Ok(Product::Catalogue {
                system: system.trim().to_owned(),
                code: code.trim().to_owned(),
            }),
            (false, Some(_)) => Err(Error::invalid(
                "free_text",
                "name a product of the catalogue or write the drug in words, not both",
            )),
            (true, None) => Err(Error::invalid(
                "code",
                "choose a product of the catalogue, or write the drug in words",
            )),
        }
    }
}

/// The medication `product` stands for: an active product of the catalogue, or a drug
/// written in words with the ingredients its name names.
async fn medication_of(state: &AppState, product: &Product, sig: &Sig) -> Result<Medication> {
    match product {
        Product::Catalogue { system, code } => active_product(state, system, code).await,
        Product::FreeText(name) => {
            let recognised = state.knowledge().names.named_in(name);
            Medication::free_text(name, &sig.route, recognised)
        }
    }
}

/// What the checks found for a proposed prescription.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub medication: Medication,
    /// The sig in words, for the patient and the pharmacy.
    pub sig_text_en: String,
    pub sig_text_es: String,
    /// Most serious first.
    pub findings: Vec<Finding>,
}

/// Checks `proposed` for `patient` against their chart: for a clinician who may read
/// the chart (audited as `record.chart.read`). An unknown or inactive product, or a sig
/// that is not one, is refused naming the field.
pub async fn check(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
    proposed: &Proposed,
) -> Result<CheckReport> {
    if principal.role != Role::Clinician {
        return Err(Error::Forbidden);
    }
    proposed.sig.validate()?;
    let medication = medication_of(state, &proposed.product, &proposed.sig).await?;
    let (findings, _) =
        findings(state, ctx, principal, patient, &medication, &proposed.sig).await?;
    Ok(CheckReport {
        sig_text_en: proposed.sig.text(Language::English),
        sig_text_es: proposed.sig.text(Language::Spanish),
        medication,
        findings,
    })
}

/// A prescription to sign: the product and sig, what to dispense, the reasons to sign
/// over findings, and the prescriber's second-factor code.
#[derive(Debug, Clone)]
pub struct SignRequest {
    pub proposed: Proposed,
    pub quantity: f64,
    pub quantity_unit: String,
    pub refills: u32,
    pub substitution_allowed: bool,
    pub note: String,
    pub overrides: Vec<Override>,
    /// The pharmacy to send it to (an active one of the directory), or none: the
    /// patient takes their copy anywhere.
    pub pharmacy: Option<String>,
    /// The renewal request this prescription answers (approved with it), if any.
    pub renewal: Option<String>,
    pub code: String,
}

/// Signs a prescription for `patient`: a clinician with a care relationship, proving
/// presence with their second factor again (a code is accepted once). The checks run
/// again here, against the chart as it is now; a major or contraindicated finding
/// without a reason, a wrong or replayed code, a product no longer offered or a
/// prescription a pharmacy could not fill is refused and nothing is stored. The
/// prescription and its audit entry (with the reasons given) are one transaction; a
/// refused code is audited as a failure.
pub async fn sign(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
    req: SignRequest,
) -> Result<Prescription> {
    if principal.role != Role::Clinician {
        return Err(Error::Forbidden);
    }
    req.proposed.sig.validate()?;
    let medication = medication_of(state, &req.proposed.product, &req.proposed.sig).await?;
    let new = NewPrescription {
        medication,
        sig: req.proposed.sig,
        quantity: req.quantity,
        quantity_unit: req.quantity_unit,
        refills: req.refills,
        substitution_allowed: req.substitution_allowed,
        note: req.note,
    };
    new.validate(state.config.prescribing.max_refills)?;
    let chosen = crate::pharmacies::chosen(state, req.pharmacy.as_deref(), "pharmacy").await?;
    let sends = chosen
        .as_ref()
        .and_then(crate::sending::Channel::of)
        .is_some();
    let pharmacy = chosen.map(|p| p.id);
    let (found, born) = findings(state, ctx, principal, patient, &new.medication, &new.sig).await?;
    let signed = sign_over(found, &req.overrides)?;
    let write = prescriptions_grant(state, ctx, principal, patient, Op::Write).await?;
    let user = state
        .store
        .user_by_id(principal.user_id)
        .await?
        .ok_or(Error::Unauthenticated)?;
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    let factor = mfa::check_second_factor(state, change.tx(), &user, &req.code).await?;
    let Some(factor) = factor else {
        change.rollback().await?;
        let refused = Event::new(ctx, now, "prescription.sign", "prescription")
            .by(principal.user_id, principal.role)
            .patient(patient)
            .outcome(Outcome::Failure)
            .detail("second factor refused");
        state.audit.record(refused.build()).await?;
        return Err(Error::invalid(
            "code",
            "the second-factor code is wrong or was used already",
        ));
    };
    let id = uuid::Uuid::new_v4().to_string();
    let token = prescription_token(state, &id, &new, patient, born, &user, now).await?;
    let signing = prescriptions::Signing {
        id: &id,
        findings: &signed,
        second_factor: factor,
        token: &token,
        pharmacy: pharmacy.as_deref(),
        sending: sends.then_some("queued"),
        at: now,
    };
    let stored = prescriptions::insert(change.tx(), &write, &new, signing).await?;
    if sends {
        crate::sending::enqueue(change.tx(), &id, now).await?;
    }
    let mut renewed_for = None;
    if let Some(renewal) = req.renewal.as_deref() {
        use telemed_domain::prescribing::renewal::RenewalStatus;
        let approved = telemed_store::renewals::answer(
            change.tx(),
            &write,
            renewal,
            RenewalStatus::Approved,
            "",
            Some(&id),
            now,
        )
        .await?;
        let Some(asked_by) = approved else {
            change.rollback().await?;
            return Err(Error::Conflict(
                "the renewal request was answered already, or is not this patient's".into(),
            ));
        };
        crate::renewals::notify(
            &mut change,
            asked_by,
            crate::renewals::RENEWAL_ANSWERED,
            patient,
            now,
        )
        .await?;
        renewed_for = Some(asked_by);
        change.audit(
            Event::new(ctx, now, "prescription.renewal_answer", "prescription")
                .by(principal.user_id, principal.role)
                .on(renewal)
                .patient(patient)
                .detail("approved"),
        );
    }
    let reasons: Vec<String> = signed
        .iter()
        .filter_map(|f| {
            let reason = f.override_reason.as_ref()?;
            Some(format!(
                "{} {} \"{}\": {reason}",
                f.finding.severity.as_str(),
                f.finding.kind.as_str(),
                f.finding.subject
            ))
        })
        .collect();
    let mut detail = format!(
        "{}; {} findings; second factor {factor}",
        write.basis().as_str(),
        signed.len()
    );
    if !reasons.is_empty() {
        detail.push_str("; signed over ");
        detail.push_str(&reasons.join("; "));
    }
    change.audit(crate::record::audit_write(ctx, state, &write, &stored.id).detail(detail));
    change.commit().await?;
    if sends {
        state.jobs_wake.notify_one();
    }
    if let Some(asked_by) = renewed_for {
        crate::renewals::tell(state, asked_by, crate::renewals::RENEWAL_ANSWERED).await;
    }
    Ok(stored)
}

/// The prescriptions of `patient`, newest first, for whoever may read them (the
/// patient, a proxy, their clinicians); audited as `record.prescriptions.read`.
pub async fn prescriptions_of(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
) -> Result<Vec<Prescription>> {
    let grant = prescriptions_grant(state, ctx, principal, patient, Op::Read).await?;
    state.store.prescriptions_of(&grant).await
}

/// How an active prescription ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// It is not to be dispensed (written in error, or no longer wanted).
    Cancel,
    /// The patient is to stop taking it.
    Discontinue,
}

/// Ends an active prescription with a reason (a clinician with a care relationship):
/// cancelled or discontinued (FHIR `stopped`). One already ended is a conflict,
/// someone else's is not found.
pub async fn end(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    id: &str,
    ending: Ending,
    reason: &str,
) -> Result<Prescription> {
    let (status, word) = match ending {
        Ending::Cancel => (PrescriptionStatus::Cancelled, "cancelled"),
        Ending::Discontinue => (PrescriptionStatus::Stopped, "discontinued"),
    };
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_TEXT {
        return Err(Error::invalid(
            "reason",
            format!("say why, in 1 to {MAX_TEXT} characters"),
        ));
    }
    let sealed = state.store.prescription(id).await?.ok_or(Error::NotFound)?;
    let write = prescriptions_grant(state, ctx, principal, sealed.patient(), Op::Write).await?;
    if principal.role != Role::Clinician {
        return Err(Error::Forbidden);
    }
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    if !prescriptions::end(change.tx(), &write, id, status, reason, now).await? {
        change.rollback().await?;
        return Err(Error::Conflict(
            "this prescription is no longer active".into(),
        ));
    }
    change.audit(
        crate::record::audit_write(ctx, state, &write, id).detail(format!("{word}: {reason}")),
    );
    change.commit().await?;
    // A write grant reads back what it wrote.
    state
        .store
        .prescription(id)
        .await?
        .ok_or(Error::NotFound)?
        .open(&write)
}

/// The verifiable token of a prescription: what a pharmacy needs to fill it, and of the
/// patient only their initials and birth year; signed with the clinic's prescription
/// key, valid `prescribing.valid_days`.
async fn prescription_token(
    state: &AppState,
    id: &str,
    new: &NewPrescription,
    patient: UserId,
    born: Option<NaiveDate>,
    prescriber: &telemed_store::users::User,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<String> {
    let person = state
        .store
        .user_by_id(patient)
        .await?
        .ok_or(Error::NotFound)?;
    let initial = |s: &str| s.chars().next().map(|c| format!("{}.", c.to_uppercase()));
    let initials: String = person
        .name
        .given
        .iter()
        .filter_map(|g| initial(g))
        .chain(initial(&person.name.family))
        .collect();
    let valid = chrono::Duration::days(i64::from(state.config.prescribing.valid_days));
    let claims = serde_json::json!({
        "iss": state.config.public_url,
        "typ": TOKEN_TYPE,
        "jti": id,
        "iat": now.timestamp(),
        "exp": (now + valid).timestamp(),
        "medication": {
            "system": new.medication.system,
            "code": new.medication.code,
            "name": new.medication.name,
        },
        "sig": new.sig.text(Language::English),
        "quantity": new.quantity,
        "quantity_unit": new.quantity_unit.trim(),
        "refills": new.refills,
        "substitution_allowed": new.substitution_allowed,
        "patient": {"initials": initials, "birth_year": born.map(|b| chrono::Datelike::year(&b))},
        "prescriber": {"id": prescriber.id, "name": prescriber.display_name},
    });
    state.prescription_key.sign(&claims)
}

/// The patient's copy of a prescription as a PDF in `lang` (English or Spanish): what
/// to take and how, for the patient, and for the pharmacy a QR code of the verification
/// address carrying the signed token. For whoever may read the prescription; audited
/// as that read.
pub async fn pdf(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    id: &str,
    lang: Language,
) -> Result<Vec<u8>> {
    let sealed = state.store.prescription(id).await?.ok_or(Error::NotFound)?;
    let grant = prescriptions_grant(state, ctx, principal, sealed.patient(), Op::Read).await?;
    let p = sealed.open(&grant)?;
    let names = state.store.names_of(&[p.patient, p.prescriber]).await?;
    let name = |u: &UserId| names.get(u).map(|n| n.0.clone()).unwrap_or_default();
    let es = lang == Language::Spanish;
    let say = |en: &'static str, es_text: &'static str| if es { es_text } else { en };
    let mut doc = crate::pdf::PdfWriter::new(say("Prescription", "Receta"), &state.pdf_fonts)?;
    doc.title(&p.medication.name);
    doc.text(if es { &p.sig_text_es } else { &p.sig_text_en });
    doc.gap(6.0);
    doc.text(&format!(
        "{}: {} {}",
        say("Quantity", "Cantidad"),
        telemed_domain::prescribing::format_amount(p.quantity),
        p.quantity_unit
    ));
    doc.text(&format!(
        "{}: {}",
        say("Refills", "Repeticiones"),
        p.refills
    ));
    if !p.substitution_allowed {
        doc.text(say(
            "Dispense as written: no substitution",
            "Dispensar tal cual: sin sustitución",
        ));
    }
    if !p.note.is_empty() {
        doc.text(&format!(
            "{}: {}",
            say("Note to the pharmacist", "Nota para la farmacia"),
            p.note
        ));
    }
    doc.gap(6.0);
    doc.text(&format!(
        "{}: {}",
        say("Patient", "Paciente"),
        name(&p.patient)
    ));
    doc.text(&format!(
        "{}: {}",
        say("Prescriber", "Prescriptor"),
        name(&p.prescriber)
    ));
    doc.small(&format!(
        "{} {}",
        say("Signed", "Firmada el"),
        p.signed_at.format("%Y-%m-%d %H:%M UTC")
    ));
    if p.status != PrescriptionStatus::Active {
        doc.heading(&format!(
            "{}: {}",
            say("NOT TO BE DISPENSED", "NO DISPENSAR"),
            p.status_reason.clone().unwrap_or_default()
        ));
    }
    doc.heading(say("For the pharmacy", "Para la farmacia"));
    doc.small(say(
        "Scan the code to verify this prescription, or check it offline with the clinic's key.",
        "Escanee el código para verificar esta receta, o compruébela sin conexión con la clave de la clínica.",
    ));
    doc.gap(6.0);
    let url = format!(
        "{}/rx/verify?token={}",
        state.config.public_url.trim_end_matches('/'),
        p.token
    );
    doc.qr(&url, 220.0).map_err(Error::internal)?;
    doc.finish()
}

/// The `typ` claim of a prescription token.
pub const TOKEN_TYPE: &str = "telemed-prescription";

/// What a verification found.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Signed by this clinic, unaltered, in date, still active.
    Valid,
    Expired,
    /// Cancelled or stopped, with the reason.
    Ended(PrescriptionStatus, Option<String>),
}

/// A token checked: its claims (as signed) and the verdict.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The prescription's id (the token's `jti`).
    pub id: String,
    pub claims: serde_json::Value,
    pub verdict: Verdict,
    /// What has been dispensed of it so far.
    pub fills: Fills,
}

/// Verifies a prescription token for anyone who holds it (a pharmacy, the patient):
/// the signature under the clinic's key, the dates, and the prescription's status now.
/// A token telemed did not sign, or an altered one, is refused. Audited as
/// `prescription.verify` on the patient's record (no actor: the holder is anonymous).
pub async fn verify(state: &AppState, ctx: &Ctx, token: &str) -> Result<Verified> {
    let (id, claims) = read_token(state, token)?;
    let standing = state
        .store
        .prescription_standing(&id)
        .await?
        .ok_or_else(not_ours)?;
    let patient = standing.patient;
    let now = state.clock.now();
    let verdict = if standing.status != PrescriptionStatus::Active {
        Verdict::Ended(standing.status, standing.status_reason)
    } else if is_expired(&claims, now) {
        Verdict::Expired
    } else {
        Verdict::Valid
    };
    let event = Event::new(ctx, now, "prescription.verify", "prescription")
        .on(&id)
        .patient(patient)
        .detail(match &verdict {
            Verdict::Valid => "valid",
            Verdict::Expired => "expired",
            Verdict::Ended(..) => "ended",
        });
    state.audit.record(event.build()).await?;
    Ok(Verified {
        id,
        claims,
        verdict,
        fills: standing.fills,
    })
}

fn not_ours() -> Error {
    Error::invalid(
        "token",
        "this is not a prescription signed by this clinic, or it was altered",
    )
}

/// A prescription token's id and claims, when this clinic's key signed it unaltered;
/// refused otherwise. Nothing of its standing is read.
pub(crate) fn read_token(state: &AppState, token: &str) -> Result<(String, serde_json::Value)> {
    let claims = state
        .prescription_key
        .verify(token.trim())
        .ok_or_else(not_ours)?;
    if claims["typ"] != TOKEN_TYPE {
        return Err(not_ours());
    }
    let id = claims["jti"].as_str().ok_or_else(not_ours)?.to_owned();
    Ok((id, claims))
}

/// Whether a token's claims are past their `exp` at `now` (a token without one is).
pub(crate) fn is_expired(claims: &serde_json::Value, now: chrono::DateTime<chrono::Utc>) -> bool {
    claims["exp"]
        .as_i64()
        .is_none_or(|exp| exp <= now.timestamp())
}

/// The policy's grant on `patient`'s prescriptions (audited as the record's decisions).
async fn prescriptions_grant(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
    op: Op,
) -> Result<Grant> {
    crate::record::authorize(state, ctx, principal, patient, Section::Prescriptions, op).await
}

/// The checks' findings for `medication` taken as `sig`, against `patient`'s chart as
/// it is now, read under a chart grant (`record.chart.read`); with the patient's birth
/// date as the chart has it.
async fn findings(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
    medication: &Medication,
    sig: &Sig,
) -> Result<(Vec<Finding>, Option<NaiveDate>)> {
    let chart =
        crate::record::authorize(state, ctx, principal, patient, Data::Chart, Op::Read).await?;
    let reference = state.knowledge();
    let (context, born) = patient_context(state, &chart, &reference.names).await?;
    Ok((
        checks::check(medication, sig, &context, &reference.knowledge),
        born,
    ))
}

async fn active_product(state: &AppState, system: &str, code: &str) -> Result<Medication> {
    state
        .store
        .medication(system.trim(), code.trim())
        .await?
        .map(|e| e.medication)
        .filter(|m| m.active)
        .ok_or_else(|| Error::invalid("code", "no such active product in the medication catalogue"))
}

/// What the checks need of the patient's chart: current allergies and medications, the
/// latest weight, the age (and the birth date it came from).
async fn patient_context(
    state: &AppState,
    grant: &Grant,
    names: &IngredientNames,
) -> Result<(PatientContext, Option<NaiveDate>)> {
    let current = state.store.current(grant).await?;
    let demographics = state.store.demographics(grant).await?;
    let mut active = Vec::with_capacity(current.medications.len());
    for entry in &current.medications {
        let coded = match (&entry.code_system, &entry.code) {
            (Some(system), Some(code)) if system == RXNORM => {
                state.store.medication(system, code).await?
            }
            _ => None,
        };
        let ingredients = match coded {
            Some(product) => product
                .medication
                .ingredients
                .iter()
                .map(|i| i.key())
                .collect(),
            None => names.named_in(&entry.text),
        };
        active.push(ActiveMedication {
            name: entry.text.clone(),
            ingredients,
        });
    }
    let weight_kg = current
        .vitals
        .iter()
        .find(|v| v.code.as_deref() == Some(BODY_WEIGHT))
        .and_then(|v| v.value);
    let today = state.clock.now().date_naive();
    let born = demographics
        .birth_date
        .as_deref()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    let age_years = born.and_then(|born| today.years_since(born));
    let context = PatientContext {
        allergies: current
            .allergies
            .iter()
            .map(|a| AllergyFact {
                code: a.code.clone(),
                text: a.text.clone(),
            })
            .collect(),
        active,
        weight_kg,
        age_years,
    };
    Ok((context, born))
}

/// The ingredients the catalogue and the knowledge know, each with the words it is
/// written in, to recognise a medication the chart records in words.
struct IngredientNames(Vec<(String, String)>);

impl IngredientNames {
    fn new(catalogue: &[String], knowledge: &Knowledge) -> IngredientNames {
        let mut names: Vec<(String, String)> = Vec::new();
        let keys = catalogue
            .iter()
            .map(|n| ingredient_key(n))
            .chain(knowledge.classes().flat_map(|c| c.members.iter().cloned()));
        for key in keys {
            let needle = format!("{} ", search_words(&key));
            if needle.trim().is_empty() || names.iter().any(|(k, _)| *k == key) {
                continue;
            }
            names.push((key, needle));
        }
        IngredientNames(names)
    }

    /// The ingredients a medication written in words names ("Warfarin 5mg daily"), in
    /// the order they are known.
    fn named_in(&self, text: &str) -> Vec<String> {
        let words = format!("{} ", search_words(text));
        self.0
            .iter()
            .filter(|(_, needle)| words.contains(needle.as_str()))
            .map(|(key, _)| key.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_medication_in_words_is_recognised_by_its_ingredients() {
        let knowledge = starter::knowledge().unwrap();
        let catalogue = vec!["warfarin sodium".to_owned(), "ibuprofen".to_owned()];
        let names = IngredientNames::new(&catalogue, &knowledge);
        assert_eq!(names.named_in("Warfarin 5mg once daily"), vec!["warfarin"]);
        assert_eq!(
            names.named_in("Calcipotriol/betamethasone gel"),
            Vec::<String>::new()
        );
        // A class member the catalogue lacks is still known to the knowledge.
        assert_eq!(
            IngredientNames::new(&[], &knowledge).named_in("phenelzine 15 mg"),
            vec!["phenelzine"]
        );
    }

    #[test]
    fn age_counts_whole_years() {
        let born = NaiveDate::from_ymd_opt(2020, 6, 15).unwrap();
        let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        assert_eq!(day(6, 14).years_since(born), Some(5));
        assert_eq!(day(6, 15).years_since(born), Some(6));
        assert_eq!(born.years_since(day(1, 1)), None);
    }
}
