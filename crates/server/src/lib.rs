//! telemed's HTTP server: the JSON API under `/api/v1`, the HTML UI, operations
//! endpoints, authentication and sessions, and background work (audit writer, mail).
//! It knows nothing of SQL dialects: all data goes through `telemed_store`.

/// Every binary that serves (the `telemed` command, the tests, the benchmarks) allocates
/// through mimalloc: request handling allocates and frees many small buffers across
/// threads, where glibc's allocator spent a fifth of a read's time. Fuzz builds keep the
/// system allocator, which the address sanitizer watches.
#[cfg(not(fuzzing))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod accounts;
pub mod api;
pub mod app;
pub mod audit;
pub mod auth;
pub mod change;
pub mod clinic;
pub mod clinic_cache;
pub mod config;
pub mod context;
pub mod crypto;
pub mod delivery;
mod dicom_lengths;
pub mod dispensing;
pub mod documents;
pub mod error;
pub mod export;
pub mod fhir;
pub mod files;
pub mod i18n;
pub mod ical;
pub mod imaging;
pub mod jobs;
pub mod jws;
mod layering;
pub mod mail;
pub mod messaging;
pub mod metrics;
pub mod oauth;
pub mod on_demand;
pub mod openapi;
pub mod ops;
pub mod pdf;
pub mod pharmacies;
pub mod prescribing;
pub mod proxies;
pub mod quotas;
pub mod rate_limits;
pub mod realtime;
pub mod record;
pub mod renewals;
pub mod respond;
pub mod scheduling;
pub mod security;
pub mod sending;
pub mod sms;
pub mod terminology;
pub mod video;
pub mod visit_notices;
pub mod web;

pub use app::{open_store, router, start, start_with_store, AppState, RunningServer};
pub use config::Config;
