//! Patients' verified trails kept between searches. Reading a trail whole costs one node
//! read per 32 entries (a 10,000-entry trail: 313 reads, about a second); a trail kept
//! from an earlier search is brought up to the finalized block by reading the head and
//! only the entries appended since, checked to chain on from the kept last hash
//! (`reads::extend_trail`). What is served is what a whole read at that block would
//! verify: the head's hash pins every entry before it.
//!
//! Bounded by entries kept (the least recently searched patient goes first, a patient
//! with no entries is not kept); one search at a time per patient, so a burst of searches
//! for one patient reads the node once.

use medconsent_chain::reads::{self, Trail, TrailError};
use medconsent_chain::{Block, Chain, Contracts};
use medconsent_shared::AccountId;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

type Slot = Arc<tokio::sync::Mutex<Option<Trail>>>;

struct Kept {
    slot: Slot,
    entries: usize,
    last_used: u64,
}

/// The kept trails, their entries in all, and the patients by last use (oldest first):
/// every step is a map lookup, never a scan, so no request can make the lock slow.
#[derive(Default)]
struct Table {
    kept: HashMap<AccountId, Kept>,
    by_use: BTreeMap<u64, AccountId>,
    total: usize,
    clock: u64,
}

pub struct Trails {
    table: Mutex<Table>,
    /// Entries kept across all patients; 0 keeps nothing (every search reads whole).
    max_entries: usize,
}

impl Trails {
    pub fn new(max_entries: usize) -> Self {
        Self {
            table: Mutex::new(Table::default()),
            max_entries,
        }
    }

    /// `patient`'s verified trail at `at`, handed to `read`.
    pub async fn with<R>(
        &self,
        chain: &Chain,
        contracts: &Contracts,
        at: Block,
        patient: AccountId,
        read: impl FnOnce(&Trail) -> R,
    ) -> Result<R, TrailError> {
        if self.max_entries == 0 {
            let trail = reads::verified_trail(chain, contracts, at, patient).await?;
            return Ok(read(&trail));
        }
        let slot = self.slot(patient);
        let mut kept = slot.lock().await;
        let brought = match kept.as_mut() {
            Some(trail) => reads::extend_trail(chain, contracts, at, patient, trail).await,
            None => reads::verified_trail(chain, contracts, at, patient)
                .await
                .map(|trail| *kept = Some(trail)),
        };
        let answer = brought.map(|()| kept.as_ref().map(read));
        let entries = kept.as_ref().map_or(0, |trail| trail.entries.len());
        drop(kept);
        self.settle(patient, &slot, entries);
        answer.map(|read| read.expect("a trail was kept or the read failed"))
    }

    /// The patient's slot, marked as just used (a new one if none is kept).
    fn slot(&self, patient: AccountId) -> Slot {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let Table {
            kept,
            by_use,
            clock,
            ..
        } = &mut *table;
        *clock = clock.saturating_add(1);
        let kept = kept.entry(patient).or_insert_with(|| Kept {
            slot: Slot::default(),
            entries: 0,
            last_used: 0,
        });
        by_use.remove(&kept.last_used);
        kept.last_used = *clock;
        by_use.insert(*clock, patient);
        kept.slot.clone()
    }

    /// Records what `slot` of `patient` now holds (nothing: it goes, so asking about
    /// strangers leaves nothing behind), then lets the least recently searched go until
    /// the rest fit: a trail larger than the bound alone is not kept. A slot another
    /// search holds stays until it is done; a slot that was let go meanwhile is not
    /// counted.
    fn settle(&self, patient: AccountId, slot: &Slot, entries: usize) {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let Table {
            kept,
            by_use,
            total,
            ..
        } = &mut *table;
        if let Some(k) = kept
            .get_mut(&patient)
            .filter(|k| Arc::ptr_eq(&k.slot, slot))
        {
            *total = total.saturating_sub(k.entries).saturating_add(entries);
            k.entries = entries;
            if entries == 0 {
                by_use.remove(&k.last_used);
                kept.remove(&patient);
            }
        }
        let mut in_use = Vec::new();
        while *total > self.max_entries {
            let Some((used, account)) = by_use.pop_first() else {
                break;
            };
            // Held by another search (the map's handle and that search's are two): set
            // aside, put back below. This request's own patient goes if it must.
            let busy = kept
                .get(&account)
                .is_some_and(|k| account != patient && Arc::strong_count(&k.slot) > 1);
            if busy {
                in_use.push((used, account));
                continue;
            }
            if let Some(k) = kept.remove(&account) {
                *total = total.saturating_sub(k.entries);
            }
        }
        by_use.extend(in_use);
    }

    /// The patients whose trails are kept, and their entries (for tests).
    pub fn kept(&self) -> Vec<(AccountId, usize)> {
        let table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        table.kept.iter().map(|(a, k)| (*a, k.entries)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(n: u16) -> AccountId {
        let mut bytes = [0u8; 32];
        bytes[..2].copy_from_slice(&n.to_le_bytes());
        AccountId::from(bytes)
    }

    /// A search of patient `n` that ended holding `entries`.
    fn searched(trails: &Trails, n: u16, entries: usize) {
        let slot = trails.slot(account(n));
        trails.settle(account(n), &slot, entries);
    }

    fn kept_sorted(trails: &Trails) -> Vec<(AccountId, usize)> {
        let mut kept = trails.kept();
        kept.sort_by_key(|(a, _)| *a);
        kept
    }

    #[test]
    fn the_least_recently_searched_go_first_and_strangers_leave_nothing() {
        let trails = Trails::new(25);
        searched(&trails, 1, 10);
        searched(&trails, 2, 10);
        // Patient 1 searched again: patient 2 is now the oldest, and goes for patient 3.
        searched(&trails, 1, 10);
        searched(&trails, 3, 10);
        assert_eq!(
            kept_sorted(&trails),
            vec![(account(1), 10), (account(3), 10)]
        );
        // Asking about accounts with no trail keeps nothing, evicts nothing.
        for n in 10..5_000 {
            searched(&trails, n, 0);
        }
        assert_eq!(trails.kept().len(), 2);
        // A trail larger than the bound alone is not kept.
        searched(&trails, 4, 30);
        assert!(trails.kept().iter().all(|(a, _)| *a != account(4)));
    }

    #[test]
    fn a_slot_in_use_is_not_let_go_and_a_replaced_one_is_not_counted() {
        let trails = Trails::new(25);
        searched(&trails, 1, 20);
        // Another search of patient 1 is under way (it holds the slot).
        let held = trails.slot(account(1));
        // Patient 2's trail must fit: patient 1's slot is held, so patient 2's own goes.
        searched(&trails, 2, 10);
        assert_eq!(kept_sorted(&trails), vec![(account(1), 20)]);
        trails.settle(account(1), &held, 20);
        // A search whose slot was let go meanwhile counts nothing against the new one.
        let stale = Slot::default();
        trails.settle(account(1), &stale, 0);
        assert_eq!(kept_sorted(&trails), vec![(account(1), 20)]);
    }
}
