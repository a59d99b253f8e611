//! The whole story, and how consents combine.

use crate::support::*;
use consent_manager::consent_manager::Error as ConsentError;
use medconsent_shared::{
    AccessOutcome, Action, ActionSet, ConsentShown, ConsentStatus, ConsentTerms, Decision,
    DenyReason, EntryKind, Grantee, Purpose, PurposeSet, Scope,
};
use record_registry::record_registry::Error as RegistryError;

#[ink_e2e::test]
async fn full_story(mut client: Client) -> E2EResult<()> {
    let sys = deploy(&mut client).await?;
    let (p, dr) = (patient_id(), doctor_id());
    let provider = query(&mut client, &sys.consents().provider(dr)).await?;
    assert_eq!(provider.map(|pr| pr.public_key), Some(DOCTOR_KEY));

    // The patient registers an encrypted record by its hash.
    let locator = b"bafkreigh2akiscaildc".to_vec();
    let register = sys.registry().register_record(
        p,
        0,
        LABS,
        content(1),
        locator.clone(),
        Purpose::PatientRequest,
    );
    let record_id = submit_measured(&mut client, &patient(), &register, "register_record")
        .await?
        .return_value()
        .okay()?;
    assert_eq!(record_id, 0);

    // ... grants the doctor Read for TREAT ...
    let grant = sys
        .consents()
        .grant(p, Grantee::Account(dr), read_permit(Scope::AllRecords));
    let granted = submit_measured(&mut client, &patient(), &grant, "grant").await?;
    // One event, from the log, with the patient as its only topic: the indexer's way to
    // follow a trail; the entry itself is read from the log.
    assert_eq!(events_of(&granted)?, vec![entry_appended(&sys, p)]);
    let consent_id = granted.return_value().okay()?;

    // ... the doctor accesses it and receives hash, locator and version ...
    let access = sys.registry().access_record(record_id, Purpose::Treat);
    let accessed =
        submit_measured(&mut client, &doctor(), &access, "access_record (permit)").await?;
    assert_eq!(events_of(&accessed)?, vec![entry_appended(&sys, p)]);
    let AccessOutcome::Released(release) = accessed.return_value().okay()? else {
        panic!("the permitted access must release the record");
    };
    assert_eq!(release.content_hash, content(1));
    assert_eq!(release.locator, locator);
    assert_eq!(release.version, 1);

    // ... the log shows the access with the right actor, purpose and consent.
    let entry = query(&mut client, &sys.log().entries(p, release.log_seq, 1))
        .await?
        .pop()
        .expect("access entry");
    assert_eq!(entry.kind, EntryKind::Access);
    assert_eq!(entry.actor, dr);
    assert_eq!(entry.purpose, Some(Purpose::Treat));
    assert_eq!(entry.consent, Some(consent_id));
    assert_eq!(entry.record, Some(record_id));

    // The patient revokes; the doctor's next access is denied, and logged.
    let shown = listed(&mut client, &sys, p, consent_id).await?;
    // Named with other terms than the id holds (as after a node listed the ids
    // wrongly): refused, and the consent still stands (the revoke below succeeds).
    let misnamed = ConsentShown {
        terms: restriction(Scope::AllRecords),
        ..shown
    };
    let misnamed = sys.consents().revoke(p, consent_id, misnamed);
    submit_err(
        &mut client,
        &patient(),
        &misnamed,
        ConsentError::ConsentMismatch,
    )
    .await?;
    let revoke = sys.consents().revoke(p, consent_id, shown);
    let revoked = submit_measured(&mut client, &patient(), &revoke, "revoke").await?;
    assert_eq!(events_of(&revoked)?, vec![entry_appended(&sys, p)]);
    revoked.return_value().okay()?;
    let consent = query(&mut client, &sys.consents().consent(p, consent_id))
        .await?
        .expect("history is kept");
    assert_eq!(consent.status, ConsentStatus::Revoked);

    let denied = submit_measured(&mut client, &doctor(), &access, "access_record (deny)").await?;
    assert_eq!(
        denied.return_value().okay()?,
        AccessOutcome::Denied(DenyReason::NoConsent)
    );
    let entries = verified_chain(&mut client, &sys, p).await?;
    let kinds: Vec<_> = entries.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![
            EntryKind::RecordCreated,
            EntryKind::ConsentGranted,
            EntryKind::Access,
            EntryKind::ConsentRevoked,
            EntryKind::Denied(DenyReason::NoConsent),
        ]
    );
    assert_eq!(entries[4].actor, dr);

    // The patient reads their own record with PATRQT; that is logged too.
    let own = sys
        .registry()
        .access_record(record_id, Purpose::PatientRequest);
    let outcome = submit_measured(&mut client, &patient(), &own, "access_record (patient)")
        .await?
        .return_value()
        .okay()?;
    assert!(matches!(outcome, AccessOutcome::Released(_)));
    assert_eq!(verified_chain(&mut client, &sys, p).await?.len(), 6);
    Ok(())
}

#[ink_e2e::test]
async fn deny_overrides_permit_and_scopes_narrow(mut client: Client) -> E2EResult<()> {
    let sys = deploy(&mut client).await?;
    let (p, dr) = (patient_id(), doctor_id());
    let labs = patient_record(&mut client, &sys, LABS, 1).await?;
    let next = next_record_id(&mut client, &sys).await?;
    let therapy = submit_ok(
        &mut client,
        &patient(),
        &sys.registry().register_record(
            p,
            next,
            MENTAL_HEALTH,
            content(2),
            vec![],
            Purpose::PatientRequest,
        ),
    )
    .await?;
    let outcome = |record| sys.registry().access_record(record, Purpose::Treat);

    // A permit scoped to one record reaches that record only.
    submit_ok(
        &mut client,
        &patient(),
        &sys.consents()
            .grant(p, Grantee::Account(dr), read_permit(Scope::Record(labs))),
    )
    .await?;
    let released = submit_ok(&mut client, &doctor(), &outcome(labs)).await?;
    assert!(matches!(released, AccessOutcome::Released(_)));
    let refused = submit_ok(&mut client, &doctor(), &outcome(therapy)).await?;
    assert_eq!(refused, AccessOutcome::Denied(DenyReason::NoConsent));

    // A permit by category; then "no one sees my mental-health records" overrides it.
    submit_ok(
        &mut client,
        &patient(),
        &sys.consents().grant(
            p,
            Grantee::Account(dr),
            read_permit(Scope::Category(MENTAL_HEALTH)),
        ),
    )
    .await?;
    let released = submit_ok(&mut client, &doctor(), &outcome(therapy)).await?;
    assert!(matches!(released, AccessOutcome::Released(_)));
    let restriction = submit_ok(
        &mut client,
        &patient(),
        &sys.consents().grant(
            p,
            Grantee::Anyone,
            restriction(Scope::Category(MENTAL_HEALTH)),
        ),
    )
    .await?;
    let refused = submit_ok(&mut client, &doctor(), &outcome(therapy)).await?;
    assert_eq!(
        refused,
        AccessOutcome::Denied(DenyReason::Restricted(restriction))
    );
    // The restriction names the consent in the log entry.
    let entries = verified_chain(&mut client, &sys, p).await?;
    let last = entries.last().expect("denial logged");
    assert_eq!(last.consent, Some(restriction));
    // Other records are unaffected.
    let released = submit_ok(&mut client, &doctor(), &outcome(labs)).await?;
    assert!(matches!(released, AccessOutcome::Released(_)));

    // A Record scope must name one of this patient's records.
    let next = next_record_id(&mut client, &sys).await?;
    let others = submit_ok(
        &mut client,
        &stranger(),
        &sys.registry().register_record(
            stranger_id(),
            next,
            LABS,
            content(3),
            vec![],
            Purpose::PatientRequest,
        ),
    )
    .await?;
    let count = query(&mut client, &sys.consents().consent_count(p)).await?;
    for record in [others, 99] {
        submit_err(
            &mut client,
            &patient(),
            &sys.consents()
                .grant(p, Grantee::Account(dr), read_permit(Scope::Record(record))),
            ConsentError::UnknownRecord,
        )
        .await?;
    }
    assert_eq!(
        query(&mut client, &sys.consents().consent_count(p)).await?,
        count
    );
    Ok(())
}

#[ink_e2e::test]
async fn an_append_consent_lets_a_provider_write(mut client: Client) -> E2EResult<()> {
    let sys = deploy(&mut client).await?;
    let (p, dr) = (patient_id(), doctor_id());
    let write =
        sys.registry()
            .register_record(p, 0, LABS, content(1), b"v1".to_vec(), Purpose::Treat);
    // Without an Append consent the doctor cannot write the patient's records.
    submit_err(
        &mut client,
        &doctor(),
        &write,
        RegistryError::Unauthorized(DenyReason::NoConsent),
    )
    .await?;
    assert_eq!(
        query(&mut client, &sys.registry().counts(p)).await?.records,
        0
    );

    let append_labs = ConsentTerms {
        decision: Decision::Permit,
        scope: Scope::Category(LABS),
        actions: ActionSet::from([Action::Append, Action::Read]),
        purposes: PurposeSet::from([Purpose::Treat]),
        valid_from: 0,
        valid_until: None,
    };
    let consent = submit_ok(
        &mut client,
        &patient(),
        &sys.consents().grant(p, Grantee::Account(dr), append_labs),
    )
    .await?;
    let record = submit_ok(&mut client, &doctor(), &write).await?;
    // Only for that category.
    submit_err(
        &mut client,
        &doctor(),
        &sys.registry()
            .register_record(p, 1, MENTAL_HEALTH, content(2), vec![], Purpose::Treat),
        RegistryError::Unauthorized(DenyReason::NoConsent),
    )
    .await?;

    let amend = sys
        .registry()
        .amend_record(record, content(3), b"v2".to_vec(), Purpose::Treat);
    let version = submit_measured(&mut client, &doctor(), &amend, "amend_record")
        .await?
        .return_value()
        .okay()?;
    assert_eq!(version, 2);
    let v1 = query(&mut client, &sys.registry().record_version(record, 1))
        .await?
        .expect("version 1 kept");
    assert_eq!((v1.content_hash, v1.locator), (content(1), b"v1".to_vec()));
    let current = query(&mut client, &sys.registry().record(record))
        .await?
        .expect("record");
    assert_eq!((current.version, current.content_hash), (2, content(3)));
    assert_eq!(current.author, dr);

    // The writes are logged with the consent that allowed them.
    let entries = verified_chain(&mut client, &sys, p).await?;
    let writes: Vec<_> = entries
        .iter()
        .filter(|e| matches!(e.kind, EntryKind::RecordCreated | EntryKind::RecordAmended))
        .map(|e| (e.kind, e.actor, e.consent))
        .collect();
    assert_eq!(
        writes,
        vec![
            (EntryKind::RecordCreated, dr, Some(consent)),
            (EntryKind::RecordAmended, dr, Some(consent)),
        ]
    );

    // A reused hash is refused, and nothing changes.
    submit_err(
        &mut client,
        &doctor(),
        &sys.registry()
            .amend_record(record, content(1), vec![], Purpose::Treat),
        RegistryError::HashAlreadyRegistered,
    )
    .await?;
    let after = query(&mut client, &sys.registry().record(record)).await?;
    assert_eq!(after.map(|r| r.version), Some(2));
    Ok(())
}
