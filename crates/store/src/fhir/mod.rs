//! Typed searches behind the FHIR API. The FHIR layer (`telemed-fhir`) turns search
//! parameters into these queries; this module turns them into SQL with numbered binds,
//! the same text on both databases. Conditions are an AND of OR-lists, as in FHIR:
//! repeated parameters narrow, comma-separated values widen.
//!
//! Nothing here decides who may see what: the server asks the record's policy for the
//! patient first, and person searches carry the set of people the caller may find.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use telemed_domain::access::{Grant, Op};
use telemed_domain::names::search_words;
use telemed_domain::record::Section;
use telemed_domain::{Error, Result, Role, UserId};

mod communications;
pub mod former_names;
pub mod identifiers;
mod visits;

pub use communications::{Communication, CommunicationQuery};
pub use identifiers::Identifier;
pub use visits::{EncounterSpan, Visit, VisitQuery};

use crate::record::{Entry, EntryRow, ENTRY_COLUMNS};
use crate::{from_micros, like_escape, to_micros, DbResult, Store};

pub use telemed_domain::query::TimeCond;

pub use telemed_domain::query::CodeMatch;

pub use telemed_domain::query::TextMatch;

pub use telemed_domain::query::SortKey;

pub use telemed_domain::query::Sort;

pub use telemed_domain::query::AllOf;

pub use telemed_domain::query::EntryQuery;

pub use telemed_domain::query::PersonQuery;

pub use telemed_domain::views::Person;

/// Whether `grants` cover reading every section `q` searches, of its patient.
fn covered(grants: &[Grant], q: &EntryQuery) -> Result<()> {
    let all = q.sections.iter().all(|s| {
        grants
            .iter()
            .any(|g| g.patient() == q.patient && g.covers(*s, Op::Read))
    });
    if all {
        Ok(())
    } else {
        Err(Error::NotFound)
    }
}

// ---- SQL building -------------------------------------------------------------------------

/// `$1, $2, …, $n`: the placeholders of an `IN (…)` list.
pub(crate) fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Rows of a per-person table (`(owner id, item)`) grouped by `people`, in their order.
pub(crate) fn by_person<T>(
    people: &[UserId],
    rows: impl IntoIterator<Item = (String, T)>,
) -> Vec<Vec<T>> {
    let index: std::collections::HashMap<String, usize> = people
        .iter()
        .enumerate()
        .map(|(i, p)| (p.to_string(), i))
        .collect();
    let mut grouped: Vec<Vec<T>> = people.iter().map(|_| Vec::new()).collect();
    for (owner, item) in rows {
        if let Some(&i) = index.get(&owner) {
            grouped[i].push(item);
        }
    }
    grouped
}

pub(crate) enum Bind {
    Text(String),
    Int(i64),
}

/// A WHERE clause being built: its AND-ed conditions and the values they bind, each
/// named `$n` in order.
#[derive(Default)]
pub(crate) struct Where {
    clauses: Vec<String>,
    binds: Vec<Bind>,
    /// A clause narrows through the name-word index (`name_match`).
    narrowed_by_name: bool,
}

impl Where {
    fn bind(&mut self, b: Bind) -> String {
        self.binds.push(b);
        format!("${}", self.binds.len())
    }
    pub(crate) fn text(&mut self, s: impl Into<String>) -> String {
        self.bind(Bind::Text(s.into()))
    }
    pub(crate) fn int(&mut self, i: i64) -> String {
        self.bind(Bind::Int(i))
    }

    /// Adds one clause per AND-group, each an OR of `one(value)`.
    fn all_of<T>(&mut self, groups: &[Vec<T>], mut one: impl FnMut(&mut Where, &T) -> String) {
        for group in groups {
            let parts: Vec<String> = group.iter().map(|v| one(self, v)).collect();
            self.clauses.push(if parts.is_empty() {
                "1 = 0".into()
            } else {
                format!("({})", parts.join(" OR "))
            });
        }
    }

    fn time(&mut self, column: &str, cond: &TimeCond) -> String {
        match *cond {
            TimeCond::Within(lo, hi) => format!(
                "({column} >= {} AND {column} < {})",
                self.int(to_micros(lo)),
                self.int(to_micros(hi))
            ),
            TimeCond::Outside(lo, hi) => format!(
                "({column} < {} OR {column} >= {})",
                self.int(to_micros(lo)),
                self.int(to_micros(hi))
            ),
            TimeCond::Before(t) => format!("{column} < {}", self.int(to_micros(t))),
            TimeCond::AtOrAfter(t) => format!("{column} >= {}", self.int(to_micros(t))),
        }
    }

    /// The same on a `YYYY-MM-DD` text column: a range's start rounds down to its day,
    /// its end up to the next midnight, so a day matches the instants it contains.
    fn date(&mut self, column: &str, cond: &TimeCond) -> String {
        let floor = |t: DateTime<Utc>| t.date_naive();
        let ceil = |t: DateTime<Utc>| {
            let d = t.date_naive();
            if d.and_hms_opt(0, 0, 0).is_some_and(|m| m.and_utc() == t) {
                d
            } else {
                d.succ_opt().unwrap_or(NaiveDate::MAX)
            }
        };
        let day = |w: &mut Where, d: NaiveDate| w.text(d.format("%Y-%m-%d").to_string());
        match *cond {
            TimeCond::Within(lo, hi) => {
                let (a, b) = (day(self, floor(lo)), day(self, ceil(hi)));
                format!("({column} >= {a} AND {column} < {b})")
            }
            TimeCond::Outside(lo, hi) => {
                let (a, b) = (day(self, floor(lo)), day(self, ceil(hi)));
                format!("({column} < {a} OR {column} >= {b})")
            }
            TimeCond::Before(t) => format!("{column} < {}", day(self, ceil(t))),
            TimeCond::AtOrAfter(t) => format!("{column} >= {}", day(self, floor(t))),
        }
    }

    /// A match on a person's names; a word-start match is first narrowed through
    /// `person_name_words` to the people with a word starting with its first word (an
    /// index range instead of a scan of everyone), the match itself deciding the rest.
    fn name_match(&mut self, columns: &[(&str, &str)], m: &TextMatch) -> String {
        let matched = self.text_match(columns, m);
        let TextMatch::Start(v) = m else {
            return matched;
        };
        let words = search_words(v);
        let Some(first) = words.split_whitespace().next() else {
            return matched;
        };
        let low = self.text(first.to_owned());
        // Above every string that starts with `first` (byte order, as both tables keep).
        let high = self.text(format!("{first}\u{10FFFF}"));
        self.narrowed_by_name = true;
        format!(
            "(u.id IN (SELECT w.user_id FROM person_name_words w WHERE w.word >= {low} \
             AND w.word < {high}) AND {matched})"
        )
    }

    fn text_match(&mut self, columns: &[(&str, &str)], m: &TextMatch) -> String {
        // columns: (folded search column, column as written)
        let parts: Vec<String> = match m {
            TextMatch::Start(v) => {
                let words = search_words(v);
                if words.is_empty() {
                    return "1 = 1".into();
                }
                let p = self.text(format!("%{}%", like_escape(&words)));
                columns
                    .iter()
                    .map(|(folded, _)| format!("{folded} LIKE {p} ESCAPE '\\'"))
                    .collect()
            }
            TextMatch::Contains(v) => {
                let folded = telemed_domain::names::fold(v.trim());
                let p = self.text(format!("%{}%", like_escape(&folded)));
                columns
                    .iter()
                    .map(|(folded, _)| format!("{folded} LIKE {p} ESCAPE '\\'"))
                    .collect()
            }
            TextMatch::Exact(v) => {
                let p = self.text(v.clone());
                columns
                    .iter()
                    .map(|(_, written)| format!("{written} = {p}"))
                    .collect()
            }
        };
        format!("({})", parts.join(" OR "))
    }

    pub(crate) fn binds(&self) -> &[Bind] {
        &self.binds
    }

    /// Adds one condition.
    pub(crate) fn and(&mut self, clause: String) {
        self.clauses.push(clause);
    }

    pub(crate) fn sql(&self) -> String {
        if self.clauses.is_empty() {
            "1 = 1".into()
        } else {
            self.clauses.join(" AND ")
        }
    }
}

pub(crate) fn bind_all<'q, O>(
    mut q: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    binds: &[Bind],
) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
    for b in binds {
        q = match b {
            Bind::Text(s) => q.bind(s.clone()),
            Bind::Int(i) => q.bind(*i),
        };
    }
    q
}

fn order_by(
    sort: &[Sort],
    column: impl Fn(SortKey) -> Option<&'static str>,
    default: &str,
) -> String {
    let mut keys: Vec<String> = sort
        .iter()
        .filter_map(|s| {
            column(s.key).map(|c| format!("{c} {}", if s.descending { "DESC" } else { "ASC" }))
        })
        .collect();
    if keys.is_empty() {
        keys.push(default.to_owned());
    }
    keys.push("id ASC".into());
    keys.join(", ")
}

/// The most entries one searched code finds through their other codings that are
/// listed in the query; with more, the query asks the table itself.
const OTHER_CODED_MAX: i64 = 1000;

fn entry_where(q: &EntryQuery, other_coded: &HashMap<CodeMatch, Vec<String>>) -> Where {
    let mut w = Where::default();
    let p = w.text(q.patient.to_string());
    w.clauses.push(format!("patient_id = {p}"));
    let sections: Vec<String> = q
        .sections
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    w.clauses
        .push(format!("section IN ({})", sections.join(", ")));
    w.clauses.push(
        if q.reports {
            "result_ids IS NOT NULL"
        } else {
            "result_ids IS NULL"
        }
        .into(),
    );
    w.all_of(&q.ids, |w, id| format!("id = {}", w.text(id.to_string())));
    // The shown coding, or one of the others the sender gave (`other_coded`).
    w.all_of(&q.codes, |w, c| {
        let shown = match (&c.system, &c.code) {
            (None, None) => return "1 = 1".into(),
            (None, Some(code)) => format!("code = {}", w.text(code.clone())),
            (Some(s), None) if s.is_empty() => "code_system IS NULL".into(),
            (Some(s), None) => format!("code_system = {}", w.text(s.clone())),
            (Some(s), Some(code)) if s.is_empty() => {
                format!("(code_system IS NULL AND code = {})", w.text(code.clone()))
            }
            (Some(s), Some(code)) => format!(
                "(code_system = {} AND code = {})",
                w.text(s.clone()),
                w.text(code.clone())
            ),
        };
        match other_coded.get(c).filter(|ids| !ids.is_empty()) {
            None => shown,
            Some(ids) if (ids.len() as i64) < OTHER_CODED_MAX => {
                let ids: Vec<String> = ids.iter().map(|id| w.text(id.clone())).collect();
                format!("({shown} OR id IN ({}))", ids.join(", "))
            }
            // Too many to list: asked of the table in the query (slower, never fewer).
            Some(_) => {
                let mut other = format!("code = {}", w.text(c.code.clone().unwrap_or_default()));
                if let Some(s) = c.system.clone() {
                    other.push_str(&format!(" AND system = {}", w.text(s)));
                }
                format!(
                    "({shown} OR id IN (SELECT entry_id FROM chart_entry_codings \
                     WHERE patient_id = {p} AND {other}))"
                )
            }
        }
    });
    w.all_of(&q.statuses, |w, s| {
        format!("status = {}", w.text(s.as_str()))
    });
    // Category codes are tokens of letters, digits and hyphens (the query refuses
    // others), so they need no escaping inside LIKE.
    w.all_of(&q.categories, |w, c| {
        format!("categories LIKE {}", w.text(format!("% {c} %")))
    });
    w.all_of(&q.effective, |w, c| w.time("effective_at", c));
    w.all_of(&q.recorded, |w, c| w.time("recorded_at", c));
    w.all_of(&q.updated, |w, c| w.time("updated_at", c));
    w
}

const PERSON_COLUMNS: &str =
    "u.id, u.role, u.email, u.display_name, u.family_name, u.given_names, \
    u.locale, u.disabled_at, u.updated_at, p.birth_date, p.sex, p.phone, p.address, \
    p.emergency_contact, p.emergency_phone, p.updated_at AS profile_updated_at, c.specialty, \
    p.source";

const PERSON_FROM: &str = "users u LEFT JOIN patient_profiles p ON p.patient_id = u.id \
    LEFT JOIN clinician_profiles c ON c.user_id = u.id";

#[derive(sqlx::FromRow)]
struct PersonRow {
    id: String,
    role: String,
    email: String,
    display_name: String,
    family_name: Option<String>,
    given_names: Option<String>,
    locale: String,
    disabled_at: Option<i64>,
    updated_at: i64,
    birth_date: Option<String>,
    sex: Option<String>,
    phone: Option<String>,
    address: Option<String>,
    emergency_contact: Option<String>,
    emergency_phone: Option<String>,
    profile_updated_at: Option<i64>,
    specialty: Option<String>,
    source: Option<String>,
}

impl TryFrom<PersonRow> for Person {
    type Error = Error;
    fn try_from(r: PersonRow) -> Result<Person> {
        let fallback = telemed_domain::names::PersonName::from_display(&r.display_name);
        Ok(Person {
            id: r
                .id
                .parse()
                .map_err(|_| Error::internal("corrupt user id"))?,
            role: r
                .role
                .parse()
                .map_err(|_| Error::internal("corrupt user role"))?,
            email: r.email,
            family: r.family_name.unwrap_or(fallback.family),
            given: match r.given_names {
                Some(g) => g.split_whitespace().map(str::to_owned).collect(),
                None => fallback.given,
            },
            display_name: r.display_name,
            locale: r.locale,
            active: r.disabled_at.is_none(),
            birth_date: r.birth_date,
            sex: r.sex,
            phone: r.phone,
            address: r.address,
            emergency_contact: r.emergency_contact,
            emergency_phone: r.emergency_phone,
            specialty: r.specialty,
            source: r.source,
            identifiers: vec![],
            former_names: vec![],
            updated_at: from_micros(r.updated_at.max(r.profile_updated_at.unwrap_or(0))),
        })
    }
}

fn person_where(q: &PersonQuery) -> Where {
    let mut w = Where::default();
    let role = w.text(q.role.as_str());
    w.clauses.push(format!("u.role = {role}"));
    let role_clause = w.clauses.len() - 1;
    if let Some(within) = &q.within {
        let ids: Vec<UserId> = within.clone();
        w.all_of(&[ids], |w, id| format!("u.id = {}", w.text(id.to_string())));
    }
    w.all_of(&q.ids, |w, id| format!("u.id = {}", w.text(id.to_string())));
    let both = [
        ("u.search_family", "u.family_name"),
        ("u.search_given", "u.display_name"),
    ];
    w.all_of(&q.names, |w, m| w.name_match(&both, m));
    w.all_of(&q.families, |w, m| {
        w.name_match(&[("u.search_family", "u.family_name")], m)
    });
    w.all_of(&q.givens, |w, m| {
        w.name_match(&[("u.search_given", "u.given_names")], m)
    });
    if w.narrowed_by_name {
        // The name index narrows to a few people; the role is then only checked on
        // them. Written so that no index serves it: without table statistics SQLite
        // would otherwise walk every patient through the role index and test each
        // against the name index's list.
        w.clauses[role_clause] = format!("(u.role || '') = {role}");
    }
    w.all_of(&q.genders, |w, g| format!("p.sex = {}", w.text(g.clone())));
    w.all_of(&q.birth, |w, c| w.date("p.birth_date", c));
    w.all_of(&q.emails, |w, e| {
        format!("u.email = {}", w.text(e.to_lowercase()))
    });
    w.all_of(&q.identifiers, |w, c| {
        let mut conds = vec!["i.patient_id = u.id".to_owned()];
        if let Some(s) = &c.system {
            conds.push(format!("i.system = {}", w.text(s.clone())));
        }
        if let Some(v) = &c.code {
            conds.push(format!("i.value = {}", w.text(v.clone())));
        }
        format!(
            "EXISTS (SELECT 1 FROM patient_identifiers i WHERE {})",
            conds.join(" AND ")
        )
    });
    w.all_of(&q.updated, |w, c| w.time("u.updated_at", c));
    w
}

/// Runs a page query (`LIMIT` one more than `limit`, to learn whether more follow).
async fn page<R, T>(store: &Store, sql: &str, binds: &[Bind], limit: i64) -> Result<(Vec<T>, bool)>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    T: TryFrom<R, Error = Error>,
{
    let rows: Vec<R> = bind_all(sqlx::query_as(sql), binds)
        .fetch_all(store.pool())
        .await
        .db()?;
    let more = rows.len() as i64 > limit;
    let found = rows
        .into_iter()
        .take(limit.max(0) as usize)
        .map(T::try_from)
        .collect::<Result<Vec<_>>>()?;
    Ok((found, more))
}

async fn count(store: &Store, from: &str, w: &Where) -> Result<i64> {
    let sql = format!("SELECT COUNT(*) AS n FROM {from} WHERE {}", w.sql());
    let (n,): (i64,) = bind_all(sqlx::query_as(&sql), &w.binds)
        .fetch_one(store.pool())
        .await
        .db()?;
    Ok(n)
}

fn limits(limit: i64, offset: i64) -> String {
    format!(
        "LIMIT {} OFFSET {}",
        limit.clamp(0, 100_000) + 1,
        offset.max(0)
    )
}

impl Store {
    /// For each searched code, the entries of the patient that carry it as a coding
    /// besides the one they show (`chart_entry_codings`). Looked up first so that the
    /// usual search, whose matches show the code, keeps its index: an OR with a
    /// subquery makes SQLite scan the patient's whole section instead.
    async fn other_coded(&self, q: &EntryQuery) -> Result<HashMap<CodeMatch, Vec<String>>> {
        const SQL: &str = "SELECT entry_id FROM chart_entry_codings WHERE patient_id = $1 \
            AND code = $2 AND ($3 IS NULL OR system = $3) LIMIT $4";
        let mut found = HashMap::new();
        for c in q.codes.iter().flatten() {
            let Some(code) = c.code.clone() else {
                continue;
            };
            if found.contains_key(c) {
                continue;
            }
            // An empty system asks for codes without one, which other codings never are.
            let system = c.system.clone();
            if system.as_deref() == Some("") {
                continue;
            }
            let patient = q.patient.to_string();
            let ids: Vec<String> = match &self.direct {
                // One short index probe: on the request's own thread (see `direct`).
                Some(direct) => direct.run(|conn| {
                    conn.prepare_cached(SQL)?
                        .query_map(
                            rusqlite::named_params! {
                                "$1": patient, "$2": code, "$3": system, "$4": OTHER_CODED_MAX
                            },
                            |r| r.get::<_, String>(0),
                        )?
                        .collect()
                })?,
                None => sqlx::query_scalar(SQL)
                    .bind(patient)
                    .bind(code)
                    .bind(system)
                    .bind(OTHER_CODED_MAX)
                    .fetch_all(self.pool())
                    .await
                    .db()?,
            };
            found.insert(c.clone(), ids);
        }
        Ok(found)
    }

    /// One page of a patient's chart entries matching `q`, and whether more follow.
    /// A page of the entries `q` finds, under the policy's grants: every section it
    /// searches must be covered by a grant to read that section of its patient.
    pub async fn search_entries(
        &self,
        grants: &[Grant],
        q: &EntryQuery,
    ) -> Result<(Vec<Entry>, bool)> {
        covered(grants, q)?;
        let w = entry_where(q, &self.other_coded(q).await?);
        let order = order_by(
            &q.sort,
            |k| match k {
                SortKey::Effective => Some("effective_at"),
                SortKey::Recorded => Some("recorded_at"),
                SortKey::Updated => Some("updated_at"),
                SortKey::BirthDate | SortKey::Name => None,
            },
            "effective_at DESC, recorded_at DESC",
        );
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM chart_entries WHERE {} ORDER BY {order} {}",
            w.sql(),
            limits(q.limit, q.offset)
        );
        page::<EntryRow, Entry>(self, &sql, &w.binds, q.limit).await
    }

    /// How many entries match `q` (paging ignored).
    pub async fn count_entries(&self, grants: &[Grant], q: &EntryQuery) -> Result<i64> {
        covered(grants, q)?;
        count(
            self,
            "chart_entries",
            &entry_where(q, &self.other_coded(q).await?),
        )
        .await
    }

    /// One page of people matching `q`, and whether more follow.
    pub async fn search_people(&self, q: &PersonQuery) -> Result<(Vec<Person>, bool)> {
        let w = person_where(q);
        let order = order_by(
            &q.sort,
            |k| match k {
                SortKey::Updated => Some("u.updated_at"),
                SortKey::BirthDate => Some("p.birth_date"),
                SortKey::Name => Some("u.search_family"),
                SortKey::Effective | SortKey::Recorded => None,
            },
            "u.search_family ASC, u.search_given ASC",
        )
        .replace("id ASC", "u.id ASC");
        let sql = format!(
            "SELECT {PERSON_COLUMNS} FROM {PERSON_FROM} WHERE {} ORDER BY {order} {}",
            w.sql(),
            limits(q.limit, q.offset)
        );
        let (mut people, more) = page::<PersonRow, Person>(self, &sql, &w.binds, q.limit).await?;
        if q.role != Role::Patient {
            return Ok((people, more));
        }
        let ids: Vec<UserId> = people.iter().map(|p| p.id).collect();
        for (p, identifiers) in people
            .iter_mut()
            .zip(identifiers::of(self.pool(), &ids).await?)
        {
            p.identifiers = identifiers;
        }
        for (p, names) in people
            .iter_mut()
            .zip(former_names::of(self.pool(), &ids).await?)
        {
            p.former_names = names;
        }
        Ok((people, more))
    }

    pub async fn count_people(&self, q: &PersonQuery) -> Result<i64> {
        count(self, PERSON_FROM, &person_where(q)).await
    }

    /// A person by id, if they have `role`.
    /// The patient a grant to read demographics is for, as FHIR shows them.
    pub async fn patient(&self, grant: &Grant) -> Result<Option<Person>> {
        let id = grant.require(Section::Demographics, Op::Read)?;
        self.person(id, Role::Patient).await
    }

    /// A clinician, as FHIR shows them (Practitioner): the clinic's directory, public
    /// to its users.
    pub async fn practitioner(&self, id: UserId) -> Result<Option<Person>> {
        self.person(id, Role::Clinician).await
    }

    async fn person(&self, id: UserId, role: Role) -> Result<Option<Person>> {
        let mut q = PersonQuery::new(role);
        q.ids = vec![vec![id]];
        q.limit = 1;
        Ok(self.search_people(&q).await?.0.pop())
    }
}

/// A person by id, on `conn` (inside a write transaction).
/// The patient a demographics grant is for, read on `conn` (inside a write
/// transaction: as the transaction left them).
pub async fn person_in(conn: &mut crate::Conn, grant: &Grant) -> Result<Option<Person>> {
    let id = grant.require(Section::Demographics, Op::Read)?;
    let row: Option<PersonRow> = sqlx::query_as(&format!(
        "SELECT {PERSON_COLUMNS} FROM {PERSON_FROM} WHERE u.id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await
    .db()?;
    let Some(mut person) = row.map(Person::try_from).transpose()? else {
        return Ok(None);
    };
    person.identifiers = identifiers::of(&mut *conn, &[id])
        .await?
        .pop()
        .unwrap_or_default();
    person.former_names = former_names::of(&mut *conn, &[id])
        .await?
        .pop()
        .unwrap_or_default();
    Ok(Some(person))
}
