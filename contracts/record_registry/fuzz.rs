//! Decode-level fuzz of every message's input (see `medconsent_shared::fuzz`).

use crate::record_registry::RecordRegistry;
use ink::primitives::AccountId;
use ink::reflect::ContractMessageDecoder;
use medconsent_shared::fuzz::{
    admin_inputs, fuzz_decoding, fuzz_messages, peer_and_pause_inputs, store_root,
};
use medconsent_shared::{message_input, Purpose, MAX_LOCATOR_LEN};

type Decoder = <RecordRegistry as ContractMessageDecoder>::Type;

fn valid_inputs(a: AccountId, b: AccountId) -> Vec<Vec<u8>> {
    let locator = vec![b'x'; MAX_LOCATOR_LEN];
    let mut valid = vec![
        message_input!(
            "register_record",
            a,
            0u64,
            3u16,
            [5u8; 32],
            locator,
            Purpose::PatientRequest
        ),
        message_input!(
            "amend_record",
            0u64,
            [6u8; 32],
            b"v2".to_vec(),
            Purpose::Treat
        ),
        message_input!("retire_record", u64::MAX),
        message_input!("access_record", 0u64, Purpose::Research),
        message_input!("emergency_access", 0u64, [7u8; 32]),
        message_input!("review_emergencies", a, vec![(0u64, true), (1u64, false)]),
        message_input!("record", 0u64),
        message_input!("record_version", 0u64, 1u32),
        message_input!("records_of", a, 0u64, 32u32),
        message_input!("emergencies_of", a, 0u64, 32u32),
        message_input!("next_record_id"),
        message_input!("counts", a),
        message_input!("RecordLookup::record_patient", 0u64),
        message_input!("access_chart", a, vec![0u64, 1, u64::MAX], Purpose::Treat),
        message_input!("full_code"),
    ];
    valid.extend(admin_inputs(b));
    valid.extend(peer_and_pause_inputs(a, b));
    valid
}

#[test]
fn damaged_message_input_is_refused_or_decoded_never_a_panic() {
    let (a, b) = (AccountId::from([1; 32]), AccountId::from([2; 32]));
    let report = fuzz_decoding::<Decoder>(&valid_inputs(a, b), 500, 0x4e6);
    println!("decode fuzz: {report:?}");
    assert!(report.refused > 0 && report.decoded > 0, "{report:?}");
}

/// Every damaged input that decodes runs as ink! runs it, by the admin, the patient, a
/// delegate or a stranger: it may be refused, never panic. (The peers are unwired: the
/// paths past a peer call run in e2e/.)
#[ink::test]
fn decoded_damaged_input_runs_without_a_panic() {
    use ink::env::{test, DefaultEnvironment as Env};
    let accounts = test::default_accounts::<Env>();
    let (a, b) = (accounts.bob, accounts.charlie);
    test::set_caller::<Env>(accounts.alice);
    let registry = RecordRegistry::new(1_000, [0xfc; 32].into());
    store_root(&registry);
    let callers = [accounts.alice, a, b, accounts.eve];
    let report = fuzz_messages::<Decoder>(&valid_inputs(a, b), 100, 0x4e7, &callers);
    println!("message fuzz: {report:?}");
    assert!(report.ran > 500, "{report:?}");
}
