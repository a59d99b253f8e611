//! Decode-level fuzz of every message's input (see `medconsent_shared::fuzz`).

use crate::access_log::AccessLog;
use ink::primitives::AccountId;
use ink::reflect::ContractMessageDecoder;
use medconsent_shared::fuzz::{admin_inputs, fuzz_decoding, fuzz_messages, store_root};
use medconsent_shared::{message_input, ChartEntries, DenyReason, EntryKind, NewEntry, Purpose};

type Decoder = <AccessLog as ContractMessageDecoder>::Type;

fn valid_inputs(a: AccountId, b: AccountId) -> Vec<Vec<u8>> {
    let entry = NewEntry {
        patient: a,
        actor: b,
        record: Some(3),
        kind: EntryKind::Denied(DenyReason::Restricted(4)),
        purpose: Some(Purpose::Research),
        consent: None,
    };
    let mut valid = vec![
        message_input!(
            "schedule_change",
            medconsent_shared::AdminChange::Peers(a, b)
        ),
        message_input!("writers"),
        message_input!("head", a),
        message_input!("entries", a, 0u64, 32u32),
        message_input!("disclosures", a, 0u64, u64::MAX, 0u64, 32u32),
        message_input!("AuditLog::append", entry),
        message_input!(
            "AuditLog::append_chart",
            ChartEntries {
                patient: a,
                actor: b,
                purpose: Purpose::Treat,
                items: vec![
                    (0, EntryKind::Access, Some(1)),
                    (u64::MAX, entry.kind, None)
                ],
            }
        ),
        message_input!("full_code"),
    ];
    valid.extend(admin_inputs(b));
    valid
}

#[test]
fn damaged_message_input_is_refused_or_decoded_never_a_panic() {
    let (a, b) = (AccountId::from([1; 32]), AccountId::from([2; 32]));
    let report = fuzz_decoding::<Decoder>(&valid_inputs(a, b), 1_000, 0x106);
    println!("decode fuzz: {report:?}");
    assert!(report.refused > 0 && report.decoded > 0, "{report:?}");
}

/// Every damaged input that decodes runs as ink! runs it, by the admin, a writer or a
/// stranger, on a wired log: it may be refused, never panic.
#[ink::test]
fn decoded_damaged_input_runs_without_a_panic() {
    use ink::env::{test, DefaultEnvironment as Env};
    let accounts = test::default_accounts::<Env>();
    let (registry, consents) = (accounts.bob, accounts.charlie);
    test::set_caller::<Env>(accounts.alice);
    test::set_contract::<Env>(registry);
    test::set_contract::<Env>(consents);
    let mut log = AccessLog::new(1_000, [0xfc; 32].into());
    log.schedule_change(medconsent_shared::AdminChange::Peers(registry, consents))
        .unwrap();
    store_root(&log);
    let callers = [accounts.alice, registry, consents, accounts.eve];
    // The inputs name the writers as patients and actors, so entries land on chains the
    // queries then read back.
    let report = fuzz_messages::<Decoder>(&valid_inputs(registry, consents), 200, 0x107, &callers);
    println!("message fuzz: {report:?}");
    assert!(report.ran > 100, "{report:?}");
}
