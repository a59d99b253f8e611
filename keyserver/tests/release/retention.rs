//! What a server keeps follows the chain: the ciphertext of a retired record and of a
//! version a rotation superseded is deleted, and a stranger who registers a copy of a
//! patient's content hash and retires it deletes nothing of the patient's.

use crate::fixtures::*;

/// The status a server answers for the blob of `hash`, and its bytes when 200.
async fn blob_at(url: &str, hash: &[u8; 32]) -> (u16, Vec<u8>) {
    let response = reqwest::get(format!("{url}/v1/blobs/0x{}", hex::encode(hash)))
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

/// Waits (at most `bound`) until every server answers `status` for `hash`.
async fn until_every_server(w: &World, hash: &[u8; 32], status: u16, bound: Duration) -> Outcome {
    let started = Instant::now();
    loop {
        let mut answers = Vec::new();
        for server in &w.servers {
            answers.push(blob_at(&server.url, hash).await.0);
        }
        if answers.iter().all(|a| *a == status) {
            return Ok(());
        }
        ensure!(
            started.elapsed() < bound,
            "after {bound:?} the servers answer {answers:?} for 0x{}, not {status}",
            hex::encode(hash)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The sweep runs every second in this world; a rotation's old ciphertext is gone
/// within five.
const SWEEP_BOUND: Duration = Duration::from_secs(5);

pub async fn a_retired_or_rotated_records_ciphertext_is_deleted(w: &World) -> Outcome {
    let s = w.session().await;
    let first = put_written(w, &s, "kept.txt", "version one").await?;
    until_every_server(w, &first.content_hash, 200, Duration::ZERO).await?;
    let rotated = s
        .rotate(
            &w.patient.signer,
            &w.patient.secret,
            first.record,
            &w.patient.store,
        )
        .await
        .map_err(|e| format!("rotate: {e}"))?;
    let now = s
        .record_at(None, &w.patient.account(), first.record)
        .await
        .map_err(|e| e.to_string())?;
    ensure!(
        rotated.version == 2 && now.content_hash != first.content_hash,
        "{rotated:?}"
    );
    // Version 1 opens nothing any more (no rule releases its key): its ciphertext goes,
    // version 2's stays.
    until_every_server(w, &first.content_hash, 404, SWEEP_BOUND).await?;
    until_every_server(w, &now.content_hash, 200, Duration::ZERO).await?;
    let retired = s
        .retire(&w.patient.signer, first.record, &w.patient.store)
        .await
        .map_err(|e| format!("retire: {e}"))?;
    for (url, deleted) in &retired.at_servers {
        ensure!(deleted == &Ok(1), "{url}: {deleted:?}");
    }
    // Told at once: gone when retire returns, no sweep needed.
    until_every_server(w, &now.content_hash, 404, Duration::ZERO).await
}

pub async fn a_strangers_copy_of_a_content_hash_deletes_nothing_when_retired(w: &World) -> Outcome {
    let s = w.session().await;
    let patients = put_written(w, &s, "squatted.txt", "the patient's").await?;
    let server = &w.servers[0];
    let (status, ciphertext) = blob_at(&server.url, &patients.content_hash).await;
    ensure!(status == 200, "the patient's blob: {status}");
    // Eve registers a record of her own naming the patient's content hash (the chain
    // allows one per patient), stores the ciphertext anyone can download for it, and
    // retires her record.
    let eve = &w.stranger;
    let contracts = w.deployment.contracts();
    let next = contracts.registry().next_record_id();
    let squat: RecordId = s
        .chain
        .read(None, &eve.account(), &contracts.registry, &next)
        .await
        .map_err(|e| e.to_string())?;
    let register = contracts.registry().register_record(
        eve.account(),
        squat,
        3,
        patients.content_hash,
        b"squat".to_vec(),
        Purpose::PatientRequest,
    );
    let (result, included) = s
        .chain
        .submit(&eve.signer, &contracts.registry, &register)
        .await
        .map_err(|e| e.to_string())?;
    ensure!(included.is_some(), "Eve's registration: {result:?}");
    let stored = reqwest::Client::new()
        .put(format!(
            "{}/v1/blobs/0x{}?record={squat}",
            server.url,
            hex::encode(patients.content_hash)
        ))
        .body(ciphertext.clone())
        .send()
        .await
        .map_err(|e| e.to_string())?
        .status()
        .as_u16();
    ensure!(stored == 201, "Eve's upload: {stored}");
    let retired = s
        .retire(&eve.signer, squat, &eve.store)
        .await
        .map_err(|e| format!("Eve's retire: {e}"))?;
    ensure!(
        retired.at_servers.iter().all(|(_, r)| r == &Ok(0)),
        "{:?}",
        retired.at_servers
    );
    // A sweep later, the patient's ciphertext is still at every server, unchanged, and
    // opens.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for server in &w.servers {
        let (status, bytes) = blob_at(&server.url, &patients.content_hash).await;
        ensure!(
            status == 200 && bytes == ciphertext,
            "{}: {status}, {} bytes",
            server.url,
            bytes.len()
        );
    }
    let out = w.out_path("squatted.opened");
    s.get(
        &w.patient.signer,
        &w.patient.secret,
        patients.record,
        Purpose::PatientRequest,
        &w.patient.store,
        &out,
    )
    .await
    .map_err(|e| format!("the patient's get: {e}"))?;
    ensure!(read(&out) == "the patient's", "opened {}", read(&out));
    Ok(())
}
