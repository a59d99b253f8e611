//! The rules a key server applies before it keeps a deposited share: for this server,
//! signed by its depositor, unexpired, for the current version of an active record of
//! the patient it names with that content hash, and from one of the record's authors.

use super::{addressed_and_current, current, Policy, Refusal};
use crate::request::{Deposit, SignedDeposit};
use medconsent_shared::{Provider, ProviderStatus, Record, RecordStatus, Timestamp};

/// The same for a deposit: for this server, signed by the depositor it names, a share
/// index that exists.
pub fn authentic_deposit(signed: &SignedDeposit, server: &[u8; 32]) -> Result<(), Refusal> {
    if &signed.deposit.server != server {
        return Err(Refusal::WrongServer);
    }
    if !signed.is_signed_by_depositor() {
        return Err(Refusal::BadSignature);
    }
    if signed.deposit.index == 0 {
        return Err(Refusal::BadShare);
    }
    Ok(())
}

/// Who the depositor is to the record's patient at the finalized block; read only when
/// the depositor is not the patient.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DepositorStanding {
    /// A delegate of the patient in force.
    pub delegate: bool,
    /// The depositor in the provider directory, if it is a provider.
    pub provider: Option<Provider>,
}

/// Whether `server` may keep the share in `signed`: signed by one of the record's
/// authors, for this server, unexpired, and for the current version of an active record
/// of that patient with that content hash, as the finalized chain has it. (The server
/// then checks that the share opens under the deposit's context.)
pub fn decide_deposit(
    signed: &SignedDeposit,
    server: &[u8; 32],
    record: Option<&Record>,
    standing: &DepositorStanding,
    finalized_at: Timestamp,
    policy: &Policy,
) -> Result<(), Refusal> {
    let deposit = &signed.deposit;
    addressed_and_current(
        &deposit.server,
        deposit.expires_at,
        server,
        finalized_at,
        policy,
    )?;
    authentic_deposit(signed, server)?;
    deposit_rules(deposit, record, standing, finalized_at, policy)
}

/// The rules after [`authentic_deposit`]: current at chain time `finalized_at`, for the
/// current version of an active record of that patient with that content hash, from one
/// of its authors: the patient, a delegate in force, or the active provider who wrote
/// the current version (the chain checked its Append permit when it took the write). A
/// server that checked the deposit with [`authentic_deposit`] calls this, so the
/// signature is verified once.
pub fn deposit_rules(
    deposit: &Deposit,
    record: Option<&Record>,
    standing: &DepositorStanding,
    finalized_at: Timestamp,
    policy: &Policy,
) -> Result<(), Refusal> {
    current(deposit.expires_at, finalized_at, policy)?;
    let record = record.ok_or(Refusal::RecordNotFound)?;
    if record.id != deposit.record || record.patient != deposit.patient {
        return Err(Refusal::NotThePatient);
    }
    let author = deposit.depositor == record.patient
        || standing.delegate
        || (deposit.depositor == record.author
            && standing
                .provider
                .as_ref()
                .is_some_and(|p| p.status == ProviderStatus::Active));
    if !author {
        return Err(Refusal::NotAnAuthor);
    }
    if record.status == RecordStatus::Retired {
        return Err(Refusal::Retired);
    }
    if record.version != deposit.version {
        return Err(Refusal::WrongVersion);
    }
    if record.content_hash != deposit.content_hash {
        return Err(Refusal::ContentMismatch);
    }
    Ok(())
}

/// Whether a deposit may take the place of the share a server holds of the same
/// version (`held`: its index and opened bytes; `new`: the deposit's). The patient and a
/// delegate in force may replace it; the provider who wrote the version deposits once
/// (the same share again is kept, a lost answer retried), since a version's author keeps
/// its standing after its Append permit ends, and a second share of another key would
/// make the version unreadable for the patient.
pub fn may_replace(
    patient_or_delegate: bool,
    held: Option<(u8, &[u8])>,
    new: (u8, &[u8]),
) -> Result<(), Refusal> {
    match held {
        Some(held) if !patient_or_delegate && held != new => Err(Refusal::ShareHeld),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::tests::{account, deposit, keypair, sign_deposit};
    use medconsent_shared::Role;
    use schnorrkel::Keypair;

    const SERVER: [u8; 32] = [0x5e; 32];
    const POLICY: Policy = Policy {
        max_entry_age: 600_000,
        max_request_lifetime: 300_000,
    };
    const NOW: Timestamp = 900_000;

    fn deposit_record(deposit: &Deposit) -> Record {
        Record {
            id: deposit.record,
            patient: deposit.patient,
            author: deposit.patient,
            category: 3,
            content_hash: deposit.content_hash,
            locator: b"bafy".to_vec(),
            version: deposit.version,
            created_at: 0,
            updated_at: 0,
            status: RecordStatus::Active,
        }
    }

    #[test]
    fn a_provider_deposits_a_versions_share_once_and_the_patient_replaces_it() {
        let held: &[u8] = &[7; 33];
        let other: &[u8] = &[8; 33];
        // The first share, and the same one again (a retry), are kept from anyone.
        assert_eq!(may_replace(false, None, (1, other)), Ok(()));
        assert_eq!(may_replace(false, Some((1, held)), (1, held)), Ok(()));
        // Another share, or the same bytes under another index, only from the patient's side.
        assert_eq!(
            may_replace(false, Some((1, held)), (1, other)),
            Err(Refusal::ShareHeld)
        );
        assert_eq!(
            may_replace(false, Some((1, held)), (2, held)),
            Err(Refusal::ShareHeld)
        );
        assert_eq!(may_replace(true, Some((1, held)), (2, other)), Ok(()));
    }

    #[test]
    fn a_deposit_is_kept_only_for_the_current_version_of_the_patients_active_record() {
        let patient = keypair(3);
        let signed = sign_deposit(&patient, deposit(&patient));
        let record = deposit_record(&signed.deposit);
        let kept = |signed: &SignedDeposit, record: Option<&Record>| {
            decide_deposit(
                signed,
                &SERVER,
                record,
                &DepositorStanding::default(),
                NOW,
                &POLICY,
            )
        };
        assert_eq!(kept(&signed, Some(&record)), Ok(()));
        // Signed by someone else in the patient's name.
        let forged = sign_deposit(&keypair(4), signed.deposit.clone());
        assert_eq!(kept(&forged, Some(&record)), Err(Refusal::BadSignature));
        // Another patient's record: a stranger cannot plant shares for records not theirs.
        let stranger = keypair(4);
        let planted = sign_deposit(&stranger, deposit(&stranger));
        assert_eq!(kept(&planted, Some(&record)), Err(Refusal::NotThePatient));
        assert_eq!(kept(&signed, None), Err(Refusal::RecordNotFound));
        let retired = Record {
            status: RecordStatus::Retired,
            ..record.clone()
        };
        assert_eq!(kept(&signed, Some(&retired)), Err(Refusal::Retired));
        let amended = Record {
            version: 3,
            ..record.clone()
        };
        assert_eq!(kept(&signed, Some(&amended)), Err(Refusal::WrongVersion));
        let swapped = Record {
            content_hash: [1; 32],
            ..record.clone()
        };
        assert_eq!(kept(&signed, Some(&swapped)), Err(Refusal::ContentMismatch));
        let elsewhere = Deposit {
            server: [1; 32],
            ..signed.deposit.clone()
        };
        assert_eq!(
            kept(&sign_deposit(&patient, elsewhere), Some(&record)),
            Err(Refusal::WrongServer)
        );
        let stale = Deposit {
            expires_at: NOW,
            ..signed.deposit.clone()
        };
        assert_eq!(
            kept(&sign_deposit(&patient, stale), Some(&record)),
            Err(Refusal::Expired)
        );
        let zero = Deposit {
            index: 0,
            ..signed.deposit.clone()
        };
        assert_eq!(
            kept(&sign_deposit(&patient, zero), Some(&record)),
            Err(Refusal::BadShare)
        );
    }

    #[test]
    fn a_deposit_is_kept_only_from_an_author_of_the_record() {
        let (patient, doctor) = (keypair(3), keypair(5));
        let from = |depositor: &Keypair| {
            let mut deposit = deposit(&patient);
            deposit.depositor = account(depositor);
            sign_deposit(depositor, deposit)
        };
        let written_by_doctor = Record {
            author: account(&doctor),
            ..deposit_record(&deposit(&patient))
        };
        let provider = |status| Provider {
            roles: medconsent_shared::RoleSet::from([Role::Clinician]),
            status,
            public_key: [7; 32],
            registered_at: 0,
        };
        let kept = |signed: &SignedDeposit, standing: DepositorStanding| {
            decide_deposit(
                signed,
                &SERVER,
                Some(&written_by_doctor),
                &standing,
                NOW,
                &POLICY,
            )
        };
        let active = DepositorStanding {
            delegate: false,
            provider: Some(provider(ProviderStatus::Active)),
        };
        // The patient, whoever wrote the version; the active provider who wrote it.
        assert_eq!(kept(&from(&patient), DepositorStanding::default()), Ok(()));
        assert_eq!(kept(&from(&doctor), active.clone()), Ok(()));
        // The author once suspended, or no provider at all: refused.
        let suspended = DepositorStanding {
            delegate: false,
            provider: Some(provider(ProviderStatus::Suspended)),
        };
        assert_eq!(kept(&from(&doctor), suspended), Err(Refusal::NotAnAuthor));
        assert_eq!(
            kept(&from(&doctor), DepositorStanding::default()),
            Err(Refusal::NotAnAuthor)
        );
        // An active provider who did not write this version: refused; a delegate in
        // force: kept.
        let other = keypair(6);
        assert_eq!(kept(&from(&other), active), Err(Refusal::NotAnAuthor));
        let delegate = DepositorStanding {
            delegate: true,
            provider: None,
        };
        assert_eq!(kept(&from(&other), delegate), Ok(()));
        // Signed by another than the depositor it names.
        let mut forged = from(&doctor);
        forged.deposit.depositor = account(&other);
        assert_eq!(
            kept(&forged, DepositorStanding::default()),
            Err(Refusal::BadSignature)
        );
    }
}
