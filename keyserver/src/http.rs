//! The HTTP surface. Every answer is JSON; every refusal is `{"error": code, "message":
//! text}` with a stable code and the status it implies, whatever went wrong: a rule of
//! the release protocol, a malformed or oversized body, an unknown route, an unreachable
//! node. Requests and answers carry the protocol's SCALE bytes as 0x-hex, so the bytes a
//! wallet signs are exactly the bytes the server checks.
//!
//! Routes:
//! - `GET  /v1/health`: the server's X25519 key, directory account, counts.
//! - `POST /v1/deposit` `{"signed": hex(SignedDeposit)}`: keep a share (201).
//! - `POST /v1/release` `{"signed": hex(SignedRequest)}`: `{"released": hex(ReleasedShare)}`.
//! - `POST /v1/retire` `{"record": id}`: delete every share of a record retired on chain.
//! - `GET  /v1/records/{id}`: the versions of a record this server holds a share of.
//! - `PUT  /v1/blobs/0x{hash}`: store ciphertext under its blake2b-256 hash (checked).
//! - `GET  /v1/blobs/0x{hash}`: the ciphertext (`application/octet-stream`).

use crate::facts::ChainReader;
use crate::request_log::{log_request, RefusalCode};
use crate::store::{ReleaseRecord, Store, StoreError, StoredShare};
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::handler::Handler;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use medconsent_keyrelease::decide::{self, Policy, Refusal};
use medconsent_keyrelease::envelope::{self, deposit_context, release_context};
use medconsent_keyrelease::request::{ReleasedShare, SignedDeposit, SignedRequest};
use medconsent_shared::{AccountId, RecordStatus};
use parity_scale_codec::{Decode, Encode};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use x25519_dalek::{PublicKey, StaticSecret};

/// A key server's state: its keys, its database, its view of the chain, its rules.
pub struct KeyServer {
    pub store: Store,
    pub reader: ChainReader,
    pub secret: StaticSecret,
    pub public: [u8; 32],
    pub account: AccountId,
    pub policy: Policy,
    /// Ciphertext blobs, one file per content hash.
    pub blobs: medconsent_client::store::Store,
}

/// A refusal as the client sees it.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(json!({"error": self.code, "message": self.message})),
        )
            .into_response();
        response.extensions_mut().insert(RefusalCode(self.code));
        response
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        Self::new(
            StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::FORBIDDEN),
            refusal.code(),
            refusal.to_string(),
        )
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let (status, code) = match &rejection {
            JsonRejection::JsonSyntaxError(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
            JsonRejection::JsonDataError(_) => (StatusCode::UNPROCESSABLE_ENTITY, "wrong_type"),
            JsonRejection::MissingJsonContentType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "not_json")
            }
            _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                (StatusCode::PAYLOAD_TOO_LARGE, "too_large")
            }
            _ => (StatusCode::BAD_REQUEST, "bad_body"),
        };
        Self::new(status, code, rejection.body_text())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "storage", e.to_string())
    }
}

impl From<medconsent_chain::Error> for ApiError {
    fn from(e: medconsent_chain::Error) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, "chain_unavailable", e.to_string())
    }
}

type Answer = Result<(StatusCode, Json<Value>), ApiError>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignedBody {
    signed: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RetireBody {
    record: u64,
}

fn decode_hex<T: Decode>(text: &str) -> Result<T, ApiError> {
    let bad = |why: String| ApiError::new(StatusCode::BAD_REQUEST, "bad_encoding", why);
    let bytes = hex::decode(text.strip_prefix("0x").unwrap_or(text))
        .map_err(|e| bad(format!("not hex: {e}")))?;
    let input = &mut bytes.as_slice();
    let value = T::decode(input).map_err(|e| bad(format!("not SCALE of this message: {e}")))?;
    if !input.is_empty() {
        return Err(bad("trailing bytes".into()));
    }
    Ok(value)
}

/// The router, with a body limit (bytes) on every route but blob uploads, which have
/// their own, and a log line per request on stderr.
pub fn router(server: Arc<KeyServer>, body_limit: usize, blob_limit: usize) -> Router {
    Router::new()
        .route(
            "/v1/blobs/{hash}",
            get(get_blob).put(put_blob.layer(DefaultBodyLimit::max(blob_limit))),
        )
        .route("/v1/health", get(health))
        .route("/v1/deposit", post(deposit))
        .route("/v1/release", post(release))
        .route("/v1/retire", post(retire))
        .route("/v1/records/{id}", get(record_shares))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(log_request))
        .with_state(server)
}

async fn health(State(server): State<Arc<KeyServer>>) -> Answer {
    let (shares, releases) = tokio::task::block_in_place(|| server.store.counts())?;
    Ok((
        StatusCode::OK,
        Json(json!({
            "public_key": format!("0x{}", hex::encode(server.public)),
            "account": medconsent_chain::ss58(&server.account),
            "shares": shares,
            "releases": releases,
        })),
    ))
}

async fn deposit(
    State(server): State<Arc<KeyServer>>,
    body: Result<Json<SignedBody>, JsonRejection>,
) -> Answer {
    let Json(body) = body?;
    let signed: SignedDeposit = decode_hex(&body.signed)?;
    let deposit = &signed.deposit;
    let (block, now) = server.reader.finalized().await?;
    let record = server.reader.record(block, deposit.record).await?;
    decide::decide_deposit(
        &signed,
        &server.public,
        record.as_ref(),
        now,
        &server.policy,
    )?;
    // Keep only what this server can open, under exactly the terms signed for.
    let context = deposit_context(
        &server.public,
        deposit.record,
        deposit.version,
        &deposit.content_hash,
        deposit.index,
    );
    envelope::open(&deposit.share, &server.secret, &context).map_err(|_| Refusal::BadShare)?;
    let stored = StoredShare {
        patient: deposit.patient,
        content_hash: deposit.content_hash,
        index: deposit.index,
        sealed: deposit.share,
    };
    tokio::task::block_in_place(|| {
        server
            .store
            .put_share(deposit.record, deposit.version, &stored)
    })?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "record": deposit.record,
            "version": deposit.version,
            "index": deposit.index,
        })),
    ))
}

async fn release(
    State(server): State<Arc<KeyServer>>,
    body: Result<Json<SignedBody>, JsonRejection>,
) -> Answer {
    let Json(body) = body?;
    let signed: SignedRequest = decode_hex(&body.signed)?;
    let request = &signed.request;
    let (block, now) = server.reader.finalized().await?;
    // Signature, server and expiry first: a forged request costs no chain read.
    decide::precheck(&signed, &server.public, now, &server.policy)?;
    let facts = server.reader.release_facts(block, now, request).await?;
    let used =
        tokio::task::block_in_place(|| server.store.is_used(&request.patient, request.log_seq))?;
    decide::decide(&signed, &server.public, &facts, used, &server.policy)?;
    let stored =
        tokio::task::block_in_place(|| server.store.share(request.record, request.version))?
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "no_share",
                    "this server holds no share of this record version",
                )
            })?;
    let share = envelope::open(
        &stored.sealed,
        &server.secret,
        &deposit_context(
            &server.public,
            request.record,
            request.version,
            &stored.content_hash,
            stored.index,
        ),
    )
    .map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "share_unreadable",
            "a stored share does not open with this server's key",
        )
    })?;
    let sealed = envelope::seal(
        &share,
        &PublicKey::from(request.reply_key),
        &release_context(
            &server.public,
            &request.patient,
            request.record,
            request.version,
            request.log_seq,
            &request.requester,
            stored.index,
        ),
    )
    .map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "weak_reply_key",
            "a low-order reply key",
        )
    })?;
    // The mark is durable before the share leaves: a crash after it costs the reader a
    // new access, never a second release of one entry.
    let record = ReleaseRecord {
        requester: request.requester,
        record: request.record,
        version: request.version,
        released_at: now,
    };
    let claimed = tokio::task::block_in_place(|| {
        server
            .store
            .claim(&request.patient, request.log_seq, &record)
    })?;
    if !claimed {
        return Err(Refusal::EntryUsed.into());
    }
    let released = ReleasedShare {
        index: stored.index,
        share: sealed,
    };
    Ok((
        StatusCode::OK,
        Json(json!({ "released": format!("0x{}", hex::encode(released.encode())) })),
    ))
}

async fn retire(
    State(server): State<Arc<KeyServer>>,
    body: Result<Json<RetireBody>, JsonRejection>,
) -> Answer {
    let Json(body) = body?;
    let (block, _) = server.reader.finalized().await?;
    let record = server
        .reader
        .record(block, body.record)
        .await?
        .ok_or(Refusal::RecordNotFound)?;
    if record.status != RecordStatus::Retired {
        return Err(Refusal::NotRetired.into());
    }
    let deleted = tokio::task::block_in_place(|| server.store.drop_record(body.record))?;
    Ok((
        StatusCode::OK,
        Json(json!({ "record": body.record, "deleted": deleted })),
    ))
}

async fn record_shares(State(server): State<Arc<KeyServer>>, Path(id): Path<String>) -> Answer {
    let id: u64 = id
        .parse()
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "bad_record_id", "not a record id"))?;
    let versions = tokio::task::block_in_place(|| server.store.versions_held(id))?;
    Ok((
        StatusCode::OK,
        Json(json!({ "record": id, "versions": versions })),
    ))
}

fn blob_hash(text: &str) -> Result<[u8; 32], ApiError> {
    hex::decode(text.strip_prefix("0x").unwrap_or(text))
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_hash",
                "not a 32-byte hex hash",
            )
        })
}

/// Stores ciphertext only under the hash it has: nobody can put other bytes under a
/// record's hash.
async fn put_blob(
    State(server): State<Arc<KeyServer>>,
    Path(hash): Path<String>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Answer {
    let expected = blob_hash(&hash)?;
    let body = body.map_err(|e| {
        let status = e.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "too_large"
        } else {
            "bad_body"
        };
        ApiError::new(status, code, e.body_text())
    })?;
    // The client's content-addressed store: it checks the hash, writes a new temporary
    // file and renames it, so a reader never sees half a blob.
    tokio::task::block_in_place(|| server.blobs.keep_blob(&expected, &body)).map_err(
        |e| match e {
            medconsent_client::Error::HashMismatch { actual, .. } => ApiError::new(
                StatusCode::BAD_REQUEST,
                "hash_mismatch",
                format!("the body hashes to 0x{actual}"),
            ),
            other => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "storage",
                other.to_string(),
            ),
        },
    )?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "content_hash": format!("0x{}", hex::encode(expected)), "size": body.len() })),
    ))
}

async fn get_blob(
    State(server): State<Arc<KeyServer>>,
    Path(hash): Path<String>,
) -> Result<Response, ApiError> {
    let hash = blob_hash(&hash)?;
    match tokio::fs::read(server.blobs.blob_path(&hash)).await {
        Ok(bytes) => Ok((
            StatusCode::OK,
            [(axum::http::header::CONTENT_TYPE, "application/octet-stream")],
            bytes,
        )
            .into_response()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_blob",
            "no blob with this hash here",
        )),
        Err(e) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "storage",
            e.to_string(),
        )),
    }
}
