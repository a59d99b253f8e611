//! Record registry: content hashes and locators of encrypted records, their versions,
//! and the access path (registry -> consent check -> log append -> release).
#![cfg_attr(not(feature = "std"), no_std, no_main)]
// Constructors read the caller, so a `Default` would be a second, wrong constructor.
#![allow(clippy::new_without_default)]

mod errors;

#[medconsent_admin_messages::admin_messages(
    RecordRegistry, peers, consent_manager, access_log, "(consent manager, access log) as wired.", "Admin: while paused nothing is registered, amended or released; retiring and reviewing stay possible."
)]
#[ink::contract]
pub mod record_registry {
    use ink::prelude::vec::Vec;
    use ink::storage::{Lazy, Mapping};
    use medconsent_shared::split;
    use medconsent_shared::{
        call, page_range, AccessOutcome, AccessRequest, Action, Admin, AdminChange, CategoryCode,
        ChartEntries, ChartRequest, DenyReason, EmergencyAccess, EntryKind, Hash32, LogSeq,
        NewEntry, Purpose, Record, RecordId, RecordLookup, RecordStatus, RecordVersion, Release,
        Review, ScheduledChange, Verdict, EMERGENCY_WINDOW_MS, MAX_CHART_RECORDS,
        MAX_EMERGENCIES_PER_WINDOW, MAX_LOCATOR_LEN, MAX_REVIEWS_PER_CALL,
    };

    pub use crate::errors::{Error, Result};

    /// Per-patient list lengths.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct PatientCounts {
        pub records: u64,
        pub emergencies: u64,
    }

    /// A responder's break-glass releases of one patient's records in the current window.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct EmergencyWindow {
        pub start: Timestamp,
        pub used: u32,
    }

    #[ink(storage)]
    pub struct RecordRegistry {
        admin: Admin,
        paused: bool,
        consent_manager: Option<AccountId>,
        access_log: Option<AccountId>,
        next_record_id: RecordId,
        records: Mapping<RecordId, Record>,
        /// Superseded versions by (record, version); the current one lives in `records`.
        versions: Mapping<(RecordId, u32), RecordVersion>,
        /// Every content hash ever registered, per patient, so none is registered twice
        /// for a patient and no stranger can squat a patient's pending hash.
        hashes: Mapping<(AccountId, Hash32), RecordId>,
        counts: Mapping<AccountId, PatientCounts>,
        /// The patient's records in registration order.
        patient_records: Mapping<(AccountId, u64), RecordId>,
        /// The patient's break-glass accesses, queued for review.
        emergencies: Mapping<(AccountId, u64), EmergencyAccess>,
        /// Break-glass budget by (patient, responder).
        emergency_windows: Mapping<(AccountId, AccountId), EmergencyWindow>,
        /// The announced wiring or code change, if any.
        scheduled: Lazy<Option<ScheduledChange>>,
        /// The code every message off the access path runs in (`access_record`,
        /// `access_chart` and `record_patient` run here; see `medconsent_shared::split`).
        full_code: Hash,
    }

    impl RecordRegistry {
        /// The deployer becomes the admin. `change_delay` (ms) is how long every later
        /// wiring or code change waits after its announcement; it never changes.
        #[ink(constructor)]
        pub fn new(change_delay: Timestamp, full_code: Hash) -> Self {
            // The off-chain test engine has no delegate dependencies.
            #[cfg(not(feature = "std"))]
            split::lock_full_code(&full_code);
            Self {
                admin: Admin::new(Self::env().caller(), change_delay),
                paused: false,
                consent_manager: None,
                access_log: None,
                next_record_id: 0,
                records: Mapping::default(),
                versions: Mapping::default(),
                hashes: Mapping::default(),
                counts: Mapping::default(),
                patient_records: Mapping::default(),
                emergencies: Mapping::default(),
                emergency_windows: Mapping::default(),
                scheduled: Lazy::default(),
                full_code,
            }
        }

        // ---- records ---------------------------------------------------------------

        /// The patient, a delegate, or a provider holding an Append permit for the
        /// category: register a record (version 1) for `patient` under `record_id`, the
        /// id the payload was sealed for (`next_record_id`); if another registration took
        /// it first, nothing happens and the error says so.
        #[ink(message)]
        pub fn register_record(
            &mut self,
            patient: AccountId,
            record_id: RecordId,
            category: CategoryCode,
            content_hash: Hash32,
            locator: Vec<u8>,
            purpose: Purpose,
        ) -> Result<RecordId> {
            self.off_path();
            let caller = self.env().caller();
            self.ensure_running()?;
            if record_id != self.next_record_id {
                return Err(Error::RecordIdTaken);
            }
            self.ensure_new_content(&patient, &content_hash, &locator)?;
            let consent = self.authorize_append(&patient, &caller, None, category, purpose)?;
            // Logged first, stored second: nothing is written that the log did not take.
            self.append_log(NewEntry {
                patient,
                actor: caller,
                record: Some(record_id),
                kind: EntryKind::RecordCreated,
                purpose: Some(purpose),
                consent,
            })?;
            self.store_record(patient, caller, category, content_hash, locator)
        }

        /// Same callers as register: a new content hash and locator become the next
        /// version; earlier versions stay readable. Returns the new version number.
        #[ink(message)]
        pub fn amend_record(
            &mut self,
            record_id: RecordId,
            content_hash: Hash32,
            locator: Vec<u8>,
            purpose: Purpose,
        ) -> Result<u32> {
            self.off_path();
            let caller = self.env().caller();
            self.ensure_running()?;
            let record = self.active_record(record_id)?;
            self.ensure_new_content(&record.patient, &content_hash, &locator)?;
            let consent = self.authorize_append(
                &record.patient,
                &caller,
                Some(record_id),
                record.category,
                purpose,
            )?;
            self.append_log(NewEntry {
                patient: record.patient,
                actor: caller,
                record: Some(record_id),
                kind: EntryKind::RecordAmended,
                purpose: Some(purpose),
                consent,
            })?;
            self.store_amendment(record, caller, content_hash, locator)
        }

        /// Patient or delegate: mark a record retired (its key and ciphertext are
        /// destroyed off-chain). It is never released again. Allowed while paused.
        #[ink(message)]
        pub fn retire_record(&mut self, record_id: RecordId) -> Result<()> {
            self.off_path();
            let caller = self.env().caller();
            let record = self.active_record(record_id)?;
            self.ensure_acts_for(&record.patient, &caller)?;
            self.append_log(NewEntry {
                patient: record.patient,
                actor: caller,
                record: Some(record_id),
                kind: EntryKind::RecordRetired,
                purpose: None,
                consent: None,
            })?;
            self.store_retirement(record);
            Ok(())
        }

        /// A provider, the patient or a delegate: ask for a record for a purpose. The
        /// consent manager decides, the log records the outcome, and on permit the
        /// current hash, locator and version are returned. A provider's denial is
        /// `Ok(Denied(reason))` so that its log entry stays; a caller outside the
        /// directory who does not act for the patient gets `Err` and leaves no entry.
        #[ink(message)]
        pub fn access_record(
            &mut self,
            record_id: RecordId,
            purpose: Purpose,
        ) -> Result<AccessOutcome> {
            self.ensure_running()?;
            let record = self.records.get(record_id).ok_or(Error::RecordNotFound)?;
            let patient = record.patient;
            // A chart of one: the same decision and entry, and one access path in the
            // front's code instead of two.
            let mut outcomes = self.open(patient, ink::prelude::vec![record], purpose)?;
            outcomes.pop().ok_or(Error::LogUnavailable)
        }

        /// A provider, the patient or a delegate: open several of one patient's records
        /// at once for one purpose (a clinician opening a chart), at most
        /// MAX_CHART_RECORDS. One consent-manager call decides every record as
        /// `access_record` would decide it alone, and one log call appends one entry per
        /// record, in order; each record is released or denied on its own. Refused as a
        /// whole (nothing logged) for an empty or oversized chart, a record that is not
        /// this patient's, a caller outside the directory, or while paused.
        #[ink(message)]
        pub fn access_chart(
            &mut self,
            patient: AccountId,
            record_ids: Vec<RecordId>,
            purpose: Purpose,
        ) -> Result<Vec<AccessOutcome>> {
            self.ensure_running()?;
            if record_ids.is_empty() {
                return Err(Error::EmptyChart);
            }
            if record_ids.len() > MAX_CHART_RECORDS {
                return Err(Error::ChartTooLarge);
            }
            let mut records = Vec::with_capacity(record_ids.len());
            for record_id in record_ids {
                let record = self
                    .records
                    .get(record_id)
                    .filter(|record| record.patient == patient)
                    .ok_or(Error::RecordNotFound)?;
                records.push(record);
            }
            self.open(patient, records, purpose)
        }

        /// The access path of `access_record` and `access_chart`: one consent-manager
        /// call decides every record, the verdicts are screened, one log call appends one
        /// entry per record, and each permitted record is released with its entry's seq.
        fn open(
            &self,
            patient: AccountId,
            records: Vec<Record>,
            purpose: Purpose,
        ) -> Result<Vec<AccessOutcome>> {
            let caller = self.env().caller();
            let mut asked = Vec::with_capacity(records.len());
            for record in &records {
                asked.push((record.id, record.category));
            }
            let request = ChartRequest {
                patient,
                accessor: caller,
                purpose,
                records: asked,
            };
            let mut verdicts = call::check_chart(self.consent_manager, request);
            let mut items = Vec::with_capacity(records.len());
            for (record, verdict) in records.iter().zip(verdicts.iter_mut()) {
                *verdict = screen(record, *verdict)?;
                items.push((
                    record.id,
                    entry_kind(verdict, EntryKind::Access),
                    verdict.consent(),
                ));
            }
            let chart = ChartEntries {
                patient,
                actor: caller,
                purpose,
                items,
            };
            let mut log_seq =
                call::append_chart(self.access_log, chart).ok_or(Error::LogUnavailable)?;
            let mut outcomes = Vec::with_capacity(records.len());
            for (record, verdict) in records.iter().zip(verdicts) {
                outcomes.push(outcome(record, &verdict, log_seq));
                log_seq = log_seq.saturating_add(1);
            }
            Ok(outcomes)
        }

        /// An active emergency responder, with the hash of a written justification:
        /// break-glass access, purpose ETREAT, refused when the patient opted out.
        /// Logged as Emergency and queued for the patient's review.
        #[ink(message)]
        pub fn emergency_access(
            &mut self,
            record_id: RecordId,
            justification: Hash32,
        ) -> Result<AccessOutcome> {
            self.off_path();
            let (caller, now) = (self.env().caller(), self.env().block_timestamp());
            self.ensure_running()?;
            if justification == [0; 32] {
                return Err(Error::EmptyJustification);
            }
            let record = self.records.get(record_id).ok_or(Error::RecordNotFound)?;
            let checked = call::check_emergency(self.consent_manager, record.patient, caller);
            let mut verdict = screen(&record, checked)?;
            let mut window = None;
            if let Verdict::Permit(_) = verdict {
                window = self.emergency_budget(&record.patient, &caller, now);
                if window.is_none() {
                    verdict = Verdict::Deny(DenyReason::EmergencyLimit);
                }
            }
            let kind = EntryKind::Emergency { justification };
            let (outcome, log_seq) =
                self.conclude(&record, caller, Purpose::EmergencyTreat, verdict, kind)?;
            if let Some(window) = window {
                self.store_emergency_window(&record.patient, &caller, window);
                self.queue_emergency(
                    record.patient,
                    EmergencyAccess {
                        record_id,
                        responder: caller,
                        log_seq,
                        at: now,
                        review: Review::Pending,
                    },
                )?;
            }
            Ok(outcome)
        }

        /// Patient or delegate: mark break-glass accesses of the patient justified or not,
        /// each as `(index, justified)`, at most MAX_REVIEWS_PER_CALL at once. Each review
        /// is appended to the log; one refused review refuses them all. Allowed while
        /// paused: reviewing only looks back.
        #[ink(message)]
        pub fn review_emergencies(
            &mut self,
            patient: AccountId,
            reviews: Vec<(u64, bool)>,
        ) -> Result<()> {
            self.off_path();
            let caller = self.env().caller();
            if reviews.is_empty() {
                return Err(Error::NothingToReview);
            }
            if reviews.len() > MAX_REVIEWS_PER_CALL {
                return Err(Error::TooManyReviews);
            }
            self.ensure_acts_for(&patient, &caller)?;
            for (index, justified) in reviews {
                let access = self.pending_emergency(&patient, index)?;
                self.append_log(NewEntry {
                    patient,
                    actor: caller,
                    record: Some(access.record_id),
                    kind: EntryKind::Review {
                        emergency_seq: access.log_seq,
                        justified,
                    },
                    purpose: None,
                    consent: None,
                })?;
                self.store_review(&patient, index, access, justified);
            }
            Ok(())
        }

        // ---- queries ---------------------------------------------------------------

        #[ink(message)]
        pub fn record(&self, record_id: RecordId) -> Option<Record> {
            self.off_path();
            self.records.get(record_id)
        }

        /// Version `version` (from 1) of a record, current or earlier.
        #[ink(message)]
        pub fn record_version(&self, record_id: RecordId, version: u32) -> Option<RecordVersion> {
            self.off_path();
            let record = self.records.get(record_id)?;
            if version == record.version {
                Some(record.current_version())
            } else {
                self.versions.get((record_id, version))
            }
        }

        /// The patient's records `start..start+limit`, in registration order.
        #[ink(message)]
        pub fn records_of(&self, patient: AccountId, start: u64, limit: u32) -> Vec<Record> {
            self.off_path();
            page_range(start, self.counts(patient).records, limit)
                .filter_map(|i| self.patient_records.get((patient, i)))
                .filter_map(|id| self.records.get(id))
                .collect()
        }

        /// The patient's break-glass accesses `start..start+limit`, oldest first.
        #[ink(message)]
        pub fn emergencies_of(
            &self,
            patient: AccountId,
            start: u64,
            limit: u32,
        ) -> Vec<EmergencyAccess> {
            self.off_path();
            page_range(start, self.counts(patient).emergencies, limit)
                .filter_map(|i| self.emergencies.get((patient, i)))
                .collect()
        }

        /// The id the next registered record will get: clients bind it into the sealed
        /// payload and pass it to `register_record` (and re-seal if it was taken).
        #[ink(message)]
        pub fn next_record_id(&self) -> RecordId {
            self.off_path();
            self.next_record_id
        }

        /// How many records and break-glass accesses the patient has.
        #[ink(message)]
        pub fn counts(&self, patient: AccountId) -> PatientCounts {
            self.off_path();
            self.counts.get(patient).unwrap_or_default()
        }
    }

    // The private steps the messages share (helpers.rs; see there why it is included).
    include!("helpers.rs");

    /// The entry a verdict is logged as: `released_kind` (Access, Emergency) or Denied.
    fn entry_kind(verdict: &Verdict, released_kind: EntryKind) -> EntryKind {
        match *verdict {
            Verdict::Permit(_) => released_kind,
            Verdict::Deny(reason) => EntryKind::Denied(reason),
        }
    }

    /// What the accessor gets for a logged verdict: the current version's hash, locator
    /// and version with the entry's seq, or the reason of the denial.
    fn outcome(record: &Record, verdict: &Verdict, log_seq: LogSeq) -> AccessOutcome {
        match *verdict {
            Verdict::Permit(_) => AccessOutcome::Released(Release {
                content_hash: record.content_hash,
                locator: record.locator.clone(),
                version: record.version,
                log_seq,
            }),
            Verdict::Deny(reason) => AccessOutcome::Denied(reason),
        }
    }

    /// What the registry does with the consent manager's verdict. A caller outside the
    /// directory who does not act for the patient is refused with `Err` and leaves no
    /// entry, so no stranger can flood a patient's chain; providers are accountable, so
    /// their denials are logged. A retired record is never released.
    pub(crate) fn screen(record: &Record, verdict: Verdict) -> Result<Verdict> {
        if verdict == Verdict::Deny(DenyReason::NotProvider) {
            return Err(Error::Unauthorized(DenyReason::NotProvider));
        }
        if record.status == RecordStatus::Retired {
            return Ok(Verdict::Deny(DenyReason::RecordRetired));
        }
        Ok(verdict)
    }

    impl RecordLookup for RecordRegistry {
        /// Anyone: the patient a record belongs to.
        #[ink(message)]
        fn record_patient(&self, record_id: RecordId) -> Option<AccountId> {
            self.records.get(record_id).map(|record| record.patient)
        }
    }
}

#[cfg(all(test, not(full_code)))]
mod tests;

#[cfg(all(test, not(full_code)))]
mod fuzz;
