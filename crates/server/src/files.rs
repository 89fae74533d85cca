//! The encrypted file store as configured (`[files]`), and how a stored file is sent
//! to a browser: its sniffed type, never rendered as a page of our origin.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use telemed_domain::{Error, MediaType, Result, UserId};
use telemed_store::blobs::{Blob, Blobs, Location, MasterKey, S3Location, Sealed};

use crate::config::Config;

/// Where the configured store keeps its objects.
pub fn location(config: &Config) -> Result<Location> {
    let files = &config.files;
    match (files.storage.as_str(), &files.s3) {
        ("s3", Some(s3)) => Ok(Location::S3(S3Location {
            bucket: s3.bucket.clone(),
            endpoint: s3.endpoint.clone(),
            region: s3.region.clone(),
            access_key_id: s3.access_key_id.clone(),
            secret_access_key: s3.secret_access_key.clone().unwrap_or_default(),
            allow_http: s3.allow_http,
        })),
        _ => Ok(Location::Local(files.local_dir(&config.data_dir))),
    }
}

/// The master keys this node reads with (current first).
pub fn master_keys(config: &Config) -> Result<Vec<MasterKey>> {
    match &config.files.master_key {
        Some(inline) => Ok(vec![MasterKey::from_base64(inline)?]),
        None => {
            telemed_store::blobs::keys_from_file(&config.files.master_key_file(&config.data_dir))
        }
    }
}

/// Opens the configured file store; at first start this creates the master key file.
pub fn open(config: &Config) -> Result<Blobs> {
    Blobs::open(&location(config)?, master_keys(config)?)
}

/// Encrypts and writes one checked file under a cleaned name. Its row is written by
/// `blobs::insert` in the caller's transaction; if that does not commit, `discard`.
pub async fn seal(
    blobs: &Blobs,
    owner: UserId,
    name: &str,
    bytes: &[u8],
    kind: MediaType,
    now: DateTime<Utc>,
) -> Result<Sealed> {
    let name = telemed_domain::files::clean_file_name(name, kind);
    blobs.seal(kind, &name, owner, bytes, now).await
}

/// Removes the objects of sealed files whose rows did not commit.
/// How long an object may exist without its row before the sweep takes it: far longer
/// than any upload takes between writing the object and committing the row.
pub const ORPHAN_GRACE: chrono::Duration = chrono::Duration::hours(1);

/// Every hour, deletes stored objects no row refers to (left by a node that died between
/// writing an upload's object and committing its row), and uploads nobody sent in time
/// (`quotas::expire_unsent`). Every node may run it: deleting an orphan twice is
/// harmless, and objects younger than `ORPHAN_GRACE` are left alone.
pub async fn run_sweeper(state: crate::AppState) {
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        let cutoff = state.clock.now() - ORPHAN_GRACE;
        match state.blobs.sweep_orphans(&state.store, cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "removed stored files that nothing refers to"),
            Err(e) => tracing::warn!(error = ?e, "sweeping unreferenced stored files failed"),
        }
        match crate::quotas::expire_unsent(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "removed uploads nobody sent in time"),
            Err(e) => tracing::warn!(error = ?e, "expiring unsent uploads failed"),
        }
    }
}

pub async fn discard(blobs: &Blobs, sealed: &[Sealed]) {
    for s in sealed {
        if let Err(e) = blobs.delete_object(s.blob.id).await {
            tracing::warn!(blob = %s.blob.id, error = %e, "could not remove an unused file object");
        }
    }
}

/// How a browser should treat a sent file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Shown in the page (images, PDFs in their viewer).
    Inline,
    /// Saved as a file.
    Download,
}

impl Disposition {
    /// `?download=true` asks for a file to save; otherwise it is shown.
    pub fn from_query(download: bool) -> Self {
        if download {
            Disposition::Download
        } else {
            Disposition::Inline
        }
    }
}

/// A stored file as an HTTP response. The type is the sniffed one; `nosniff` and a
/// sandboxing CSP stop a crafted file from running as a page of telemed's origin;
/// nothing is cached by shared caches.
pub fn response(blob: &Blob, bytes: Vec<u8>, disposition: Disposition) -> Response {
    let kind = match disposition {
        Disposition::Inline => "inline",
        Disposition::Download => "attachment",
    };
    let ascii: String = blob
        .file_name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = blob
        .file_name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let disposition = format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}");
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(blob.media_type.mime()),
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    response
}

/// Reads an upload's bytes from a multipart field, refusing more than `max` bytes
/// without reading the rest.
pub async fn read_field(
    mut field: axum::extract::multipart::Field<'_>,
    max: usize,
) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| Error::invalid("file", format!("the upload broke off: {e}")))?
    {
        if bytes.len() + chunk.len() > max {
            return Err(Error::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}
