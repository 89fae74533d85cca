//! The layering rule the HTTP adapters keep, checked: `api/`, `web/` and the FHIR
//! routes (`fhir/mod.rs`) parse, call a service and render. They read patient data —
//! the record, visits, messages, consents, documents, the access log — only through the
//! services (`record`, `scheduling`, `messaging`, `video`, `documents`, `export`,
//! `audit`, the FHIR use cases in `fhir/*`), which ask the access policy first. The
//! store functions an adapter may call itself are the account directory and the
//! caller's own settings, listed here; anything else fails this test, naming the file.

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// Store functions an adapter may call: who people are (names, accounts, the
    /// clinicians' directory and availability), the caller's own sessions, tokens,
    /// notifications and preferences, and the administration of accounts, invitations,
    /// OAuth clients, outgoing mail and the audit chain's integrity.
    const DIRECTORY_AND_OWN_SETTINGS: &[&str] = &[
        "begin_write",
        "busy_intervals",
        "clinician_profile",
        "clinician_profiles",
        // `telemed_store::DbResult::db`: naming a database error, not a read.
        "db",
        "grants_of",
        "has_calendar_feed",
        "list_users",
        "live_api_tokens_of",
        "live_session",
        "live_sessions_of",
        "mark_notifications_read",
        // The caller's own mobile number and how their notices come.
        "mobile",
        "names_of",
        "notice_choices",
        "notifications",
        "oauth_clients",
        "pending_invitation",
        "recent_invitations",
        "recent_mail",
        "set_calendar_feed",
        "set_email",
        "set_locale",
        "specialty_of",
        "unread_notifications",
        "unused_recovery_codes",
        "user_by_email",
        "user_by_id",
        "verify_audit_chain",
    ];

    /// The HTTP adapters' source files.
    fn adapters() -> Vec<PathBuf> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = vec![src.join("fhir/mod.rs")];
        for dir in ["api", "web"] {
            for entry in std::fs::read_dir(src.join(dir)).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "rs") {
                    files.push(path);
                }
            }
        }
        files.sort();
        files
    }

    /// Every `store.<name>(` and `telemed_store::<module>::<name>(` call in `source`
    /// (whitespace and line breaks between the parts allowed).
    fn store_calls(source: &str) -> Vec<String> {
        let compact: String = source.split_whitespace().collect();
        let mut calls = Vec::new();
        for (marker, qualified) in [("store.", false), ("telemed_store::", true)] {
            let mut rest = compact.as_str();
            while let Some(at) = rest.find(marker) {
                rest = &rest[at + marker.len()..];
                let path: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                let after = &rest[path.len()..];
                if after.starts_with('(') && !path.is_empty() {
                    let name = if qualified {
                        path.rsplit("::").next().unwrap_or_default()
                    } else {
                        path.as_str()
                    };
                    calls.push(name.to_owned());
                }
            }
        }
        calls
    }

    #[test]
    fn the_scanner_finds_calls_across_lines_and_paths() {
        let source = "let a = state\n    .store\n    .appointment(&reach, id)\n    .await?;\n\
                      telemed_store::visits::accept_consent(tx, p).await; store.thing;";
        assert_eq!(store_calls(source), ["appointment", "accept_consent"]);
    }

    #[test]
    fn http_adapters_read_patient_data_only_through_services() {
        let mut found = Vec::new();
        for file in adapters() {
            let source = std::fs::read_to_string(&file).unwrap();
            for call in store_calls(&source) {
                if !DIRECTORY_AND_OWN_SETTINGS.contains(&call.as_str()) {
                    found.push(format!("{}: store {call}", file.display()));
                }
            }
        }
        assert!(
            found.is_empty(),
            "HTTP adapters call the store for data a service should read under the \
             access policy:\n{}",
            found.join("\n")
        );
    }
}
