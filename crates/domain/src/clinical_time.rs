//! When something happened, as precisely as whoever recorded it knew: a year (`2004`),
//! a month (`2019-05`), a day (`2012-09-17`) or an instant with its offset
//! (`2013-04-02T09:30:10+01:00`). The text is kept exactly as written, so a date is never
//! turned into a UTC midnight that a reader west of UTC would see as the day before;
//! the start of the span orders and filters entries.

use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat, Utc};

use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Precision {
    Year,
    Month,
    Day,
    /// A date and time with its offset from UTC.
    Instant,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClinicalTime {
    written: String,
    start: DateTime<Utc>,
    precision: Precision,
}

fn day(y: i32, m: u32, d: u32) -> Option<DateTime<Utc>> {
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

fn digits(s: &str, n: usize) -> Option<u32> {
    (s.len() == n && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

impl ClinicalTime {
    /// Reads a FHIR `date` or `dateTime` (and the forms telemed's own pages send).
    pub fn parse(field: &'static str, s: &str) -> Result<ClinicalTime> {
        let written = s.trim();
        let bad = || {
            Error::invalid(
                field,
                format!("{field} must be a year (YYYY), a month (YYYY-MM), a date (YYYY-MM-DD) or a date and time with its offset (RFC 3339)"),
            )
        };
        let parts: Vec<&str> = written.split('-').collect();
        let (start, precision) = if written.len() > 10 {
            let t = DateTime::parse_from_rfc3339(written).map_err(|_| bad())?;
            (t.with_timezone(&Utc), Precision::Instant)
        } else {
            let start = match parts.as_slice() {
                [y] => digits(y, 4).and_then(|y| day(y as i32, 1, 1)),
                [y, m] => digits(y, 4)
                    .zip(digits(m, 2))
                    .and_then(|(y, m)| day(y as i32, m, 1)),
                [y, m, d] => match (digits(y, 4), digits(m, 2), digits(d, 2)) {
                    (Some(y), Some(m), Some(d)) => day(y as i32, m, d),
                    _ => None,
                },
                _ => None,
            };
            (start.ok_or_else(bad)?, precision_of(parts.len()))
        };
        Ok(ClinicalTime {
            written: written.to_owned(),
            start,
            precision,
        })
    }

    /// A time telemed itself took (a reading typed in now): an instant in UTC.
    pub fn at(t: DateTime<Utc>) -> ClinicalTime {
        ClinicalTime {
            written: t.to_rfc3339_opts(SecondsFormat::Secs, true),
            start: t,
            precision: Precision::Instant,
        }
    }

    /// As stored: the text as written and the start of its span. A row from before the
    /// text was kept (no text) is the instant it was stored as.
    pub fn from_stored(written: Option<String>, start: DateTime<Utc>) -> ClinicalTime {
        match written.and_then(|w| ClinicalTime::parse("time", &w).ok()) {
            Some(t) => t,
            None => ClinicalTime::at(start),
        }
    }

    pub fn written(&self) -> &str {
        &self.written
    }

    /// The first instant of the span (the year's, month's or day's midnight in UTC).
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// For people: the date as written, to the precision it has; an instant as its
    /// local date and time with the offset it was written in.
    pub fn label(&self) -> String {
        match self.precision {
            Precision::Instant => {
                match DateTime::<FixedOffset>::parse_from_rfc3339(&self.written) {
                    Ok(t) if t.offset().local_minus_utc() == 0 => {
                        format!("{} UTC", t.format("%Y-%m-%d %H:%M"))
                    }
                    Ok(t) => t.format("%Y-%m-%d %H:%M UTC%:z").to_string(),
                    Err(_) => self.written.clone(),
                }
            }
            _ => self.written.clone(),
        }
    }
}

fn precision_of(parts: usize) -> Precision {
    match parts {
        1 => Precision::Year,
        2 => Precision::Month,
        _ => Precision::Day,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_dates_keep_their_precision_and_text() {
        let cases = [
            ("1974", Precision::Year, "1974-01-01T00:00:00Z", "1974"),
            (
                "2019-05",
                Precision::Month,
                "2019-05-01T00:00:00Z",
                "2019-05",
            ),
            (
                "2012-09-17",
                Precision::Day,
                "2012-09-17T00:00:00Z",
                "2012-09-17",
            ),
            (
                "2013-04-02T09:30:10+01:00",
                Precision::Instant,
                "2013-04-02T08:30:10Z",
                "2013-04-02 09:30 UTC+01:00",
            ),
            (
                "2020-01-01T10:00:00Z",
                Precision::Instant,
                "2020-01-01T10:00:00Z",
                "2020-01-01 10:00 UTC",
            ),
        ];
        for (text, precision, start, label) in cases {
            let t = ClinicalTime::parse("effective", text).unwrap();
            assert_eq!(t.written(), text);
            assert_eq!(t.precision(), precision, "{text}");
            assert_eq!(
                t.start().to_rfc3339_opts(SecondsFormat::Secs, true),
                start,
                "{text}"
            );
            assert_eq!(t.label(), label);
        }
    }

    #[test]
    fn what_is_not_a_date_is_refused() {
        for bad in [
            "",
            "74",
            "19745",
            "2019-5",
            "2019-13",
            "2019-02-30",
            "2019-05-01T10:00",
            "yesterday",
            "2019-05-01 10:00:00",
            "-2019",
        ] {
            assert!(ClinicalTime::parse("effective", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_stored_row_without_text_is_its_instant() {
        let start = ClinicalTime::parse("t", "2020-03-04T05:06:07Z")
            .unwrap()
            .start();
        assert_eq!(
            ClinicalTime::from_stored(None, start).written(),
            "2020-03-04T05:06:07Z"
        );
        assert_eq!(
            ClinicalTime::from_stored(Some("2020".into()), start).written(),
            "2020"
        );
    }
}
