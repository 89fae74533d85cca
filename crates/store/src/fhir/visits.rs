//! Appointments and the encounters of those that took place, as FHIR searches them.
//! Who may see which visits is decided by the server (a patient their own, a clinician
//! theirs, staff all); the query carries that as `patient` / `clinician`.

use telemed_domain::access::{VisitReach, VisitScope};
use telemed_domain::{AppointmentId, Error, Result};

use super::{count, limits, order_by, page, SortKey, Where};
use crate::from_micros;
use crate::scheduling::{Appointment, AppointmentRow, APPOINTMENT_COLUMNS};

pub use telemed_domain::query::VisitQuery;

pub use telemed_domain::views::EncounterSpan;

pub use telemed_domain::views::Visit;

#[derive(sqlx::FromRow)]
struct VisitRow {
    #[sqlx(flatten)]
    appointment: AppointmentRow,
    encounter_started_at: Option<i64>,
    encounter_ended_at: Option<i64>,
}

impl TryFrom<VisitRow> for Visit {
    type Error = Error;
    fn try_from(r: VisitRow) -> Result<Visit> {
        Ok(Visit {
            appointment: Appointment::try_from(r.appointment)?,
            encounter: r.encounter_started_at.map(|s| EncounterSpan {
                started_at: from_micros(s),
                ended_at: r.encounter_ended_at.map(from_micros),
            }),
        })
    }
}

const VISIT_FROM: &str = "appointments a LEFT JOIN encounters e ON e.appointment_id = a.id";

fn visit_where(reach: &VisitReach, q: &VisitQuery) -> Where {
    let mut w = Where::default();
    if q.encounters {
        w.clauses.push("e.started_at IS NOT NULL".into());
    }
    match reach.scope() {
        VisitScope::Patient(p) => {
            let p = w.text(p.to_string());
            w.clauses.push(format!("a.patient_id = {p}"));
        }
        VisitScope::Clinician(c) => {
            let c = w.text(c.to_string());
            w.clauses.push(format!("a.clinician_id = {c}"));
        }
        VisitScope::Party(u) => {
            let u = w.text(u.to_string());
            w.clauses
                .push(format!("(a.patient_id = {u} OR a.clinician_id = {u})"));
        }
        VisitScope::Visit(id) => {
            let id = w.text(id.to_string());
            w.clauses.push(format!("a.id = {id}"));
        }
        VisitScope::All => {}
    }
    w.all_of(&q.ids, |w, id| format!("a.id = {}", w.text(id.to_string())));
    w.all_of(&q.patients, |w, id| {
        format!("a.patient_id = {}", w.text(id.to_string()))
    });
    w.all_of(&q.practitioners, |w, id| {
        format!("a.clinician_id = {}", w.text(id.to_string()))
    });
    let encounters = q.encounters;
    w.all_of(&q.statuses, |w, s| match (encounters, s.as_str()) {
        (true, "in-progress") => "e.ended_at IS NULL".into(),
        (true, "finished") => "e.ended_at IS NOT NULL".into(),
        (true, _) => "1 = 0".into(),
        (false, _) => format!("a.status = {}", w.text(s.clone())),
    });
    w.all_of(&q.kinds, |w, k| {
        format!("a.visit_kind = {}", w.text(k.clone()))
    });
    let date = if q.encounters {
        "e.started_at"
    } else {
        "a.start_at"
    };
    w.all_of(&q.dates, |w, c| w.time(date, c));
    w.all_of(&q.updated, |w, c| w.time("a.updated_at", c));
    w
}

impl crate::Store {
    /// One page of visits matching `q`, and whether more follow.
    pub async fn search_visits(
        &self,
        reach: &VisitReach,
        q: &VisitQuery,
    ) -> Result<(Vec<Visit>, bool)> {
        let w = visit_where(reach, q);
        let date = if q.encounters {
            "e.started_at"
        } else {
            "a.start_at"
        };
        let order = order_by(
            &q.sort,
            |k| match k {
                SortKey::Effective => Some(date),
                SortKey::Updated => Some("a.updated_at"),
                _ => None,
            },
            &format!("{date} DESC"),
        )
        .replace("id ASC", "a.id ASC");
        let columns: Vec<String> = APPOINTMENT_COLUMNS
            .split(", ")
            .map(|c| format!("a.{c}"))
            .collect();
        let sql = format!(
            "SELECT {}, e.started_at AS encounter_started_at, e.ended_at AS encounter_ended_at \
             FROM {VISIT_FROM} WHERE {} ORDER BY {order} {}",
            columns.join(", "),
            w.sql(),
            limits(q.limit, q.offset)
        );
        page::<VisitRow, Visit>(self, &sql, &w.binds, q.limit).await
    }

    /// How many visits match `q` (paging ignored).
    pub async fn count_visits(&self, reach: &VisitReach, q: &VisitQuery) -> Result<i64> {
        count(self, VISIT_FROM, &visit_where(reach, q)).await
    }

    /// One visit by id, if within reach.
    pub async fn visit(&self, reach: &VisitReach, id: AppointmentId) -> Result<Option<Visit>> {
        let q = VisitQuery {
            ids: vec![vec![id]],
            limit: 1,
            ..VisitQuery::default()
        };
        Ok(self.search_visits(reach, &q).await?.0.pop())
    }
}
