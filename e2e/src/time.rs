//! Rules bound by real block time: consent expiry and delegate terms.
//!
//! The dev node seals a block only when a transaction arrives, and a dry run sees the
//! last block's time: an unrelated transaction moves the clock.

use crate::support::*;
use consent_manager::consent_manager::Error as ConsentError;
use medconsent_shared::{
    AccessOutcome, ConsentTerms, DenyReason, EntryKind, Grantee, Purpose, Scope,
};
use record_registry::record_registry::Error as RegistryError;
use std::time::Duration;

/// Timestamp of the newest block, as the log recorded it for the last entry.
async fn last_entry_time(client: &mut Client, sys: &System) -> E2EResult<u64> {
    let entries = verified_chain(client, sys, patient_id()).await?;
    Ok(entries.last().expect("an entry").timestamp)
}

/// Lets `ms` of wall time pass, then seals a block with a transaction that touches no
/// consent, delegation or record of the patient.
async fn let_time_pass(client: &mut Client, sys: &System, ms: u64, salt: u8) -> E2EResult<()> {
    tokio_sleep(ms).await;
    let next = next_record_id(client, sys).await?;
    submit_ok(
        client,
        &stranger(),
        &sys.registry().register_record(
            stranger_id(),
            next,
            LABS,
            content(200u8.wrapping_add(salt)),
            vec![],
            Purpose::PatientRequest,
        ),
    )
    .await?;
    Ok(())
}

async fn tokio_sleep(ms: u64) {
    ink_e2e::tokio::time::sleep(Duration::from_millis(ms)).await;
}

#[ink_e2e::test]
async fn a_consent_expires_on_block_time(mut client: Client) -> E2EResult<()> {
    let sys = deploy(&mut client).await?;
    let (p, dr) = (patient_id(), doctor_id());
    let record = patient_record(&mut client, &sys, LABS, 1).await?;
    let now = last_entry_time(&mut client, &sys).await?;
    let until = now + 6_000;
    let terms = ConsentTerms {
        valid_until: Some(until),
        ..read_permit(Scope::AllRecords)
    };
    let consent = submit_ok(
        &mut client,
        &patient(),
        &sys.consents().grant(p, Grantee::Account(dr), terms),
    )
    .await?;
    let access = sys.registry().access_record(record, Purpose::Treat);
    let outcome = submit_ok(&mut client, &doctor(), &access).await?;
    assert!(matches!(outcome, AccessOutcome::Released(_)), "{outcome:?}");

    // Block by block, the decision at each block's time is exactly "before until":
    // a dry run sees the newest block's time, which the unrelated transaction that
    // sealed it logged in the stranger's chain.
    let mut blocks = Vec::new();
    for salt in 0..12u8 {
        let_time_pass(&mut client, &sys, 1_000, salt).await?;
        let head = query(&mut client, &sys.log().head(stranger_id())).await?;
        let newest = query(
            &mut client,
            &sys.log().entries(stranger_id(), head.length - 1, 1),
        )
        .await?
        .pop()
        .expect("the unrelated entry");
        let seen = dry_run_as(&mut client, &doctor(), &access).await?;
        let released = matches!(seen, Ok(AccessOutcome::Released(_)));
        assert_eq!(
            released,
            newest.timestamp < until,
            "at t={} with valid_until={until}: {seen:?}",
            newest.timestamp
        );
        if !released {
            assert_eq!(seen, Ok(AccessOutcome::Denied(DenyReason::NoConsent)));
        }
        blocks.push(newest.timestamp);
        if newest.timestamp >= until {
            break;
        }
    }
    assert!(
        blocks.first().is_some_and(|t| *t < until) && blocks.last().is_some_and(|t| *t >= until),
        "blocks on both sides of valid_until were seen: {blocks:?}"
    );
    // The consent was never touched, yet it no longer permits; the denial is logged.
    let outcome = submit_ok(&mut client, &doctor(), &access).await?;
    assert_eq!(outcome, AccessOutcome::Denied(DenyReason::NoConsent));
    let entries = verified_chain(&mut client, &sys, p).await?;
    let last = entries.last().expect("denial logged");
    assert_eq!(last.kind, EntryKind::Denied(DenyReason::NoConsent));
    let stored = query(&mut client, &sys.consents().consent(p, consent)).await?;
    assert_eq!(stored.map(|c| c.revoked_at), Some(None), "expiry is lazy");
    Ok(())
}

#[ink_e2e::test]
async fn a_delegate_acts_until_its_term_ends(mut client: Client) -> E2EResult<()> {
    let sys = deploy(&mut client).await?;
    let (p, dr) = (patient_id(), doctor_id());
    let record = patient_record(&mut client, &sys, LABS, 1).await?;
    let until = last_entry_time(&mut client, &sys).await? + 8_000;
    submit_ok(
        &mut client,
        &patient(),
        &sys.consents().appoint_delegate(delegate_id(), Some(until)),
    )
    .await?;

    // The delegate grants, writes, reads and retires on the patient's behalf.
    let grant = sys
        .consents()
        .grant(p, Grantee::Account(dr), read_permit(Scope::AllRecords));
    let consent = submit_ok(&mut client, &delegate(), &grant).await?;
    let stored = query(&mut client, &sys.consents().consent(p, consent))
        .await?
        .expect("consent");
    assert_eq!(stored.grantor, delegate_id());
    let next = next_record_id(&mut client, &sys).await?;
    let second = submit_ok(
        &mut client,
        &delegate(),
        &sys.registry()
            .register_record(p, next, LABS, content(2), vec![], Purpose::PatientRequest),
    )
    .await?;
    let own_read = sys
        .registry()
        .access_record(record, Purpose::PatientRequest);
    let outcome = submit_ok(&mut client, &delegate(), &own_read).await?;
    assert!(matches!(outcome, AccessOutcome::Released(_)));
    let retire = sys.registry().retire_record(second);
    submit_measured(&mut client, &delegate(), &retire, "retire_record")
        .await?
        .return_value()
        .okay()?;
    let retired = sys.registry().access_record(second, Purpose::Treat);
    assert_eq!(
        submit_ok(&mut client, &doctor(), &retired).await?,
        AccessOutcome::Denied(DenyReason::RecordRetired)
    );
    submit_err(
        &mut client,
        &patient(),
        &sys.registry()
            .amend_record(second, content(3), vec![], Purpose::PatientRequest),
        RegistryError::RecordRetired,
    )
    .await?;
    // Every action names the delegate as actor.
    let entries = verified_chain(&mut client, &sys, p).await?;
    let by_delegate = entries.iter().filter(|e| e.actor == delegate_id()).count();
    assert_eq!(by_delegate, 4);
    // A stranger cannot retire the patient's record.
    submit_err(
        &mut client,
        &stranger(),
        &sys.registry().retire_record(record),
        RegistryError::NotPatientOrDelegate,
    )
    .await?;

    // After the term, the delegate is no delegate.
    let_time_pass(&mut client, &sys, 9_000, 1).await?;
    let count = query(&mut client, &sys.consents().consent_count(p)).await?;
    submit_err(
        &mut client,
        &delegate(),
        &grant,
        ConsentError::NotPatientOrDelegate,
    )
    .await?;
    let shown = listed(&mut client, &sys, p, consent).await?;
    submit_err(
        &mut client,
        &delegate(),
        &sys.consents().revoke(p, consent, shown),
        ConsentError::NotPatientOrDelegate,
    )
    .await?;
    assert_eq!(
        query(&mut client, &sys.consents().consent_count(p)).await?,
        count
    );
    // Outside the directory and no longer acting for the patient: refused, unlogged.
    let length = query(&mut client, &sys.log().head(p)).await?.length;
    submit_err(
        &mut client,
        &delegate(),
        &own_read,
        RegistryError::Unauthorized(DenyReason::NotProvider),
    )
    .await?;
    assert_eq!(query(&mut client, &sys.log().head(p)).await?.length, length);
    let next = next_record_id(&mut client, &sys).await?;
    submit_err(
        &mut client,
        &delegate(),
        &sys.registry()
            .register_record(p, next, LABS, content(4), vec![], Purpose::PatientRequest),
        RegistryError::Unauthorized(DenyReason::NotProvider),
    )
    .await?;
    Ok(())
}
