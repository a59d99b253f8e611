//! A read-only HL7 FHIR R5 REST API over medconsent, for hospital systems: a patient's
//! consents (`Consent`) and audit trail (`AuditEvent`), read at the finalized block
//! through one node, shaped by `medconsent_fhir`. Everything it serves is public on the
//! chain already; `--token-file` puts a bearer token in front of it for deployments that
//! want their own access control. One node is its source: a node that lies can make it
//! serve lies (the trail is checked link by link against the head that node reports);
//! read from a node you run.
//!
//! - `GET [base]/metadata`: the CapabilityStatement.
//! - `GET [base]/Consent?patient=...`, `GET [base]/Consent/[id]`.
//! - `GET [base]/AuditEvent?patient=...&date=ge...&date=le...`, `GET [base]/AuditEvent/[id]`.
//!
//! `metadata` answers without the token (discovery); a method other than GET is 405.
//!
//! Searches answer searchset Bundles with `total` and `self`/`next`/`previous` links
//! (`_count`, `_offset`); a bad search is 400, an unknown id 404, a missing or wrong
//! token 401, each with an OperationOutcome; every answer is `application/fhir+json`.

pub mod search;
pub mod trails;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use medconsent_chain::{parse_account, reads, ss58, Chain, Contracts};
use medconsent_fhir::audit::audit_event;
use medconsent_fhir::consent::consent;
use medconsent_fhir::Words;
use medconsent_shared::{AccountId, CategoryCode, DenyReason, LogEntry};
use search::{Search, SearchError};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use trails::Trails;

pub const FHIR_JSON: &str = "application/fhir+json";

/// What the server serves from, and how it names itself.
pub struct Service {
    pub chain: Chain,
    pub contracts: Contracts,
    /// The base URL clients reach it at, for the links in its Bundles.
    pub base: String,
    /// A bearer token every request must carry, if set.
    pub token: Option<String>,
    /// Category names and refusals in words (the command's tables, passed in).
    pub category_name: fn(CategoryCode) -> String,
    pub deny_reason: fn(DenyReason) -> String,
    /// Verified trails kept between searches, extended as the finalized block moves.
    pub trails: Trails,
}

/// How much the server takes on at once and how long one request may take: a search
/// reads the node (a patient's consents, a trail's new entries, a whole trail not kept),
/// so a flood is turned away (503) rather than passed on, and a hung node costs a request
/// its timeout (504), not a worker.
pub struct Limits {
    pub in_flight: Arc<tokio::sync::Semaphore>,
    pub request_timeout: std::time::Duration,
}

/// An answer: a FHIR resource with its status.
struct Fhir(StatusCode, Value);

impl IntoResponse for Fhir {
    fn into_response(self) -> Response {
        (
            self.0,
            [(header::CONTENT_TYPE, FHIR_JSON)],
            self.1.to_string(),
        )
            .into_response()
    }
}

/// An OperationOutcome with one issue.
fn outcome(status: StatusCode, code: &str, diagnostics: impl Into<String>) -> Fhir {
    Fhir(
        status,
        json!({
            "resourceType": "OperationOutcome",
            "issue": [{ "severity": "error", "code": code, "diagnostics": diagnostics.into() }],
        }),
    )
}

impl From<SearchError> for Fhir {
    fn from(e: SearchError) -> Self {
        let code = match e {
            SearchError::Unsupported(_) => "not-supported",
            _ => "invalid",
        };
        outcome(StatusCode::BAD_REQUEST, code, e.to_string())
    }
}

impl From<medconsent_chain::Error> for Fhir {
    fn from(e: medconsent_chain::Error) -> Self {
        outcome(
            StatusCode::BAD_GATEWAY,
            "transient",
            format!("the chain: {e}"),
        )
    }
}

impl From<reads::TrailError> for Fhir {
    fn from(e: reads::TrailError) -> Self {
        match e {
            reads::TrailError::Chain(e) => e.into(),
            other => outcome(
                StatusCode::BAD_GATEWAY,
                "exception",
                format!("the audit trail does not verify: {other}"),
            ),
        }
    }
}

pub fn router(service: Arc<Service>, limits: Arc<Limits>) -> Router {
    Router::new()
        .route("/Consent", get(consents))
        .route("/Consent/{id}", get(one_consent))
        .route("/AuditEvent", get(audit_events))
        .route("/AuditEvent/{id}", get(one_audit_event))
        .fallback(|| async {
            outcome(
                StatusCode::NOT_FOUND,
                "not-supported",
                "this server answers metadata, Consent and AuditEvent only",
            )
        })
        .method_not_allowed_fallback(|| async {
            outcome(
                StatusCode::METHOD_NOT_ALLOWED,
                "not-supported",
                "this server only reads (GET)",
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            service.clone(),
            bearer,
        ))
        // Discovery needs no token (added after the token's layer, which covers only
        // what came before it).
        .route("/metadata", get(metadata))
        .layer(axum::middleware::from_fn_with_state(limits, bounded))
        .with_state(service)
}

/// The query's parameters; one that does not decode is a bad search too.
fn params(
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Result<Vec<(String, String)>, Fhir> {
    query
        .map(|Query(params)| params)
        .map_err(|e| outcome(StatusCode::BAD_REQUEST, "invalid", e.body_text()))
}

/// (patient, number) of an id `<patient SS58>-<number>`.
fn split_id(id: &str) -> Option<(AccountId, u64)> {
    let (patient, number) = id.rsplit_once('-')?;
    Some((parse_account(patient).ok()?, number.parse().ok()?))
}

async fn bounded(
    State(limits): State<Arc<Limits>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let Ok(_permit) = limits.in_flight.clone().try_acquire_owned() else {
        return outcome(
            StatusCode::SERVICE_UNAVAILABLE,
            "throttled",
            "too many requests in flight; try again",
        )
        .into_response();
    };
    match tokio::time::timeout(limits.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => outcome(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            "the chain did not answer in time",
        )
        .into_response(),
    }
}

/// The bearer token, when the deployment set one; compared in constant time.
async fn bearer(
    State(service): State<Arc<Service>>,
    headers: HeaderMap,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(token) = &service.token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        let same = given.len() == token.len()
            && given
                .bytes()
                .zip(token.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if !same {
            let mut response = outcome(
                StatusCode::UNAUTHORIZED,
                "security",
                "a bearer token is required",
            )
            .into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            return response;
        }
    }
    next.run(request).await
}

async fn metadata(State(service): State<Arc<Service>>) -> Fhir {
    let search = |params: &[(&str, &str)]| -> Vec<Value> {
        params
            .iter()
            .map(|(name, kind)| json!({ "name": name, "type": kind }))
            .collect()
    };
    Fhir(
        StatusCode::OK,
        json!({
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": "2026-12-06",
            "kind": "instance",
            "software": { "name": "medconsent-fhir-server", "version": env!("CARGO_PKG_VERSION") },
            "implementation": { "description": "medconsent consents and audit trail, read at the finalized block", "url": service.base },
            "fhirVersion": "5.0.0",
            "format": ["json"],
            "rest": [{
                "mode": "server",
                "resource": [
                    {
                        "type": "Consent",
                        "interaction": [{ "code": "read" }, { "code": "search-type" }],
                        "searchParam": search(&[("patient", "reference"), ("_count", "number"), ("_offset", "number")]),
                    },
                    {
                        "type": "AuditEvent",
                        "interaction": [{ "code": "read" }, { "code": "search-type" }],
                        "searchParam": search(&[("patient", "reference"), ("date", "date"), ("_count", "number"), ("_offset", "number")]),
                    },
                ],
            }],
        }),
    )
}

/// The directory's display names at the block read.
async fn names(
    service: &Service,
    at: medconsent_chain::Block,
) -> Result<HashMap<AccountId, String>, Fhir> {
    Ok(reads::directory(&service.chain, &service.contracts, at)
        .await?
        .into_iter()
        .filter_map(|(account, _, name)| Some((account, name?)))
        .collect())
}

fn words<'a>(
    service: &'a Service,
    provider_name: &'a dyn Fn(&AccountId) -> Option<String>,
) -> Words<'a> {
    Words {
        provider_name,
        category_name: &service.category_name,
        deny_reason: &service.deny_reason,
        consent_manager: service.contracts.consents,
        access_log: service.contracts.log,
    }
}

/// The resources of one page of a search: `search`'s window of `items`, shaped.
fn page_of<T>(search: &Search, items: &[T], shape: impl Fn(&T) -> Value) -> Vec<Value> {
    items
        .iter()
        .skip(search.offset)
        .take(search.count)
        .map(shape)
        .collect()
}

/// A searchset Bundle of one page of `total` matches, with its links.
fn searchset(
    service: &Service,
    kind: &str,
    search: &Search,
    total: usize,
    page: Vec<Value>,
) -> Fhir {
    let page: Vec<Value> = page
        .into_iter()
        .map(|resource| {
            json!({
                "fullUrl": format!("{}/{kind}/{}", service.base, resource["id"].as_str().unwrap_or("")),
                "resource": resource,
                "search": { "mode": "match" },
            })
        })
        .collect();
    let link = |relation: &str, offset: usize| {
        let mut url = format!(
            "{}/{kind}?patient={}&_count={}&_offset={offset}",
            service.base,
            ss58(&search.patient),
            search.count
        );
        if search.from > 0 {
            url.push_str(&format!(
                "&date=ge{}",
                medconsent_fhir::instant(search.from)
            ));
        }
        if let Some(until) = search.until {
            url.push_str(&format!("&date=lt{}", medconsent_fhir::instant(until)));
        }
        json!({ "relation": relation, "url": url })
    };
    let mut links = vec![link("self", search.offset)];
    let next = search.offset.saturating_add(search.count);
    if next < total && search.count > 0 {
        links.push(link("next", next));
    }
    if search.offset > 0 {
        links.push(link("previous", search.offset.saturating_sub(search.count)));
    }
    Fhir(
        StatusCode::OK,
        json!({
            "resourceType": "Bundle",
            "type": "searchset",
            "total": total,
            "link": links,
            "entry": page,
        }),
    )
}

async fn consents(
    State(service): State<Arc<Service>>,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Result<Fhir, Fhir> {
    let search = search::parse(&params(query)?, false)?;
    let at = service.chain.finalized().await?;
    let all = reads::consents(&service.chain, &service.contracts, at, search.patient).await?;
    let now = service.chain.now_at(at).await?;
    let names = names(&service, at).await?;
    let name = |a: &AccountId| names.get(a).cloned();
    let words = words(&service, &name);
    let page = page_of(&search, &all, |c| consent(c, &words, now));
    Ok(searchset(&service, "Consent", &search, all.len(), page))
}

/// The OperationOutcome of an id that names nothing (404).
fn not_found(kind: &str, id: &str) -> Fhir {
    outcome(
        StatusCode::NOT_FOUND,
        "not-found",
        format!("no {kind} {id}"),
    )
}

async fn one_consent(
    State(service): State<Arc<Service>>,
    Path(id): Path<String>,
) -> Result<Fhir, Fhir> {
    let unknown = || not_found("Consent", &id);
    let (patient, number) = split_id(&id).ok_or_else(unknown)?;
    let at = service.chain.finalized().await?;
    let builder = service.contracts.consents();
    let found = service
        .chain
        .read(
            Some(at),
            &patient,
            &service.contracts.consents,
            &builder.consent(patient, number),
        )
        .await?
        .ok_or_else(unknown)?;
    let now = service.chain.now_at(at).await?;
    let names = names(&service, at).await?;
    let name = |a: &AccountId| names.get(a).cloned();
    Ok(Fhir(
        StatusCode::OK,
        consent(&found, &words(&service, &name), now),
    ))
}

async fn audit_events(
    State(service): State<Arc<Service>>,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Result<Fhir, Fhir> {
    let search = search::parse(&params(query)?, true)?;
    let at = service.chain.finalized().await?;
    let names = names(&service, at).await?;
    // Only the page is shaped; the window is counted over the whole trail.
    let (total, page) = service
        .trails
        .with(
            &service.chain,
            &service.contracts,
            at,
            search.patient,
            |trail| {
                let name = |a: &AccountId| names.get(a).cloned();
                let words = words(&service, &name);
                let window: Vec<&LogEntry> = trail
                    .entries
                    .iter()
                    .filter(|e| {
                        e.timestamp >= search.from && search.until.is_none_or(|u| e.timestamp < u)
                    })
                    .collect();
                let page = page_of(&search, &window, |e| audit_event(e, &words));
                (window.len(), page)
            },
        )
        .await?;
    Ok(searchset(&service, "AuditEvent", &search, total, page))
}

/// One entry of a patient's verified trail, by its id `<patient SS58>-<seq>`.
async fn one_audit_event(
    State(service): State<Arc<Service>>,
    Path(id): Path<String>,
) -> Result<Fhir, Fhir> {
    let unknown = || not_found("AuditEvent", &id);
    let (patient, seq) = split_id(&id).ok_or_else(unknown)?;
    let at = service.chain.finalized().await?;
    let entry = service
        .trails
        .with(&service.chain, &service.contracts, at, patient, |trail| {
            usize::try_from(seq)
                .ok()
                .and_then(|i| trail.entries.get(i))
                .cloned()
        })
        .await?
        .ok_or_else(unknown)?;
    let names = names(&service, at).await?;
    let name = |a: &AccountId| names.get(a).cloned();
    Ok(Fhir(
        StatusCode::OK,
        audit_event(&entry, &words(&service, &name)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bound alone, around a handler that never finishes.
    fn bounded_app(permits: usize, timeout_ms: u64) -> Router {
        let limits = Arc::new(Limits {
            in_flight: Arc::new(tokio::sync::Semaphore::new(permits)),
            request_timeout: std::time::Duration::from_millis(timeout_ms),
        });
        Router::new()
            .route("/slow", get(std::future::pending::<&'static str>))
            .layer(axum::middleware::from_fn_with_state(limits, bounded))
    }

    async fn status(app: Router) -> (StatusCode, Value) {
        use tower::ServiceExt;
        let request = axum::http::Request::get("/slow")
            .body(axum::body::Body::empty())
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, serde_json::from_slice(&body).unwrap_or_default())
    }

    #[tokio::test]
    async fn a_flood_is_turned_away_and_a_hung_read_times_out() {
        let (code, body) = status(bounded_app(0, 1_000)).await;
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["issue"][0]["code"], "throttled");
        let (code, body) = status(bounded_app(1, 50)).await;
        assert_eq!(code, StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(body["issue"][0]["code"], "timeout");
    }
}
