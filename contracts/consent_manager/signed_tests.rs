//! Consent signed in the patient's wallet and relayed by someone else. Off-chain, a
//! grant or revocation that passes every signature check goes on to the access log,
//! which the off-chain engine cannot call: so "accepted" shows here as LogUnavailable
//! (off-chain nothing is rolled back after it; on chain that error would revert the call
//! with its nonce). The whole relayed path runs in e2e/src/signed.rs.

use crate::consent_manager::Error;
use crate::tests::{permit, world, World, GENESIS};
use ink::env::test::{callee, set_block_timestamp, set_caller};
use ink::env::DefaultEnvironment;
use ink::primitives::AccountId;
use medconsent_shared::{
    signing_message, ConsentShown, ConsentTerms, Grantee, Purpose, PurposeSet, Scope, SignedAction,
    SigningDomain, SIGNED_CONSENT_TAG,
};
use schnorrkel::{signing_context, ExpansionMode, Keypair, MiniSecretKey};

type Env = DefaultEnvironment;

/// Deadline used by the valid signatures (the clock stands at t=100).
const DEADLINE: u64 = 5_000;

fn keypair(seed: u8) -> Keypair {
    MiniSecretKey::from_bytes(&[seed; 32])
        .expect("32 bytes")
        .expand_to_keypair(ExpansionMode::Ed25519)
}

fn account(key: &Keypair) -> AccountId {
    AccountId::from(key.public.to_bytes())
}

/// What a wallet does: sr25519 over the bytes, in the "substrate" signing context.
fn sign(key: &Keypair, message: &[u8]) -> [u8; 64] {
    key.sign(signing_context(b"substrate").bytes(message))
        .to_bytes()
}

fn domain() -> SigningDomain {
    SigningDomain {
        contract: callee::<Env>(),
        genesis_hash: GENESIS,
    }
}

/// The patient's signature over `action` with `nonce` for this contract and chain.
fn signed(key: &Keypair, action: &SignedAction, nonce: u64, deadline: u64) -> [u8; 64] {
    let message = signing_message(&domain(), &account(key), action, nonce, deadline);
    sign(key, &message)
}

fn grant_of(w: &World) -> SignedAction {
    SignedAction::Grant {
        grantee: Grantee::Account(w.doctor),
        terms: permit(Scope::AllRecords),
    }
}

struct Signed {
    w: World,
    key: Keypair,
    patient: AccountId,
    relayer: AccountId,
}

fn setup() -> Signed {
    let w = world();
    let key = keypair(42);
    let patient = account(&key);
    let relayer = w.stranger;
    Signed {
        w,
        key,
        patient,
        relayer,
    }
}

#[ink::test]
fn a_valid_signature_is_accepted_once() {
    let mut s = setup();
    let action = grant_of(&s.w);
    let nonce = 0x5eed_0001;
    let signature = signed(&s.key, &action, nonce, DEADLINE);
    assert!(!s.w.cm.nonce_used(s.patient, nonce));
    // The checks accept it and use the nonce; the same signature is then refused.
    set_caller::<Env>(s.relayer);
    assert_eq!(
        s.w.cm
            .use_signature(&s.patient, &action, nonce, DEADLINE, &signature),
        Ok(())
    );
    assert!(s.w.cm.nonce_used(s.patient, nonce));
    let SignedAction::Grant { grantee, terms } = action else {
        unreachable!()
    };
    let patient = s.patient;
    s.w.rejects(s.relayer, Error::NonceUsed, |cm| {
        cm.grant_signed(patient, grantee, terms, nonce, DEADLINE, signature)
    });
    assert!(!s.w.cm.nonce_used(s.patient, nonce + 1));
}

/// The patient's consent for the doctor, stored as `grant` stores it once logged.
fn doctor_consent(s: &mut Signed) -> u64 {
    let (patient, doctor) = (s.patient, s.w.doctor);
    s.w.cm
        .store_grant(
            patient,
            patient,
            Grantee::Account(doctor),
            permit(Scope::AllRecords),
            100,
        )
        .unwrap()
}

#[ink::test]
fn a_held_signature_blocks_no_later_one() {
    let mut s = setup();
    let patient = s.patient;
    let id = doctor_consent(&mut s);
    // A relayer sits on a grant signed with nonce 3. The revocation signed later with
    // nonce 9 goes through first, past every check to the log (absent off-chain).
    let _held = signed(&s.key, &grant_of(&s.w), 3, DEADLINE);
    let shown = s.w.shown(id);
    let revoke = SignedAction::Revoke {
        consent_id: id,
        shown,
    };
    let signature = signed(&s.key, &revoke, 9, DEADLINE);
    set_caller::<Env>(s.relayer);
    assert_eq!(
        s.w.cm
            .revoke_signed(patient, id, shown, 9, DEADLINE, signature),
        Err(Error::LogUnavailable)
    );
    assert!(!s.w.cm.nonce_used(patient, 3));
}

#[ink::test]
fn the_patient_or_a_delegate_voids_an_outstanding_signature() {
    let mut s = setup();
    let patient = s.patient;
    let held = signed(&s.key, &grant_of(&s.w), 3, DEADLINE);
    let SignedAction::Grant { grantee, terms } = grant_of(&s.w) else {
        unreachable!()
    };
    // Nobody else can void it.
    for who in [s.relayer, s.w.doctor, s.w.admin] {
        s.w.rejects(who, Error::NotPatientOrDelegate, |cm| {
            cm.void_signature(patient, 3)
        });
        assert!(!s.w.cm.nonce_used(patient, 3));
    }
    set_caller::<Env>(patient);
    s.w.cm.void_signature(patient, 3).unwrap();
    assert!(s.w.cm.nonce_used(patient, 3));
    // The relayer's grant is dead; voiding twice says so.
    s.w.rejects(s.relayer, Error::NonceUsed, |cm| {
        cm.grant_signed(patient, grantee, terms, 3, DEADLINE, held)
    });
    s.w.rejects(patient, Error::NonceUsed, |cm| {
        cm.void_signature(patient, 3)
    });
    // A delegate of the patient may void too, and so can the patient while paused.
    let delegate = s.w.delegate;
    set_caller::<Env>(patient);
    s.w.cm.appoint_delegate(delegate, None).unwrap();
    set_caller::<Env>(delegate);
    s.w.cm.void_signature(patient, 4).unwrap();
    set_caller::<Env>(s.w.admin);
    s.w.cm.set_paused(true).unwrap();
    set_caller::<Env>(patient);
    s.w.cm.void_signature(patient, 5).unwrap();
    assert!(s.w.cm.nonce_used(patient, 4) && s.w.cm.nonce_used(patient, 5));
}

#[ink::test]
fn the_contract_signs_the_known_answer_vector() {
    let v = medconsent_shared::vector::signed_consent_vector();
    ink::env::test::set_callee::<Env>(v.domain.contract);
    let cm =
        crate::consent_manager::ConsentManager::new(v.domain.genesis_hash, 0, [0xfc; 32].into());
    assert_eq!(
        cm.signing_message(v.patient, v.action, v.nonce, v.deadline),
        v.message
    );
}

#[ink::test]
fn the_message_is_tagged_bound_and_wrapped_as_wallets_sign() {
    let s = setup();
    let message = signing_message(&domain(), &s.patient, &grant_of(&s.w), 0, DEADLINE);
    assert!(message.starts_with(b"<Bytes>medconsent:signed-consent:v1"));
    assert!(message.ends_with(b"</Bytes>"));
    assert_eq!(
        &message[7..7 + SIGNED_CONSENT_TAG.len()],
        SIGNED_CONSENT_TAG
    );
    assert_eq!(
        s.w.cm
            .signing_message(s.patient, grant_of(&s.w), 0, DEADLINE),
        message
    );
}

#[ink::test]
fn a_past_deadline_is_refused() {
    let mut s = setup();
    let action = grant_of(&s.w);
    let signature = signed(&s.key, &action, 0, 99);
    let (patient, doctor) = (s.patient, s.w.doctor);
    s.w.rejects(s.relayer, Error::SignatureExpired, |cm| {
        cm.grant_signed(
            patient,
            Grantee::Account(doctor),
            permit(Scope::AllRecords),
            0,
            99,
            signature,
        )
    });
    // The deadline itself is still in time.
    set_block_timestamp::<Env>(DEADLINE);
    let last_moment = signed(&s.key, &action, 0, DEADLINE);
    assert_eq!(
        s.w.cm
            .use_signature(&s.patient, &action, 0, DEADLINE, &last_moment),
        Ok(())
    );
}

#[ink::test]
fn anything_but_the_patients_signature_over_exactly_these_terms_is_refused() {
    let mut s = setup();
    let (patient, doctor) = (s.patient, s.w.doctor);
    let terms = permit(Scope::AllRecords);
    let grant = |grantee, terms| SignedAction::Grant { grantee, terms };
    let action = grant(Grantee::Account(doctor), terms);
    let wider = ConsentTerms {
        purposes: PurposeSet::from([Purpose::Treat, Purpose::Research]),
        ..terms
    };
    let other_domain = |contract, genesis_hash| SigningDomain {
        contract,
        genesis_hash,
    };
    let message = |domain: &SigningDomain, action: &SignedAction, nonce, deadline| {
        signing_message(domain, &patient, action, nonce, deadline)
    };
    let unwrapped = {
        let wrapped = message(&domain(), &action, 0, DEADLINE);
        wrapped[7..wrapped.len() - 8].to_vec()
    };
    let someone_else = keypair(7);
    let another_contract = AccountId::from([0xcc; 32]);
    assert_ne!(another_contract, callee::<Env>());
    // (what was signed and by whom, what is submitted)
    let forgeries: Vec<([u8; 64], SignedAction, u64, u64, AccountId)> = vec![
        // Signed by another key for this patient.
        (
            sign(&someone_else, &message(&domain(), &action, 0, DEADLINE)),
            action,
            0,
            DEADLINE,
            patient,
        ),
        // The patient's signature, submitted for another patient.
        (
            signed(&s.key, &action, 0, DEADLINE),
            action,
            0,
            DEADLINE,
            account(&someone_else),
        ),
        // Altered grantee, terms and deadline.
        (
            signed(&s.key, &action, 0, DEADLINE),
            grant(Grantee::Account(s.w.responder), terms),
            0,
            DEADLINE,
            patient,
        ),
        (
            signed(&s.key, &action, 0, DEADLINE),
            grant(Grantee::Account(doctor), wider),
            0,
            DEADLINE,
            patient,
        ),
        (
            signed(&s.key, &action, 0, DEADLINE),
            action,
            0,
            DEADLINE + 1,
            patient,
        ),
        // Signed for a later nonce, submitted with the current one.
        (
            signed(&s.key, &action, 1, DEADLINE),
            action,
            0,
            DEADLINE,
            patient,
        ),
        // Signed for another contract, and for another chain.
        (
            sign(
                &s.key,
                &message(
                    &other_domain(another_contract, GENESIS),
                    &action,
                    0,
                    DEADLINE,
                ),
            ),
            action,
            0,
            DEADLINE,
            patient,
        ),
        (
            sign(
                &s.key,
                &message(
                    &other_domain(callee::<Env>(), [1; 32]),
                    &action,
                    0,
                    DEADLINE,
                ),
            ),
            action,
            0,
            DEADLINE,
            patient,
        ),
        // The payload signed without the <Bytes> wrapping wallets add.
        (sign(&s.key, &unwrapped), action, 0, DEADLINE, patient),
        // Garbage.
        ([0; 64], action, 0, DEADLINE, patient),
    ];
    for (signature, submitted, nonce, deadline, for_patient) in forgeries {
        let SignedAction::Grant { grantee, terms } = submitted else {
            unreachable!()
        };
        s.w.rejects(s.relayer, Error::BadSignature, |cm| {
            cm.grant_signed(for_patient, grantee, terms, nonce, deadline, signature)
        });
    }
    assert!(!s.w.cm.nonce_used(patient, 0));
}

#[ink::test]
fn revocation_is_signed_the_same_way() {
    let mut s = setup();
    let patient = s.patient;
    let id = doctor_consent(&mut s);
    let shown = s.w.shown(id);
    let revoke = SignedAction::Revoke {
        consent_id: id,
        shown,
    };
    let signature = signed(&s.key, &revoke, 0, DEADLINE);
    // Another consent id than the one signed.
    s.w.rejects(s.relayer, Error::BadSignature, |cm| {
        cm.revoke_signed(patient, id + 1, shown, 0, DEADLINE, signature)
    });
    // Other terms than the ones signed.
    let other = ConsentShown {
        terms: ConsentTerms {
            valid_until: Some(DEADLINE),
            ..shown.terms
        },
        ..shown
    };
    s.w.rejects(s.relayer, Error::BadSignature, |cm| {
        cm.revoke_signed(patient, id, other, 0, DEADLINE, signature)
    });
    // A grant signature does not revoke.
    let grant = signed(&s.key, &grant_of(&s.w), 0, DEADLINE);
    s.w.rejects(s.relayer, Error::BadSignature, |cm| {
        cm.revoke_signed(patient, id, shown, 0, DEADLINE, grant)
    });
    // Paused: signed grants are refused, signed revocations still go through.
    set_caller::<Env>(s.w.admin);
    s.w.cm.set_paused(true).unwrap();
    let SignedAction::Grant { grantee, terms } = grant_of(&s.w) else {
        unreachable!()
    };
    s.w.rejects(s.relayer, Error::Paused, |cm| {
        cm.grant_signed(patient, grantee, terms, 0, DEADLINE, grant)
    });
    set_caller::<Env>(s.relayer);
    assert_eq!(
        s.w.cm
            .revoke_signed(patient, id, shown, 0, DEADLINE, signature),
        Err(Error::LogUnavailable),
        "past every check while paused"
    );
}
