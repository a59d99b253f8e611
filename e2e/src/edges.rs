//! The edges an attacker tries: log spam by strangers, front-running a registration,
//! the admin's power (wallet writers, rewiring and upgrades before their delay), and
//! the bounded break-glass.

use crate::support::*;
use access_log::access_log::Error as LogError;
use consent_manager::consent_manager::Error as ConsentError;
use medconsent_shared::{
    AccessOutcome, DenyReason, EntryKind, Grantee, Purpose, Review, Scope,
    MAX_EMERGENCIES_PER_WINDOW,
};
use record_registry::record_registry::Error as RegistryError;

#[ink_e2e::test]
async fn strangers_cannot_write_into_a_patients_trail(mut client: Client) -> E2EResult<()> {
    let sys = deploy(&mut client).await?;
    let p = patient_id();
    let record = patient_record(&mut client, &sys, LABS, 1).await?;
    let head = query(&mut client, &sys.log().head(p)).await?;
    // Outside the directory and not acting for the patient: typed Err, no entry.
    for purpose in [Purpose::Treat, Purpose::PatientRequest, Purpose::Research] {
        submit_err(
            &mut client,
            &stranger(),
            &sys.registry().access_record(record, purpose),
            RegistryError::Unauthorized(DenyReason::NotProvider),
        )
        .await?;
    }
    submit_err(
        &mut client,
        &stranger(),
        &sys.registry().emergency_access(record, [0x5b; 32]),
        RegistryError::Unauthorized(DenyReason::NotProvider),
    )
    .await?;
    assert_eq!(query(&mut client, &sys.log().head(p)).await?, head);
    // Also while the consent manager is paused (a pause must not open the log to them).
    submit_ok(&mut client, &admin(), &sys.consents().set_paused(true)).await?;
    submit_err(
        &mut client,
        &stranger(),
        &sys.registry().access_record(record, Purpose::Treat),
        RegistryError::Unauthorized(DenyReason::NotProvider),
    )
    .await?;
    assert_eq!(query(&mut client, &sys.log().head(p)).await?, head);
    submit_ok(&mut client, &admin(), &sys.consents().set_paused(false)).await?;

    // A provider is accountable: its denial is logged, with it as the actor.
    let denied = submit_ok(
        &mut client,
        &doctor(),
        &sys.registry().access_record(record, Purpose::Treat),
    )
    .await?;
    assert_eq!(denied, AccessOutcome::Denied(DenyReason::NoConsent));
    let chain = verified_chain(&mut client, &sys, p).await?;
    assert_eq!(chain.len() as u64, head.length + 1);
    let last = chain.last().expect("the denial");
    assert_eq!(
        (last.kind, last.actor),
        (EntryKind::Denied(DenyReason::NoConsent), doctor_id())
    );
    Ok(())
}

#[ink_e2e::test]
async fn a_stranger_cannot_squat_a_patients_pending_hash(mut client: Client) -> E2EResult<()> {
    let sys = deploy(&mut client).await?;
    let p = patient_id();
    // The observer copies the patient's pending content hash from the mempool and
    // registers it first, for itself.
    let pending = content(42);
    let squat_id = next_record_id(&mut client, &sys).await?;
    let squat = sys.registry().register_record(
        stranger_id(),
        squat_id,
        LABS,
        pending,
        vec![],
        Purpose::PatientRequest,
    );
    submit_ok(&mut client, &stranger(), &squat).await?;
    // The patient, who sealed for the id the squat took, is told so cleanly ...
    let sealed_for_taken =
        sys.registry()
            .register_record(p, squat_id, LABS, pending, vec![], Purpose::PatientRequest);
    submit_err(
        &mut client,
        &patient(),
        &sealed_for_taken,
        RegistryError::RecordIdTaken,
    )
    .await?;
    assert_eq!(
        query(&mut client, &sys.registry().counts(p)).await?.records,
        0
    );
    // ... re-seals for the next id, and the same hash registers for the patient.
    let id = next_record_id(&mut client, &sys).await?;
    let register =
        sys.registry()
            .register_record(p, id, LABS, pending, vec![], Purpose::PatientRequest);
    assert_eq!(submit_ok(&mut client, &patient(), &register).await?, id);
    let record = query(&mut client, &sys.registry().record(id))
        .await?
        .expect("the patient's record");
    assert_eq!((record.patient, record.content_hash), (p, pending));
    // Within the patient's own records the hash stays unique.
    let again = next_record_id(&mut client, &sys).await?;
    submit_err(
        &mut client,
        &patient(),
        &sys.registry()
            .register_record(p, again, LABS, pending, vec![], Purpose::PatientRequest),
        RegistryError::HashAlreadyRegistered,
    )
    .await?;
    Ok(())
}

#[ink_e2e::test]
async fn a_registration_race_fails_cleanly_for_the_later_one(mut client: Client) -> E2EResult<()> {
    let sys = deploy(&mut client).await?;
    let (p, d) = (patient_id(), delegate_id());
    submit_ok(
        &mut client,
        &patient(),
        &sys.consents().appoint_delegate(d, None),
    )
    .await?;
    // The patient and the delegate both seal for the same next id.
    let id = next_record_id(&mut client, &sys).await?;
    let by_patient =
        sys.registry()
            .register_record(p, id, LABS, content(1), vec![], Purpose::PatientRequest);
    let by_delegate =
        sys.registry()
            .register_record(p, id, LABS, content(2), vec![], Purpose::PatientRequest);
    assert_eq!(submit_ok(&mut client, &patient(), &by_patient).await?, id);
    let head = query(&mut client, &sys.log().head(p)).await?;
    submit_err(
        &mut client,
        &delegate(),
        &by_delegate,
        RegistryError::RecordIdTaken,
    )
    .await?;
    // The record under that id is the one its payload was sealed for; nothing else
    // was written or logged.
    let record = query(&mut client, &sys.registry().record(id))
        .await?
        .expect("record");
    assert_eq!(record.content_hash, content(1));
    assert_eq!(
        query(&mut client, &sys.registry().counts(p)).await?.records,
        1
    );
    assert_eq!(query(&mut client, &sys.log().head(p)).await?, head);
    Ok(())
}

#[ink_e2e::test]
async fn a_wallet_is_never_a_writer_or_a_peer(mut client: Client) -> E2EResult<()> {
    let sys = instantiate(&mut client).await?;
    let wallet = admin_id();
    // The admin names its own wallet: refused before the first wiring ...
    submit_err(
        &mut client,
        &admin(),
        &sys.log()
            .schedule_change(AdminChange::Peers(wallet, sys.consents)),
        LogError::NotAContract,
    )
    .await?;
    submit_err(
        &mut client,
        &admin(),
        &sys.registry()
            .schedule_change(AdminChange::Peers(wallet, sys.log)),
        RegistryError::NotAContract,
    )
    .await?;
    assert_eq!(
        query(&mut client, &sys.log().writers()).await?,
        (None, None)
    );
    wire(&mut client, &sys).await?;
    // ... and after it.
    submit_err(
        &mut client,
        &admin(),
        &sys.consents()
            .schedule_change(AdminChange::Peers(sys.registry, wallet)),
        ConsentError::NotAContract,
    )
    .await?;
    submit_err(
        &mut client,
        &admin(),
        &sys.log()
            .schedule_change(AdminChange::Peers(sys.registry, wallet)),
        LogError::NotAContract,
    )
    .await?;
    assert_eq!(
        query(&mut client, &sys.log().writers()).await?,
        (Some(sys.registry), Some(sys.consents))
    );
    assert_eq!(
        query(&mut client, &sys.log().scheduled_change()).await?,
        None
    );
    Ok(())
}

/// The delay every wiring or code change waits on the timelocked deployment (ms).
const DELAY_MS: u64 = 6_000;

#[ink_e2e::test]
async fn rewiring_and_upgrades_wait_their_announced_delay(mut client: Client) -> E2EResult<()> {
    let sys = deploy_with(&mut client, UNKNOWN_GENESIS, DELAY_MS).await?;
    let p = patient_id();
    let record = patient_record(&mut client, &sys, LABS, 1).await?;
    assert_eq!(
        query(&mut client, &sys.registry().change_delay()).await?,
        DELAY_MS
    );
    // A second, equally real consent manager (a compromised admin's "always yes" would
    // be a contract too): announced, not applied.
    let other = instantiate(&mut client).await?;
    let rewire = AdminChange::Peers(other.consents, sys.log);
    let announced = submit_ok(
        &mut client,
        &admin(),
        &sys.registry().schedule_change(rewire),
    )
    .await?;
    // (`announced` is the dry run's answer, at the previous block's time.)
    let scheduled = query(&mut client, &sys.registry().scheduled_change())
        .await?
        .expect("announced");
    assert_eq!(scheduled.change, rewire);
    assert!(scheduled.effective_at >= announced && scheduled.effective_at < announced + 60_000);
    submit_err(
        &mut client,
        &admin(),
        &sys.registry().apply_change(),
        RegistryError::NotYetDue,
    )
    .await?;
    assert_eq!(
        query(&mut client, &sys.registry().peers()).await?,
        (Some(sys.consents), Some(sys.log))
    );
    // An upgrade likewise (a new announcement replaces the old one).
    let upgrade = release_upgrade(&mut client, "access_log").await?;
    submit_ok(&mut client, &admin(), &sys.log().schedule_change(upgrade)).await?;
    submit_err(
        &mut client,
        &admin(),
        &sys.log().apply_change(),
        LogError::NotYetDue,
    )
    .await?;
    // The patient's accesses work on the old wiring meanwhile.
    let own = sys
        .registry()
        .access_record(record, Purpose::PatientRequest);
    assert!(matches!(
        submit_ok(&mut client, &patient(), &own).await?,
        AccessOutcome::Released(_)
    ));

    // After the delay both apply, and only the admin can apply them.
    ink_e2e::tokio::time::sleep(std::time::Duration::from_millis(DELAY_MS + 500)).await;
    submit_err(
        &mut client,
        &stranger(),
        &sys.registry().apply_change(),
        RegistryError::NotAdmin,
    )
    .await?;
    submit_ok(&mut client, &admin(), &sys.registry().apply_change()).await?;
    assert_eq!(
        query(&mut client, &sys.registry().peers()).await?,
        (Some(other.consents), Some(sys.log))
    );
    assert_eq!(
        query(&mut client, &sys.registry().scheduled_change()).await?,
        None
    );
    submit_ok(&mut client, &admin(), &sys.log().apply_change()).await?;
    // The log, on its new code, still verifies and still appends for the registry.
    let chain = verified_chain(&mut client, &sys, p).await?;
    assert!(!chain.is_empty());
    Ok(())
}

#[ink_e2e::test]
async fn break_glass_is_bounded_and_reviewed_in_one_call(mut client: Client) -> E2EResult<()> {
    let sys = deploy(&mut client).await?;
    let p = patient_id();
    let record = patient_record(&mut client, &sys, LABS, 1).await?;
    let glass = sys.registry().emergency_access(record, [0x4a; 32]);
    for _ in 0..MAX_EMERGENCIES_PER_WINDOW {
        let outcome = submit_ok(&mut client, &responder(), &glass).await?;
        assert!(matches!(outcome, AccessOutcome::Released(_)), "{outcome:?}");
    }
    // The budget for this patient is spent: refused, and the refusal is logged.
    let refused = submit_ok(&mut client, &responder(), &glass).await?;
    assert_eq!(refused, AccessOutcome::Denied(DenyReason::EmergencyLimit));
    let chain = verified_chain(&mut client, &sys, p).await?;
    assert_eq!(
        chain.last().map(|e| (e.kind, e.actor)),
        Some((
            EntryKind::Denied(DenyReason::EmergencyLimit),
            responder_id()
        ))
    );
    let queued = u64::from(MAX_EMERGENCIES_PER_WINDOW);
    assert_eq!(
        query(&mut client, &sys.registry().counts(p))
            .await?
            .emergencies,
        queued
    );

    // The patient reviews them all at once, while the registry is paused.
    submit_ok(&mut client, &admin(), &sys.registry().set_paused(true)).await?;
    let reviews: Vec<(u64, bool)> = (0..queued).map(|i| (i, i % 2 == 0)).collect();
    let before = chain.len();
    submit_ok(
        &mut client,
        &patient(),
        &sys.registry().review_emergencies(p, reviews),
    )
    .await?;
    let queue = query(&mut client, &sys.registry().emergencies_of(p, 0, 32)).await?;
    let expected: Vec<Review> = (0..queued)
        .map(|i| {
            if i % 2 == 0 {
                Review::Justified
            } else {
                Review::Unjustified
            }
        })
        .collect();
    assert_eq!(queue.iter().map(|e| e.review).collect::<Vec<_>>(), expected);
    let chain = verified_chain(&mut client, &sys, p).await?;
    assert_eq!(chain.len(), before + queue.len());
    for (entry, emergency) in chain[before..].iter().zip(&queue) {
        assert_eq!(
            entry.kind,
            EntryKind::Review {
                emergency_seq: emergency.log_seq,
                justified: emergency.review == Review::Justified
            }
        );
    }
    // A second review of any of them is refused, and nothing changes.
    submit_err(
        &mut client,
        &patient(),
        &sys.registry().review_emergencies(p, vec![(0, false)]),
        RegistryError::AlreadyReviewed,
    )
    .await?;
    assert_eq!(
        verified_chain(&mut client, &sys, p).await?.len(),
        chain.len()
    );
    Ok(())
}

#[ink_e2e::test]
async fn a_delegate_cannot_grant_to_itself_and_opt_outs_are_logged(
    mut client: Client,
) -> E2EResult<()> {
    let sys = deploy(&mut client).await?;
    let (p, d) = (patient_id(), delegate_id());
    submit_ok(
        &mut client,
        &patient(),
        &sys.consents().appoint_delegate(d, None),
    )
    .await?;
    submit_err(
        &mut client,
        &delegate(),
        &sys.consents()
            .grant(p, Grantee::Account(d), read_permit(Scope::AllRecords)),
        ConsentError::SelfGrant,
    )
    .await?;
    assert_eq!(
        query(&mut client, &sys.consents().consent_count(p)).await?,
        0
    );
    // The delegate opts the patient out of break-glass: logged with the delegate as
    // actor; the patient opts back in: logged with the patient.
    submit_ok(
        &mut client,
        &delegate(),
        &sys.consents().set_emergency_opt_out(p, true),
    )
    .await?;
    submit_ok(
        &mut client,
        &patient(),
        &sys.consents().set_emergency_opt_out(p, false),
    )
    .await?;
    let chain = verified_chain(&mut client, &sys, p).await?;
    let changes: Vec<_> = chain.iter().map(|e| (e.kind, e.actor)).collect();
    assert_eq!(
        changes,
        vec![
            (EntryKind::EmergencyOptOut { opted_out: true }, d),
            (EntryKind::EmergencyOptOut { opted_out: false }, p),
        ]
    );
    Ok(())
}
