//! Access log: an append-only, per-patient hash chain of every access, denial and
//! consent change. Only the registry and the consent manager the admin names may append.
#![cfg_attr(not(feature = "std"), no_std, no_main)]
// Constructors read the caller, so a `Default` would be a second, wrong constructor.
#![allow(clippy::new_without_default)]

#[medconsent_admin_messages::admin_messages(
    AccessLog,
    writers,
    registry,
    consent_manager,
    "(registry, consent manager): the only contracts that may append."
)]
#[ink::contract]
pub mod access_log {
    use ink::prelude::vec::Vec;
    use ink::primitives::KeyComposer;
    use ink::storage::traits::ManualKey;
    use ink::storage::{Lazy, Mapping};
    use medconsent_shared::{
        page_range, split, Admin, AdminChange, AuditLog, ChainHead, ChartEntries, EntryKind,
        LogEntry, LogSeq, NewEntry, ScheduledChange,
    };

    pub use medconsent_shared::LogError as Error;
    pub type Result<T> = core::result::Result<T, Error>;

    /// The two maps appends write, under keys named here (the xxh32 of "AccessLog::heads"
    /// and "AccessLog::entries", as ink! derives field keys), so that `append` and
    /// `append_chart` can be `&self` and open their own handles: ink! then does not write
    /// the unchanged root back, one storage write less on every access, grant and
    /// revocation.
    type Heads =
        Mapping<AccountId, ChainHead, ManualKey<{ KeyComposer::from_str("AccessLog::heads") }>>;
    type Entries = Mapping<
        (AccountId, LogSeq),
        LogEntry,
        ManualKey<{ KeyComposer::from_str("AccessLog::entries") }>,
    >;

    #[ink(storage)]
    pub struct AccessLog {
        admin: Admin,
        /// May append record and access entries.
        registry: Option<AccountId>,
        /// May append consent-change entries.
        consent_manager: Option<AccountId>,
        heads: Heads,
        entries: Entries,
        /// The announced writer or code change, if any.
        scheduled: Lazy<Option<ScheduledChange>>,
        /// The code every message but `append` and `append_chart` runs in (see
        /// `medconsent_shared::split`).
        full_code: Hash,
    }

    /// A patient's chain grew (by one entry, or by a chart's entries): an indexer follows
    /// a patient's trail by this one topic and reads the new entries from `entries`. It
    /// repeats nothing an entry stores; anonymous, as the log's only one-topic event.
    #[ink(event, anonymous)]
    pub struct EntryAppended {
        #[ink(topic)]
        patient: AccountId,
    }

    impl AccessLog {
        /// The deployer becomes the admin. `change_delay` (ms) is how long every later
        /// writer or code change waits after its announcement; it never changes.
        /// `full_code`: the uploaded `access_log_full` code (locked while in use).
        #[ink(constructor)]
        pub fn new(change_delay: Timestamp, full_code: Hash) -> Self {
            // The off-chain test engine has no delegate dependencies.
            #[cfg(not(feature = "std"))]
            split::lock_full_code(&full_code);
            Self {
                admin: Admin::new(Self::env().caller(), change_delay),
                registry: None,
                consent_manager: None,
                heads: Mapping::default(),
                entries: Mapping::default(),
                scheduled: Lazy::default(),
                full_code,
            }
        }

        /// Length and last hash of a patient's chain.
        #[ink(message)]
        pub fn head(&self, patient: AccountId) -> ChainHead {
            self.off_path();
            self.heads.get(patient).unwrap_or_default()
        }

        /// Entries `start..start+limit` of a patient's chain (limit capped at MAX_PAGE).
        #[ink(message)]
        pub fn entries(&self, patient: AccountId, start: LogSeq, limit: u32) -> Vec<LogEntry> {
            self.off_path();
            let length = self.head(patient).length;
            self.page(&patient, page_range(start, length, limit))
        }

        /// Accounting of disclosures: the patient's entries with `from <= timestamp <
        /// until`, skipping the first `start` of them, at most `limit` (capped). The
        /// range is found by binary search over the chain, so the cost grows with the
        /// log of its length, never with a scan.
        #[ink(message)]
        pub fn disclosures(
            &self,
            patient: AccountId,
            from: Timestamp,
            until: Timestamp,
            start: u64,
            limit: u32,
        ) -> Result<Vec<LogEntry>> {
            self.off_path();
            if from > until {
                return Err(Error::InvalidRange);
            }
            let length = self.head(patient).length;
            let first = self.first_at_or_after(&patient, from, length);
            let end = self.first_at_or_after(&patient, until, length);
            Ok(self.page(
                &patient,
                page_range(first.saturating_add(start), end, limit),
            ))
        }

        /// In the front build, ends the call in the full code; in the full build and the
        /// unit tests (which run every body here), does nothing.
        #[inline(always)]
        fn off_path(&self) {
            #[cfg(not(any(feature = "std", full_code)))]
            split::run_in_full_code(self.full_code);
        }

        /// The log has no pause: pausing it would block revocations, which must always
        /// go through. Registry writes records and accesses, the consent manager consent
        /// changes;
        /// anyone else, or a writer outside its lane, is refused.
        fn ensure_writer(&self, caller: &AccountId, kind: &EntryKind) -> Result<()> {
            let writer = if kind.is_consent_change() {
                self.consent_manager
            } else {
                self.registry
            };
            if writer == Some(*caller) {
                Ok(())
            } else {
                Err(Error::NotWriter)
            }
        }

        /// Stores `entry` as the next link after `head` and moves `head` past it.
        fn link(&self, head: &mut ChainHead, entry: NewEntry) -> Result<LogSeq> {
            let seq = head.length;
            let length = seq.checked_add(1).ok_or(Error::ChainFull)?;
            let mut stored = LogEntry {
                seq,
                patient: entry.patient,
                actor: entry.actor,
                record: entry.record,
                kind: entry.kind,
                purpose: entry.purpose,
                consent: entry.consent,
                timestamp: self.env().block_timestamp(),
                block: self.env().block_number(),
                hash: [0; 32],
            };
            stored.hash = stored.chain_hash(&head.last_hash);
            Entries::new().insert((entry.patient, seq), &stored);
            *head = ChainHead {
                length,
                last_hash: stored.hash,
            };
            Ok(seq)
        }

        /// Stores the patient's new head and tells indexers.
        fn close(&self, patient: &AccountId, head: &ChainHead) {
            Heads::new().insert(patient, head);
            self.env().emit_event(EntryAppended { patient: *patient });
        }

        fn page(&self, patient: &AccountId, seqs: core::ops::Range<LogSeq>) -> Vec<LogEntry> {
            seqs.filter_map(|seq| self.entries.get((*patient, seq)))
                .collect()
        }

        /// Lower bound: the first seq whose timestamp is `>= at` (block timestamps never
        /// decrease, so each chain is sorted by time).
        fn first_at_or_after(&self, patient: &AccountId, at: Timestamp, length: LogSeq) -> LogSeq {
            let (mut low, mut high) = (0, length);
            while low < high {
                let mid = low.saturating_add(high.saturating_sub(low) / 2);
                let before = self
                    .entries
                    .get((*patient, mid))
                    .is_some_and(|entry| entry.timestamp < at);
                if before {
                    low = mid.saturating_add(1);
                } else {
                    high = mid;
                }
            }
            low
        }
    }

    impl AuditLog for AccessLog {
        /// Writers only. Links the entry to the patient's chain and returns its seq.
        #[ink(message)]
        fn append(&self, entry: NewEntry) -> Result<LogSeq> {
            self.ensure_writer(&self.env().caller(), &entry.kind)?;
            let mut head = self.heads.get(entry.patient).unwrap_or_default();
            let seq = self.link(&mut head, entry)?;
            self.close(&entry.patient, &head);
            Ok(seq)
        }

        /// The registry only: a chart's entries, in order, as consecutive entries of the
        /// patient's chain. Returns the first one's seq.
        #[ink(message)]
        fn append_chart(&self, chart: ChartEntries) -> Result<LogSeq> {
            let caller = self.env().caller();
            // An empty chart would still write the head and emit an event: refused.
            if chart.items.is_empty() {
                return Err(Error::EmptyChart);
            }
            for (_, kind, _) in &chart.items {
                self.ensure_writer(&caller, kind)?;
            }
            let mut head = self.heads.get(chart.patient).unwrap_or_default();
            let first = head.length;
            for (record, kind, consent) in chart.items {
                let entry = NewEntry {
                    patient: chart.patient,
                    actor: chart.actor,
                    record: Some(record),
                    kind,
                    purpose: Some(chart.purpose),
                    consent,
                };
                self.link(&mut head, entry)?;
            }
            self.close(&chart.patient, &head);
            Ok(first)
        }
    }
}

#[cfg(all(test, not(full_code)))]
mod tests;

#[cfg(all(test, not(full_code)))]
mod proptests;

#[cfg(all(test, not(full_code)))]
mod fuzz;
