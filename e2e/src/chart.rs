//! Chart access: several of one patient's records opened in one call, each decided and
//! logged exactly as a single access of it would be.

use crate::support::*;
use medconsent_shared::{
    AccessOutcome, DenyReason, EntryKind, Grantee, LogEntry, Purpose, Scope, MAX_CHART_RECORDS,
};
use record_registry::record_registry::Error as RegistryError;

/// An outcome without its log seq (a chart's entries and single accesses' differ).
fn decided(outcome: &AccessOutcome) -> AccessOutcome {
    match outcome {
        AccessOutcome::Released(release) => AccessOutcome::Released(medconsent_shared::Release {
            log_seq: 0,
            ..release.clone()
        }),
        denied => denied.clone(),
    }
}

/// What an entry says about the decision: everything but seq, time, block and hash.
fn logged(entry: &LogEntry) -> impl PartialEq + std::fmt::Debug {
    (
        entry.actor,
        entry.record,
        entry.kind,
        entry.purpose,
        entry.consent,
    )
}

#[ink_e2e::test]
async fn a_chart_decides_and_logs_each_record_as_a_single_access_would(
    mut client: Client,
) -> E2EResult<()> {
    let sys = deploy(&mut client).await?;
    let (p, dr) = (patient_id(), doctor_id());
    let labs = patient_record(&mut client, &sys, LABS, 1).await?;
    let restricted = patient_record(&mut client, &sys, LABS, 2).await?;
    let therapy = patient_record(&mut client, &sys, MENTAL_HEALTH, 3).await?;
    let retired = patient_record(&mut client, &sys, LABS, 4).await?;
    submit_ok(
        &mut client,
        &patient(),
        &sys.registry().retire_record(retired),
    )
    .await?;
    let permit = sys
        .consents()
        .grant(p, Grantee::Account(dr), read_permit(Scope::Category(LABS)));
    let consent = submit_ok(&mut client, &patient(), &permit).await?;
    let restriction = sys.consents().grant(
        p,
        Grantee::Account(dr),
        medconsent_shared::ConsentTerms {
            decision: medconsent_shared::Decision::Deny,
            ..read_permit(Scope::Record(restricted))
        },
    );
    let restriction = submit_ok(&mut client, &patient(), &restriction).await?;

    // One call: released, restricted, no consent, retired, and the first one again.
    let records = vec![labs, restricted, therapy, retired, labs];
    let head = query(&mut client, &sys.log().head(p)).await?;
    let chart = sys
        .registry()
        .access_chart(p, records.clone(), Purpose::Treat);
    let charted = submit_measured(&mut client, &doctor(), &chart, "access_chart (5)").await?;
    // One log event for the whole chart, none from the registry.
    assert_eq!(events_of(&charted)?, vec![entry_appended(&sys, p)]);
    let outcomes = charted.return_value().okay()?;
    assert_eq!(outcomes.len(), records.len());
    let expected_denials = [
        None,
        Some(DenyReason::Restricted(restriction)),
        Some(DenyReason::NoConsent),
        Some(DenyReason::RecordRetired),
        None,
    ];
    for (i, (outcome, denial)) in outcomes.iter().zip(expected_denials).enumerate() {
        match (outcome, denial) {
            (AccessOutcome::Released(release), None) => {
                assert_eq!(release.content_hash, content(1));
                assert_eq!(release.log_seq, head.length + i as u64, "entries in order");
            }
            (AccessOutcome::Denied(reason), Some(expected)) => assert_eq!(*reason, expected),
            other => panic!("record {}: {other:?}", records[i]),
        }
    }
    let entries = verified_chain(&mut client, &sys, p).await?;
    let chart_entries = entries[head.length as usize..].to_vec();
    assert_eq!(chart_entries.len(), records.len());
    assert_eq!(chart_entries[0].consent, Some(consent));

    // The same reads one by one: the same decisions and the same entries.
    for (i, record) in records.iter().enumerate() {
        let single = sys.registry().access_record(*record, Purpose::Treat);
        let outcome = submit_ok(&mut client, &doctor(), &single).await?;
        assert_eq!(decided(&outcome), decided(&outcomes[i]), "record {record}");
    }
    let entries = verified_chain(&mut client, &sys, p).await?;
    let singles = &entries[entries.len() - records.len()..];
    for (c, s) in chart_entries.iter().zip(singles) {
        assert_eq!(logged(c), logged(s));
    }
    assert!(chart_entries
        .iter()
        .all(|e| matches!(e.kind, EntryKind::Access | EntryKind::Denied(_))));
    Ok(())
}

#[ink_e2e::test]
async fn a_refused_chart_logs_nothing(mut client: Client) -> E2EResult<()> {
    let sys = deploy(&mut client).await?;
    let p = patient_id();
    let record = patient_record(&mut client, &sys, LABS, 1).await?;
    // Another patient's record (the delegate registers one of its own).
    let next = next_record_id(&mut client, &sys).await?;
    let foreign = sys.registry().register_record(
        delegate_id(),
        next,
        LABS,
        content(9),
        vec![],
        Purpose::PatientRequest,
    );
    let foreign = submit_ok(&mut client, &delegate(), &foreign).await?;
    let head = query(&mut client, &sys.log().head(p)).await?;
    let chart = |records: Vec<u64>| sys.registry().access_chart(p, records, Purpose::Treat);

    // A stranger outside the directory is refused as a whole, as for a single access.
    submit_err(
        &mut client,
        &stranger(),
        &chart(vec![record, record]),
        RegistryError::Unauthorized(DenyReason::NotProvider),
    )
    .await?;
    // A record that is not this patient's refuses the chart.
    submit_err(
        &mut client,
        &doctor(),
        &chart(vec![record, foreign]),
        RegistryError::RecordNotFound,
    )
    .await?;
    submit_err(
        &mut client,
        &doctor(),
        &chart(vec![]),
        RegistryError::EmptyChart,
    )
    .await?;
    submit_err(
        &mut client,
        &doctor(),
        &chart(vec![record; MAX_CHART_RECORDS + 1]),
        RegistryError::ChartTooLarge,
    )
    .await?;
    assert_eq!(query(&mut client, &sys.log().head(p)).await?, head);
    // The largest chart goes through, every record denied and logged for a provider
    // without consent.
    let full = submit_ok(
        &mut client,
        &doctor(),
        &chart(vec![record; MAX_CHART_RECORDS]),
    )
    .await?;
    assert!(full
        .iter()
        .all(|o| *o == AccessOutcome::Denied(DenyReason::NoConsent)));
    let after = query(&mut client, &sys.log().head(p)).await?;
    assert_eq!(after.length, head.length + MAX_CHART_RECORDS as u64);
    Ok(())
}
