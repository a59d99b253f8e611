//! Access log: an append-only, per-patient hash chain of every access, denial and
//! consent change. Only the registry and the consent manager the admin names may append.
#![cfg_attr(not(feature = "std"), no_std, no_main)]
// Constructors read the caller, so a `Default` would be a second, wrong constructor.
#![allow(clippy::new_without_default)]

#[ink::contract]
pub mod access_log {
    use ink::prelude::vec::Vec;
    use ink::storage::{Lazy, Mapping};
    use medconsent_shared::{
        page_range, Admin, AdminChange, AuditLog, ChainHead, EntryKind, Hash32, LogEntry, LogSeq,
        NewEntry, ScheduledChange,
    };

    pub use medconsent_shared::LogError as Error;
    pub type Result<T> = core::result::Result<T, Error>;

    #[ink(storage)]
    pub struct AccessLog {
        admin: Admin,
        /// May append record and access entries.
        registry: Option<AccountId>,
        /// May append consent-change entries.
        consent_manager: Option<AccountId>,
        heads: Mapping<AccountId, ChainHead>,
        entries: Mapping<(AccountId, LogSeq), LogEntry>,
        /// The announced writer or code change, if any.
        scheduled: Lazy<Option<ScheduledChange>>,
    }

    /// An entry was added to a patient's chain.
    #[ink(event)]
    pub struct EntryAppended {
        #[ink(topic)]
        patient: AccountId,
        seq: LogSeq,
        hash: Hash32,
    }

    impl AccessLog {
        /// The deployer becomes the admin. `change_delay` (ms) is how long every later
        /// writer or code change waits after its announcement; it never changes.
        #[ink(constructor)]
        pub fn new(change_delay: Timestamp) -> Self {
            Self {
                admin: Admin::new(Self::env().caller(), change_delay),
                registry: None,
                consent_manager: None,
                heads: Mapping::default(),
                entries: Mapping::default(),
                scheduled: Lazy::default(),
            }
        }

        /// Admin only: announce new writers, `Peers(registry, consent manager)` (both
        /// must be contracts), or new code. The first writers apply at once (that is
        /// deployment); every later change applies with `apply_change` after the delay.
        #[ink(message)]
        pub fn schedule_change(&mut self, change: AdminChange) -> Result<Timestamp> {
            let (caller, now) = (self.env().caller(), self.env().block_timestamp());
            let unwired = self.registry.is_none() && self.consent_manager.is_none();
            let scheduled = self.admin.schedule(&caller, change, now, unwired)?;
            self.scheduled.set(&Some(scheduled));
            if scheduled.effective_at <= now {
                self.apply_change()?;
            }
            Ok(scheduled.effective_at)
        }

        /// Admin only: apply the announced change once its delay has passed.
        #[ink(message)]
        pub fn apply_change(&mut self) -> Result<()> {
            let (caller, now) = (self.env().caller(), self.env().block_timestamp());
            let change = self.admin.apply(&caller, self.scheduled_change(), now)?;
            if let AdminChange::Peers(registry, consent_manager) = change {
                self.registry = Some(registry);
                self.consent_manager = Some(consent_manager);
            }
            self.scheduled.set(&None);
            Ok(())
        }

        /// Admin only: withdraw the announced change.
        #[ink(message)]
        pub fn cancel_change(&mut self) -> Result<()> {
            self.admin
                .cancel(&self.env().caller(), self.scheduled_change())?;
            self.scheduled.set(&None);
            Ok(())
        }

        /// The announced change and when it may apply, if any.
        #[ink(message)]
        pub fn scheduled_change(&self) -> Option<ScheduledChange> {
            self.scheduled.get().flatten()
        }

        /// The delay (ms) between announcing a change and applying it.
        #[ink(message)]
        pub fn change_delay(&self) -> Timestamp {
            self.admin.delay()
        }

        /// (registry, consent manager) as configured.
        #[ink(message)]
        pub fn writers(&self) -> (Option<AccountId>, Option<AccountId>) {
            (self.registry, self.consent_manager)
        }

        /// Length and last hash of a patient's chain.
        #[ink(message)]
        pub fn head(&self, patient: AccountId) -> ChainHead {
            self.heads.get(patient).unwrap_or_default()
        }

        /// Entries `start..start+limit` of a patient's chain (limit capped at MAX_PAGE).
        #[ink(message)]
        pub fn entries(&self, patient: AccountId, start: LogSeq, limit: u32) -> Vec<LogEntry> {
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

        #[ink(message)]
        pub fn admin(&self) -> AccountId {
            self.admin.current()
        }

        #[ink(message)]
        pub fn pending_admin(&self) -> Option<AccountId> {
            self.admin.pending()
        }

        /// Admin only: step one of the transfer.
        #[ink(message)]
        pub fn propose_admin(&mut self, successor: AccountId) -> Result<()> {
            Ok(self.admin.propose(&self.env().caller(), successor)?)
        }

        /// The proposed admin only: step two.
        #[ink(message)]
        pub fn accept_admin(&mut self) -> Result<()> {
            Ok(self.admin.accept(&self.env().caller())?)
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
        fn append(&mut self, entry: NewEntry) -> Result<LogSeq> {
            self.ensure_writer(&self.env().caller(), &entry.kind)?;
            let head = self.head(entry.patient);
            let length = head.length.checked_add(1).ok_or(Error::ChainFull)?;
            let mut stored = LogEntry {
                seq: head.length,
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
            self.entries.insert((entry.patient, stored.seq), &stored);
            self.heads.insert(
                entry.patient,
                &ChainHead {
                    length,
                    last_hash: stored.hash,
                },
            );
            self.env().emit_event(EntryAppended {
                patient: entry.patient,
                seq: stored.seq,
                hash: stored.hash,
            });
            Ok(stored.seq)
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod fuzz;
