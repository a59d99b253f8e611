//! One line per request on stderr, for the operator: who is probing, what is refused, how
//! long answers take; each with the request's id (its number since the start), and each
//! refusal counted for `/metrics`. Releases are also kept durably in the database; refusals only here.
//!
//! Only the method, the path (its ids and hashes are public on chain anyway), the status,
//! the refusal code and the time taken: never a body, which holds sealed shares, signatures
//! and reply keys, so the log is not a second store of them.

use crate::metrics::Metrics;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use medconsent_keyrelease::wire::ErrorCode;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Set on a refusal's response by `ApiError`, so the log line can name its code.
#[derive(Debug, Clone, Copy)]
pub struct RefusalCode(pub ErrorCode);

/// A stranger chooses the method and the path: both are cut, so each line stays short.
const MAX_LOGGED_METHOD: usize = 16;
const MAX_LOGGED_PATH: usize = 160;

pub async fn log_request(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let id = metrics.request();
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let refusal = response
        .extensions()
        .get::<RefusalCode>()
        .map(|code| code.0);
    if let Some(code) = refusal {
        metrics.refused(code);
    }
    let code = refusal.map_or("-", ErrorCode::as_str);
    let at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis());
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    eprintln!(
        "{}",
        line(id, at, &method, &path, response.status().as_u16(), code, ms)
    );
    response
}

fn line(
    id: u64,
    at: u128,
    method: &Method,
    path: &str,
    status: u16,
    code: &str,
    ms: f64,
) -> String {
    let method: String = method.as_str().chars().take(MAX_LOGGED_METHOD).collect();
    let path: String = path.chars().take(MAX_LOGGED_PATH).collect();
    format!(
        "request id={id} at={at} method={method} path={path} status={status} error={code} ms={ms:.1}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_names_the_outcome_and_cuts_a_long_method_and_path() {
        let field = |line: &str, name: &str| -> String {
            line.split(' ')
                .find_map(|f| f.strip_prefix(name))
                .unwrap()
                .to_owned()
        };
        let long = format!("/v1/records/{}", "9".repeat(10_000));
        let got = line(3, 7, &Method::POST, &long, 404, "not_found", 5.84);
        assert_eq!(field(&got, "path=").len(), MAX_LOGGED_PATH);
        assert!(got.starts_with("request id=3 at=7 method=POST path=/v1/records/999"));
        assert!(got.ends_with(" status=404 error=not_found ms=5.8"), "{got}");
        let odd = Method::from_bytes("A".repeat(1_000).as_bytes()).unwrap();
        let got = line(4, 7, &odd, "/", 404, "not_found", 0.1);
        assert_eq!(field(&got, "method="), "A".repeat(MAX_LOGGED_METHOD));
    }
}
