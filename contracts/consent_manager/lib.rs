//! Consent manager: patients and their delegates grant, restrict and revoke access;
//! break-glass opt-out; the provider directory; the access decision the registry asks.
#![cfg_attr(not(feature = "std"), no_std, no_main)]
// Constructors read the caller, so a `Default` would be a second, wrong constructor.
#![allow(clippy::new_without_default)]

mod errors;

#[medconsent_admin_messages::admin_messages(
    ConsentManager, peers, registry, access_log, "(registry, access log) as wired.", "Admin: while paused, grants, delegate appointments, provider registrations and reactivations are refused and every check denies."
)]
#[ink::contract]
pub mod consent_manager {
    use ink::prelude::string::String;
    use ink::prelude::vec::Vec;
    use ink::storage::{Lazy, Mapping};
    use medconsent_shared::decision::{self, expired};
    use medconsent_shared::split;
    use medconsent_shared::valid_provider_name;
    use medconsent_shared::{
        call, page_range, AccessRequest, Admin, AdminChange, ChartRequest, Consent, ConsentCheck,
        ConsentId, ConsentShown, ConsentStatus, ConsentTerms, Delegation, EntryKind, Grantee,
        Hash32, LogSeq, NewEntry, Provider, ProviderStatus, RecordId, RoleSet, RuleSet,
        ScheduledChange, Scope, SignedAction, SigningDomain, Verdict, MAX_RULES_PER_PAIR,
    };

    pub use crate::errors::{Error, Result};

    #[ink(storage)]
    pub struct ConsentManager {
        admin: Admin,
        paused: bool,
        registry: Option<AccountId>,
        access_log: Option<AccountId>,
        /// Every consent ever granted, by (patient, id); revoked ones stay as history.
        consents: Mapping<(AccountId, ConsentId), Consent>,
        /// Next consent id of each patient (= how many they have granted).
        consent_counts: Mapping<AccountId, ConsentId>,
        /// Active rules of each (patient, grantee) pair, at most MAX_RULES_PER_PAIR:
        /// `check` reads two of these, whatever the patient's history.
        rules: Mapping<(AccountId, Grantee), RuleSet>,
        delegates: Mapping<(AccountId, AccountId), Delegation>,
        /// Present for patients who refuse break-glass access.
        emergency_opt_outs: Mapping<AccountId, ()>,
        providers: Mapping<AccountId, Provider>,
        /// The chain's genesis hash, bound into every signed consent.
        genesis_hash: Hash32,
        /// Nonces of each patient's signed consents that were used or voided. Any other
        /// nonce is good, so no held signature blocks a later one.
        used_nonces: Mapping<(AccountId, u64), ()>,
        /// The announced wiring or code change, if any.
        scheduled: Lazy<Option<ScheduledChange>>,
        /// The code every message off the access path runs in (`grant`, `revoke` and
        /// `check_chart` run here; see `medconsent_shared::split`).
        full_code: Hash,
        /// Every registered provider in registration order (the directory's listing).
        directory: Mapping<u32, AccountId>,
        directory_len: Lazy<u32>,
        /// Providers' public display names (providers are public parties; a patient is
        /// never named on chain).
        provider_names: Mapping<AccountId, String>,
    }

    #[ink(event)]
    pub struct DelegateAppointed {
        #[ink(topic)]
        patient: AccountId,
        #[ink(topic)]
        delegate: AccountId,
        until: Option<Timestamp>,
    }

    #[ink(event)]
    pub struct DelegateRemoved {
        #[ink(topic)]
        patient: AccountId,
        #[ink(topic)]
        delegate: AccountId,
    }

    /// A provider was registered, suspended, reactivated, or changed roles or key.
    #[ink(event)]
    pub struct ProviderChanged {
        #[ink(topic)]
        provider: AccountId,
        status: ProviderStatus,
        roles: RoleSet,
        public_key: [u8; 32],
    }

    /// The admin gave a provider a display name (or changed it): tools that show names
    /// beside accounts, and anyone watching for a rename, learn it from here.
    #[ink(event)]
    pub struct ProviderNamed {
        #[ink(topic)]
        provider: AccountId,
        name: String,
    }

    impl ConsentManager {
        /// The deployer becomes the admin. `genesis_hash` is the chain's (block 0):
        /// signed consents are bound to it, since a contract cannot read it.
        /// `change_delay` (ms) is how long every later wiring or code change waits after
        /// its announcement; it never changes.
        #[ink(constructor)]
        pub fn new(genesis_hash: Hash32, change_delay: Timestamp, full_code: Hash) -> Self {
            // The off-chain test engine has no delegate dependencies.
            #[cfg(not(feature = "std"))]
            split::lock_full_code(&full_code);
            Self {
                admin: Admin::new(Self::env().caller(), change_delay),
                paused: false,
                registry: None,
                access_log: None,
                consents: Mapping::default(),
                consent_counts: Mapping::default(),
                rules: Mapping::default(),
                delegates: Mapping::default(),
                emergency_opt_outs: Mapping::default(),
                providers: Mapping::default(),
                genesis_hash,
                used_nonces: Mapping::default(),
                scheduled: Lazy::default(),
                full_code,
                directory: Mapping::default(),
                directory_len: Lazy::default(),
                provider_names: Mapping::default(),
            }
        }

        // ---- consents -------------------------------------------------------------

        /// Patient or delegate: grant a consent (Permit) or a restriction (Deny) on the
        /// patient's records to `grantee`. Returns the consent id (per patient).
        #[ink(message)]
        pub fn grant(
            &mut self,
            patient: AccountId,
            grantee: Grantee,
            terms: ConsentTerms,
        ) -> Result<ConsentId> {
            let caller = self.env().caller();
            self.ensure_running()?;
            self.ensure_acts_for(&patient, &caller)?;
            self.grant_as(caller, patient, grantee, terms)
        }

        /// Patient or delegate: revoke a consent or restriction, effective in this block.
        /// `shown` is the grantee and terms the revoker was shown: the consent with this
        /// id must have them (`ConsentMismatch` otherwise), so a node that listed the
        /// ids wrongly cannot make a patient revoke another rule.
        /// Allowed while paused: it only narrows access.
        #[ink(message)]
        pub fn revoke(
            &mut self,
            patient: AccountId,
            consent_id: ConsentId,
            shown: ConsentShown,
        ) -> Result<()> {
            let caller = self.env().caller();
            self.ensure_acts_for(&patient, &caller)?;
            self.revoke_as(caller, patient, consent_id, &shown)
        }

        // ---- consent signed in the patient's wallet, submitted by anyone -------------

        /// Anyone (a relayer pays the fee): the patient's grant, signed by the patient's
        /// sr25519 key over `signing_message(patient, Grant { grantee, terms }, nonce,
        /// deadline)`. Logged with the patient as actor.
        #[ink(message)]
        pub fn grant_signed(
            &mut self,
            patient: AccountId,
            grantee: Grantee,
            terms: ConsentTerms,
            nonce: u64,
            deadline: Timestamp,
            signature: [u8; 64],
        ) -> Result<ConsentId> {
            self.off_path();
            self.ensure_running()?;
            let action = SignedAction::Grant { grantee, terms };
            self.use_signature(&patient, &action, nonce, deadline, &signature)?;
            self.grant_as(patient, patient, grantee, terms)
        }

        /// Anyone: the patient's revocation, signed like `grant_signed`, naming the
        /// grantee and terms like `revoke`. Allowed while paused.
        #[ink(message)]
        pub fn revoke_signed(
            &mut self,
            patient: AccountId,
            consent_id: ConsentId,
            shown: ConsentShown,
            nonce: u64,
            deadline: Timestamp,
            signature: [u8; 64],
        ) -> Result<()> {
            self.off_path();
            let action = SignedAction::Revoke { consent_id, shown };
            self.use_signature(&patient, &action, nonce, deadline, &signature)?;
            self.revoke_as(patient, patient, consent_id, &shown)
        }

        /// Whether a signed consent with this nonce can no longer be submitted (used or
        /// voided). Wallets pick a fresh random nonce for each signature.
        #[ink(message)]
        pub fn nonce_used(&self, patient: AccountId, nonce: u64) -> bool {
            self.off_path();
            self.used_nonces.contains((patient, nonce))
        }

        /// Patient or delegate: void an outstanding signed consent by its nonce, so a
        /// relayer sitting on it can never submit it. Allowed while paused.
        #[ink(message)]
        pub fn void_signature(&mut self, patient: AccountId, nonce: u64) -> Result<()> {
            self.off_path();
            let caller = self.env().caller();
            self.ensure_acts_for(&patient, &caller)?;
            self.use_nonce(&patient, nonce)
        }

        /// The exact bytes the patient's wallet signs (with the `<Bytes>` wrapping that
        /// `signRaw` adds: pass the part between the tags to `signRaw`).
        #[ink(message)]
        pub fn signing_message(
            &self,
            patient: AccountId,
            action: SignedAction,
            nonce: u64,
            deadline: Timestamp,
        ) -> Vec<u8> {
            self.off_path();
            medconsent_shared::signing_message(&self.domain(), &patient, &action, nonce, deadline)
        }

        #[ink(message)]
        pub fn consent(&self, patient: AccountId, consent_id: ConsentId) -> Option<Consent> {
            self.off_path();
            self.consents.get((patient, consent_id))
        }

        /// Consents `start..start+limit` of a patient, revoked ones included.
        #[ink(message)]
        pub fn consents_of(
            &self,
            patient: AccountId,
            start: ConsentId,
            limit: u32,
        ) -> Vec<Consent> {
            self.off_path();
            page_range(start, self.consent_count(patient), limit)
                .filter_map(|id| self.consents.get((patient, id)))
                .collect()
        }

        /// How many consents a patient has granted (the next id).
        #[ink(message)]
        pub fn consent_count(&self, patient: AccountId) -> u64 {
            self.off_path();
            self.consent_counts.get(patient).unwrap_or(0)
        }

        /// The rules `check` reads for this pair: active, not yet pruned. Not a message:
        /// the consents (`consents_of`) say the same, and code size is weight.
        pub(crate) fn active_rules(&self, patient: AccountId, grantee: Grantee) -> RuleSet {
            self.rules.get((patient, grantee)).unwrap_or_default()
        }

        // ---- delegates and emergency opt-out ---------------------------------------

        /// Patient only: appoint (or re-appoint with a new term) a delegate.
        #[ink(message)]
        pub fn appoint_delegate(
            &mut self,
            delegate: AccountId,
            until: Option<Timestamp>,
        ) -> Result<()> {
            self.off_path();
            let (patient, now) = (self.env().caller(), self.env().block_timestamp());
            self.ensure_running()?;
            if delegate == patient {
                return Err(Error::SelfDelegation);
            }
            if until.is_some_and(|end| end <= now) {
                return Err(Error::InvalidTerm);
            }
            let delegation = Delegation {
                appointed_at: now,
                until,
            };
            self.delegates.insert((patient, delegate), &delegation);
            self.env().emit_event(DelegateAppointed {
                patient,
                delegate,
                until,
            });
            Ok(())
        }

        /// Patient only: remove a delegate. Allowed while paused.
        #[ink(message)]
        pub fn remove_delegate(&mut self, delegate: AccountId) -> Result<()> {
            self.off_path();
            let patient = self.env().caller();
            if !self.delegates.contains((patient, delegate)) {
                return Err(Error::DelegateNotFound);
            }
            self.delegates.remove((patient, delegate));
            self.env().emit_event(DelegateRemoved { patient, delegate });
            Ok(())
        }

        #[ink(message)]
        pub fn delegation(&self, patient: AccountId, delegate: AccountId) -> Option<Delegation> {
            self.off_path();
            self.delegates.get((patient, delegate))
        }

        /// Patient or delegate: refuse (true) or allow (false) break-glass access.
        /// Logged with the actor. Opting out is allowed while paused; opting back in is
        /// not.
        #[ink(message)]
        pub fn set_emergency_opt_out(&mut self, patient: AccountId, opted_out: bool) -> Result<()> {
            self.off_path();
            let caller = self.env().caller();
            if !opted_out {
                self.ensure_running()?;
            }
            self.ensure_acts_for(&patient, &caller)?;
            self.append_log(NewEntry {
                patient,
                actor: caller,
                record: None,
                kind: EntryKind::EmergencyOptOut { opted_out },
                purpose: None,
                consent: None,
            })?;
            self.store_opt_out(patient, opted_out);
            Ok(())
        }

        #[ink(message)]
        pub fn emergency_opted_out(&self, patient: AccountId) -> bool {
            self.off_path();
            self.emergency_opt_outs.contains(patient)
        }

        // ---- provider directory ----------------------------------------------------

        /// Admin: add a provider with its roles and X25519 public key.
        #[ink(message)]
        pub fn register_provider(
            &mut self,
            provider: AccountId,
            roles: RoleSet,
            public_key: [u8; 32],
        ) -> Result<()> {
            self.off_path();
            self.ensure_admin()?;
            self.ensure_running()?;
            validate_roles(roles)?;
            validate_key(&public_key)?;
            if self.providers.contains(provider) {
                return Err(Error::ProviderExists);
            }
            let listed = self.directory_len.get().unwrap_or(0);
            let next = listed.checked_add(1).ok_or(Error::CounterOverflow)?;
            self.directory.insert(listed, &provider);
            self.directory_len.set(&next);
            self.save_provider(
                provider,
                &Provider {
                    roles,
                    status: ProviderStatus::Active,
                    public_key,
                    registered_at: self.env().block_timestamp(),
                },
            );
            Ok(())
        }

        /// Admin: suspend a provider; it is denied everything until reactivated.
        /// Allowed while paused.
        #[ink(message)]
        pub fn suspend_provider(&mut self, provider: AccountId) -> Result<()> {
            self.off_path();
            self.ensure_admin()?;
            let mut entry = self.existing_provider(&provider)?;
            if entry.status != ProviderStatus::Active {
                return Err(Error::ProviderNotActive);
            }
            entry.status = ProviderStatus::Suspended;
            self.save_provider(provider, &entry);
            Ok(())
        }

        /// Admin: lift a suspension.
        #[ink(message)]
        pub fn reactivate_provider(&mut self, provider: AccountId) -> Result<()> {
            self.off_path();
            self.ensure_admin()?;
            self.ensure_running()?;
            let mut entry = self.existing_provider(&provider)?;
            if entry.status != ProviderStatus::Suspended {
                return Err(Error::ProviderNotSuspended);
            }
            entry.status = ProviderStatus::Active;
            self.save_provider(provider, &entry);
            Ok(())
        }

        /// Admin: replace a provider's roles.
        #[ink(message)]
        pub fn set_provider_roles(&mut self, provider: AccountId, roles: RoleSet) -> Result<()> {
            self.off_path();
            self.ensure_admin()?;
            self.ensure_running()?;
            validate_roles(roles)?;
            let mut entry = self.existing_provider(&provider)?;
            entry.roles = roles;
            self.save_provider(provider, &entry);
            Ok(())
        }

        /// The provider itself, while active: publish a new X25519 public key (a
        /// suspended provider cannot redirect new key wraps to itself).
        #[ink(message)]
        pub fn rotate_provider_key(&mut self, public_key: [u8; 32]) -> Result<()> {
            self.off_path();
            let provider = self.env().caller();
            validate_key(&public_key)?;
            let mut entry = self.existing_provider(&provider)?;
            if entry.status != ProviderStatus::Active {
                return Err(Error::ProviderNotActive);
            }
            entry.public_key = public_key;
            self.save_provider(provider, &entry);
            Ok(())
        }

        #[ink(message)]
        pub fn provider(&self, provider: AccountId) -> Option<Provider> {
            self.off_path();
            self.providers.get(provider)
        }

        /// Admin: a provider's public display name, which the tools show and accept
        /// where an account is (see `valid_provider_name` for what a name may hold).
        /// Names need not be unique: a tool lists the candidates of an ambiguous one.
        /// Allowed while paused.
        #[ink(message)]
        pub fn set_provider_name(&mut self, provider: AccountId, name: Vec<u8>) -> Result<()> {
            self.off_path();
            self.ensure_admin()?;
            self.existing_provider(&provider)?;
            if !valid_provider_name(&name) {
                return Err(Error::InvalidName);
            }
            let name = String::from_utf8(name).map_err(|_| Error::InvalidName)?;
            self.provider_names.insert(provider, &name);
            self.env().emit_event(ProviderNamed { provider, name });
            Ok(())
        }

        /// The directory's entries `start..start+limit` in registration order, each
        /// with its display name.
        #[ink(message)]
        pub fn providers(
            &self,
            start: u32,
            limit: u32,
        ) -> Vec<(AccountId, Provider, Option<String>)> {
            self.off_path();
            let len = u64::from(self.directory_len.get().unwrap_or(0));
            page_range(u64::from(start), len, limit)
                .filter_map(|i| u32::try_from(i).ok())
                .filter_map(|i| self.directory.get(i))
                .filter_map(|account| {
                    let entry = self.providers.get(account)?;
                    Some((account, entry, self.provider_names.get(account)))
                })
                .collect()
        }
    }

    // The private steps the messages share (helpers.rs; see there why it is included).
    include!("helpers.rs");

    impl ConsentCheck for ConsentManager {
        /// Anyone (it is a read): the decision for one access. The patient and current
        /// delegates may read with PATRQT and append; every other accessor needs to be
        /// an active provider with an applicable permit and no applicable restriction.
        #[ink(message)]
        fn check(&self, request: AccessRequest) -> Verdict {
            self.off_path();
            self.gate(&request).unwrap_or_else(|| {
                let rules = self.rules_for(request.patient, request.accessor);
                decision::rule_verdict(&rules, &request, self.env().block_timestamp())
            })
        }

        /// Anyone: `check` for each record of a chart, in order; the gate is passed and
        /// the rules are read once for all of them.
        #[ink(message)]
        fn check_chart(&self, request: ChartRequest) -> Vec<Verdict> {
            let Some(&first) = request.records.first() else {
                return Vec::new();
            };
            if let Some(verdict) = self.gate(&request.single(first)) {
                return ink::prelude::vec![verdict; request.records.len()];
            }
            let now = self.env().block_timestamp();
            let rules = self.rules_for(request.patient, request.accessor);
            let mut verdicts = Vec::with_capacity(request.records.len());
            for &record in &request.records {
                verdicts.push(decision::rule_verdict(&rules, &request.single(record), now));
            }
            verdicts
        }

        /// Anyone: the decision for a break-glass access. Restrictions do not apply to
        /// it; only the patient's opt-out does.
        #[ink(message)]
        fn check_emergency(&self, patient: AccountId, responder: AccountId) -> Verdict {
            self.off_path();
            decision::emergency_verdict(self.providers.get(responder), self.paused, || {
                self.emergency_opt_outs.contains(patient)
            })
        }

        #[ink(message)]
        fn acts_for(&self, patient: AccountId, actor: AccountId) -> bool {
            self.off_path();
            self.is_patient_or_delegate(&patient, &actor)
        }
    }

    fn scope_record(scope: &Scope) -> Option<RecordId> {
        match *scope {
            Scope::Record(id) => Some(id),
            _ => None,
        }
    }

    /// Everything about a grant by `grantor` that needs no storage read
    /// (`decision::validate_terms`), as this contract's error.
    pub(crate) fn validate_terms(
        patient: &AccountId,
        grantor: &AccountId,
        grantee: &Grantee,
        terms: &ConsentTerms,
        now: Timestamp,
    ) -> Result<()> {
        decision::validate_terms(patient, grantor, grantee, terms, now)
    }

    fn validate_roles(roles: RoleSet) -> Result<()> {
        if roles.is_valid() {
            Ok(())
        } else {
            Err(Error::InvalidRoles)
        }
    }

    fn validate_key(key: &[u8; 32]) -> Result<()> {
        if key == &[0; 32] {
            Err(Error::InvalidKey)
        } else {
            Ok(())
        }
    }
}

#[cfg(all(test, not(full_code)))]
mod tests;

#[cfg(all(test, not(full_code)))]
mod proptests;

#[cfg(all(test, not(full_code)))]
mod party_tests;

#[cfg(all(test, not(full_code)))]
mod signed_tests;

#[cfg(all(test, not(full_code)))]
mod fuzz;
