//! Authors deposit: a clinician with an Append permit adds a result to a patient's
//! records, the key servers take its shares from the clinician (the version's author),
//! and the patient opens it; without the permit the chain refuses and nothing is
//! uploaded anywhere. The patient is Ferdie: a pair of patient and grantee holds at most
//! 8 active rules, and the other scenarios' grants to Dave are Bob's.

use crate::fixtures::*;
use medconsent_client::flow::Authoring;

/// A category no other scenario uses: lab results.
const RESULTS: u16 = 7;

/// How many blobs each server keeps (its blob folder's files).
fn blobs_kept(w: &World) -> Vec<usize> {
    w.servers
        .iter()
        .map(|server| {
            let mut folder = server.db.clone().into_os_string();
            folder.push(".blobs");
            std::fs::read_dir(&folder).map_or(0, |dir| dir.count())
        })
        .collect()
}

pub async fn a_clinician_adds_a_result_the_patient_opens(w: &World) -> Outcome {
    let s = w.session().await;
    let ferdie = crate::world::person(w.dir.path(), "//Ferdie", "ferdie");
    let (patient, dave) = (ferdie.account(), &w.doctor);
    let for_ferdie = Authoring {
        patient,
        purpose: Purpose::Treat,
    };
    let result = "potassium 4.1 mmol/L";
    let input = w.plaintext("result.txt", result);
    let contracts = w.deployment.contracts();
    let next_id = || async {
        s.chain
            .read(
                None,
                &patient,
                &contracts.registry,
                &contracts.registry().next_record_id(),
            )
            .await
            .map_err(|e| e.to_string())
    };
    // No Append permit yet: the chain refuses the registration, before any upload.
    let (kept_before, next_before) = (blobs_kept(w), next_id().await?);
    let refused = s
        .put_as(&dave.signer, None, for_ferdie, &input, RESULTS, &dave.store)
        .await;
    ensure!(
        matches!(
            refused,
            Err(FlowError::RegistryRefused(
                medconsent_chain::RegistryError::Unauthorized(DenyReason::NoConsent)
            ))
        ),
        "without a permit: {refused:?}"
    );
    ensure!(
        blobs_kept(w) == kept_before && next_id().await? == next_before,
        "a refused put left something: blobs {:?} -> {:?}",
        kept_before,
        blobs_kept(w)
    );
    // Ferdie lets Dave add results, for treatment.
    let mut consents = contracts.consents();
    let permit = consents.grant(
        patient,
        Grantee::Account(dave.account()),
        ConsentTerms {
            decision: Decision::Permit,
            scope: Scope::Category(RESULTS),
            actions: ActionSet::from([Action::Append]),
            purposes: PurposeSet::from([Purpose::Treat]),
            valid_from: 0,
            valid_until: None,
        },
    );
    match s
        .chain
        .submit(&ferdie.signer, &contracts.consents, &permit)
        .await
    {
        Ok((Ok(_), Some(_))) => {}
        other => return Err(format!("Ferdie's grant: {other:?}")),
    }
    // Two of three servers down: Dave keeps no copy of the key, so his put stops before
    // the chain, as one whose shares missed the threshold would leave a record no one
    // opens.
    let down = "http://127.0.0.1:9";
    let two_down = session_with_stand_ins(w, &[(1, down), (2, down)]).await;
    let refused = two_down
        .put_as(&dave.signer, None, for_ferdie, &input, RESULTS, &dave.store)
        .await;
    ensure!(
        matches!(
            refused,
            Err(FlowError::TooFewAnswering {
                answered: 1,
                needed: 2
            })
        ),
        "with two servers down: {refused:?}"
    );
    ensure!(
        blobs_kept(w) == kept_before && next_id().await? == next_before,
        "a put with two servers down left something"
    );
    let written = s
        .put_as(&dave.signer, None, for_ferdie, &input, RESULTS, &dave.store)
        .await
        .map_err(|e| format!("Dave's put: {e}"))?;
    ensure!(written.shares_deposited == 3, "{written:?}");
    let on_chain = s
        .record_at(None, &patient, written.record)
        .await
        .map_err(|e| e.to_string())?;
    ensure!(
        on_chain.patient == patient && on_chain.author == dave.account(),
        "the record: {on_chain:?}"
    );
    // Dave keeps no copy of the key: what he wrote he reads again only by a logged access.
    let owner_copy = dave
        .store
        .dir()
        .join(format!("{}.owner", hex::encode(written.content_hash)));
    ensure!(!owner_copy.exists(), "Dave kept a key copy");
    // Ferdie opens it, to the exact bytes.
    let out = w.out_path("result.opened");
    s.get(
        &ferdie.signer,
        &ferdie.secret,
        written.record,
        Purpose::PatientRequest,
        &ferdie.store,
        &out,
    )
    .await
    .map_err(|e| format!("Ferdie's get: {e}"))?;
    ensure!(read(&out) == result, "Ferdie opened {:?}", read(&out));
    // Dave, still the version's author, cannot put another share in place of the one a
    // server holds: that would leave Ferdie's version unreadable.
    let server = &w.servers[0];
    let now = chain_now(&s).await;
    let other_share = Deposit {
        server: server.public_key,
        patient,
        depositor: dave.account(),
        record: written.record,
        version: 1,
        content_hash: written.content_hash,
        index: 1,
        share: envelope::seal(
            &[9; 32],
            &x25519_dalek::PublicKey::from(server.public_key),
            &deposit_context(
                &server.public_key,
                written.record,
                1,
                &written.content_hash,
                1,
            ),
        )
        .map_err(|e| e.to_string())?,
        expires_at: now + 60_000,
    };
    let got = post_deposit(&server.url, &dave.signer, other_share).await;
    ensure!(
        got == (409, "share_held".into()),
        "Dave's second share: {got:?}"
    );
    // Nothing changed: Ferdie opens it again, to the same bytes.
    let again = w.out_path("result.again");
    s.get(
        &ferdie.signer,
        &ferdie.secret,
        written.record,
        Purpose::PatientRequest,
        &ferdie.store,
        &again,
    )
    .await
    .map_err(|e| format!("Ferdie's second get: {e}"))?;
    ensure!(
        read(&again) == result,
        "then Ferdie opened {:?}",
        read(&again)
    );
    Ok(())
}
