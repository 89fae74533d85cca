//! Files, encrypted before they leave the process. Each object gets its own random
//! 256-bit data key; the content is sealed with AES-256-GCM (associated data: the blob
//! id) and written through `object_store` (a local folder, or an S3-compatible bucket).
//! The data key, wrapped under the master key, and the file's metadata are a row in
//! `blobs`. See ARCHITECTURE.md, "Files".

mod keys;
mod secrets;

use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;
use rand::RngCore;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use sha2::{Digest, Sha256};
use telemed_domain::{BlobId, Error, MediaType, Result, UserId};

pub use keys::{keys_from_file, rotate_key_file, MasterKey, Rotation};
pub use secrets::totp_purpose;

use crate::{from_micros, to_micros, Conn, DbResult, Store};

const OBJECT_MAGIC: &[u8; 4] = b"TMB1";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Where the encrypted objects go.
#[derive(Debug, Clone)]
pub enum Location {
    /// A folder on this machine (created when missing).
    Local(PathBuf),
    S3(S3Location),
}

#[derive(Debug, Clone)]
pub struct S3Location {
    pub bucket: String,
    /// e.g. `https://s3.eu-central-1.amazonaws.com` or `http://127.0.0.1:9000`.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Plain HTTP to the endpoint (a bucket inside the clinic's network only).
    pub allow_http: bool,
}

pub use telemed_domain::views::Blob;

/// What the file store holds against the database's rows (`Blobs::check_objects`).
#[derive(Debug, Default)]
pub struct ObjectCheck {
    pub rows: u64,
    /// Rows whose object is not there.
    pub missing: Vec<String>,
    /// Rows whose object is not the size the row says.
    pub wrong_size: Vec<String>,
    /// Rows whose object does not open (deep check): altered, or under another key.
    pub unreadable: Vec<String>,
    /// Objects no row names: uploads made after a backup was taken, or left by a crash
    /// (the hourly sweep removes them).
    pub unreferenced: u64,
}

impl ObjectCheck {
    /// Whether every row has its object, whole.
    pub fn is_whole(&self) -> bool {
        self.missing.is_empty() && self.wrong_size.is_empty() && self.unreadable.is_empty()
    }
}

/// An object written and waiting for its row (`insert`), which commits with whatever
/// refers to it.
#[derive(Debug)]
pub struct Sealed {
    pub blob: Blob,
    key_id: String,
    wrapped_key: String,
}

/// The encrypted file store. Cheap to clone.
#[derive(Clone)]
pub struct Blobs {
    objects: Arc<dyn ObjectStore>,
    /// The current master key first, then retired ones still able to unwrap old rows.
    keys: Arc<Vec<MasterKey>>,
}

impl std::fmt::Debug for Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blobs")
            .field("objects", &self.objects.to_string())
            .field("key_id", &self.keys.first().map(MasterKey::id))
            .finish()
    }
}

fn storage_error(e: impl std::fmt::Display) -> Error {
    Error::internal(format!("file storage: {e}"))
}

fn integrity_error(id: BlobId) -> Error {
    Error::internal(format!("blob {id} failed its integrity check"))
}

fn object_path(id: BlobId) -> ObjectPath {
    let s = id.to_string();
    ObjectPath::from(format!("blobs/{}/{s}", &s[..2]))
}

fn cipher(key: &[u8; 32]) -> Result<LessSafeKey> {
    UnboundKey::new(&AES_256_GCM, key)
        .map(LessSafeKey::new)
        .map_err(|_| Error::internal("bad AES-256 key"))
}

/// Appends `nonce | ciphertext | tag` of `plaintext` to `out` (AES-256-GCM, a random
/// 96-bit nonce; ring's implementation, which uses the CPU's AES and carry-less
/// multiply instructions).
fn seal_into(out: &mut Vec<u8>, key: &[u8; 32], plaintext: &[u8], aad: &[u8]) -> Result<()> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    out.reserve(NONCE_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(&nonce);
    let start = out.len();
    out.extend_from_slice(plaintext);
    let tag = cipher(key)?
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut out[start..],
        )
        .map_err(|_| Error::internal("encryption failed"))?;
    out.extend_from_slice(tag.as_ref());
    Ok(())
}

fn seal(key: &[u8; 32], plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    seal_into(&mut out, key, plaintext, aad)?;
    Ok(out)
}

/// Opens `nonce | ciphertext | tag`; None when anything was altered.
fn open(key: &[u8; 32], sealed: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return None;
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut buffer = body.to_vec();
    let plaintext_len = cipher(key)
        .ok()?
        .open_in_place(nonce, Aad::from(aad), &mut buffer)
        .ok()?
        .len();
    buffer.truncate(plaintext_len);
    Some(buffer)
}

impl Blobs {
    /// Opens the store at `location` with `keys` (current first, then retired).
    pub fn open(location: &Location, keys: Vec<MasterKey>) -> Result<Self> {
        if keys.is_empty() {
            return Err(Error::internal("the file store needs a master key"));
        }
        let objects: Arc<dyn ObjectStore> = match location {
            Location::Local(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    Error::invalid(
                        "files",
                        format!("cannot create the files folder {}: {e}", dir.display()),
                    )
                })?;
                Arc::new(
                    object_store::local::LocalFileSystem::new_with_prefix(dir)
                        .map_err(storage_error)?,
                )
            }
            Location::S3(s3) => {
                let mut builder = object_store::aws::AmazonS3Builder::new()
                    .with_bucket_name(&s3.bucket)
                    .with_region(&s3.region)
                    .with_access_key_id(&s3.access_key_id)
                    .with_secret_access_key(&s3.secret_access_key)
                    .with_allow_http(s3.allow_http);
                if let Some(endpoint) = &s3.endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_virtual_hosted_style_request(false);
                }
                Arc::new(builder.build().map_err(|e| {
                    Error::invalid("files", format!("the S3 settings do not work: {e}"))
                })?)
            }
        };
        Ok(Blobs {
            objects,
            keys: Arc::new(keys),
        })
    }

    pub fn current_key_id(&self) -> String {
        self.keys.first().map(MasterKey::id).unwrap_or_default()
    }

    /// Encrypts `bytes` under a fresh data key and writes the object. The row is written
    /// by `insert`, in the caller's transaction.
    pub async fn seal(
        &self,
        media_type: MediaType,
        file_name: &str,
        owner: UserId,
        bytes: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Sealed> {
        let id = BlobId::new();
        let aad = id.to_string();
        let mut data_key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut data_key);
        let mut object = Vec::with_capacity(OBJECT_MAGIC.len() + NONCE_LEN + bytes.len() + TAG_LEN);
        object.extend_from_slice(OBJECT_MAGIC);
        seal_into(&mut object, &data_key, bytes, aad.as_bytes())?;
        let master = self
            .keys
            .first()
            .ok_or_else(|| Error::internal("no master key"))?;
        let wrapped = seal(master.bytes(), &data_key, aad.as_bytes())?;
        self.objects
            .put(&object_path(id), object.into())
            .await
            .map_err(storage_error)?;
        Ok(Sealed {
            blob: Blob {
                id,
                media_type,
                file_name: file_name.to_owned(),
                byte_size: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
                sha256: hex::encode(Sha256::digest(bytes)),
                owner_id: owner,
                created_at: now,
            },
            key_id: master.id(),
            wrapped_key: base64::engine::general_purpose::STANDARD.encode(wrapped),
        })
    }

    /// Reads and decrypts a blob. Anything altered (object or wrapped key) is an
    /// integrity error, never altered bytes.
    pub async fn read(&self, store: &Store, id: BlobId) -> Result<(Blob, Vec<u8>)> {
        let row = store.blob_row(id).await?.ok_or(Error::NotFound)?;
        let data_key = self.unwrap_key(id, &row.key_id, &row.wrapped_key)?;
        let object = self
            .objects
            .get(&object_path(id))
            .await
            .map_err(|e| match e {
                object_store::Error::NotFound { .. } => {
                    Error::internal(format!("blob {id} has a row but no object"))
                }
                e => storage_error(e),
            })?
            .bytes()
            .await
            .map_err(storage_error)?;
        let sealed = object
            .strip_prefix(OBJECT_MAGIC.as_slice())
            .ok_or_else(|| integrity_error(id))?;
        // The GCM tag authenticates the content under this blob's own key and id, so an
        // altered, truncated or swapped object never opens; the stored SHA-256 is for
        // reference (FHIR Attachment.hash), not checked again here.
        let plaintext = open(&data_key, sealed, id.to_string().as_bytes())
            .ok_or_else(|| integrity_error(id))?;
        if i64::try_from(plaintext.len()).ok() != Some(row.blob.byte_size) {
            return Err(integrity_error(id));
        }
        Ok((row.blob, plaintext))
    }

    /// The master key named `key_id`; the error says `what` needs it.
    fn master_key(&self, key_id: &str, what: &str) -> Result<&MasterKey> {
        self.keys.iter().find(|k| k.id() == key_id).ok_or_else(|| {
            Error::internal(format!(
                "{what} is sealed under master key {key_id}, which this node does not have"
            ))
        })
    }

    fn unwrap_key(&self, id: BlobId, key_id: &str, wrapped: &str) -> Result<[u8; 32]> {
        let master = self.master_key(key_id, &format!("blob {id}"))?;
        let wrapped = base64::engine::general_purpose::STANDARD
            .decode(wrapped)
            .map_err(|_| integrity_error(id))?;
        let key = open(master.bytes(), &wrapped, id.to_string().as_bytes())
            .ok_or_else(|| integrity_error(id))?;
        key.try_into().map_err(|_| integrity_error(id))
    }

    /// Fails when the database holds files or secrets sealed under a master key this
    /// node lacks (a lost or mistyped key file, or nodes configured with different
    /// keys): better to refuse to start than to mint a new key and leave those files
    /// unreadable and those second factors unusable.
    pub async fn check_keys(&self, store: &Store) -> Result<()> {
        let used: Vec<(String,)> = sqlx::query_as("SELECT DISTINCT key_id FROM blobs")
            .fetch_all(store.pool())
            .await
            .db()?;
        let mut missing: Vec<String> = used
            .into_iter()
            .map(|(k,)| k)
            .chain(Self::totp_key_ids(store).await?)
            .filter(|k| !self.keys.iter().any(|m| &m.id() == k))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        if missing.is_empty() {
            return Ok(());
        }
        Err(Error::invalid(
            "files",
            format!(
                "stored files or secrets are encrypted under master key(s) {} but this node has only {}; restore the key file (files.master_key_file) from your backup",
                missing.join(", "),
                self.keys.iter().map(MasterKey::id).collect::<Vec<_>>().join(", ")
            ),
        ))
    }

    /// Deletes stored objects that no row refers to and that were written before
    /// `written_before`: what a node that died between writing an upload's object and
    /// committing its row left behind (objects are written first, rows after). The
    /// cut-off leaves uploads in flight alone. Returns how many were deleted.
    pub async fn sweep_orphans(&self, store: &Store, written_before: DateTime<Utc>) -> Result<u64> {
        use futures::TryStreamExt as _;
        let listed: Vec<object_store::ObjectMeta> = self
            .objects
            .list(Some(&ObjectPath::from("blobs")))
            .try_collect()
            .await
            .map_err(storage_error)?;
        let old: Vec<(BlobId, ObjectPath)> = listed
            .into_iter()
            .filter(|o| o.last_modified < written_before)
            .filter_map(|o| {
                let id = o.location.filename()?.parse().ok()?;
                Some((id, o.location))
            })
            .collect();
        let mut deleted = 0;
        for chunk in old.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!("SELECT id FROM blobs WHERE id IN ({})", marks.join(", "));
            let mut query = sqlx::query_as::<_, (String,)>(&sql);
            for (id, _) in chunk {
                query = query.bind(id.to_string());
            }
            let known: std::collections::HashSet<String> = query
                .fetch_all(store.pool())
                .await
                .db()?
                .into_iter()
                .map(|(id,)| id)
                .collect();
            for (id, path) in chunk {
                if known.contains(&id.to_string()) {
                    continue;
                }
                match self.objects.delete(path).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => deleted += 1,
                    Err(e) => return Err(storage_error(e)),
                }
            }
        }
        Ok(deleted)
    }

    /// Holds every row of `store` against the objects stored: each row's object must
    /// be there at the size its row says, and with `deep`, open under its key (the GCM
    /// tag proves it whole; every byte is read). Objects no row names are counted.
    pub async fn check_objects(&self, store: &Store, deep: bool) -> Result<ObjectCheck> {
        use futures::TryStreamExt as _;
        let mut listed: std::collections::HashMap<String, u64> = self
            .objects
            .list(Some(&ObjectPath::from("blobs")))
            .map_ok(|o| (o.location.filename().unwrap_or_default().to_owned(), o.size))
            .try_collect()
            .await
            .map_err(storage_error)?;
        let overhead = (OBJECT_MAGIC.len() + NONCE_LEN + TAG_LEN) as u64;
        let mut check = ObjectCheck::default();
        let mut after = String::new();
        loop {
            let page: Vec<(String, i64)> = sqlx::query_as(
                "SELECT id, byte_size FROM blobs WHERE id > $1 ORDER BY id LIMIT 1000",
            )
            .bind(after.clone())
            .fetch_all(store.pool())
            .await
            .db()?;
            let Some((last, _)) = page.last() else {
                break;
            };
            after = last.clone();
            for (id, size) in page {
                check.rows += 1;
                let Ok(blob) = id.parse::<BlobId>() else {
                    check.unreadable.push(id);
                    continue;
                };
                match listed.remove(&id) {
                    None => check.missing.push(id),
                    Some(stored)
                        if i64::try_from(stored - overhead.min(stored)).ok() != Some(size) =>
                    {
                        check.wrong_size.push(id)
                    }
                    Some(_) if deep && self.read(store, blob).await.is_err() => {
                        check.unreadable.push(id)
                    }
                    Some(_) => {}
                }
            }
        }
        check.unreferenced = listed.len() as u64;
        Ok(check)
    }

    /// Deletes the object of a blob whose row never committed (or was removed).
    pub async fn delete_object(&self, id: BlobId) -> Result<()> {
        match self.objects.delete(&object_path(id)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(storage_error(e)),
        }
    }

    /// The stored object exactly as it is at rest (tests and tools: proof that no
    /// plaintext is stored).
    pub async fn raw_object(&self, id: BlobId) -> Result<Vec<u8>> {
        let got = self
            .objects
            .get(&object_path(id))
            .await
            .map_err(storage_error)?;
        Ok(got.bytes().await.map_err(storage_error)?.to_vec())
    }

    /// Replaces the stored object (tests and tools only: proving tampering is caught).
    pub async fn replace_raw_object(&self, id: BlobId, bytes: Vec<u8>) -> Result<()> {
        self.objects
            .put(&object_path(id), bytes.into())
            .await
            .map_err(storage_error)?;
        Ok(())
    }

    /// Re-wraps every data key not yet under the current master key. Rows are done in
    /// batches, each in its own transaction, so an interrupted run leaves every row
    /// readable and a second run finishes the job. Returns how many rows changed.
    pub async fn rewrap_all(&self, store: &Store) -> Result<u64> {
        let current = self.current_key_id();
        let mut changed = 0u64;
        loop {
            let batch: Vec<(String, String, String)> = sqlx::query_as(
                "SELECT id, key_id, wrapped_key FROM blobs WHERE key_id <> $1 ORDER BY id LIMIT 500",
            )
            .bind(current.clone())
            .fetch_all(store.pool())
            .await
            .db()?;
            if batch.is_empty() {
                return Ok(changed);
            }
            let master = self
                .keys
                .first()
                .ok_or_else(|| Error::internal("no master key"))?;
            let mut tx = store.begin_write().await?;
            for (id, key_id, wrapped) in batch {
                let blob_id: BlobId = id
                    .parse()
                    .map_err(|_| Error::internal(format!("bad blob id {id}")))?;
                let data_key = self.unwrap_key(blob_id, &key_id, &wrapped)?;
                let rewrapped = seal(master.bytes(), &data_key, id.as_bytes())?;
                sqlx::query(
                    "UPDATE blobs SET key_id = $1, wrapped_key = $2 WHERE id = $3 AND key_id = $4",
                )
                .bind(current.clone())
                .bind(base64::engine::general_purpose::STANDARD.encode(rewrapped))
                .bind(id)
                .bind(key_id)
                .execute(&mut **tx)
                .await
                .db()?;
                changed += 1;
            }
            tx.commit().await.db()?;
        }
    }
}

/// Writes the row of a sealed object, in the caller's transaction.
pub async fn insert(conn: &mut Conn, sealed: &Sealed) -> Result<()> {
    let b = &sealed.blob;
    sqlx::query(
        "INSERT INTO blobs (id, media_type, file_name, byte_size, sha256, key_id, wrapped_key, owner_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(b.id.to_string())
    .bind(b.media_type.as_str())
    .bind(b.file_name.clone())
    .bind(b.byte_size)
    .bind(b.sha256.clone())
    .bind(sealed.key_id.clone())
    .bind(sealed.wrapped_key.clone())
    .bind(b.owner_id.to_string())
    .bind(to_micros(b.created_at))
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

pub(crate) const BLOB_COLUMNS: &str =
    "b.id, b.media_type, b.file_name, b.byte_size, b.sha256, b.owner_id, b.created_at";

/// A `blobs` row as selected with `BLOB_COLUMNS`.
#[derive(sqlx::FromRow)]
pub(crate) struct BlobRecord {
    id: String,
    media_type: String,
    file_name: String,
    byte_size: i64,
    sha256: String,
    owner_id: String,
    created_at: i64,
}

impl BlobRecord {
    pub(crate) fn into_blob(self) -> Result<Blob> {
        let id = self.id;
        let bad = |what: &str| Error::internal(format!("blobs row {id}: bad {what}"));
        Ok(Blob {
            id: id.parse().map_err(|_| bad("id"))?,
            media_type: MediaType::parse(&self.media_type).ok_or_else(|| bad("media_type"))?,
            file_name: self.file_name,
            byte_size: self.byte_size,
            sha256: self.sha256,
            owner_id: self.owner_id.parse().map_err(|_| bad("owner_id"))?,
            created_at: from_micros(self.created_at),
        })
    }
}

#[derive(sqlx::FromRow)]
struct KeyedRecord {
    #[sqlx(flatten)]
    blob: BlobRecord,
    key_id: String,
    wrapped_key: String,
}

struct BlobRow {
    blob: Blob,
    key_id: String,
    wrapped_key: String,
}

impl Store {
    pub async fn blob(&self, id: BlobId) -> Result<Option<Blob>> {
        Ok(self.blob_row(id).await?.map(|r| r.blob))
    }

    async fn blob_row(&self, id: BlobId) -> Result<Option<BlobRow>> {
        let sql =
            format!("SELECT {BLOB_COLUMNS}, b.key_id, b.wrapped_key FROM blobs b WHERE b.id = $1");
        let row: Option<KeyedRecord> = sqlx::query_as(&sql)
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await
            .db()?;
        row.map(|r| {
            Ok(BlobRow {
                blob: r.blob.into_blob()?,
                key_id: r.key_id,
                wrapped_key: r.wrapped_key,
            })
        })
        .transpose()
    }
}
