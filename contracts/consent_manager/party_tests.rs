//! Off-chain tests of the consent manager's parties: delegates and the emergency opt-out,
//! the provider directory, the admin's messages, and hostile arguments to every message.
//! The fixture is `tests::world`.

use crate::consent_manager::Error;
use crate::tests::*;
use ink::env::test::{recorded_events, set_caller, set_contract};
use ink::primitives::AccountId;
use medconsent_shared::{
    ActionSet, AdminChange, ConsentCheck, ConsentTerms, Grantee, ProviderStatus, PurposeSet, Role,
    RoleSet, Scope,
};

// ---- delegates and opt-out -----------------------------------------------------------

#[ink::test]
fn delegates_are_appointed_and_removed_by_the_patient() {
    let mut w = world();
    let (p, stranger) = (w.patient, w.stranger);
    assert_eq!(
        w.cm.delegation(p, w.delegate).map(|d| d.until),
        Some(Some(1_000))
    );
    set_caller::<Env>(p);
    w.cm.appoint_delegate(stranger, None).unwrap();
    assert!(w.cm.acts_for(p, stranger));
    w.cm.remove_delegate(stranger).unwrap();
    assert!(!w.cm.acts_for(p, stranger));
    assert_eq!(w.cm.delegation(p, stranger), None);
}

#[ink::test]
fn a_delegate_cannot_remove_or_appoint_for_the_patient() {
    let mut w = world();
    let (p, delegate, other) = (w.patient, w.delegate, w.stranger);
    set_caller::<Env>(p);
    w.cm.appoint_delegate(other, None).unwrap();
    assert!(w.cm.acts_for(p, other));
    // Removal is keyed by the caller: a delegate removing the patient's other delegate
    // finds none of its own, and the other delegate stays.
    w.rejects(delegate, Error::DelegateNotFound, |cm| {
        cm.remove_delegate(other)
    });
    assert!(w.cm.acts_for(p, other));
    assert!(w.cm.delegation(p, other).is_some());
    // Appointing as the delegate creates the delegate's own delegation, not the patient's.
    let third = w.responder;
    set_caller::<Env>(delegate);
    w.cm.appoint_delegate(third, None).unwrap();
    assert!(!w.cm.acts_for(p, third));
    assert!(w.cm.acts_for(delegate, third));
}

#[ink::test]
fn appoint_delegate_rejections() {
    let mut w = world();
    let (p, stranger) = (w.patient, w.stranger);
    w.rejects(p, Error::SelfDelegation, |cm| cm.appoint_delegate(p, None));
    w.rejects(p, Error::InvalidTerm, |cm| {
        cm.appoint_delegate(stranger, Some(100))
    });
    w.rejects(p, Error::InvalidTerm, |cm| {
        cm.appoint_delegate(stranger, Some(5))
    });
    w.rejects(p, Error::DelegateNotFound, |cm| {
        cm.remove_delegate(stranger)
    });
    set_caller::<Env>(w.admin);
    w.cm.set_paused(true).unwrap();
    w.rejects(p, Error::Paused, |cm| cm.appoint_delegate(stranger, None));
    // Removing only narrows access: allowed while paused.
    set_caller::<Env>(p);
    w.cm.remove_delegate(w.delegate).unwrap();
}

#[ink::test]
fn emergency_opt_out_rejections() {
    let mut w = world();
    let p = w.patient;
    for who in [w.stranger, w.responder, w.admin] {
        w.rejects(who, Error::NotPatientOrDelegate, |cm| {
            cm.set_emergency_opt_out(p, true)
        });
    }
    // A valid change is logged (with the actor) before it is stored: the unwired log
    // refuses it and nothing changes.
    let delegate = w.delegate;
    w.rejects(delegate, Error::LogUnavailable, |cm| {
        cm.set_emergency_opt_out(p, true)
    });
    set_caller::<Env>(w.admin);
    w.cm.set_paused(true).unwrap();
    // Opting out narrows access: it passes the pause.
    w.rejects(p, Error::LogUnavailable, |cm| {
        cm.set_emergency_opt_out(p, true)
    });
    w.rejects(p, Error::Paused, |cm| cm.set_emergency_opt_out(p, false));
}

// ---- provider directory --------------------------------------------------------------

#[ink::test]
fn provider_directory_lifecycle() {
    let mut w = world();
    let entry = w.cm.provider(w.doctor).unwrap();
    assert_eq!(entry.status, ProviderStatus::Active);
    assert_eq!(entry.public_key, KEY);
    assert_eq!(entry.registered_at, 100);
    set_caller::<Env>(w.doctor);
    w.cm.rotate_provider_key([8; 32]).unwrap();
    assert_eq!(w.cm.provider(w.doctor).unwrap().public_key, [8; 32]);
    set_caller::<Env>(w.admin);
    w.cm.set_provider_roles(w.doctor, RoleSet::from([Role::Auditor]))
        .unwrap();
    assert_eq!(
        w.cm.provider(w.doctor).unwrap().roles,
        RoleSet::from([Role::Auditor])
    );
    w.cm.suspend_provider(w.doctor).unwrap();
    assert_eq!(
        w.cm.provider(w.doctor).unwrap().status,
        ProviderStatus::Suspended
    );
}

#[ink::test]
fn the_directory_lists_providers_in_order_with_their_names() {
    let mut w = world();
    // The world registered the doctor, then the responder.
    let listed: Vec<AccountId> = w.cm.providers(0, 10).iter().map(|(a, _, _)| *a).collect();
    assert_eq!(listed, vec![w.doctor, w.responder]);
    set_caller::<Env>(w.admin);
    w.cm.set_provider_name(w.doctor, "Dr Dave Smith".into())
        .unwrap();
    assert_eq!(name_of(&w, w.doctor), Some("Dr Dave Smith".into()));
    let page = w.cm.providers(1, 10);
    assert_eq!(page.len(), 1);
    assert_eq!((page[0].0, page[0].2.clone()), (w.responder, None));
    let first = w.cm.providers(0, 1);
    assert_eq!(first[0].2, Some("Dr Dave Smith".into()));
    assert_eq!(first[0].1, w.cm.provider(w.doctor).unwrap());
    // A name may change; a 64-byte name is the longest (words of at most 32).
    let longest = format!("{} {}", "D".repeat(31), "D".repeat(32));
    w.cm.set_provider_name(w.doctor, longest.clone().into_bytes())
        .unwrap();
    assert_eq!(name_of(&w, w.doctor), Some(longest));
    assert!(w.cm.providers(2, 10).is_empty());
}

#[ink::test]
fn names_are_the_admins_to_give_and_only_well_formed_ones() {
    let mut w = world();
    let (doctor, stranger, admin) = (w.doctor, w.stranger, w.admin);
    set_caller::<Env>(admin);
    w.cm.set_provider_name(doctor, "Dr Dave Smith".into())
        .unwrap();
    let named = w.cm.providers(0, 10);
    let before = storage_rw().1;
    for caller in [doctor, stranger] {
        set_caller::<Env>(caller);
        assert_eq!(
            w.cm.set_provider_name(doctor, "Dr Evil".into()),
            Err(Error::NotAdmin)
        );
    }
    set_caller::<Env>(admin);
    assert_eq!(
        w.cm.set_provider_name(stranger, "Not a provider".into()),
        Err(Error::ProviderNotFound)
    );
    let too_long = "D".repeat(medconsent_shared::MAX_PROVIDER_NAME + 1);
    for bad in [
        "",
        " Dr Dave",
        "Dr Dave ",
        "Dr\u{1b}[31mDave",
        "Dr\nDave",
        "Dr Dave\u{202e}",
        "anyone",
        "X to=5DAA",
        &too_long,
    ] {
        assert_eq!(
            w.cm.set_provider_name(doctor, bad.into()),
            Err(Error::InvalidName),
            "{bad:?}"
        );
    }
    assert_eq!(storage_rw().1, before, "a refusal wrote");
    assert_eq!(w.cm.providers(0, 10), named);
    assert_eq!(name_of(&w, stranger), None);
}

/// `account`'s name as the directory lists it.
fn name_of(w: &World, account: AccountId) -> Option<String> {
    w.cm.providers(0, 32)
        .into_iter()
        .find(|(listed, _, _)| *listed == account)
        .and_then(|(_, _, name)| name)
}

#[ink::test]
fn provider_directory_rejections() {
    let mut w = world();
    let (doctor, stranger, admin) = (w.doctor, w.stranger, w.admin);
    let roles = RoleSet::from([Role::Clinician]);
    for who in [stranger, doctor, w.patient] {
        w.rejects(who, Error::NotAdmin, |cm| {
            cm.register_provider(stranger, roles, KEY)
        });
        w.rejects(who, Error::NotAdmin, |cm| cm.suspend_provider(doctor));
        w.rejects(who, Error::NotAdmin, |cm| cm.reactivate_provider(doctor));
        w.rejects(who, Error::NotAdmin, |cm| {
            cm.set_provider_roles(doctor, roles)
        });
    }
    w.rejects(admin, Error::InvalidRoles, |cm| {
        cm.register_provider(stranger, RoleSet(0), KEY)
    });
    w.rejects(admin, Error::InvalidRoles, |cm| {
        cm.register_provider(stranger, RoleSet(32), KEY)
    });
    w.rejects(admin, Error::InvalidKey, |cm| {
        cm.register_provider(stranger, roles, [0; 32])
    });
    w.rejects(admin, Error::ProviderExists, |cm| {
        cm.register_provider(doctor, roles, KEY)
    });
    w.rejects(admin, Error::ProviderNotFound, |cm| {
        cm.suspend_provider(stranger)
    });
    w.rejects(admin, Error::ProviderNotFound, |cm| {
        cm.reactivate_provider(stranger)
    });
    w.rejects(admin, Error::ProviderNotFound, |cm| {
        cm.set_provider_roles(stranger, roles)
    });
    w.rejects(admin, Error::InvalidRoles, |cm| {
        cm.set_provider_roles(doctor, RoleSet(0))
    });
    w.rejects(admin, Error::ProviderNotSuspended, |cm| {
        cm.reactivate_provider(doctor)
    });
    w.rejects(stranger, Error::ProviderNotFound, |cm| {
        cm.rotate_provider_key([1; 32])
    });
    w.rejects(doctor, Error::InvalidKey, |cm| {
        cm.rotate_provider_key([0; 32])
    });
    set_caller::<Env>(admin);
    w.cm.suspend_provider(doctor).unwrap();
    w.rejects(admin, Error::ProviderNotActive, |cm| {
        cm.suspend_provider(doctor)
    });
    w.cm.set_paused(true).unwrap();
    w.rejects(admin, Error::Paused, |cm| cm.reactivate_provider(doctor));
    w.rejects(admin, Error::Paused, |cm| {
        cm.register_provider(stranger, roles, KEY)
    });
    w.rejects(admin, Error::Paused, |cm| {
        cm.set_provider_roles(doctor, roles)
    });
}

// ---- admin ---------------------------------------------------------------------------

#[ink::test]
fn admin_messages_refuse_everyone_else() {
    let mut w = world();
    let (stranger, patient) = (w.stranger, w.patient);
    set_contract::<Env>(stranger);
    for who in [stranger, patient] {
        let wire = AdminChange::Peers(stranger, stranger);
        w.rejects(who, Error::NotAdmin, |cm| cm.schedule_change(wire));
        w.rejects(who, Error::NotAdmin, |cm| {
            cm.schedule_change(AdminChange::Code([1; 32].into(), [2; 32].into()))
        });
        w.rejects(who, Error::NotAdmin, |cm| cm.apply_change());
        w.rejects(who, Error::NotAdmin, |cm| cm.cancel_change());
        w.rejects(who, Error::NotAdmin, |cm| cm.set_paused(true));
        w.rejects(who, Error::NotAdmin, |cm| cm.propose_admin(who));
        w.rejects(who, Error::NotPendingAdmin, |cm| cm.accept_admin());
    }
}

#[ink::test]
fn admin_transfer_and_wiring() {
    let mut w = world();
    let (admin, registry, log) = (w.admin, w.stranger, w.doctor);
    // A wallet (here the admin's) is never a peer.
    set_contract::<Env>(registry);
    w.rejects(admin, Error::NotAContract, |cm| {
        cm.schedule_change(AdminChange::Peers(registry, admin))
    });
    set_contract::<Env>(log);
    set_caller::<Env>(admin);
    w.cm.schedule_change(AdminChange::Peers(registry, log))
        .unwrap();
    assert_eq!(w.cm.peers(), (Some(registry), Some(log)));
    // Code waits the delay.
    let code = AdminChange::Code([1; 32].into(), [2; 32].into());
    assert_eq!(w.cm.schedule_change(code), Ok(100 + DELAY));
    w.rejects(admin, Error::NotYetDue, |cm| cm.apply_change());
    set_caller::<Env>(admin);
    w.cm.cancel_change().unwrap();
    assert_eq!(w.cm.scheduled_change(), None);
    w.cm.propose_admin(w.responder).unwrap();
    let (admin, responder) = (w.admin, w.responder);
    w.rejects(admin, Error::NotPendingAdmin, |cm| cm.accept_admin());
    set_caller::<Env>(responder);
    w.cm.accept_admin().unwrap();
    assert_eq!(w.cm.admin(), responder);
    w.rejects(admin, Error::NotAdmin, |cm| cm.set_paused(true));
}

#[ink::test]
fn directory_and_delegate_changes_emit_events_logged_changes_do_not() {
    let mut w = world();
    let before = recorded_events().count();
    set_caller::<Env>(w.patient);
    // An opt-out is a log entry (the log's event tells indexers): no event of its own.
    w.cm.store_opt_out(w.patient, true);
    assert_eq!(recorded_events().count(), before);
    w.cm.remove_delegate(w.delegate).unwrap();
    set_caller::<Env>(w.admin);
    w.cm.suspend_provider(w.doctor).unwrap();
    w.cm.set_provider_name(w.doctor, "Dr Dave Smith".into())
        .unwrap();
    let events: Vec<_> = recorded_events().skip(before).collect();
    assert_eq!(events.len(), 3);
    // DelegateRemoved: signature, patient and delegate topics.
    let patient: &[u8; 32] = w.patient.as_ref();
    assert_eq!(events[0].topics.len(), 3);
    assert_eq!(events[0].topics[1], patient.to_vec());
    // ProviderChanged: signature and provider topics.
    let doctor: &[u8; 32] = w.doctor.as_ref();
    assert_eq!(
        events[1].topics,
        vec![events[1].topics[0].clone(), doctor.to_vec()]
    );
    // ProviderNamed: signature and provider topics; the name in the data.
    assert_eq!(
        events[2].topics,
        vec![events[2].topics[0].clone(), doctor.to_vec()]
    );
    assert_ne!(events[2].topics[0], events[1].topics[0]);
    // The data holds every field, the topic's too.
    let (named, name) =
        <(AccountId, String) as ink::scale::Decode>::decode(&mut &events[2].data[..]).unwrap();
    assert_eq!((named, name.as_str()), (w.doctor, "Dr Dave Smith"));
}

// ---- hostile input -------------------------------------------------------------------

/// Boundary and malformed arguments to every message that takes any: each gets its typed
/// error and the contract writes nothing and emits nothing.
#[ink::test]
fn boundary_arguments_are_refused_without_a_write() {
    let mut w = world();
    let (p, dr, stranger) = (w.patient, w.doctor, w.stranger);
    let (_, writes) = storage_rw();
    // As grant stores it once the log has taken the entry.
    let kept =
        w.cm.store_grant(p, p, Grantee::Account(dr), permit(Scope::AllRecords), 100)
            .unwrap();
    assert!(
        storage_rw().1 > writes,
        "the write counter sees the contract's writes"
    );
    let unknown = AccountId::from([0xab; 32]);
    let terms = |edit: fn(&mut ConsentTerms)| {
        let mut terms = permit(Scope::AllRecords);
        edit(&mut terms);
        terms
    };
    let bad_terms = [
        (terms(|t| t.actions = ActionSet(0)), Error::InvalidActions),
        (
            terms(|t| t.actions = ActionSet(u8::MAX)),
            Error::InvalidActions,
        ),
        (
            terms(|t| t.purposes = PurposeSet(0)),
            Error::InvalidPurposes,
        ),
        (
            terms(|t| t.purposes = PurposeSet(u8::MAX)),
            Error::InvalidPurposes,
        ),
        (
            terms(|t| (t.valid_from, t.valid_until) = (500, Some(400))),
            Error::InvalidWindow,
        ),
        (
            terms(|t| (t.valid_from, t.valid_until) = (500, Some(500))),
            Error::InvalidWindow,
        ),
        (terms(|t| t.valid_until = Some(0)), Error::InvalidWindow),
        (
            terms(|t| t.scope = Scope::Record(u64::MAX)),
            Error::RegistryUnavailable,
        ),
    ];
    for (terms, error) in bad_terms {
        w.rejects(p, error, |cm| cm.grant(p, Grantee::Account(dr), terms));
    }
    w.rejects(stranger, Error::NotPatientOrDelegate, |cm| {
        cm.grant(unknown, Grantee::Account(dr), permit(Scope::AllRecords))
    });
    let shown = w.shown(kept);
    for id in [kept + 1, u64::MAX] {
        w.rejects(p, Error::ConsentNotFound, |cm| cm.revoke(p, id, shown));
    }
    w.rejects(unknown, Error::ConsentNotFound, |cm| {
        cm.revoke(unknown, 0, shown)
    });
    w.rejects(p, Error::SelfDelegation, |cm| cm.appoint_delegate(p, None));
    w.rejects(p, Error::InvalidTerm, |cm| cm.appoint_delegate(dr, Some(0)));
    w.rejects(p, Error::DelegateNotFound, |cm| cm.remove_delegate(unknown));
    w.rejects(stranger, Error::NotPatientOrDelegate, |cm| {
        cm.set_emergency_opt_out(unknown, true)
    });
    let admin = w.admin;
    for roles in [RoleSet(0), RoleSet(u8::MAX)] {
        w.rejects(admin, Error::InvalidRoles, |cm| {
            cm.register_provider(unknown, roles, KEY)
        });
        w.rejects(admin, Error::InvalidRoles, |cm| {
            cm.set_provider_roles(dr, roles)
        });
    }
    w.rejects(admin, Error::InvalidKey, |cm| {
        cm.register_provider(unknown, RoleSet(1), [0; 32])
    });
    w.rejects(admin, Error::ProviderNotFound, |cm| {
        cm.suspend_provider(unknown)
    });
    w.rejects(admin, Error::ProviderNotFound, |cm| {
        cm.set_provider_roles(unknown, RoleSet(1))
    });
    w.rejects(unknown, Error::ProviderNotFound, |cm| {
        cm.rotate_provider_key(KEY)
    });
    w.rejects(dr, Error::InvalidKey, |cm| cm.rotate_provider_key([0; 32]));
    // Unknown accounts are simply unknown to the reads.
    assert_eq!(w.cm.consent(unknown, 0), None);
    assert_eq!(w.cm.consents_of(p, u64::MAX, u32::MAX), vec![]);
    assert_eq!(w.cm.provider(unknown), None);
    assert!(!w.cm.acts_for(unknown, p));
}
