//! A reader with an Access entry gets the key once; every other entry is refused.

use crate::fixtures::*;

pub async fn no_key_before_the_grant_and_a_key_after_it(w: &World) -> Outcome {
    let s = w.session().await;
    let text = "Synthetic lab report: haemoglobin 14.1 g/dL (no real patient).";
    let record = put(w, &s, "report-1.txt", text).await?;
    // Before any consent: the access is denied (and logged), so there is no key.
    let out = w.out_path("report-1.early");
    match read_as(&s, &w.doctor, record, &out).await {
        Err(FlowError::Denied(DenyReason::NoConsent)) => {}
        other => return Err(format!("before the grant: {other:?}")),
    }
    ensure!(!out.exists(), "a plaintext was written without consent");
    let before: Vec<u64> = futures::future::join_all(w.servers.iter().map(|sv| health(&sv.url)))
        .await
        .into_iter()
        .map(|h| h.map(|h| h["releases"].as_u64().unwrap_or(0)))
        .collect::<Result<_, _>>()?;
    grant(w, &s, &w.doctor, Scope::Record(record)).await?;
    let out = w.out_path("report-1.opened");
    let opened = read_as(&s, &w.doctor, record, &out)
        .await
        .map_err(|e| format!("after the grant: {e}"))?;
    ensure!(read(&out) == text, "the decrypted text differs");
    ensure!(
        opened.shares_used == 2,
        "{} shares used",
        opened.shares_used
    );
    // Every server released at most once for that entry, and at least the threshold did.
    // (The client asks all servers at once and drops the rest of the requests once two
    // shares rebuild the key, so the third server may or may not have finished.)
    let mut released = 0u64;
    for (server, before) in w.servers.iter().zip(before) {
        let after = health(&server.url).await?["releases"].as_u64().unwrap_or(0);
        ensure!(
            after == before || after == before + 1,
            "{}: releases {before} -> {after}",
            server.url
        );
        released += after - before;
    }
    ensure!(released >= 2, "{released} servers released");
    Ok(())
}

pub async fn a_replayed_request_is_refused_as_used(w: &World) -> Outcome {
    let s = w.session().await;
    let record = put(w, &s, "replay.txt", "replay").await?;
    grant(w, &s, &w.doctor, Scope::Record(record)).await?;
    let entry = access(w, &s, &w.doctor, record).await?;
    ensure!(entry.kind == EntryKind::Access, "{:?}", entry.kind);
    let now = chain_now(&s).await;
    let server = &w.servers[0];
    let signed = signed_by(
        &w.doctor.signer,
        request_for(server.public_key, &entry, 1, &w.doctor, now),
    );
    let first = post_release(&server.url, &signed).await;
    ensure!(first == (200, String::new()), "first: {first:?}");
    let again = post_release(&server.url, &signed).await;
    ensure!(again == (409, "entry_used".into()), "replay: {again:?}");
    // A fresh signature over the same entry is the same entry: still used.
    let resigned = signed_by(
        &w.doctor.signer,
        request_for(server.public_key, &entry, 1, &w.doctor, now + 1),
    );
    let third = post_release(&server.url, &resigned).await;
    ensure!(third == (409, "entry_used".into()), "re-signed: {third:?}");
    // The same entry at another server is that server's first use.
    let other = &w.servers[1];
    let elsewhere = signed_by(
        &w.doctor.signer,
        request_for(other.public_key, &entry, 1, &w.doctor, now),
    );
    ensure!(
        post_release(&other.url, &elsewhere).await.0 == 200,
        "second server refused"
    );
    // A request for one server is worthless at another.
    let crossed = post_release(&w.servers[2].url, &signed).await;
    ensure!(
        crossed == (400, "wrong_server".into()),
        "crossed: {crossed:?}"
    );
    Ok(())
}

pub async fn another_readers_entry_and_forged_signatures_are_refused(w: &World) -> Outcome {
    let s = w.session().await;
    let record = put(w, &s, "other.txt", "other").await?;
    grant(w, &s, &w.doctor, Scope::Record(record)).await?;
    let entry = access(w, &s, &w.doctor, record).await?;
    let now = chain_now(&s).await;
    let server = &w.servers[0];
    // Eve names Dave's entry in her own, validly signed, request.
    let eve = signed_by(
        &w.stranger.signer,
        request_for(server.public_key, &entry, 1, &w.stranger, now),
    );
    let got = post_release(&server.url, &eve).await;
    ensure!(
        got == (403, "other_reader".into()),
        "Eve with Dave's entry: {got:?}"
    );
    // Eve signs a request in Dave's name.
    let forged = signed_by(
        &w.stranger.signer,
        request_for(server.public_key, &entry, 1, &w.doctor, now),
    );
    let got = post_release(&server.url, &forged).await;
    ensure!(got == (401, "bad_signature".into()), "forged: {got:?}");
    // Dave's signature, with the reply key changed to Eve's afterwards.
    let mut moved = signed_by(
        &w.doctor.signer,
        request_for(server.public_key, &entry, 1, &w.doctor, now),
    );
    moved.request.reply_key = w.stranger.public_key();
    let got = post_release(&server.url, &moved).await;
    ensure!(
        got == (401, "bad_signature".into()),
        "moved reply key: {got:?}"
    );
    // Dave signing for a reply key that is not his directory key.
    let mut elsewhere = request_for(server.public_key, &entry, 1, &w.doctor, now);
    elsewhere.reply_key = w.stranger.public_key();
    let got = post_release(&server.url, &signed_by(&w.doctor.signer, elsewhere)).await;
    ensure!(
        got == (403, "reply_key_mismatch".into()),
        "other reply key: {got:?}"
    );
    // None of these used the entry: Dave's own request still works.
    let own = signed_by(
        &w.doctor.signer,
        request_for(server.public_key, &entry, 1, &w.doctor, now),
    );
    let got = post_release(&server.url, &own).await;
    ensure!(got.0 == 200, "Dave after the refusals: {got:?}");
    Ok(())
}

pub async fn an_entry_for_another_record_is_refused(w: &World) -> Outcome {
    let s = w.session().await;
    let first = put(w, &s, "a.txt", "a").await?;
    let second = put(w, &s, "b.txt", "b").await?;
    grant(w, &s, &w.doctor, Scope::Record(first)).await?;
    let entry = access(w, &s, &w.doctor, first).await?;
    let now = chain_now(&s).await;
    let server = &w.servers[0];
    let mut request = request_for(server.public_key, &entry, 1, &w.doctor, now);
    request.record = second;
    let got = post_release(&server.url, &signed_by(&w.doctor.signer, request)).await;
    ensure!(got == (403, "other_record".into()), "{got:?}");
    // A denied entry (Eve has no consent) backs nothing.
    let denied = access(w, &s, &w.stranger, first).await?;
    ensure!(
        matches!(denied.kind, EntryKind::Denied(_)),
        "{:?}",
        denied.kind
    );
    let request = request_for(server.public_key, &denied, 1, &w.stranger, now);
    let got = post_release(&server.url, &signed_by(&w.stranger.signer, request)).await;
    ensure!(
        got == (403, "not_an_access".into()),
        "denied entry: {got:?}"
    );
    // An entry that does not exist (yet).
    let mut request = request_for(server.public_key, &entry, 1, &w.doctor, now);
    request.log_seq = entry.seq + 1_000;
    let got = post_release(&server.url, &signed_by(&w.doctor.signer, request)).await;
    ensure!(
        got == (404, "no_such_entry".into()),
        "future entry: {got:?}"
    );
    Ok(())
}

pub async fn a_stale_entry_is_refused(w: &World) -> Outcome {
    let s = w.session().await;
    let record = put(w, &s, "stale.txt", "stale").await?;
    grant(w, &s, &w.doctor, Scope::Record(record)).await?;
    let entry = access(w, &s, &w.doctor, record).await?;
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    // The chain's clock moves only with blocks: make one.
    access(w, &s, &w.stranger, record).await?;
    let now = chain_now(&s).await;
    ensure!(
        now > entry.timestamp + 3_000,
        "the chain clock did not move"
    );
    let strict = &w.strict;
    let signed = signed_by(
        &w.doctor.signer,
        request_for(strict.public_key, &entry, 1, &w.doctor, now),
    );
    let got = post_release(&strict.url, &signed).await;
    ensure!(got == (403, "stale_entry".into()), "{got:?}");
    Ok(())
}

pub async fn rotation_moves_readers_to_the_new_version(w: &World) -> Outcome {
    let s = w.session().await;
    let record = put(w, &s, "rotate.txt", "rotate me").await?;
    grant(w, &s, &w.doctor, Scope::Record(record)).await?;
    let old_entry = access(w, &s, &w.doctor, record).await?;
    let rotated = s
        .rotate(
            &w.patient.signer,
            &w.patient.secret,
            record,
            &w.patient.store,
        )
        .await
        .map_err(|e| format!("rotate: {e}"))?;
    ensure!(
        rotated.version == 2 && rotated.shares_deposited == 3,
        "{rotated:?}"
    );
    for server in &w.servers {
        let held = versions_held(&server.url, record).await;
        ensure!(held == vec![2], "{} holds {held:?}", server.url);
    }
    // An entry made before the rotation asks for version 1: refused.
    let now = chain_now(&s).await;
    let server = &w.servers[0];
    let stale_version = signed_by(
        &w.doctor.signer,
        request_for(server.public_key, &old_entry, 1, &w.doctor, now),
    );
    let got = post_release(&server.url, &stale_version).await;
    ensure!(got == (403, "wrong_version".into()), "{got:?}");
    // The same unused entry asking for the new version: it opens only the version it
    // was made for, at every server, and stays unused.
    for server in &w.servers {
        let releases = health(&server.url).await?["releases"].as_u64();
        let new_version = signed_by(
            &w.doctor.signer,
            request_for(server.public_key, &old_entry, 2, &w.doctor, now),
        );
        let got = post_release(&server.url, &new_version).await;
        ensure!(
            got == (403, "entry_before_version".into()),
            "{}: {got:?}",
            server.url
        );
        ensure!(
            health(&server.url).await?["releases"].as_u64() == releases,
            "{}: a release was counted",
            server.url
        );
    }
    let out = w.out_path("rotate.opened");
    let opened = read_as(&s, &w.doctor, record, &out)
        .await
        .map_err(|e| format!("after rotation: {e}"))?;
    ensure!(
        opened.version == 2 && read(&out) == "rotate me",
        "{opened:?}"
    );
    Ok(())
}

pub async fn no_key_after_the_revoke(w: &World) -> Outcome {
    let s = w.session().await;
    let record = put(w, &s, "revoke.txt", "revoke").await?;
    let consent = grant(w, &s, &w.doctor, Scope::Record(record)).await?;
    let out = w.out_path("revoke.before");
    read_as(&s, &w.doctor, record, &out)
        .await
        .map_err(|e| format!("before the revoke: {e}"))?;
    revoke(w, &s, consent).await?;
    let out = w.out_path("revoke.after");
    match read_as(&s, &w.doctor, record, &out).await {
        Err(FlowError::Denied(DenyReason::NoConsent)) => {}
        other => return Err(format!("after the revoke: {other:?}")),
    }
    ensure!(!out.exists(), "a plaintext after the revoke");
    Ok(())
}

pub async fn sixteen_requests_for_one_entry_release_once(w: &World) -> Outcome {
    let s = w.session().await;
    let record = put(w, &s, "sixteen.txt", "once").await?;
    // Eve reads (a patient keeps at most 8 rules per provider; revoked at the end).
    let reader = &w.stranger;
    let consent = grant(w, &s, reader, Scope::Record(record)).await?;
    let entry = access(w, &s, reader, record).await?;
    revoke(w, &s, consent).await?;
    let server = &w.servers[1];
    let before = health(&server.url).await?["releases"].as_u64();
    let now = chain_now(&s).await;
    // Sixteen requests at once, each signed anew (another expiry): one entry still.
    let answers = futures::future::join_all((0..16u64).map(|i| {
        let signed = signed_by(
            &reader.signer,
            request_for(server.public_key, &entry, 1, reader, now + i),
        );
        async move { post_release(&server.url, &signed).await }
    }))
    .await;
    let released = answers.iter().filter(|a| a.0 == 200).count();
    let used = answers
        .iter()
        .filter(|a| **a == (409, "entry_used".to_owned()))
        .count();
    ensure!(
        released == 1 && used == 15,
        "{released} released, {used} entry_used: {answers:?}"
    );
    let after = health(&server.url).await?["releases"].as_u64();
    ensure!(
        after == before.map(|n| n + 1),
        "releases {before:?} -> {after:?}"
    );
    Ok(())
}
