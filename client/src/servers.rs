//! Talking to the key servers over HTTP: deposits, releases, retirements, and the
//! ciphertext blobs each server also stores by content hash. A server's X25519 key and
//! whether it may be used come from the chain's directory, never from the server.

use medconsent_chain::KeyServerEndpoint;
use medconsent_keyrelease::request::{ReleasedShare, SignedDeposit, SignedRequest};
use parity_scale_codec::{Decode, Encode};
use serde_json::{json, Value};
use std::time::Duration;

/// The largest answer the client reads from a key server (a release, a deposit receipt,
/// a refusal): a hostile server cannot make it buffer more.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// The largest ciphertext blob a client fetches, and a server's default upload limit.
pub const MAX_BLOB_BYTES: usize = 64 << 20;
/// How long one request to one server may take, body included, by default.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A key server as the client uses it: where it listens and its directory key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyServer {
    pub endpoint: KeyServerEndpoint,
    pub public_key: [u8; 32],
}

/// Why a server did not give what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerError {
    #[error("{url} is unreachable: {why}")]
    Unreachable { url: String, why: String },
    /// The server refused, with its stable code (`entry_used`, `no_such_entry`, ...).
    #[error("{url} refused ({status} {code}): {message}")]
    Refused {
        url: String,
        status: u16,
        code: String,
        message: String,
    },
    #[error("{url} answered something that is not the protocol: {why}")]
    Garbled { url: String, why: String },
}

impl ServerError {
    pub fn code(&self) -> Option<&str> {
        match self {
            ServerError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}

pub struct Servers {
    http: reqwest::Client,
}

impl Default for Servers {
    fn default() -> Self {
        Self::new()
    }
}

impl Servers {
    pub fn new() -> Self {
        Self::with_timeout(REQUEST_TIMEOUT)
    }

    /// Each request, body included, gives up after `timeout`.
    pub fn with_timeout(timeout: Duration) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .expect("a plain HTTP client builds"),
        }
    }

    /// The body of `response`, refused once it passes `limit` bytes (announced or sent).
    async fn body(
        url: &str,
        mut response: reqwest::Response,
        limit: usize,
    ) -> Result<Vec<u8>, ServerError> {
        let too_large = || ServerError::Garbled {
            url: url.to_owned(),
            why: format!("an answer larger than {limit} bytes"),
        };
        if response
            .content_length()
            .is_some_and(|announced| announced > limit as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| ServerError::Unreachable {
                url: url.to_owned(),
                why: e.to_string(),
            })?
        {
            if body.len().saturating_add(chunk.len()) > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// Sends a request; a non-2xx answer becomes the server's refusal (its JSON code).
    async fn send(
        &self,
        url: &str,
        sent: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ServerError> {
        let response = sent.send().await.map_err(|e| ServerError::Unreachable {
            url: url.to_owned(),
            why: e.to_string(),
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body: Value = Self::body(url, response, MAX_ANSWER_BYTES)
            .await
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        Err(ServerError::Refused {
            url: url.to_owned(),
            status: status.as_u16(),
            code: body["error"].as_str().unwrap_or("unknown").to_owned(),
            message: body["message"].as_str().unwrap_or_default().to_owned(),
        })
    }

    /// A JSON answer.
    async fn answer(&self, url: &str, sent: reqwest::RequestBuilder) -> Result<Value, ServerError> {
        let response = self.send(url, sent).await?;
        let body = Self::body(url, response, MAX_ANSWER_BYTES).await?;
        serde_json::from_slice(&body).map_err(|e| ServerError::Garbled {
            url: url.to_owned(),
            why: e.to_string(),
        })
    }

    pub async fn deposit(
        &self,
        server: &KeyServer,
        signed: &SignedDeposit,
    ) -> Result<(), ServerError> {
        let url = format!("{}/v1/deposit", server.endpoint.url);
        let body = json!({ "signed": format!("0x{}", hex::encode(signed.encode())) });
        self.answer(&url, self.http.post(&url).json(&body)).await?;
        Ok(())
    }

    pub async fn release(
        &self,
        server: &KeyServer,
        signed: &SignedRequest,
    ) -> Result<ReleasedShare, ServerError> {
        let url = format!("{}/v1/release", server.endpoint.url);
        let body = json!({ "signed": format!("0x{}", hex::encode(signed.encode())) });
        let answer = self.answer(&url, self.http.post(&url).json(&body)).await?;
        let garbled = |why: String| ServerError::Garbled {
            url: url.clone(),
            why,
        };
        let text = answer["released"]
            .as_str()
            .ok_or_else(|| garbled("no `released` field".into()))?;
        let bytes =
            hex::decode(text.trim_start_matches("0x")).map_err(|e| garbled(e.to_string()))?;
        ReleasedShare::decode(&mut bytes.as_slice()).map_err(|e| garbled(e.to_string()))
    }

    /// Asks a server to delete every share of a record retired on chain; returns how
    /// many it deleted.
    pub async fn retire(&self, server: &KeyServer, record: u64) -> Result<u64, ServerError> {
        let url = format!("{}/v1/retire", server.endpoint.url);
        let answer = self
            .answer(
                &url,
                self.http.post(&url).json(&json!({ "record": record })),
            )
            .await?;
        Ok(answer["deleted"].as_u64().unwrap_or(0))
    }

    /// The versions of `record` a server still holds a share of.
    pub async fn versions_held(
        &self,
        server: &KeyServer,
        record: u64,
    ) -> Result<Vec<u32>, ServerError> {
        let url = format!("{}/v1/records/{record}", server.endpoint.url);
        let answer = self.answer(&url, self.http.get(&url)).await?;
        Ok(answer["versions"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|v| v.as_u64().and_then(|v| u32::try_from(v).ok()))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Stores a ciphertext blob under its content hash (the server checks the hash).
    pub async fn put_blob(
        &self,
        server: &KeyServer,
        content_hash: &[u8; 32],
        blob: Vec<u8>,
    ) -> Result<(), ServerError> {
        let url = format!(
            "{}/v1/blobs/0x{}",
            server.endpoint.url,
            hex::encode(content_hash)
        );
        self.answer(&url, self.http.put(&url).body(blob)).await?;
        Ok(())
    }

    /// Fetches a ciphertext blob by content hash. The caller checks the hash.
    pub async fn get_blob(
        &self,
        server: &KeyServer,
        content_hash: &[u8; 32],
    ) -> Result<Vec<u8>, ServerError> {
        let url = format!(
            "{}/v1/blobs/0x{}",
            server.endpoint.url,
            hex::encode(content_hash)
        );
        let response = self.send(&url, self.http.get(&url)).await?;
        Self::body(&url, response, MAX_BLOB_BYTES).await
    }
}
