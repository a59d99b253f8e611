//! Hostile contracts (the test-only `impostor` crate) and hostile bytes against the
//! deployed system.

use crate::support::*;
use impostor::impostor::{Impostor, ImpostorRef};
use ink::codegen::ContractCallBuilder;
use ink_e2e::subxt::dynamic::Value;
use ink_e2e::{ChainBackend, ContractsBackend};
use medconsent_shared::{
    AccessOutcome, DenyReason, EntryKind, Grantee, LogError, NewEntry, Purpose, Scope,
};
use record_registry::record_registry::Error as RegistryError;

type ImpostorCalls = <Impostor as ContractCallBuilder>::Type;

/// Deploys the system, a record of the patient's and the doctor's consent to read it,
/// and an impostor pointed at the registry.
async fn setup(
    client: &mut Client,
) -> E2EResult<(System, u64, ImpostorCalls, ink::primitives::AccountId)> {
    let sys = deploy(client).await?;
    let record = patient_record(client, &sys, LABS, 1).await?;
    let grant = sys.consents().grant(
        patient_id(),
        Grantee::Account(doctor_id()),
        read_permit(Scope::AllRecords),
    );
    submit_ok(client, &patient(), &grant).await?;
    let address = client
        .instantiate("impostor", &stranger(), &mut ImpostorRef::new(sys.registry))
        .submit()
        .await?
        .account_id;
    Ok((
        sys,
        record,
        ink_e2e::create_call_builder::<Impostor>(address),
        address,
    ))
}

#[ink_e2e::test]
async fn a_contract_posing_as_a_writer_cannot_append(mut client: Client) -> E2EResult<()> {
    let (sys, record, impostor, _) = setup(&mut client).await?;
    let p = patient_id();
    let chain = verified_chain(&mut client, &sys, p).await?;
    // Forged entries of both lanes: an access "by the doctor" and a consent change.
    for kind in [EntryKind::Access, EntryKind::ConsentGranted] {
        let forged = NewEntry {
            patient: p,
            actor: doctor_id(),
            record: Some(record),
            kind,
            purpose: Some(Purpose::Treat),
            consent: Some(0),
        };
        let answer = submit_ok_plain(
            &mut client,
            &stranger(),
            &impostor.clone().append_to(sys.log, forged),
        )
        .await?;
        assert_eq!(answer, Some(Err(LogError::NotWriter)));
    }
    assert_eq!(verified_chain(&mut client, &sys, p).await?, chain);
    Ok(())
}

#[ink_e2e::test]
async fn a_relay_cannot_use_someone_elses_consent(mut client: Client) -> E2EResult<()> {
    let (sys, record, impostor, address) = setup(&mut client).await?;
    let p = patient_id();
    let before = verified_chain(&mut client, &sys, p).await?.len();
    // The doctor holds a consent; a contract relaying the doctor's call is seen by the
    // registry as itself, a caller outside the directory: refused, and, not being
    // accountable, it leaves no entry in the patient's trail.
    let relayed = submit_ok_plain(
        &mut client,
        &doctor(),
        &impostor.clone().access_via(record, Purpose::Treat),
    )
    .await?;
    assert_eq!(
        relayed,
        Some(Err(RegistryError::Unauthorized(DenyReason::NotProvider)))
    );
    let chain = verified_chain(&mut client, &sys, p).await?;
    assert_eq!(chain.len(), before);
    assert!(chain.iter().all(|entry| entry.actor != address));
    Ok(())
}

#[ink_e2e::test]
async fn a_consent_manager_that_re_enters_the_registry_is_refused(
    mut client: Client,
) -> E2EResult<()> {
    let (sys, record, _, address) = setup(&mut client).await?;
    let p = patient_id();
    // A compromised admin wires the impostor in as consent manager; asked about one
    // record, it calls back into the registry's access_record. ink! calls do not allow
    // re-entry, and pallet-contracts answers the attempt by trapping the impostor's frame
    // (were the nested access to go through, the impostor would answer Permit). The
    // registry's fail-closed call turns the trap into a denial, which is logged.
    let before = wire_impostor(&mut client, &sys, address).await?;
    let access = sys.registry().access_record(record, Purpose::Treat);
    let outcome = submit_ok(&mut client, &doctor(), &access).await?;
    assert_eq!(
        outcome,
        AccessOutcome::Denied(DenyReason::ConsentUnavailable)
    );
    let chain = verified_chain(&mut client, &sys, p).await?;
    assert_eq!(
        chain.len(),
        before + 1,
        "one entry: the outer denial, no nested access"
    );
    assert_eq!(
        chain.last().map(|entry| entry.kind),
        Some(EntryKind::Denied(DenyReason::ConsentUnavailable))
    );
    Ok(())
}

#[ink_e2e::test]
async fn a_lying_consent_manager_cannot_stretch_a_chart(mut client: Client) -> E2EResult<()> {
    let (sys, record, _, address) = setup(&mut client).await?;
    let p = patient_id();
    // Wired in as consent manager, the impostor answers a chart with one Permit more than
    // the records asked about. The registry does not guess which verdict is whose: a
    // list of the wrong length counts as no answer, for every record.
    let before = wire_impostor(&mut client, &sys, address).await?;
    let chart = sys
        .registry()
        .access_chart(p, vec![record, record], Purpose::Treat);
    let outcomes = submit_ok(&mut client, &doctor(), &chart).await?;
    let unavailable = AccessOutcome::Denied(DenyReason::ConsentUnavailable);
    assert_eq!(outcomes, vec![unavailable.clone(), unavailable]);
    let chain = verified_chain(&mut client, &sys, p).await?;
    assert_eq!(chain.len(), before + 2, "two entries, both denials");
    assert!(chain[before..]
        .iter()
        .all(|e| e.kind == EntryKind::Denied(DenyReason::ConsentUnavailable)));
    Ok(())
}

/// A compromised admin's rewiring: the impostor becomes the registry's consent manager.
/// Returns the length of the patient's verified chain before anything else happens.
async fn wire_impostor(
    client: &mut Client,
    sys: &System,
    impostor: ink::primitives::AccountId,
) -> E2EResult<usize> {
    let rewire = AdminChange::Peers(impostor, sys.log);
    submit_ok(client, &admin(), &sys.registry().schedule_change(rewire)).await?;
    Ok(verified_chain(client, sys, patient_id()).await?.len())
}

/// A call of `message` whose return type is not a `Result`: submitted, value returned.
async fn submit_ok_plain<Args, R>(
    client: &mut Client,
    signer: &ink_e2e::Keypair,
    message: &Message<Args, R>,
) -> E2EResult<R>
where
    Args: Sync + ink::scale::Encode + Clone,
    R: Send + ink::scale::Decode,
{
    Ok(client.call(signer, message).submit().await?.return_value())
}

/// Raw call data straight to `contract` through `Contracts::call`: how it failed, or
/// None if it went through.
async fn raw_call(
    client: &mut Client,
    contract: ink::primitives::AccountId,
    data: Vec<u8>,
) -> Option<String> {
    let dest = Value::unnamed_variant("Id", vec![Value::from_bytes(contract)]);
    let gas = Value::named_composite(vec![
        ("ref_time", Value::u128(50_000_000_000)),
        ("proof_size", Value::u128(1_000_000)),
    ]);
    client
        .runtime_call(
            &stranger(),
            "Contracts",
            "call",
            vec![
                dest,
                Value::u128(0),
                gas,
                Value::unnamed_variant("None", vec![]),
                Value::from_bytes(data),
            ],
        )
        .await
        .err()
        .map(|error| format!("{error:?}"))
}

#[ink_e2e::test]
async fn malformed_call_data_is_rolled_back(mut client: Client) -> E2EResult<()> {
    let sys = deploy(&mut client).await?;
    let p = patient_id();
    patient_record(&mut client, &sys, LABS, 1).await?;
    let chain = verified_chain(&mut client, &sys, p).await?;
    let record = query(&mut client, &sys.registry().record(0)).await?;
    let next_id = query(&mut client, &sys.registry().next_record_id()).await?;
    // A deterministic stream of hostile payloads: empty, short, unknown selectors, known
    // selectors with truncated or random arguments.
    let register = ink::selector_bytes!("register_record");
    let grant = ink::selector_bytes!("grant");
    let append = ink::selector_bytes!("AuditLog::append");
    let mut payloads: Vec<Vec<u8>> = vec![
        vec![],
        vec![0xff],
        vec![0xde, 0xad, 0xbe, 0xef],
        register.to_vec(),
        [register.as_slice(), &[0u8; 10]].concat(),
        grant.to_vec(),
        [grant.as_slice(), &[0xffu8; 40]].concat(),
        [append.as_slice(), &[1u8; 3]].concat(),
    ];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for n in 0..12 {
        let mut bytes = Vec::with_capacity(n * 9);
        for _ in 0..n * 9 {
            // xorshift: reproducible noise without a dependency.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            bytes.push(state as u8);
        }
        let selector = [register, grant, append][n % 3];
        payloads.push([selector.as_slice(), &bytes].concat());
        payloads.push(bytes);
    }
    for data in payloads {
        for contract in [sys.registry, sys.consents, sys.log] {
            // A trap (undecodable input) or a revert (typed error): rolled back either way.
            let failure = raw_call(&mut client, contract, data.clone()).await;
            assert!(
                failure.as_deref().is_some_and(|error| {
                    error.contains("ContractTrapped") || error.contains("ContractReverted")
                }),
                "{data:02x?} to {contract:?}: {failure:?}"
            );
        }
    }
    assert_eq!(verified_chain(&mut client, &sys, p).await?, chain);
    assert_eq!(query(&mut client, &sys.registry().record(0)).await?, record);
    assert_eq!(
        query(&mut client, &sys.registry().next_record_id()).await?,
        next_id
    );
    assert_eq!(
        query(&mut client, &sys.consents().consent_count(p)).await?,
        0
    );
    Ok(())
}
