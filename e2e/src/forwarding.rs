//! The front/full split on chain. Every message outside `split::FRONT_MESSAGES` runs in
//! the full code by a delegate call from the front; here one message of every kind each
//! contract has (admin, directory, delegate, signed consent, write, query) goes through
//! that path, and its success changes storage while its typed refusal changes nothing.

use crate::support::*;
use access_log::access_log::Error as LogError;
use consent_manager::consent_manager::Error as ConsentError;
use medconsent_shared::{ConsentCheck, DenyReason, Purpose, Role, RoleSet, MAX_PAGE};
use record_registry::record_registry::Error as RegistryError;

#[ink_e2e::test]
async fn one_message_of_every_kind_runs_in_each_full_code(mut client: Client) -> E2EResult<()> {
    let sys = deploy(&mut client).await?;
    let p = patient_id();

    // The fronts and their full codes are different code: the front's own upload (a
    // no-op, it is on chain) and the full-code hash the contract keeps.
    for (front, full) in [
        (
            "record_registry",
            query(&mut client, &sys.registry().full_code()).await?,
        ),
        (
            "consent_manager",
            query(&mut client, &sys.consents().full_code()).await?,
        ),
        (
            "access_log",
            query(&mut client, &sys.log().full_code()).await?,
        ),
    ] {
        assert_ne!(upload_full_code(&mut client, front).await?, full, "{front}");
    }

    // Admin, in each contract: a stranger's handover is refused and leaves nothing
    // pending; the admin's own is kept.
    let heir = stranger_id();
    submit_err(
        &mut client,
        &stranger(),
        &sys.registry().propose_admin(heir),
        RegistryError::NotAdmin,
    )
    .await?;
    submit_err(
        &mut client,
        &stranger(),
        &sys.consents().propose_admin(heir),
        ConsentError::NotAdmin,
    )
    .await?;
    submit_err(
        &mut client,
        &stranger(),
        &sys.log().propose_admin(heir),
        LogError::NotAdmin,
    )
    .await?;
    assert_eq!(
        query(&mut client, &sys.registry().pending_admin()).await?,
        None
    );
    assert_eq!(
        query(&mut client, &sys.consents().pending_admin()).await?,
        None
    );
    assert_eq!(query(&mut client, &sys.log().pending_admin()).await?, None);
    submit_ok(&mut client, &admin(), &sys.log().propose_admin(heir)).await?;
    assert_eq!(
        query(&mut client, &sys.log().pending_admin()).await?,
        Some(heir)
    );
    for admin_of in [
        query(&mut client, &sys.registry().admin()).await?,
        query(&mut client, &sys.consents().admin()).await?,
        query(&mut client, &sys.log().admin()).await?,
    ] {
        assert_eq!(admin_of, admin_id());
    }

    // Directory (consent manager): a stranger cannot register itself; the admin can.
    let clinician = RoleSet::from([Role::Clinician]);
    submit_err(
        &mut client,
        &stranger(),
        &sys.consents().register_provider(heir, clinician, [7; 32]),
        ConsentError::NotAdmin,
    )
    .await?;
    assert_eq!(
        query(&mut client, &sys.consents().provider(heir)).await?,
        None
    );
    submit_ok(
        &mut client,
        &admin(),
        &sys.consents().register_provider(heir, clinician, [7; 32]),
    )
    .await?;
    let listed = query(&mut client, &sys.consents().provider(heir)).await?;
    assert_eq!(listed.map(|entry| entry.public_key), Some([7; 32]));

    // Delegate (consent manager): a stranger cannot appoint for the patient; the patient can.
    let d = delegate_id();
    assert!(!query(&mut client, &sys.consents().acts_for(p, d)).await?);
    submit_ok(
        &mut client,
        &patient(),
        &sys.consents().appoint_delegate(d, None),
    )
    .await?;
    assert!(query(&mut client, &sys.consents().delegation(p, d))
        .await?
        .is_some());
    assert!(query(&mut client, &sys.consents().acts_for(p, d)).await?);

    // Signed consent (consent manager): voiding a nonce is the patient's (or delegate's).
    submit_err(
        &mut client,
        &stranger(),
        &sys.consents().void_signature(p, 7),
        ConsentError::NotPatientOrDelegate,
    )
    .await?;
    assert!(!query(&mut client, &sys.consents().nonce_used(p, 7)).await?);
    submit_ok(
        &mut client,
        &delegate(),
        &sys.consents().void_signature(p, 7),
    )
    .await?;
    assert!(query(&mut client, &sys.consents().nonce_used(p, 7)).await?);
    submit_err(
        &mut client,
        &patient(),
        &sys.consents().void_signature(p, 7),
        ConsentError::NonceUsed,
    )
    .await?;

    // Write and query (registry): the new provider, with no permit, cannot register into
    // the patient's records.
    let id = next_record_id(&mut client, &sys).await?;
    submit_err(
        &mut client,
        &stranger(),
        &sys.registry()
            .register_record(p, id, LABS, content(1), vec![], Purpose::PatientRequest),
        RegistryError::Unauthorized(DenyReason::NoConsent),
    )
    .await?;
    assert_eq!(
        query(&mut client, &sys.registry().counts(p)).await?.records,
        0
    );
    let record = patient_record(&mut client, &sys, LABS, 1).await?;
    assert_eq!(record, id);
    let kept = query(&mut client, &sys.registry().record(record)).await?;
    assert_eq!(kept.map(|r| (r.patient, r.category)), Some((p, LABS)));
    assert_eq!(
        query(&mut client, &sys.registry().counts(p)).await?.records,
        1
    );

    // Query (log): the trail and the accounting of disclosures answer from storage.
    let head = query(&mut client, &sys.log().head(p)).await?;
    let entries = query(&mut client, &sys.log().entries(p, 0, MAX_PAGE)).await?;
    assert_eq!(entries.len() as u64, head.length);
    assert!(query(
        &mut client,
        &sys.log().disclosures(p, 0, u64::MAX, 0, MAX_PAGE)
    )
    .await?
    .is_ok());
    Ok(())
}
