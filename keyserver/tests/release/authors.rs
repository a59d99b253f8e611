//! Authors deposit: a clinician with an Append permit adds a result to a patient's
//! records, the key servers take its shares from the clinician (the version's author),
//! and the patient opens it; without the permit the chain refuses and nothing is
//! uploaded anywhere.

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
    let (bob, dave) = (w.patient.account(), &w.doctor);
    let for_bob = Authoring {
        patient: bob,
        purpose: Purpose::Treat,
    };
    let result = "potassium 4.1 mmol/L";
    let input = w.plaintext("result.txt", result);
    let contracts = w.deployment.contracts();
    let next_id = || async {
        s.chain
            .read(
                None,
                &bob,
                &contracts.registry,
                &contracts.registry().next_record_id(),
            )
            .await
            .map_err(|e| e.to_string())
    };
    // No Append permit yet: the chain refuses the registration, before any upload.
    let (kept_before, next_before) = (blobs_kept(w), next_id().await?);
    let refused = s
        .put_as(&dave.signer, None, for_bob, &input, RESULTS, &dave.store)
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
    // Bob lets Dave add results, for treatment.
    grant_terms(
        w,
        &s,
        dave,
        ConsentTerms {
            decision: Decision::Permit,
            scope: Scope::Category(RESULTS),
            actions: ActionSet::from([Action::Append]),
            purposes: PurposeSet::from([Purpose::Treat]),
            valid_from: 0,
            valid_until: None,
        },
    )
    .await?;
    let written = s
        .put_as(&dave.signer, None, for_bob, &input, RESULTS, &dave.store)
        .await
        .map_err(|e| format!("Dave's put: {e}"))?;
    ensure!(written.shares_deposited == 3, "{written:?}");
    let on_chain = s
        .record_at(None, &bob, written.record)
        .await
        .map_err(|e| e.to_string())?;
    ensure!(
        on_chain.patient == bob && on_chain.author == dave.account(),
        "the record: {on_chain:?}"
    );
    // Dave keeps no copy of the key: what he wrote he reads again only by a logged access.
    let owner_copy = dave
        .store
        .dir()
        .join(format!("{}.owner", hex::encode(written.content_hash)));
    ensure!(!owner_copy.exists(), "Dave kept a key copy");
    // Bob opens it, to the exact bytes.
    let out = w.out_path("result.opened");
    s.get(
        &w.patient.signer,
        &w.patient.secret,
        written.record,
        Purpose::PatientRequest,
        &w.patient.store,
        &out,
    )
    .await
    .map_err(|e| format!("Bob's get: {e}"))?;
    ensure!(read(&out) == result, "Bob opened {:?}", read(&out));
    Ok(())
}
