//! Off-chain tests of the consent manager's own logic. Paths that call a peer (the log
//! after a grant or revoke, the registry for a Record scope) are exercised end to end in
//! e2e/; here successful grants and revocations go through the same storage helpers the
//! messages use, and every rejection goes through the message itself.

use crate::consent_manager::{validate_terms, ConsentManager, Error};
use ink::env::test::{default_accounts, recorded_events, set_block_timestamp, set_caller};
use ink::env::DefaultEnvironment;
use ink::primitives::AccountId;
use medconsent_shared::{
    AccessRequest, Action, ActionSet, Basis, ConsentCheck, ConsentShown, ConsentStatus,
    ConsentTerms, Decision, DenyReason, Grantee, Purpose, PurposeSet, Role, RoleSet, Scope,
    Verdict, MAX_PAGE, MAX_RULES_PER_PAIR,
};

pub(crate) type Env = DefaultEnvironment;

/// (reads, writes) of the contract's storage so far.
pub(crate) fn storage_rw() -> (usize, usize) {
    ink::env::test::get_contract_storage_rw::<Env>(&ink::env::test::callee::<Env>())
}

pub(crate) const GENESIS: [u8; 32] = [0x6e; 32];
pub(crate) const KEY: [u8; 32] = [7; 32];
pub(crate) const MENTAL_HEALTH: u16 = 9;
/// Every later wiring or code change waits this long (ms).
pub(crate) const DELAY: u64 = 1_000;

pub(crate) struct World {
    pub(crate) cm: ConsentManager,
    pub(crate) admin: AccountId,
    pub(crate) patient: AccountId,
    pub(crate) delegate: AccountId,
    pub(crate) doctor: AccountId,
    pub(crate) responder: AccountId,
    pub(crate) stranger: AccountId,
}

/// Admin alice; doctor (clinician) charlie and responder django registered; patient bob
/// with delegate frank until t=1_000; clock at t=100.
pub(crate) fn world() -> World {
    let a = default_accounts::<Env>();
    set_block_timestamp::<Env>(100);
    set_caller::<Env>(a.alice);
    let mut cm = ConsentManager::new(GENESIS, DELAY, [0xfc; 32].into());
    cm.register_provider(a.charlie, RoleSet::from([Role::Clinician]), KEY)
        .unwrap();
    cm.register_provider(
        a.django,
        RoleSet::from([Role::Clinician, Role::EmergencyResponder]),
        KEY,
    )
    .unwrap();
    set_caller::<Env>(a.bob);
    cm.appoint_delegate(a.frank, Some(1_000)).unwrap();
    World {
        cm,
        admin: a.alice,
        patient: a.bob,
        delegate: a.frank,
        doctor: a.charlie,
        responder: a.django,
        stranger: a.eve,
    }
}

pub(crate) fn permit(scope: Scope) -> ConsentTerms {
    ConsentTerms {
        decision: Decision::Permit,
        scope,
        actions: ActionSet::from([Action::Read]),
        purposes: PurposeSet::from([Purpose::Treat]),
        valid_from: 0,
        valid_until: None,
    }
}

pub(crate) fn deny(scope: Scope) -> ConsentTerms {
    ConsentTerms {
        decision: Decision::Deny,
        ..permit(scope)
    }
}

pub(crate) fn read(w: &World, accessor: AccountId, record: u64, category: u16) -> AccessRequest {
    AccessRequest {
        patient: w.patient,
        accessor,
        record: Some(record),
        category,
        action: Action::Read,
        purpose: Purpose::Treat,
    }
}

impl World {
    /// A grant as the message stores it once the log has accepted the entry.
    pub(crate) fn store(&mut self, grantee: Grantee, terms: ConsentTerms) -> u64 {
        let now = ink::env::block_timestamp::<Env>();
        validate_terms(&self.patient, &self.patient, &grantee, &terms, now).unwrap();
        self.cm
            .store_grant(self.patient, self.patient, grantee, terms, now)
            .unwrap()
    }

    /// What a patient is shown of consent `id` (an unknown id: a permit to the doctor).
    pub(crate) fn shown(&self, id: u64) -> ConsentShown {
        self.cm.consent(self.patient, id).map_or(
            ConsentShown {
                grantee: Grantee::Account(self.doctor),
                terms: permit(Scope::AllRecords),
            },
            |c| c.shown(),
        )
    }

    /// A revocation as the message stores it, naming the consent as it is listed.
    pub(crate) fn unstore(&mut self, id: u64, now: u64) -> medconsent_shared::Consent {
        let shown = self.shown(id);
        self.cm
            .store_revoke(&self.patient, id, &shown, now)
            .unwrap()
    }

    pub(crate) fn doctor_reads(&self, record: u64, category: u16) -> Verdict {
        self.cm.check(read(self, self.doctor, record, category))
    }

    /// Everything a rejected message could have touched, for before/after comparison.
    pub(crate) fn snapshot(&self) -> String {
        let p = self.patient;
        format!(
            "{:?}",
            (
                self.cm.consent_count(p),
                self.cm.consents_of(p, 0, MAX_PAGE),
                self.cm.active_rules(p, Grantee::Account(self.doctor)),
                self.cm.active_rules(p, Grantee::Anyone),
                self.cm.delegation(p, self.delegate),
                self.cm.delegation(p, self.stranger),
                self.cm.emergency_opted_out(p),
                (
                    self.cm.provider(self.doctor),
                    self.cm.provider(self.stranger)
                ),
                (self.cm.peers(), self.cm.paused()),
                (self.cm.admin(), self.cm.pending_admin()),
                self.cm.scheduled_change(),
            )
        )
    }

    /// Runs a message that must fail with `expected` and leave state as it was.
    pub(crate) fn rejects<T: core::fmt::Debug>(
        &mut self,
        caller: AccountId,
        expected: Error,
        message: impl FnOnce(&mut ConsentManager) -> Result<T, Error>,
    ) {
        let before = self.snapshot();
        let events = recorded_events().count();
        let (_, writes) = storage_rw();
        set_caller::<Env>(caller);
        assert_eq!(message(&mut self.cm).unwrap_err(), expected);
        assert_eq!(self.snapshot(), before, "state changed on {expected:?}");
        assert_eq!(recorded_events().count(), events, "event on {expected:?}");
        assert_eq!(storage_rw().1, writes, "storage written on {expected:?}");
    }
}

// ---- the decision --------------------------------------------------------------------

#[ink::test]
fn no_permit_means_deny() {
    let w = world();
    assert_eq!(w.doctor_reads(1, 1), Verdict::Deny(DenyReason::NoConsent));
}

#[ink::test]
fn a_matching_permit_permits() {
    let mut w = world();
    let id = w.store(Grantee::Account(w.doctor), permit(Scope::AllRecords));
    assert_eq!(w.doctor_reads(1, 1), Verdict::Permit(Basis::Consent(id)));
    let consent = w.cm.consent(w.patient, id).unwrap();
    assert_eq!(consent.status, ConsentStatus::Active);
    assert_eq!(consent.created_at, 100);
    assert_eq!(consent.grantor, w.patient);
}

#[ink::test]
fn permit_needs_matching_action_and_purpose() {
    let mut w = world();
    w.store(Grantee::Account(w.doctor), permit(Scope::AllRecords));
    let mut append = read(&w, w.doctor, 1, 1);
    append.action = Action::Append;
    assert_eq!(w.cm.check(append), Verdict::Deny(DenyReason::NoConsent));
    let mut research = read(&w, w.doctor, 1, 1);
    research.purpose = Purpose::Research;
    assert_eq!(w.cm.check(research), Verdict::Deny(DenyReason::NoConsent));
}

#[ink::test]
fn a_permit_for_one_grantee_does_not_reach_another() {
    let mut w = world();
    w.store(Grantee::Account(w.doctor), permit(Scope::AllRecords));
    let other = w.cm.check(read(&w, w.responder, 1, 1));
    assert_eq!(other, Verdict::Deny(DenyReason::NoConsent));
}

#[ink::test]
fn deny_overrides_permit_for_the_same_grantee() {
    let mut w = world();
    w.store(Grantee::Account(w.doctor), permit(Scope::AllRecords));
    let restriction = w.store(
        Grantee::Account(w.doctor),
        deny(Scope::Category(MENTAL_HEALTH)),
    );
    assert_eq!(
        w.doctor_reads(1, MENTAL_HEALTH),
        Verdict::Deny(DenyReason::Restricted(restriction))
    );
    assert!(matches!(w.doctor_reads(1, 2), Verdict::Permit(_)));
}

#[ink::test]
fn a_restriction_on_anyone_overrides_every_permit() {
    let mut w = world();
    w.store(Grantee::Account(w.doctor), permit(Scope::Record(5)));
    let restriction = w.store(Grantee::Anyone, deny(Scope::Category(MENTAL_HEALTH)));
    assert_eq!(
        w.doctor_reads(5, MENTAL_HEALTH),
        Verdict::Deny(DenyReason::Restricted(restriction))
    );
    assert!(matches!(w.doctor_reads(5, 1), Verdict::Permit(_)));
}

#[ink::test]
fn record_scope_covers_that_record_only() {
    let mut w = world();
    let id = w.store(Grantee::Account(w.doctor), permit(Scope::Record(5)));
    assert_eq!(w.doctor_reads(5, 1), Verdict::Permit(Basis::Consent(id)));
    assert_eq!(w.doctor_reads(6, 1), Verdict::Deny(DenyReason::NoConsent));
}

#[ink::test]
fn validity_window_is_evaluated_at_check_time() {
    let mut w = world();
    let terms = ConsentTerms {
        valid_from: 200,
        valid_until: Some(300),
        ..permit(Scope::AllRecords)
    };
    let id = w.store(Grantee::Account(w.doctor), terms);
    assert_eq!(w.doctor_reads(1, 1), Verdict::Deny(DenyReason::NoConsent));
    set_block_timestamp::<Env>(200);
    assert_eq!(w.doctor_reads(1, 1), Verdict::Permit(Basis::Consent(id)));
    set_block_timestamp::<Env>(299);
    assert_eq!(w.doctor_reads(1, 1), Verdict::Permit(Basis::Consent(id)));
    set_block_timestamp::<Env>(300);
    assert_eq!(
        w.doctor_reads(1, 1),
        Verdict::Deny(DenyReason::NoConsent),
        "valid_until is exclusive"
    );
}

#[ink::test]
fn an_expired_restriction_no_longer_denies() {
    let mut w = world();
    let id = w.store(Grantee::Account(w.doctor), permit(Scope::AllRecords));
    w.store(
        Grantee::Anyone,
        ConsentTerms {
            valid_until: Some(150),
            ..deny(Scope::AllRecords)
        },
    );
    assert!(matches!(w.doctor_reads(1, 1), Verdict::Deny(_)));
    set_block_timestamp::<Env>(150);
    assert_eq!(w.doctor_reads(1, 1), Verdict::Permit(Basis::Consent(id)));
}

#[ink::test]
fn revocation_takes_effect_at_once_and_keeps_history() {
    let mut w = world();
    let id = w.store(Grantee::Account(w.doctor), permit(Scope::AllRecords));
    set_block_timestamp::<Env>(120);
    let revoked = w.unstore(id, 120);
    assert_eq!(revoked.status, ConsentStatus::Revoked);
    assert_eq!(w.doctor_reads(1, 1), Verdict::Deny(DenyReason::NoConsent));
    let kept = w.cm.consent(w.patient, id).unwrap();
    assert_eq!(kept.status, ConsentStatus::Revoked);
    assert_eq!(kept.revoked_at, Some(120));
    assert!(w
        .cm
        .active_rules(w.patient, Grantee::Account(w.doctor))
        .is_empty());
}

#[ink::test]
fn revoking_a_restriction_restores_the_permit() {
    let mut w = world();
    let id = w.store(Grantee::Account(w.doctor), permit(Scope::AllRecords));
    let restriction = w.store(Grantee::Anyone, deny(Scope::AllRecords));
    w.unstore(restriction, 100);
    assert_eq!(w.doctor_reads(1, 1), Verdict::Permit(Basis::Consent(id)));
}

#[ink::test]
fn a_suspended_provider_is_denied_even_with_a_permit() {
    let mut w = world();
    let id = w.store(Grantee::Account(w.doctor), permit(Scope::AllRecords));
    set_caller::<Env>(w.admin);
    w.cm.suspend_provider(w.doctor).unwrap();
    assert_eq!(
        w.doctor_reads(1, 1),
        Verdict::Deny(DenyReason::ProviderSuspended)
    );
    w.cm.reactivate_provider(w.doctor).unwrap();
    assert_eq!(w.doctor_reads(1, 1), Verdict::Permit(Basis::Consent(id)));
}

#[ink::test]
fn accessors_outside_the_directory_are_denied() {
    let mut w = world();
    w.store(Grantee::Account(w.stranger), permit(Scope::AllRecords));
    let verdict = w.cm.check(read(&w, w.stranger, 1, 1));
    assert_eq!(verdict, Verdict::Deny(DenyReason::NotProvider));
}

#[ink::test]
fn patient_and_delegate_read_their_own_records() {
    let mut w = world();
    w.store(Grantee::Anyone, deny(Scope::AllRecords));
    let own = |w: &World, who| AccessRequest {
        purpose: Purpose::PatientRequest,
        ..read(w, who, 1, MENTAL_HEALTH)
    };
    assert_eq!(
        w.cm.check(own(&w, w.patient)),
        Verdict::Permit(Basis::Patient)
    );
    assert_eq!(
        w.cm.check(own(&w, w.delegate)),
        Verdict::Permit(Basis::Delegate)
    );
    let append = AccessRequest {
        action: Action::Append,
        record: None,
        ..own(&w, w.delegate)
    };
    assert_eq!(w.cm.check(append), Verdict::Permit(Basis::Delegate));
    // A delegate acts for the patient with PATRQT only: with a clinical purpose it is
    // one more accessor, and outside the directory it gets nothing.
    let clinical_append = AccessRequest {
        purpose: Purpose::Treat,
        ..append
    };
    assert_eq!(
        w.cm.check(clinical_append),
        Verdict::Deny(DenyReason::NotProvider)
    );
    // Another purpose is no own use: the patient is not a provider.
    let treat = read(&w, w.patient, 1, 1);
    assert_eq!(w.cm.check(treat), Verdict::Deny(DenyReason::NotProvider));
    // A delegate whose term ended is no delegate.
    set_block_timestamp::<Env>(1_000);
    assert_eq!(
        w.cm.check(own(&w, w.delegate)),
        Verdict::Deny(DenyReason::NotProvider)
    );
    assert!(!w.cm.acts_for(w.patient, w.delegate));
    assert!(w.cm.acts_for(w.patient, w.patient));
}

#[ink::test]
fn a_paused_manager_denies_everything() {
    let mut w = world();
    w.store(Grantee::Account(w.doctor), permit(Scope::AllRecords));
    set_caller::<Env>(w.admin);
    w.cm.set_paused(true).unwrap();
    assert_eq!(w.doctor_reads(1, 1), Verdict::Deny(DenyReason::Paused));
    assert_eq!(
        w.cm.check_emergency(w.patient, w.responder),
        Verdict::Deny(DenyReason::Paused)
    );
    // The patient's own use is paused too; a stranger is still told it is no provider
    // (the registry then refuses it without a log entry).
    let own = AccessRequest {
        purpose: Purpose::PatientRequest,
        ..read(&w, w.patient, 1, 1)
    };
    assert_eq!(w.cm.check(own), Verdict::Deny(DenyReason::Paused));
    assert_eq!(
        w.cm.check(read(&w, w.stranger, 1, 1)),
        Verdict::Deny(DenyReason::NotProvider)
    );
    assert_eq!(
        w.cm.check_emergency(w.patient, w.stranger),
        Verdict::Deny(DenyReason::NotProvider)
    );
    w.cm.set_paused(false).unwrap();
    assert!(matches!(w.doctor_reads(1, 1), Verdict::Permit(_)));
}

#[ink::test]
fn break_glass_needs_an_active_responder_and_no_opt_out() {
    let mut w = world();
    let (p, responder, doctor, stranger) = (w.patient, w.responder, w.doctor, w.stranger);
    assert_eq!(
        w.cm.check_emergency(p, responder),
        Verdict::Permit(Basis::Emergency)
    );
    assert_eq!(
        w.cm.check_emergency(p, doctor),
        Verdict::Deny(DenyReason::NotResponder)
    );
    assert_eq!(
        w.cm.check_emergency(p, stranger),
        Verdict::Deny(DenyReason::NotProvider)
    );
    // A restriction does not stop break-glass; the opt-out does.
    w.store(Grantee::Anyone, deny(Scope::AllRecords));
    assert_eq!(
        w.cm.check_emergency(p, responder),
        Verdict::Permit(Basis::Emergency)
    );
    w.cm.store_opt_out(p, true);
    assert!(w.cm.emergency_opted_out(p));
    assert_eq!(
        w.cm.check_emergency(p, responder),
        Verdict::Deny(DenyReason::EmergencyOptedOut)
    );
    w.cm.store_opt_out(p, false);
    set_caller::<Env>(w.admin);
    w.cm.suspend_provider(responder).unwrap();
    assert_eq!(
        w.cm.check_emergency(p, responder),
        Verdict::Deny(DenyReason::ProviderSuspended)
    );
}

// ---- the rule bound ------------------------------------------------------------------

#[ink::test]
fn each_pair_holds_a_bounded_number_of_active_rules() {
    let mut w = world();
    let doctor = Grantee::Account(w.doctor);
    for _ in 0..MAX_RULES_PER_PAIR {
        w.store(doctor, permit(Scope::AllRecords));
    }
    let before = w.snapshot();
    let now = ink::env::block_timestamp::<Env>();
    let full =
        w.cm.store_grant(w.patient, w.patient, doctor, permit(Scope::AllRecords), now);
    assert_eq!(full, Err(Error::TooManyRules));
    assert_eq!(w.snapshot(), before);
    // Another grantee is another pair.
    w.store(Grantee::Account(w.responder), permit(Scope::AllRecords));
    // Revoking frees a slot.
    w.unstore(0, now);
    w.store(doctor, permit(Scope::AllRecords));
}

#[ink::test]
fn expired_rules_are_pruned_to_make_room() {
    let mut w = world();
    let doctor = Grantee::Account(w.doctor);
    let short = ConsentTerms {
        valid_until: Some(200),
        ..permit(Scope::AllRecords)
    };
    for _ in 0..MAX_RULES_PER_PAIR {
        w.store(doctor, short);
    }
    set_block_timestamp::<Env>(200);
    let id = w.store(doctor, permit(Scope::AllRecords));
    assert_eq!(
        w.cm.active_rules(w.patient, doctor),
        vec![(id, permit(Scope::AllRecords))]
    );
    // The pruned consents stay in the history.
    assert_eq!(w.cm.consent_count(w.patient), 9);
    assert_eq!(w.cm.consent(w.patient, 0).unwrap().terms, short);
}

#[ink::test]
fn consents_are_listed_in_pages() {
    let mut w = world();
    for grantee in [w.doctor, w.responder, w.delegate, w.stranger] {
        w.store(Grantee::Account(grantee), permit(Scope::AllRecords));
    }
    let page = w.cm.consents_of(w.patient, 1, 2);
    assert_eq!(page.iter().map(|c| c.id).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(w.cm.consents_of(w.patient, 0, u32::MAX).len(), 4);
    assert!(w.cm.consents_of(w.patient, 4, 10).is_empty());
    assert!(w.cm.consents_of(w.patient, u64::MAX, 10).is_empty());
}

// ---- grant and revoke rejections -----------------------------------------------------

#[ink::test]
fn grant_rejects_bad_terms_without_changing_anything() {
    let mut w = world();
    let (p, doctor) = (w.patient, Grantee::Account(w.doctor));
    let cases = [
        (
            Grantee::Account(p),
            permit(Scope::AllRecords),
            Error::SelfGrant,
        ),
        (
            Grantee::Anyone,
            permit(Scope::AllRecords),
            Error::AnyoneMayOnlyBeDenied,
        ),
        (
            doctor,
            ConsentTerms {
                actions: ActionSet(0),
                ..permit(Scope::AllRecords)
            },
            Error::InvalidActions,
        ),
        (
            doctor,
            ConsentTerms {
                actions: ActionSet(4),
                ..permit(Scope::AllRecords)
            },
            Error::InvalidActions,
        ),
        (
            doctor,
            ConsentTerms {
                purposes: PurposeSet(0),
                ..permit(Scope::AllRecords)
            },
            Error::InvalidPurposes,
        ),
        (
            doctor,
            ConsentTerms {
                purposes: PurposeSet(128),
                ..permit(Scope::AllRecords)
            },
            Error::InvalidPurposes,
        ),
        // "The patient's own request" is never granted: the reader would name its own
        // reply key at the key servers.
        (
            doctor,
            ConsentTerms {
                purposes: PurposeSet::from([Purpose::Treat, Purpose::PatientRequest]),
                ..permit(Scope::AllRecords)
            },
            Error::InvalidPurposes,
        ),
        (
            doctor,
            ConsentTerms {
                valid_from: 500,
                valid_until: Some(500),
                ..permit(Scope::AllRecords)
            },
            Error::InvalidWindow,
        ),
        (
            doctor,
            ConsentTerms {
                valid_from: 500,
                valid_until: Some(400),
                ..permit(Scope::AllRecords)
            },
            Error::InvalidWindow,
        ),
        (
            doctor,
            ConsentTerms {
                valid_until: Some(100),
                ..permit(Scope::AllRecords)
            },
            Error::InvalidWindow,
        ),
        // Not wired to a registry: a Record scope cannot be confirmed.
        (doctor, permit(Scope::Record(3)), Error::RegistryUnavailable),
    ];
    for (grantee, terms, expected) in cases {
        w.rejects(p, expected, |cm| cm.grant(p, grantee, terms));
    }
}

#[ink::test]
fn grant_is_for_the_patient_and_current_delegates_only() {
    let mut w = world();
    let (p, doctor, delegate) = (w.patient, Grantee::Account(w.doctor), w.delegate);
    for who in [w.stranger, w.doctor, w.admin] {
        w.rejects(who, Error::NotPatientOrDelegate, |cm| {
            cm.grant(p, doctor, permit(Scope::AllRecords))
        });
    }
    set_block_timestamp::<Env>(1_000);
    w.rejects(delegate, Error::NotPatientOrDelegate, |cm| {
        cm.grant(p, doctor, permit(Scope::AllRecords))
    });
}

#[ink::test]
fn a_delegate_cannot_grant_to_itself() {
    let mut w = world();
    let (p, delegate) = (w.patient, w.delegate);
    let to_self = Grantee::Account(delegate);
    w.rejects(delegate, Error::SelfGrant, |cm| {
        cm.grant(p, to_self, permit(Scope::AllRecords))
    });
    // The patient may grant to the delegate (it reaches the unwired log).
    w.rejects(p, Error::LogUnavailable, |cm| {
        cm.grant(p, to_self, permit(Scope::AllRecords))
    });
    // A restriction on itself is refused too: a grantor never names itself.
    w.rejects(delegate, Error::SelfGrant, |cm| {
        cm.grant(p, to_self, deny(Scope::AllRecords))
    });
}

#[ink::test]
fn a_suspended_provider_who_is_a_delegate_keeps_only_the_delegate_rights() {
    let mut w = world();
    let (p, doctor) = (w.patient, w.doctor);
    set_caller::<Env>(p);
    w.cm.appoint_delegate(doctor, None).unwrap();
    w.store(Grantee::Account(doctor), permit(Scope::AllRecords));
    set_caller::<Env>(w.admin);
    w.cm.suspend_provider(doctor).unwrap();
    let clinical = read(&w, doctor, 1, 1);
    assert_eq!(
        w.cm.check(clinical),
        Verdict::Deny(DenyReason::ProviderSuspended)
    );
    let clinical_append = AccessRequest {
        action: Action::Append,
        ..clinical
    };
    assert_eq!(
        w.cm.check(clinical_append),
        Verdict::Deny(DenyReason::ProviderSuspended)
    );
    assert_eq!(
        w.cm.check_emergency(p, doctor),
        Verdict::Deny(DenyReason::ProviderSuspended)
    );
    // What the patient gave it as a delegate, the admin cannot take away.
    let own = AccessRequest {
        purpose: Purpose::PatientRequest,
        ..clinical
    };
    assert_eq!(w.cm.check(own), Verdict::Permit(Basis::Delegate));
    assert!(w.cm.acts_for(p, doctor));
    // And it cannot point new key wraps at itself while suspended.
    w.rejects(doctor, Error::ProviderNotActive, |cm| {
        cm.rotate_provider_key([8; 32])
    });
    assert_eq!(w.cm.provider(doctor).unwrap().public_key, KEY);
}

#[ink::test]
fn grant_while_paused_is_refused() {
    let mut w = world();
    set_caller::<Env>(w.admin);
    w.cm.set_paused(true).unwrap();
    let (p, doctor) = (w.patient, Grantee::Account(w.doctor));
    w.rejects(p, Error::Paused, |cm| {
        cm.grant(p, doctor, permit(Scope::AllRecords))
    });
}

#[ink::test]
fn revoke_rejections() {
    let mut w = world();
    let id = w.store(Grantee::Account(w.doctor), permit(Scope::AllRecords));
    let (p, stranger, doctor) = (w.patient, w.stranger, w.doctor);
    let shown = w.shown(id);
    w.rejects(stranger, Error::NotPatientOrDelegate, |cm| {
        cm.revoke(p, id, shown)
    });
    w.rejects(doctor, Error::NotPatientOrDelegate, |cm| {
        cm.revoke(p, id, shown)
    });
    w.rejects(p, Error::ConsentNotFound, |cm| cm.revoke(p, id + 1, shown));
    w.unstore(id, 100);
    w.rejects(p, Error::AlreadyRevoked, |cm| cm.revoke(p, id, shown));
}

/// A node that lists the patient's restriction under the id of a permit (or the other
/// way round) cannot make the patient revoke the rule they did not pick: the contract
/// compares what the revoker was shown with what the id holds.
#[ink::test]
fn a_revocation_naming_other_terms_than_the_ids_is_refused() {
    let mut w = world();
    let permit_id = w.store(Grantee::Account(w.doctor), permit(Scope::AllRecords));
    let restriction = w.store(Grantee::Anyone, deny(Scope::Category(3)));
    let p = w.patient;
    // The permit as shown, sent with the restriction's id.
    let permit_shown = w.shown(permit_id);
    w.rejects(p, Error::ConsentMismatch, |cm| {
        cm.revoke(p, restriction, permit_shown)
    });
    // The right grantee with other terms, and the right terms with another grantee.
    let restriction_shown = w.shown(restriction);
    let other_grantee = ConsentShown {
        grantee: Grantee::Account(w.doctor),
        ..restriction_shown
    };
    w.rejects(p, Error::ConsentMismatch, |cm| {
        cm.revoke(p, restriction, other_grantee)
    });
    let wider = ConsentShown {
        terms: ConsentTerms {
            valid_until: Some(10_000),
            ..restriction_shown.terms
        },
        ..restriction_shown
    };
    w.rejects(p, Error::ConsentMismatch, |cm| {
        cm.revoke(p, restriction, wider)
    });
    // The restriction still stands between the doctor and category 3.
    assert!(matches!(w.doctor_reads(1, 3), Verdict::Deny(_)));
    assert_eq!(
        w.doctor_reads(1, 1),
        Verdict::Permit(Basis::Consent(permit_id))
    );
}
