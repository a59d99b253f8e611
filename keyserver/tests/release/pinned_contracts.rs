//! A key server acts only for the contracts its deployment pins: a rewiring (or an
//! upgrade) by the admin stops every release at every server until its operator reviews
//! it, and the announcement is logged while the delay runs.

use crate::fixtures::*;
use crate::world::CHANGE_DELAY_MS;
use medconsent_shared::AdminChange;

/// The admin's `change` to the registry, announced, then applied once due.
async fn rewire_registry(w: &World, s: &Session, change: AdminChange) -> Outcome {
    let admin = medconsent_chain::signer_from_uri("//Alice").unwrap();
    let address = w.deployment.contracts().registry;
    let mut registry = w.deployment.contracts().registry();
    match s
        .chain
        .submit(&admin, &address, &registry.schedule_change(change))
        .await
    {
        Ok((Ok(_), Some(_))) => {}
        other => return Err(format!("schedule_change: {other:?}")),
    }
    tokio::time::sleep(Duration::from_millis(CHANGE_DELAY_MS + 1_000)).await;
    // The dev node seals a block only for a transaction: one that changes nothing moves
    // its clock past the delay.
    s.chain
        .remark(&admin, b"time passes")
        .await
        .map_err(|e| format!("remark: {e}"))?;
    match s
        .chain
        .submit(&admin, &address, &registry.apply_change())
        .await
    {
        Ok((Ok(()), Some(_))) => Ok(()),
        other => Err(format!("apply_change: {other:?}")),
    }
}

/// Asks `url` for an entry that does not exist until the answer is `expected`: a probe
/// of whether the server acts (404 `no_such_entry`) or not (503 `contracts_changed`)
/// that can never release anything.
async fn probe_until(
    w: &World,
    url: &str,
    server_key: [u8; 32],
    expected: (u16, &str),
) -> Result<(u16, String), String> {
    let started = Instant::now();
    loop {
        let now = chain_now(&w.session().await).await;
        let mut missing = request_for(
            server_key,
            &LogEntry {
                seq: 999_999,
                patient: w.patient.account(),
                actor: w.stranger.account(),
                record: Some(0),
                kind: EntryKind::Access,
                purpose: Some(Purpose::Treat),
                consent: None,
                timestamp: now,
                block: 0,
                hash: [0; 32],
            },
            1,
            &w.stranger,
            now,
        );
        missing.expires_at = now + 60_000;
        let got = post_release(url, &signed_by(&w.stranger.signer, missing)).await;
        if got == (expected.0, expected.1.to_owned()) || started.elapsed() > Duration::from_secs(20)
        {
            return Ok(got);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

pub async fn a_rewired_registry_stops_every_release_until_reviewed(w: &World) -> Outcome {
    let s = w.session().await;
    let record = put(w, &s, "rewired.txt", "rewired").await?;
    let reader = &w.stranger;
    let consent = grant(w, &s, reader, Scope::Record(record)).await?;
    let entry = access(w, &s, reader, record).await?;
    revoke(w, &s, consent).await?;
    let contracts = w.deployment.contracts();
    let server = &w.servers[1];
    let mut request = request_for(server.public_key, &entry, 1, reader, chain_now(&s).await);
    request.expires_at += 30_000;
    let signed = signed_by(&reader.signer, request);
    let releases = health(&server.url).await?["releases"].as_u64();
    // The registry wired the other way round: a change the deployment did not pin. The
    // first request after it applies is refused already (no gap until the next look).
    rewire_registry(w, &s, AdminChange::Peers(contracts.log, contracts.consents)).await?;
    let stopped = post_release(&server.url, &signed).await;
    // Nor is anything deleted on the word of contracts that are not the pinned ones.
    let retire = serde_json::json!({ "record": record });
    let kept = post_json(&server.url, "/v1/retire", &retire).await;
    let log = std::fs::read_to_string(&server.log).map_err(|e| e.to_string())?;
    // Back as pinned: the server still refuses (what the other wiring did meanwhile
    // stays); once its operator restarts it, the same request is released.
    rewire_registry(w, &s, AdminChange::Peers(contracts.consents, contracts.log)).await?;
    let after_undo = probe_until(w, &server.url, server.public_key, (404, "no_such_entry")).await?;
    for restarted in w.servers.iter().chain([&w.strict]) {
        restarted.kill();
        restarted.start(&w.deployment_file);
    }
    let resumed = probe_until(w, &server.url, server.public_key, (404, "no_such_entry")).await?;
    let released = post_release(&server.url, &signed).await;
    ensure!(
        stopped == (503, "contracts_changed".into()) && kept == (503, "contracts_changed".into()),
        "right after the rewiring: release {stopped:?}, retire {kept:?}"
    );
    ensure!(
        log.contains("contracts: the admin announced a change of the record registry"),
        "the announcement is not in the log"
    );
    ensure!(
        after_undo == (503, "contracts_changed".into()),
        "undone, before a restart: {after_undo:?}"
    );
    ensure!(
        resumed == (404, "no_such_entry".into()) && released == (200, String::new()),
        "restarted: {resumed:?}, then {released:?}"
    );
    ensure!(
        health(&server.url).await?["releases"].as_u64() == releases.map(|n| n + 1),
        "one release in all"
    );
    Ok(())
}
