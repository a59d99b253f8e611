//! A key server keeping ciphertext in an S3-compatible object store (moto's S3 server,
//! started here) instead of a folder: the client's put lands there under the record's
//! content hash, a download streams it back, and other bytes under that hash change
//! nothing.

use crate::fixtures::*;
use std::process::{Child, Command, Stdio};

struct S3Server(Child);

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The object keys in `bucket`, as the S3 API lists them.
async fn keys(base: &str, bucket: &str) -> Result<Vec<String>, String> {
    let listing = reqwest::get(format!("{base}/{bucket}?list-type=2"))
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    Ok(listing
        .split("<Key>")
        .skip(1)
        .filter_map(|part| part.split("</Key>").next())
        .map(str::to_owned)
        .collect())
}

async fn start_s3() -> Result<(S3Server, String), String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let child = Command::new("python3")
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("python3 -m moto.server (scripts/setup.sh installs moto): {e}"))?;
    let server = S3Server(child);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if http.get(&base).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let made = http
        .put(format!("{base}/medconsent"))
        .send()
        .await
        .map_err(|e| format!("the S3 server: {e}"))?;
    ensure!(made.status().is_success(), "bucket: {}", made.status());
    Ok((server, base))
}

pub async fn a_server_keeps_ciphertext_in_an_s3_store(w: &World) -> Outcome {
    let (_s3, base) = start_s3().await?;
    // The server's environment is this process's: only a server told --blob-store reads it.
    std::env::set_var("AWS_ENDPOINT", &base);
    std::env::set_var("AWS_ALLOW_HTTP", "true");
    std::env::set_var("AWS_REGION", "us-east-1");
    std::env::set_var("AWS_ACCESS_KEY_ID", "test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    let server = &w.servers[2];
    server.kill();
    server.start_reading(
        &w.deployment_file,
        &[
            "--node".into(),
            w.node_url.clone(),
            "--blob-store".into(),
            "s3://medconsent/ks3".into(),
        ],
    );
    let outcome = async {
        let s = w.session().await;
        let input = w.plaintext("s3.txt", "ciphertext kept in an object store");
        let written = s
            .put(
                &w.patient.signer,
                &w.patient.secret,
                &input,
                3,
                &w.patient.store,
            )
            .await
            .map_err(|e| format!("put: {e}"))?;
        let name = hex::encode(written.content_hash);
        ensure!(
            keys(&base, "medconsent").await? == vec![format!("ks3/{name}")],
            "the bucket holds: {:?}",
            keys(&base, "medconsent").await?
        );
        let blob = reqwest::get(format!("{}/v1/blobs/0x{name}", server.url))
            .await
            .map_err(|e| e.to_string())?;
        ensure!(blob.status() == 200, "download: {}", blob.status());
        let bytes = blob.bytes().await.map_err(|e| e.to_string())?;
        ensure!(
            medconsent_keyrelease::blobs::blake2b_256(&bytes) == written.content_hash,
            "the downloaded bytes are not the record's"
        );
        // Other bytes under the record's hash: refused, the stored blob unchanged.
        let other = reqwest::Client::new()
            .put(format!(
                "{}/v1/blobs/0x{name}?record={}",
                server.url, written.record
            ))
            .body("other bytes")
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = other.status().as_u16();
        let json: Value = other.json().await.unwrap_or_default();
        ensure!(
            (status, json["error"].as_str()) == (400, Some("hash_mismatch")),
            "other bytes: {status} {json}"
        );
        ensure!(
            keys(&base, "medconsent").await? == vec![format!("ks3/{name}")],
            "after the refused upload: {:?}",
            keys(&base, "medconsent").await?
        );
        Ok(())
    }
    .await;
    server.kill();
    server.start_reading(&w.deployment_file, &["--node".into(), w.node_url.clone()]);
    outcome
}
