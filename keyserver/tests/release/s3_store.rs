//! A key server keeping ciphertext in an S3-compatible object store (moto's S3 server,
//! started here) instead of a folder: the client's put lands there under the record's
//! content hash, a download streams it back, and other bytes under that hash change
//! nothing.

use crate::fixtures::*;
use crate::s3::S3Server;

pub async fn a_server_keeps_ciphertext_in_an_s3_store(w: &World) -> Outcome {
    // The servers' environment is this process's: only one told --blob-store reads it.
    let s3 = S3Server::start().await?;
    s3.make_bucket("medconsent").await?;
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
        let written = put_written(w, &s, "s3.txt", "ciphertext kept in an object store").await?;
        let name = hex::encode(written.content_hash);
        ensure!(
            s3.keys("medconsent").await? == vec![format!("ks3/{name}")],
            "the bucket holds: {:?}",
            s3.keys("medconsent").await?
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
            s3.keys("medconsent").await? == vec![format!("ks3/{name}")],
            "after the refused upload: {:?}",
            s3.keys("medconsent").await?
        );
        Ok(())
    }
    .await;
    server.kill();
    server.start_reading(&w.deployment_file, &["--node".into(), w.node_url.clone()]);
    outcome
}
