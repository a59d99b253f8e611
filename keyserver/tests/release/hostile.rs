//! A hostile key server: a real HTTP server on loopback (in the test process) that takes
//! the place of one of the deployment's servers (its address; the directory still has the
//! real server's key) and answers the way a compromised or broken server could. It has
//! no share: every share it hands out is made up, sealed properly to the reader so that
//! only the key it fails to rebuild can give it away.

use axum::body::Body;
use axum::extract::Json;
use axum::routing::{get, post};
use axum::Router;
use medconsent_keyrelease::envelope::{self, release_context};
use medconsent_keyrelease::request::{ReleasedShare, SignedRequest};
use parity_scale_codec::Decode;
use rand_core::{OsRng, RngCore};
use serde_json::Value;
use x25519_dalek::PublicKey;

/// What the hostile server does with a release request.
#[derive(Debug, Clone, Copy)]
pub enum Lie {
    /// A made-up share under its own index; its blob route serves made-up ciphertext.
    WrongShare,
    /// A made-up share that claims another server's index (or 0).
    OthersIndex(u8),
    /// Accepts the request and never answers.
    Hang,
    /// A valid-looking answer padded past what any release needs (1 MiB).
    Oversized,
    /// A made-up share under its own index, then a blob transfer that never ends.
    StallBlob,
}

pub struct Hostile {
    pub url: String,
    /// Deposits it was sent (it keeps none).
    pub deposits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn made_up(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

/// The made-up share a hostile server answers `signed` with, as the release JSON.
fn made_up_answer(signed: &SignedRequest, index: u8) -> String {
    let request = &signed.request;
    let value: [u8; 32] = made_up(32).try_into().unwrap();
    let share = envelope::seal(
        &value,
        &PublicKey::from(request.reply_key),
        &release_context(
            &request.server,
            &request.patient,
            request.record,
            request.version,
            request.log_seq,
            &request.requester,
            index,
        ),
    )
    .expect("a reply key the honest servers accepted");
    let released = ReleasedShare { index, share };
    serde_json::to_string(&medconsent_keyrelease::wire::ReleasedBody {
        released: medconsent_keyrelease::wire::to_hex(&released),
    })
    .unwrap()
}

fn decode(body: &Value) -> SignedRequest {
    let text = body["signed"].as_str().unwrap_or_default();
    let bytes = hex::decode(text.trim_start_matches("0x")).unwrap_or_default();
    SignedRequest::decode(&mut bytes.as_slice()).expect("the client's own request")
}

/// Starts a hostile server that answers as server `index` (1-based) would not.
pub async fn start(lie: Lie, index: u8) -> Hostile {
    let release = move |Json(body): Json<Value>| async move {
        let signed = decode(&body);
        let answer = match lie {
            Lie::WrongShare | Lie::StallBlob => made_up_answer(&signed, index),
            Lie::OthersIndex(claimed) => made_up_answer(&signed, claimed),
            Lie::Hang => std::future::pending().await,
            Lie::Oversized => {
                let answer = made_up_answer(&signed, index);
                let padding = " ".repeat(1 << 20);
                format!("{}{padding}}}", answer.trim_end_matches('}'))
            }
        };
        ([("content-type", "application/json")], answer)
    };
    let blob = move || async move {
        if matches!(lie, Lie::StallBlob) {
            // Headers and a first chunk, then nothing.
            let first = futures::stream::once(async {
                Ok::<_, std::io::Error>(axum::body::Bytes::from(made_up(1024)))
            });
            let never = futures::stream::pending();
            return Body::from_stream(futures::StreamExt::chain(first, never));
        }
        Body::from(made_up(4096))
    };
    let deposits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = deposits.clone();
    let deposit = move || async move {
        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "kept nothing",
        )
    };
    // It claims a key of its own: not the one the deployment pins for its place.
    let health = || async {
        axum::Json(medconsent_keyrelease::wire::Health {
            public_key: medconsent_keyrelease::wire::hash_to_hex(&made_up(32).try_into().unwrap()),
            account: "5F".into(),
            shares: 0,
            releases: 0,
        })
    };
    let router = Router::new()
        .route("/v1/release", post(release))
        .route("/v1/deposit", post(deposit))
        .route("/v1/health", get(health))
        .route("/v1/blobs/{hash}", get(blob));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Hostile {
        url,
        deposits,
        task,
    }
}
