//! Measuring: every state-changing message once, and the access path and grants after
//! 1, 100 and 1,000 earlier records, consents and log entries.

use super::*;

pub(super) async fn every_message(
    client: &mut Client,
    genesis_hash: [u8; 32],
    report: &mut Report,
) -> E2EResult<()> {
    let sys = release_system(client, genesis_hash).await?;
    let (p, dr, er) = (patient_id(), doctor_id(), responder_id());
    let (reg, cm, log) = ("record_registry", "consent_manager", "access_log");

    let register = sys.registry().register_record(
        p,
        0,
        3,
        content_hash(0),
        LOCATOR.to_vec(),
        Purpose::PatientRequest,
    );
    let record = report
        .measure(client, &patient(), &register, reg, "register_record")
        .await?;
    let grant = sys.consents().grant(
        p,
        Grantee::Account(dr),
        permit(Scope::AllRecords, Action::Read),
    );
    let consent = report
        .measure(client, &patient(), &grant, cm, "grant")
        .await?;
    let access = sys.registry().access_record(record, Purpose::Treat);
    report
        .measure(client, &doctor(), &access, reg, "access_record: released")
        .await?;
    // Eve is an active provider without consent: the whole path runs and denies.
    report
        .measure(client, &responder(), &access, reg, "access_record: denied")
        .await?;
    // Charts of the same record: what one more record costs inside one call.
    for (records, label) in CHARTS {
        let chart = sys
            .registry()
            .access_chart(p, vec![record; records], Purpose::Treat);
        report
            .measure(client, &doctor(), &chart, reg, label)
            .await?;
    }
    let amend = sys.registry().amend_record(
        record,
        content_hash(1),
        LOCATOR.to_vec(),
        Purpose::PatientRequest,
    );
    report
        .measure(client, &patient(), &amend, reg, "amend_record")
        .await?;
    let emergency = sys.registry().emergency_access(record, [0xee; 32]);
    report
        .measure(client, &responder(), &emergency, reg, "emergency_access")
        .await?;
    let review = sys.registry().review_emergencies(p, vec![(0, true)]);
    report
        .measure(client, &patient(), &review, reg, "review_emergencies (one)")
        .await?;
    let shown = listed(client, &sys, p, consent).await?;
    let revoke = sys.consents().revoke(p, consent, shown);
    report
        .measure(client, &patient(), &revoke, cm, "revoke")
        .await?;
    // The same, signed by the patient's key and relayed (and paid) by a stranger.
    let domain = SigningDomain {
        contract: sys.consents,
        genesis_hash,
    };
    let terms = permit(Scope::AllRecords, Action::Read);
    let grant = SignedAction::Grant {
        grantee: Grantee::Account(dr),
        terms,
    };
    let signature = patient()
        .sign(&signing_message(&domain, &p, &grant, 0, u64::MAX))
        .0;
    let relayed =
        sys.consents()
            .grant_signed(p, Grantee::Account(dr), terms, 0, u64::MAX, signature);
    let signed_consent = report
        .measure(client, &stranger(), &relayed, cm, "grant_signed")
        .await?;
    let signed_shown = ConsentShown {
        grantee: Grantee::Account(dr),
        terms,
    };
    let revoke = SignedAction::Revoke {
        consent_id: signed_consent,
        shown: signed_shown,
    };
    let signature = patient()
        .sign(&signing_message(&domain, &p, &revoke, 1, u64::MAX))
        .0;
    let relayed =
        sys.consents()
            .revoke_signed(p, signed_consent, signed_shown, 1, u64::MAX, signature);
    report
        .measure(client, &stranger(), &relayed, cm, "revoke_signed")
        .await?;
    let retire = sys.registry().retire_record(record);
    report
        .measure(client, &patient(), &retire, reg, "retire_record")
        .await?;

    let appoint = sys.consents().appoint_delegate(delegate_id(), None);
    report
        .measure(client, &patient(), &appoint, cm, "appoint_delegate")
        .await?;
    let remove = sys.consents().remove_delegate(delegate_id());
    report
        .measure(client, &patient(), &remove, cm, "remove_delegate")
        .await?;
    let opt_out = sys.consents().set_emergency_opt_out(p, true);
    report
        .measure(client, &patient(), &opt_out, cm, "set_emergency_opt_out")
        .await?;
    let void = sys.consents().void_signature(p, 0x5eed);
    report
        .measure(client, &patient(), &void, cm, "void_signature")
        .await?;
    let clinician = RoleSet::from([Role::Clinician]);
    let register_provider = sys
        .consents()
        .register_provider(stranger_id(), clinician, [0x5a; 32]);
    report
        .measure(
            client,
            &admin(),
            &register_provider,
            cm,
            "register_provider",
        )
        .await?;
    let suspend = sys.consents().suspend_provider(er);
    report
        .measure(client, &admin(), &suspend, cm, "suspend_provider")
        .await?;
    let reactivate = sys.consents().reactivate_provider(er);
    report
        .measure(client, &admin(), &reactivate, cm, "reactivate_provider")
        .await?;
    let roles = sys.consents().set_provider_roles(dr, clinician);
    report
        .measure(client, &admin(), &roles, cm, "set_provider_roles")
        .await?;
    let rotate = sys.consents().rotate_provider_key([0xd1; 32]);
    report
        .measure(client, &doctor(), &rotate, cm, "rotate_provider_key")
        .await?;

    // Admin messages of each contract (the same `Admin` rules in all three). This
    // system has no change delay, so each rewiring applies within its announcement.
    let rewire = sys
        .registry()
        .schedule_change(AdminChange::Peers(sys.consents, sys.log));
    report
        .measure(
            client,
            &admin(),
            &rewire,
            reg,
            "schedule_change (peers, applied)",
        )
        .await?;
    let rewire = sys
        .consents()
        .schedule_change(AdminChange::Peers(sys.registry, sys.log));
    report
        .measure(
            client,
            &admin(),
            &rewire,
            cm,
            "schedule_change (peers, applied)",
        )
        .await?;
    let rewire = sys
        .log()
        .schedule_change(AdminChange::Peers(sys.registry, sys.consents));
    report
        .measure(
            client,
            &admin(),
            &rewire,
            log,
            "schedule_change (writers, applied)",
        )
        .await?;
    report
        .measure(
            client,
            &admin(),
            &sys.registry().set_paused(true),
            reg,
            "set_paused",
        )
        .await?;
    submit_ok(client, &admin(), &sys.registry().set_paused(false)).await?;
    report
        .measure(
            client,
            &admin(),
            &sys.consents().set_paused(true),
            cm,
            "set_paused",
        )
        .await?;
    submit_ok(client, &admin(), &sys.consents().set_paused(false)).await?;
    let heir = delegate_id();
    report
        .measure(
            client,
            &admin(),
            &sys.log().propose_admin(heir),
            log,
            "propose_admin",
        )
        .await?;
    report
        .measure(
            client,
            &delegate(),
            &sys.log().accept_admin(),
            log,
            "accept_admin",
        )
        .await?;
    let upgrade = release_upgrade(client, "access_log").await?;
    report
        .measure(
            client,
            &delegate(),
            &sys.log().schedule_change(upgrade),
            log,
            "schedule_change (code, applied)",
        )
        .await?;
    Ok(())
}

/// The paths whose cost must not grow with a patient's history, in measuring order.
pub(super) const HISTORY_PATHS: [&str; 4] = [
    "access_record: released",
    "access_record: denied",
    "grant",
    "revoke",
];

pub(super) struct HistoryCosts {
    /// One per HISTORY_PATHS entry.
    pub(super) paths: Vec<Cost>,
    pub(super) log_length: u64,
}

/// Grows one patient's history to 1, 100 and 1,000 records and consents (each with its
/// log entry) and measures the access path and grant/revoke at each size.
pub(super) async fn history_growth(
    client: &mut Client,
    genesis_hash: [u8; 32],
) -> E2EResult<Vec<(u64, HistoryCosts)>> {
    let sys = release_system(client, genesis_hash).await?;
    let (p, dr) = (patient_id(), doctor_id());
    let mut levels = Vec::new();
    let (mut records, mut consents) = (0u64, 0u64);
    let mut report = Report::default();
    for level in HISTORY {
        while records < level {
            let next = next_record_id(client, &sys).await?;
            let register = sys.registry().register_record(
                p,
                next,
                3,
                content_hash(1_000_000 + records),
                LOCATOR.to_vec(),
                Purpose::PatientRequest,
            );
            submit_ok(client, &patient(), &register).await?;
            records += 1;
        }
        while consents < level {
            // The first consent is the doctor's (the one the access uses); the others
            // go to distinct accounts, each a pair of its own.
            let grantee = if consents == 0 {
                Grantee::Account(dr)
            } else {
                bystander(consents)
            };
            let grant = sys
                .consents()
                .grant(p, grantee, permit(Scope::AllRecords, Action::Read));
            submit_ok(client, &patient(), &grant).await?;
            consents += 1;
        }
        let access = sys.registry().access_record(0, Purpose::Treat);
        let label = "history";
        report
            .measure(client, &doctor(), &access, "", label)
            .await?;
        report
            .measure(client, &responder(), &access, "", label)
            .await?;
        let extra_terms = permit(Scope::Category(3), Action::Read);
        let grant = sys.consents().grant(p, Grantee::Account(dr), extra_terms);
        let extra = report
            .measure(client, &patient(), &grant, "", label)
            .await?;
        report
            .measure(
                client,
                &patient(),
                &sys.consents().revoke(
                    p,
                    extra,
                    ConsentShown {
                        grantee: Grantee::Account(dr),
                        terms: extra_terms,
                    },
                ),
                "",
                label,
            )
            .await?;
        consents += 1;
        let log_length = query(client, &sys.log().head(p)).await?.length;
        let paths = report.rows.drain(..).map(|(_, _, cost)| cost).collect();
        levels.push((level, HistoryCosts { paths, log_length }));
        println!("BENCH history {level}: log length {log_length}");
    }
    verified_chain(client, &sys, p).await?;
    Ok(levels)
}
