//! The ciphertext routes. A server keeps only ciphertext the chain names: an upload says
//! which record (`?record=ID`) and is taken only if that record is active on the
//! finalized chain with this content hash as its current one, so a stranger cannot fill
//! the disk for free (registering a record costs a fee and a deposit). Uploads stream
//! into the blob store (`blob_store`), hashed as they come and bounded in size;
//! downloads stream from it. Each blob is noted as the content of that record version,
//! so it is deleted once the record is retired or rotated (`crate::sweep`).

use crate::blob_store::PutError;
use crate::http::{ApiError, ServerState};
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
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
    // Stored and named under the read side, so no sweep deletes it in between.
    let _named = server.blob_names.read().await;
    let size = server
        .blobs
        .put(&expected, body.into_data_stream(), limit)
        .await
        .map_err(|e| match e {
            PutError::TooLarge(limit) => too_large(limit),
            PutError::BadBody(why) => ApiError::new(ErrorCode::BadBody, why),
            PutError::HashMismatch { actual } => ApiError::new(
                ErrorCode::HashMismatch,
                format!("the body hashes to {}", wire::hash_to_hex(&actual)),
            ),
            PutError::Store(e) => ApiError::internal(ErrorCode::Storage, e),
        })?;
    tokio::task::block_in_place(|| {
        server
            .shares
            .name_blob(target.record, record.version, &expected)
    })?;
    Ok((
        StatusCode::CREATED,
        Json(BlobReceipt {
            content_hash: wire::hash_to_hex(&expected),
            size,
        }),
    ))
}

/// The ciphertext, streamed from the blob store.
pub async fn get_blob(
    State(server): State<Arc<ServerState>>,
    Path(hash): Path<String>,
) -> Result<Response, ApiError> {
    let hash = blob_hash(&hash)?;
    let found = server
        .blobs
        .get(&hash)
        .await
        .map_err(|e| ApiError::internal(ErrorCode::Storage, e))?
        .ok_or_else(|| ApiError::new(ErrorCode::NoBlob, "no blob with this hash here"))?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_LENGTH, found.size.to_string()),
        ],
        found.body,
    )
        .into_response())
}
