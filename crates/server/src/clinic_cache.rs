//! The clinic as a node holds it: this node's copy of the clinic's settings
//! (`ClinicCache`), read again when more than `FRESH_FOR` old, so a change saved on one
//! node reaches the others within that time (the node that saves sees it at once). A
//! request reads it once, as it starts (`Ctx::clinic`); work no request started reads
//! `current`. What admins change is in `clinic`.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use telemed_domain::clinic::ClinicSettings;
use telemed_domain::Result;
use telemed_store::Store;

use crate::i18n::Lang;
use crate::AppState;

/// How long a node trusts its copy of the settings before reading them again.
pub const FRESH_FOR: Duration = Duration::from_secs(5);

/// The clinic as one moment saw it.
#[derive(Debug, Clone, Default)]
pub struct Clinic {
    pub settings: ClinicSettings,
    /// 0 until an admin first saved the settings.
    pub revision: i64,
    /// The logo's digest when there is one: its address is `/clinic/logo?v=<digest>`.
    pub logo: Option<String>,
}

impl Clinic {
    /// The languages offered, in the clinic's order, that telemed has texts for.
    pub fn languages(&self) -> Vec<Lang> {
        let offered: Vec<Lang> = self
            .settings
            .languages
            .iter()
            .filter_map(|code| Lang::from_code(code))
            .collect();
        if offered.is_empty() {
            Lang::ALL.to_vec()
        } else {
            offered
        }
    }

    pub fn offers_language(&self, lang: Lang) -> bool {
        self.languages().contains(&lang)
    }

    /// The language of someone whose browser asks for none the clinic offers.
    pub fn default_language(&self) -> Lang {
        Lang::from_code(&self.settings.default_language)
            .filter(|l| self.offers_language(*l))
            .unwrap_or_else(|| self.languages()[0])
    }

    /// `wanted` if the clinic offers it, else the clinic's default.
    pub fn speak(&self, wanted: Lang) -> Lang {
        if self.offers_language(wanted) {
            wanted
        } else {
            self.default_language()
        }
    }

    /// How a mail to someone reading `lang` is written: in the clinic's name.
    pub fn letter(&self, lang: Lang) -> crate::mail::Letter<'_> {
        crate::mail::Letter {
            lang,
            clinic: &self.settings.name,
        }
    }

    pub fn logo_url(&self) -> Option<String> {
        self.logo
            .as_ref()
            .map(|digest| format!("/clinic/logo?v={}", &digest[..16.min(digest.len())]))
    }
}

/// This node's copy of the clinic.
pub struct ClinicCache {
    held: RwLock<(Arc<Clinic>, Option<Instant>)>,
}

impl Default for ClinicCache {
    fn default() -> Self {
        ClinicCache {
            held: RwLock::new((Arc::new(Clinic::default()), None)),
        }
    }
}

impl ClinicCache {
    fn fresh(&self) -> Option<Arc<Clinic>> {
        let held = self.held.read().unwrap_or_else(|p| p.into_inner());
        match held.1 {
            Some(read_at) if read_at.elapsed() < FRESH_FOR => Some(held.0.clone()),
            _ => None,
        }
    }

    fn hold(&self, clinic: Arc<Clinic>) {
        *self.held.write().unwrap_or_else(|p| p.into_inner()) = (clinic, Some(Instant::now()));
    }

    fn last(&self) -> Arc<Clinic> {
        self.held
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .0
            .clone()
    }

    /// Forgets the copy, so the next reader reads the database (tests that write the
    /// settings beside the server, and a node that heard of a change).
    pub fn forget(&self) {
        self.held.write().unwrap_or_else(|p| p.into_inner()).1 = None;
    }
}

pub(crate) async fn load(store: &Store) -> Result<Clinic> {
    let saved = store.clinic_settings().await?;
    let (settings, revision) = match saved {
        Some(s) => (s.settings, s.revision),
        None => (ClinicSettings::default(), 0),
    };
    Ok(Clinic {
        settings,
        revision,
        logo: store.clinic_logo_digest().await?,
    })
}

impl ClinicCache {
    /// The clinic as this node knows it, read again when older than `FRESH_FOR`.
    /// Should the database not answer, the last copy serves (and the failure is logged).
    pub async fn get(&self, store: &Store) -> Arc<Clinic> {
        if let Some(clinic) = self.fresh() {
            return clinic;
        }
        match load(store).await {
            Ok(clinic) => {
                let clinic = Arc::new(clinic);
                self.hold(clinic.clone());
                clinic
            }
            Err(e) => {
                // Kept as if read: the next try (and this line) comes after FRESH_FOR,
                // not on every request while the database is away.
                tracing::warn!(error = %e, "reading the clinic settings; using the last copy");
                let last = self.last();
                self.hold(last.clone());
                last
            }
        }
    }
}

/// The clinic as this node knows it (see `ClinicCache::get`).
pub async fn current(state: &AppState) -> Arc<Clinic> {
    state.clinic.get(&state.store).await
}

/// The clinic as the database holds it now (this node's copy is renewed with it).
pub async fn reload(state: &AppState) -> Result<Arc<Clinic>> {
    let clinic = Arc::new(load(&state.store).await?);
    state.clinic.hold(clinic.clone());
    Ok(clinic)
}
