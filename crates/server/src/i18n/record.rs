//! The names of the record's coded values in the reader's language: an entry's status,
//! how sure its author was, an allergy's severity and criticality. Every value has a
//! name in every language (the matches are exhaustive); what a clinician wrote is
//! never translated, only these labels around it.

use telemed_domain::record::{Criticality, EntryStatus, Severity, Verification};

use super::Texts;

pub fn status_name(t: &Texts, s: EntryStatus) -> &'static str {
    match s {
        EntryStatus::Active => t.st_active,
        EntryStatus::Recurrence => t.st_recurrence,
        EntryStatus::Relapse => t.st_relapse,
        EntryStatus::Inactive => t.st_inactive,
        EntryStatus::Remission => t.st_remission,
        EntryStatus::Resolved => t.st_resolved,
        EntryStatus::Unstated => t.st_unstated,
        EntryStatus::Stopped => t.st_stopped,
        EntryStatus::Completed => t.st_completed,
        EntryStatus::Intended => t.st_intended,
        EntryStatus::OnHold => t.st_on_hold,
        EntryStatus::NotTaken => t.st_not_taken,
        EntryStatus::NotDone => t.st_not_done,
        EntryStatus::Registered => t.st_registered,
        EntryStatus::Partial => t.st_partial,
        EntryStatus::Preliminary => t.st_preliminary,
        EntryStatus::Final => t.st_final,
        EntryStatus::Amended => t.st_amended,
        EntryStatus::Corrected => t.st_corrected,
        EntryStatus::Appended => t.st_appended,
        EntryStatus::Cancelled => t.st_cancelled,
        EntryStatus::Unknown => t.st_unknown,
        EntryStatus::EnteredInError => t.st_entered_in_error,
    }
}

pub fn verification_name(t: &Texts, v: Verification) -> &'static str {
    match v {
        Verification::Unconfirmed => t.ver_unconfirmed,
        Verification::Provisional => t.ver_provisional,
        Verification::Differential => t.ver_differential,
        Verification::Confirmed => t.ver_confirmed,
        Verification::Refuted => t.ver_refuted,
        Verification::EnteredInError => t.st_entered_in_error,
    }
}

pub fn severity_name(t: &Texts, s: Severity) -> &'static str {
    match s {
        Severity::Mild => t.sev_mild,
        Severity::Moderate => t.sev_moderate,
        Severity::Severe => t.sev_severe,
    }
}

pub fn criticality_name(t: &Texts, c: Criticality) -> &'static str {
    match c {
        Criticality::Low => t.crit_low,
        Criticality::High => t.crit_high,
        Criticality::UnableToAssess => t.crit_unable,
    }
}
