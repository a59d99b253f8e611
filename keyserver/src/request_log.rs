//! One line per request on stderr (through `tracing`), for the operator: who is probing,
//! what is refused, how long answers take; each in a span with the request's id (its
//! number since the start), and each refusal counted for `/metrics`. Releases are also
//! kept durably in the database; refusals only here.
//!
//! Only the method, the path (its ids and hashes are public on chain anyway), the status,
//! the refusal code and the time taken: never a body, which holds sealed shares, signatures
//! and reply keys, so the log is not a second store of them.

use crate::metrics::Metrics;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use medconsent_keyrelease::wire::ErrorCode;
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;

/// Set on a refusal's response by `ApiError`, so the log line can name its code.
#[derive(Debug, Clone, Copy)]
pub struct RefusalCode(pub ErrorCode);

/// A stranger chooses the method and the path: both are cut, so each line stays short.
const MAX_LOGGED_METHOD: usize = 16;
const MAX_LOGGED_PATH: usize = 160;

/// Runs the request in a span named by its id (what the handlers log carries it), then
/// logs its outcome in that span.
pub async fn log_request(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let span = tracing::info_span!("request", id = metrics.request());
    let started = Instant::now();
    let method = cut(request.method().as_str(), MAX_LOGGED_METHOD);
    let path = cut(request.uri().path(), MAX_LOGGED_PATH);
    let response = next.run(request).instrument(span.clone()).await;
    let refusal = response
        .extensions()
        .get::<RefusalCode>()
        .map(|code| code.0);
    if let Some(code) = refusal {
        metrics.refused(code);
    }
    let ms = format!("{:.1}", started.elapsed().as_secs_f64() * 1000.0);
    span.in_scope(|| {
        tracing::info!(
            method = %method,
            path = %path,
            status = response.status().as_u16(),
            error = %refusal.map_or("-", ErrorCode::as_str),
            ms = %ms,
            "answered"
        );
    });
    response
}

fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_method_or_path_is_cut() {
        let long = format!("/v1/records/{}", "9".repeat(10_000));
        let path = cut(&long, MAX_LOGGED_PATH);
        assert_eq!(path.chars().count(), MAX_LOGGED_PATH);
        assert!(path.starts_with("/v1/records/999"));
        assert_eq!(cut("POST", MAX_LOGGED_METHOD), "POST");
        assert_eq!(
            cut(&"A".repeat(1_000), MAX_LOGGED_METHOD),
            "A".repeat(MAX_LOGGED_METHOD)
        );
    }
}
