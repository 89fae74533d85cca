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
    /// Who sends the invitation (RFC 5546 asks for it in REQUEST, CANCEL and PUBLISH):
    /// a name, if any, and an email address.
    pub organizer: (Option<String>, String),
    /// Whom an emailed invitation is for (its address); none in a feed or a download.
    pub attendee: Option<String>,
}

/// A parameter value (RFC 5545 §3.2): quoted, without the quote itself or controls.
fn param(value: &str) -> String {
    let clean: String = value
        .chars()
        .filter(|c| *c != '"' && !c.is_control())
        .collect();
    format!("\"{clean}\"")
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
        let (name, address) = &e.organizer;
        match name {
            Some(n) => line(format!("ORGANIZER;CN={}:mailto:{address}", param(n))),
            None => line(format!("ORGANIZER:mailto:{address}")),
        }
        if let Some(a) = &e.attendee {
            line(format!(
                "ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT={};RSVP=FALSE:mailto:{a}",
                if e.cancelled { "DECLINED" } else { "ACCEPTED" }
            ));
        }
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

    #[test]
    fn an_invitation_names_its_organizer_and_attendee() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-01-05T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let event = CalendarEvent {
            uid: "u@telemed".into(),
            start: t,
            end: t,
            summary: "telemed visit".into(),
            url: "https://clinic.example/appointments".into(),
            cancelled: false,
            sequence: 0,
            organizer: (
                Some("Clinic \"North\"".into()),
                "noreply@clinic.example".into(),
            ),
            attendee: Some("ana@example.org".into()),
        };
        // (Unfolded: a long content line is folded at 75 octets.)
        let ics = calendar("telemed", Some("REQUEST"), &[event], t).replace("\r\n ", "");
        assert!(ics.contains("ORGANIZER;CN=\"Clinic North\":mailto:noreply@clinic.example\r\n"));
        assert!(ics.contains(
            "ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=FALSE:mailto:ana@example.org"
        ));
    }
}
