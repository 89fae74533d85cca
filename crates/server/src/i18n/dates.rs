//! Days and moments as people read them, in their language and zone: "Monday 7
//! December 2026, 09:30", "lunes 7 de diciembre de 2026, 09:30", "lun 7 dic". The names
//! and the order of the parts come from the language's texts (`date_*` messages with
//! `$weekday`, `$wd`, `$day`, `$month`, `$mon`, `$year`), so a language brings its
//! own; no pattern of chrono's reaches a page.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;

use super::{args, Texts};

/// How much of a day to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Day {
    /// "Monday 7 December 2026"
    Long,
    /// "Monday 7 December"
    LongNoYear,
    /// "Mon 7 Dec 2026"
    Short,
    /// "Mon 7 Dec"
    ShortNoYear,
    /// "7 Dec 2026"
    Plain,
    /// "7 Dec"
    PlainNoYear,
}

/// The `n`th (from 0) of a text's comma-separated names.
fn nth(list: &str, n: u32) -> &str {
    list.split(',').nth(n as usize).map(str::trim).unwrap_or("")
}

/// A day's short weekday name in the reader's language: "Tue".
pub fn weekday_short(t: &Texts, date: NaiveDate) -> &'static str {
    nth(t.weekdays_short, date.weekday().num_days_from_monday())
}

/// A day in the reader's language.
pub fn day(t: &Texts, date: NaiveDate, style: Day) -> String {
    let weekday_number = date.weekday().num_days_from_monday();
    let weekday = || nth(t.weekdays_in_dates, weekday_number).into();
    let wd = || weekday_short(t, date).into();
    let month = || nth(t.months, date.month0()).into();
    let mon = || nth(t.months_short, date.month0()).into();
    let day = || date.day().into();
    // The year as written, never grouped as a number ("2026", not "2,026").
    let year = || date.year().to_string().into();
    match style {
        Day::Long => t.date_long(args::DateLong {
            weekday: weekday(),
            day: day(),
            month: month(),
            year: year(),
        }),
        Day::LongNoYear => t.date_long_no_year(args::DateLongNoYear {
            weekday: weekday(),
            day: day(),
            month: month(),
        }),
        Day::Short => t.date_short(args::DateShort {
            wd: wd(),
            day: day(),
            mon: mon(),
            year: year(),
        }),
        Day::ShortNoYear => t.date_short_no_year(args::DateShortNoYear {
            wd: wd(),
            day: day(),
            mon: mon(),
        }),
        Day::Plain => t.date_plain(args::DatePlain {
            day: day(),
            mon: mon(),
            year: year(),
        }),
        Day::PlainNoYear => t.date_plain_no_year(args::DatePlainNoYear {
            day: day(),
            mon: mon(),
        }),
    }
}

/// The day a moment falls on in the reader's zone, in their language.
pub fn moment_day(t: &Texts, tz: Tz, at: DateTime<Utc>, style: Day) -> String {
    day(t, at.with_timezone(&tz).date_naive(), style)
}

/// A moment's day in the reader's zone and language, then its time on the 24-hour
/// clock: "Monday 7 December 2026, 09:30".
pub fn moment(t: &Texts, tz: Tz, at: DateTime<Utc>, style: Day) -> String {
    let local = at.with_timezone(&tz);
    format!(
        "{}, {}",
        day(t, local.date_naive(), style),
        local.format("%H:%M")
    )
}

/// A moment with its zone named, for readers who may be elsewhere (an email, a guest's
/// link): "Monday 7 December 2026, 09:30 (Europe/Madrid)".
pub fn moment_in_zone(t: &Texts, tz: Tz, at: DateTime<Utc>, style: Day) -> String {
    format!("{} ({})", moment(t, tz, at, style), tz.name())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    fn en() -> &'static crate::i18n::Texts {
        Lang::En.texts()
    }

    fn es() -> &'static crate::i18n::Texts {
        Lang::Es.texts()
    }
    use chrono::TimeZone;

    fn monday() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()
    }

    #[test]
    fn days_read_in_each_language() {
        assert_eq!(day(en(), monday(), Day::Long), "Monday 7 December 2026");
        assert_eq!(
            day(es(), monday(), Day::Long),
            "lunes 7 de diciembre de 2026"
        );
        assert_eq!(day(en(), monday(), Day::ShortNoYear), "Mon 7 Dec");
        assert_eq!(day(es(), monday(), Day::ShortNoYear), "lun 7 dic");
        assert_eq!(day(es(), monday(), Day::Plain), "7 dic 2026");
        // Sunday is the last of the names, as chrono counts from Monday.
        let sunday = NaiveDate::from_ymd_opt(2026, 12, 13).unwrap();
        assert_eq!(
            day(es(), sunday, Day::LongNoYear),
            "domingo 13 de diciembre"
        );
    }

    #[test]
    fn moments_are_in_the_readers_zone() {
        // 23:30 in UTC on Sunday is already Monday in Madrid.
        let at = Utc.with_ymd_and_hms(2026, 12, 6, 23, 30, 0).unwrap();
        let madrid: Tz = "Europe/Madrid".parse().unwrap();
        assert_eq!(
            moment(es(), madrid, at, Day::Long),
            "lunes 7 de diciembre de 2026, 00:30"
        );
        assert_eq!(
            moment_in_zone(en(), Tz::UTC, at, Day::Short),
            "Sun 6 Dec 2026, 23:30 (UTC)"
        );
    }

    /// Every language names seven weekdays and twelve months, each non-empty.
    #[test]
    fn every_language_has_every_name() {
        for lang in Lang::ALL {
            let t = lang.texts();
            for (list, count) in [
                (t.weekdays_in_dates, 7),
                (t.weekdays_short, 7),
                (t.months, 12),
                (t.months_short, 12),
            ] {
                let names: Vec<&str> = list.split(',').map(str::trim).collect();
                assert_eq!(names.len(), count, "{lang:?}: {list}");
                assert!(names.iter().all(|n| !n.is_empty()), "{lang:?}: {list}");
            }
        }
    }
}
