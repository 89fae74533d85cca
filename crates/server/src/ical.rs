//! iCalendar (RFC 5545) output: one visit as an email attachment, or a clinician's
//! feed. Times are UTC (`...Z`), text is escaped, lines are folded at 75 octets.

use chrono::{DateTime, Utc};

pub struct CalendarEvent {
    /// Stable across updates, so calendar apps replace rather than duplicate.
    pub uid: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub summary: String,
    pub url: String,
    pub cancelled: bool,
    /// Higher for each change of the same event.
    pub sequence: u32,
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Escapes TEXT values (RFC 5545 §3.3.11).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line at 75 octets, never inside a UTF-8 character (§3.1).
fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

/// A VCALENDAR with `events`. `method` is REQUEST or CANCEL for email invitations, or
/// `None` for a subscribed feed.
pub fn calendar(
    name: &str,
    method: Option<&str>,
    events: &[CalendarEvent],
    now: DateTime<Utc>,
) -> String {
    let mut out = String::new();
    let mut line = |l: String| fold(&l, &mut out);
    line("BEGIN:VCALENDAR".into());
    line("VERSION:2.0".into());
    line("PRODID:-//telemed//telemed//EN".into());
    line("CALSCALE:GREGORIAN".into());
    if let Some(m) = method {
        line(format!("METHOD:{m}"));
    }
    line(format!("X-WR-CALNAME:{}", escape(name)));
    for e in events {
        line("BEGIN:VEVENT".into());
        line(format!("UID:{}", e.uid));
        line(format!("DTSTAMP:{}", stamp(now)));
        line(format!("DTSTART:{}", stamp(e.start)));
        line(format!("DTEND:{}", stamp(e.end)));
        line(format!("SUMMARY:{}", escape(&e.summary)));
        line(format!("URL:{}", e.url));
        line(format!("SEQUENCE:{}", e.sequence));
        line(format!(
            "STATUS:{}",
            if e.cancelled {
                "CANCELLED"
            } else {
                "CONFIRMED"
            }
        ));
        line("END:VEVENT".into());
    }
    line("END:VCALENDAR".into());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_folds() {
        assert_eq!(escape("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
        let mut out = String::new();
        fold(&format!("SUMMARY:{}", "é".repeat(60)), &mut out);
        for l in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(l.len() <= 75, "{} octets", l.len());
        }
        assert!(out.contains("\r\n "));
    }
}
