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
    match s
        .chain
        .submit(&admin, &address, &registry.apply_change())
        .await
    {
        Ok((Ok(()), Some(_))) => Ok(()),
        other => Err(format!("apply_change: {other:?}")),
    }
}

/// Asks `url` to release until the answer is `expected` (the watcher looks every 2 s):
/// the answers seen.
async fn release_until(
    url: &str,
    signed: &SignedRequest,
    expected: (u16, &str),
) -> Result<(u16, String), String> {
    let started = Instant::now();
    loop {
        let got = post_release(url, signed).await;
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
    let signed = signed_by(
        &reader.signer,
        request_for(
            server.public_key,
            &entry,
            1,
            reader,
            chain_now(&s).await + 30_000,
        ),
    );
    let releases = health(&server.url).await?["releases"].as_u64();
    // The registry wired the other way round: a change the deployment did not pin.
    rewire_registry(w, &s, AdminChange::Peers(contracts.log, contracts.consents)).await?;
    let stopped = release_until(&server.url, &signed, (503, "contracts_changed")).await?;
    let log = std::fs::read_to_string(&server.log).map_err(|e| e.to_string())?;
    // Back as pinned: the same request is released.
    rewire_registry(w, &s, AdminChange::Peers(contracts.consents, contracts.log)).await?;
    let released = release_until(&server.url, &signed, (200, "")).await?;
    ensure!(
        stopped == (503, "contracts_changed".into()),
        "while rewired: {stopped:?}"
    );
    ensure!(
        log.contains("contracts: the admin announced a change of the record registry")
            && log.contains("contracts: the record registry is wired to other contracts"),
        "the log does not tell the operator"
    );
    ensure!(
        released == (200, String::new()),
        "rewired back: {released:?}"
    );
    ensure!(
        health(&server.url).await?["releases"].as_u64() == releases.map(|n| n + 1),
        "one release in all"
    );
    Ok(())
}
