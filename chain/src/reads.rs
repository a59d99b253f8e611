//! Public reads of one patient at one block, as every off-chain reader needs them: its
//! consents, the provider directory with its names, and its audit trail read whole and
//! checked, every entry against the one before it (`verify_chain` of `contracts/shared`,
//! the contract's own rule) and the last against the on-chain head. The trail shows the
//! entries are the ones the log contract chained; that the node is honest about the head
//! is the node's word (read it from a node you run or trust).

use crate::{Block, Chain, Contracts, Error, Result};
use medconsent_shared::{
    verify_chain, AccountId, ChainHead, Consent, LogEntry, LogSeq, Provider, MAX_PAGE,
};

/// How many consents one query lists (the contract's page size bounds it too).
const PAGE: u32 = 32;

/// Every consent of `patient` at `at`, revoked ones included, oldest first.
pub async fn consents(
    chain: &Chain,
    contracts: &Contracts,
    at: Block,
    patient: AccountId,
) -> Result<Vec<Consent>> {
    let builder = contracts.consents();
    let count = chain
        .read(
            Some(at),
            &patient,
            &contracts.consents,
            &builder.consent_count(patient),
        )
        .await?;
    let mut all: Vec<Consent> = Vec::new();
    while (all.len() as u64) < count {
        let start = all.len() as u64;
        let page = chain
            .read(
                Some(at),
                &patient,
                &contracts.consents,
                &builder.consents_of(patient, start, PAGE),
            )
            .await?;
        if page.is_empty() {
            return Err(Error::Garbled(format!(
                "{count} consents counted, none listed from {start}"
            )));
        }
        all.extend(page);
    }
    Ok(all)
}

/// Every provider and key server at `at`, in registration order, with its display
/// name. A node that answers full pages forever is refused, not followed.
pub async fn directory(
    chain: &Chain,
    contracts: &Contracts,
    at: Block,
) -> Result<Vec<(AccountId, Provider, Option<String>)>> {
    let builder = contracts.consents();
    let mut all = Vec::new();
    let mut start = 0u32;
    loop {
        let page = chain
            .read(
                Some(at),
                &AccountId::from([0; 32]),
                &contracts.consents,
                &builder.providers(start, MAX_PAGE),
            )
            .await?;
        let got = u32::try_from(page.len()).unwrap_or(u32::MAX);
        if got > MAX_PAGE {
            return Err(Error::Garbled(format!(
                "{got} directory entries for a page of {MAX_PAGE}"
            )));
        }
        all.extend(page);
        if got < MAX_PAGE {
            return Ok(all);
        }
        // A node that answers full pages forever ends here, not in a loop.
        start = start
            .checked_add(MAX_PAGE)
            .ok_or_else(|| Error::Garbled("a directory without an end".into()))?;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TrailError {
    #[error("{0}")]
    Chain(#[from] Error),
    #[error("the hash chain is broken at entry {0}")]
    Broken(LogSeq),
    #[error("the node returned {got} entries, the head says {expected}")]
    Missing { got: u64, expected: u64 },
    #[error("the recomputed chain does not end at the on-chain head")]
    HeadMismatch,
    #[error("entry {0} is another patient's")]
    OtherPatient(LogSeq),
}

/// A verified trail: every entry, oldest first, and the block it was read at.
#[derive(Debug)]
pub struct Trail {
    pub at: Block,
    pub entries: Vec<LogEntry>,
    pub head_hash: [u8; 32],
}

/// Reads and verifies `patient`'s whole trail at `at`.
pub async fn verified_trail(
    chain: &Chain,
    contracts: &Contracts,
    at: Block,
    patient: AccountId,
) -> std::result::Result<Trail, TrailError> {
    let head = trail_head(chain, contracts, at, patient).await?;
    let entries = entries_between(chain, contracts, at, patient, 0, head.length).await?;
    check(patient, &entries, head.length, head.last_hash)?;
    Ok(Trail {
        at,
        entries,
        head_hash: head.last_hash,
    })
}

/// Brings `trail`, a verified trail of `patient` read at an earlier block, up to `at`,
/// reading only what follows it: the log only appends, so the entries after it must
/// chain on from its last hash to the head at `at`. A trail that the head at `at` does
/// not extend (shorter head, another hash) is read again whole. `trail` changes only on
/// success.
pub async fn extend_trail(
    chain: &Chain,
    contracts: &Contracts,
    at: Block,
    patient: AccountId,
    trail: &mut Trail,
) -> std::result::Result<(), TrailError> {
    let head = trail_head(chain, contracts, at, patient).await?;
    let known = u64::try_from(trail.entries.len()).unwrap_or(u64::MAX);
    if known == head.length && trail.head_hash == head.last_hash {
        trail.at = at;
        return Ok(());
    }
    if known < head.length {
        let fresh = entries_between(chain, contracts, at, patient, known, head.length).await?;
        if check_from(
            patient,
            known,
            trail.head_hash,
            &fresh,
            head.length,
            head.last_hash,
        )
        .is_ok()
        {
            trail.entries.extend(fresh);
            trail.at = at;
            trail.head_hash = head.last_hash;
            return Ok(());
        }
    }
    *trail = verified_trail(chain, contracts, at, patient).await?;
    Ok(())
}

async fn trail_head(
    chain: &Chain,
    contracts: &Contracts,
    at: Block,
    patient: AccountId,
) -> Result<ChainHead> {
    chain
        .read(
            Some(at),
            &patient,
            &contracts.log,
            &contracts.log().head(patient),
        )
        .await
}

/// Entries `start..end` of `patient`'s trail at `at`, as the node gives them (checked by
/// the caller); a node that stops short gives fewer.
async fn entries_between(
    chain: &Chain,
    contracts: &Contracts,
    at: Block,
    patient: AccountId,
    start: u64,
    end: u64,
) -> Result<Vec<LogEntry>> {
    let log = contracts.log();
    let mut entries: Vec<LogEntry> = Vec::new();
    loop {
        let next = start.saturating_add(u64::try_from(entries.len()).unwrap_or(u64::MAX));
        if next >= end {
            return Ok(entries);
        }
        let page = chain
            .read(
                Some(at),
                &patient,
                &contracts.log,
                &log.entries(patient, next, MAX_PAGE),
            )
            .await?;
        if page.is_empty() {
            return Ok(entries);
        }
        entries.extend(page);
    }
}

/// The chain rule over `patient`'s `entries` (from seq 0), and their end against the head.
pub fn check(
    patient: AccountId,
    entries: &[LogEntry],
    length: u64,
    last_hash: [u8; 32],
) -> std::result::Result<(), TrailError> {
    check_from(patient, 0, [0; 32], entries, length, last_hash)
}

/// The chain rule over `patient`'s `entries`, which follow `first` entries ending in
/// hash `previous`, and their end against a head of `length` entries ending in
/// `last_hash`. Every entry must name `patient`: a node cannot pass off another
/// patient's genuine chain as this one's.
fn check_from(
    patient: AccountId,
    first: u64,
    previous: [u8; 32],
    entries: &[LogEntry],
    length: u64,
    last_hash: [u8; 32],
) -> std::result::Result<(), TrailError> {
    let got = first.saturating_add(u64::try_from(entries.len()).unwrap_or(u64::MAX));
    if got != length {
        return Err(TrailError::Missing {
            got,
            expected: length,
        });
    }
    // Entry n must say it is entry n: a node cannot renumber the chain around a gap.
    if let Some((_, expected)) = entries
        .iter()
        .zip(first..)
        .find(|(entry, expected)| entry.seq != *expected)
    {
        return Err(TrailError::Broken(expected));
    }
    if let Some(other) = entries.iter().find(|entry| entry.patient != patient) {
        return Err(TrailError::OtherPatient(other.seq));
    }
    let end = verify_chain(previous, entries).map_err(TrailError::Broken)?;
    if end != last_hash {
        return Err(TrailError::HeadMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use medconsent_shared::{EntryKind, Purpose};

    const PATIENT_BYTES: [u8; 32] = [1; 32];

    /// A chain of `n` entries as the log contract builds it.
    fn chain_of(n: u64) -> Vec<LogEntry> {
        let mut previous = [0u8; 32];
        (0..n)
            .map(|seq| {
                let mut entry = LogEntry {
                    seq,
                    patient: AccountId::from(PATIENT_BYTES),
                    actor: AccountId::from([2; 32]),
                    record: Some(seq),
                    kind: EntryKind::Access,
                    purpose: Some(Purpose::Treat),
                    consent: None,
                    timestamp: 1_000 + seq,
                    block: 7,
                    hash: [0; 32],
                };
                entry.hash = entry.chain_hash(&previous);
                previous = entry.hash;
                entry
            })
            .collect()
    }

    #[test]
    fn another_patients_genuine_chain_is_refused() {
        let entries = chain_of(3);
        let head = entries[2].hash;
        let other = AccountId::from([7; 32]);
        assert!(matches!(
            check(other, &entries, 3, head),
            Err(TrailError::OtherPatient(0))
        ));
        assert!(matches!(
            check_from(other, 1, entries[0].hash, &entries[1..], 3, head),
            Err(TrailError::OtherPatient(1))
        ));
    }

    #[test]
    fn a_suffix_verifies_from_the_hash_before_it_and_only_from_it() {
        let entries = chain_of(6);
        let head = entries[5].hash;
        check_from(
            AccountId::from(PATIENT_BYTES),
            4,
            entries[3].hash,
            &entries[4..],
            6,
            head,
        )
        .unwrap();
        check_from(AccountId::from(PATIENT_BYTES), 6, head, &[], 6, head).unwrap();
        // Another start hash, a suffix that skips an entry, or one cut short: refused.
        assert!(matches!(
            check_from(
                AccountId::from(PATIENT_BYTES),
                4,
                entries[2].hash,
                &entries[4..],
                6,
                head
            ),
            Err(TrailError::Broken(4))
        ));
        assert!(matches!(
            check_from(
                AccountId::from(PATIENT_BYTES),
                3,
                entries[3].hash,
                &entries[4..],
                6,
                head
            ),
            Err(TrailError::Missing {
                got: 5,
                expected: 6
            })
        ));
        assert!(matches!(
            check_from(
                AccountId::from(PATIENT_BYTES),
                4,
                entries[3].hash,
                &entries[4..5],
                6,
                head
            ),
            Err(TrailError::Missing {
                got: 5,
                expected: 6
            })
        ));
    }

    #[test]
    fn a_whole_chain_verifies_and_any_change_is_found() {
        let entries = chain_of(5);
        let head = entries[4].hash;
        check(AccountId::from(PATIENT_BYTES), &entries, 5, head).unwrap();
        assert!(check(AccountId::from(PATIENT_BYTES), &[], 0, [0; 32]).is_ok());

        let mut changed = entries.clone();
        changed[2].timestamp += 1;
        assert!(matches!(
            check(AccountId::from(PATIENT_BYTES), &changed, 5, head),
            Err(TrailError::Broken(2))
        ));
        assert!(matches!(
            check(AccountId::from(PATIENT_BYTES), &entries[..4], 5, head),
            Err(TrailError::Missing {
                got: 4,
                expected: 5
            })
        ));
        assert!(matches!(
            check(AccountId::from(PATIENT_BYTES), &entries, 5, [9; 32]),
            Err(TrailError::HeadMismatch)
        ));
        // An entry left out and the rest renumbered by the node still breaks the chain.
        let mut skipped: Vec<LogEntry> = entries.clone();
        skipped.remove(1);
        assert!(matches!(
            check(AccountId::from(PATIENT_BYTES), &skipped, 4, head),
            Err(TrailError::Broken(_))
        ));
    }
}
