//! Load: at least 1,000 access calls from several accounts against a live node, then
//! proof that each call left exactly one log entry and every chain verifies. Ignored by
//! the default run; scripts/test.sh runs it (`--ignored load::`).

use crate::support::*;
use ink::primitives::AccountId;
use ink_e2e::Keypair;
use medconsent_shared::{
    AccessOutcome, DenyReason, EntryKind, Grantee, Purpose, Role, RoleSet, Scope,
};
use std::time::Instant;

/// Access calls the test makes: at least 1,000, enough to show no call is lost or doubled.
const CALLS: usize = 1_008;

/// What one access call must leave in its patient's chain.
#[derive(Debug, PartialEq)]
struct Expected {
    actor: AccountId,
    record: u64,
    kind: EntryKind,
}

#[ink_e2e::test]
#[ignore = "load test: run by scripts/test.sh"]
async fn a_thousand_accesses_leave_a_thousand_entries(mut client: Client) -> E2EResult<()> {
    let sys = deploy(&mut client).await?;
    // Two patients; three providers: dave and eve hold consents from both, ferdie only
    // from bob, so his reads of charlie's records are denied (and logged).
    let patients = [(patient(), patient_id()), (delegate(), delegate_id())];
    let clinician = RoleSet::from([Role::Clinician]);
    submit_ok(
        &mut client,
        &admin(),
        &sys.consents()
            .register_provider(stranger_id(), clinician, [0xf0; 32]),
    )
    .await?;
    let mut records: Vec<(AccountId, u64)> = Vec::new();
    for (n, (signer, id)) in patients.iter().enumerate() {
        for k in 0..2u8 {
            let next = next_record_id(&mut client, &sys).await?;
            let register = sys.registry().register_record(
                *id,
                next,
                LABS,
                content(n as u8 * 16 + k + 1),
                vec![],
                Purpose::PatientRequest,
            );
            records.push((*id, submit_ok(&mut client, signer, &register).await?));
        }
        let providers = if n == 0 {
            vec![doctor_id(), responder_id(), stranger_id()]
        } else {
            vec![doctor_id(), responder_id()]
        };
        for provider in providers {
            let grant = sys.consents().grant(
                *id,
                Grantee::Account(provider),
                read_permit(Scope::AllRecords),
            );
            submit_ok(&mut client, signer, &grant).await?;
        }
    }
    let mut setup_lengths = Vec::new();
    for (_, id) in &patients {
        setup_lengths.push(query(&mut client, &sys.log().head(*id)).await?.length);
    }

    let accessors: [(Keypair, AccountId); 3] = [
        (doctor(), doctor_id()),
        (responder(), responder_id()),
        (stranger(), stranger_id()),
    ];
    let mut expected: Vec<Vec<Expected>> = vec![Vec::new(), Vec::new()];
    let started = Instant::now();
    for call in 0..CALLS {
        let (signer, actor) = &accessors[call % accessors.len()];
        let (owner, record) = records[(call / accessors.len()) % records.len()];
        let access = sys.registry().access_record(record, Purpose::Treat);
        let outcome = submit_ok(&mut client, signer, &access).await?;
        let kind = match outcome {
            AccessOutcome::Released(_) => EntryKind::Access,
            AccessOutcome::Denied(reason) => EntryKind::Denied(reason),
        };
        let lane = usize::from(owner != patient_id());
        let should_be = if lane == 1 && *actor == stranger_id() {
            EntryKind::Denied(DenyReason::NoConsent)
        } else {
            EntryKind::Access
        };
        assert_eq!(kind, should_be, "call {call}");
        expected[lane].push(Expected {
            actor: *actor,
            record,
            kind,
        });
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "LOAD {CALLS} access calls from {} accounts in {elapsed:.1} s: {:.1} calls/s",
        accessors.len(),
        CALLS as f64 / elapsed
    );

    // Every call has exactly one entry, in order, and nothing else was appended.
    for (lane, (_, id)) in patients.iter().enumerate() {
        let chain = verified_chain(&mut client, &sys, *id).await?;
        let skip = setup_lengths[lane] as usize;
        let logged: Vec<Expected> = chain[skip..]
            .iter()
            .map(|entry| Expected {
                actor: entry.actor,
                record: entry.record.expect("an access names its record"),
                kind: entry.kind,
            })
            .collect();
        assert_eq!(logged.len(), expected[lane].len());
        assert!(
            logged == expected[lane],
            "patient {lane}: chain differs from the calls"
        );
        println!(
            "LOAD patient {lane}: {} entries, chain verified",
            chain.len()
        );
    }
    assert_eq!(expected.iter().map(Vec::len).sum::<usize>(), CALLS);
    Ok(())
}
