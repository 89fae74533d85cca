//! telemed's integration suite: one test binary. Each scenario runs on SQLite always
//! and on PostgreSQL when TELEMED_TEST_DATABASE_URL is set (otherwise the PostgreSQL
//! copies are listed as ignored, with the reason).

/// Declares `sqlite::NAME` and `postgres::NAME` tests for each `async fn NAME(Backend)`.
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(telemed_testkit::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(telemed_pg), ignore = "PostgreSQL not configured: set TELEMED_TEST_DATABASE_URL to run")]
                async fn $name() {
                    super::$name(telemed_testkit::Backend::Postgres).await
                }
            )*
        }
    };
}

mod access_surfaces;
mod accounts;
mod api;
mod api_conformance;
mod attachments;
mod audit;
mod browser;
mod clinic;
mod dispensing;
mod documents;
mod fhir;
mod fhir_protocol;
mod fhir_visits;
mod fhir_write;
mod fidelity;
mod live;
mod messaging;
mod oauth;
mod on_demand;
mod ops;
mod prescribing;
mod prescribing_browser;
mod prescribing_web;
mod proxies;
mod quotas;
mod record;
mod record_browser;
mod renewals;
mod scheduling;
mod scheduling_web;
mod sessions;
mod sms;
mod terminology;
mod tls;
mod video;
mod video_browser;
