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
//! - `POST /v1/retire` `{"record": id}`: delete every share and blob of a record retired
//!   on chain (one this server keeps nothing of is answered without a chain read).
//! - `GET  /v1/records/{id}`: the versions of a record this server holds a share of.
//! - `POST /v1/justifications` `{"signed": hex(SignedJustificationDeposit)}`: keep a
//!   responder's sealed break-glass justification (201); see [`crate::justifications`].
//! - `POST /v1/justifications/release` `{"signed": hex(SignedJustificationRequest)}`:
//!   `{"released": hex(ReleasedJustification)}`, to the patient or a delegate.
//! - `PUT  /v1/blobs/0x{hash}?record=ID`: store ciphertext the chain names under its
//!   blake2b-256 hash (checked); see [`crate::blob_routes`].
//! - `GET  /v1/blobs/0x{hash}`: the ciphertext (`application/octet-stream`).
//!
//! On the operator's own address (`--metrics-listen`), never the public one:
//! - `GET  /metrics`: releases, shares held, refusals by code, chain-read time (Prometheus).

use crate::facts::ReadError;
use crate::request_log::{log_request, RefusalCode};
use crate::share_db::{ReleaseRecord, ShareDbError, StoredShare};
pub use crate::state::ServerState;
use crate::{blob_routes, justifications};
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use medconsent_keyrelease::decide::{self, Refusal};
use medconsent_keyrelease::envelope::{self, deposit_context, release_context};
use medconsent_keyrelease::request::{ReleasedShare, SignedDeposit, SignedRequest};
use medconsent_keyrelease::wire::{
    self, DepositReceipt, ErrorCode, Health, RecordShares, RefusalBody, ReleasedBody, RetireBody,
    RetireReceipt, SignedBody,
};
use medconsent_shared::RecordStatus;
use parity_scale_codec::Decode;
use serde::Serialize;
use std::sync::Arc;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// A refusal as the client sees it.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
}

impl ApiError {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl ApiError {
    /// A failure inside the server (its storage, its nodes): the detail, which may name
    /// files, nodes and their addresses, goes to the operator's log; the answer says only
    /// what failed.
    pub(crate) fn internal(code: ErrorCode, detail: impl std::fmt::Display) -> Self {
        tracing::error!("internal error={code}: {detail}");
        let message = match code {
            ErrorCode::ChainUnavailable => "the server's nodes did not answer; try again later",
            ErrorCode::NodesDisagree => {
                "the server's nodes disagree, so it acts on none of them; its operator is told"
            }
            _ => "the server failed inside; its operator has the detail",
        };
        Self::new(code, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = RefusalBody {
            error: self.code.as_str().to_owned(),
            message: self.message,
        };
        let mut response = (status, Json(body)).into_response();
        response.extensions_mut().insert(RefusalCode(self.code));
        response
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        Self::new(refusal.code(), refusal.to_string())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let code = match &rejection {
            JsonRejection::JsonSyntaxError(_) => ErrorCode::MalformedJson,
            JsonRejection::JsonDataError(_) => ErrorCode::WrongType,
            JsonRejection::MissingJsonContentType(_) => ErrorCode::NotJson,
            _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::TooLarge,
            _ => ErrorCode::BadBody,
        };
        Self::new(code, rejection.body_text())
    }
}

impl From<ShareDbError> for ApiError {
    fn from(e: ShareDbError) -> Self {
        Self::internal(ErrorCode::Storage, e)
    }
}

impl From<ReadError> for ApiError {
    fn from(e: ReadError) -> Self {
        let code = match e {
            ReadError::Unavailable { .. } => ErrorCode::ChainUnavailable,
            ReadError::Disagree { .. } => ErrorCode::NodesDisagree,
        };
        Self::internal(code, e)
    }
}

pub(crate) type Answer<T> = Result<(StatusCode, Json<T>), ApiError>;

pub(crate) fn decode_hex<T: Decode>(text: &str) -> Result<T, ApiError> {
    wire::from_hex(text).map_err(|e| ApiError::new(ErrorCode::BadEncoding, e.to_string()))
}

pub(crate) fn ok<T: Serialize>(status: StatusCode, body: T) -> Answer<T> {
    Ok((status, Json(body)))
}

/// Which browser pages may call the server (CORS), from `--allow-origin`: none, `*`
/// for any, or exact origins (`https://records.example.org`). Every request is
/// authorized by the signature it carries, never by a cookie or by its origin, so the list
/// says only which pages' scripts may read the answers; a page it leaves out still
/// reaches the server, it just cannot read what comes back.
pub fn cors(origins: &[String]) -> Result<Option<CorsLayer>, String> {
    if origins.is_empty() {
        return Ok(None);
    }
    let allowed = if origins.iter().any(|o| o == "*") {
        if origins.len() > 1 {
            return Err("--allow-origin *: any page already; list origins or *, not both".into());
        }
        AllowOrigin::any()
    } else {
        let mut list = Vec::with_capacity(origins.len());
        for origin in origins {
            list.push(
                header::HeaderValue::from_str(&bare_origin(origin)?)
                    .map_err(|_| format!("--allow-origin {origin}: not a header value"))?,
            );
        }
        AllowOrigin::list(list)
    };
    Ok(Some(
        CorsLayer::new()
            .allow_origin(allowed)
            .allow_methods([Method::GET, Method::POST, Method::PUT])
            .allow_headers([header::CONTENT_TYPE])
            .max_age(std::time::Duration::from_secs(600)),
    ))
}

/// `origin` as a browser sends it: scheme and host in lower case, no default port, no
/// path; anything else is refused (it could never match, and the page would be locked
/// out without a word).
fn bare_origin(origin: &str) -> Result<String, String> {
    let refused = || {
        format!(
            "--allow-origin {origin}: an origin is a scheme and a host (and port), like \
             https://records.example.org, or *"
        )
    };
    let lower = origin.trim().to_ascii_lowercase();
    let (scheme, rest, default_port) = if let Some(rest) = lower.strip_prefix("https://") {
        ("https", rest, ":443")
    } else if let Some(rest) = lower.strip_prefix("http://") {
        ("http", rest, ":80")
    } else {
        return Err(refused());
    };
    let host = rest.strip_suffix(default_port).unwrap_or(rest);
    if host.is_empty() || host.contains(['/', '?', '#', '@', ' ']) {
        return Err(refused());
    }
    Ok(format!("{scheme}://{host}"))
}

/// The router, with a body limit (bytes) on every route but blob uploads, which have
/// their own, a log line per request on stderr, and CORS answers when `cors` is set
/// (outermost: a preflight is answered before the bounds count it).
pub fn router(
    server: Arc<ServerState>,
    body_limit: usize,
    limits: Arc<Limits>,
    cors: Option<CorsLayer>,
) -> Router {
    let router = Router::new()
        .route(
            "/v1/blobs/{hash}",
            get(blob_routes::get_blob).put(blob_routes::put_blob),
        )
        .route("/v1/health", get(health))
        .route("/v1/deposit", post(deposit))
        .route("/v1/release", post(release))
        .route("/v1/retire", post(retire))
        .route("/v1/records/{id}", get(record_shares))
        .route("/v1/justifications", post(justifications::deposit))
        .route("/v1/justifications/release", post(justifications::release))
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                ErrorCode::MethodNotAllowed,
                "this route takes another method",
            )
        })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(limits, bounded))
        .layer(axum::middleware::from_fn_with_state(
            server.metrics.clone(),
            log_request,
        ))
        .with_state(server);
    match cors {
        Some(layer) => router.layer(layer),
        None => router,
    }
}

/// The metrics router, for the operator's own address: what it tells (how many
/// releases, refusals by code, when) is no one else's business.
pub fn metrics_router(server: Arc<ServerState>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "no such route") })
        .with_state(server)
}

/// How much a server takes on at once and how long one request may last, body
/// included: a slow or stalled client is cut off (408), a flood beyond the bound is
/// turned away at once (503 `busy`) instead of queueing without end.
pub struct Limits {
    pub request_timeout: std::time::Duration,
    pub in_flight: Arc<tokio::sync::Semaphore>,
}

async fn bounded(
    State(limits): State<Arc<Limits>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let Ok(_permit) = limits.in_flight.clone().try_acquire_owned() else {
        return ApiError::new(ErrorCode::Busy, "too many requests in flight; try again")
            .into_response();
    };
    match tokio::time::timeout(limits.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            ErrorCode::RequestTimeout,
            format!(
                "a request may take {} ms here, body included",
                limits.request_timeout.as_millis()
            ),
        )
        .into_response(),
    }
}

async fn health(State(server): State<Arc<ServerState>>) -> Answer<Health> {
    let (shares, releases) = tokio::task::block_in_place(|| server.shares.counts())?;
    ok(
        StatusCode::OK,
        Health {
            public_key: wire::hash_to_hex(&server.public),
            account: medconsent_chain::ss58(&server.account),
            shares,
            releases,
        },
    )
}

/// Prometheus text format (`crate::metrics`).
async fn metrics(State(server): State<Arc<ServerState>>) -> Result<Response, ApiError> {
    let (shares, releases) = tokio::task::block_in_place(|| server.shares.counts())?;
    Ok((
        StatusCode::OK,
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        server.metrics.render(shares, releases),
    )
        .into_response())
}

async fn deposit(
    State(server): State<Arc<ServerState>>,
    body: Result<Json<SignedBody>, JsonRejection>,
) -> Answer<DepositReceipt> {
    let Json(body) = body?;
    let signed: SignedDeposit = decode_hex(&body.signed)?;
    let deposit = &signed.deposit;
    // Addressee and signature first: a deposit signed by other than its depositor costs
    // no chain read (one signed by a stranger as itself costs the record and, when it is
    // not the patient, its standing).
    decide::authentic_deposit(&signed, &server.public)?;
    let (block, now) = server.acting_block().await?;
    let record = server.reader.record(block, deposit.record).await?;
    // Only someone other than the patient needs a standing: a delegate, or the provider
    // who wrote the version.
    let standing = if deposit.depositor == deposit.patient {
        decide::DepositorStanding::default()
    } else {
        server
            .reader
            .depositor_standing(block, now, deposit.patient, deposit.depositor)
            .await?
    };
    // Addressee, signature and index were checked above, before any chain read.
    decide::deposit_rules(deposit, record.as_ref(), &standing, now, &server.policy)?;
    // Keep only what this server can open, under exactly the terms signed for.
    let context = deposit_context(
        &server.public,
        deposit.record,
        deposit.version,
        &deposit.content_hash,
        deposit.index,
    );
    let share =
        envelope::open(&deposit.share, &server.secret, &context).map_err(|_| Refusal::BadShare)?;
    let stored = StoredShare {
        patient: deposit.patient,
        content_hash: deposit.content_hash,
        index: deposit.index,
        sealed: deposit.share,
    };
    let patient_or_delegate = deposit.depositor == deposit.patient || standing.delegate;
    // The share held of this version, opened; one that does not open (index 0, never
    // dealt) counts as another share.
    let opened_held = |held: &StoredShare| {
        let context = deposit_context(
            &server.public,
            deposit.record,
            deposit.version,
            &held.content_hash,
            held.index,
        );
        match envelope::open(&held.sealed, &server.secret, &context) {
            Ok(opened) => (held.index, opened),
            Err(_) => (0, zeroize::Zeroizing::new([0; 32])),
        }
    };
    let kept = tokio::task::block_in_place(|| {
        let kept =
            server
                .shares
                .put_share_if(deposit.record, deposit.version, &stored, |held| {
                    let held = held.map(opened_held);
                    let held = held.as_ref().map(|(index, bytes)| (*index, &bytes[..]));
                    decide::may_replace(patient_or_delegate, held, (deposit.index, &share[..]))
                        .is_ok()
                })?;
        if kept {
            // The ciphertext this share opens is kept while this version is current,
            // wherever it was uploaded first.
            server
                .shares
                .name_blob(deposit.record, deposit.version, &deposit.content_hash)?;
        }
        Ok::<_, ShareDbError>(kept)
    })?;
    if !kept {
        return Err(Refusal::ShareHeld.into());
    }
    ok(
        StatusCode::CREATED,
        DepositReceipt {
            record: deposit.record,
            version: deposit.version,
            index: deposit.index,
        },
    )
}

async fn release(
    State(server): State<Arc<ServerState>>,
    body: Result<Json<SignedBody>, JsonRejection>,
) -> Answer<ReleasedBody> {
    let Json(body) = body?;
    let signed: SignedRequest = decode_hex(&body.signed)?;
    let request = &signed.request;
    // Addressee and signature first: a forged request costs no chain read. Then the
    // expiry, at the chain's time.
    decide::authentic_request(&signed, &server.public)?;
    let (block, now) = server.acting_block().await?;
    decide::current(request.expires_at, now, &server.policy)?;
    let facts = server.reader.release_facts(block, now, request).await?;
    let used =
        tokio::task::block_in_place(|| server.shares.is_used(&request.patient, request.log_seq))?;
    // Addressee and signature were checked above, before any chain read.
    decide::rules(request, &facts, used, &server.policy)?;
    let stored =
        tokio::task::block_in_place(|| server.shares.share(request.record, request.version))?
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::NoShare,
                    "this server holds no share of this record version",
                )
            })?;
    let sealed = server.reseal(
        &stored.sealed,
        &deposit_context(
            &server.public,
            request.record,
            request.version,
            &stored.content_hash,
            stored.index,
        ),
        request.reply_key,
        &release_context(
            &server.public,
            &request.patient,
            request.record,
            request.version,
            request.log_seq,
            &request.requester,
            stored.index,
        ),
    )?;
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
            .shares
            .claim(&request.patient, request.log_seq, &record)
    })?;
    if !claimed {
        return Err(Refusal::EntryUsed.into());
    }
    let released = ReleasedShare {
        index: stored.index,
        share: sealed,
    };
    ok(
        StatusCode::OK,
        ReleasedBody {
            released: wire::to_hex(&released),
        },
    )
}

async fn retire(
    State(server): State<Arc<ServerState>>,
    body: Result<Json<RetireBody>, JsonRejection>,
) -> Answer<RetireReceipt> {
    let Json(body) = body?;
    // Anyone may ask (the sweep would delete anyway); asking about a record this server
    // keeps nothing of costs no chain read.
    if !tokio::task::block_in_place(|| server.shares.keeps_anything_of(body.record))? {
        return ok(
            StatusCode::OK,
            RetireReceipt {
                record: body.record,
                deleted: 0,
            },
        );
    }
    let (block, now) = server.reader.finalized().await?;
    // A registry that is not the pinned one could call every record retired.
    server.ready_at(block, now).await?;
    let record = server
        .reader
        .record(block, body.record)
        .await?
        .ok_or(Refusal::RecordNotFound)?;
    if record.status != RecordStatus::Retired {
        return Err(Refusal::NotRetired.into());
    }
    let deleted = crate::sweep::settle(&server, body.record, &record)
        .await
        .map_err(|e| ApiError::internal(ErrorCode::Storage, e))?;
    ok(
        StatusCode::OK,
        RetireReceipt {
            record: body.record,
            deleted: u64::try_from(deleted.shares).unwrap_or(u64::MAX),
        },
    )
}

async fn record_shares(
    State(server): State<Arc<ServerState>>,
    Path(id): Path<String>,
) -> Answer<RecordShares> {
    let id: u64 = id
        .parse()
        .map_err(|_| ApiError::new(ErrorCode::BadRecordId, "not a record id"))?;
    let versions = tokio::task::block_in_place(|| server.shares.versions_held(id))?;
    ok(
        StatusCode::OK,
        RecordShares {
            record: id,
            versions,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_beyond_the_bound_is_turned_away_and_never_runs() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let ran = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(tokio::sync::Notify::new());
        let (counted, held) = (ran.clone(), gate.clone());
        let limits = Arc::new(Limits {
            request_timeout: std::time::Duration::from_secs(30),
            in_flight: Arc::new(tokio::sync::Semaphore::new(1)),
        });
        let app = Router::new()
            .route(
                "/",
                get(move || {
                    let (counted, held) = (counted.clone(), held.clone());
                    async move {
                        counted.fetch_add(1, Ordering::SeqCst);
                        held.notified().await;
                        "done"
                    }
                }),
            )
            .layer(axum::middleware::from_fn_with_state(limits, bounded));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let first = tokio::spawn(reqwest::get(url.clone()));
        while ran.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let second = reqwest::get(url).await.unwrap();
        assert_eq!(second.status().as_u16(), 503);
        let body: RefusalBody = second.json().await.unwrap();
        assert_eq!(body.error, "busy");
        assert_eq!(ran.load(Ordering::SeqCst), 1, "the turned-away request ran");
        gate.notify_one();
        assert_eq!(first.await.unwrap().unwrap().status().as_u16(), 200);
    }

    /// What a browser's preflight from `origin` gets from a route behind `cors`.
    async fn preflight(cors: Option<CorsLayer>, origin: &str) -> (u16, Option<String>) {
        use tower::ServiceExt;
        let mut app = Router::new().route("/v1/release", post(|| async { "released" }));
        if let Some(layer) = cors {
            app = app.layer(layer);
        }
        let request = axum::http::Request::builder()
            .method(Method::OPTIONS)
            .uri("/v1/release")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
            .body(axum::body::Body::empty())
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        let allowed = response
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .map(|v| v.to_str().unwrap().to_owned());
        (response.status().as_u16(), allowed)
    }

    #[tokio::test]
    async fn only_the_listed_pages_may_read_answers() {
        let page = "https://records.example.org";
        let listed = || cors(&[page.to_owned()]).unwrap();
        assert_eq!(
            preflight(listed(), page).await,
            (200, Some(page.to_owned()))
        );
        // Another page, or no list at all: no header, so the browser keeps the answer
        // from the page's script.
        assert_eq!(preflight(listed(), "https://evil.example").await.1, None);
        assert_eq!(preflight(None, page).await.1, None);
        let any = cors(&["*".to_owned()]).unwrap();
        assert_eq!(preflight(any, page).await.1, Some("*".to_owned()));
        // As a browser sends it: lower case, no default port.
        let written = cors(&["HTTPS://Records.Example.org:443".to_owned()]).unwrap();
        assert_eq!(preflight(written, page).await, (200, Some(page.to_owned())));
        // Not an origin, or * among origins: refused at start, with the flag named.
        for bad in [
            "records.example.org",
            "https://records.example.org/app",
            "https://records.example.org?x=1",
            "https://",
        ] {
            let e = cors(&[bad.to_owned()]).unwrap_err();
            assert!(e.contains("--allow-origin"), "{e}");
        }
        let mixed = cors(&["*".to_owned(), page.to_owned()]).unwrap_err();
        assert!(mixed.contains("--allow-origin"), "{mixed}");
        assert!(cors(&[]).unwrap().is_none());
    }

    #[test]
    fn internal_detail_stays_in_the_log() {
        let unavailable = ReadError::Unavailable {
            answered: 0,
            needed: 1,
            nodes: 1,
            detail: "ws://10.0.0.7:9944: connection refused".into(),
        };
        let storage = ShareDbError::Db("/srv/keyserver/ks1.redb: disk full".into());
        for (answer, code) in [
            (ApiError::from(unavailable), ErrorCode::ChainUnavailable),
            (ApiError::from(storage), ErrorCode::Storage),
        ] {
            assert_eq!(answer.code, code);
            assert!(
                !answer.message.contains("10.0.0.7") && !answer.message.contains("/srv"),
                "{}",
                answer.message
            );
        }
    }
}
