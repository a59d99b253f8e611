//! Hostile and careless callers: strangers, non-admins, wrong wiring, pause, upgrade.

use crate::support::*;
use access_log::access_log::{AccessLogRef, Error as LogError};
use consent_manager::consent_manager::Error as ConsentError;
use ink_e2e::{ChainBackend, ContractsBackend};
use medconsent_shared::{AccessOutcome, DenyReason, EntryKind, Grantee, NewEntry, Purpose, Scope};
use record_registry::record_registry::Error as RegistryError;

fn forged_entry() -> NewEntry {
    NewEntry {
        patient: patient_id(),
        actor: stranger_id(),
        record: Some(0),
        kind: EntryKind::Access,
        purpose: Some(Purpose::Treat),
        consent: None,
    }
}

#[ink_e2e::test]
async fn only_the_writer_contracts_append_to_the_log(mut client: Client) -> E2EResult<()> {
    use medconsent_shared::AuditLog;
    let sys = deploy(&mut client).await?;
    let before = query(&mut client, &sys.log().head(patient_id())).await?;
    let append = sys.log().append(forged_entry());
    for caller in [stranger(), admin(), patient()] {
        submit_err(&mut client, &caller, &append, LogError::NotWriter).await?;
    }
    assert_eq!(
        query(&mut client, &sys.log().head(patient_id())).await?,
        before
    );
    Ok(())
}

#[ink_e2e::test]
async fn non_admins_cannot_rewire_pause_or_upgrade(mut client: Client) -> E2EResult<()> {
    let sys = deploy(&mut client).await?;
    let me = stranger_id();
    let code = [7u8; 32].into();
    // One line a case: caller => message, the typed error every non-admin gets.
    macro_rules! refused {
        ($caller:expr => $message:expr, $error:expr) => {
            submit_err(&mut client, &$caller, &$message, $error).await?
        };
    }
    let rewire = AdminChange::Peers(sys.log, sys.log);
    let upgrade = AdminChange::Code(code, code);
    for caller in [stranger(), patient(), doctor()] {
        let roles = medconsent_shared::RoleSet(1);
        refused!(caller => sys.registry().schedule_change(rewire), RegistryError::NotAdmin);
        refused!(caller => sys.registry().set_paused(true), RegistryError::NotAdmin);
        refused!(caller => sys.registry().schedule_change(upgrade), RegistryError::NotAdmin);
        refused!(caller => sys.registry().apply_change(), RegistryError::NotAdmin);
        refused!(caller => sys.registry().propose_admin(me), RegistryError::NotAdmin);
        refused!(caller => sys.consents().schedule_change(rewire), ConsentError::NotAdmin);
        refused!(caller => sys.consents().set_paused(true), ConsentError::NotAdmin);
        refused!(caller => sys.consents().schedule_change(upgrade), ConsentError::NotAdmin);
        refused!(caller => sys.consents().register_provider(me, roles, [1; 32]), ConsentError::NotAdmin);
        refused!(caller => sys.log().schedule_change(rewire), LogError::NotAdmin);
        refused!(caller => sys.log().schedule_change(upgrade), LogError::NotAdmin);
        refused!(caller => sys.log().cancel_change(), LogError::NotAdmin);
        refused!(caller => sys.log().accept_admin(), LogError::NotPendingAdmin);
    }
    assert_eq!(
        query(&mut client, &sys.registry().peers()).await?,
        (Some(sys.consents), Some(sys.log))
    );
    assert_eq!(
        query(&mut client, &sys.consents().peers()).await?,
        (Some(sys.registry), Some(sys.log))
    );
    assert_eq!(
        query(&mut client, &sys.log().writers()).await?,
        (Some(sys.registry), Some(sys.consents))
    );
    assert!(!query(&mut client, &sys.registry().paused()).await?);
    assert_eq!(
        query(&mut client, &sys.consents().provider(me)).await?,
        None
    );

    // The admin hands over in two steps; the old admin is then refused.
    submit_ok(&mut client, &admin(), &sys.log().propose_admin(doctor_id())).await?;
    submit_err(
        &mut client,
        &stranger(),
        &sys.log().accept_admin(),
        LogError::NotPendingAdmin,
    )
    .await?;
    submit_ok(&mut client, &doctor(), &sys.log().accept_admin()).await?;
    assert_eq!(query(&mut client, &sys.log().admin()).await?, doctor_id());
    submit_err(
        &mut client,
        &admin(),
        &sys.log().schedule_change(rewire),
        LogError::NotAdmin,
    )
    .await?;
    Ok(())
}

#[ink_e2e::test]
async fn a_paused_system_releases_nothing(mut client: Client) -> E2EResult<()> {
    let sys = deploy(&mut client).await?;
    let (p, dr) = (patient_id(), doctor_id());
    let record = patient_record(&mut client, &sys, LABS, 1).await?;
    let consent = submit_ok(
        &mut client,
        &patient(),
        &sys.consents()
            .grant(p, Grantee::Account(dr), read_permit(Scope::AllRecords)),
    )
    .await?;
    let access = sys.registry().access_record(record, Purpose::Treat);

    // Registry paused: no release, no write, nothing logged.
    submit_ok(&mut client, &admin(), &sys.registry().set_paused(true)).await?;
    let head = query(&mut client, &sys.log().head(p)).await?;
    submit_err(&mut client, &doctor(), &access, RegistryError::Paused).await?;
    submit_err(
        &mut client,
        &responder(),
        &sys.registry().emergency_access(record, [1; 32]),
        RegistryError::Paused,
    )
    .await?;
    assert_eq!(query(&mut client, &sys.log().head(p)).await?, head);
    submit_ok(&mut client, &admin(), &sys.registry().set_paused(false)).await?;

    // Consent manager paused: every check denies; grants stop; revocation still works.
    submit_ok(&mut client, &admin(), &sys.consents().set_paused(true)).await?;
    assert_eq!(
        submit_ok(&mut client, &doctor(), &access).await?,
        AccessOutcome::Denied(DenyReason::Paused)
    );
    assert_eq!(
        submit_ok(
            &mut client,
            &responder(),
            &sys.registry().emergency_access(record, [1; 32])
        )
        .await?,
        AccessOutcome::Denied(DenyReason::Paused)
    );
    submit_err(
        &mut client,
        &patient(),
        &sys.consents()
            .grant(p, Grantee::Account(dr), read_permit(Scope::AllRecords)),
        ConsentError::Paused,
    )
    .await?;
    let shown = listed(&mut client, &sys, p, consent).await?;
    let revoke = sys.consents().revoke(p, consent, shown);
    submit_ok(&mut client, &patient(), &revoke).await?;
    submit_ok(&mut client, &admin(), &sys.consents().set_paused(false)).await?;
    assert_eq!(
        submit_ok(&mut client, &doctor(), &access).await?,
        AccessOutcome::Denied(DenyReason::NoConsent)
    );
    verified_chain(&mut client, &sys, p).await?;
    Ok(())
}

#[ink_e2e::test]
async fn wrong_or_missing_peers_fail_closed(mut client: Client) -> E2EResult<()> {
    let sys = instantiate(&mut client).await?;
    let (p, dr) = (patient_id(), doctor_id());
    let register = |id, n| {
        sys.registry()
            .register_record(p, id, LABS, content(n), vec![], Purpose::PatientRequest)
    };

    // Nothing wired: no write goes through unlogged, and nothing stays behind.
    submit_err(
        &mut client,
        &patient(),
        &register(0, 1),
        RegistryError::LogUnavailable,
    )
    .await?;
    assert_eq!(
        query(&mut client, &sys.registry().counts(p)).await?.records,
        0
    );
    assert_eq!(query(&mut client, &sys.registry().record(0)).await?, None);
    submit_err(
        &mut client,
        &patient(),
        &sys.consents()
            .grant(p, Grantee::Account(dr), read_permit(Scope::AllRecords)),
        ConsentError::LogUnavailable,
    )
    .await?;
    assert_eq!(
        query(&mut client, &sys.consents().consent_count(p)).await?,
        0
    );

    // The log wired, but the registry's consent manager is the wrong contract (the log
    // itself): the doctor's access is denied and logged, nothing released.
    let writers = AdminChange::Peers(sys.registry, sys.consents);
    submit_ok(&mut client, &admin(), &sys.log().schedule_change(writers)).await?;
    let wrong = AdminChange::Peers(sys.log, sys.log);
    submit_ok(
        &mut client,
        &admin(),
        &sys.registry().schedule_change(wrong),
    )
    .await?;
    let record = submit_ok(&mut client, &patient(), &register(0, 1)).await?;
    let access = sys.registry().access_record(record, Purpose::Treat);
    assert_eq!(
        submit_ok(&mut client, &doctor(), &access).await?,
        AccessOutcome::Denied(DenyReason::ConsentUnavailable)
    );
    // A write by someone else than the patient needs a verdict: refused.
    submit_err(
        &mut client,
        &doctor(),
        &sys.registry()
            .register_record(p, 1, LABS, content(2), vec![], Purpose::Treat),
        RegistryError::Unauthorized(DenyReason::ConsentUnavailable),
    )
    .await?;
    // Retire by a stranger cannot be confirmed: refused.
    submit_err(
        &mut client,
        &stranger(),
        &sys.registry().retire_record(record),
        RegistryError::ConsentUnavailable,
    )
    .await?;

    // The registry's log is the wrong contract: the write is rolled back.
    let wrong = AdminChange::Peers(sys.consents, sys.consents);
    submit_ok(
        &mut client,
        &admin(),
        &sys.registry().schedule_change(wrong),
    )
    .await?;
    submit_err(
        &mut client,
        &patient(),
        &register(1, 3),
        RegistryError::LogUnavailable,
    )
    .await?;
    assert_eq!(
        query(&mut client, &sys.registry().counts(p)).await?.records,
        1
    );

    // The consent manager's peers are the wrong contracts (registry and log swapped):
    // a Record scope cannot be confirmed ...
    let swapped = AdminChange::Peers(sys.log, sys.registry);
    submit_ok(
        &mut client,
        &admin(),
        &sys.consents().schedule_change(swapped),
    )
    .await?;
    submit_err(
        &mut client,
        &patient(),
        &sys.consents()
            .grant(p, Grantee::Account(dr), read_permit(Scope::Record(record))),
        ConsentError::RegistryUnavailable,
    )
    .await?;
    // ... and no grant can be logged, so none is kept.
    submit_err(
        &mut client,
        &patient(),
        &sys.consents()
            .grant(p, Grantee::Account(dr), read_permit(Scope::AllRecords)),
        ConsentError::LogUnavailable,
    )
    .await?;
    assert_eq!(
        query(&mut client, &sys.consents().consent_count(p)).await?,
        0
    );
    verified_chain(&mut client, &sys, p).await?;
    Ok(())
}

#[ink_e2e::test]
async fn an_upgrade_keeps_records_consents_and_log(mut client: Client) -> E2EResult<()> {
    let sys = deploy(&mut client).await?;
    let p = patient_id();
    let history = make_history(&mut client, &sys, 1).await?;
    let before = kept(&mut client, &sys, &history).await?;

    for contract in ["record_registry", "consent_manager", "access_log"] {
        let upgrade = release_upgrade(&mut client, contract).await?;
        match contract {
            "record_registry" => {
                submit_err(
                    &mut client,
                    &stranger(),
                    &sys.registry().schedule_change(upgrade),
                    RegistryError::NotAdmin,
                )
                .await?;
                submit_measured(
                    &mut client,
                    &admin(),
                    &sys.registry().schedule_change(upgrade),
                    "schedule_change (code, no delay)",
                )
                .await?
                .return_value()
                .okay()?;
            }
            "consent_manager" => {
                submit_ok(
                    &mut client,
                    &admin(),
                    &sys.consents().schedule_change(upgrade),
                )
                .await?;
            }
            _ => {
                submit_ok(&mut client, &admin(), &sys.log().schedule_change(upgrade)).await?;
            }
        }
    }
    // An unknown code hash is refused with a typed error.
    submit_err(
        &mut client,
        &admin(),
        &sys.registry()
            .schedule_change(AdminChange::Code([9u8; 32].into(), [9u8; 32].into())),
        RegistryError::UpgradeFailed,
    )
    .await?;

    assert_eq!(kept(&mut client, &sys, &history).await?, before);
    // The upgraded system still works end to end.
    let access = sys.registry().access_record(history.record, Purpose::Treat);
    let outcome = submit_ok(&mut client, &doctor(), &access).await?;
    assert!(matches!(outcome, AccessOutcome::Released(_)));
    assert_eq!(
        verified_chain(&mut client, &sys, p).await?.len(),
        before.chain.len() + 1
    );
    Ok(())
}

#[ink_e2e::test]
async fn the_full_code_is_locked_and_an_upgrade_onto_missing_code_changes_nothing(
    mut client: Client,
) -> E2EResult<()> {
    use ink_e2e::subxt::dynamic::Value;
    let sys = deploy(&mut client).await?;
    let p = patient_id();
    let record = patient_record(&mut client, &sys, LABS, 1).await?;
    // The admin uploaded the full codes, and is the one account that could remove them:
    // the fronts' delegate-dependency locks make pallet-contracts refuse.
    let full = query(&mut client, &sys.registry().full_code()).await?;
    let removal = client
        .runtime_call(
            &admin(),
            "Contracts",
            "remove_code",
            vec![Value::from_bytes(AsRef::<[u8]>::as_ref(&full))],
        )
        .await;
    let refusal = format!("{:?}", removal.expect_err("a locked code must stay"));
    assert!(refusal.contains("CodeInUse"), "{refusal}");
    // Forwarded messages still run in it.
    assert_eq!(
        query(&mut client, &sys.registry().record(record))
            .await?
            .map(|r| r.id),
        Some(record)
    );
    // An upgrade whose full code was never uploaded traps (no typed error can be
    // returned once the pallet refuses the lock): the code, the lock and the
    // announcement stay as they were.
    let front = upload_release_code(&mut client, "record_registry").await?;
    let missing = AdminChange::Code(front, [0x4d; 32].into());
    let upgrade = sys.registry().schedule_change(missing);
    let sent = client.call(&admin(), &upgrade).submit().await;
    assert!(sent.is_err(), "an upgrade onto missing code must fail");
    assert_eq!(query(&mut client, &sys.registry().full_code()).await?, full);
    assert_eq!(
        query(&mut client, &sys.registry().scheduled_change()).await?,
        None
    );
    let access = sys
        .registry()
        .access_record(record, Purpose::PatientRequest);
    assert!(matches!(
        submit_ok(&mut client, &patient(), &access).await?,
        AccessOutcome::Released(_)
    ));
    verified_chain(&mut client, &sys, p).await?;
    // Nor is a contract ever deployed onto a full code that is not there.
    let mut orphan = AccessLogRef::new(0, [0x4d; 32].into());
    let deployed = client
        .instantiate("access_log", &admin(), &mut orphan)
        .submit()
        .await;
    assert!(
        deployed.is_err(),
        "a front without its full code must not deploy"
    );
    Ok(())
}
