//! Decode-level fuzz of every message's input (see `medconsent_shared::fuzz`).

use crate::access_log::AccessLog;
use ink::primitives::AccountId;
use ink::reflect::ContractMessageDecoder;
use medconsent_shared::fuzz::{admin_inputs, fuzz_decoding};
use medconsent_shared::{message_input, DenyReason, EntryKind, NewEntry, Purpose};

type Decoder = <AccessLog as ContractMessageDecoder>::Type;

#[test]
fn damaged_message_input_is_refused_or_decoded_never_a_panic() {
    let (a, b) = (AccountId::from([1; 32]), AccountId::from([2; 32]));
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
    ];
    valid.extend(admin_inputs(b));
    let report = fuzz_decoding::<Decoder>(&valid, 1_000, 0x106);
    println!("decode fuzz: {report:?}");
    assert!(report.refused > 0 && report.decoded > 0, "{report:?}");
}
