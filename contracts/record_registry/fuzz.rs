//! Decode-level fuzz of every message's input (see `medconsent_shared::fuzz`).

use crate::record_registry::RecordRegistry;
use ink::primitives::AccountId;
use ink::reflect::ContractMessageDecoder;
use medconsent_shared::fuzz::{admin_inputs, fuzz_decoding, peer_and_pause_inputs};
use medconsent_shared::{message_input, Purpose, MAX_LOCATOR_LEN};

type Decoder = <RecordRegistry as ContractMessageDecoder>::Type;

#[test]
fn damaged_message_input_is_refused_or_decoded_never_a_panic() {
    let (a, b) = (AccountId::from([1; 32]), AccountId::from([2; 32]));
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
    ];
    valid.extend(admin_inputs(b));
    valid.extend(peer_and_pause_inputs(a, b));
    let report = fuzz_decoding::<Decoder>(&valid, 500, 0x4e6);
    println!("decode fuzz: {report:?}");
    assert!(report.refused > 0 && report.decoded > 0, "{report:?}");
}
