//! The ciphertext routes. A server keeps only ciphertext the chain names: an upload says
//! which record (`?record=ID`) and is taken only if that record is active on the
//! finalized chain with this content hash as its current one, so a stranger cannot fill
//! the disk for free (registering a record costs a fee and a deposit). Uploads stream to
//! a temporary file, hashed as they come and bounded in size; downloads stream from disk.

use crate::http::{ApiError, ServerState};
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use medconsent_keyrelease::blobs::BlobError;
use medconsent_keyrelease::decide::Refusal;
use medconsent_keyrelease::wire::{self, BlobReceipt, BlobUpload, ErrorCode};
use medconsent_shared::RecordStatus;
use std::sync::Arc;

fn blob_hash(text: &str) -> Result<[u8; 32], ApiError> {
    wire::hash_from_hex(text)
        .ok_or_else(|| ApiError::new(ErrorCode::BadHash, "not a 32-byte hex hash"))
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        ErrorCode::TooLarge,
        format!("a blob is at most {limit} bytes here"),
    )
}

/// Keeps ciphertext under the hash it has, for the record that names it.
pub async fn put_blob(
    State(server): State<Arc<ServerState>>,
    Path(hash): Path<String>,
    target: Result<Query<BlobUpload>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<BlobReceipt>), ApiError> {
    let expected = blob_hash(&hash)?;
    let Query(target) = target.map_err(|_| {
        ApiError::new(
            ErrorCode::BadRecordId,
            "name the record whose content hash this is: ?record=ID",
        )
    })?;
    let limit = server.blob_limit;
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    // The chain first: nothing is written for a blob no record names.
    let (block, now) = server.reader.finalized().await?;
    server.ready_at(block, now).await?;
    let record = server
        .reader
        .record(block, target.record)
        .await?
        .ok_or(Refusal::RecordNotFound)?;
    if record.status == RecordStatus::Retired {
        return Err(Refusal::Retired.into());
    }
    if record.content_hash != expected {
        return Err(ApiError::new(
            ErrorCode::UnregisteredBlob,
            "the record's current content hash is another: only ciphertext the chain names is kept",
        ));
    }
    let mut writer = tokio::task::block_in_place(|| server.blobs.writer())
        .map_err(|e| ApiError::internal(ErrorCode::Storage, e))?;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::new(ErrorCode::BadBody, e.to_string()))?;
        let len = u64::try_from(chunk.len()).unwrap_or(u64::MAX);
        if writer.written().saturating_add(len) > limit as u64 {
            return Err(too_large(limit));
        }
        tokio::task::block_in_place(|| writer.write(&chunk))
            .map_err(|e| ApiError::internal(ErrorCode::Storage, e))?;
    }
    let size = writer.written();
    // Synced, checked against the hash, then renamed: a reader never sees half a blob,
    // and nobody can put other bytes under a record's hash.
    tokio::task::block_in_place(|| writer.finish(&expected)).map_err(|e| match e {
        BlobError::HashMismatch { actual, .. } => ApiError::new(
            ErrorCode::HashMismatch,
            format!("the body hashes to {}", wire::hash_to_hex(&actual)),
        ),
        other => ApiError::internal(ErrorCode::Storage, other),
    })?;
    Ok((
        StatusCode::CREATED,
        Json(BlobReceipt {
            content_hash: wire::hash_to_hex(&expected),
            size,
        }),
    ))
}

/// The ciphertext, streamed from disk.
pub async fn get_blob(
    State(server): State<Arc<ServerState>>,
    Path(hash): Path<String>,
) -> Result<Response, ApiError> {
    let hash = blob_hash(&hash)?;
    let file = match tokio::fs::File::open(server.blobs.blob_path(&hash)).await {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ApiError::new(
                ErrorCode::NoBlob,
                "no blob with this hash here",
            ))
        }
        Err(e) => return Err(ApiError::internal(ErrorCode::Storage, e)),
    };
    let length = file
        .metadata()
        .await
        .map_err(|e| ApiError::internal(ErrorCode::Storage, e))?
        .len();
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_LENGTH, length.to_string()),
        ],
        Body::from_stream(tokio_util::io::ReaderStream::new(file)),
    )
        .into_response())
}
