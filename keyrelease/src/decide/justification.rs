//! The rules for a break-glass justification's sealed copy: a server keeps it only from
//! the responder of that Emergency entry, and hands it only to the patient or a delegate
//! in force ([`crate::justification`]).

use super::{current, Policy, Refusal};
use crate::justification::{
    JustificationDeposit, JustificationRequest, SignedJustificationDeposit,
    SignedJustificationRequest, MAX_SEALED_TEXT_LEN,
};
use medconsent_shared::{EntryKind, LogEntry, Timestamp};

/// What needs no chain read: for this server, signed by the responder it names, a share
/// index that exists, a text no longer than the longest.
pub fn authentic_justification(
    signed: &SignedJustificationDeposit,
    server: &[u8; 32],
) -> Result<(), Refusal> {
    let deposit = &signed.deposit;
    if &deposit.server != server {
        return Err(Refusal::WrongServer);
    }
    if deposit.text.len() > MAX_SEALED_TEXT_LEN {
        return Err(Refusal::TextTooLong);
    }
    if !signed.is_signed_by_responder() {
        return Err(Refusal::BadSignature);
    }
    if deposit.index == 0 {
        return Err(Refusal::BadShare);
    }
    Ok(())
}

/// The Emergency entry a justification is for: `entry` (entry `log_seq` of the
/// patient's chain at the finalized block) must be one.
fn emergency(entry: Option<&LogEntry>) -> Result<&LogEntry, Refusal> {
    let entry = entry.ok_or(Refusal::NoSuchEntry)?;
    match entry.kind {
        EntryKind::Emergency { .. } => Ok(entry),
        _ => Err(Refusal::NotAnEmergency),
    }
}

/// After [`authentic_justification`]: current at chain time `now`, for an Emergency
/// entry of that patient whose actor signed the deposit.
pub fn justification_rules(
    deposit: &JustificationDeposit,
    entry: Option<&LogEntry>,
    now: Timestamp,
    policy: &Policy,
) -> Result<(), Refusal> {
    current(deposit.expires_at, now, policy)?;
    let entry = emergency(entry)?;
    if entry.patient != deposit.patient || entry.seq != deposit.log_seq {
        return Err(Refusal::OtherRecord);
    }
    if entry.actor != deposit.responder {
        return Err(Refusal::NotTheResponder);
    }
    Ok(())
}

/// What needs no chain read for a request: for this server, signed by its requester.
pub fn authentic_justification_request(
    signed: &SignedJustificationRequest,
    server: &[u8; 32],
) -> Result<(), Refusal> {
    if &signed.request.server != server {
        return Err(Refusal::WrongServer);
    }
    if !signed.is_signed_by_requester() {
        return Err(Refusal::BadSignature);
    }
    Ok(())
}

/// After [`authentic_justification_request`]: current at `now`, for an Emergency entry of
/// the patient, asked by the patient or by a delegate in force (`delegate`, read at the
/// finalized block).
pub fn justification_request_rules(
    request: &JustificationRequest,
    entry: Option<&LogEntry>,
    delegate: bool,
    now: Timestamp,
    policy: &Policy,
) -> Result<(), Refusal> {
    current(request.expires_at, now, policy)?;
    let entry = emergency(entry)?;
    if entry.patient != request.patient || entry.seq != request.log_seq {
        return Err(Refusal::OtherRecord);
    }
    if request.requester != request.patient && !delegate {
        return Err(Refusal::NotPatientOrDelegate);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::tests::{account, keypair};
    use medconsent_shared::{AccountId, Purpose};
    use schnorrkel::{signing_context, Keypair};

    const SERVER: [u8; 32] = [0x5e; 32];
    const POLICY: Policy = Policy {
        max_entry_age: 600_000,
        max_request_lifetime: 300_000,
    };
    const NOW: Timestamp = 900_000;

    fn sign(key: &Keypair, message: &[u8]) -> [u8; 64] {
        key.sign(signing_context(b"substrate").bytes(message))
            .to_bytes()
    }

    fn entry(patient: AccountId, actor: AccountId, kind: EntryKind) -> LogEntry {
        LogEntry {
            seq: 4,
            patient,
            actor,
            record: Some(7),
            kind,
            purpose: Some(Purpose::EmergencyTreat),
            consent: None,
            timestamp: NOW,
            block: 10,
            hash: [0; 32],
        }
    }

    fn deposit(patient: AccountId, responder: &Keypair) -> SignedJustificationDeposit {
        let deposit = JustificationDeposit {
            server: SERVER,
            patient,
            log_seq: 4,
            responder: account(responder),
            index: 1,
            share: [0xa5; crate::envelope::SEALED_LEN],
            text: vec![0; 64],
            expires_at: NOW + 60_000,
        };
        SignedJustificationDeposit {
            signature: sign(responder, &deposit.signing_message()),
            deposit,
        }
    }

    #[test]
    fn only_the_entrys_responder_leaves_a_justification() {
        let (patient, responder, other) = (keypair(1), keypair(2), keypair(3));
        let broke = EntryKind::Emergency {
            justification: [1; 32],
        };
        let glass = entry(account(&patient), account(&responder), broke);
        let signed = deposit(account(&patient), &responder);
        let kept = |signed: &SignedJustificationDeposit, entry: Option<&LogEntry>| {
            authentic_justification(signed, &SERVER)?;
            justification_rules(&signed.deposit, entry, NOW, &POLICY)
        };
        assert_eq!(kept(&signed, Some(&glass)), Ok(()));
        // Another provider, signing as itself, for the responder's entry.
        let stranger = deposit(account(&patient), &other);
        assert_eq!(kept(&stranger, Some(&glass)), Err(Refusal::NotTheResponder));
        // In the responder's name, signed by another key.
        let mut forged = signed.clone();
        forged.signature = sign(&other, &signed.deposit.signing_message());
        assert_eq!(kept(&forged, Some(&glass)), Err(Refusal::BadSignature));
        // An entry that is not a break-glass, or none.
        let access = entry(account(&patient), account(&responder), EntryKind::Access);
        assert_eq!(kept(&signed, Some(&access)), Err(Refusal::NotAnEmergency));
        assert_eq!(kept(&signed, None), Err(Refusal::NoSuchEntry));
        // Another patient's entry under that number.
        let elsewhere = entry(account(&other), account(&responder), broke);
        assert_eq!(kept(&signed, Some(&elsewhere)), Err(Refusal::OtherRecord));
        // A text beyond the longest, before any chain read.
        let mut long = signed.deposit.clone();
        long.text = vec![0; MAX_SEALED_TEXT_LEN + 1];
        let long = SignedJustificationDeposit {
            signature: sign(&responder, &long.signing_message()),
            deposit: long,
        };
        assert_eq!(
            authentic_justification(&long, &SERVER),
            Err(Refusal::TextTooLong)
        );
        // Expired.
        let mut late = signed.deposit.clone();
        late.expires_at = NOW;
        assert_eq!(
            justification_rules(&late, Some(&glass), NOW, &POLICY),
            Err(Refusal::Expired)
        );
    }

    #[test]
    fn only_the_patient_or_a_delegate_reads_it() {
        let (patient, responder, delegate) = (keypair(1), keypair(2), keypair(3));
        let glass = entry(
            account(&patient),
            account(&responder),
            EntryKind::Emergency {
                justification: [1; 32],
            },
        );
        let request = |requester: &Keypair| JustificationRequest {
            server: SERVER,
            patient: account(&patient),
            log_seq: 4,
            requester: account(requester),
            reply_key: [9; 32],
            expires_at: NOW + 60_000,
        };
        let rules = |request: &JustificationRequest, delegate: bool| {
            justification_request_rules(request, Some(&glass), delegate, NOW, &POLICY)
        };
        assert_eq!(rules(&request(&patient), false), Ok(()));
        assert_eq!(rules(&request(&delegate), true), Ok(()));
        // Neither the responder nor a former delegate.
        assert_eq!(
            rules(&request(&responder), false),
            Err(Refusal::NotPatientOrDelegate)
        );
        assert_eq!(
            rules(&request(&delegate), false),
            Err(Refusal::NotPatientOrDelegate)
        );
        // Signed by another than the requester named.
        let signed = SignedJustificationRequest {
            signature: sign(&responder, &request(&patient).signing_message()),
            request: request(&patient),
        };
        assert_eq!(
            authentic_justification_request(&signed, &SERVER),
            Err(Refusal::BadSignature)
        );
    }
}
