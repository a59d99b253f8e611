//! What a key server believes: the nodes it reads. A lying node alone decides for the
//! server (shown, so the test bites); in a quorum with an honest node it decides nothing.

use crate::fixtures::*;
use crate::lying_node::{Lie, LyingNode};
use medconsent_chain::input_of;
use medconsent_shared::{AccountId, Record, RecordStatus};
use parity_scale_codec::{Decode, Encode};
use std::sync::Arc;

/// The made-up entries' sequence numbers: far beyond any real one.
const MADE_UP_SEQ: u64 = 1_000_000;

/// `Ok(value)` as an ink! message returns it (`Result<R, LangError>`).
fn ok_output(value: impl Encode) -> Vec<u8> {
    let mut output = vec![0u8];
    value.encode_to(&mut output);
    output
}

fn selector<Args: Encode + Clone, R>(message: &medconsent_chain::Message<Args, R>) -> [u8; 4] {
    input_of(message)[..4].try_into().unwrap()
}

pub async fn a_lying_node_fools_a_lone_server_never_a_quorum(w: &World) -> Outcome {
    let s = w.session().await;
    let record = put(w, &s, "lying-node.txt", "what a lying node is after").await?;
    let contracts = w.deployment.contracts();
    let nobody = AccountId::from([0; 32]);
    let (log, registry) = (contracts.log, contracts.registry);
    let entries = selector(&contracts.log().entries(nobody, 0, 1));
    let record_query = selector(&contracts.registry().record(0));
    let now = chain_now(&s).await;
    let (patient, eve) = (w.patient.account(), w.stranger.account());
    // Entries from MADE_UP_SEQ on: Eve's fresh own-request Access to the record, which
    // sends the share to the reply key she signed for.
    let made_up_entry: Lie = Arc::new(move |dest, input| {
        if dest != AsRef::<[u8; 32]>::as_ref(&log) || input.get(..4) != Some(&entries[..]) {
            return None;
        }
        let (patient, start, _) = <(AccountId, u64, u32)>::decode(&mut input.get(4..)?).ok()?;
        (start >= MADE_UP_SEQ).then(|| {
            ok_output(vec![LogEntry {
                seq: start,
                patient,
                actor: eve,
                record: Some(record),
                kind: EntryKind::Access,
                purpose: Some(Purpose::PatientRequest),
                consent: None,
                timestamp: now,
                block: 1,
                hash: [0; 32],
            }])
        })
    });
    // The record, retired.
    let made_up_retirement: Lie = Arc::new(move |dest, input| {
        if dest != AsRef::<[u8; 32]>::as_ref(&registry) || input.get(..4) != Some(&record_query[..])
        {
            return None;
        }
        let id = u64::decode(&mut input.get(4..)?).ok()?;
        (id == record).then(|| {
            ok_output(Some(Record {
                id,
                patient,
                author: patient,
                category: 3,
                content_hash: [0; 32],
                locator: Vec::new(),
                version: 1,
                created_at: now,
                updated_at: now,
                status: RecordStatus::Retired,
            }))
        })
    });
    let entry_liar = LyingNode::start(&w.node_url, made_up_entry).await;
    let retirement_liar = LyingNode::start(&w.node_url, made_up_retirement).await;
    let server = &w.servers[2];
    let reading = |urls: &[&str]| {
        let nodes: Vec<String> = urls
            .iter()
            .flat_map(|url| ["--node".to_owned(), url.to_string()])
            .collect();
        server.kill();
        server.start_reading(&w.deployment_file, &nodes);
    };
    let eves_request = |seq: u64| {
        signed_by(
            &w.stranger.signer,
            ReleaseRequest {
                server: server.public_key,
                patient,
                record,
                version: 1,
                log_seq: seq,
                requester: eve,
                reply_key: w.stranger.public_key(),
                expires_at: now + 60_000,
            },
        )
    };
    let releases = || async { health(&server.url).await.map(|h| h["releases"].as_u64()) };

    // Alone, the liar decides: the share goes to Eve.
    reading(&[&entry_liar.url]);
    let fooled = post_release(&server.url, &eves_request(MADE_UP_SEQ)).await;
    ensure!(
        fooled == (200, String::new()),
        "a lone lying node: {fooled:?}"
    );
    // With an honest node in the quorum: refused, nothing released.
    reading(&[&entry_liar.url, &w.node_url]);
    let before = releases().await?;
    let refused = post_release(&server.url, &eves_request(MADE_UP_SEQ + 1)).await;
    ensure!(
        refused == (503, "nodes_disagree".into()),
        "a liar and an honest node: {refused:?}"
    );
    ensure!(releases().await? == before, "a release was counted");
    // What the nodes agree on still opens: a real entry, once Eve is granted access.
    // (Revoked after: a patient keeps at most 8 rules per provider.)
    let consent = grant(w, &s, &w.stranger, Scope::Record(record)).await?;
    let entry = access(w, &s, &w.stranger, record).await?;
    let real = request_for(
        server.public_key,
        &entry,
        1,
        &w.stranger,
        chain_now(&s).await,
    );
    let released = post_release(&server.url, &signed_by(&w.stranger.signer, real)).await;
    revoke(w, &s, consent).await?;
    ensure!(
        released == (200, String::new()),
        "a real entry with two nodes: {released:?}"
    );

    // A made-up retirement: with the quorum nothing is deleted; alone, the share goes.
    let retire = serde_json::json!({ "record": record });
    reading(&[&retirement_liar.url, &w.node_url]);
    let refused = post_json(&server.url, "/v1/retire", &retire).await;
    ensure!(
        refused == (503, "nodes_disagree".into()),
        "retire, a liar and an honest node: {refused:?}"
    );
    ensure!(
        versions_held(&server.url, record).await == vec![1],
        "a share was deleted on a made-up retirement"
    );
    reading(&[&retirement_liar.url]);
    let fooled = post_json(&server.url, "/v1/retire", &retire).await;
    let held = versions_held(&server.url, record).await;
    reading(&[&w.node_url]);
    ensure!(
        fooled == (200, String::new()) && held.is_empty(),
        "retire, a lone lying node: {fooled:?}, still held {held:?}"
    );
    Ok(())
}

pub async fn a_forged_request_costs_no_chain_read(w: &World) -> Outcome {
    let s = w.session().await;
    let record = put(w, &s, "forged.txt", "forged").await?;
    // Counts the reads a request makes (log entries, records, the directory), not the
    // server's own watch of the contracts, which runs on its own schedule.
    let contracts = w.deployment.contracts();
    let nobody = AccountId::from([0; 32]);
    let request_reads = [
        selector(&contracts.log().entries(nobody, 0, 1)),
        selector(&contracts.registry().record(0)),
        selector(&contracts.consents().provider(nobody)),
    ];
    let reads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = reads.clone();
    let counting: Lie = Arc::new(move |_, input| {
        if request_reads.iter().any(|s| input.get(..4) == Some(&s[..])) {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        None
    });
    let node = LyingNode::start(&w.node_url, counting).await;
    // The strict server: it holds no shares, so no sweep of its own reads the chain.
    let server = &w.strict;
    server.kill();
    server.start_reading(&w.deployment_file, &["--node".into(), node.url.clone()]);
    let now = chain_now(&s).await;
    let (eve, dave) = (&w.stranger, &w.doctor);
    let request = |server_key: [u8; 32], requester: &Person, seq: u64| ReleaseRequest {
        server: server_key,
        patient: w.patient.account(),
        record,
        version: 1,
        log_seq: seq,
        requester: requester.account(),
        reply_key: eve.public_key(),
        expires_at: now + 60_000,
    };
    let forged = SignedRequest {
        // Eve's signature over a request in Dave's name.
        signature: signed_by(&eve.signer, request(server.public_key, dave, 0)).signature,
        request: request(server.public_key, dave, 0),
    };
    let elsewhere = signed_by(&eve.signer, request(w.servers[0].public_key, eve, 0));
    let deposit = Deposit {
        server: server.public_key,
        patient: w.patient.account(),
        depositor: w.patient.account(),
        record,
        version: 1,
        content_hash: [0; 32],
        index: 3,
        share: envelope::seal(
            &[9; 32],
            &x25519_dalek::PublicKey::from(server.public_key),
            &deposit_context(&server.public_key, record, 1, &[0; 32], 3),
        )
        .unwrap(),
        expires_at: now + 60_000,
    };
    let before = reads.load(std::sync::atomic::Ordering::SeqCst);
    let refusals = [
        post_release(&server.url, &forged).await,
        post_release(&server.url, &elsewhere).await,
        // Eve signing a deposit in Bob's name.
        post_deposit(&server.url, &eve.signer, deposit).await,
    ];
    // An unsigned retire of a record this server keeps nothing of: answered, no read.
    let nothing_kept = post_json(
        &server.url,
        "/v1/retire",
        &serde_json::json!({"record": record}),
    )
    .await;
    let after_forged = reads.load(std::sync::atomic::Ordering::SeqCst);
    // A genuine request that the chain does not back does cost reads: the count counts.
    let unbacked = post_release(
        &server.url,
        &signed_by(&eve.signer, request(server.public_key, eve, 999_999)),
    )
    .await;
    let after_unbacked = reads.load(std::sync::atomic::Ordering::SeqCst);
    // Unsigned uploads naming one record, again and again: the record is read once a
    // block, not once an upload (five reads without the memo).
    let http = reqwest::Client::new();
    let mut uploads = Vec::new();
    for _ in 0..5 {
        let answer = http
            .put(format!(
                "{}/v1/blobs/0x{}?record={record}",
                server.url,
                hex::encode([7u8; 32])
            ))
            .body("not the record's ciphertext")
            .send()
            .await
            .map_err(|e| e.to_string())?;
        uploads.push(answer.status().as_u16());
    }
    let after_uploads = reads.load(std::sync::atomic::Ordering::SeqCst);
    server.kill();
    server.start_reading(&w.deployment_file, &["--node".into(), w.node_url.clone()]);
    ensure!(
        refusals
            == [
                (401, "bad_signature".into()),
                (400, "wrong_server".into()),
                (401, "bad_signature".into()),
            ],
        "{refusals:?}"
    );
    ensure!(nothing_kept == (200, String::new()), "{nothing_kept:?}");
    ensure!(
        after_forged == before,
        "forged requests and a retire of nothing kept cost {} RPCs",
        after_forged - before
    );
    ensure!(
        uploads == [403; 5] && after_uploads - after_unbacked <= 2,
        "uploads {uploads:?} cost {} record reads",
        after_uploads - after_unbacked
    );
    ensure!(
        unbacked == (404, "no_such_entry".into()) && after_unbacked > after_forged,
        "unbacked: {unbacked:?}, {} RPCs",
        after_unbacked - after_forged
    );
    Ok(())
}

pub async fn a_block_older_than_the_servers_clock_allows_is_not_acted_on(w: &World) -> Outcome {
    let s = w.session().await;
    let server = &w.strict;
    let now = chain_now(&s).await;
    let eve = &w.stranger;
    // A genuine request the chain does not back: 404 while the block is recent enough.
    let request = ReleaseRequest {
        server: server.public_key,
        patient: w.patient.account(),
        record: 0,
        version: 1,
        log_seq: 999_999,
        requester: eve.account(),
        reply_key: eve.public_key(),
        expires_at: now + 60_000,
    };
    let signed = signed_by(&eve.signer, request);
    let before = post_release(&server.url, &signed).await;
    // The same server allowing its nodes' finalized block 1 ms behind its own clock: any
    // block is too old (a node showing an old block, or nodes stuck).
    server.kill();
    server.start_reading(
        &w.deployment_file,
        &[
            "--node".into(),
            w.node_url.clone(),
            "--max-chain-lag-ms".into(),
            "1".into(),
        ],
    );
    let behind = post_release(&server.url, &signed).await;
    server.kill();
    server.start_reading(&w.deployment_file, &["--node".into(), w.node_url.clone()]);
    ensure!(
        before == (404, "no_such_entry".into()) && behind == (503, "chain_behind".into()),
        "recent: {before:?}; 1 ms allowed: {behind:?}"
    );
    Ok(())
}
