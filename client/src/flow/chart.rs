//! The clinician's chart: which of a patient's records its consents cover (a free check,
//! nothing logged), and opening several at once with one `access_chart`, one finality
//! wait, and the key shares of every record asked for in parallel.

use super::{not_included, FlowError, Opened, Result, Session};
use crate::servers::KeyServer;
use crate::store::LocalStore;
use medconsent_chain::{account_of, Block, Signer};
use medconsent_shared::{
    AccessOutcome, AccountId, ChartRequest, ConsentCheck, EntryKind, LogEntry, Purpose, Record,
    RecordId, RecordStatus, Verdict, MAX_CHART_RECORDS, MAX_PAGE,
};
use std::path::{Path, PathBuf};
use x25519_dalek::StaticSecret;

/// One record of a patient and what the consent manager would decide for the reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Covered {
    pub record: Record,
    pub verdict: Verdict,
}

/// What opening one record of a chart came to.
#[derive(Debug)]
pub struct ChartRecord {
    pub record: RecordId,
    pub outcome: Result<Opened>,
}

/// Which records of which patient a chart opens, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartAsk {
    pub patient: AccountId,
    pub records: Vec<RecordId>,
    pub purpose: Purpose,
}

/// Where a chart's record `id` is written inside the chart folder.
pub fn chart_file(folder: &Path, id: RecordId) -> PathBuf {
    folder.join(format!("record-{id}"))
}

impl Session {
    /// Every active record of `patient` with the decision the consent manager gives
    /// `reader` for `purpose`, read at the finalized block by dry runs: nothing is
    /// submitted or logged, and a record shown as permitted may still be refused when
    /// read (a consent can change in between).
    pub async fn covered_records(
        &self,
        reader: &AccountId,
        patient: AccountId,
        purpose: Purpose,
    ) -> Result<Vec<Covered>> {
        let at = self.chain.finalized().await?;
        let records = self.records_of(at, reader, patient).await?;
        let mut covered = Vec::with_capacity(records.len());
        for batch in records.chunks(MAX_CHART_RECORDS) {
            let request = ChartRequest {
                patient,
                accessor: *reader,
                purpose,
                records: batch.iter().map(|r| (r.id, r.category)).collect(),
            };
            let message = self.contracts().consents().check_chart(request);
            let verdicts = self
                .chain
                .read(Some(at), reader, &self.contracts().consents, &message)
                .await?;
            if verdicts.len() != batch.len() {
                return Err(FlowError::Garbled(format!(
                    "{} decisions for {} records",
                    verdicts.len(),
                    batch.len()
                )));
            }
            covered.extend(batch.iter().zip(verdicts).map(|(record, verdict)| Covered {
                record: record.clone(),
                verdict,
            }));
        }
        Ok(covered)
    }

    /// The active records of `patient` at `at`, oldest first.
    pub async fn records_of(
        &self,
        at: Block,
        caller: &AccountId,
        patient: AccountId,
    ) -> Result<Vec<Record>> {
        let registry = self.contracts().registry();
        let count = self
            .chain
            .read(
                Some(at),
                caller,
                &self.contracts().registry,
                &registry.counts(patient),
            )
            .await?
            .records;
        let mut all = Vec::new();
        let mut start = 0u64;
        while start < count {
            let page = self
                .chain
                .read(
                    Some(at),
                    caller,
                    &self.contracts().registry,
                    &registry.records_of(patient, start, MAX_PAGE),
                )
                .await?;
            if page.is_empty() {
                return Err(FlowError::Garbled(format!(
                    "the registry counts {count} records but lists none from {start}"
                )));
            }
            start = start.saturating_add(page.len() as u64);
            all.extend(
                page.into_iter()
                    .filter(|r| r.status == RecordStatus::Active),
            );
        }
        Ok(all)
    }

    /// Opens the records `ask` names with one on-chain chart access (every record
    /// logged, allowed or denied) and one finality wait, then asks the key servers for
    /// all of them at once; each record is written to [`chart_file`] in `folder`. Denied
    /// records come back as [`FlowError::Denied`]; the others as they opened.
    pub async fn open_chart(
        &self,
        reader: &Signer,
        reader_secret: &StaticSecret,
        ask: &ChartAsk,
        store: &LocalStore,
        folder: &Path,
    ) -> Result<Vec<ChartRecord>> {
        let servers = self.key_servers().await?;
        let entries = self.chart_access(reader, ask).await?;
        Ok(self
            .open_chart_entries(reader, reader_secret, &servers, &entries, store, folder)
            .await)
    }

    /// The chart access alone: `access_chart` submitted and finalized, and the reader's
    /// log entry for each record in `ask` order (a denial as [`FlowError::Denied`]).
    pub async fn chart_access(
        &self,
        reader: &Signer,
        ask: &ChartAsk,
    ) -> Result<Vec<(RecordId, Result<LogEntry>)>> {
        let (patient, records, purpose) = (ask.patient, &ask.records[..], ask.purpose);
        let me = account_of(reader);
        self.say(&format!(
            "accessing {} records on chain and waiting for finality",
            records.len()
        ));
        let mut registry = self.contracts().registry();
        let access = registry.access_chart(patient, records.to_vec(), purpose);
        let (predicted, included) = self
            .chain
            .submit(reader, &self.contracts().registry, &access)
            .await?;
        let (outcomes, included) = match (predicted, included) {
            (Ok(outcomes), Some(included)) => (outcomes, included),
            (result, _) => return Err(not_included(result)),
        };
        if outcomes.len() != records.len() {
            return Err(FlowError::Garbled(format!(
                "{} outcomes for {} records",
                outcomes.len(),
                records.len()
            )));
        }
        let entries = self
            .my_entries_in(included.block, &patient, &me, records.len())
            .await?;
        let mut rows = Vec::with_capacity(records.len());
        for (&id, outcome) in records.iter().zip(&outcomes) {
            let entry = entries.iter().rev().find(|e| e.record == Some(id)).copied();
            let row = match entry {
                None => Err(FlowError::NoEntry),
                Some(entry) => match entry.kind {
                    EntryKind::Access => Ok(entry),
                    EntryKind::Denied(reason) => Err(FlowError::Denied(reason)),
                    other => Err(FlowError::UnexpectedEntry(other)),
                },
            };
            // The chain's outcome and the log must agree on whether it was released.
            if matches!(outcome, AccessOutcome::Released(_)) != row.is_ok() {
                self.warn(&format!(
                    "record {id}: the access's outcome and its log entry disagree"
                ));
            }
            rows.push((id, row));
        }
        Ok(rows)
    }

    /// Asks the key servers for every released record of a chart access at once and
    /// writes each to [`chart_file`] in `folder`.
    pub async fn open_chart_entries(
        &self,
        reader: &Signer,
        reader_secret: &StaticSecret,
        servers: &[KeyServer],
        entries: &[(RecordId, Result<LogEntry>)],
        store: &LocalStore,
        folder: &Path,
    ) -> Vec<ChartRecord> {
        self.say(&format!(
            "asking the key servers for {} records",
            entries.len()
        ));
        let opens = entries.iter().map(|(id, entry)| async move {
            let outcome = match entry {
                Ok(entry) => {
                    let out = chart_file(folder, *id);
                    self.open_with_entry(reader, reader_secret, servers, entry, store, &out)
                        .await
                }
                Err(FlowError::Denied(reason)) => Err(FlowError::Denied(*reason)),
                Err(FlowError::UnexpectedEntry(kind)) => Err(FlowError::UnexpectedEntry(*kind)),
                Err(_) => Err(FlowError::NoEntry),
            };
            ChartRecord {
                record: *id,
                outcome,
            }
        });
        futures::future::join_all(opens).await
    }

    /// The entries `actor` made in block `at` of `patient`'s log: the newest `count` of
    /// them at most, oldest first, read back from the head a page at a time.
    async fn my_entries_in(
        &self,
        at: Block,
        patient: &AccountId,
        actor: &AccountId,
        count: usize,
    ) -> Result<Vec<LogEntry>> {
        let log = self.contracts().log();
        let head = self
            .chain
            .read(Some(at), actor, &self.contracts().log, &log.head(*patient))
            .await?;
        let mut found = Vec::new();
        let mut end = head.length;
        while end > 0 && found.len() < count {
            let start = end.saturating_sub(u64::from(MAX_PAGE));
            let limit = u32::try_from(end.saturating_sub(start)).unwrap_or(MAX_PAGE);
            let page = self
                .chain
                .read(
                    Some(at),
                    actor,
                    &self.contracts().log,
                    &log.entries(*patient, start, limit),
                )
                .await?;
            found.extend(
                page.iter()
                    .rev()
                    .filter(|e| &e.actor == actor && e.block == at.number)
                    .copied(),
            );
            if page.first().is_none_or(|e| e.block < at.number) {
                break;
            }
            end = start;
        }
        found.truncate(count);
        found.reverse();
        Ok(found)
    }
}
