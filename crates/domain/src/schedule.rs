//! Clinician availability and slot computation. Availability is weekly rules in the
//! clinician's own time zone plus dated exceptions; slots are cut from each day's open
//! windows in real elapsed time, so a window that spans a daylight-saving change holds
//! one hour less (spring) or more (autumn) and no two slots overlap.

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Appointments occupy 5-minute ticks; durations and buffers are multiples of it.
pub const TICK_MINUTES: i64 = 5;

/// How a visit happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VisitKind {
    Video,
    Audio,
    /// Asynchronous, by messages.
    Messaging,
}

impl VisitKind {
    pub const ALL: [VisitKind; 3] = [VisitKind::Video, VisitKind::Audio, VisitKind::Messaging];

    pub fn as_str(self) -> &'static str {
        match self {
            VisitKind::Video => "video",
            VisitKind::Audio => "audio",
            VisitKind::Messaging => "messaging",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        VisitKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                Error::invalid("visit_kind", "visit kind must be video, audio or messaging")
            })
    }
}

/// Open hours on one weekday, local to the clinician, `start < end` within the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeeklyRule {
    pub weekday: Weekday,
    pub start: NaiveTime,
    pub end: NaiveTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExceptionKind {
    /// Closed all day (holiday, leave).
    Closed,
    /// Open these extra hours, on top of the weekly rules.
    Extra { start: NaiveTime, end: NaiveTime },
}

/// An exception for the dates `from..=to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateException {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub kind: ExceptionKind,
}

/// Everything that decides when a clinician can be booked.
#[derive(Debug, Clone)]
pub struct Availability {
    pub time_zone: Tz,
    pub rules: Vec<WeeklyRule>,
    pub exceptions: Vec<DateException>,
    pub buffer_minutes: i64,
    /// How far ahead a visit may be booked.
    pub horizon_days: i64,
    /// How soon before its start a visit may still be booked.
    pub min_notice_minutes: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Slot {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

pub fn parse_time_zone(name: &str) -> Result<Tz> {
    name.parse::<Tz>()
        .map_err(|_| Error::invalid("time_zone", "use an IANA time zone such as Europe/Madrid"))
}

/// Parses `HH:MM` (24-hour).
pub fn parse_clock_time(field: &'static str, s: &str) -> Result<NaiveTime> {
    NaiveTime::parse_from_str(s, "%H:%M")
        .map_err(|_| Error::invalid(field, "use a 24-hour time such as 09:30"))
}

/// Checks a duration or buffer: a multiple of the tick within `max` minutes.
pub fn validate_minutes(field: &'static str, minutes: i64, min: i64, max: i64) -> Result<()> {
    if minutes < min || minutes > max || minutes % TICK_MINUTES != 0 {
        return Err(Error::invalid(
            field,
            format!("use {min} to {max} minutes in steps of {TICK_MINUTES}"),
        ));
    }
    Ok(())
}

impl Availability {
    pub fn validate(&self) -> Result<()> {
        validate_minutes("buffer_minutes", self.buffer_minutes, 0, 120)?;
        if !(1..=365).contains(&self.horizon_days) {
            return Err(Error::invalid(
                "horizon_days",
                "the booking horizon is 1 to 365 days",
            ));
        }
        if !(0..=7 * 24 * 60).contains(&self.min_notice_minutes) {
            return Err(Error::invalid(
                "min_notice_minutes",
                "minimum notice is 0 minutes to 7 days",
            ));
        }
        if self.rules.len() > 100 || self.exceptions.len() > 500 {
            return Err(Error::invalid("rules", "too many rules or exceptions"));
        }
        for r in &self.rules {
            if r.start >= r.end {
                return Err(Error::invalid(
                    "rules",
                    "each rule must end after it starts",
                ));
            }
        }
        for e in &self.exceptions {
            if e.from > e.to {
                return Err(Error::invalid(
                    "exceptions",
                    "an exception must end on or after its first day",
                ));
            }
            if let ExceptionKind::Extra { start, end } = e.kind {
                if start >= end {
                    return Err(Error::invalid(
                        "exceptions",
                        "extra hours must end after they start",
                    ));
                }
            }
        }
        Ok(())
    }

    /// The open windows of a local date, as local times.
    fn local_windows(&self, date: NaiveDate) -> Vec<(NaiveTime, NaiveTime)> {
        let applies = |e: &&DateException| e.from <= date && date <= e.to;
        if self
            .exceptions
            .iter()
            .filter(applies)
            .any(|e| e.kind == ExceptionKind::Closed)
        {
            return Vec::new();
        }
        let mut windows: Vec<(NaiveTime, NaiveTime)> = self
            .rules
            .iter()
            .filter(|r| r.weekday == date.weekday())
            .map(|r| (r.start, r.end))
            .collect();
        for e in self.exceptions.iter().filter(applies) {
            if let ExceptionKind::Extra { start, end } = e.kind {
                windows.push((start, end));
            }
        }
        windows.sort();
        // Merge overlapping windows so slots never overlap.
        let mut merged: Vec<(NaiveTime, NaiveTime)> = Vec::new();
        for (s, e) in windows {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        merged
    }

    /// The instant a local wall-clock time names: the earlier one when the clock is set
    /// back, the first valid one after a gap when it is set forward.
    fn instant(&self, local: NaiveDateTime) -> DateTime<Utc> {
        let mut probe = local;
        for _ in 0..8 {
            if let Some(t) = self.time_zone.from_local_datetime(&probe).earliest() {
                return t.with_timezone(&Utc);
            }
            probe += Duration::minutes(15);
        }
        Utc.from_utc_datetime(&local)
    }

    /// Free slots of `duration` minutes that start within `[from, to)`, not overlapping
    /// `busy` intervals (each widened by the buffer), respecting notice and horizon.
    pub fn slots(
        &self,
        duration_minutes: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
        busy: &[(DateTime<Utc>, DateTime<Utc>)],
    ) -> Vec<Slot> {
        let duration = Duration::minutes(duration_minutes);
        let step = duration + Duration::minutes(self.buffer_minutes);
        let buffer = Duration::minutes(self.buffer_minutes);
        let earliest = (now + Duration::minutes(self.min_notice_minutes)).max(from);
        let latest = to.min(now + Duration::days(self.horizon_days));
        if duration_minutes <= 0 || earliest >= latest {
            return Vec::new();
        }
        let first_day = earliest.with_timezone(&self.time_zone).date_naive() - Duration::days(1);
        let last_day = latest.with_timezone(&self.time_zone).date_naive() + Duration::days(1);
        let mut out = Vec::new();
        let mut day = first_day;
        while day <= last_day {
            for (open, close) in self.local_windows(day) {
                let window_end = self.instant(day.and_time(close));
                let mut start = self.instant(day.and_time(open));
                while start + duration <= window_end {
                    let end = start + duration;
                    let clashes = busy
                        .iter()
                        .any(|(b_start, b_end)| start < *b_end + buffer && *b_start < end + buffer);
                    if start >= earliest && start < latest && !clashes {
                        out.push(Slot { start, end });
                    }
                    start += step;
                }
            }
            day += Duration::days(1);
        }
        out.sort_by_key(|s| s.start);
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn availability(tz: &str, rules: Vec<WeeklyRule>) -> Availability {
        Availability {
            time_zone: parse_time_zone(tz).unwrap(),
            rules,
            exceptions: vec![],
            buffer_minutes: 0,
            horizon_days: 365,
            min_notice_minutes: 0,
        }
    }

    fn local_starts(a: &Availability, slots: &[Slot]) -> Vec<String> {
        slots
            .iter()
            .map(|s| {
                s.start
                    .with_timezone(&a.time_zone)
                    .format("%H:%M%:z")
                    .to_string()
            })
            .collect()
    }

    fn assert_no_overlap(slots: &[Slot]) {
        for pair in slots.windows(2) {
            assert!(pair[0].end <= pair[1].start, "{pair:?}");
        }
    }

    fn night_shift(day: Weekday) -> WeeklyRule {
        WeeklyRule {
            weekday: day,
            start: t(0, 0),
            end: t(6, 0),
        }
    }

    #[test]
    fn new_york_spring_forward_loses_an_hour() {
        // 2026-03-08 02:00 EST becomes 03:00 EDT.
        let a = availability("America/New_York", vec![night_shift(Weekday::Sun)]);
        let slots = a.slots(
            60,
            utc("2026-03-08T00:00:00Z"),
            utc("2026-03-09T00:00:00Z"),
            utc("2026-01-01T00:00:00Z"),
            &[],
        );
        // Six wall-clock hours hold five real ones: 02:00 does not exist that night.
        assert_eq!(
            local_starts(&a, &slots),
            [
                "00:00-05:00",
                "01:00-05:00",
                "03:00-04:00",
                "04:00-04:00",
                "05:00-04:00"
            ]
        );
        assert_no_overlap(&slots);
        assert!(slots.iter().all(|s| s.end - s.start == Duration::hours(1)));
    }

    #[test]
    fn new_york_fall_back_gains_an_hour() {
        // 2026-11-01 02:00 EDT becomes 01:00 EST: 01:00 happens twice.
        let a = availability("America/New_York", vec![night_shift(Weekday::Sun)]);
        let slots = a.slots(
            60,
            utc("2026-11-01T00:00:00Z"),
            utc("2026-11-02T00:00:00Z"),
            utc("2026-01-01T00:00:00Z"),
            &[],
        );
        assert_eq!(
            local_starts(&a, &slots),
            [
                "00:00-04:00",
                "01:00-04:00",
                "01:00-05:00",
                "02:00-05:00",
                "03:00-05:00",
                "04:00-05:00",
                "05:00-05:00"
            ]
        );
        assert_no_overlap(&slots);
    }

    #[test]
    fn madrid_transitions_both_ways() {
        // 2026-03-29 02:00 CET -> 03:00 CEST; 2026-10-25 03:00 CEST -> 02:00 CET.
        let a = availability(
            "Europe/Madrid",
            vec![WeeklyRule {
                weekday: Weekday::Sun,
                start: t(1, 0),
                end: t(5, 0),
            }],
        );
        let spring = a.slots(
            30,
            utc("2026-03-28T12:00:00Z"),
            utc("2026-03-29T12:00:00Z"),
            utc("2026-01-01T00:00:00Z"),
            &[],
        );
        assert_eq!(spring.len(), 6, "{:?}", local_starts(&a, &spring));
        assert_eq!(local_starts(&a, &spring)[2], "03:00+02:00");
        let autumn = a.slots(
            30,
            utc("2026-10-24T12:00:00Z"),
            utc("2026-10-25T12:00:00Z"),
            utc("2026-01-01T00:00:00Z"),
            &[],
        );
        assert_eq!(autumn.len(), 10, "{:?}", local_starts(&a, &autumn));
        assert_no_overlap(&spring);
        assert_no_overlap(&autumn);
    }

    #[test]
    fn office_hours_follow_the_local_clock_across_the_change() {
        let a = availability(
            "Europe/Madrid",
            vec![WeeklyRule {
                weekday: Weekday::Mon,
                start: t(9, 0),
                end: t(17, 0),
            }],
        );
        let before = a.slots(
            30,
            utc("2026-03-23T00:00:00Z"),
            utc("2026-03-24T00:00:00Z"),
            utc("2026-01-01T00:00:00Z"),
            &[],
        );
        let after = a.slots(
            30,
            utc("2026-03-30T00:00:00Z"),
            utc("2026-03-31T00:00:00Z"),
            utc("2026-01-01T00:00:00Z"),
            &[],
        );
        assert_eq!((before.len(), after.len()), (16, 16));
        assert_eq!(before[0].start, utc("2026-03-23T08:00:00Z"));
        assert_eq!(after[0].start, utc("2026-03-30T07:00:00Z"));
    }

    #[test]
    fn buffers_busy_times_notice_horizon_and_exceptions() {
        let mut a = availability(
            "UTC",
            vec![WeeklyRule {
                weekday: Weekday::Tue,
                start: t(9, 0),
                end: t(12, 0),
            }],
        );
        a.buffer_minutes = 10;
        let day = (utc("2026-06-02T00:00:00Z"), utc("2026-06-03T00:00:00Z"));
        let now = utc("2026-06-01T00:00:00Z");
        let all = a.slots(30, day.0, day.1, now, &[]);
        assert_eq!(
            local_starts(&a, &all),
            ["09:00+00:00", "09:40+00:00", "10:20+00:00", "11:00+00:00"]
        );
        // An appointment booked 09:45-10:15: 10 minutes must stay free on each side.
        let busy = [(utc("2026-06-02T09:45:00Z"), utc("2026-06-02T10:15:00Z"))];
        let free = a.slots(30, day.0, day.1, now, &busy);
        assert_eq!(
            local_starts(&a, &free),
            ["09:00+00:00", "11:00+00:00"],
            "buffer on both sides of the busy time"
        );
        let late = a.slots(30, day.0, day.1, utc("2026-06-02T09:30:00Z"), &[]);
        assert_eq!(
            local_starts(&a, &late),
            ["09:40+00:00", "10:20+00:00", "11:00+00:00"],
            "past slots are not offered"
        );
        a.min_notice_minutes = 120;
        let noticed = a.slots(30, day.0, day.1, utc("2026-06-02T08:00:00Z"), &[]);
        assert_eq!(
            local_starts(&a, &noticed),
            ["10:20+00:00", "11:00+00:00"],
            "minimum notice of two hours from 08:00"
        );
        a.min_notice_minutes = 0;
        a.horizon_days = 1;
        assert!(
            a.slots(30, day.0, day.1, utc("2026-05-30T00:00:00Z"), &[])
                .is_empty(),
            "beyond the horizon"
        );
        a.horizon_days = 365;
        let d = NaiveDate::from_ymd_opt(2026, 6, 2).unwrap();
        a.exceptions = vec![DateException {
            from: d,
            to: d,
            kind: ExceptionKind::Closed,
        }];
        assert!(
            a.slots(30, day.0, day.1, now, &[]).is_empty(),
            "closed for a holiday"
        );
        let w = NaiveDate::from_ymd_opt(2026, 6, 3).unwrap();
        a.exceptions = vec![DateException {
            from: w,
            to: w,
            kind: ExceptionKind::Extra {
                start: t(14, 0),
                end: t(15, 0),
            },
        }];
        let extra = a.slots(
            30,
            utc("2026-06-03T00:00:00Z"),
            utc("2026-06-04T00:00:00Z"),
            now,
            &[],
        );
        assert_eq!(
            local_starts(&a, &extra),
            ["14:00+00:00"],
            "one-off extra hours on a Wednesday"
        );
    }

    #[test]
    fn bad_availability_is_refused() {
        let mut a = availability(
            "UTC",
            vec![WeeklyRule {
                weekday: Weekday::Mon,
                start: t(10, 0),
                end: t(9, 0),
            }],
        );
        assert!(a.validate().is_err());
        a.rules.clear();
        a.buffer_minutes = 7;
        assert!(a.validate().is_err());
        assert!(parse_time_zone("Mars/Olympus").is_err());
        assert!(parse_clock_time("start", "25:00").is_err());
        assert!(validate_minutes("duration_minutes", 0, 5, 240).is_err());
        assert!(validate_minutes("duration_minutes", 30, 5, 240).is_ok());
    }
}
