//! Off-chain tests of the registry's own logic. Every successful register, amend,
//! retire, access and review ends in a call to the access log (and most in one to the
//! consent manager), which the off-chain engine cannot make: those paths run in e2e/.
//! Here the storage helpers the messages use are tested directly, and every rejection
//! that happens before a peer call goes through the message itself.

use crate::record_registry::{screen, EmergencyWindow, Error, PatientCounts, RecordRegistry};
use ink::env::test::{
    default_accounts, recorded_events, set_block_timestamp, set_caller, set_contract,
};
use ink::env::DefaultEnvironment;
use ink::primitives::AccountId;
use medconsent_shared::{
    AdminChange, Basis, DenyReason, EmergencyAccess, Purpose, RecordLookup, RecordStatus, Review,
    ScheduledChange, Verdict, EMERGENCY_WINDOW_MS, MAX_CHART_RECORDS, MAX_EMERGENCIES_PER_WINDOW,
    MAX_LOCATOR_LEN, MAX_PAGE, MAX_REVIEWS_PER_CALL,
};

type Env = DefaultEnvironment;

/// (reads, writes) of the contract's storage so far.
fn storage_rw() -> (usize, usize) {
    ink::env::test::get_contract_storage_rw::<Env>(&ink::env::test::callee::<Env>())
}

const LABS: u16 = 3;
/// Every later wiring or code change waits this long (ms).
const DELAY: u64 = 1_000;

struct World {
    reg: RecordRegistry,
    admin: AccountId,
    patient: AccountId,
    doctor: AccountId,
    stranger: AccountId,
}

fn world() -> World {
    let a = default_accounts::<Env>();
    set_block_timestamp::<Env>(100);
    set_caller::<Env>(a.alice);
    World {
        reg: RecordRegistry::new(DELAY, [0xfc; 32].into()),
        admin: a.alice,
        patient: a.bob,
        doctor: a.charlie,
        stranger: a.eve,
    }
}

fn hash(n: u8) -> [u8; 32] {
    [n; 32]
}

impl World {
    /// A record as register_record stores it once the log has accepted the entry.
    fn store(&mut self, n: u8) -> u64 {
        self.reg
            .store_record(self.patient, self.patient, LABS, hash(n), b"bafy".to_vec())
            .unwrap()
    }

    fn snapshot(&self) -> String {
        let p = self.patient;
        format!(
            "{:?}",
            (
                self.reg.records_of(p, 0, MAX_PAGE),
                self.reg.record_version(0, 1),
                self.reg.emergencies_of(p, 0, MAX_PAGE),
                self.reg.counts(p),
                (
                    self.reg.peers(),
                    self.reg.paused(),
                    self.reg.next_record_id()
                ),
                (self.reg.admin(), self.reg.pending_admin()),
                self.reg.scheduled_change(),
            )
        )
    }

    fn rejects<T: core::fmt::Debug>(
        &mut self,
        caller: AccountId,
        expected: Error,
        message: impl FnOnce(&mut RecordRegistry) -> Result<T, Error>,
    ) {
        let before = self.snapshot();
        let events = recorded_events().count();
        let (_, writes) = storage_rw();
        set_caller::<Env>(caller);
        assert_eq!(message(&mut self.reg).unwrap_err(), expected);
        assert_eq!(self.snapshot(), before, "state changed on {expected:?}");
        assert_eq!(recorded_events().count(), events, "event on {expected:?}");
        assert_eq!(storage_rw().1, writes, "storage written on {expected:?}");
    }

    fn pause(&mut self) {
        set_caller::<Env>(self.admin);
        self.reg.set_paused(true).unwrap();
    }
}

// ---- storage of records and versions -------------------------------------------------

#[ink::test]
fn a_registered_record_starts_at_version_one() {
    let mut w = world();
    let id = w.store(1);
    let record = w.reg.record(id).unwrap();
    assert_eq!(record.version, 1);
    assert_eq!(record.patient, w.patient);
    assert_eq!(record.category, LABS);
    assert_eq!(record.content_hash, hash(1));
    assert_eq!(record.status, RecordStatus::Active);
    assert_eq!(record.created_at, 100);
    assert_eq!(w.reg.next_record_id(), id + 1);
    assert_eq!(w.reg.record_patient(id), Some(w.patient));
    assert_eq!(w.reg.record_patient(id + 1), None);
}

#[ink::test]
fn amendments_keep_every_earlier_version() {
    let mut w = world();
    let id = w.store(1);
    set_block_timestamp::<Env>(200);
    let record = w.reg.record(id).unwrap();
    let v2 = w
        .reg
        .store_amendment(record, w.doctor, hash(2), b"v2".to_vec())
        .unwrap();
    assert_eq!(v2, 2);
    let record = w.reg.record(id).unwrap();
    w.reg
        .store_amendment(record, w.patient, hash(3), b"v3".to_vec())
        .unwrap();
    let current = w.reg.record(id).unwrap();
    assert_eq!((current.version, current.content_hash), (3, hash(3)));
    assert_eq!(current.created_at, 100);
    assert_eq!(current.updated_at, 200);
    let v1 = w.reg.record_version(id, 1).unwrap();
    assert_eq!(
        (v1.content_hash, v1.author, v1.written_at),
        (hash(1), w.patient, 100)
    );
    let v2 = w.reg.record_version(id, 2).unwrap();
    assert_eq!(
        (v2.content_hash, v2.locator, v2.author),
        (hash(2), b"v2".to_vec(), w.doctor)
    );
    assert_eq!(w.reg.record_version(id, 3).unwrap().content_hash, hash(3));
    assert_eq!(w.reg.record_version(id, 0), None);
    assert_eq!(w.reg.record_version(id, 4), None);
    assert_eq!(w.reg.record_version(id + 1, 1), None);
}

#[ink::test]
fn records_are_listed_per_patient_in_pages() {
    let mut w = world();
    for n in 1..=5 {
        w.store(n);
    }
    let other = w
        .reg
        .store_record(w.stranger, w.stranger, LABS, hash(9), vec![])
        .unwrap();
    let page = w.reg.records_of(w.patient, 1, 3);
    assert_eq!(page.iter().map(|r| r.id).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(w.reg.records_of(w.patient, 0, u32::MAX).len(), 5);
    assert!(w.reg.records_of(w.patient, 5, 10).is_empty());
    assert!(w.reg.records_of(w.patient, u64::MAX, u32::MAX).is_empty());
    assert_eq!(w.reg.records_of(w.stranger, 0, 10)[0].id, other);
    assert_eq!(
        w.reg.counts(w.patient),
        PatientCounts {
            records: 5,
            emergencies: 0
        }
    );
}

#[ink::test]
fn emergencies_are_queued_per_patient() {
    let mut w = world();
    let id = w.store(1);
    let access = EmergencyAccess {
        record_id: id,
        responder: w.doctor,
        log_seq: 4,
        at: 100,
        review: Review::Pending,
    };
    assert_eq!(w.reg.queue_emergency(w.patient, access), Ok(0));
    assert_eq!(w.reg.queue_emergency(w.patient, access), Ok(1));
    assert_eq!(w.reg.emergencies_of(w.patient, 1, 10), vec![access]);
    assert_eq!(w.reg.counts(w.patient).emergencies, 2);
}

// ---- rejections ----------------------------------------------------------------------

#[ink::test]
fn register_rejects_bad_content() {
    let mut w = world();
    w.store(1);
    let (p, long) = (w.patient, vec![0u8; MAX_LOCATOR_LEN + 1]);
    w.rejects(p, Error::ZeroHash, |r| {
        r.register_record(p, 1, LABS, [0; 32], vec![], Purpose::Treat)
    });
    w.rejects(p, Error::LocatorTooLong, |r| {
        r.register_record(p, 1, LABS, hash(2), long, Purpose::Treat)
    });
    w.rejects(p, Error::HashAlreadyRegistered, |r| {
        r.register_record(p, 1, LABS, hash(1), vec![], Purpose::Treat)
    });
}

#[ink::test]
fn a_taken_record_id_is_refused_cleanly() {
    let mut w = world();
    let p = w.patient;
    // The client sealed for id 0; another registration took it first.
    w.reg
        .store_record(w.stranger, w.stranger, LABS, hash(7), vec![])
        .unwrap();
    for sealed_for in [0, 2, u64::MAX] {
        w.rejects(p, Error::RecordIdTaken, |r| {
            r.register_record(p, sealed_for, LABS, hash(1), vec![], Purpose::Treat)
        });
    }
    // The id the registry names next passes (and reaches the unwired log).
    w.rejects(p, Error::LogUnavailable, |r| {
        r.register_record(p, 1, LABS, hash(1), vec![], Purpose::Treat)
    });
}

#[ink::test]
fn a_strangers_record_cannot_squat_a_patients_hash() {
    let mut w = world();
    let p = w.patient;
    // An observer registers the patient's pending hash for itself first.
    let squat = w
        .reg
        .store_record(w.stranger, w.stranger, LABS, hash(1), vec![])
        .unwrap();
    assert_eq!(w.reg.record(squat).unwrap().patient, w.stranger);
    // The patient's registration of the same hash is not blocked: it passes every
    // check and reaches the (unwired) log.
    w.rejects(p, Error::LogUnavailable, |r| {
        r.register_record(p, 1, LABS, hash(1), vec![], Purpose::Treat)
    });
    // Within one patient's records a hash is still never registered twice.
    let mine = w.store(1);
    assert_eq!(w.reg.record(mine).unwrap().content_hash, hash(1));
    let stranger = w.stranger;
    w.rejects(stranger, Error::HashAlreadyRegistered, |r| {
        r.register_record(stranger, 2, LABS, hash(1), vec![], Purpose::Treat)
    });
}

#[ink::test]
fn register_for_someone_else_needs_the_consent_manager() {
    let mut w = world();
    let (p, doctor) = (w.patient, w.doctor);
    // Not wired: no verdict can be had, so the write is refused (fail closed).
    w.rejects(
        doctor,
        Error::Unauthorized(DenyReason::ConsentUnavailable),
        |r| r.register_record(p, 0, LABS, hash(2), vec![], Purpose::Treat),
    );
}

#[ink::test]
fn nothing_is_written_unlogged() {
    let mut w = world();
    let id = w.store(1);
    let p = w.patient;
    // The log is not wired: every write fails before touching storage (the log is
    // asked first), so not even the off-chain engine, which has no revert, sees one.
    w.rejects(p, Error::LogUnavailable, |r| {
        r.register_record(p, 1, LABS, hash(2), vec![], Purpose::Treat)
    });
    w.rejects(p, Error::LogUnavailable, |r| {
        r.amend_record(id, hash(2), vec![], Purpose::Treat)
    });
    w.rejects(p, Error::LogUnavailable, |r| r.retire_record(id));
    w.reg
        .queue_emergency(p, emergency(id, w.doctor, Review::Pending))
        .unwrap();
    w.rejects(p, Error::LogUnavailable, |r| {
        r.review_emergencies(p, vec![(0, true)])
    });
    assert_eq!(w.reg.record(id).unwrap().status, RecordStatus::Active);
    assert_eq!(w.reg.emergencies_of(p, 0, 1)[0].review, Review::Pending);
}

#[ink::test]
fn a_locator_of_exactly_the_limit_is_accepted() {
    let mut w = world();
    let p = w.patient;
    // Passes validation and reaches the (unwired) log.
    w.rejects(p, Error::LogUnavailable, |r| {
        r.register_record(
            p,
            0,
            LABS,
            hash(1),
            vec![1; MAX_LOCATOR_LEN],
            Purpose::Treat,
        )
    });
}

#[ink::test]
fn amend_rejections() {
    let mut w = world();
    let id = w.store(1);
    let retired = w.store(2);
    w.reg.store_retirement(w.reg.record(retired).unwrap());
    let (p, doctor, long) = (w.patient, w.doctor, vec![0u8; MAX_LOCATOR_LEN + 1]);
    w.rejects(p, Error::ZeroHash, |r| {
        r.amend_record(id, [0; 32], vec![], Purpose::Treat)
    });
    w.rejects(p, Error::LocatorTooLong, |r| {
        r.amend_record(id, hash(4), long, Purpose::Treat)
    });
    for used in [1, 2] {
        w.rejects(p, Error::HashAlreadyRegistered, |r| {
            r.amend_record(id, hash(used), vec![], Purpose::Treat)
        });
    }
    w.rejects(p, Error::RecordNotFound, |r| {
        r.amend_record(99, hash(4), vec![], Purpose::Treat)
    });
    w.rejects(p, Error::RecordRetired, |r| {
        r.amend_record(retired, hash(4), vec![], Purpose::Treat)
    });
    w.rejects(
        doctor,
        Error::Unauthorized(DenyReason::ConsentUnavailable),
        |r| r.amend_record(id, hash(4), vec![], Purpose::Treat),
    );
}

#[ink::test]
fn retire_rejections() {
    let mut w = world();
    let id = w.store(1);
    let (p, stranger) = (w.patient, w.stranger);
    w.rejects(p, Error::RecordNotFound, |r| r.retire_record(id + 1));
    // Not the patient and no consent manager to ask about delegates.
    w.rejects(stranger, Error::ConsentUnavailable, |r| r.retire_record(id));
    w.reg.store_retirement(w.reg.record(id).unwrap());
    assert_eq!(w.reg.record(id).unwrap().status, RecordStatus::Retired);
    w.rejects(p, Error::RecordRetired, |r| r.retire_record(id));
}

#[ink::test]
fn access_rejections() {
    let mut w = world();
    let id = w.store(1);
    let doctor = w.doctor;
    w.rejects(doctor, Error::RecordNotFound, |r| {
        r.access_record(id + 1, Purpose::Treat)
    });
    w.rejects(doctor, Error::EmptyJustification, |r| {
        r.emergency_access(id, [0; 32])
    });
    w.rejects(doctor, Error::RecordNotFound, |r| {
        r.emergency_access(id + 1, hash(5))
    });
}

#[ink::test]
fn chart_rejections_refuse_the_whole_chart() {
    let mut w = world();
    let first = w.store(1);
    let second = w.store(2);
    // A record of another patient, as the registry holds it.
    let foreign = w
        .reg
        .store_record(w.stranger, w.stranger, LABS, hash(3), vec![])
        .unwrap();
    let (p, doctor) = (w.patient, w.doctor);
    w.rejects(doctor, Error::EmptyChart, |r| {
        r.access_chart(p, vec![], Purpose::Treat)
    });
    let too_many = vec![first; MAX_CHART_RECORDS + 1];
    w.rejects(doctor, Error::ChartTooLarge, |r| {
        r.access_chart(p, too_many, Purpose::Treat)
    });
    // Every record must be the named patient's and exist; one that is not refuses all.
    w.rejects(doctor, Error::RecordNotFound, |r| {
        r.access_chart(p, vec![first, foreign, second], Purpose::Treat)
    });
    w.rejects(doctor, Error::RecordNotFound, |r| {
        r.access_chart(p, vec![first, second + 10], Purpose::Treat)
    });
    // Unwired: no consent manager can permit and no log can take the entries, so
    // nothing is released or written.
    let full = vec![first; MAX_CHART_RECORDS];
    w.rejects(doctor, Error::LogUnavailable, |r| {
        r.access_chart(p, full, Purpose::Treat)
    });
    let admin = w.admin;
    set_caller::<Env>(admin);
    w.reg.set_paused(true).unwrap();
    w.rejects(doctor, Error::Paused, |r| {
        r.access_chart(p, vec![first], Purpose::Treat)
    });
}

fn emergency(record_id: u64, responder: AccountId, review: Review) -> EmergencyAccess {
    EmergencyAccess {
        record_id,
        responder,
        log_seq: 0,
        at: 100,
        review,
    }
}

#[ink::test]
fn review_rejections() {
    let mut w = world();
    let id = w.store(1);
    let pending = emergency(id, w.doctor, Review::Pending);
    w.reg.queue_emergency(w.patient, pending).unwrap();
    let reviewed = emergency(id, w.doctor, Review::Justified);
    w.reg.queue_emergency(w.patient, reviewed).unwrap();
    let (p, stranger) = (w.patient, w.stranger);
    w.rejects(p, Error::NothingToReview, |r| {
        r.review_emergencies(p, vec![])
    });
    let too_many = vec![(0, true); MAX_REVIEWS_PER_CALL + 1];
    w.rejects(p, Error::TooManyReviews, |r| {
        r.review_emergencies(p, too_many)
    });
    w.rejects(p, Error::EmergencyNotFound, |r| {
        r.review_emergencies(p, vec![(2, true)])
    });
    w.rejects(p, Error::AlreadyReviewed, |r| {
        r.review_emergencies(p, vec![(1, false)])
    });
    // One bad review in a batch refuses the batch (the good one comes second).
    w.rejects(p, Error::AlreadyReviewed, |r| {
        r.review_emergencies(p, vec![(1, true), (0, true)])
    });
    w.rejects(stranger, Error::ConsentUnavailable, |r| {
        r.review_emergencies(p, vec![(0, true)])
    });
    // A full batch of valid reviews passes every check and reaches the (unwired) log.
    w.rejects(p, Error::LogUnavailable, |r| {
        r.review_emergencies(p, vec![(0, true); MAX_REVIEWS_PER_CALL])
    });
}

#[ink::test]
fn a_review_is_stored_once_and_says_what_the_patient_decided() {
    let mut w = world();
    let id = w.store(1);
    let p = w.patient;
    for _ in 0..2 {
        w.reg
            .queue_emergency(p, emergency(id, w.doctor, Review::Pending))
            .unwrap();
    }
    w.reg
        .store_review(&p, 0, emergency(id, w.doctor, Review::Pending), true);
    w.reg
        .store_review(&p, 1, emergency(id, w.doctor, Review::Pending), false);
    let reviews: Vec<_> = w
        .reg
        .emergencies_of(p, 0, 2)
        .iter()
        .map(|e| e.review)
        .collect();
    assert_eq!(reviews, vec![Review::Justified, Review::Unjustified]);
}

// ---- who may ask, and break-glass budget -------------------------------------------------

#[ink::test]
fn strangers_are_refused_without_an_entry_and_providers_are_logged() {
    let mut w = world();
    let id = w.store(1);
    let record = w.reg.record(id).unwrap();
    // A caller outside the directory who does not act for the patient: Err, no entry.
    assert_eq!(
        screen(&record, Verdict::Deny(DenyReason::NotProvider)),
        Err(Error::Unauthorized(DenyReason::NotProvider))
    );
    // Providers are accountable: their denials are kept as values, to be logged.
    for reason in [
        DenyReason::NoConsent,
        DenyReason::ProviderSuspended,
        DenyReason::NotResponder,
        DenyReason::ConsentUnavailable,
    ] {
        assert_eq!(
            screen(&record, Verdict::Deny(reason)),
            Ok(Verdict::Deny(reason))
        );
    }
    let permit = Verdict::Permit(Basis::Consent(0));
    assert_eq!(screen(&record, permit), Ok(permit));
    // A retired record is never released, whatever the consent manager said.
    w.reg.store_retirement(record);
    let retired = w.reg.record(id).unwrap();
    assert_eq!(
        screen(&retired, permit),
        Ok(Verdict::Deny(DenyReason::RecordRetired))
    );
    assert_eq!(
        screen(&retired, Verdict::Deny(DenyReason::NotProvider)),
        Err(Error::Unauthorized(DenyReason::NotProvider))
    );
}

#[ink::test]
fn break_glass_is_bounded_per_responder_patient_and_window() {
    let mut w = world();
    let (p, responder, other) = (w.patient, w.doctor, w.stranger);
    for used in 1..=MAX_EMERGENCIES_PER_WINDOW {
        let next = w.reg.emergency_budget(&p, &responder, 100).unwrap();
        assert_eq!(next, EmergencyWindow { start: 100, used });
        w.reg.store_emergency_window(&p, &responder, next);
    }
    // Spent: refused for the rest of the window, at its last millisecond too.
    assert_eq!(w.reg.emergency_budget(&p, &responder, 100), None);
    let last = 100 + EMERGENCY_WINDOW_MS - 1;
    assert_eq!(w.reg.emergency_budget(&p, &responder, last), None);
    // Another responder, or the same one for another patient, has its own budget.
    assert!(w.reg.emergency_budget(&p, &other, 100).is_some());
    assert!(w.reg.emergency_budget(&other, &responder, 100).is_some());
    // A new window opens when the old one ends.
    let end = 100 + EMERGENCY_WINDOW_MS;
    assert_eq!(
        w.reg.emergency_budget(&p, &responder, end),
        Some(EmergencyWindow {
            start: end,
            used: 1
        })
    );
}

#[ink::test]
fn a_paused_registry_writes_and_releases_nothing() {
    let mut w = world();
    let id = w.store(1);
    w.pause();
    let p = w.patient;
    w.rejects(p, Error::Paused, |r| {
        r.register_record(p, 1, LABS, hash(2), vec![], Purpose::Treat)
    });
    w.rejects(p, Error::Paused, |r| {
        r.amend_record(id, hash(2), vec![], Purpose::Treat)
    });
    w.rejects(p, Error::Paused, |r| {
        r.access_record(id, Purpose::PatientRequest)
    });
    w.rejects(p, Error::Paused, |r| r.emergency_access(id, hash(5)));
    // Reviewing only looks back: it passes the pause (and reaches the unwired log).
    w.reg
        .queue_emergency(p, emergency(id, w.doctor, Review::Pending))
        .unwrap();
    w.rejects(p, Error::LogUnavailable, |r| {
        r.review_emergencies(p, vec![(0, false)])
    });
}

// ---- admin ---------------------------------------------------------------------------

#[ink::test]
fn admin_messages_refuse_everyone_else() {
    let mut w = world();
    set_contract::<Env>(w.doctor);
    for who in [w.stranger, w.patient] {
        let (wire, code) = (
            AdminChange::Peers(w.doctor, w.doctor),
            AdminChange::Code([1; 32].into(), [2; 32].into()),
        );
        w.rejects(who, Error::NotAdmin, |r| r.schedule_change(wire));
        w.rejects(who, Error::NotAdmin, |r| r.schedule_change(code));
        w.rejects(who, Error::NotAdmin, |r| r.apply_change());
        w.rejects(who, Error::NotAdmin, |r| r.cancel_change());
        w.rejects(who, Error::NotAdmin, |r| r.set_paused(true));
        w.rejects(who, Error::NotAdmin, |r| r.propose_admin(who));
        w.rejects(who, Error::NotPendingAdmin, |r| r.accept_admin());
    }
}

#[ink::test]
fn peers_must_be_contracts_and_rewiring_waits_the_delay() {
    let mut w = world();
    let (admin, cm, log, other) = (w.admin, w.doctor, w.stranger, w.patient);
    set_contract::<Env>(cm);
    // The admin's own wallet as a peer (a consent manager that always says yes).
    w.rejects(admin, Error::NotAContract, |r| {
        r.schedule_change(AdminChange::Peers(cm, admin))
    });
    set_contract::<Env>(log);
    // The first wiring is deployment: it applies at once.
    set_caller::<Env>(admin);
    assert_eq!(w.reg.schedule_change(AdminChange::Peers(cm, log)), Ok(100));
    assert_eq!(w.reg.peers(), (Some(cm), Some(log)));
    assert_eq!(w.reg.scheduled_change(), None);
    // A rewiring is announced and waits.
    set_contract::<Env>(other);
    let rewire = AdminChange::Peers(other, log);
    assert_eq!(w.reg.schedule_change(rewire), Ok(100 + DELAY));
    let due = Some(ScheduledChange {
        change: rewire,
        effective_at: 100 + DELAY,
    });
    assert_eq!(w.reg.scheduled_change(), due);
    set_block_timestamp::<Env>(100 + DELAY - 1);
    w.rejects(admin, Error::NotYetDue, |r| r.apply_change());
    assert_eq!(w.reg.peers(), (Some(cm), Some(log)));
    set_block_timestamp::<Env>(100 + DELAY);
    set_caller::<Env>(admin);
    w.reg.apply_change().unwrap();
    assert_eq!(w.reg.peers(), (Some(other), Some(log)));
    assert_eq!(w.reg.scheduled_change(), None);
    w.rejects(admin, Error::NothingScheduled, |r| r.apply_change());
    w.rejects(admin, Error::NothingScheduled, |r| r.cancel_change());
}

#[ink::test]
fn admin_transfer() {
    let mut w = world();
    set_caller::<Env>(w.admin);
    w.reg.propose_admin(w.patient).unwrap();
    assert_eq!(w.reg.pending_admin(), Some(w.patient));
    set_caller::<Env>(w.patient);
    w.reg.accept_admin().unwrap();
    assert_eq!(w.reg.admin(), w.patient);
    let old = w.admin;
    w.rejects(old, Error::NotAdmin, |r| r.set_paused(true));
    set_caller::<Env>(w.patient);
    w.reg.set_paused(true).unwrap();
    assert!(w.reg.paused());
}

// ---- hostile input -------------------------------------------------------------------

/// Boundary and malformed arguments to every message that takes any: each gets its typed
/// error and the contract writes nothing and emits nothing.
#[ink::test]
fn boundary_arguments_are_refused_without_a_write() {
    let mut w = world();
    let (_, writes) = storage_rw();
    let id = w.store(1);
    assert!(
        storage_rw().1 > writes,
        "the write counter sees the contract's writes"
    );
    let (p, stranger) = (w.patient, w.stranger);
    let unknown = AccountId::from([0xab; 32]);
    let long = vec![0xff; MAX_LOCATOR_LEN + 1];
    w.rejects(p, Error::ZeroHash, |r| {
        r.register_record(p, 1, u16::MAX, [0; 32], vec![], Purpose::PatientRequest)
    });
    w.rejects(p, Error::LocatorTooLong, |r| {
        r.register_record(p, 1, 0, hash(9), long.clone(), Purpose::PatientRequest)
    });
    w.rejects(p, Error::HashAlreadyRegistered, |r| {
        r.register_record(p, 1, LABS, hash(1), vec![], Purpose::PatientRequest)
    });
    w.rejects(p, Error::RecordIdTaken, |r| {
        r.register_record(p, u64::MAX, LABS, hash(9), vec![], Purpose::PatientRequest)
    });
    // Someone else's (or nobody's) patient: only the consent manager could allow it.
    w.rejects(
        stranger,
        Error::Unauthorized(DenyReason::ConsentUnavailable),
        |r| r.register_record(unknown, 1, LABS, hash(9), vec![], Purpose::Research),
    );
    for missing in [id + 1, u64::MAX] {
        w.rejects(p, Error::RecordNotFound, |r| {
            r.amend_record(missing, hash(9), vec![], Purpose::PatientRequest)
        });
        w.rejects(p, Error::RecordNotFound, |r| r.retire_record(missing));
        w.rejects(p, Error::RecordNotFound, |r| {
            r.access_record(missing, Purpose::Treat)
        });
        w.rejects(p, Error::RecordNotFound, |r| {
            r.emergency_access(missing, hash(9))
        });
    }
    w.rejects(p, Error::EmptyJustification, |r| {
        r.emergency_access(id, [0; 32])
    });
    for (patient, index) in [(p, 0), (p, u64::MAX)] {
        w.rejects(p, Error::EmergencyNotFound, |r| {
            r.review_emergencies(patient, vec![(index, true)])
        });
    }
    // Unknown ids and accounts are simply unknown to the reads.
    assert_eq!(w.reg.record(u64::MAX), None);
    assert_eq!(w.reg.record_version(id, 0), None);
    assert_eq!(w.reg.record_version(id, u32::MAX), None);
    assert_eq!(w.reg.records_of(unknown, 0, u32::MAX), vec![]);
    assert_eq!(w.reg.record_patient(u64::MAX), None);
}
