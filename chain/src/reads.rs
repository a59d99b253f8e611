//! Public reads of one patient at one block, as every off-chain reader needs them: its
//! consents, the provider directory with its names, and its audit trail read whole and
//! checked, every entry against the one before it (`verify_chain` of `contracts/shared`,
//! the contract's own rule) and the last against the on-chain head. The trail shows the
//! entries are the ones the log contract chained; that the node is honest about the head
//! is the node's word (read it from a node you run or trust).

use crate::{Block, Chain, Contracts, Error, Result};
use medconsent_shared::{verify_chain, AccountId, Consent, LogEntry, LogSeq, Provider, MAX_PAGE};

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
    let log = contracts.log();
    let head = chain
        .read(Some(at), &patient, &contracts.log, &log.head(patient))
        .await?;
    let mut entries: Vec<LogEntry> = Vec::new();
    loop {
        let start = u64::try_from(entries.len()).unwrap_or(u64::MAX);
        if start >= head.length {
            break;
        }
        let page = chain
            .read(
                Some(at),
                &patient,
                &contracts.log,
                &log.entries(patient, start, MAX_PAGE),
            )
            .await?;
        if page.is_empty() {
            break;
        }
        entries.extend(page);
    }
    check(&entries, head.length, head.last_hash)?;
    Ok(Trail {
        at,
        entries,
        head_hash: head.last_hash,
    })
}

/// The chain rule over `entries` (from seq 0), and their end against the head.
pub fn check(
    entries: &[LogEntry],
    length: u64,
    last_hash: [u8; 32],
) -> std::result::Result<(), TrailError> {
    let got = u64::try_from(entries.len()).unwrap_or(u64::MAX);
    if got != length {
        return Err(TrailError::Missing {
            got,
            expected: length,
        });
    }
    // Entry n must say it is entry n: a node cannot renumber the chain around a gap.
    if let Some((_, expected)) = entries
        .iter()
        .zip(0u64..)
        .find(|(entry, expected)| entry.seq != *expected)
    {
        return Err(TrailError::Broken(expected));
    }
    let end = verify_chain([0; 32], entries).map_err(TrailError::Broken)?;
    if end != last_hash {
        return Err(TrailError::HeadMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use medconsent_shared::{EntryKind, Purpose};

    /// A chain of `n` entries as the log contract builds it.
    fn chain_of(n: u64) -> Vec<LogEntry> {
        let mut previous = [0u8; 32];
        (0..n)
            .map(|seq| {
                let mut entry = LogEntry {
                    seq,
                    patient: AccountId::from([1; 32]),
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
    fn a_whole_chain_verifies_and_any_change_is_found() {
        let entries = chain_of(5);
        let head = entries[4].hash;
        check(&entries, 5, head).unwrap();
        assert!(check(&[], 0, [0; 32]).is_ok());

        let mut changed = entries.clone();
        changed[2].timestamp += 1;
        assert!(matches!(
            check(&changed, 5, head),
            Err(TrailError::Broken(2))
        ));
        assert!(matches!(
            check(&entries[..4], 5, head),
            Err(TrailError::Missing {
                got: 4,
                expected: 5
            })
        ));
        assert!(matches!(
            check(&entries, 5, [9; 32]),
            Err(TrailError::HeadMismatch)
        ));
        // An entry left out and the rest renumbered by the node still breaks the chain.
        let mut skipped: Vec<LogEntry> = entries.clone();
        skipped.remove(1);
        assert!(matches!(
            check(&skipped, 4, head),
            Err(TrailError::Broken(_))
        ));
    }
}
