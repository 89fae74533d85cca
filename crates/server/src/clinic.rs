//! The clinic as its admins keep it on the clinic page (`/admin/clinic`, `PATCH
//! /api/v1/clinic`): its name and how to reach it, its zone, languages, kinds of visit
//! and scheduling policy; its logo; the telehealth consent text, versioned.
//!
//! What every node holds of it, and how fresh, is `clinic_cache`.

use std::sync::Arc;

use telemed_domain::access::Principal;
use telemed_domain::clinic::{self as rules, ClinicSettings};
use telemed_domain::video::{TELEHEALTH_CONSENT, TELEHEALTH_CONSENT_VERSION};
use telemed_domain::{Error, Permission, Result};
use telemed_store::clinic as store;

use crate::audit::Event;
use crate::change::Change;
use crate::context::Ctx;
use crate::i18n::Lang;
use crate::AppState;

use crate::clinic_cache::load;
pub use crate::clinic_cache::{current, reload, Clinic, ClinicCache, FRESH_FOR};

/// The language codes telemed has texts for.
pub fn known_languages() -> Vec<&'static str> {
    Lang::ALL.iter().map(|l| l.code()).collect()
}

/// Saves `settings` over revision `from` (an admin's change; audited with the names of
/// the settings that changed). A stale `from` is refused with a conflict.
pub async fn update(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    from: i64,
    settings: ClinicSettings,
) -> Result<Arc<Clinic>> {
    principal.require(Permission::ClinicWrite)?;
    let settings = settings.validated(&known_languages())?;
    let before = load(&state.store).await?;
    let changed = settings.changed_from(&before.settings);
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    store::save_settings(change.tx(), &settings, from, principal.user_id, now).await?;
    change.audit(
        Event::new(ctx, now, "clinic.settings.update", "clinic")
            .by(principal.user_id, principal.role)
            .detail(changed.join(" ")),
    );
    change.commit().await?;
    reload(state).await
}

/// Replaces the logo (`Some(bytes)`: PNG, JPEG or WebP up to 256 KiB) or removes it.
pub async fn set_logo(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    bytes: Option<&[u8]>,
) -> Result<Arc<Clinic>> {
    principal.require(Permission::ClinicWrite)?;
    let logo = match bytes {
        Some(bytes) => {
            if bytes.len() > rules::LOGO_MAX_BYTES {
                return Err(Error::TooLarge);
            }
            let media_type = rules::logo_media_type(bytes).ok_or_else(|| {
                Error::UnsupportedMediaType("a logo is a PNG, JPEG or WebP image".into())
            })?;
            Some((media_type, bytes))
        }
        None => None,
    };
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    store::set_logo(change.tx(), logo, now).await?;
    let action = if logo.is_some() {
        "clinic.logo.update"
    } else {
        "clinic.logo.remove"
    };
    change.audit(Event::new(ctx, now, action, "clinic").by(principal.user_id, principal.role));
    change.commit().await?;
    reload(state).await
}

/// The logo as uploaded, if there is one.
pub async fn logo(state: &AppState) -> Result<Option<store::Logo>> {
    state.store.clinic_logo().await
}

/// A consent text as a patient reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentText {
    pub version: String,
    pub paragraphs: Vec<String>,
}

impl ConsentText {
    fn of(version: &str, text: &str) -> ConsentText {
        ConsentText {
            version: version.to_owned(),
            paragraphs: text
                .split("\n\n")
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }
}

/// The built-in telehealth consent (version `TELEHEALTH_CONSENT_VERSION`), in `lang`.
fn built_in_consent(lang: Lang) -> ConsentText {
    let t = lang.texts();
    ConsentText {
        version: TELEHEALTH_CONSENT_VERSION.to_owned(),
        paragraphs: [t.consent_p1, t.consent_p2, t.consent_p3, t.consent_p4]
            .map(str::to_owned)
            .to_vec(),
    }
}

/// The current telehealth consent in `lang` (or, when the version has no text in it,
/// in the clinic's default language, then in any language it has).
pub async fn telehealth_consent(state: &AppState, lang: Lang) -> Result<ConsentText> {
    let mut texts = telehealth_consent_in(state, &[lang]).await?;
    texts
        .pop()
        .ok_or_else(|| Error::internal("no consent text"))
}

/// The current telehealth consent in each of `langs` (as `telehealth_consent`), read once.
pub async fn telehealth_consent_in(state: &AppState, langs: &[Lang]) -> Result<Vec<ConsentText>> {
    let Some(published) = state.store.current_consent(TELEHEALTH_CONSENT).await? else {
        return Ok(langs.iter().map(|l| built_in_consent(*l)).collect());
    };
    let clinic = current(state).await;
    let in_lang = |lang: &Lang| {
        let text = [lang.code(), clinic.default_language().code()]
            .iter()
            .find_map(|code| published.texts.iter().find(|(l, _)| l == code))
            .or(published.texts.first())
            .map(|(_, text)| text.as_str())
            .unwrap_or_default();
        ConsentText::of(&published.version, text)
    };
    Ok(langs.iter().map(in_lang).collect())
}

/// The version of the telehealth consent a patient must have accepted now.
pub async fn telehealth_consent_version(state: &AppState) -> Result<String> {
    Ok(state
        .store
        .current_consent_version(TELEHEALTH_CONSENT)
        .await?
        .unwrap_or_else(|| TELEHEALTH_CONSENT_VERSION.to_owned()))
}

/// Every published version of the telehealth consent, newest first (none: only the
/// built-in one).
pub async fn telehealth_consent_history(
    state: &AppState,
    principal: &Principal,
) -> Result<Vec<store::ConsentVersion>> {
    principal.require(Permission::ClinicWrite)?;
    state.store.consent_versions(TELEHEALTH_CONSENT).await
}

/// Publishes a new version of the telehealth consent: one text per language the clinic
/// offers (`texts` as `(language code, text)`). Its version is the day of publication
/// in the clinic's zone (`2026-12-07`, then `2026-12-07.2` the same day). Patients who
/// accepted an earlier version are asked again before their next video visit.
pub async fn publish_telehealth_consent(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    texts: &[(String, String)],
) -> Result<String> {
    principal.require(Permission::ClinicWrite)?;
    let clinic = current(state).await;
    let mut checked = Vec::new();
    for lang in clinic.languages() {
        let text = texts
            .iter()
            .find(|(code, _)| code == lang.code())
            .map(|(_, text)| text.as_str())
            .unwrap_or_default();
        if text.trim().is_empty() {
            return Err(Error::invalid(
                "consent_text",
                format!(
                    "write the consent in every language the clinic offers ({})",
                    lang.name()
                ),
            ));
        }
        checked.push((lang.code().to_owned(), rules::validate_consent_text(text)?));
    }
    let now = state.clock.now();
    let day = now
        .with_timezone(&clinic.settings.zone())
        .format("%Y-%m-%d")
        .to_string();
    let published = state.store.consent_versions(TELEHEALTH_CONSENT).await?;
    let same_day = published
        .iter()
        .filter(|v| v.version == day || v.version.starts_with(&format!("{day}.")))
        .count();
    let version = if same_day == 0 {
        day
    } else {
        format!("{day}.{}", same_day + 1)
    };
    let mut change = Change::begin(state).await?;
    store::publish_consent(
        change.tx(),
        TELEHEALTH_CONSENT,
        &version,
        &checked,
        principal.user_id,
        now,
    )
    .await?;
    change.audit(
        Event::new(ctx, now, "clinic.consent.publish", "consent")
            .by(principal.user_id, principal.role)
            .detail(format!("{TELEHEALTH_CONSENT} {version}")),
    );
    change.commit().await?;
    Ok(version)
}
