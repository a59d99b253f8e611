//! The directory at the finalized block decides who may still act: a reader suspended
//! after its access collects nothing more, a suspended key server gives and takes nothing.

use crate::fixtures::*;

pub async fn a_suspended_reader_or_key_server_gets_and_gives_nothing(w: &World) -> Outcome {
    let s = w.session().await;
    let record = put(w, &s, "suspended.txt", "suspended").await?;
    let hash = s
        .record_at(None, &w.patient.account(), record)
        .await
        .map_err(|e| e.to_string())?
        .content_hash;
    // Eve reads here (a patient keeps at most 8 rules per provider; revoked at the end).
    let reader = &w.stranger;
    let consent = grant(w, &s, reader, Scope::Record(record)).await?;
    let server = &w.servers[0];
    let releases = || async { health(&server.url).await.map(|h| h["releases"].as_u64()) };
    let request = |entry: &LogEntry, now: u64| {
        signed_by(
            &reader.signer,
            request_for(server.public_key, entry, 1, reader, now),
        )
    };

    // Suspended after the access: the entry no longer opens; reactivated, it does.
    let entry = access(w, &s, reader, record).await?;
    set_suspended(w, &s, reader.account(), true).await?;
    let asked = request(&entry, chain_now(&s).await);
    let before = releases().await?;
    let got = post_release(&server.url, &asked).await;
    ensure!(
        got == (403, "requester_suspended".into()),
        "a suspended reader: {got:?}"
    );
    ensure!(releases().await? == before, "a release was counted");
    set_suspended(w, &s, reader.account(), false).await?;
    let got = post_release(&server.url, &asked).await;
    ensure!(got == (200, String::new()), "reactivated: {got:?}");

    // A suspended key server releases nothing and takes no deposit.
    let entry = access(w, &s, reader, record).await?;
    set_suspended(w, &s, server.account, true).await?;
    let now = chain_now(&s).await;
    let asked = request(&entry, now);
    let got = post_release(&server.url, &asked).await;
    let server_key = x25519_dalek::PublicKey::from(server.public_key);
    let deposit = Deposit {
        server: server.public_key,
        patient: w.patient.account(),
        depositor: w.patient.account(),
        record,
        version: 1,
        content_hash: hash,
        index: 1,
        share: envelope::seal(
            &[9; 32],
            &server_key,
            &deposit_context(&server.public_key, record, 1, &hash, 1),
        )
        .unwrap(),
        expires_at: now + 60_000,
    };
    let deposited = post_deposit(&server.url, &w.patient.signer, deposit).await;
    let held = versions_held(&server.url, record).await;
    set_suspended(w, &s, server.account, false).await?;
    let after = post_release(&server.url, &asked).await;
    revoke(w, &s, consent).await?;
    ensure!(
        got == (403, "server_not_listed".into()),
        "a release by a suspended server: {got:?}"
    );
    ensure!(
        deposited == (403, "server_not_listed".into()) && held == vec![1],
        "a deposit at a suspended server: {deposited:?}, held {held:?}"
    );
    ensure!(
        after == (200, String::new()),
        "reactivated server: {after:?}"
    );
    Ok(())
}
