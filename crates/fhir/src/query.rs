//! Parsed searches as store queries. Values that cannot match anything telemed keeps (an
//! id that is not telemed's, a status code of another vocabulary) become alternatives
//! that match nothing, so the search answers an empty page rather than an error.

use telemed_domain::query::{
    AllOf, CommunicationQuery, EntryQuery, PersonQuery, Sort, SortKey, TextMatch, TimeCond,
    VisitQuery,
};
use telemed_domain::record::EntryStatus;
use telemed_domain::{Role, UserId};

use crate::search::{Search, Value};
use crate::types::{ResourceType, Target};

fn groups<T>(
    search: &Search,
    target: Target,
    mut one: impl FnMut(&Value) -> Option<T>,
) -> AllOf<T> {
    search
        .on(target)
        .map(|f| f.values.iter().filter_map(&mut one).collect())
        .collect()
}

fn time(v: &Value) -> Option<TimeCond> {
    match v {
        Value::Date(c) => Some(*c),
        _ => None,
    }
}

fn text(v: &Value) -> Option<TextMatch> {
    match v {
        Value::Text(t) => Some(t.clone()),
        _ => None,
    }
}

fn code(v: &Value) -> Option<&str> {
    match v {
        Value::Token(t) => t.code.as_deref(),
        _ => None,
    }
}

/// A FHIR status code of `rt` as the entry status it stands for: the same word, but
/// an immunization given (`completed`) is kept as `final`.
pub fn status_of(rt: ResourceType, code: &str) -> Option<EntryStatus> {
    let status = match (rt, code) {
        (ResourceType::Immunization, "completed") => EntryStatus::Final,
        (ResourceType::Immunization, "final") | (_, "unstated") => return None,
        _ => EntryStatus::parse(code)?,
    };
    rt.sections()
        .iter()
        .any(|s| status.allowed_in(*s))
        .then_some(status)
}

fn sort_key(t: Target) -> Option<SortKey> {
    match t {
        Target::Effective => Some(SortKey::Effective),
        Target::Recorded => Some(SortKey::Recorded),
        Target::LastUpdated => Some(SortKey::Updated),
        Target::BirthDate => Some(SortKey::BirthDate),
        Target::Name => Some(SortKey::Name),
        _ => None,
    }
}

fn sorts(search: &Search) -> Vec<Sort> {
    search
        .sort
        .iter()
        .filter_map(|(def, descending)| {
            sort_key(def.target).map(|key| Sort {
                key,
                descending: *descending,
            })
        })
        .collect()
}

/// The search as a query of `patient`'s chart entries.
pub fn entry_query(search: &Search, patient: UserId) -> EntryQuery {
    let rt = search.resource_type;
    let mut q = EntryQuery::new(patient, rt.sections(), rt == ResourceType::DiagnosticReport);
    q.ids = groups(search, Target::Id, |v| code(v).and_then(|c| c.parse().ok()));
    q.codes = groups(search, Target::Code, |v| match v {
        Value::Token(t) => Some(t.clone()),
        _ => None,
    });
    q.statuses = groups(search, Target::Status, |v| {
        code(v).and_then(|c| status_of(rt, c))
    });
    q.categories = groups(search, Target::Category, |v| match v {
        // Category codes are tokens; anything else cannot match what telemed keeps.
        Value::Token(t) => t
            .code
            .as_deref()
            .filter(|c| {
                !c.is_empty()
                    && c.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            })
            .map(str::to_owned),
        _ => None,
    });
    q.effective = groups(search, Target::Effective, time);
    q.recorded = groups(search, Target::Recorded, time);
    q.updated = groups(search, Target::LastUpdated, time);
    q.sort = sorts(search);
    q.limit = search.count as i64;
    q.offset = search.offset as i64;
    q
}

/// The search as a query of people of `role` (Patient: patients; Practitioner: clinicians).
pub fn person_query(search: &Search, role: Role) -> PersonQuery {
    let mut q = PersonQuery::new(role);
    q.ids = groups(search, Target::Id, |v| code(v).and_then(|c| c.parse().ok()));
    q.names = groups(search, Target::Name, text);
    q.families = groups(search, Target::Family, text);
    q.givens = groups(search, Target::Given, text);
    q.genders = groups(search, Target::Gender, |v| {
        code(v)
            .filter(|g| matches!(*g, "female" | "male" | "other" | "unknown"))
            .map(str::to_owned)
    });
    q.birth = groups(search, Target::BirthDate, time);
    q.emails = groups(search, Target::Email, |v| code(v).map(str::to_owned));
    q.identifiers = groups(search, Target::Identifier, |v| match v {
        Value::Token(t) => Some(t.clone()),
        _ => None,
    });
    q.updated = groups(search, Target::LastUpdated, time);
    q.sort = sorts(search);
    q.limit = search.count as i64;
    q.offset = search.offset as i64;
    q
}

fn reference(v: &Value) -> Option<UserId> {
    match v {
        // An id that is not telemed's matches nothing (an empty group).
        Value::Reference(id) => id.parse().ok(),
        _ => None,
    }
}

/// The search (Appointment or Encounter) as a query of visits; the caller's reach is a
/// `VisitReach` the store demands beside it.
pub fn visit_query(search: &Search) -> VisitQuery {
    let encounters = search.resource_type == ResourceType::Encounter;
    VisitQuery {
        encounters,
        ids: groups(search, Target::Id, |v| code(v).and_then(|c| c.parse().ok())),
        patients: groups(search, Target::Patient, reference),
        practitioners: groups(search, Target::Practitioner, reference),
        statuses: groups(search, Target::Status, |v| code(v).map(str::to_owned)),
        kinds: groups(search, Target::ServiceType, |v| {
            code(v)
                .and_then(crate::resources::visit_kind_of)
                .map(|k| k.as_str().to_owned())
        }),
        dates: groups(search, Target::Effective, time),
        updated: groups(search, Target::LastUpdated, time),
        sort: sorts(search),
        limit: search.count as i64,
        offset: search.offset as i64,
    }
}

/// The search (Communication) as a query of messages; the reader is the server's to add.
pub fn communication_query(search: &Search) -> CommunicationQuery {
    CommunicationQuery {
        ids: groups(search, Target::Id, |v| code(v).and_then(|c| c.parse().ok())),
        patients: groups(search, Target::Patient, reference),
        sent: groups(search, Target::Effective, time),
        sort: sorts(search),
        limit: search.count as i64,
        offset: search.offset as i64,
        ..CommunicationQuery::default()
    }
}

/// Whether `t` satisfies a date condition.
pub fn holds(cond: &TimeCond, t: chrono::DateTime<chrono::Utc>) -> bool {
    match *cond {
        TimeCond::Within(lo, hi) => lo <= t && t < hi,
        TimeCond::Outside(lo, hi) => t < lo || t >= hi,
        TimeCond::Before(x) => t < x,
        TimeCond::AtOrAfter(x) => t >= x,
    }
}

/// Whether a document matches a DocumentReference search (documents are few per
/// patient: they are filtered after the policy's list, not in SQL).
pub fn document_matches(search: &Search, d: &telemed_domain::views::Document) -> bool {
    use telemed_domain::documents::DocumentStatus;
    let all = |target: Target, one: &dyn Fn(&Value) -> bool| {
        search.on(target).all(|f| f.values.iter().any(one))
    };
    let id = d.id.to_string();
    let status = if d.status == DocumentStatus::EnteredInError {
        "entered-in-error"
    } else {
        "current"
    };
    all(Target::Id, &|v| code(v) == Some(id.as_str()))
        && all(Target::Status, &|v| code(v) == Some(status))
        && all(Target::Category, &|v| code(v) == Some(d.category.as_str()))
        && all(Target::Recorded, &|v| {
            time(v).is_some_and(|c| holds(&c, d.created_at))
        })
        && all(Target::LastUpdated, &|v| {
            time(v).is_some_and(|c| holds(&c, d.updated_at))
        })
}

/// The patient ids a search names (patient=, subject=), as written.
pub fn named_patients(search: &Search) -> Vec<&str> {
    search
        .on(Target::Patient)
        .flat_map(|f| f.values.iter())
        .filter_map(|v| match v {
            Value::Reference(id) => Some(id.as_str()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::parse;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn an_observation_search_becomes_an_entry_query() {
        let patient = UserId::new();
        let s = parse(
            ResourceType::Observation,
            &pairs(&[
                ("patient", &patient.to_string()),
                ("category", "laboratory,vital-signs"),
                ("status", "final,amended"),
                ("_id", "not-an-id"),
                ("_sort", "-date"),
                ("_count", "5"),
            ]),
            crate::search::Handling::Strict,
        )
        .unwrap();
        let q = entry_query(&s, patient);
        assert_eq!(
            q.sections,
            vec![
                telemed_domain::record::Section::Vitals,
                telemed_domain::record::Section::Labs
            ]
        );
        assert_eq!(
            q.categories,
            vec![vec!["laboratory".to_owned(), "vital-signs".to_owned()]]
        );
        // Every R4 Observation status is one an entry may have.
        assert_eq!(
            q.statuses,
            vec![vec![EntryStatus::Final, EntryStatus::Amended]]
        );
        // An id that is not telemed's leaves an alternative-less group: no match.
        assert_eq!(q.ids, vec![Vec::<telemed_domain::EntryId>::new()]);
        assert_eq!(
            q.sort,
            vec![Sort {
                key: SortKey::Effective,
                descending: true
            }]
        );
        assert_eq!(q.limit, 5);
        assert_eq!(named_patients(&s), vec![patient.to_string().as_str()]);
    }

    #[test]
    fn statuses_map_per_type() {
        assert_eq!(
            status_of(ResourceType::Immunization, "completed"),
            Some(EntryStatus::Final)
        );
        assert_eq!(status_of(ResourceType::Observation, "completed"), None);
        assert_eq!(
            status_of(ResourceType::Condition, "remission"),
            Some(EntryStatus::Remission)
        );
        assert_eq!(
            status_of(ResourceType::MedicationStatement, "completed"),
            Some(EntryStatus::Completed)
        );
        // telemed's word for "no clinical status given" is not a FHIR code.
        assert_eq!(status_of(ResourceType::Condition, "unstated"), None);
    }
}
