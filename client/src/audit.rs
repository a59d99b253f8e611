//! A patient's audit trail read from the chain and checked: every entry against the one
//! before it (`verify_chain` of `contracts/shared`, the contract's own rule) and the last
//! against the on-chain head, all at one finalized block. It shows the entries are the
//! ones the log contract chained; that the node is honest about the head is the node's
//! word (read it from a node you run or trust).

use crate::words;
use medconsent_chain::{Chain, Contracts};
use medconsent_shared::{AccountId, EntryKind, LogEntry};

/// The verified trail as every reader reads it (`medconsent_chain::reads`): the
/// command's name for its error is the audit's.
pub use medconsent_chain::reads::{check, Trail, TrailError as AuditError};

/// Reads and verifies `patient`'s whole trail at the latest finalized block.
pub async fn verified_trail(
    chain: &Chain,
    contracts: Contracts,
    patient: AccountId,
) -> Result<Trail, AuditError> {
    let at = chain.finalized().await?;
    medconsent_chain::reads::verified_trail(chain, &contracts, at, patient).await
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
