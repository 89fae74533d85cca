//! What every search of the FHIR API shares, whatever the resource type: the page
//! found (`Found`), its total, whom a patient-compartment search is about, and the
//! Patient an `_include` adds (after the policy's decision, audited).

use serde_json::Value;
use telemed_domain::access::{Grant, Op};
use telemed_domain::record::Section;
use telemed_domain::{Error, Result, UserId};
use telemed_fhir::bundle::Resource;
use telemed_fhir::search::{Search, Total};
use telemed_fhir::{query, resources};

use super::FhirCaller;
use crate::context::Ctx;
use crate::{record, AppState};

/// What a search found: the page, what `_include` added, the total if known, and
/// whether another page follows.
pub(crate) struct Found {
    pub matches: Vec<Resource>,
    pub included: Vec<Resource>,
    pub total: Option<i64>,
    pub more: bool,
}

impl Found {
    /// One page of everything a search matched, held in memory (a patient's documents
    /// or consents, the clinic's clinicians, a stretch of free slots), as resources.
    pub(crate) fn page<T>(all: &[T], search: &Search, resource: impl Fn(&T) -> Value) -> Found {
        let matches: Vec<Resource> = all
            .iter()
            .skip(search.offset)
            .take(search.count)
            .map(|t| resource(t).into())
            .collect();
        Found {
            more: search.offset + matches.len() < all.len(),
            matches,
            included: vec![],
            total: (search.total != Total::None).then_some(all.len() as i64),
        }
    }

    pub(crate) fn nothing() -> Found {
        Found {
            matches: vec![],
            included: vec![],
            total: Some(0),
            more: false,
        }
    }
}

/// The total to report: counted when asked for (`_total=accurate`), known for free when
/// the first page holds everything, otherwise left out.
pub(crate) async fn total<F>(
    search: &Search,
    page: usize,
    more: bool,
    count: F,
) -> Result<Option<i64>>
where
    F: std::future::Future<Output = Result<i64>>,
{
    Ok(match search.total {
        Total::None => None,
        Total::Accurate => Some(count.await?),
        Total::Estimate if !more => Some((search.offset + page) as i64),
        Total::Estimate => None,
    })
}

/// Whom a search of a patient's compartment is about.
pub(crate) enum Searched {
    Patient(UserId),
    /// Someone the caller can reach nothing of (another patient than the token's, or an
    /// id that is not telemed's): an empty result.
    Nobody,
    /// No patient named, and none from the token.
    Unnamed,
}

/// The patient a search names (`patient=`, `subject=`), or the token's own; a token
/// pinned to one patient finds nothing of another.
pub(crate) fn searched_patient(caller: &FhirCaller, search: &Search) -> Result<Searched> {
    let named = query::named_patients(search);
    let id = match (caller.patient, named.as_slice()) {
        (Some(own), []) => return Ok(Searched::Patient(own)),
        (None, []) => return Ok(Searched::Unnamed),
        (_, [one]) => *one,
        (_, _) => {
            return Err(Error::invalid(
                "patient",
                "a search names one patient at a time",
            ))
        }
    };
    Ok(match id.parse::<UserId>() {
        Ok(p) if !caller.outside_compartment(p) => Searched::Patient(p),
        _ => Searched::Nobody,
    })
}

/// The grant to read `patient`'s demographics, if the policy gives one (asked and
/// audited); a refusal is `None`, other errors pass.
pub(crate) async fn demographics_grant(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    patient: UserId,
) -> Result<Option<Grant>> {
    let read = record::authorize(
        state,
        ctx,
        &caller.principal,
        patient,
        Section::Demographics,
        Op::Read,
    )
    .await;
    match read {
        Ok(grant) => Ok(Some(grant)),
        Err(Error::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The Patient an `_include` adds, if the caller may read their demographics (asked of
/// the policy and audited like any read).
pub(crate) async fn included_patient(
    state: &AppState,
    ctx: &Ctx,
    caller: &FhirCaller,
    patient: UserId,
) -> Result<Option<Value>> {
    let Some(grant) = demographics_grant(state, ctx, caller, patient).await? else {
        return Ok(None);
    };
    Ok(state
        .store
        .patient(&grant)
        .await?
        .map(|p| resources::patient(&p)))
}

/// Resources built as JSON, for a bundle.
pub(crate) fn as_json(resources: Vec<Value>) -> Vec<Resource> {
    resources.into_iter().map(Resource::from).collect()
}
