//! One line per request on stderr, for the operator: who is probing, what is refused, how
//! long answers take. Releases are also kept durably in the database; refusals only here.
//!
//! Only the method, the path (its ids and hashes are public on chain anyway), the status,
//! the refusal code and the time taken: never a body, which holds sealed shares, signatures
//! and reply keys, so the log is not a second store of them.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Set on a refusal's response by `ApiError`, so the log line can name its code.
#[derive(Debug, Clone, Copy)]
pub struct RefusalCode(pub &'static str);

/// A path longer than this is cut: a stranger must not be able to write the log.
const MAX_LOGGED_PATH: usize = 160;

pub async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path: String = request.uri().path().chars().take(MAX_LOGGED_PATH).collect();
    let response = next.run(request).await;
    let code = response
        .extensions()
        .get::<RefusalCode>()
        .map_or("-", |code| code.0);
    let at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis());
    eprintln!(
        "request at={at} method={method} path={path} status={} error={code} ms={:.1}",
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    response
}
