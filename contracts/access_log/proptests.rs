//! Property: whatever mix of appends (by writers in and out of their lane, and by
//! strangers) and time steps, each patient's chain verifies from zero to its head, and its
//! length equals the number of appends the log accepted for that patient.

use crate::access_log::{AccessLog, Error};
use ink::env::test::{run_test, set_block_timestamp, set_caller};
use ink::env::DefaultEnvironment;
use ink::primitives::AccountId;
use medconsent_shared::{
    verify_chain, AuditLog, DenyReason, EntryKind, NewEntry, Purpose, MAX_PAGE,
};
use proptest::prelude::*;

type Env = DefaultEnvironment;

const KINDS: [EntryKind; 5] = [
    EntryKind::Access,
    EntryKind::Denied(DenyReason::NoConsent),
    EntryKind::RecordCreated,
    EntryKind::ConsentGranted,
    EntryKind::ConsentRevoked,
];

fn patient(i: u8) -> AccountId {
    AccountId::from([100 + i; 32])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn chains_verify_and_count_every_accepted_append(
        ops in prop::collection::vec((0u8..3, 0u8..3, 0usize..KINDS.len(), 0u64..5), 1..80)
    ) {
        run_test::<Env, _>(|a| {
            set_caller::<Env>(a.alice);
            let mut log = AccessLog::new(0, [0xfc; 32].into());
            let (registry, consents, stranger) = (a.bob, a.charlie, a.eve);
            ink::env::test::set_contract::<ink::env::DefaultEnvironment>(registry);
            ink::env::test::set_contract::<ink::env::DefaultEnvironment>(consents);
            log.schedule_change(medconsent_shared::AdminChange::Peers(registry, consents))
                .unwrap();
            let mut accepted = [0u64; 3];
            let mut now = 0;
            for (who, p, kind, wait) in ops {
                now += wait;
                set_block_timestamp::<Env>(now);
                let caller = [registry, consents, stranger][usize::from(who)];
                let kind = KINDS[kind];
                set_caller::<Env>(caller);
                let result = log.append(NewEntry {
                    patient: patient(p),
                    actor: caller,
                    record: Some(1),
                    kind,
                    purpose: Some(Purpose::Treat),
                    consent: None,
                });
                let in_lane = if kind.is_consent_change() { caller == consents } else { caller == registry };
                if in_lane {
                    assert_eq!(result, Ok(accepted[usize::from(p)]));
                    accepted[usize::from(p)] += 1;
                } else {
                    assert_eq!(result, Err(Error::NotWriter));
                }
            }
            for p in 0..3u8 {
                let head = log.head(patient(p));
                assert_eq!(head.length, accepted[usize::from(p)]);
                let mut entries = Vec::new();
                while (entries.len() as u64) < head.length {
                    entries.extend(log.entries(patient(p), entries.len() as u64, MAX_PAGE));
                }
                let expected = if head.length == 0 { [0; 32] } else { head.last_hash };
                assert_eq!(verify_chain([0; 32], &entries), Ok(expected));
                assert!(entries.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
            }
            Ok(())
        })
        .unwrap();
    }
}
