//! Documents and images in the patient record as a service: upload (content checked,
//! thumbnail or DICOM preview made, everything encrypted), listing, opening a file or a
//! rendition, and marking a misfiled document. Access is the record's policy for the
//! `documents` section (`crate::record::authorize`); a refusal is a 404.

use telemed_domain::access::Op;
use telemed_domain::access::Principal;
use telemed_domain::documents::{
    DocumentDetails, DocumentStatus, DOCUMENT_LIST_LIMIT, RECORD_FILES,
};
use telemed_domain::record::Section;
use telemed_domain::{AppointmentId, DocumentId, Error, MediaType, Result, Role, UserId};
use telemed_store::blobs::{self, Blob, Sealed};
use telemed_store::documents::{self as store, Document, NewDocument};

use crate::change::Change;
use crate::context::Ctx;
use crate::imaging::{self, Rendered, Window};
use crate::record::{audit_write, authorize, authorize_as};
use crate::{files, AppState};

/// A file to file in a record.
#[derive(Debug)]
pub struct Upload {
    pub file_name: String,
    pub bytes: Vec<u8>,
    pub details: DocumentDetails,
    /// The visit the file is sent ahead of.
    pub appointment: Option<AppointmentId>,
}

/// What was made from an upload before anything is stored.
struct Prepared {
    media: MediaType,
    thumbnail: Option<Rendered>,
    preview: Option<Rendered>,
    dicom: Option<telemed_domain::documents::DicomHeader>,
}

/// Reads an accepted file of type `media` and makes its thumbnail and preview (CPU
/// work, off the runtime; the bytes go to the blocking thread and come back, never
/// copied).
async fn prepare(bytes: Vec<u8>, media: MediaType) -> Result<(Vec<u8>, Prepared)> {
    tokio::task::spawn_blocking(move || {
        let prepared = match media {
            MediaType::Dicom => {
                let read = imaging::read_dicom(&bytes)?;
                Prepared {
                    media,
                    thumbnail: read.thumbnail,
                    preview: read.preview,
                    dicom: Some(read.header),
                }
            }
            _ => Prepared {
                media,
                thumbnail: imaging::thumbnail(&bytes, media)?,
                preview: None,
                dicom: None,
            },
        };
        Ok((bytes, prepared))
    })
    .await
    .map_err(|e| Error::internal(format!("preparing an upload: {e}")))?
}

/// Files a document in `patient`'s record.
pub async fn upload(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
    upload: Upload,
) -> Result<Document> {
    let grant = authorize(
        state,
        ctx,
        principal,
        patient,
        Section::Documents,
        Op::Write,
    )
    .await?;
    let max_bytes = state.config.files.max_document_bytes;
    let media = telemed_domain::files::accept(&upload.bytes, &RECORD_FILES, max_bytes)?;
    crate::quotas::admit(state, principal, upload.bytes.len() as u64).await?;
    let (bytes, prepared) = prepare(upload.bytes, media).await?;
    let details = upload.details.validate(prepared.media, &upload.file_name)?;
    if let Some(a) = upload.appointment {
        let reach = telemed_domain::access::visits_in_record(&grant).ok_or(Error::NotFound)?;
        if state.store.appointment(&reach, a).await?.is_none() {
            return Err(Error::invalid(
                "appointment",
                "the visit is not one of this patient's",
            ));
        }
    }
    let base = telemed_domain::files::clean_file_name(&upload.file_name, prepared.media);
    let mut sealed: Vec<Sealed> = Vec::with_capacity(3);
    let result = async {
        let now = state.clock.now();
        sealed.push(
            files::seal(
                &state.blobs,
                principal.user_id,
                &base,
                &bytes,
                prepared.media,
                now,
            )
            .await?,
        );
        for (suffix, rendered) in [
            ("thumbnail", &prepared.thumbnail),
            ("preview", &prepared.preview),
        ] {
            if let Some(r) = rendered {
                let name = format!("{base}.{suffix}.{}", r.media_type.extension());
                sealed.push(
                    files::seal(
                        &state.blobs,
                        principal.user_id,
                        &name,
                        &r.bytes,
                        r.media_type,
                        now,
                    )
                    .await?,
                );
            }
        }
        let mut ids = sealed.iter().map(|s| s.blob.id);
        let file = ids
            .next()
            .ok_or_else(|| Error::internal("no sealed file"))?;
        let thumbnail = prepared.thumbnail.as_ref().and_then(|_| ids.next());
        let preview = prepared.preview.as_ref().and_then(|_| ids.next());
        let mut change = Change::begin(state).await?;
        for s in &sealed {
            blobs::insert(change.tx(), s).await?;
        }
        let id = store::insert_document(
            change.tx(),
            &grant,
            &NewDocument {
                file,
                category: details.category,
                title: &details.title,
                description: details.description.as_deref(),
                appointment: upload.appointment,
                thumbnail,
                preview,
                dicom: prepared.dicom.as_ref(),
            },
            now,
        )
        .await?;
        change.audit(audit_write(ctx, state, &grant, id).detail(format!(
            "{}; {}",
            grant.basis().as_str(),
            prepared.media.as_str()
        )));
        change.commit().await?;
        Ok(id)
    }
    .await;
    match result {
        Ok(id) => state
            .store
            .document(id)
            .await?
            .ok_or(Error::NotFound)?
            .open(&grant),
        Err(e) => {
            files::discard(&state.blobs, &sealed).await;
            Err(e)
        }
    }
}

/// A patient's documents, newest first. Those entered in error are listed for
/// clinicians only (they keep the history); others see what is current.
pub async fn list(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    patient: UserId,
) -> Result<Vec<Document>> {
    let grant = authorize(state, ctx, principal, patient, Section::Documents, Op::Read).await?;
    state
        .store
        .documents_of(&grant, grant.sees_entered_in_error(), DOCUMENT_LIST_LIMIT)
        .await
}

/// A document someone may see, or `NotFound` (also when the policy says no).
async fn visible(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    id: DocumentId,
    action: &str,
) -> Result<Document> {
    let document = state.store.document(id).await?.ok_or(Error::NotFound)?;
    let grant = authorize_as(
        state,
        ctx,
        principal,
        document.patient(),
        (Section::Documents.into(), Op::Read),
        action,
    )
    .await?;
    let document = document.open(&grant)?;
    if document.status == DocumentStatus::EnteredInError && !grant.sees_entered_in_error() {
        return Err(Error::NotFound);
    }
    Ok(document)
}

/// One document's details (the read is audited).
pub async fn open(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    id: DocumentId,
) -> Result<Document> {
    visible(state, ctx, principal, id, "record.documents.read").await
}

/// Which bytes of a document to send.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rendition {
    /// The file as uploaded.
    Original,
    Thumbnail,
    /// The PNG made from a DICOM image at upload.
    Preview,
    /// A DICOM image rendered again through another window.
    Windowed(Window),
}

/// The bytes of a document's file or rendition, decrypted (the read is audited).
pub async fn file(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    id: DocumentId,
    rendition: Rendition,
) -> Result<(Blob, Vec<u8>)> {
    let action = match rendition {
        Rendition::Original => "record.documents.download",
        _ => "record.documents.view",
    };
    let document = visible(state, ctx, principal, id, action).await?;
    let blob = match rendition {
        Rendition::Original | Rendition::Windowed(_) => document.file.id,
        Rendition::Thumbnail => document.thumbnail.ok_or(Error::NotFound)?,
        Rendition::Preview => document.preview.ok_or(Error::NotFound)?,
    };
    let (blob, bytes) = state.blobs.read(&state.store, blob).await?;
    let Rendition::Windowed(window) = rendition else {
        return Ok((blob, bytes));
    };
    if blob.media_type != MediaType::Dicom || document.preview.is_none() {
        return Err(Error::NotFound);
    }
    let rendered = tokio::task::spawn_blocking(move || imaging::render_dicom_with(&bytes, window))
        .await
        .map_err(|e| Error::internal(format!("rendering a DICOM image: {e}")))??;
    let png = Blob {
        media_type: rendered.media_type,
        file_name: format!("{}.png", blob.file_name.trim_end_matches(".dcm")),
        byte_size: i64::try_from(rendered.bytes.len()).unwrap_or(i64::MAX),
        ..blob
    };
    Ok((png, rendered.bytes))
}

/// Marks a document entered in error (or current again). Its uploader or a clinician
/// with write access to the record may; the file is kept.
pub async fn change_status(
    state: &AppState,
    ctx: &Ctx,
    principal: &Principal,
    id: DocumentId,
    status: DocumentStatus,
    version: i64,
) -> Result<Document> {
    let document = state.store.document(id).await?.ok_or(Error::NotFound)?;
    let grant = authorize(
        state,
        ctx,
        principal,
        document.patient(),
        Section::Documents,
        Op::Write,
    )
    .await?;
    let document = document.open(&grant)?;
    if principal.role != Role::Clinician && document.uploaded_by != principal.user_id {
        return Err(Error::Forbidden);
    }
    let mut change = Change::begin(state).await?;
    store::set_document_status(change.tx(), &grant, id, status, version, state.clock.now()).await?;
    change.audit(audit_write(ctx, state, &grant, id).detail(format!(
        "{}; {}",
        grant.basis().as_str(),
        status.as_str()
    )));
    change.commit().await?;
    state
        .store
        .document(id)
        .await?
        .ok_or(Error::NotFound)?
        .open(&grant)
}
