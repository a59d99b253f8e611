//! Consent signed in the patient's wallet and relayed by someone who pays the fee. The
//! patient signs with sr25519 (as a wallet's `signRaw` does) the message the consent
//! manager describes; this test runs on a node of its own, because the signature is
//! bound to the chain's genesis hash, which ink_e2e's nodes do not tell.

use crate::support::*;
use consent_manager::consent_manager::Error as ConsentError;
use ink_e2e::Keypair;
use medconsent_shared::{
    signing_message, AccessOutcome, ConsentStatus, EntryKind, Grantee, Purpose, Scope,
    SignedAction, SigningDomain,
};

/// 2100-01-01 in milliseconds: a deadline the dev chain's clock will not reach.
const DEADLINE: u64 = 4_102_444_800_000;

fn sign(
    signer: &Keypair,
    domain: &SigningDomain,
    action: &SignedAction,
    nonce: u64,
    deadline: u64,
) -> [u8; 64] {
    let message = signing_message(domain, &patient_id(), action, nonce, deadline);
    signer.sign(&message).0
}

#[test]
fn a_relayer_submits_what_the_patient_signed() -> E2EResult<()> {
    block_on(relayed())
}

async fn relayed() -> E2EResult<()> {
    let base = std::env::temp_dir().join(format!("medconsent-signed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let node = OwnNode::start(&base).await?;
    let genesis_hash = node.genesis_hash().await?;
    let mut client = node.client().await?;
    let sys = deploy_on(&mut client, genesis_hash).await?;
    let (p, dr) = (patient_id(), doctor_id());
    let relayer = stranger();
    let record = patient_record(&mut client, &sys, LABS, 1).await?;
    let domain = SigningDomain {
        contract: sys.consents,
        genesis_hash,
    };
    let (grantee, terms) = (Grantee::Account(dr), read_permit(Scope::AllRecords));
    let grant = SignedAction::Grant { grantee, terms };

    // The contract describes the bytes to sign; the test builds them independently.
    let described = query(
        &mut client,
        &sys.consents().signing_message(p, grant, 0, DEADLINE),
    )
    .await?;
    assert_eq!(described, signing_message(&domain, &p, &grant, 0, DEADLINE));
    let signature = patient().sign(&described).0;

    // Forgeries and stale signatures, each refused with its typed error, nothing stored.
    let other_chain = SigningDomain {
        genesis_hash: UNKNOWN_GENESIS,
        ..domain
    };
    let other_contract = SigningDomain {
        contract: sys.registry,
        ..domain
    };
    let refused = [
        (
            sign(&stranger(), &domain, &grant, 0, DEADLINE),
            grantee,
            0,
            DEADLINE,
            ConsentError::BadSignature,
        ),
        (
            signature,
            Grantee::Account(responder_id()),
            0,
            DEADLINE,
            ConsentError::BadSignature,
        ),
        (
            sign(&patient(), &other_chain, &grant, 0, DEADLINE),
            grantee,
            0,
            DEADLINE,
            ConsentError::BadSignature,
        ),
        (
            sign(&patient(), &other_contract, &grant, 0, DEADLINE),
            grantee,
            0,
            DEADLINE,
            ConsentError::BadSignature,
        ),
        (
            sign(&patient(), &domain, &grant, 0, 1),
            grantee,
            0,
            1,
            ConsentError::SignatureExpired,
        ),
    ];
    for (signature, grantee, nonce, deadline, error) in refused {
        let message = sys
            .consents()
            .grant_signed(p, grantee, terms, nonce, deadline, signature);
        submit_err(&mut client, &relayer, &message, error).await?;
    }
    assert_eq!(
        query(&mut client, &sys.consents().consent_count(p)).await?,
        0
    );
    assert!(!query(&mut client, &sys.consents().nonce_used(p, 0)).await?);

    // The real one: the relayer pays, the patient is the grantor and the logged actor.
    let relayed = sys
        .consents()
        .grant_signed(p, grantee, terms, 0, DEADLINE, signature);
    let consent = submit_measured(&mut client, &relayer, &relayed, "grant_signed")
        .await?
        .return_value()
        .okay()?;
    let stored = query(&mut client, &sys.consents().consent(p, consent)).await?;
    assert_eq!(stored.map(|c| (c.grantor, c.grantee)), Some((p, grantee)));
    let chain = verified_chain(&mut client, &sys, p).await?;
    let last = chain.last().expect("the grant is logged");
    assert_eq!((last.kind, last.actor), (EntryKind::ConsentGranted, p));
    assert!(query(&mut client, &sys.consents().nonce_used(p, 0)).await?);
    // Replayed: refused.
    submit_err(&mut client, &relayer, &relayed, ConsentError::NonceUsed).await?;
    let access = sys.registry().access_record(record, Purpose::Treat);
    let outcome = submit_ok(&mut client, &doctor(), &access).await?;
    assert!(matches!(outcome, AccessOutcome::Released(_)));

    // A signed revocation, relayed the same way.
    let shown = listed(&mut client, &sys, p, consent).await?;
    let revoke = SignedAction::Revoke {
        consent_id: consent,
        shown,
    };
    let signature = sign(&patient(), &domain, &revoke, 1, DEADLINE);
    let altered = sys
        .consents()
        .revoke_signed(p, consent + 1, shown, 1, DEADLINE, signature);
    submit_err(&mut client, &relayer, &altered, ConsentError::BadSignature).await?;
    let relayed = sys
        .consents()
        .revoke_signed(p, consent, shown, 1, DEADLINE, signature);
    submit_measured(&mut client, &relayer, &relayed, "revoke_signed")
        .await?
        .return_value()
        .okay()?;
    let revoked = query(&mut client, &sys.consents().consent(p, consent)).await?;
    assert_eq!(revoked.map(|c| c.status), Some(ConsentStatus::Revoked));
    let outcome = submit_ok(&mut client, &doctor(), &access).await?;
    assert!(matches!(outcome, AccessOutcome::Denied(_)));
    let chain = verified_chain(&mut client, &sys, p).await?;
    let revocation = &chain[chain.len() - 2];
    assert_eq!(
        (revocation.kind, revocation.actor),
        (EntryKind::ConsentRevoked, p)
    );
    drop(client);
    drop(node);
    let _ = std::fs::remove_dir_all(&base);
    Ok(())
}
