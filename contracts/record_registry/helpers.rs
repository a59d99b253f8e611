// The record registry's private steps: the steps its messages share.
// Included into the contract module (lib.rs): ink! needs the contract in one inline
// module, and these methods use its private fields, types and events as the messages do.

// ink! brings `self.env()` into scope only in the impl blocks it reads itself.
use ink::codegen::Env as _;

impl RecordRegistry {
    /// In the front build, ends the call in the full code; in the full build and the
    /// unit tests (which run every body here), does nothing.
    #[inline(always)]
    fn off_path(&self) {
        #[cfg(not(any(feature = "std", full_code)))]
        split::run_in_full_code(self.full_code);
    }

    fn ensure_running(&self) -> Result<()> {
        if self.paused {
            Err(Error::Paused)
        } else {
            Ok(())
        }
    }

    fn ensure_new_content(
        &self,
        patient: &AccountId,
        content_hash: &Hash32,
        locator: &[u8],
    ) -> Result<()> {
        if content_hash == &[0; 32] {
            return Err(Error::ZeroHash);
        }
        if locator.len() > MAX_LOCATOR_LEN {
            return Err(Error::LocatorTooLong);
        }
        if self.hashes.contains((*patient, *content_hash)) {
            return Err(Error::HashAlreadyRegistered);
        }
        Ok(())
    }

    fn active_record(&self, record_id: RecordId) -> Result<Record> {
        let record = self.records.get(record_id).ok_or(Error::RecordNotFound)?;
        if record.status == RecordStatus::Retired {
            return Err(Error::RecordRetired);
        }
        Ok(record)
    }

    /// The patient writes without asking; anyone else needs the consent manager's
    /// Append permit. Returns the consent that allowed it, if one did.
    fn authorize_append(
        &self,
        patient: &AccountId,
        caller: &AccountId,
        record: Option<RecordId>,
        category: CategoryCode,
        purpose: Purpose,
    ) -> Result<Option<u64>> {
        if patient == caller {
            return Ok(None);
        }
        let request = AccessRequest {
            patient: *patient,
            accessor: *caller,
            record,
            category,
            action: Action::Append,
            purpose,
        };
        match call::check(self.consent_manager, request) {
            verdict @ Verdict::Permit(_) => Ok(verdict.consent()),
            Verdict::Deny(reason) => Err(Error::Unauthorized(reason)),
        }
    }

    fn ensure_acts_for(&self, patient: &AccountId, caller: &AccountId) -> Result<()> {
        if patient == caller {
            return Ok(());
        }
        match call::acts_for(self.consent_manager, *patient, *caller) {
            Some(true) => Ok(()),
            Some(false) => Err(Error::NotPatientOrDelegate),
            None => Err(Error::ConsentUnavailable),
        }
    }

    /// Logs the verdict and turns it into the caller's outcome. Nothing is released
    /// unless the log took the entry.
    fn conclude(
        &mut self,
        record: &Record,
        accessor: AccountId,
        purpose: Purpose,
        verdict: Verdict,
        released_kind: EntryKind,
    ) -> Result<(AccessOutcome, LogSeq)> {
        let log_seq = self.append_log(NewEntry {
            patient: record.patient,
            actor: accessor,
            record: Some(record.id),
            kind: entry_kind(&verdict, released_kind),
            purpose: Some(purpose),
            consent: verdict.consent(),
        })?;
        Ok((outcome(record, &verdict, log_seq), log_seq))
    }

    fn append_log(&mut self, entry: NewEntry) -> Result<LogSeq> {
        call::append(self.access_log, entry).ok_or(Error::LogUnavailable)
    }

    /// Writes a new record (version 1) and indexes it under its patient and hash.
    pub(crate) fn store_record(
        &mut self,
        patient: AccountId,
        author: AccountId,
        category: CategoryCode,
        content_hash: Hash32,
        locator: Vec<u8>,
    ) -> Result<RecordId> {
        let now = self.env().block_timestamp();
        let id = self.next_record_id;
        let mut counts = self.counts.get(patient).unwrap_or_default();
        let index = counts.records;
        self.next_record_id = id.checked_add(1).ok_or(Error::CounterOverflow)?;
        counts.records = index.checked_add(1).ok_or(Error::CounterOverflow)?;
        self.records.insert(
            id,
            &Record {
                id,
                patient,
                author,
                category,
                content_hash,
                locator,
                version: 1,
                created_at: now,
                updated_at: now,
                status: RecordStatus::Active,
            },
        );
        self.hashes.insert((patient, content_hash), &id);
        self.patient_records.insert((patient, index), &id);
        self.counts.insert(patient, &counts);
        Ok(id)
    }

    /// Moves the current version to `versions` and makes the new content current.
    pub(crate) fn store_amendment(
        &mut self,
        mut record: Record,
        author: AccountId,
        content_hash: Hash32,
        locator: Vec<u8>,
    ) -> Result<u32> {
        let version = record
            .version
            .checked_add(1)
            .ok_or(Error::CounterOverflow)?;
        self.versions
            .insert((record.id, record.version), &record.current_version());
        self.hashes
            .insert((record.patient, content_hash), &record.id);
        record.author = author;
        record.content_hash = content_hash;
        record.locator = locator;
        record.version = version;
        record.updated_at = self.env().block_timestamp();
        self.records.insert(record.id, &record);
        Ok(version)
    }

    /// Marks a record retired; its hashes stay registered so none is reused.
    pub(crate) fn store_retirement(&mut self, mut record: Record) {
        record.status = RecordStatus::Retired;
        record.updated_at = self.env().block_timestamp();
        self.records.insert(record.id, &record);
    }

    /// The responder's window after one more break-glass release of the patient's
    /// records, or None when the window's budget is spent. A window opens at the
    /// first release and lasts EMERGENCY_WINDOW_MS.
    pub(crate) fn emergency_budget(
        &self,
        patient: &AccountId,
        responder: &AccountId,
        now: Timestamp,
    ) -> Option<EmergencyWindow> {
        let window = self
            .emergency_windows
            .get((*patient, *responder))
            .filter(|window| now < window.start.saturating_add(EMERGENCY_WINDOW_MS))
            .unwrap_or(EmergencyWindow {
                start: now,
                used: 0,
            });
        if window.used >= MAX_EMERGENCIES_PER_WINDOW {
            return None;
        }
        Some(EmergencyWindow {
            start: window.start,
            used: window.used.saturating_add(1),
        })
    }

    pub(crate) fn store_emergency_window(
        &mut self,
        patient: &AccountId,
        responder: &AccountId,
        window: EmergencyWindow,
    ) {
        self.emergency_windows
            .insert((*patient, *responder), &window);
    }

    /// The patient's break-glass access number `index`, if it awaits review.
    fn pending_emergency(&self, patient: &AccountId, index: u64) -> Result<EmergencyAccess> {
        let access = self
            .emergencies
            .get((*patient, index))
            .ok_or(Error::EmergencyNotFound)?;
        if access.review != Review::Pending {
            return Err(Error::AlreadyReviewed);
        }
        Ok(access)
    }

    /// Records the review of a pending break-glass access.
    pub(crate) fn store_review(
        &mut self,
        patient: &AccountId,
        index: u64,
        mut access: EmergencyAccess,
        justified: bool,
    ) {
        access.review = if justified {
            Review::Justified
        } else {
            Review::Unjustified
        };
        self.emergencies.insert((*patient, index), &access);
    }

    pub(crate) fn queue_emergency(
        &mut self,
        patient: AccountId,
        access: EmergencyAccess,
    ) -> Result<u64> {
        let mut counts = self.counts.get(patient).unwrap_or_default();
        let index = counts.emergencies;
        counts.emergencies = index.checked_add(1).ok_or(Error::CounterOverflow)?;
        self.emergencies.insert((patient, index), &access);
        self.counts.insert(patient, &counts);
        Ok(index)
    }
}
