//! Talking to the key servers over HTTP: deposits, releases, retirements, break-glass
//! justifications, and the
//! ciphertext blobs each server also stores by content hash. A server's X25519 key and
//! whether it may be used come from the chain's directory, never from the server.

use medconsent_chain::KeyServerEndpoint;
use medconsent_keyrelease::justification::{
    ReleasedJustification, SignedJustificationDeposit, SignedJustificationRequest,
};
use medconsent_keyrelease::request::{ReleasedShare, SignedDeposit, SignedRequest};
use medconsent_keyrelease::wire::{
    self, BlobReceipt, BlobUpload, DepositReceipt, Health, JustificationReceipt, RecordShares,
    RefusalBody, ReleasedBody, RetireBody, RetireReceipt, SignedBody, MAX_ANSWER_BYTES,
    MAX_BLOB_BYTES, REQUEST_TIMEOUT,
};
use serde::de::DeserializeOwned;
use std::time::Duration;

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
            http: Self::builder(timeout)
                .build()
                .expect("a plain HTTP client builds"),
        }
    }

    /// For `deployment`'s servers: `https://` checked against the public roots and the
    /// deployment's own authority (`key_server_ca`), if it names one.
    pub fn for_deployment(
        deployment: &medconsent_chain::Deployment,
    ) -> Result<Self, reqwest::Error> {
        let mut builder = Self::builder(REQUEST_TIMEOUT);
        if let Some(pem) = &deployment.key_server_ca {
            for certificate in reqwest::Certificate::from_pem_bundle(pem.as_bytes())? {
                builder = builder.add_root_certificate(certificate);
            }
        }
        Ok(Self {
            http: builder.build()?,
        })
    }

    fn builder(timeout: Duration) -> reqwest::ClientBuilder {
        // A server answers itself: a redirect could send a signed request (or the
        // reader) anywhere, so none is followed.
        reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .use_rustls_tls()
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
        // A refusal is a refusal whatever its body says (a proxy in front of a server may
        // answer with HTML): the status decides, the code is kept when there is one.
        let body: Option<RefusalBody> = Self::body(url, response, MAX_ANSWER_BYTES)
            .await
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        let (code, message) = body.map_or(("unknown".to_owned(), String::new()), |body| {
            (body.error, body.message)
        });
        Err(ServerError::Refused {
            url: url.to_owned(),
            status: status.as_u16(),
            code,
            message,
        })
    }

    /// A JSON answer of type `T`: anything else is `Garbled`, never a default.
    async fn answer<T: DeserializeOwned>(
        &self,
        url: &str,
        sent: reqwest::RequestBuilder,
    ) -> Result<T, ServerError> {
        let response = self.send(url, sent).await?;
        let body = Self::body(url, response, MAX_ANSWER_BYTES).await?;
        serde_json::from_slice(&body).map_err(|e| ServerError::Garbled {
            url: url.to_owned(),
            why: e.to_string(),
        })
    }

    /// POSTs a signed message (SCALE, hex) to `path`; the server's JSON answer.
    async fn post_signed<T: DeserializeOwned>(
        &self,
        server: &KeyServer,
        path: &str,
        signed: &impl parity_scale_codec::Encode,
    ) -> Result<(String, T), ServerError> {
        let url = format!("{}{path}", server.endpoint.url);
        let body = SignedBody {
            signed: wire::to_hex(signed),
        };
        let answer = self.answer(&url, self.http.post(&url).json(&body)).await?;
        Ok((url, answer))
    }

    /// The SCALE message a release answer carries.
    fn released<T: parity_scale_codec::Decode>(
        (url, answer): (String, ReleasedBody),
    ) -> Result<T, ServerError> {
        wire::from_hex(&answer.released).map_err(|e| ServerError::Garbled {
            url,
            why: e.to_string(),
        })
    }

    pub async fn deposit(
        &self,
        server: &KeyServer,
        signed: &SignedDeposit,
    ) -> Result<(), ServerError> {
        let _: (String, DepositReceipt) = self.post_signed(server, "/v1/deposit", signed).await?;
        Ok(())
    }

    pub async fn release(
        &self,
        server: &KeyServer,
        signed: &SignedRequest,
    ) -> Result<ReleasedShare, ServerError> {
        Self::released(self.post_signed(server, "/v1/release", signed).await?)
    }

    /// Leaves a responder's sealed justification copy with one server.
    pub async fn deposit_justification(
        &self,
        server: &KeyServer,
        signed: &SignedJustificationDeposit,
    ) -> Result<(), ServerError> {
        let _: (String, JustificationReceipt) = self
            .post_signed(server, "/v1/justifications", signed)
            .await?;
        Ok(())
    }

    /// One server's share of a justification's key and the sealed text it keeps.
    pub async fn justification(
        &self,
        server: &KeyServer,
        signed: &SignedJustificationRequest,
    ) -> Result<ReleasedJustification, ServerError> {
        Self::released(
            self.post_signed(server, "/v1/justifications/release", signed)
                .await?,
        )
    }

    /// Asks a server to delete every share of a record retired on chain; returns how
    /// many it deleted.
    pub async fn retire(&self, server: &KeyServer, record: u64) -> Result<u64, ServerError> {
        let url = format!("{}/v1/retire", server.endpoint.url);
        let answer: RetireReceipt = self
            .answer(&url, self.http.post(&url).json(&RetireBody { record }))
            .await?;
        if answer.record != record {
            return Err(ServerError::Garbled {
                url,
                why: format!("a receipt for record {}", answer.record),
            });
        }
        Ok(answer.deleted)
    }

    /// What a server says of itself (its key, its counts).
    pub async fn health(&self, server: &KeyServer) -> Result<Health, ServerError> {
        let url = format!("{}/v1/health", server.endpoint.url);
        self.answer(&url, self.http.get(&url)).await
    }

    /// The versions of `record` a server still holds a share of.
    pub async fn versions_held(
        &self,
        server: &KeyServer,
        record: u64,
    ) -> Result<Vec<u32>, ServerError> {
        let url = format!("{}/v1/records/{record}", server.endpoint.url);
        let answer: RecordShares = self.answer(&url, self.http.get(&url)).await?;
        if answer.record != record {
            return Err(ServerError::Garbled {
                url,
                why: format!("the versions of record {}", answer.record),
            });
        }
        Ok(answer.versions)
    }

    /// Stores a ciphertext blob under its content hash (the server checks the hash).
    /// Uploads the ciphertext of `record`'s current version (the server checks that the
    /// chain names it).
    pub async fn put_blob(
        &self,
        server: &KeyServer,
        record: u64,
        content_hash: &[u8; 32],
        blob: Vec<u8>,
    ) -> Result<(), ServerError> {
        let url = format!(
            "{}/v1/blobs/0x{}",
            server.endpoint.url,
            hex::encode(content_hash)
        );
        let sent = self.http.put(&url).query(&BlobUpload { record }).body(blob);
        let _: BlobReceipt = self.answer(&url, sent).await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server on loopback that answers every request with `status` and `body`.
    async fn answering(status: u16, body: &'static str) -> KeyServer {
        answering_with(status, String::new(), body).await
    }

    /// The same, with `headers` (each ending in CRLF) added to the answer.
    async fn answering_with(status: u16, headers: String, body: &'static str) -> KeyServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let answer = format!(
                    "HTTP/1.1 {status} X\r\n{headers}content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        KeyServer {
            endpoint: KeyServerEndpoint {
                account: medconsent_shared::AccountId::from([1; 32]),
                url,
                public_key: [2; 32],
            },
            public_key: [2; 32],
        }
    }

    fn garbled<T: std::fmt::Debug>(result: Result<T, ServerError>) -> bool {
        matches!(result, Err(ServerError::Garbled { .. }))
    }

    #[tokio::test]
    async fn a_malformed_answer_is_an_error_never_zero_or_empty() {
        let servers = Servers::new();
        for body in [
            r#"{"record": 4}"#,
            r#"{"record": 4, "deleted": "2"}"#,
            r#"{"record": 5, "deleted": 2}"#,
            "not json",
        ] {
            let server = answering(200, body).await;
            assert!(garbled(servers.retire(&server, 4).await), "retire: {body}");
        }
        for body in [
            r#"{"record": 4}"#,
            r#"{"record": 4, "versions": [1, "2"]}"#,
            r#"{"record": 4, "versions": [4294967296]}"#,
            r#"{"record": 6, "versions": [1]}"#,
        ] {
            let server = answering(200, body).await;
            assert!(
                garbled(servers.versions_held(&server, 4).await),
                "versions: {body}"
            );
        }
        let server = answering(200, r#"{"released": "0x00"}"#).await;
        let request = SignedRequest {
            request: medconsent_keyrelease::request::ReleaseRequest {
                server: [2; 32],
                patient: medconsent_shared::AccountId::from([3; 32]),
                record: 4,
                version: 1,
                log_seq: 0,
                requester: medconsent_shared::AccountId::from([5; 32]),
                reply_key: [6; 32],
                expires_at: 0,
            },
            signature: [0; 64],
        };
        assert!(garbled(servers.release(&server, &request).await));
        // Well-formed answers still read.
        let server = answering(200, r#"{"record": 4, "deleted": 2}"#).await;
        assert_eq!(servers.retire(&server, 4).await, Ok(2));
        let server = answering(200, r#"{"record": 4, "versions": [3]}"#).await;
        assert_eq!(servers.versions_held(&server, 4).await, Ok(vec![3]));
    }

    #[tokio::test]
    async fn a_redirect_is_not_followed() {
        let servers = Servers::new();
        let elsewhere = answering(200, r#"{"record": 4, "deleted": 2}"#).await;
        let location = format!("location: {}/v1/retire\r\n", elsewhere.endpoint.url);
        let redirecting = answering_with(307, location, "").await;
        // Followed, it would read Ok(2) from the other server.
        assert!(matches!(
            servers.retire(&redirecting, 4).await,
            Err(ServerError::Refused { status: 307, .. })
        ));
    }

    #[tokio::test]
    async fn a_refusal_keeps_its_code_and_status() {
        let servers = Servers::new();
        for body in [
            r#"{"error": "entry_used", "message": "used"}"#,
            r#"{"error": "entry_used"}"#,
        ] {
            let server = answering(409, body).await;
            let refused = servers.retire(&server, 4).await.unwrap_err();
            assert_eq!(refused.code(), Some("entry_used"), "{body}");
            assert!(matches!(refused, ServerError::Refused { status: 409, .. }));
        }
    }
}
