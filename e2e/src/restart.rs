//! Faults: the node is killed in the middle of a run and restarted on the same database;
//! no record, consent or log entry is lost, the chains still verify, and the run goes on.
//! This test starts its own node (with `--base-path`) instead of ink_e2e's throwaway one.

use crate::support::*;
use medconsent_shared::{AccessOutcome, ConsentStatus, Grantee, Purpose, Scope};

#[test]
fn a_killed_node_restarts_with_nothing_lost() -> E2EResult<()> {
    block_on(kill_and_restart())
}

async fn kill_and_restart() -> E2EResult<()> {
    let base = std::env::temp_dir().join(format!("medconsent-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let (p, dr) = (patient_id(), doctor_id());

    // Before the fault: a record with two versions, a consent, accesses.
    let node = OwnNode::start(&base).await?;
    let mut client = node.client().await?;
    let sys = deploy(&mut client).await?;
    let record = patient_record(&mut client, &sys, LABS, 1).await?;
    let amend =
        sys.registry()
            .amend_record(record, content(2), b"v2".to_vec(), Purpose::PatientRequest);
    submit_ok(&mut client, &patient(), &amend).await?;
    let grant = sys
        .consents()
        .grant(p, Grantee::Account(dr), read_permit(Scope::AllRecords));
    let consent = submit_ok(&mut client, &patient(), &grant).await?;
    let access = sys.registry().access_record(record, Purpose::Treat);
    for _ in 0..3 {
        submit_ok(&mut client, &doctor(), &access).await?;
    }
    let record_before = query(&mut client, &sys.registry().record(record)).await?;
    let consent_before = query(&mut client, &sys.consents().consent(p, consent)).await?;
    let chain_before = verified_chain(&mut client, &sys, p).await?;
    drop(client);
    node.kill()?;

    // After the restart: everything is there and the run continues.
    let node = OwnNode::start(&base).await?;
    let mut client = node.client().await?;
    assert_eq!(
        query(&mut client, &sys.registry().record(record)).await?,
        record_before
    );
    let v1 = query(&mut client, &sys.registry().record_version(record, 1)).await?;
    assert_eq!(v1.map(|v| v.content_hash), Some(content(1)));
    assert_eq!(
        query(&mut client, &sys.consents().consent(p, consent)).await?,
        consent_before
    );
    assert_eq!(verified_chain(&mut client, &sys, p).await?, chain_before);

    let outcome = submit_ok(&mut client, &doctor(), &access).await?;
    assert!(matches!(outcome, AccessOutcome::Released(_)));
    submit_ok(&mut client, &patient(), &sys.consents().revoke(p, consent)).await?;
    let denied = submit_ok(&mut client, &doctor(), &access).await?;
    assert!(matches!(denied, AccessOutcome::Denied(_)));
    let revoked = query(&mut client, &sys.consents().consent(p, consent)).await?;
    assert_eq!(revoked.map(|c| c.status), Some(ConsentStatus::Revoked));
    let chain_after = verified_chain(&mut client, &sys, p).await?;
    assert_eq!(chain_after.len(), chain_before.len() + 3);
    assert_eq!(chain_after[..chain_before.len()], chain_before[..]);
    drop(client);
    drop(node);
    let _ = std::fs::remove_dir_all(&base);
    Ok(())
}
