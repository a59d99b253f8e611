//! Decode-level fuzz of every message's input (see `medconsent_shared::fuzz`).

use crate::consent_manager::ConsentManager;
use ink::primitives::AccountId;
use ink::reflect::ContractMessageDecoder;
use medconsent_shared::fuzz::{
    admin_inputs, fuzz_decoding, fuzz_messages, peer_and_pause_inputs, store_root,
};
use medconsent_shared::{
    message_input, AccessRequest, Action, ActionSet, ChartRequest, ConsentShown, ConsentTerms,
    Decision, Grantee, Purpose, PurposeSet, RoleSet, Scope, SignedAction,
};

type Decoder = <ConsentManager as ContractMessageDecoder>::Type;

fn valid_inputs(a: AccountId, b: AccountId) -> Vec<Vec<u8>> {
    let terms = ConsentTerms {
        decision: Decision::Permit,
        scope: Scope::Category(3),
        actions: ActionSet::from([Action::Read]),
        purposes: PurposeSet::from([Purpose::Treat]),
        valid_from: 0,
        valid_until: Some(9),
    };
    let shown = ConsentShown {
        grantee: Grantee::Account(b),
        terms,
    };
    let request = AccessRequest {
        patient: a,
        accessor: b,
        record: Some(7),
        category: 3,
        action: Action::Read,
        purpose: Purpose::Treat,
    };
    let mut valid = vec![
        message_input!("grant", a, Grantee::Account(b), terms),
        message_input!("revoke", a, 0u64, shown),
        message_input!(
            "grant_signed",
            a,
            Grantee::Account(b),
            terms,
            0u64,
            9u64,
            [3u8; 64]
        ),
        message_input!("revoke_signed", a, 0u64, shown, 0u64, u64::MAX, [3u8; 64]),
        message_input!("nonce_used", a, 0u64),
        message_input!("void_signature", a, u64::MAX),
        message_input!(
            "signing_message",
            a,
            SignedAction::Revoke {
                consent_id: 1,
                shown
            },
            0u64,
            9u64
        ),
        message_input!("consent", a, u64::MAX),
        message_input!("consents_of", a, 0u64, u32::MAX),
        message_input!("consent_count", a),
        message_input!("appoint_delegate", b, Some(5u64)),
        message_input!("remove_delegate", b),
        message_input!("delegation", a, b),
        message_input!("set_emergency_opt_out", a, true),
        message_input!("emergency_opted_out", a),
        message_input!("register_provider", b, RoleSet(1), [7u8; 32]),
        message_input!("suspend_provider", b),
        message_input!("reactivate_provider", b),
        message_input!("set_provider_roles", b, RoleSet(3)),
        message_input!("rotate_provider_key", [8u8; 32]),
        message_input!("provider", b),
        message_input!("ConsentCheck::check", request),
        message_input!("ConsentCheck::check_emergency", a, b),
        message_input!("ConsentCheck::acts_for", a, b),
        message_input!(
            "ConsentCheck::check_chart",
            ChartRequest {
                patient: a,
                accessor: b,
                purpose: Purpose::Treat,
                records: vec![(7, 3), (u64::MAX, u16::MAX)],
            }
        ),
        message_input!("full_code"),
    ];
    valid.extend(admin_inputs(b));
    valid.extend(peer_and_pause_inputs(a, b));
    valid
}

#[test]
fn damaged_message_input_is_refused_or_decoded_never_a_panic() {
    let (a, b) = (AccountId::from([1; 32]), AccountId::from([2; 32]));
    let report = fuzz_decoding::<Decoder>(&valid_inputs(a, b), 400, 0xc0_5e47);
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
    let mut cm = ConsentManager::new([0x6e; 32], 1_000, [0xfc; 32].into());
    cm.register_provider(a, RoleSet(3), [7; 32]).unwrap();
    test::set_caller::<Env>(a);
    cm.appoint_delegate(b, None).unwrap();
    store_root(&cm);
    let callers = [accounts.alice, a, b, accounts.eve];
    let report = fuzz_messages::<Decoder>(&valid_inputs(a, b), 100, 0xc0_5e48, &callers);
    println!("message fuzz: {report:?}");
    assert!(report.ran > 500, "{report:?}");
}
