//! Where a key server keeps ciphertext: a local folder (the default: nothing to install)
//! or, for hospitals that outgrow one disk, an S3-compatible object store they already
//! run (`--blob-store s3://bucket/prefix`, credentials and endpoint from the standard
//! `AWS_*` environment). Either way a blob is kept only under the hash it has: uploads
//! are hashed as they stream and land under their name only once they match, so a
//! reader never sees half a blob or other bytes under a record's hash.

use axum::body::{Body, Bytes};
use futures::{Stream, StreamExt};
use medconsent_keyrelease::blobs::{Blake2b256, BlobDir, BlobError};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, WriteMultipart};
use std::path::PathBuf;
use std::sync::Arc;

/// Uploads in progress live under this prefix of an object store until they match.
const INCOMING: &str = "incoming";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("blob folder {path}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("object store {url}: {source}")]
    Object {
        url: String,
        source: object_store::Error,
    },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("blob store: {0}")]
    Blob(#[from] BlobError),
}

/// Why an upload was not kept.
#[derive(Debug, thiserror::Error)]
pub enum PutError {
    #[error("larger than {0} bytes")]
    TooLarge(usize),
    #[error("the body could not be read: {0}")]
    BadBody(String),
    #[error("the body hashes to another hash")]
    HashMismatch { actual: [u8; 32] },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A blob found: its length and its bytes as a stream.
pub struct Found {
    pub size: u64,
    pub body: Body,
}

/// Where the operator said blobs go.
#[derive(Debug, Clone)]
pub enum BlobLocation {
    Folder(PathBuf),
    /// `s3://bucket[/prefix]`.
    S3(String),
}

pub enum BlobStore {
    Folder(BlobDir),
    Object {
        store: Arc<dyn ObjectStore>,
        url: String,
    },
}

impl BlobStore {
    pub fn open(location: &BlobLocation) -> Result<Self, StoreError> {
        match location {
            BlobLocation::Folder(path) => Self::folder(path),
            BlobLocation::S3(url) => Self::s3(url),
        }
    }

    /// A folder, created private to this user if missing.
    pub fn folder(path: &std::path::Path) -> Result<Self, StoreError> {
        BlobDir::new(path)
            .map(Self::Folder)
            .map_err(|source| StoreError::Folder {
                path: path.to_owned(),
                source,
            })
    }

    /// An S3-compatible store named by `s3://bucket[/prefix]`; endpoint, region and
    /// credentials from the `AWS_*` environment (`AWS_ENDPOINT` for a store that is not
    /// Amazon's, `AWS_ALLOW_HTTP=true` for one on plain HTTP).
    pub fn s3(url: &str) -> Result<Self, StoreError> {
        let object = |source| StoreError::Object {
            url: url.to_owned(),
            source,
        };
        let parsed = url::Url::parse(url).map_err(|e| {
            object(object_store::Error::Generic {
                store: "S3",
                source: Box::new(e),
            })
        })?;
        if parsed.scheme() != "s3" {
            return Err(object(object_store::Error::Generic {
                store: "S3",
                source: "only s3://bucket[/prefix] URLs are known".into(),
            }));
        }
        let bucket = object_store::aws::AmazonS3Builder::from_env()
            .with_url(url)
            .build()
            .map_err(object)?;
        let prefix = parsed.path().trim_matches('/');
        let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
            Arc::new(bucket)
        } else {
            Arc::new(object_store::prefix::PrefixStore::new(bucket, prefix))
        };
        Ok(Self::Object {
            store,
            url: url.to_owned(),
        })
    }

    fn object_error(url: &str, source: object_store::Error) -> StoreError {
        StoreError::Object {
            url: url.to_owned(),
            source,
        }
    }

    /// Removes what an earlier run left mid-upload; returns how many.
    pub async fn remove_leftovers(&self) -> Result<usize, StoreError> {
        match self {
            Self::Folder(dir) => Ok(tokio::task::block_in_place(|| dir.remove_leftovers())?),
            Self::Object { store, url } => {
                let incoming = ObjectPath::from(INCOMING);
                let mut listed = store.list(Some(&incoming));
                let mut removed = 0usize;
                while let Some(meta) = listed.next().await {
                    let meta = meta.map_err(|e| Self::object_error(url, e))?;
                    store
                        .delete(&meta.location)
                        .await
                        .map_err(|e| Self::object_error(url, e))?;
                    removed = removed.saturating_add(1);
                }
                Ok(removed)
            }
        }
    }

    /// Keeps the bytes of `body` as the blob of `expected` if they hash to it and are at
    /// most `limit` bytes; returns the size kept.
    pub async fn put<S, E>(
        &self,
        expected: &[u8; 32],
        body: S,
        limit: usize,
    ) -> Result<u64, PutError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        match self {
            Self::Folder(dir) => put_in_folder(dir, expected, body, limit).await,
            Self::Object { store, url } => {
                put_in_object_store(store, url, expected, body, limit).await
            }
        }
    }

    /// The blob of `hash`, or None if this store has none.
    pub async fn get(&self, hash: &[u8; 32]) -> Result<Option<Found>, StoreError> {
        match self {
            Self::Folder(dir) => {
                let file = match tokio::fs::File::open(dir.blob_path(hash)).await {
                    Ok(file) => file,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(e.into()),
                };
                let size = file.metadata().await?.len();
                let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
                Ok(Some(Found { size, body }))
            }
            Self::Object { store, url } => match store.get(&blob_name(hash)).await {
                Ok(found) => Ok(Some(Found {
                    size: found.meta.size,
                    body: Body::from_stream(found.into_stream()),
                })),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(Self::object_error(url, e)),
            },
        }
    }
}

impl BlobStore {
    /// Deletes the blob of `hash`; true if there was one.
    pub async fn delete(&self, hash: &[u8; 32]) -> Result<bool, StoreError> {
        match self {
            Self::Folder(dir) => match tokio::fs::remove_file(dir.blob_path(hash)).await {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(e.into()),
            },
            Self::Object { store, url } => {
                let name = blob_name(hash);
                match store.head(&name).await {
                    Ok(_) => {}
                    Err(object_store::Error::NotFound { .. }) => return Ok(false),
                    Err(e) => return Err(Self::object_error(url, e)),
                }
                match store.delete(&name).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(true),
                    Err(e) => Err(Self::object_error(url, e)),
                }
            }
        }
    }
}

fn blob_name(hash: &[u8; 32]) -> ObjectPath {
    ObjectPath::from(hex::encode(hash))
}

fn too_large(written: u64, chunk: usize, limit: usize) -> bool {
    let len = u64::try_from(chunk).unwrap_or(u64::MAX);
    written.saturating_add(len) > u64::try_from(limit).unwrap_or(u64::MAX)
}

async fn put_in_folder<S, E>(
    dir: &BlobDir,
    expected: &[u8; 32],
    mut body: S,
    limit: usize,
) -> Result<u64, PutError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut writer = tokio::task::block_in_place(|| dir.writer()).map_err(StoreError::Io)?;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| PutError::BadBody(e.to_string()))?;
        if too_large(writer.written(), chunk.len(), limit) {
            return Err(PutError::TooLarge(limit));
        }
        tokio::task::block_in_place(|| writer.write(&chunk)).map_err(StoreError::Io)?;
    }
    let size = writer.written();
    // Synced, checked against the hash, then renamed.
    tokio::task::block_in_place(|| writer.finish(expected)).map_err(|e| match e {
        BlobError::HashMismatch { actual, .. } => PutError::HashMismatch { actual },
        other => PutError::Store(other.into()),
    })?;
    Ok(size)
}

/// Streamed to `incoming/<random>` as a multipart upload, hashed as it goes, then copied
/// under its hash (a copy inside the store) if it matches; the incoming object is
/// deleted whatever happens.
async fn put_in_object_store<S, E>(
    store: &Arc<dyn ObjectStore>,
    url: &str,
    expected: &[u8; 32],
    mut body: S,
    limit: usize,
) -> Result<u64, PutError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    use blake2::Digest;
    let failed = |e| PutError::Store(BlobStore::object_error(url, e));
    let mut tag = [0u8; 12];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut tag);
    let incoming = ObjectPath::from(format!("{INCOMING}/{}", hex::encode(tag)));
    let mut upload = WriteMultipart::new(store.put_multipart(&incoming).await.map_err(failed)?);
    let mut hasher = Blake2b256::new();
    let mut written = 0u64;
    let streamed: Result<(), PutError> = async {
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| PutError::BadBody(e.to_string()))?;
            if too_large(written, chunk.len(), limit) {
                return Err(PutError::TooLarge(limit));
            }
            hasher.update(&chunk);
            written = written.saturating_add(u64::try_from(chunk.len()).unwrap_or(u64::MAX));
            upload.wait_for_capacity(8).await.map_err(failed)?;
            upload.write(&chunk);
        }
        Ok(())
    }
    .await;
    if let Err(e) = streamed {
        let _ = upload.abort().await;
        return Err(e);
    }
    let actual: [u8; 32] = hasher.finalize().into();
    if &actual != expected {
        let _ = upload.abort().await;
        return Err(PutError::HashMismatch { actual });
    }
    upload.finish().await.map_err(failed)?;
    let kept = store.copy(&incoming, &blob_name(expected)).await;
    let _ = store.delete(&incoming).await;
    kept.map_err(failed)?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn a_folder_blob_is_deleted_once_and_others_stay() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::folder(dir.path()).unwrap();
        let (one, two) = (b"one ciphertext".to_vec(), b"another".to_vec());
        let hashes =
            [one.as_slice(), two.as_slice()].map(medconsent_keyrelease::blobs::blake2b_256);
        for (hash, bytes) in hashes.iter().zip([one, two]) {
            let chunks = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from(bytes))]);
            store.put(hash, chunks, 1024).await.unwrap();
        }
        assert!(store.delete(&hashes[0]).await.unwrap());
        assert!(!store.delete(&hashes[0]).await.unwrap());
        assert!(store.get(&hashes[0]).await.unwrap().is_none());
        assert_eq!(
            store.get(&hashes[1]).await.unwrap().map(|f| f.size),
            Some(7)
        );
    }
}
