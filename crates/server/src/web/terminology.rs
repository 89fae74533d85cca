//! Code systems on the web: the chart's code finder (`/terminology/choices`, the list a
//! clinician picks from as they type) and the admin's page (`/admin/terminology`) that
//! shows what each system holds and imports full releases in the background.

use askama::Template;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use telemed_domain::record::Section;
use telemed_domain::terminology::{for_section, CodeSystem};
use telemed_domain::{Error, Permission};
use tokio::io::AsyncWriteExt;

use super::pages::{render_form, render_with, DoneQuery, Page};
use super::WebCtx;
use crate::auth::SignedIn;
use crate::error::AppResult;
use crate::i18n::{args, dates};
use crate::terminology as service;
use crate::AppState;

/// The largest release file taken (LOINC's table is about 90 MB).
pub const MAX_RELEASE_BYTES: usize = 256 * 1024 * 1024;

#[derive(Deserialize)]
pub struct ChoicesQuery {
    #[serde(default)]
    section: String,
    #[serde(default)]
    q: String,
}

struct Choice {
    /// `system|code|display`: what the chart form posts as `concept`.
    value: String,
    code: String,
    /// The name in the reader's language when the concept has one, else the system's.
    label: String,
    /// The system's own name, when `label` is a translation.
    official: Option<String>,
}

#[derive(Template)]
#[template(path = "code_choices.html")]
struct Choices {
    found: Vec<Choice>,
    message: Option<&'static str>,
}

/// `GET /terminology/choices?section=&q=`: the codes of the section's system whose
/// words start with the words typed, as radio buttons for the chart's form.
pub async fn choices(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Query(q): Query<ChoicesQuery>,
) -> AppResult<Response> {
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/");
    let section = Section::parse(&q.section).filter(|s| for_section(*s).is_some());
    let (found, message) =
        match section {
            None => (Vec::new(), Some(page.t.code_not_coded_here)),
            Some(_) if q.q.trim().is_empty() => (Vec::new(), None),
            Some(section) => {
                let found =
                    match service::search_for_section(&state, section, &q.q, page.lang.code(), 12)
                        .await
                    {
                        Ok(found) => found,
                        Err(Error::Invalid { .. }) => Vec::new(),
                        Err(e) => return Err(e.into()),
                    };
                let message = found.is_empty().then_some(page.t.code_nothing_found);
                (found, message)
            }
        };
    let found = found
        .into_iter()
        .map(|f| Choice {
            value: format!("{}|{}|{}", f.system.uri(), f.code, f.display),
            code: f.code,
            official: f.name.as_ref().map(|_| f.display.clone()),
            label: f.name.unwrap_or(f.display),
        })
        .collect();
    Ok(render_with(StatusCode::OK, &Choices { found, message }))
}

/// A concept chosen in the chart's form (`system|code|display`): its system, code and
/// the system's name for it.
pub fn chosen(value: &str) -> Option<(String, String, String)> {
    let mut parts = value.splitn(3, '|');
    let (system, code, display) = (parts.next()?, parts.next()?, parts.next()?);
    CodeSystem::from_uri(system)?;
    (!code.is_empty()).then(|| (system.to_owned(), code.to_owned(), display.to_owned()))
}

struct SystemRow {
    label: &'static str,
    active: i64,
    inactive: i64,
    held: &'static str,
}

struct ImportRow {
    system: &'static str,
    file_name: String,
    status: &'static str,
    running: bool,
    failed: bool,
    /// Percent of the file read.
    percent: i64,
    summary: String,
    error: Option<String>,
    started: String,
}

#[derive(Template)]
#[template(path = "admin_terminology.html")]
struct AdminPage<'a> {
    page: &'a Page,
    notice: Option<&'static str>,
    error: Option<String>,
    systems: Vec<SystemRow>,
    imports: Vec<ImportRow>,
    running: bool,
    max_mb: usize,
}

#[derive(Template)]
#[template(path = "admin_terminology_imports.html")]
struct ImportsPart<'a> {
    page: &'a Page,
    imports: Vec<ImportRow>,
    running: bool,
}

async fn import_rows(state: &AppState, me: &SignedIn, page: &Page) -> AppResult<Vec<ImportRow>> {
    let t = page.t;
    // Times on the page are in the clinic's zone (an admin may be elsewhere).
    let zone = page.clinic.settings.zone();
    Ok(service::imports(state, &me.principal)
        .await?
        .into_iter()
        .map(|i| ImportRow {
            system: i.system.label(),
            file_name: i.file_name,
            status: match i.status.as_str() {
                "running" => t.term_running,
                "done" => t.term_done,
                _ => t.term_failed,
            },
            running: i.status == "running",
            failed: i.status == "failed",
            percent: if i.bytes_total > 0 {
                (i.bytes_read * 100 / i.bytes_total).clamp(0, 100)
            } else {
                0
            },
            summary: t.term_codes_read(args::TermCodesRead {
                concepts: i.concepts.into(),
                added: i.added.into(),
                retired: i.retired.into(),
            }),
            error: i.error,
            started: dates::moment(t, zone, i.started_at, dates::Day::Short),
        })
        .collect())
}

async fn show(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    notice: Option<&'static str>,
    error: Option<&Error>,
) -> AppResult<Response> {
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/admin/terminology");
    let t = page.t;
    let systems = service::summary(state, &me.principal)
        .await?
        .into_iter()
        .map(|s| SystemRow {
            label: s.system.label(),
            active: s.active,
            inactive: s.inactive,
            held: if s.imported {
                t.term_imported
            } else {
                t.term_starter
            },
        })
        .collect();
    let imports = import_rows(state, me, &page).await?;
    let running = imports.iter().any(|i| i.running);
    Ok(render_form(
        error,
        &AdminPage {
            page: &page,
            notice,
            error: error.map(|e| page.form_error(e)),
            systems,
            imports,
            running,
            max_mb: MAX_RELEASE_BYTES / (1024 * 1024),
        },
    ))
}

pub async fn page(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    Query(done): Query<DoneQuery>,
) -> AppResult<Response> {
    let notice = (done.done == "import").then_some(w.ctx.lang.texts().term_started);
    show(&state, &w, &me, notice, None).await
}

/// `GET /admin/terminology/imports`: the imports table, refreshed while one runs.
pub async fn imports(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
) -> AppResult<Response> {
    let page = Page::new(&w.ctx, &w.csrf, Some(&me.user), "/admin/terminology");
    let imports = import_rows(&state, &me, &page).await?;
    let running = imports.iter().any(|i| i.running);
    Ok(render_with(
        StatusCode::OK,
        &ImportsPart {
            page: &page,
            imports,
            running,
        },
    ))
}

/// `POST /admin/terminology` (multipart: `system`, `file`): keeps the file in a
/// temporary place, records the import as running and reads it in the background.
pub async fn start_import(
    State(state): State<AppState>,
    w: WebCtx,
    me: SignedIn,
    form: Multipart,
) -> AppResult<Response> {
    me.principal.require(Permission::ClinicWrite)?;
    match receive_and_start(&state, &w, &me, form).await {
        Ok(()) => Ok(Redirect::to("/admin/terminology?done=import").into_response()),
        Err(e @ (Error::Invalid { .. } | Error::Conflict(_) | Error::TooLarge)) => {
            show(&state, &w, &me, None, Some(&e)).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn receive_and_start(
    state: &AppState,
    w: &WebCtx,
    me: &SignedIn,
    mut form: Multipart,
) -> Result<(), Error> {
    let mut system = None;
    let mut kept: Option<(tempfile_path::Kept, String, u64)> = None;
    while let Some(mut part) = form
        .next_field()
        .await
        .map_err(|e| Error::invalid("file", e.body_text()))?
    {
        match part.name().unwrap_or_default() {
            "system" => {
                let text = part
                    .text()
                    .await
                    .map_err(|e| Error::invalid("system", e.body_text()))?;
                system = CodeSystem::from_key(text.trim());
            }
            "file" => {
                let name = part
                    .file_name()
                    .unwrap_or("release")
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(200)
                    .collect::<String>();
                let file = tempfile_path::Kept::new();
                let mut out = tokio::fs::File::create(file.path())
                    .await
                    .map_err(Error::internal)?;
                let mut size = 0u64;
                while let Some(chunk) = part
                    .chunk()
                    .await
                    .map_err(|e| Error::invalid("file", e.body_text()))?
                {
                    size += chunk.len() as u64;
                    if size > MAX_RELEASE_BYTES as u64 {
                        return Err(Error::TooLarge);
                    }
                    out.write_all(&chunk).await.map_err(Error::internal)?;
                }
                out.flush().await.map_err(Error::internal)?;
                kept = Some((file, name, size));
            }
            _ => {}
        }
    }
    let system = system.ok_or_else(|| Error::invalid("system", "choose ICD-10-CM or LOINC"))?;
    let (file, name, size) = kept
        .filter(|(_, _, size)| *size > 0)
        .ok_or_else(|| Error::invalid("file", "choose the release file to import"))?;
    let id = service::begin_import(state, Some(&me.principal), system, &name, size).await?;
    let (state, ctx, principal) = (state.clone(), w.ctx.clone(), me.principal.clone());
    tokio::spawn(async move {
        let outcome = match tokio::fs::File::open(file.path()).await {
            Ok(f) => {
                let reader = tokio::io::BufReader::with_capacity(256 * 1024, f);
                service::run_import(&state, &ctx, Some(&principal), &id, system, reader)
                    .await
                    .map(|_| ())
            }
            Err(e) => {
                service::abandon_import(&state, &ctx, &id, "the uploaded file could not be opened")
                    .await;
                Err(Error::internal(e))
            }
        };
        if let Err(e) = outcome {
            tracing::warn!(import = %id, error = %e, "terminology import ended without finishing");
        }
        drop(file);
    });
    Ok(())
}

/// A file in the system's temporary folder, removed when dropped.
mod tempfile_path {
    pub struct Kept(std::path::PathBuf);

    impl Kept {
        pub fn new() -> Kept {
            Kept(
                std::env::temp_dir()
                    .join(format!("telemed-release-{}", uuid::Uuid::new_v4().simple())),
            )
        }

        pub fn path(&self) -> &std::path::Path {
            &self.0
        }
    }

    impl Drop for Kept {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}
