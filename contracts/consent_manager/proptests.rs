//! Property tests of the decision: random sequences of grants, restrictions,
//! revocations, delegate changes, provider suspensions and time steps, with every check
//! compared against a small reference model written here from the rules as docs/design.md
//! states them, independently of the contract's code paths.

use crate::consent_manager::{validate_terms, ConsentManager, Error};
use crate::tests::GENESIS;
use ink::env::test::{default_accounts, run_test, set_block_timestamp, set_caller};
use ink::env::DefaultEnvironment;
use ink::primitives::AccountId;
use medconsent_shared::{
    AccessRequest, Action, ActionSet, Basis, ChartRequest, ConsentCheck, ConsentShown,
    ConsentTerms, Decision, DenyReason, Grantee, Purpose, PurposeSet, Role, RoleSet, Scope,
    Verdict, MAX_RULES_PER_PAIR,
};
use proptest::prelude::*;

type Env = DefaultEnvironment;

/// People by index: 0 the patient, 1 a family member (never a provider), 2..=4 providers,
/// 5 a stranger. 4 is both a provider and a possible delegate.
const PEOPLE: usize = 6;
const PROVIDERS: [usize; 3] = [2, 3, 4];
const PURPOSES: [Purpose; 7] = [
    Purpose::Treat,
    Purpose::EmergencyTreat,
    Purpose::Payment,
    Purpose::Operations,
    Purpose::Research,
    Purpose::PublicHealth,
    Purpose::PatientRequest,
];

fn person(i: usize) -> AccountId {
    AccountId::from([u8::try_from(i).unwrap() + 1; 32])
}

#[derive(Debug, Clone)]
enum Op {
    Grant {
        /// None: the patient grants; Some(d): person d grants as the patient's delegate.
        grantor: Option<usize>,
        grantee: Option<usize>,
        deny: bool,
        scope: Scope,
        actions: u8,
        purposes: u8,
        from: u64,
        until: Option<u64>,
    },
    Revoke(usize),
    Appoint(usize, Option<u64>),
    Remove(usize),
    Suspend(usize),
    Reactivate(usize),
    Wait(u64),
    Check {
        accessor: usize,
        record: Option<u64>,
        category: u16,
        append: bool,
        purpose: usize,
    },
    /// A chart read: (record, category) pairs, repeats allowed.
    Chart {
        accessor: usize,
        records: Vec<(u64, u16)>,
        purpose: usize,
    },
}

fn scope() -> impl Strategy<Value = Scope> {
    prop_oneof![
        Just(Scope::AllRecords),
        (0u16..3).prop_map(Scope::Category),
        (0u64..3).prop_map(Scope::Record),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (prop::option::of(prop::sample::select(vec![1usize, 4])),
              prop::option::of(1usize..PEOPLE), any::<bool>(), scope(), 1u8..4, 1u8..128,
              0u64..60, prop::option::of(0u64..120))
            .prop_map(|(grantor, grantee, deny, scope, actions, purposes, from, until)| {
                Op::Grant { grantor, grantee, deny, scope, actions, purposes, from, until }
            }),
        1 => (0usize..40).prop_map(Op::Revoke),
        1 => (prop::sample::select(vec![1usize, 4]), prop::option::of(0u64..80))
            .prop_map(|(who, until)| Op::Appoint(who, until)),
        1 => prop::sample::select(vec![1usize, 4]).prop_map(Op::Remove),
        1 => prop::sample::select(PROVIDERS.to_vec()).prop_map(Op::Suspend),
        1 => prop::sample::select(PROVIDERS.to_vec()).prop_map(Op::Reactivate),
        2 => (0u64..30).prop_map(Op::Wait),
        6 => (0usize..PEOPLE, prop::option::of(0u64..3), 0u16..3, any::<bool>(), 0usize..7)
            .prop_map(|(accessor, record, category, append, purpose)| Op::Check {
                accessor, record, category, append, purpose,
            }),
        3 => (0usize..PEOPLE, prop::collection::vec((0u64..3, 0u16..3), 0..6), 0usize..7)
            .prop_map(|(accessor, records, purpose)| Op::Chart { accessor, records, purpose }),
    ]
}

/// The reference model: every rule ever granted, with plain flags.
#[derive(Default)]
struct Model {
    now: u64,
    rules: Vec<(Option<usize>, ConsentTerms, bool)>,
    delegates: [Option<Option<u64>>; PEOPLE],
    suspended: [bool; PEOPLE],
}

impl Model {
    fn in_force(terms: &ConsentTerms, now: u64) -> bool {
        terms.valid_from <= now && terms.valid_until.is_none_or(|until| now < until)
    }

    fn is_delegate(&self, who: usize) -> bool {
        matches!(self.delegates[who], Some(until) if until.is_none_or(|u| self.now < u))
    }

    /// Rules that bear on this request: not revoked, in force, for this accessor or
    /// anyone, covering the action, purpose and record.
    fn applicable(&self, accessor: usize, request: &AccessRequest, decision: Decision) -> Vec<u64> {
        self.rules
            .iter()
            .enumerate()
            .filter(|(_, (grantee, terms, revoked))| {
                !revoked
                    && terms.decision == decision
                    && grantee.is_none_or(|g| g == accessor)
                    && Self::in_force(terms, self.now)
                    && terms.actions.contains(request.action)
                    && terms.purposes.contains(request.purpose)
                    && match terms.scope {
                        Scope::AllRecords => true,
                        Scope::Category(c) => c == request.category,
                        Scope::Record(r) => request.record == Some(r),
                    }
            })
            .map(|(id, _)| u64::try_from(id).unwrap())
            .collect()
    }

    /// Active (not revoked, not expired) rules of one pair, as the bound counts them.
    fn active_for(&self, grantee: Option<usize>) -> usize {
        self.rules
            .iter()
            .filter(|(g, terms, revoked)| {
                *g == grantee && !revoked && terms.valid_until.is_none_or(|u| self.now < u)
            })
            .count()
    }
}

fn terms_of(op: &Op) -> (Option<usize>, ConsentTerms) {
    let Op::Grant {
        grantor: _,
        grantee,
        deny,
        scope,
        actions,
        purposes,
        from,
        until,
    } = op.clone()
    else {
        unreachable!()
    };
    let terms = ConsentTerms {
        decision: if deny {
            Decision::Deny
        } else {
            Decision::Permit
        },
        scope,
        actions: ActionSet(actions),
        purposes: PurposeSet(purposes),
        valid_from: from,
        valid_until: until,
    };
    (grantee, terms)
}

fn run(ops: Vec<Op>) {
    run_test::<Env, _>(|_| {
        let admin = default_accounts::<Env>().alice;
        set_block_timestamp::<Env>(0);
        set_caller::<Env>(admin);
        let mut cm = ConsentManager::new(GENESIS, 0, [0xfc; 32].into());
        for p in PROVIDERS {
            cm.register_provider(person(p), RoleSet::from([Role::Clinician]), [9; 32])
                .unwrap();
        }
        let patient = person(0);
        let mut model = Model::default();
        for op in ops {
            match op {
                Op::Grant { grantor, .. } => {
                    let (grantee, terms) = terms_of(&op);
                    let target = grantee.map_or(Grantee::Anyone, |g| Grantee::Account(person(g)));
                    let by = grantor.map_or(patient, person);
                    let result = validate_terms(&patient, &by, &target, &terms, model.now)
                        .and_then(|()| cm.store_grant(patient, by, target, terms, model.now));
                    // A grantor never names itself; "anyone" is for restrictions only.
                    let names_itself = grantor.is_some() && grantee == grantor;
                    let permits_anyone = grantee.is_none() && terms.decision == Decision::Permit;
                    // The patient's own request is never permitted to anyone.
                    let permits_own_request = terms.decision == Decision::Permit
                        && terms.purposes.contains(Purpose::PatientRequest);
                    let expected_ok = !names_itself
                        && !permits_anyone
                        && !permits_own_request
                        && terms
                            .valid_until
                            .is_none_or(|u| u > terms.valid_from && u > model.now)
                        && model.active_for(grantee) < MAX_RULES_PER_PAIR;
                    assert_eq!(result.is_ok(), expected_ok, "grant {terms:?} -> {result:?}");
                    if let Ok(id) = result {
                        assert_eq!(id, u64::try_from(model.rules.len()).unwrap());
                        model.rules.push((grantee, terms, false));
                    }
                }
                Op::Revoke(index) => {
                    let id = u64::try_from(index).unwrap();
                    // Named as the model holds it (the mismatch has its own unit test); an
                    // unknown id with some terms.
                    let unknown = ConsentTerms {
                        decision: Decision::Deny,
                        scope: Scope::AllRecords,
                        actions: ActionSet(1),
                        purposes: PurposeSet(1),
                        valid_from: 0,
                        valid_until: None,
                    };
                    let (grantee, terms) =
                        model
                            .rules
                            .get(index)
                            .map_or((Grantee::Anyone, unknown), |(g, t, _)| {
                                (
                                    g.map_or(Grantee::Anyone, |g| Grantee::Account(person(g))),
                                    *t,
                                )
                            });
                    let shown = ConsentShown { grantee, terms };
                    let result = cm.store_revoke(&patient, id, &shown, model.now).map(|_| ());
                    match model.rules.get_mut(index) {
                        None => assert_eq!(result, Err(Error::ConsentNotFound)),
                        Some((_, _, true)) => assert_eq!(result, Err(Error::AlreadyRevoked)),
                        Some((_, _, revoked)) => {
                            assert_eq!(result, Ok(()));
                            *revoked = true;
                        }
                    }
                }
                Op::Appoint(who, until) => {
                    set_caller::<Env>(patient);
                    let until = until.map(|u| model.now + u);
                    let result = cm.appoint_delegate(person(who), until);
                    if until.is_some_and(|u| u <= model.now) {
                        assert_eq!(result, Err(Error::InvalidTerm));
                    } else {
                        assert_eq!(result, Ok(()));
                        model.delegates[who] = Some(until);
                    }
                }
                Op::Remove(who) => {
                    set_caller::<Env>(patient);
                    let result = cm.remove_delegate(person(who));
                    assert_eq!(result.is_ok(), model.delegates[who].is_some());
                    model.delegates[who] = None;
                }
                Op::Suspend(p) | Op::Reactivate(p) => {
                    set_caller::<Env>(admin);
                    let suspend = matches!(op, Op::Suspend(_));
                    let result = if suspend {
                        cm.suspend_provider(person(p))
                    } else {
                        cm.reactivate_provider(person(p))
                    };
                    assert_eq!(result.is_ok(), model.suspended[p] != suspend);
                    model.suspended[p] = suspend;
                }
                Op::Wait(ms) => {
                    model.now += ms;
                    set_block_timestamp::<Env>(model.now);
                }
                Op::Check {
                    accessor,
                    record,
                    category,
                    append,
                    purpose,
                } => {
                    let request = AccessRequest {
                        patient,
                        accessor: person(accessor),
                        record,
                        category,
                        action: if append { Action::Append } else { Action::Read },
                        purpose: PURPOSES[purpose],
                    };
                    check_against_model(&model, accessor, &request, cm.check(request));
                }
                Op::Chart {
                    accessor,
                    records,
                    purpose,
                } => {
                    let chart = ChartRequest {
                        patient,
                        accessor: person(accessor),
                        purpose: PURPOSES[purpose],
                        records,
                    };
                    let verdicts = cm.check_chart(chart.clone());
                    // The chart decides each record exactly as a single read of it would,
                    // and as the model says.
                    assert_eq!(verdicts.len(), chart.records.len());
                    for (&record, verdict) in chart.records.iter().zip(verdicts) {
                        let single = chart.single(record);
                        assert_eq!(verdict, cm.check(single), "{single:?}");
                        check_against_model(&model, accessor, &single, verdict);
                    }
                }
            }
        }
        Ok(())
    })
    .unwrap();
}

fn check_against_model(model: &Model, accessor: usize, request: &AccessRequest, verdict: Verdict) {
    let patient_request = request.purpose == Purpose::PatientRequest;
    // The patient reads their own records with PATRQT and writes for any purpose.
    if accessor == 0 && (patient_request || request.action == Action::Append) {
        assert_eq!(verdict, Verdict::Permit(Basis::Patient));
        return;
    }
    // A current delegate acts for the patient, with PATRQT, reading or writing.
    if patient_request && model.is_delegate(accessor) {
        assert_eq!(verdict, Verdict::Permit(Basis::Delegate));
        return;
    }
    // From here on the accessor acts as a provider: a suspended one gets nothing, even
    // when it is also a delegate.
    if model.suspended[accessor] {
        assert!(matches!(verdict, Verdict::Deny(_)), "{verdict:?}");
    }
    if !PROVIDERS.contains(&accessor) {
        assert_eq!(verdict, Verdict::Deny(DenyReason::NotProvider));
        return;
    }
    // A suspended provider never gets access through consents.
    if model.suspended[accessor] {
        assert_eq!(verdict, Verdict::Deny(DenyReason::ProviderSuspended));
        return;
    }
    let denies = model.applicable(accessor, request, Decision::Deny);
    let permits = model.applicable(accessor, request, Decision::Permit);
    match verdict {
        // Deny overrides permit: any applicable restriction wins, and it is one of them.
        Verdict::Deny(DenyReason::Restricted(id)) => {
            assert!(denies.contains(&id), "{id} {denies:?}")
        }
        _ if !denies.is_empty() => panic!("restriction {denies:?} ignored: {verdict:?}"),
        // A permit is granted only by an applicable (unrevoked, unexpired) permit.
        Verdict::Permit(Basis::Consent(id)) => assert!(permits.contains(&id), "{id} {permits:?}"),
        // No permit means deny.
        Verdict::Deny(DenyReason::NoConsent) => assert!(permits.is_empty(), "{permits:?}"),
        other => panic!("unexpected verdict {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn every_check_agrees_with_the_reference_model(ops in prop::collection::vec(op(), 1..60)) {
        run(ops);
    }
}
