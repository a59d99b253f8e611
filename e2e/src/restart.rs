//! Faults: the node is killed in the middle of a run and restarted on the same database;
//! no record, consent or log entry is lost, the chains still verify, and the run goes on.
//! This test starts its own node (with `--base-path`) instead of ink_e2e's throwaway one.

use crate::support::*;
use medconsent_shared::{AccessOutcome, ConsentStatus, Purpose};

#[test]
fn a_killed_node_restarts_with_nothing_lost() -> E2EResult<()> {
    block_on(kill_and_restart())
}

async fn kill_and_restart() -> E2EResult<()> {
    let base = std::env::temp_dir().join(format!("medconsent-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let p = patient_id();

    // Before the fault: a record with two versions, a consent, accesses.
    let node = OwnNode::start(&base).await?;
    let mut client = node.client().await?;
    let sys = deploy(&mut client).await?;
    let history = make_history(&mut client, &sys, 3).await?;
    let before = kept(&mut client, &sys, &history).await?;
    drop(client);
    node.kill()?;

    // After the restart: everything is there and the run continues.
    let node = OwnNode::start(&base).await?;
    let mut client = node.client().await?;
    assert_eq!(kept(&mut client, &sys, &history).await?, before);

    let (record, consent) = (history.record, history.consent);
    let access = sys.registry().access_record(record, Purpose::Treat);
    let outcome = submit_ok(&mut client, &doctor(), &access).await?;
    assert!(matches!(outcome, AccessOutcome::Released(_)));
    let shown = listed(&mut client, &sys, p, consent).await?;
    let revoke = sys.consents().revoke(p, consent, shown);
    submit_ok(&mut client, &patient(), &revoke).await?;
    let denied = submit_ok(&mut client, &doctor(), &access).await?;
    assert!(matches!(denied, AccessOutcome::Denied(_)));
    let revoked = query(&mut client, &sys.consents().consent(p, consent)).await?;
    assert_eq!(revoked.map(|c| c.status), Some(ConsentStatus::Revoked));
    let chain_after = verified_chain(&mut client, &sys, p).await?;
    assert_eq!(chain_after.len(), before.chain.len() + 3);
    assert_eq!(chain_after[..before.chain.len()], before.chain[..]);
    drop(client);
    drop(node);
    let _ = std::fs::remove_dir_all(&base);
    Ok(())
}
