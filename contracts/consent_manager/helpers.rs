// The consent manager's private steps: grants and revocations as stored, signatures and nonces, the checks of who acts for whom, the directory's storage, the decision's reads, and the calls to its peers.
// Included into the contract module (lib.rs): ink! needs the contract in one inline
// module, and these methods use its private fields, types and events as the messages do.

// ink! brings `self.env()` into scope only in the impl blocks it reads itself.
use ink::codegen::Env as _;

impl ConsentManager {
    /// A validated, logged grant on behalf of `patient` by `grantor` (who has been
    /// authorized: the caller acting for the patient, or the patient's signature).
    fn grant_as(
        &mut self,
        grantor: AccountId,
        patient: AccountId,
        grantee: Grantee,
        terms: ConsentTerms,
    ) -> Result<ConsentId> {
        let now = self.env().block_timestamp();
        validate_terms(&patient, &grantor, &grantee, &terms, now)?;
        if let Scope::Record(record_id) = terms.scope {
            self.ensure_record_of(&patient, record_id)?;
        }
        // Checked, logged, then stored: nothing is written that the log did not take.
        let slot = self.next_slot(&patient, &grantee, now)?;
        let id = slot.0;
        self.append_log(NewEntry {
            patient,
            actor: grantor,
            record: scope_record(&terms.scope),
            kind: EntryKind::ConsentGranted,
            purpose: None,
            consent: Some(id),
        })?;
        self.commit_grant(patient, grantor, grantee, terms, now, slot)
    }

    /// A logged revocation by an authorized `actor` (see `grant_as`).
    fn revoke_as(
        &mut self,
        actor: AccountId,
        patient: AccountId,
        consent_id: ConsentId,
        shown: &ConsentShown,
    ) -> Result<()> {
        let now = self.env().block_timestamp();
        let consent = self.store_revoke(&patient, consent_id, shown, now)?;
        self.append_log(NewEntry {
            patient,
            actor,
            record: scope_record(&consent.terms.scope),
            kind: EntryKind::ConsentRevoked,
            purpose: None,
            consent: Some(consent_id),
        })?;
        Ok(())
    }

    fn domain(&self) -> SigningDomain {
        SigningDomain {
            contract: self.env().account_id(),
            genesis_hash: self.genesis_hash,
        }
    }

    /// Checks a signed consent's deadline, nonce and signature, and uses the nonce.
    /// The patient's account id is its sr25519 public key.
    pub(crate) fn use_signature(
        &mut self,
        patient: &AccountId,
        action: &SignedAction,
        nonce: u64,
        deadline: Timestamp,
        signature: &[u8; 64],
    ) -> Result<()> {
        if deadline < self.env().block_timestamp() {
            return Err(Error::SignatureExpired);
        }
        if self.used_nonces.contains((*patient, nonce)) {
            return Err(Error::NonceUsed);
        }
        let message = medconsent_shared::signing_message(
            &self.domain(),
            patient,
            action,
            nonce,
            deadline,
        );
        ink::env::sr25519_verify(signature, &message, patient.as_ref())
            .map_err(|_| Error::BadSignature)?;
        // Checked unused above.
        self.used_nonces.insert((*patient, nonce), &());
        Ok(())
    }

    /// Marks a nonce used; refuses one that already is.
    fn use_nonce(&mut self, patient: &AccountId, nonce: u64) -> Result<()> {
        if self.used_nonces.contains((*patient, nonce)) {
            return Err(Error::NonceUsed);
        }
        self.used_nonces.insert((*patient, nonce), &());
        Ok(())
    }

    /// In the front build, ends the call in the full code; in the full build and the
    /// unit tests (which run every body here), does nothing.
    #[inline(always)]
    fn off_path(&self) {
        #[cfg(not(any(feature = "std", full_code)))]
        split::run_in_full_code(self.full_code);
    }

    fn ensure_admin(&self) -> Result<()> {
        Ok(self.admin.ensure(&self.env().caller())?)
    }

    fn ensure_running(&self) -> Result<()> {
        if self.paused {
            Err(Error::Paused)
        } else {
            Ok(())
        }
    }

    fn ensure_acts_for(&self, patient: &AccountId, actor: &AccountId) -> Result<()> {
        if self.is_patient_or_delegate(patient, actor) {
            Ok(())
        } else {
            Err(Error::NotPatientOrDelegate)
        }
    }

    fn is_patient_or_delegate(&self, patient: &AccountId, actor: &AccountId) -> bool {
        patient == actor || self.is_delegate(patient, actor)
    }

    fn is_delegate(&self, patient: &AccountId, actor: &AccountId) -> bool {
        let now = self.env().block_timestamp();
        self.delegates
            .get((*patient, *actor))
            .is_some_and(|delegation| delegation.in_force(now))
    }

    fn existing_provider(&self, provider: &AccountId) -> Result<Provider> {
        self.providers.get(provider).ok_or(Error::ProviderNotFound)
    }

    fn save_provider(&mut self, provider: AccountId, entry: &Provider) {
        self.providers.insert(provider, entry);
        self.env().emit_event(ProviderChanged {
            provider,
            status: entry.status,
            roles: entry.roles,
            public_key: entry.public_key,
        });
    }

    pub(crate) fn store_opt_out(&mut self, patient: AccountId, opted_out: bool) {
        if opted_out {
            self.emergency_opt_outs.insert(patient, &());
        } else {
            self.emergency_opt_outs.remove(patient);
        }
    }

    /// Adds a validated rule to the pair's active set and to the patient's history
    /// (the tests' way to grant without the log).
    #[cfg(all(test, not(full_code)))]
    pub(crate) fn store_grant(
        &mut self,
        patient: AccountId,
        grantor: AccountId,
        grantee: Grantee,
        terms: ConsentTerms,
        now: Timestamp,
    ) -> Result<ConsentId> {
        let slot = self.next_slot(&patient, &grantee, now)?;
        self.commit_grant(patient, grantor, grantee, terms, now, slot)
    }

    /// The patient's next consent id, and the pair's active rules without the expired
    /// ones (they can never apply again), if one more fits under MAX_RULES_PER_PAIR.
    fn next_slot(
        &self,
        patient: &AccountId,
        grantee: &Grantee,
        now: Timestamp,
    ) -> Result<(ConsentId, RuleSet)> {
        let mut rules = self.active_rules(*patient, *grantee);
        rules.retain(|(_, rule)| !expired(rule, now));
        if rules.len() >= MAX_RULES_PER_PAIR {
            return Err(Error::TooManyRules);
        }
        Ok((self.consent_counts.get(patient).unwrap_or(0), rules))
    }

    /// Stores a checked grant under the id `next_slot` gave it.
    fn commit_grant(
        &mut self,
        patient: AccountId,
        grantor: AccountId,
        grantee: Grantee,
        terms: ConsentTerms,
        now: Timestamp,
        (id, mut rules): (ConsentId, RuleSet),
    ) -> Result<ConsentId> {
        let next = id.checked_add(1).ok_or(Error::CounterOverflow)?;
        rules.push((id, terms));
        self.rules.insert((patient, grantee), &rules);
        self.consent_counts.insert(patient, &next);
        self.consents.insert(
            (patient, id),
            &Consent {
                id,
                patient,
                grantor,
                grantee,
                terms,
                status: ConsentStatus::Active,
                created_at: now,
                revoked_at: None,
            },
        );
        Ok(id)
    }

    /// Marks a consent revoked and drops it from its pair's active set, freeing the
    /// set's slot (and its storage when the set empties).
    pub(crate) fn store_revoke(
        &mut self,
        patient: &AccountId,
        consent_id: ConsentId,
        shown: &ConsentShown,
        now: Timestamp,
    ) -> Result<Consent> {
        let mut consent = self
            .consents
            .get((*patient, consent_id))
            .ok_or(Error::ConsentNotFound)?;
        // The id came from whoever listed the consents (a node may lie): revoke only the
        // rule the revoker was shown.
        if consent.grantee != shown.grantee || consent.terms != shown.terms {
            return Err(Error::ConsentMismatch);
        }
        if consent.status == ConsentStatus::Revoked {
            return Err(Error::AlreadyRevoked);
        }
        consent.status = ConsentStatus::Revoked;
        consent.revoked_at = Some(now);
        let key = (*patient, consent.grantee);
        let mut rules = self.active_rules(*patient, consent.grantee);
        rules.retain(|(id, rule)| *id != consent_id && !expired(rule, now));
        if rules.is_empty() {
            self.rules.remove(key);
        } else {
            self.rules.insert(key, &rules);
        }
        self.consents.insert((*patient, consent_id), &consent);
        Ok(consent)
    }

    /// The rules that can apply to `accessor`'s requests: the pair's and the "anyone"
    /// rules, in the order they are weighed.
    fn rules_for(&self, patient: AccountId, accessor: AccountId) -> [RuleSet; 2] {
        [
            self.active_rules(patient, Grantee::Account(accessor)),
            self.active_rules(patient, Grantee::Anyone),
        ]
    }

    /// What decides a request before any rule does (`decision::gate`), with the
    /// delegation and the directory read only if it needs them.
    fn gate(&self, request: &AccessRequest) -> Option<Verdict> {
        decision::gate(
            request,
            self.paused,
            || self.is_delegate(&request.patient, &request.accessor),
            || self.providers.get(request.accessor),
        )
    }

    /// The registry must confirm that the record exists and is this patient's.
    fn ensure_record_of(&self, patient: &AccountId, record_id: RecordId) -> Result<()> {
        match call::record_patient(self.registry, record_id) {
            Some(Some(owner)) if owner == *patient => Ok(()),
            Some(_) => Err(Error::UnknownRecord),
            None => Err(Error::RegistryUnavailable),
        }
    }

    /// Every consent change is logged, or the change is rolled back.
    fn append_log(&mut self, entry: NewEntry) -> Result<LogSeq> {
        call::append(self.access_log, entry).ok_or(Error::LogUnavailable)
    }
}
