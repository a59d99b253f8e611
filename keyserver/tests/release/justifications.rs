//! What a responder claimed reaches the patient: a new responder breaks the glass on a
//! record of Bob's with a written justification (the command); Bob's review reads the
//! text back from the key servers, checked against the hash in his log. Neither a
//! stranger nor the responder gets the copy, no one but the responder leaves one, the
//! responder cannot put another text in its place, and a text too long for the copy is
//! refused before the glass is broken; after all that Bob still reads the same text.

use crate::commands::{medconsent, run_ok};
use crate::fixtures::*;
use medconsent_keyrelease::justification::{
    JustificationDeposit, JustificationRequest, SignedJustificationDeposit,
    SignedJustificationRequest, MAX_JUSTIFICATION_LEN,
};
use medconsent_keyrelease::wire::{to_hex, SignedBody};

/// A responder no other scenario uses: its break-glass budget with Bob is its own.
const RESPONDER: &str = "//Charlie//stash";
const CLAIM: &str = "Found unresponsive in the waiting room; no relative reachable.";

/// The field `name=` of a command's output.
fn field<'a>(out: &'a str, name: &str) -> Result<&'a str, String> {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .ok_or(format!("no {name}= in {out}"))
}

/// Bob's break-glass listing with the texts read back (by Bob), as JSON.
fn texts(w: &World, bob: &str) -> Result<Vec<Value>, String> {
    texts_as(w, bob, "//Bob")
}

fn texts_as(w: &World, bob: &str, reader: &str) -> Result<Vec<Value>, String> {
    let out = run_ok(
        w,
        &[
            "emergencies",
            "--patient",
            bob,
            "--texts",
            "--suri",
            reader,
            "--json",
        ],
    )?;
    let listing: Value = serde_json::from_str(&out).map_err(|e| format!("{e}: {out}"))?;
    Ok(listing["emergencies"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

async fn ask(
    w: &World,
    asker: &Signer,
    patient: medconsent_shared::AccountId,
    seq: u64,
) -> (u16, String) {
    let s = w.session().await;
    let server = &w.servers[0];
    let request = JustificationRequest {
        server: server.public_key,
        patient,
        log_seq: seq,
        requester: medconsent_chain::account_of(asker),
        reply_key: [9; 32],
        expires_at: chain_now(&s).await + 60_000,
    };
    let signature = asker.sign(&request.signing_message()).0;
    let signed = SignedJustificationRequest { request, signature };
    let body = serde_json::to_value(SignedBody {
        signed: to_hex(&signed),
    })
    .unwrap();
    post_json(&server.url, "/v1/justifications/release", &body).await
}

async fn leave(
    w: &World,
    depositor: &Signer,
    patient: medconsent_shared::AccountId,
    seq: u64,
) -> (u16, String) {
    let s = w.session().await;
    let server = &w.servers[0];
    let deposit = JustificationDeposit {
        server: server.public_key,
        patient,
        log_seq: seq,
        responder: medconsent_chain::account_of(depositor),
        index: 1,
        share: envelope::seal(
            &[5; 32],
            &x25519_dalek::PublicKey::from(server.public_key),
            &envelope::justification_context(&server.public_key, &patient, seq, 1),
        )
        .unwrap(),
        text: vec![0; 64],
        expires_at: chain_now(&s).await + 60_000,
    };
    let signature = depositor.sign(&deposit.signing_message()).0;
    let signed = SignedJustificationDeposit { deposit, signature };
    let body = serde_json::to_value(SignedBody {
        signed: to_hex(&signed),
    })
    .unwrap();
    post_json(&server.url, "/v1/justifications", &body).await
}

pub async fn the_patient_reads_what_the_responder_claimed(w: &World) -> Outcome {
    let s = w.session().await;
    let record = put(w, &s, "glass.txt", "allergic to penicillin").await?;
    let bob = medconsent_chain::ss58(&w.patient.account());
    let responder = medconsent_chain::signer_from_uri(RESPONDER).map_err(|e| e.to_string())?;
    let responder_ss58 = medconsent_chain::ss58(&medconsent_chain::account_of(&responder));
    let key = w.out_path("responder.sk");
    let public = run_ok(w, &["keygen", "--secret-out", key.to_str().unwrap()])?;
    run_ok(
        w,
        &[
            "admin",
            "register",
            "--suri",
            "//Alice",
            "--account",
            &responder_ss58,
            "--roles",
            "emergency-responder",
            "--public-key",
            field(&public, "public_key")?,
        ],
    )?;
    let store = w.out_path("responder-store");
    let glass = |text: &str, out: &str| {
        let out = w.out_path(out);
        medconsent(
            w,
            &[
                "break-glass",
                "--suri",
                RESPONDER,
                "--record",
                &record.to_string(),
                "--justification",
                text,
                "--secret",
                key.to_str().unwrap(),
                "--store",
                store.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
        )
    };
    let before = texts(w, &bob)?.len();

    // Too long for the sealed copy: a usage mistake (2) before the glass is broken.
    let (code, _, err) = glass(&"x".repeat(MAX_JUSTIFICATION_LEN + 1), "long.txt");
    ensure!(code == 2 && err.contains("at most 2048"), "{code} {err}");
    ensure!(texts(w, &bob)?.len() == before, "a refused text was logged");

    let (code, out, err) = glass(CLAIM, "glass.opened");
    ensure!(code == 0, "break-glass: {code} {err}");
    ensure!(field(&out, "justification_copies")? == "3", "copies: {out}");
    let seq: u64 = field(&out, "log_seq")?.parse().map_err(|_| out.clone())?;
    ensure!(
        read(&w.out_path("glass.opened")) == "allergic to penicillin",
        "the responder opened another text"
    );

    // Bob reads what was claimed, checked against the logged hash.
    let bobs_view = |listing: Vec<Value>| {
        listing
            .into_iter()
            .find(|e| e["log_seq"] == seq)
            .map(|e| e["justification_text"].clone())
    };
    let read_back = bobs_view(texts(w, &bob)?);
    ensure!(
        read_back == Some(Value::from(CLAIM)),
        "Bob read {read_back:?}"
    );

    // Eve, and the responder itself, get nothing; the copy is Bob's side's.
    let patient = w.patient.account();
    let got = ask(w, &w.stranger.signer, patient, seq).await;
    ensure!(
        got == (403, "not_patient_or_delegate".into()),
        "Eve asked: {got:?}"
    );
    let got = ask(w, &responder, patient, seq).await;
    ensure!(
        got == (403, "not_patient_or_delegate".into()),
        "the responder asked: {got:?}"
    );
    // No one else leaves a copy for the entry; the responder cannot replace its own.
    let got = leave(w, &w.stranger.signer, patient, seq).await;
    ensure!(
        got == (403, "not_the_responder".into()),
        "Eve left a copy: {got:?}"
    );
    let got = leave(w, &responder, patient, seq).await;
    ensure!(
        got == (409, "share_held".into()),
        "the responder replaced its copy: {got:?}"
    );
    // An entry that is no break-glass has no justification.
    let got = leave(w, &responder, patient, 0).await;
    ensure!(
        got == (403, "not_an_emergency".into()),
        "a copy for entry 0: {got:?}"
    );

    // Nothing changed: Bob reads the same text.
    let again = bobs_view(texts(w, &bob)?);
    ensure!(again == Some(Value::from(CLAIM)), "then Bob read {again:?}");

    // Ferdie, Bob's delegate, reads it too; removed, the servers refuse him.
    let ferdie = medconsent_chain::signer_from_uri("//Ferdie").map_err(|e| e.to_string())?;
    let ferdie_ss58 = medconsent_chain::ss58(&medconsent_chain::account_of(&ferdie));
    run_ok(
        w,
        &[
            "delegate",
            "appoint",
            "--suri",
            "//Bob",
            "--to",
            &ferdie_ss58,
        ],
    )?;
    let as_delegate = bobs_view(texts_as(w, &bob, "//Ferdie")?);
    let removed = run_ok(
        w,
        &[
            "delegate",
            "remove",
            "--suri",
            "//Bob",
            "--to",
            &ferdie_ss58,
        ],
    );
    ensure!(
        as_delegate == Some(Value::from(CLAIM)),
        "Ferdie read {as_delegate:?}"
    );
    removed?;
    let got = ask(w, &ferdie, patient, seq).await;
    ensure!(
        got == (403, "not_patient_or_delegate".into()),
        "the former delegate asked: {got:?}"
    );

    // A responder that leaves a copy of another text than it logged: the review says
    // mismatch for that access and fails with exit 4; the honest one still reads.
    let lied = lying_break_glass(w, &s, &responder, record).await?;
    let (code, out, err) = medconsent(
        w,
        &[
            "emergencies",
            "--patient",
            &bob,
            "--texts",
            "--suri",
            "//Bob",
            "--json",
        ],
    );
    let listing: Value = serde_json::from_str(&out).map_err(|e| format!("{e}: {out}"))?;
    let row = |seq: u64| {
        listing["emergencies"]
            .as_array()
            .and_then(|all| all.iter().find(|e| e["log_seq"] == seq).cloned())
            .unwrap_or_default()
    };
    ensure!(
        code == 4
            && row(lied)["justification_read"] == "mismatch"
            && row(seq)["justification_text"] == CLAIM
            && err.contains("not the text whose hash was logged"),
        "after the lie: {code} {out} {err}"
    );

    // Suspended, the responder breaks no glass (1, in words); reactivated, it spends
    // the rest of its budget (the count shown going down) and is then refused in words.
    let admin = |verb: &str| {
        run_ok(
            w,
            &[
                "admin",
                verb,
                "--suri",
                "//Alice",
                "--account",
                &responder_ss58,
            ],
        )
    };
    admin("suspend")?;
    let (code, _, err) = glass(CLAIM, "suspended.opened");
    let reactivated = admin("reactivate");
    ensure!(
        code == 1 && err.contains("suspended"),
        "suspended: {code} {err}"
    );
    reactivated?;
    for left in [2, 1, 0] {
        let (code, out, err) = glass(CLAIM, &format!("budget-{left}.opened"));
        ensure!(code == 0, "break-glass with {left} to go: {code} {err}");
        ensure!(
            field(&out, "remaining_today")? == left.to_string(),
            "{left} left: {out}"
        );
    }
    let (code, _, err) = glass(CLAIM, "spent.opened");
    ensure!(
        code == 1 && err.contains("budget for this patient is spent"),
        "budget spent: {code} {err}"
    );
    Ok(())
}

/// Break-glass on `record` whose log keeps the hash of one text while every server gets
/// a well-formed copy of another; the entry's seq.
async fn lying_break_glass(
    w: &World,
    s: &Session,
    responder: &Signer,
    record: RecordId,
) -> Result<u64, String> {
    use medconsent_keyrelease::justification::{claim, claim_hash, seal_text};
    let (salt, logged_text, left_text) = ([1; 16], "what I logged", "what I left");
    let contracts = w.deployment.contracts();
    let glass = contracts
        .registry()
        .emergency_access(record, claim_hash(&salt, logged_text.as_bytes()));
    let included = match s.chain.submit(responder, &contracts.registry, &glass).await {
        Ok((Ok(_), Some(included))) => included,
        other => return Err(format!("the lying break-glass: {other:?}")),
    };
    let patient = w.patient.account();
    let me = medconsent_chain::account_of(responder);
    let entry = s
        .my_entry(included.block, &patient, &me, record)
        .await
        .map_err(|e| e.to_string())?;
    let key = [0x42; 32];
    let text = seal_text(
        &key,
        &claim(&salt, left_text.as_bytes()),
        &patient,
        entry.seq,
    )
    .map_err(|e| e.to_string())?;
    let shares = medconsent_keyrelease::shamir::split(&key, 2, 3, &mut rand_core::OsRng)
        .map_err(|e| e.to_string())?;
    let now = chain_now(s).await;
    for (server, share) in w.servers.iter().zip(shares.iter()) {
        let deposit = JustificationDeposit {
            server: server.public_key,
            patient,
            log_seq: entry.seq,
            responder: me,
            index: share.index,
            share: envelope::seal(
                &share.value,
                &x25519_dalek::PublicKey::from(server.public_key),
                &envelope::justification_context(
                    &server.public_key,
                    &patient,
                    entry.seq,
                    share.index,
                ),
            )
            .map_err(|e| e.to_string())?,
            text: text.clone(),
            expires_at: now + 60_000,
        };
        let signature = responder.sign(&deposit.signing_message()).0;
        let signed = SignedJustificationDeposit { deposit, signature };
        let body = serde_json::to_value(SignedBody {
            signed: to_hex(&signed),
        })
        .unwrap();
        let got = post_json(&server.url, "/v1/justifications", &body).await;
        ensure!(got == (201, String::new()), "a lying copy: {got:?}");
        // The same deposit again (an answer lost on the way) is taken, not refused.
        let again = post_json(&server.url, "/v1/justifications", &body).await;
        ensure!(
            again == (201, String::new()),
            "the same copy again: {again:?}"
        );
    }
    Ok(entry.seq)
}
