use crate::access_log::{AccessLog, Error};
use ink::env::test::{
    default_accounts, recorded_events, set_block_timestamp, set_caller, set_contract,
};
use ink::env::DefaultEnvironment;
use ink::primitives::AccountId;
use medconsent_shared::{
    verify_chain, AdminChange, AuditLog, ChainHead, ChartEntries, DenyReason, EntryKind, LogEntry,
    NewEntry, Purpose, ScheduledChange, MAX_PAGE,
};

type Env = DefaultEnvironment;

struct World {
    log: AccessLog,
    admin: AccountId,
    registry: AccountId,
    consents: AccountId,
    patient: AccountId,
    stranger: AccountId,
}

/// Every later writer or code change waits this long (ms).
const DELAY: u64 = 1_000;

/// Log deployed by alice at t=100, with (contracts) bob as registry and charlie as
/// consent manager.
fn world() -> World {
    let a = default_accounts::<Env>();
    set_caller::<Env>(a.alice);
    set_block_timestamp::<Env>(100);
    set_contract::<Env>(a.bob);
    set_contract::<Env>(a.charlie);
    let mut log = AccessLog::new(DELAY, [0xfc; 32].into());
    log.schedule_change(AdminChange::Peers(a.bob, a.charlie))
        .unwrap();
    World {
        log,
        admin: a.alice,
        registry: a.bob,
        consents: a.charlie,
        patient: a.django,
        stranger: a.eve,
    }
}

fn entry(patient: AccountId, kind: EntryKind) -> NewEntry {
    NewEntry {
        patient,
        actor: AccountId::from([9; 32]),
        record: Some(3),
        kind,
        purpose: Some(Purpose::Treat),
        consent: Some(1),
    }
}

impl World {
    fn append_as(&mut self, who: AccountId, kind: EntryKind) -> Result<u64, Error> {
        set_caller::<Env>(who);
        self.log.append(entry(self.patient, kind))
    }
}

fn all_entries(w: &World, patient: AccountId) -> Vec<LogEntry> {
    w.log.entries(patient, 0, MAX_PAGE)
}

#[ink::test]
fn writers_build_a_verifiable_chain() {
    let mut w = world();
    set_block_timestamp::<Env>(1_000);
    assert_eq!(w.append_as(w.registry, EntryKind::RecordCreated), Ok(0));
    assert_eq!(w.append_as(w.consents, EntryKind::ConsentGranted), Ok(1));
    assert_eq!(w.append_as(w.registry, EntryKind::Access), Ok(2));

    let entries = all_entries(&w, w.patient);
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[1].kind, EntryKind::ConsentGranted);
    assert_eq!(entries[1].timestamp, 1_000);
    let head = w.log.head(w.patient);
    assert_eq!(head.length, 3);
    assert_eq!(verify_chain([0; 32], &entries), Ok(head.last_hash));
}

#[ink::test]
fn first_hash_is_blake2_of_zeros_and_scale_body() {
    let mut w = world();
    w.append_as(w.registry, EntryKind::Access).unwrap();
    let first = w.log.entries(w.patient, 0, 1)[0];
    let mut input = vec![0u8; 32];
    input.extend(ink::scale::Encode::encode(&(
        first.seq,
        first.patient,
        first.actor,
        first.record,
        first.kind,
        first.purpose,
        first.consent,
        first.timestamp,
        first.block,
    )));
    let mut expected = [0u8; 32];
    ink::env::hash_bytes::<ink::env::hash::Blake2x256>(&input, &mut expected);
    assert_eq!(first.hash, expected);
}

#[ink::test]
fn a_tampered_entry_breaks_the_chain_at_its_seq() {
    let mut w = world();
    for _ in 0..3 {
        w.append_as(w.registry, EntryKind::Access).unwrap();
    }
    let mut entries = all_entries(&w, w.patient);
    entries[1].kind = EntryKind::Denied(DenyReason::NoConsent);
    assert_eq!(verify_chain([0; 32], &entries), Err(1));
}

#[ink::test]
fn each_patient_has_its_own_chain() {
    let mut w = world();
    let other = AccountId::from([7; 32]);
    w.append_as(w.registry, EntryKind::Access).unwrap();
    set_caller::<Env>(w.registry);
    assert_eq!(w.log.append(entry(other, EntryKind::Access)), Ok(0));
    assert_eq!(w.log.head(other).length, 1);
    assert_eq!(w.log.head(w.patient).length, 1);
    assert_ne!(w.log.head(other).last_hash, w.log.head(w.patient).last_hash);
}

#[ink::test]
fn strangers_and_writers_out_of_their_lane_are_refused() {
    let mut w = world();
    w.append_as(w.registry, EntryKind::Access).unwrap();
    let before = w.log.head(w.patient);
    let cases = [
        (w.stranger, EntryKind::Access),
        (w.admin, EntryKind::Access),
        (w.stranger, EntryKind::ConsentGranted),
        (w.registry, EntryKind::ConsentRevoked),
        (w.consents, EntryKind::Access),
        (w.consents, EntryKind::RecordCreated),
    ];
    for (who, kind) in cases {
        assert_eq!(w.append_as(who, kind), Err(Error::NotWriter));
    }
    assert_eq!(w.log.head(w.patient), before);
    assert_eq!(w.log.entries(w.patient, 1, 1), vec![]);
}

#[ink::test]
fn nobody_appends_before_writers_are_named() {
    let a = default_accounts::<Env>();
    set_caller::<Env>(a.alice);
    let log = AccessLog::new(DELAY, [0xfc; 32].into());
    assert_eq!(log.writers(), (None, None));
    for who in [a.alice, a.bob, a.charlie] {
        set_caller::<Env>(who);
        assert_eq!(
            log.append(entry(a.django, EntryKind::Access)),
            Err(Error::NotWriter)
        );
    }
    assert_eq!(log.head(a.django), ChainHead::default());
}

#[ink::test]
fn only_the_admin_names_writers() {
    let mut w = world();
    set_caller::<Env>(w.stranger);
    let change = AdminChange::Peers(w.stranger, w.stranger);
    assert_eq!(w.log.schedule_change(change), Err(Error::NotAdmin));
    assert_eq!(w.log.writers(), (Some(w.registry), Some(w.consents)));
    assert_eq!(w.log.scheduled_change(), None);
}

#[ink::test]
fn a_wallet_is_never_a_writer() {
    let a = default_accounts::<Env>();
    set_caller::<Env>(a.alice);
    set_contract::<Env>(a.bob);
    let mut log = AccessLog::new(DELAY, [0xfc; 32].into());
    // The admin names its own wallet: refused on the first wiring and on later ones.
    for change in [
        AdminChange::Peers(a.alice, a.bob),
        AdminChange::Peers(a.bob, a.alice),
    ] {
        assert_eq!(log.schedule_change(change), Err(Error::NotAContract));
        assert_eq!(log.writers(), (None, None));
        assert_eq!(log.scheduled_change(), None);
    }
    set_caller::<Env>(a.alice);
    assert_eq!(
        log.append(entry(a.django, EntryKind::ConsentGranted)),
        Err(Error::NotWriter)
    );
    assert_eq!(log.head(a.django), ChainHead::default());
}

#[ink::test]
fn a_rewiring_waits_the_delay_fixed_at_deployment() {
    let mut w = world();
    let a = default_accounts::<Env>();
    set_contract::<Env>(a.frank);
    let change = AdminChange::Peers(a.frank, w.consents);
    set_caller::<Env>(w.admin);
    assert_eq!(w.log.change_delay(), DELAY);
    assert_eq!(w.log.schedule_change(change), Ok(100 + DELAY));
    let scheduled = ScheduledChange {
        change,
        effective_at: 100 + DELAY,
    };
    assert_eq!(w.log.scheduled_change(), Some(scheduled));
    // Announced, not applied: the old registry still writes, the new one cannot.
    assert_eq!(w.log.writers(), (Some(w.registry), Some(w.consents)));
    set_block_timestamp::<Env>(100 + DELAY - 1);
    set_caller::<Env>(w.admin);
    assert_eq!(w.log.apply_change(), Err(Error::NotYetDue));
    assert_eq!(w.log.writers(), (Some(w.registry), Some(w.consents)));
    assert_eq!(w.log.scheduled_change(), Some(scheduled));
    // A stranger cannot apply it even when due.
    set_block_timestamp::<Env>(100 + DELAY);
    set_caller::<Env>(w.stranger);
    assert_eq!(w.log.apply_change(), Err(Error::NotAdmin));
    set_caller::<Env>(w.admin);
    w.log.apply_change().unwrap();
    assert_eq!(w.log.writers(), (Some(a.frank), Some(w.consents)));
    assert_eq!(w.log.scheduled_change(), None);
    assert_eq!(w.log.apply_change(), Err(Error::NothingScheduled));
}

#[ink::test]
fn an_announced_change_can_be_withdrawn() {
    let mut w = world();
    set_caller::<Env>(w.admin);
    assert_eq!(w.log.cancel_change(), Err(Error::NothingScheduled));
    w.log
        .schedule_change(AdminChange::Code([1; 32].into(), [2; 32].into()))
        .unwrap();
    set_caller::<Env>(w.stranger);
    assert_eq!(w.log.cancel_change(), Err(Error::NotAdmin));
    assert!(w.log.scheduled_change().is_some());
    set_caller::<Env>(w.admin);
    w.log.cancel_change().unwrap();
    assert_eq!(w.log.scheduled_change(), None);
    set_block_timestamp::<Env>(100 + DELAY);
    assert_eq!(w.log.apply_change(), Err(Error::NothingScheduled));
}

#[ink::test]
fn entries_are_paginated_and_capped() {
    let mut w = world();
    let total = u64::from(MAX_PAGE) + 8;
    for _ in 0..total {
        w.append_as(w.registry, EntryKind::Access).unwrap();
    }
    let first = w.log.entries(w.patient, 0, 1_000);
    assert_eq!(first.len(), MAX_PAGE as usize);
    let rest = w.log.entries(w.patient, u64::from(MAX_PAGE), 1_000);
    assert_eq!(rest.len(), 8);
    assert_eq!(rest[0].seq, u64::from(MAX_PAGE));
    assert!(w.log.entries(w.patient, total, 10).is_empty());
    assert!(w.log.entries(w.patient, u64::MAX, u32::MAX).is_empty());
    assert_eq!(w.log.entries(w.patient, 2, 3).len(), 3);
}

#[ink::test]
fn disclosures_are_the_entries_inside_a_time_window() {
    let mut w = world();
    for at in [10, 10, 20, 30, 30, 40] {
        set_block_timestamp::<Env>(at);
        w.append_as(w.registry, EntryKind::Access).unwrap();
    }
    let seqs = |v: Vec<LogEntry>| v.iter().map(|e| e.seq).collect::<Vec<_>>();
    let p = w.patient;
    assert_eq!(
        seqs(w.log.disclosures(p, 20, 40, 0, 10).unwrap()),
        vec![2, 3, 4]
    );
    assert_eq!(
        seqs(w.log.disclosures(p, 0, 11, 0, 10).unwrap()),
        vec![0, 1]
    );
    assert_eq!(
        seqs(w.log.disclosures(p, 15, 100, 1, 2).unwrap()),
        vec![3, 4]
    );
    assert_eq!(
        seqs(w.log.disclosures(p, 41, 100, 0, 10).unwrap()),
        Vec::<u64>::new()
    );
    assert_eq!(
        seqs(w.log.disclosures(p, 30, 30, 0, 10).unwrap()),
        Vec::<u64>::new()
    );
    let nobody = AccountId::from([8; 32]);
    assert_eq!(w.log.disclosures(nobody, 0, 100, 0, 10), Ok(vec![]));
}

#[ink::test]
fn reversed_window_is_refused() {
    let w = world();
    assert_eq!(
        w.log.disclosures(w.patient, 5, 4, 0, 10),
        Err(Error::InvalidRange)
    );
}

#[ink::test]
fn admin_transfer_takes_two_steps() {
    let mut w = world();
    set_caller::<Env>(w.stranger);
    assert_eq!(w.log.propose_admin(w.stranger), Err(Error::NotAdmin));
    assert_eq!(w.log.accept_admin(), Err(Error::NotPendingAdmin));
    assert_eq!(w.log.pending_admin(), None);

    set_caller::<Env>(w.admin);
    w.log.propose_admin(w.patient).unwrap();
    assert_eq!(w.log.pending_admin(), Some(w.patient));
    set_caller::<Env>(w.stranger);
    assert_eq!(w.log.accept_admin(), Err(Error::NotPendingAdmin));
    assert_eq!(w.log.admin(), w.admin);

    set_caller::<Env>(w.patient);
    w.log.accept_admin().unwrap();
    assert_eq!(w.log.admin(), w.patient);
    assert_eq!(w.log.pending_admin(), None);
    set_caller::<Env>(w.admin);
    let change = AdminChange::Peers(w.registry, w.consents);
    assert_eq!(w.log.schedule_change(change), Err(Error::NotAdmin));
}

#[ink::test]
fn only_the_admin_upgrades() {
    let mut w = world();
    set_caller::<Env>(w.stranger);
    let change = AdminChange::Code([1; 32].into(), [2; 32].into());
    assert_eq!(w.log.schedule_change(change), Err(Error::NotAdmin));
    assert_eq!(w.log.scheduled_change(), None);
}

#[ink::test]
fn append_emits_one_anonymous_event_with_the_patient_as_its_only_topic() {
    let mut w = world();
    let before = recorded_events().count();
    w.append_as(w.registry, EntryKind::Access).unwrap();
    let events: Vec<_> = recorded_events().skip(before).collect();
    assert_eq!(events.len(), 1);
    let patient: &[u8; 32] = w.patient.as_ref();
    assert_eq!(events[0].topics, vec![patient.to_vec()]);
    // Nothing the entry stores is repeated: the event holds the patient only.
    assert_eq!(events[0].data, patient.to_vec());
}

fn chart(patient: AccountId, kinds: &[EntryKind]) -> ChartEntries {
    ChartEntries {
        patient,
        actor: AccountId::from([9; 32]),
        purpose: Purpose::Treat,
        items: kinds
            .iter()
            .enumerate()
            .map(|(i, kind)| (u64::try_from(i).unwrap(), *kind, Some(7)))
            .collect(),
    }
}

#[ink::test]
fn a_chart_appends_in_order_the_entries_single_appends_would() {
    let mut w = world();
    w.append_as(w.registry, EntryKind::RecordCreated).unwrap();
    let kinds = [
        EntryKind::Access,
        EntryKind::Denied(DenyReason::NoConsent),
        EntryKind::Access,
    ];
    set_caller::<Env>(w.registry);
    let before = recorded_events().count();
    assert_eq!(w.log.append_chart(chart(w.patient, &kinds)), Ok(1));
    assert_eq!(recorded_events().count(), before + 1, "one event per call");

    // The same entries appended one by one to another patient's chain.
    let other = w.stranger;
    for (i, kind) in kinds.iter().enumerate() {
        set_caller::<Env>(w.registry);
        let mut single = entry(other, *kind);
        single.record = Some(u64::try_from(i).unwrap());
        single.consent = Some(7);
        w.log.append(single).unwrap();
    }
    let charted = all_entries(&w, w.patient);
    let singles = all_entries(&w, other);
    assert_eq!(charted.len(), 4);
    for (c, s) in charted[1..].iter().zip(&singles) {
        assert_eq!(c.seq, s.seq + 1);
        let fields = |e: &LogEntry| (e.actor, e.record, e.kind, e.purpose, e.consent, e.timestamp);
        assert_eq!(fields(c), fields(s));
    }
    let head = w.log.head(w.patient);
    assert_eq!(head.length, 4);
    assert_eq!(verify_chain([0; 32], &charted), Ok(head.last_hash));
}

#[ink::test]
fn a_chart_outside_the_registrys_lane_is_refused_whole() {
    let mut w = world();
    w.append_as(w.registry, EntryKind::RecordCreated).unwrap();
    let head = w.log.head(w.patient);
    let writes =
        || ink::env::test::get_contract_storage_rw::<Env>(&ink::env::test::callee::<Env>()).1;
    let writes_before = writes();
    // The consent manager may not write accesses, even in a chart.
    set_caller::<Env>(w.consents);
    assert_eq!(
        w.log.append_chart(chart(w.patient, &[EntryKind::Access])),
        Err(Error::NotWriter)
    );
    // One consent-change kind among accesses refuses the chart before any is written.
    set_caller::<Env>(w.registry);
    let mixed = [EntryKind::Access, EntryKind::ConsentGranted];
    assert_eq!(
        w.log.append_chart(chart(w.patient, &mixed)),
        Err(Error::NotWriter)
    );
    set_caller::<Env>(w.stranger);
    assert_eq!(
        w.log.append_chart(chart(w.patient, &[EntryKind::Access])),
        Err(Error::NotWriter)
    );
    // A chart with no entries, from anyone: nothing to log, no head written, no event.
    let events = recorded_events().count();
    for caller in [w.stranger, w.registry] {
        set_caller::<Env>(caller);
        assert_eq!(
            w.log.append_chart(chart(w.patient, &[])),
            Err(Error::EmptyChart)
        );
        assert_eq!(
            w.log.append_chart(chart(w.stranger, &[])),
            Err(Error::EmptyChart)
        );
    }
    assert_eq!(
        recorded_events().count(),
        events,
        "an event for an empty chart"
    );
    assert_eq!(w.log.head(w.stranger), ChainHead::default());
    assert_eq!(w.log.head(w.patient), head);
    assert_eq!(
        writes(),
        writes_before,
        "nothing is written for a refused chart"
    );
}
