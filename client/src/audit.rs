//! A patient's audit trail read from the chain and checked: every entry against the one
//! before it (`verify_chain` of `contracts/shared`, the contract's own rule) and the last
//! against the on-chain head, all at one finalized block. It shows the entries are the
//! ones the log contract chained; that the node is honest about the head is the node's
//! word (read it from a node you run or trust).

use crate::words;
use medconsent_chain::{Block, Chain, Contracts};
use medconsent_shared::{verify_chain, AccountId, EntryKind, LogEntry, LogSeq, MAX_PAGE};

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("{0}")]
    Chain(#[from] medconsent_chain::Error),
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

/// Reads and verifies `patient`'s whole trail at the latest finalized block.
pub async fn verified_trail(
    chain: &Chain,
    contracts: Contracts,
    patient: AccountId,
) -> Result<Trail, AuditError> {
    let at = chain.finalized().await?;
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
pub fn check(entries: &[LogEntry], length: u64, last_hash: [u8; 32]) -> Result<(), AuditError> {
    let got = u64::try_from(entries.len()).unwrap_or(u64::MAX);
    if got != length {
        return Err(AuditError::Missing {
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
        return Err(AuditError::Broken(expected));
    }
    let end = verify_chain([0; 32], entries).map_err(AuditError::Broken)?;
    if end != last_hash {
        return Err(AuditError::HeadMismatch);
    }
    Ok(())
}

/// An entry's kind in words (`access`, `denied: no consent of the patient's permits
/// it`, `break-glass`, ...).
pub fn kind_words(kind: &EntryKind) -> String {
    match kind {
        EntryKind::Access => "access".to_owned(),
        EntryKind::Denied(reason) => format!("denied: {}", words::describe_deny_reason(*reason)),
        EntryKind::Emergency { justification } => {
            format!(
                "break-glass (justification 0x{})",
                hex::encode(justification)
            )
        }
        EntryKind::Review {
            emergency_seq,
            justified,
        } => format!(
            "review of break-glass #{emergency_seq}: {}",
            if *justified {
                "justified"
            } else {
                "unjustified"
            }
        ),
        EntryKind::RecordCreated => "record created".to_owned(),
        EntryKind::RecordAmended => "record amended".to_owned(),
        EntryKind::RecordRetired => "record retired".to_owned(),
        EntryKind::ConsentGranted => "consent granted".to_owned(),
        EntryKind::ConsentRevoked => "consent revoked".to_owned(),
        EntryKind::EmergencyOptOut { opted_out } => if *opted_out {
            "break-glass refused by the patient"
        } else {
            "break-glass allowed again by the patient"
        }
        .to_owned(),
    }
}

/// One line: `#SEQ DATE actor ACCOUNT: KIND, record N, for PURPOSE, under consent C`.
pub fn describe(entry: &LogEntry, names: &words::Names) -> String {
    let mut line = format!(
        "#{} {} {}: {}",
        entry.seq,
        words::describe_time(entry.timestamp),
        names.show(&entry.actor),
        kind_words(&entry.kind)
    );
    if let Some(record) = entry.record {
        line.push_str(&format!(", record {record}"));
    }
    if let Some(purpose) = entry.purpose {
        line.push_str(&format!(", for {}", words::purpose_code(purpose)));
    }
    if let Some(consent) = entry.consent {
        line.push_str(&format!(", under consent {consent}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use medconsent_shared::Purpose;

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
            Err(AuditError::Broken(2))
        ));
        assert!(matches!(
            check(&entries[..4], 5, head),
            Err(AuditError::Missing {
                got: 4,
                expected: 5
            })
        ));
        assert!(matches!(
            check(&entries, 5, [9; 32]),
            Err(AuditError::HeadMismatch)
        ));
        // An entry left out and the rest renumbered by the node still breaks the chain.
        let mut skipped: Vec<LogEntry> = entries.clone();
        skipped.remove(1);
        assert!(matches!(
            check(&skipped, 4, head),
            Err(AuditError::Broken(_))
        ));
    }
}
