//! The patient's "who saw my record" page in plain sentences: what each audit action
//! means for the person whose record it is, and when, in their language and time zone.
//! No audit code reaches the page; an action without a sentence of its own reads as a
//! use of the record.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use telemed_domain::audit::Outcome;
use telemed_domain::record::Section;

use super::chart::section_name;
use crate::i18n::dates::{self, Day};
use crate::i18n::{args, Texts};

/// What `action` did, as a phrase about the patient ("opened your chart"); `None` for
/// an action this page has no sentence for.
pub fn phrase(t: &Texts, action: &str) -> Option<String> {
    let fixed = match action {
        "record.chart.read" => t.al_chart_read,
        "record.access_log.read" => t.al_access_log_read,
        "record.export" => t.al_export,
        "record.documents.view" | "record.documents.download" => t.al_document_open,
        "record.notes.sign" => t.al_note_sign,
        "record.notes.addendum" => t.al_note_addendum,
        "record.break_glass" | "record.emergency_access" => t.al_break_glass,
        "record.care_team.add" => t.al_care_team_add,
        "record.proxy.invite" => t.al_proxy_invite,
        "record.proxy.accept" => t.al_proxy_accept,
        "record.proxy.decline" => t.al_proxy_decline,
        "record.proxy.revoke" => t.al_proxy_revoke,
        "record.proxy.withdraw" => t.al_proxy_withdraw,
        "record.proxy.list" => t.al_proxy_list,
        "visit.admit" => t.al_visit_admit,
        "visit.enter" => t.al_visit_enter,
        "visit.leave" => t.al_visit_leave,
        "visit.end" => t.al_visit_end,
        "visit.chat" => t.al_visit_chat,
        "visit.record.read" => t.al_visit_record,
        "visit.invite" => t.al_visit_invite,
        "visit.invite_used" => t.al_visit_invite_used,
        "visit.invite_revoke" => t.al_visit_invite_revoke,
        "consent.accept" => t.al_consent,
        "appointment.book" => t.al_appointment_book,
        "appointment.cancel" => t.al_appointment_cancel,
        "appointment.reschedule" => t.al_appointment_move,
        "appointment.check_in" => t.al_appointment_check_in,
        "appointment.noshow" => t.al_appointment_noshow,
        "appointment.noshow_undo" => t.al_appointment_noshow_undo,
        "appointment.fulfil" => t.al_appointment_fulfil,
        "appointment.read" | "appointment.list" | "appointment.on_demand.list" => {
            t.al_appointment_read
        }
        "appointment.on_demand.join" => t.al_on_demand_join,
        "appointment.on_demand.withdraw" => t.al_on_demand_withdraw,
        "appointment.on_demand.take" => t.al_on_demand_take,
        "appointment.start_now" => t.al_start_now,
        "message.read" | "message.list" | "thread.read" => t.al_message_read,
        "message.send" => t.al_message_send,
        "thread.create" => t.al_thread_create,
        "thread.route" => t.al_thread_route,
        "attachment.read" => t.al_attachment_read,
        "prescription.sign" => t.al_prescription_sign,
        "prescription.pdf" => t.al_prescription_pdf,
        "prescription.send" => t.al_prescription_send,
        "prescription.dispense" => t.al_prescription_dispense,
        "prescription.verify" => t.al_prescription_verify,
        "prescription.cancel" | "prescription.discontinue" => t.al_prescription_change,
        "prescription.renewal_request" => t.al_renewal_request,
        "prescription.renewal_answer" => t.al_renewal_answer,
        _ => return section_phrase(t, action),
    };
    Some(fixed.to_owned())
}

/// `record.<section>.read` or `.write`.
fn section_phrase(t: &Texts, action: &str) -> Option<String> {
    let rest = action.strip_prefix("record.")?;
    let (section, op) = rest.rsplit_once('.')?;
    let section = section_name(t, Section::parse(section)?);
    let section = section.into();
    match op {
        "read" => Some(t.al_section_read(args::AlSectionRead { section })),
        "write" => Some(t.al_section_write(args::AlSectionWrite { section })),
        _ => None,
    }
}

/// The sentence's verb phrase for any action: its own, or a use of the record.
pub fn describe(t: &Texts, action: &str) -> String {
    phrase(t, action).unwrap_or_else(|| t.al_other.to_owned())
}

pub fn outcome(t: &Texts, outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Success => t.al_allowed,
        Outcome::Denied => t.al_refused,
        Outcome::Failure => t.al_failed,
    }
}

/// "6 Dec 2026 at 13:17" in the reader's language and zone (the day as `i18n::dates`
/// writes it).
pub fn moment(t: &Texts, at: DateTime<Utc>, tz: Tz) -> String {
    t.al_when(args::AlWhen {
        date: dates::moment_day(t, tz, at, Day::Plain).into(),
        time: at.with_timezone(&tz).format("%H:%M").to_string().into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    /// Every action the server audits about a patient has a sentence in each
    /// language: the actions are read from the source, as string literals.
    #[test]
    fn every_audited_action_about_a_patient_has_a_sentence() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut actions = std::collections::BTreeSet::new();
        let mut stack = vec![src];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for literal in text.split('"').skip(1).step_by(2) {
                        let family = literal.split('.').next().unwrap_or_default();
                        let about_patients = [
                            "record",
                            "visit",
                            "appointment",
                            "consent",
                            "attachment",
                            "message",
                            "thread",
                            "prescription",
                        ];
                        if about_patients.contains(&family)
                            && literal.contains('.')
                            && !literal.ends_with('.')
                            && literal
                                .chars()
                                .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_')
                        {
                            actions.insert(literal.to_owned());
                        }
                    }
                }
            }
        }
        // Not audit actions: notification kinds and template names.
        let not_actions = [
            "message.new",
            "message.routed",
            "message.html",
            "visit.booked",
            "visit.cancelled",
            "visit.reminder",
            "visit.rescheduled",
            "visit.patient_cancelled",
            "visit.patient_rescheduled",
            "visit.patient_booked",
            "visit.start_now",
            "visit.notice",
            "visit.noshow_check",
            "prescription.renewal",
            "prescription.renewal_requested",
            "prescription.renewal_answered",
            "attachment.upload",
            "attachment.expire",
        ];
        let missing: Vec<&String> = actions
            .iter()
            .filter(|a| !not_actions.contains(&a.as_str()))
            .filter(|a| Lang::ALL.iter().any(|l| phrase(l.texts(), a).is_none()))
            .collect();
        assert!(missing.is_empty(), "no sentence for {missing:?}");
        // The record's sections, read and written.
        for section in Section::ALL {
            for op in ["read", "write"] {
                let action = format!("record.{}.{op}", section.as_str());
                assert!(phrase(Lang::Es.texts(), &action).is_some(), "{action}");
            }
        }
    }

    #[test]
    fn moments_read_in_the_readers_language() {
        let at = "2026-12-06T12:17:00Z".parse().unwrap();
        let madrid: Tz = "Europe/Madrid".parse().unwrap();
        assert_eq!(moment(Lang::En.texts(), at, madrid), "6 Dec 2026 at 13:17");
        assert_eq!(
            moment(Lang::Es.texts(), at, madrid),
            "6 dic 2026 a las 13:17"
        );
        assert_eq!(
            describe(Lang::Es.texts(), "record.vitals.read"),
            "abrió su historia: Signos vitales"
        );
        assert_eq!(
            describe(Lang::En.texts(), "something.new"),
            "used your record"
        );
    }
}
