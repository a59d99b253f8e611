//! A hostile key server among honest ones costs tries, never a wrong key nor a stall.

use crate::fixtures::*;
use crate::hostile;

/// One server of three lies (a made-up share under its own or another's index, a made-up
/// blob), hangs, or answers a megabyte: the reader still gets the right plaintext from the
/// two honest ones. Two liars (t of them) give SharesDisagree and no file, never a wrong
/// plaintext.
pub async fn a_hostile_key_server_costs_tries_never_a_wrong_key_nor_a_stall(w: &World) -> Outcome {
    use hostile::Lie;
    let s = w.session().await;
    let text = "Synthetic discharge letter (no real patient).";
    let record = put(w, &s, "hostile.txt", text).await?;
    grant(w, &s, &w.stranger, Scope::Record(record)).await?;
    let reader = &w.stranger;
    for (run, lie) in [
        Lie::WrongShare,
        Lie::OthersIndex(2),
        Lie::OthersIndex(0),
        Lie::Hang,
        Lie::Oversized,
        Lie::StallBlob,
    ]
    .into_iter()
    .enumerate()
    {
        let liar = hostile::start(lie, 1).await;
        let session = session_with_stand_ins(w, &[(0, &liar.url)]).await;
        // A store of its own: the ciphertext comes from the servers each time.
        let store =
            medconsent_client::store::LocalStore::new(w.out_path(&format!("hostile-{run}")))
                .map_err(|e| e.to_string())?;
        let out = w.out_path(&format!("hostile-{run}.txt"));
        let reading = session.get(
            &reader.signer,
            &reader.secret,
            record,
            Purpose::Treat,
            &store,
            &out,
        );
        // A guard so a stalled read fails the test instead of hanging it; not a timing.
        let opened = tokio::time::timeout(Duration::from_secs(120), reading)
            .await
            .map_err(|_| format!("{lie:?}: the read waited for the hostile server"))?
            .map_err(|e| format!("{lie:?}: {e}"))?;
        ensure!(read(&out) == text, "{lie:?}: another plaintext");
        ensure!(
            opened.shares_used == 2,
            "{lie:?}: {} shares",
            opened.shares_used
        );
        // A liar whose share arrived is named; an honest server never is. (The read does
        // not wait for a third answer, so whether the liar's came in varies.)
        let gave_a_share = matches!(lie, Lie::WrongShare | Lie::OthersIndex(_) | Lie::StallBlob);
        let named: Vec<String> = if gave_a_share && opened.shares_received == 3 {
            vec![liar.url.clone()]
        } else {
            Vec::new()
        };
        ensure!(
            opened.suspects == named,
            "{lie:?}: suspects {:?} with {} shares received",
            opened.suspects,
            opened.shares_received
        );
    }

    // The oversized answer is refused as such, not parsed.
    let liar = hostile::start(Lie::Oversized, 1).await;
    let session = session_with_stand_ins(w, &[(0, &liar.url)]).await;
    let entry = access(w, &s, reader, record).await?;
    let now = chain_now(&s).await;
    let signed = signed_by(
        &reader.signer,
        request_for(w.servers[0].public_key, &entry, 1, reader, now),
    );
    let mut stand_in = key_server(w, 0);
    stand_in.endpoint.url = liar.url.clone();
    match session.servers.release(&stand_in, &signed).await {
        Err(medconsent_client::servers::ServerError::Garbled { why, .. })
            if why.contains("larger than") => {}
        other => return Err(format!("a 1 MiB answer: {other:?}")),
    }

    // Two liars are t of them: no plaintext at all, never a wrong one.
    let first = hostile::start(Lie::WrongShare, 1).await;
    let second = hostile::start(Lie::WrongShare, 2).await;
    let session = session_with_stand_ins(w, &[(0, &first.url), (1, &second.url)]).await;
    let store = medconsent_client::store::LocalStore::new(w.out_path("hostile-two"))
        .map_err(|e| e.to_string())?;
    let out = w.out_path("hostile-two.txt");
    match session
        .get(
            &reader.signer,
            &reader.secret,
            record,
            Purpose::Treat,
            &store,
            &out,
        )
        .await
    {
        Err(FlowError::SharesDisagree) => {}
        other => return Err(format!("two liars: {other:?}")),
    }
    ensure!(!out.exists(), "two liars left a file");
    Ok(())
}

/// A server in the pinned one's place that claims another key of its own (re-keyed,
/// replaced, or lying) is sent no share: the client asks each server's key before
/// sealing, besides the directory's.
pub async fn a_server_claiming_another_key_is_sent_no_share(w: &World) -> Outcome {
    let impostor = hostile::start(hostile::Lie::WrongShare, 3).await;
    let session = session_with_stand_ins(w, &[(2, &impostor.url)]).await;
    let input = w.plaintext("impostor.txt", "not for the impostor");
    let sealed = session
        .put(
            &w.patient.signer,
            &w.patient.secret,
            &input,
            3,
            &w.patient.store,
        )
        .await
        .map_err(|e| format!("put: {e}"))?;
    let sent = impostor.deposits.load(std::sync::atomic::Ordering::SeqCst);
    ensure!(
        sealed.shares_deposited == 2 && sent == 0,
        "{} shares deposited, {sent} sent to the impostor",
        sealed.shares_deposited
    );
    Ok(())
}
