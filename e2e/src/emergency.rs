//! Break-glass access and the patient's review of it.

use crate::support::*;
use medconsent_shared::{AccessOutcome, DenyReason, EntryKind, Purpose, Review};
use record_registry::record_registry::Error as RegistryError;

#[ink_e2e::test]
async fn break_glass_is_flagged_queued_and_reviewed(mut client: Client) -> E2EResult<()> {
    let sys = deploy(&mut client).await?;
    let p = patient_id();
    let record = patient_record(&mut client, &sys, LABS, 1).await?;
    let justification = [0x4a; 32];
    let glass = sys.registry().emergency_access(record, justification);

    // A responder with a justification gets access, flagged and queued.
    let outcome = submit_measured(&mut client, &responder(), &glass, "emergency_access")
        .await?
        .return_value()
        .okay()?;
    let AccessOutcome::Released(release) = outcome else {
        panic!("break-glass by a responder must release: {outcome:?}");
    };
    let entry = query(&mut client, &sys.log().entries(p, release.log_seq, 1))
        .await?
        .pop()
        .expect("emergency entry");
    assert_eq!(entry.kind, EntryKind::Emergency { justification });
    assert_eq!(entry.purpose, Some(Purpose::EmergencyTreat));
    assert_eq!(entry.actor, responder_id());
    let queue = query(&mut client, &sys.registry().emergencies_of(p, 0, 10)).await?;
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].review, Review::Pending);
    assert_eq!(queue[0].log_seq, release.log_seq);

    // No justification is bad input.
    submit_err(
        &mut client,
        &responder(),
        &sys.registry().emergency_access(record, [0; 32]),
        RegistryError::EmptyJustification,
    )
    .await?;
    // A clinician without the responder role is refused, and that is logged.
    let refused = submit_ok(&mut client, &doctor(), &glass).await?;
    assert_eq!(refused, AccessOutcome::Denied(DenyReason::NotResponder));
    // So is a suspended responder.
    submit_ok(
        &mut client,
        &admin(),
        &sys.consents().suspend_provider(responder_id()),
    )
    .await?;
    let refused = submit_ok(&mut client, &responder(), &glass).await?;
    assert_eq!(
        refused,
        AccessOutcome::Denied(DenyReason::ProviderSuspended)
    );
    submit_ok(
        &mut client,
        &admin(),
        &sys.consents().reactivate_provider(responder_id()),
    )
    .await?;
    // And anyone once the patient opted out.
    submit_ok(
        &mut client,
        &patient(),
        &sys.consents().set_emergency_opt_out(p, true),
    )
    .await?;
    let refused = submit_ok(&mut client, &responder(), &glass).await?;
    assert_eq!(
        refused,
        AccessOutcome::Denied(DenyReason::EmergencyOptedOut)
    );
    // Only the granted access is queued.
    assert_eq!(
        query(&mut client, &sys.registry().counts(p))
            .await?
            .emergencies,
        1
    );

    // The patient reviews it; the review is appended to the log.
    submit_err(
        &mut client,
        &stranger(),
        &sys.registry().review_emergencies(p, vec![(0, true)]),
        RegistryError::NotPatientOrDelegate,
    )
    .await?;
    let review = sys.registry().review_emergencies(p, vec![(0, false)]);
    submit_measured(&mut client, &patient(), &review, "review_emergencies")
        .await?
        .return_value()
        .okay()?;
    let queue = query(&mut client, &sys.registry().emergencies_of(p, 0, 10)).await?;
    assert_eq!(queue[0].review, Review::Unjustified);
    submit_err(
        &mut client,
        &patient(),
        &review,
        RegistryError::AlreadyReviewed,
    )
    .await?;
    submit_err(
        &mut client,
        &patient(),
        &sys.registry().review_emergencies(p, vec![(1, true)]),
        RegistryError::EmergencyNotFound,
    )
    .await?;

    let entries = verified_chain(&mut client, &sys, p).await?;
    let kinds: Vec<_> = entries.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds[1..],
        [
            EntryKind::Emergency { justification },
            EntryKind::Denied(DenyReason::NotResponder),
            EntryKind::Denied(DenyReason::ProviderSuspended),
            EntryKind::EmergencyOptOut { opted_out: true },
            EntryKind::Denied(DenyReason::EmergencyOptedOut),
            EntryKind::Review {
                emergency_seq: release.log_seq,
                justified: false
            },
        ]
    );
    Ok(())
}
