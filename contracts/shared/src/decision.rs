//! The consent decision as pure functions: what terms a grant may have, when the patient
//! or a delegate decides by themselves, how the directory and the pause gate everyone
//! else, and how the rules weigh (any applicable Deny wins, then any Permit). The consent
//! manager calls these with what it read from storage (lazily, through the closures, so
//! a decision reads no more than it needs); their tests here drive them directly. They
//! are `inline(always)`: they run in the consent manager's front on every access, whose
//! every byte is paid, and inlined they cost what they cost inside the contract (the
//! front is 4 bytes smaller than before the move; 48 bytes larger without it).

use crate::{
    AccessRequest, AccountId, Action, Basis, ConsentTerms, Decision, DenyReason, Grantee, Provider,
    ProviderStatus, Purpose, Role, RuleSet, Timestamp, Verdict,
};

/// Why terms cannot be granted, whatever storage holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermsError {
    /// A grant to the patient or to the grantor itself.
    SelfGrant,
    /// "Anyone" may only be restricted, never permitted.
    AnyoneMayOnlyBeDenied,
    InvalidActions,
    InvalidPurposes,
    /// `valid_until` not after `valid_from`, or already past.
    InvalidWindow,
}

/// An error type with a value for each [`TermsError`]: the consent manager's own error
/// implements it, so [`validate_terms`] returns the contract's variants directly and the
/// contract pays for no translation between two enums.
pub trait TermsRefusals: Sized {
    const SELF_GRANT: Self;
    const ANYONE_MAY_ONLY_BE_DENIED: Self;
    const INVALID_ACTIONS: Self;
    const INVALID_PURPOSES: Self;
    const INVALID_WINDOW: Self;
}

impl TermsRefusals for TermsError {
    const SELF_GRANT: Self = TermsError::SelfGrant;
    const ANYONE_MAY_ONLY_BE_DENIED: Self = TermsError::AnyoneMayOnlyBeDenied;
    const INVALID_ACTIONS: Self = TermsError::InvalidActions;
    const INVALID_PURPOSES: Self = TermsError::InvalidPurposes;
    const INVALID_WINDOW: Self = TermsError::InvalidWindow;
}

/// Everything about a grant by `grantor` (the patient or a delegate) that needs no
/// storage read.
#[inline(always)]
pub fn validate_terms<E: TermsRefusals>(
    patient: &AccountId,
    grantor: &AccountId,
    grantee: &Grantee,
    terms: &ConsentTerms,
    now: Timestamp,
) -> Result<(), E> {
    match grantee {
        Grantee::Account(account) if account == patient || account == grantor => {
            return Err(E::SELF_GRANT)
        }
        Grantee::Anyone if terms.decision == Decision::Permit => {
            return Err(E::ANYONE_MAY_ONLY_BE_DENIED)
        }
        _ => {}
    }
    if !terms.actions.is_valid() {
        return Err(E::INVALID_ACTIONS);
    }
    // "The patient's own request" is the patient's and its delegates' without any grant;
    // permitted to someone else it would send that reader's shares to a key of its
    // choosing instead of its directory key.
    if !terms.purposes.is_valid()
        || (terms.decision == Decision::Permit && terms.purposes.contains(Purpose::PatientRequest))
    {
        return Err(E::INVALID_PURPOSES);
    }
    if terms
        .valid_until
        .is_some_and(|until| until <= terms.valid_from || until <= now)
    {
        return Err(E::INVALID_WINDOW);
    }
    Ok(())
}

/// What decides a request before any rule does: the patient's own use, a delegate's, the
/// directory, the pause, a suspension. None: the rules decide. It depends on no record,
/// so a chart asks it once.
///
/// The patient reads with PATRQT and writes for any purpose. A delegate acts for the
/// patient only with PATRQT; with a clinical purpose it is one more provider, so a
/// suspended provider keeps nothing as a provider. Outside the directory is said before
/// the pause, so that the registry keeps strangers out of the log while paused too.
#[inline(always)]
pub fn gate(
    request: &AccessRequest,
    paused: bool,
    is_delegate: impl FnOnce() -> bool,
    provider: impl FnOnce() -> Option<Provider>,
) -> Option<Verdict> {
    let patient_request = request.purpose == Purpose::PatientRequest;
    let own_use = if request.accessor == request.patient
        && (patient_request || request.action == Action::Append)
    {
        Some(Basis::Patient)
    } else if patient_request && is_delegate() {
        Some(Basis::Delegate)
    } else {
        None
    };
    let provider = match own_use {
        Some(_) => None,
        None => match provider() {
            None => return Some(Verdict::Deny(DenyReason::NotProvider)),
            some => some,
        },
    };
    if paused {
        return Some(Verdict::Deny(DenyReason::Paused));
    }
    match (own_use, provider) {
        (Some(basis), _) => Some(Verdict::Permit(basis)),
        (None, Some(p)) if p.status != ProviderStatus::Active => {
            Some(Verdict::Deny(DenyReason::ProviderSuspended))
        }
        _ => None,
    }
}

/// The verdict of the rules (the pair's, then the "anyone" ones): the first applicable
/// Deny wins; otherwise the first applicable Permit; otherwise no consent.
#[inline(always)]
pub fn rule_verdict(rules: &[RuleSet; 2], request: &AccessRequest, now: Timestamp) -> Verdict {
    let mut permit = None;
    for (id, rule) in rules.iter().flatten() {
        if !rule.applies_to(request, now) {
            continue;
        }
        match rule.decision {
            Decision::Deny => return Verdict::Deny(DenyReason::Restricted(*id)),
            Decision::Permit => permit = permit.or(Some(*id)),
        }
    }
    permit.map_or(Verdict::Deny(DenyReason::NoConsent), |id| {
        Verdict::Permit(Basis::Consent(id))
    })
}

/// The decision for a break-glass access: restrictions do not apply to it, the patient's
/// opt-out does; the responder must be an active provider with the responder role.
#[inline(always)]
pub fn emergency_verdict(
    provider: Option<Provider>,
    paused: bool,
    opted_out: impl FnOnce() -> bool,
) -> Verdict {
    let reason = match provider {
        None => DenyReason::NotProvider,
        Some(_) if paused => DenyReason::Paused,
        Some(p) if p.status != ProviderStatus::Active => DenyReason::ProviderSuspended,
        Some(p) if !p.roles.contains(Role::EmergencyResponder) => DenyReason::NotResponder,
        Some(_) if opted_out() => DenyReason::EmergencyOptedOut,
        Some(_) => return Verdict::Permit(Basis::Emergency),
    };
    Verdict::Deny(reason)
}

/// Whether a rule has run out at `now` (pruned on the next grant or revoke).
#[inline(always)]
pub fn expired(rule: &ConsentTerms, now: Timestamp) -> bool {
    rule.valid_until.is_some_and(|until| until <= now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ActionSet, PurposeSet, RoleSet, Scope};

    const PATIENT: AccountId = AccountId([1; 32]);
    const DOCTOR: AccountId = AccountId([2; 32]);

    fn request(accessor: AccountId, action: Action, purpose: Purpose) -> AccessRequest {
        AccessRequest {
            patient: PATIENT,
            accessor,
            record: Some(7),
            category: 3,
            action,
            purpose,
        }
    }

    fn provider(status: ProviderStatus, role: Role) -> Option<Provider> {
        Some(Provider {
            roles: RoleSet::from([role]),
            status,
            public_key: [5; 32],
            registered_at: 0,
        })
    }

    fn terms(decision: Decision, scope: Scope) -> ConsentTerms {
        ConsentTerms {
            decision,
            scope,
            actions: ActionSet::from([Action::Read]),
            purposes: PurposeSet::from([Purpose::Treat]),
            valid_from: 10,
            valid_until: Some(100),
        }
    }

    fn never<T>() -> T {
        panic!("read although the decision did not need it")
    }

    #[test]
    fn the_patient_and_a_delegate_decide_without_the_directory() {
        let own = request(PATIENT, Action::Read, Purpose::PatientRequest);
        assert_eq!(
            gate(&own, false, never, never),
            Some(Verdict::Permit(Basis::Patient))
        );
        let append = request(PATIENT, Action::Append, Purpose::Treat);
        assert_eq!(
            gate(&append, false, never, never),
            Some(Verdict::Permit(Basis::Patient))
        );
        let delegate = request(DOCTOR, Action::Read, Purpose::PatientRequest);
        assert_eq!(
            gate(&delegate, false, || true, never),
            Some(Verdict::Permit(Basis::Delegate))
        );
        // Paused: nothing goes through, not even the patient's own read.
        assert_eq!(
            gate(&own, true, never, never),
            Some(Verdict::Deny(DenyReason::Paused))
        );
    }

    #[test]
    fn everyone_else_is_gated_by_the_directory_then_the_pause() {
        // A delegate with a clinical purpose is one more provider.
        let clinical = request(DOCTOR, Action::Read, Purpose::Treat);
        assert_eq!(
            gate(&clinical, true, never, || None),
            Some(Verdict::Deny(DenyReason::NotProvider)),
            "outside the directory is said before the pause"
        );
        let active = || provider(ProviderStatus::Active, Role::Clinician);
        assert_eq!(
            gate(&clinical, true, never, active),
            Some(Verdict::Deny(DenyReason::Paused))
        );
        assert_eq!(gate(&clinical, false, never, active), None);
        let suspended = || provider(ProviderStatus::Suspended, Role::Clinician);
        assert_eq!(
            gate(&clinical, false, never, suspended),
            Some(Verdict::Deny(DenyReason::ProviderSuspended))
        );
        // The patient reading for treatment is not its own PATRQT read: the rules decide.
        let patient_treat = request(PATIENT, Action::Read, Purpose::Treat);
        assert_eq!(gate(&patient_treat, false, || false, active), None);
    }

    #[test]
    fn a_restriction_overrides_any_permit_and_anyone_rules_count() {
        let read = request(DOCTOR, Action::Read, Purpose::Treat);
        let permit = (1, terms(Decision::Permit, Scope::AllRecords));
        let deny_record = (2, terms(Decision::Deny, Scope::Record(7)));
        let deny_other = (3, terms(Decision::Deny, Scope::Record(8)));
        let pair = [permit, deny_other].to_vec();
        assert_eq!(
            rule_verdict(&[pair.clone(), RuleSet::new()], &read, 50),
            Verdict::Permit(Basis::Consent(1))
        );
        // A restriction of "anyone" on the record wins over the pair's permit.
        assert_eq!(
            rule_verdict(&[pair, [deny_record].to_vec()], &read, 50),
            Verdict::Deny(DenyReason::Restricted(2))
        );
        // Outside the window, or for another purpose, no rule applies.
        let both = [[permit, deny_record].to_vec(), RuleSet::new()];
        assert_eq!(
            rule_verdict(&both, &read, 100),
            Verdict::Deny(DenyReason::NoConsent)
        );
        let research = request(DOCTOR, Action::Read, Purpose::Research);
        assert_eq!(
            rule_verdict(&both, &research, 50),
            Verdict::Deny(DenyReason::NoConsent)
        );
    }

    #[test]
    fn break_glass_needs_an_active_responder_and_no_opt_out() {
        let responder = || provider(ProviderStatus::Active, Role::EmergencyResponder);
        assert_eq!(
            emergency_verdict(responder(), false, || false),
            Verdict::Permit(Basis::Emergency)
        );
        for (provider, paused, opted_out, reason) in [
            (None, false, false, DenyReason::NotProvider),
            (responder(), true, false, DenyReason::Paused),
            (
                provider(ProviderStatus::Suspended, Role::EmergencyResponder),
                false,
                false,
                DenyReason::ProviderSuspended,
            ),
            (
                provider(ProviderStatus::Active, Role::Clinician),
                false,
                false,
                DenyReason::NotResponder,
            ),
            (responder(), false, true, DenyReason::EmergencyOptedOut),
        ] {
            assert_eq!(
                emergency_verdict(provider, paused, || opted_out),
                Verdict::Deny(reason)
            );
        }
    }

    #[test]
    fn terms_are_refused_for_what_they_say_alone() {
        let permit = terms(Decision::Permit, Scope::AllRecords);
        let to_doctor = Grantee::Account(DOCTOR);
        assert_eq!(
            validate_terms::<TermsError>(&PATIENT, &PATIENT, &to_doctor, &permit, 0),
            Ok(())
        );
        for (grantor, grantee, terms, now, error) in [
            (
                PATIENT,
                Grantee::Account(PATIENT),
                permit,
                0,
                TermsError::SelfGrant,
            ),
            (DOCTOR, to_doctor, permit, 0, TermsError::SelfGrant),
            (
                PATIENT,
                Grantee::Anyone,
                permit,
                0,
                TermsError::AnyoneMayOnlyBeDenied,
            ),
            (
                PATIENT,
                to_doctor,
                ConsentTerms {
                    actions: ActionSet::default(),
                    ..permit
                },
                0,
                TermsError::InvalidActions,
            ),
            (
                PATIENT,
                to_doctor,
                ConsentTerms {
                    purposes: PurposeSet::default(),
                    ..permit
                },
                0,
                TermsError::InvalidPurposes,
            ),
            (PATIENT, to_doctor, permit, 100, TermsError::InvalidWindow),
            (
                PATIENT,
                to_doctor,
                ConsentTerms {
                    valid_until: Some(10),
                    ..permit
                },
                0,
                TermsError::InvalidWindow,
            ),
        ] {
            assert_eq!(
                validate_terms::<TermsError>(&PATIENT, &grantor, &grantee, &terms, now),
                Err(error)
            );
        }
        let own_request = PurposeSet::from([Purpose::PatientRequest]);
        assert_eq!(
            validate_terms::<TermsError>(
                &PATIENT,
                &PATIENT,
                &to_doctor,
                &ConsentTerms {
                    purposes: own_request,
                    ..permit
                },
                0
            ),
            Err(TermsError::InvalidPurposes)
        );
        // Restricting it is harmless and allowed.
        let mut restrict_own_request = terms(Decision::Deny, Scope::Category(3));
        restrict_own_request.purposes = own_request;
        assert_eq!(
            validate_terms::<TermsError>(&PATIENT, &PATIENT, &to_doctor, &restrict_own_request, 0),
            Ok(())
        );
        let restrict_anyone = terms(Decision::Deny, Scope::Category(3));
        assert_eq!(
            validate_terms::<TermsError>(&PATIENT, &PATIENT, &Grantee::Anyone, &restrict_anyone, 0),
            Ok(())
        );
    }
}
