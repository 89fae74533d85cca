//! Availability as people type it in a form: a weekday's hours as
//! `09:00-13:00, 15:00-18:30`, and exceptions one per line as
//! `2026-12-24 closed`, `2026-12-28 2026-12-31 closed` or `2027-01-09 10:00-13:00`.
//! Each parser names the line it could not read.

use chrono::{NaiveDate, NaiveTime, Weekday};

use crate::schedule::{parse_clock_time, DateException, ExceptionKind, WeeklyRule};
use crate::{Error, Result};

fn range(field: &'static str, text: &str) -> Result<(NaiveTime, NaiveTime)> {
    let (start, end) = text
        .split_once('-')
        .ok_or_else(|| Error::invalid(field, format!("write hours as 09:00-13:00, not {text}")))?;
    Ok((
        parse_clock_time(field, start.trim())?,
        parse_clock_time(field, end.trim())?,
    ))
}

/// The rules of one weekday from `09:00-13:00, 15:00-18:00` (empty: closed).
pub fn parse_day_hours(
    field: &'static str,
    weekday: Weekday,
    text: &str,
) -> Result<Vec<WeeklyRule>> {
    text.split([',', ';'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|part| {
            let (start, end) = range(field, part)?;
            Ok(WeeklyRule {
                weekday,
                start,
                end,
            })
        })
        .collect()
}

/// The hours of `weekday` among `rules`, as `parse_day_hours` reads them.
pub fn format_day_hours(rules: &[WeeklyRule], weekday: Weekday) -> String {
    rules
        .iter()
        .filter(|r| r.weekday == weekday)
        .map(|r| format!("{}-{}", r.start.format("%H:%M"), r.end.format("%H:%M")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Exceptions, one per line: a date or two (first and last), then `closed` or hours.
pub fn parse_exceptions(text: &str) -> Result<Vec<DateException>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let bad = || {
                Error::invalid(
                    "exceptions",
                    format!("could not read \"{line}\": write 2026-12-24 closed, or 2027-01-09 10:00-13:00"),
                )
            };
            let words: Vec<&str> = line.split_whitespace().collect();
            let date = |w: &str| NaiveDate::parse_from_str(w, "%Y-%m-%d").map_err(|_| bad());
            let (from, to, what) = match words.as_slice() {
                [d, what] => (date(d)?, date(d)?, *what),
                [d1, d2, what] => (date(d1)?, date(d2)?, *what),
                _ => return Err(bad()),
            };
            let kind = if what.eq_ignore_ascii_case("closed") {
                ExceptionKind::Closed
            } else {
                let (start, end) = range("exceptions", what).map_err(|_| bad())?;
                ExceptionKind::Extra { start, end }
            };
            Ok(DateException { from, to, kind })
        })
        .collect()
}

pub fn format_exceptions(exceptions: &[DateException]) -> String {
    exceptions
        .iter()
        .map(|e| {
            let dates = if e.from == e.to {
                e.from.to_string()
            } else {
                format!("{} {}", e.from, e.to)
            };
            match e.kind {
                ExceptionKind::Closed => format!("{dates} closed"),
                ExceptionKind::Extra { start, end } => {
                    format!("{dates} {}-{}", start.format("%H:%M"), end.format("%H:%M"))
                }
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_hours_round_trip() {
        let rules =
            parse_day_hours("hours_mon", Weekday::Mon, " 09:00-13:00, 15:00 - 18:30 ").unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[1].end, NaiveTime::from_hms_opt(18, 30, 0).unwrap());
        assert_eq!(
            format_day_hours(&rules, Weekday::Mon),
            "09:00-13:00, 15:00-18:30"
        );
        assert_eq!(format_day_hours(&rules, Weekday::Tue), "");
        assert!(parse_day_hours("hours_mon", Weekday::Mon, "")
            .unwrap()
            .is_empty());
        assert!(parse_day_hours("hours_mon", Weekday::Mon, "9 to 5").is_err());
        assert!(parse_day_hours("hours_mon", Weekday::Mon, "09:00-25:00").is_err());
    }

    #[test]
    fn exceptions_round_trip_and_name_the_bad_line() {
        let text = "2026-12-24 closed\n\n2026-12-28 2026-12-31 closed\n2027-01-09 10:00-13:00";
        let parsed = parse_exceptions(text).unwrap();
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[1].to, NaiveDate::from_ymd_opt(2026, 12, 31).unwrap());
        assert!(matches!(parsed[2].kind, ExceptionKind::Extra { .. }));
        assert_eq!(format_exceptions(&parsed), text.replace("\n\n", "\n"));
        let err = parse_exceptions("2026-12-24 closed\nnext friday off").unwrap_err();
        assert!(err.to_string().contains("next friday off"), "{err}");
        assert!(parse_exceptions("2026-02-30 closed").is_err());
    }
}
