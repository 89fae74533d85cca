//! Clinician profiles, availability, visit types and appointments. Double-booking is
//! refused by the database: an appointment claims each 5-minute tick it covers in
//! `appointment_ticks`, whose primary key allows one claim per clinician and tick.

use chrono::{DateTime, NaiveDate, NaiveTime, Timelike, Utc, Weekday};
use telemed_domain::access::{VisitReach, VisitScope};
use telemed_domain::schedule::{
    Availability, DateException, ExceptionKind, VisitKind, WeeklyRule, TICK_MINUTES,
};
use telemed_domain::{AppointmentId, Error, Result, UserId};

use crate::{from_micros, to_micros, Conn, DbResult, Store};

const TICK_MICROS: i64 = TICK_MINUTES * 60 * 1_000_000;

/// Busy times (start, end) of one clinician.
pub type Busy = Vec<(DateTime<Utc>, DateTime<Utc>)>;

/// An exception row: clinician, first and last date, optional extra hours.
type ExceptionRow = (String, String, String, Option<i64>, Option<i64>);

pub use telemed_domain::views::ClinicianProfile;

pub use telemed_domain::views::VisitType;

#[derive(sqlx::FromRow)]
struct ProfileRow {
    user_id: String,
    display_name: String,
    specialty: String,
    time_zone: String,
    languages: String,
    regions: String,
    bio: String,
    buffer_minutes: i64,
    horizon_days: i64,
    min_notice_minutes: i64,
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

fn weekday_index(d: Weekday) -> i64 {
    i64::from(d.num_days_from_monday())
}

fn weekday_of(i: i64) -> Result<Weekday> {
    const DAYS: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];
    usize::try_from(i)
        .ok()
        .and_then(|i| DAYS.get(i).copied())
        .ok_or_else(|| Error::internal("corrupt weekday"))
}

fn minute_of(t: NaiveTime) -> i64 {
    i64::from(t.hour() * 60 + t.minute())
}

fn time_of(minute: i64) -> Result<NaiveTime> {
    let m = u32::try_from(minute).map_err(|_| Error::internal("corrupt minute"))?;
    NaiveTime::from_hms_opt(m / 60, m % 60, 0).ok_or_else(|| Error::internal("corrupt minute"))
}

const PROFILE_SELECT: &str =
    "SELECT p.user_id, u.display_name, p.specialty, p.time_zone, p.languages, p.regions, p.bio, \
     p.buffer_minutes, p.horizon_days, p.min_notice_minutes \
     FROM clinician_profiles p JOIN users u ON u.id = p.user_id \
     WHERE u.role = 'clinician' AND u.disabled_at IS NULL";

impl Store {
    /// Every active clinician with a profile, with availability and visit types.
    pub async fn clinician_profiles(&self) -> Result<Vec<ClinicianProfile>> {
        let rows: Vec<ProfileRow> =
            sqlx::query_as(&format!("{PROFILE_SELECT} ORDER BY u.display_name"))
                .fetch_all(self.pool())
                .await
                .db()?;
        self.complete_profiles(rows, None).await
    }

    /// The active clinicians whose specialty is `specialty` (ignoring ASCII case and
    /// surrounding spaces), without loading their schedules.
    pub async fn clinicians_with_specialty(&self, specialty: &str) -> Result<Vec<UserId>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT p.user_id FROM clinician_profiles p JOIN users u ON u.id = p.user_id \
             WHERE u.disabled_at IS NULL AND u.role = 'clinician' \
             AND LOWER(TRIM(p.specialty)) = LOWER($1)",
        )
        .bind(specialty.trim())
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter()
            .map(|(id,)| {
                id.parse()
                    .map_err(|_| Error::internal("corrupt clinician row"))
            })
            .collect()
    }

    pub async fn clinician_profile(&self, id: UserId) -> Result<Option<ClinicianProfile>> {
        let rows: Vec<ProfileRow> = sqlx::query_as(&format!("{PROFILE_SELECT} AND p.user_id = $1"))
            .bind(id.to_string())
            .fetch_all(self.pool())
            .await
            .db()?;
        Ok(self
            .complete_profiles(rows, Some(id.to_string()))
            .await?
            .pop())
    }

    /// Adds rules, exceptions and visit types to profile rows: three queries in all,
    /// whether for one clinician (`only`) or every one.
    async fn complete_profiles(
        &self,
        rows: Vec<ProfileRow>,
        only: Option<String>,
    ) -> Result<Vec<ClinicianProfile>> {
        use std::collections::HashMap;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let rules: Vec<(String, i64, i64, i64)> = sqlx::query_as(
            "SELECT clinician_id, weekday, start_minute, end_minute FROM availability_rules \
             WHERE ($1 IS NULL OR clinician_id = $1) ORDER BY clinician_id, weekday, start_minute",
        )
        .bind(only.clone())
        .fetch_all(self.pool())
        .await
        .db()?;
        let exceptions: Vec<ExceptionRow> = sqlx::query_as(
            "SELECT clinician_id, date_from, date_to, start_minute, end_minute FROM availability_exceptions \
             WHERE ($1 IS NULL OR clinician_id = $1) ORDER BY clinician_id, date_from",
        )
        .bind(only.clone())
        .fetch_all(self.pool())
        .await
        .db()?;
        let kinds: Vec<(String, String, i64, i64, String)> = sqlx::query_as(
            "SELECT clinician_id, kind, duration_minutes, fee_cents, currency FROM visit_types \
             WHERE ($1 IS NULL OR clinician_id = $1) ORDER BY clinician_id, kind",
        )
        .bind(only)
        .fetch_all(self.pool())
        .await
        .db()?;
        let corrupt = |_| Error::internal("corrupt schedule");
        let mut rules_of: HashMap<String, Vec<WeeklyRule>> = HashMap::new();
        for (id, d, s, e) in rules {
            rules_of.entry(id).or_default().push(WeeklyRule {
                weekday: weekday_of(d)?,
                start: time_of(s)?,
                end: time_of(e)?,
            });
        }
        let mut exceptions_of: HashMap<String, Vec<DateException>> = HashMap::new();
        for (id, from, to, s, e) in exceptions {
            let kind = match (s, e) {
                (Some(s), Some(e)) => ExceptionKind::Extra {
                    start: time_of(s)?,
                    end: time_of(e)?,
                },
                _ => ExceptionKind::Closed,
            };
            exceptions_of.entry(id).or_default().push(DateException {
                from: NaiveDate::parse_from_str(&from, "%Y-%m-%d").map_err(corrupt)?,
                to: NaiveDate::parse_from_str(&to, "%Y-%m-%d").map_err(corrupt)?,
                kind,
            });
        }
        let mut kinds_of: HashMap<String, Vec<VisitType>> = HashMap::new();
        for (id, k, d, f, c) in kinds {
            kinds_of.entry(id).or_default().push(VisitType {
                kind: VisitKind::parse(&k)?,
                duration_minutes: d,
                fee_cents: f,
                currency: c,
            });
        }
        rows.into_iter()
            .map(|row| {
                let availability = Availability {
                    time_zone: row
                        .time_zone
                        .parse()
                        .map_err(|_| Error::internal("corrupt time zone"))?,
                    rules: rules_of.remove(&row.user_id).unwrap_or_default(),
                    exceptions: exceptions_of.remove(&row.user_id).unwrap_or_default(),
                    buffer_minutes: row.buffer_minutes,
                    horizon_days: row.horizon_days,
                    min_notice_minutes: row.min_notice_minutes,
                };
                Ok(ClinicianProfile {
                    visit_types: kinds_of.remove(&row.user_id).unwrap_or_default(),
                    user_id: row
                        .user_id
                        .parse()
                        .map_err(|_| Error::internal("corrupt clinician id"))?,
                    display_name: row.display_name,
                    specialty: row.specialty,
                    languages: words(&row.languages),
                    regions: words(&row.regions),
                    bio: row.bio,
                    availability,
                })
            })
            .collect()
    }

    /// Active appointments of every clinician overlapping `[from, to)`, by clinician.
    pub async fn busy_intervals_of_all(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<std::collections::HashMap<UserId, Busy>> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT clinician_id, start_at, end_at FROM appointments \
             WHERE status IN ('proposed', 'booked', 'arrived') AND start_at < $2 AND end_at > $1 ORDER BY start_at",
        )
        .bind(to_micros(from))
        .bind(to_micros(to))
        .fetch_all(self.pool())
        .await
        .db()?;
        let mut out: std::collections::HashMap<UserId, Busy> = std::collections::HashMap::new();
        for (id, s, e) in rows {
            if let Ok(id) = id.parse() {
                out.entry(id)
                    .or_default()
                    .push((from_micros(s), from_micros(e)));
            }
        }
        Ok(out)
    }

    /// Start and end of the clinician's active appointments that overlap `[from, to)`.
    pub async fn busy_intervals(
        &self,
        clinician: UserId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT start_at, end_at FROM appointments \
             WHERE clinician_id = $1 AND status IN ('proposed', 'booked', 'arrived') AND start_at < $3 AND end_at > $2 ORDER BY start_at",
        )
        .bind(clinician.to_string())
        .bind(to_micros(from))
        .bind(to_micros(to))
        .fetch_all(self.pool())
        .await
        .db()?;
        Ok(rows
            .into_iter()
            .map(|(s, e)| (from_micros(s), from_micros(e)))
            .collect())
    }
}

pub struct ProfileUpdate<'a> {
    pub specialty: &'a str,
    pub languages: &'a [String],
    pub regions: &'a [String],
    pub bio: &'a str,
    pub availability: &'a Availability,
    pub visit_types: &'a [VisitType],
}

/// Replaces a clinician's profile, availability and visit types.
pub async fn save_profile(conn: &mut Conn, clinician: UserId, p: ProfileUpdate<'_>) -> Result<()> {
    let id = clinician.to_string();
    let a = p.availability;
    sqlx::query(
        "INSERT INTO clinician_profiles (user_id, specialty, time_zone, languages, regions, bio, buffer_minutes, horizon_days, min_notice_minutes) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (user_id) DO UPDATE SET specialty = excluded.specialty, time_zone = excluded.time_zone, \
           languages = excluded.languages, regions = excluded.regions, bio = excluded.bio, buffer_minutes = excluded.buffer_minutes, \
           horizon_days = excluded.horizon_days, min_notice_minutes = excluded.min_notice_minutes",
    )
    .bind(id.clone())
    .bind(p.specialty.to_owned())
    .bind(a.time_zone.name().to_owned())
    .bind(p.languages.join(" "))
    .bind(p.regions.join(" "))
    .bind(p.bio.to_owned())
    .bind(a.buffer_minutes)
    .bind(a.horizon_days)
    .bind(a.min_notice_minutes)
    .execute(&mut *conn)
    .await
    .db()?;
    for table in [
        "availability_rules",
        "availability_exceptions",
        "visit_types",
    ] {
        sqlx::query(&format!("DELETE FROM {table} WHERE clinician_id = $1"))
            .bind(id.clone())
            .execute(&mut *conn)
            .await
            .db()?;
    }
    for r in &a.rules {
        sqlx::query("INSERT INTO availability_rules (clinician_id, weekday, start_minute, end_minute) VALUES ($1, $2, $3, $4)")
            .bind(id.clone())
            .bind(weekday_index(r.weekday))
            .bind(minute_of(r.start))
            .bind(minute_of(r.end))
            .execute(&mut *conn)
            .await
            .db()?;
    }
    for e in &a.exceptions {
        let (s, en) = match e.kind {
            ExceptionKind::Closed => (None, None),
            ExceptionKind::Extra { start, end } => (Some(minute_of(start)), Some(minute_of(end))),
        };
        sqlx::query("INSERT INTO availability_exceptions (clinician_id, date_from, date_to, start_minute, end_minute) VALUES ($1, $2, $3, $4, $5)")
            .bind(id.clone())
            .bind(e.from.format("%Y-%m-%d").to_string())
            .bind(e.to.format("%Y-%m-%d").to_string())
            .bind(s)
            .bind(en)
            .execute(&mut *conn)
            .await
            .db()?;
    }
    for v in p.visit_types {
        sqlx::query("INSERT INTO visit_types (clinician_id, kind, duration_minutes, fee_cents, currency) VALUES ($1, $2, $3, $4, $5)")
            .bind(id.clone())
            .bind(v.kind.as_str())
            .bind(v.duration_minutes)
            .bind(v.fee_cents)
            .bind(v.currency.clone())
            .execute(&mut *conn)
            .await
            .db()?;
    }
    Ok(())
}

pub use telemed_domain::views::AppointmentStatus;

pub use telemed_domain::views::Appointment;

#[derive(sqlx::FromRow)]
pub(crate) struct AppointmentRow {
    id: String,
    clinician_id: String,
    patient_id: String,
    visit_kind: String,
    start_at: i64,
    end_at: i64,
    status: String,
    reason: String,
    booked_by: String,
    cancel_reason: Option<String>,
    created_at: i64,
    arrived_at: Option<i64>,
    sequence: i64,
    updated_at: i64,
}

impl TryFrom<AppointmentRow> for Appointment {
    type Error = Error;
    fn try_from(r: AppointmentRow) -> Result<Self> {
        let corrupt = |_| Error::internal("corrupt appointment");
        Ok(Appointment {
            id: r.id.parse().map_err(corrupt)?,
            clinician_id: r.clinician_id.parse().map_err(corrupt)?,
            patient_id: r.patient_id.parse().map_err(corrupt)?,
            visit_kind: VisitKind::parse(&r.visit_kind)?,
            start_at: from_micros(r.start_at),
            end_at: from_micros(r.end_at),
            status: AppointmentStatus::parse(&r.status)?,
            reason: r.reason,
            booked_by: r.booked_by.parse().map_err(corrupt)?,
            cancel_reason: r.cancel_reason,
            created_at: from_micros(r.created_at),
            arrived_at: r.arrived_at.map(from_micros),
            sequence: r.sequence,
            updated_at: from_micros(r.updated_at),
        })
    }
}

pub(crate) const APPOINTMENT_COLUMNS: &str = "id, clinician_id, patient_id, visit_kind, start_at, end_at, status, reason, booked_by, cancel_reason, created_at, arrived_at, sequence, updated_at";

pub struct NewAppointment<'a> {
    pub clinician_id: UserId,
    pub patient_id: UserId,
    pub visit_kind: VisitKind,
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    pub reason: &'a str,
    pub booked_by: UserId,
}

/// Books a visit, claiming its ticks. A clash with another active appointment of the
/// clinician is a `Conflict` (on PostgreSQL the transaction is then unusable: roll back).
pub async fn book(
    conn: &mut Conn,
    a: NewAppointment<'_>,
    now: DateTime<Utc>,
) -> Result<AppointmentId> {
    let id = AppointmentId::new();
    sqlx::query(
        "INSERT INTO appointments (id, clinician_id, patient_id, visit_kind, start_at, end_at, status, reason, booked_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'booked', $7, $8, $9, $9)",
    )
    .bind(id.to_string())
    .bind(a.clinician_id.to_string())
    .bind(a.patient_id.to_string())
    .bind(a.visit_kind.as_str())
    .bind(to_micros(a.start_at))
    .bind(to_micros(a.end_at))
    .bind(a.reason.to_owned())
    .bind(a.booked_by.to_string())
    .bind(to_micros(now))
    .execute(&mut *conn)
    .await
    .db()?;
    claim_ticks(conn, a.clinician_id, id, a.start_at, a.end_at).await?;
    Ok(id)
}

/// Claims the clinician's ticks `[start, end)` for an appointment.
async fn claim_ticks(
    conn: &mut Conn,
    clinician: UserId,
    id: AppointmentId,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<()> {
    let first = to_micros(start).div_euclid(TICK_MICROS);
    let last = (to_micros(end) - 1).div_euclid(TICK_MICROS);
    // One statement for all ticks: a clash fails it as a whole.
    let values: Vec<String> = (0..=(last - first))
        .map(|i| format!("($1, {}, $2)", first + i))
        .collect();
    sqlx::query(&format!(
        "INSERT INTO appointment_ticks (clinician_id, tick, appointment_id) VALUES {}",
        values.join(", ")
    ))
    .bind(clinician.to_string())
    .bind(id.to_string())
    .execute(conn)
    .await
    .map_err(|e| match crate::db_error(e) {
        Error::Conflict(_) => {
            Error::Conflict("this time was just booked by someone else; choose another slot".into())
        }
        other => other,
    })?;
    Ok(())
}

/// Frees the ticks an appointment holds from `from` on (a visit done before its booked
/// end gives the clinician back the rest of its time; its times stay as booked).
pub async fn release_ticks_from(
    conn: &mut Conn,
    id: AppointmentId,
    from: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("DELETE FROM appointment_ticks WHERE appointment_id = $1 AND tick >= $2")
        .bind(id.to_string())
        .bind(to_micros(from).div_euclid(TICK_MICROS))
        .execute(conn)
        .await
        .db()?;
    Ok(())
}

/// Moves a booked appointment to a new time, releasing its old ticks and claiming the
/// new ones. A clash is a `Conflict`; roll back and the old time is kept.
pub async fn reschedule(
    conn: &mut Conn,
    id: AppointmentId,
    clinician: UserId,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE appointments SET start_at = $1, end_at = $2, updated_at = $3, sequence = sequence + 1 \
         WHERE id = $4 AND status IN ('proposed', 'booked')",
    )
    .bind(to_micros(start))
    .bind(to_micros(end))
    .bind(to_micros(now))
    .bind(id.to_string())
    .execute(&mut *conn)
    .await
    .db()?;
    if done.rows_affected() == 0 {
        return Err(Error::Conflict(
            "this appointment can no longer be moved".into(),
        ));
    }
    sqlx::query("DELETE FROM appointment_ticks WHERE appointment_id = $1")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await
        .db()?;
    claim_ticks(conn, clinician, id, start, end).await
}

/// Cancels an active appointment and frees its time.
pub async fn cancel(
    conn: &mut Conn,
    id: AppointmentId,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE appointments SET status = 'cancelled', cancel_reason = $1, updated_at = $2, sequence = sequence + 1 \
         WHERE id = $3 AND status IN ('proposed', 'booked', 'arrived')",
    )
    .bind(reason.to_owned())
    .bind(to_micros(now))
    .bind(id.to_string())
    .execute(&mut *conn)
    .await
    .db()?;
    if done.rows_affected() == 0 {
        return Err(Error::Conflict("this appointment is not active".into()));
    }
    sqlx::query("DELETE FROM appointment_ticks WHERE appointment_id = $1")
        .bind(id.to_string())
        .execute(conn)
        .await
        .db()?;
    Ok(())
}

impl Store {
    /// The appointment with this id, if `reach` includes it (outside it, as if missing).
    pub async fn appointment(
        &self,
        reach: &VisitReach,
        id: AppointmentId,
    ) -> Result<Option<Appointment>> {
        let row: Option<AppointmentRow> = sqlx::query_as(&format!(
            "SELECT {APPOINTMENT_COLUMNS} FROM appointments WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await
        .db()?;
        Ok(row
            .map(Appointment::try_from)
            .transpose()?
            .filter(|a| reach.includes(a)))
    }

    /// The appointments within `reach` starting in `[from, to)`, in time order.
    pub async fn appointments(
        &self,
        reach: &VisitReach,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Appointment>> {
        let (within, who) = match reach.scope() {
            VisitScope::Patient(p) => ("patient_id = $1", Some(p.to_string())),
            VisitScope::Clinician(c) => ("clinician_id = $1", Some(c.to_string())),
            VisitScope::Party(u) => (
                "(patient_id = $1 OR clinician_id = $1)",
                Some(u.to_string()),
            ),
            VisitScope::Visit(id) => ("id = $1", Some(id.to_string())),
            VisitScope::All => ("$1 IS NULL", None),
        };
        let rows: Vec<AppointmentRow> = sqlx::query_as(&format!(
            "SELECT {APPOINTMENT_COLUMNS} FROM appointments WHERE {within} AND start_at >= $2 AND start_at < $3 \
             ORDER BY start_at LIMIT $4"
        ))
        .bind(who)
        .bind(to_micros(from))
        .bind(to_micros(to))
        .bind(limit.clamp(1, 1000))
        .fetch_all(self.pool())
        .await
        .db()?;
        rows.into_iter().map(Appointment::try_from).collect()
    }
}

/// Moves an appointment from one status to another; false when it was not in `from`.
pub async fn transition(
    conn: &mut Conn,
    id: AppointmentId,
    from: AppointmentStatus,
    to: AppointmentStatus,
    now: DateTime<Utc>,
) -> Result<bool> {
    let arrived = (to == AppointmentStatus::Arrived).then(|| to_micros(now));
    let done = sqlx::query(
        "UPDATE appointments SET status = $1, updated_at = $2, arrived_at = COALESCE($3, arrived_at) WHERE id = $4 AND status = $5",
    )
    .bind(to.as_str())
    .bind(to_micros(now))
    .bind(arrived)
    .bind(id.to_string())
    .bind(from.as_str())
    .execute(conn)
    .await
    .db()?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_and_weekdays_round_trip() {
        for d in [Weekday::Mon, Weekday::Sun] {
            assert_eq!(weekday_of(weekday_index(d)).unwrap(), d);
        }
        let t = NaiveTime::from_hms_opt(9, 30, 0).unwrap();
        assert_eq!(time_of(minute_of(t)).unwrap(), t);
        assert!(weekday_of(7).is_err());
    }
}
