//! Patients' verified trails kept between searches. Reading a trail whole costs one node
//! read per 32 entries (a 10,000-entry trail: 313 reads, about a second); a trail kept
//! from an earlier search is brought up to the finalized block by reading the head and
//! only the entries appended since, checked to chain on from the kept last hash
//! (`reads::extend_trail`). What is served is what a whole read at that block would
//! verify: the head's hash pins every entry before it.
//!
//! Bounded by entries kept (the least recently searched patient goes first); one search
//! at a time per patient, so a burst of searches for one patient reads the node once.

use medconsent_chain::reads::{self, Trail, TrailError};
use medconsent_chain::{Block, Chain, Contracts};
use medconsent_shared::AccountId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

type Slot = Arc<tokio::sync::Mutex<Option<Trail>>>;

struct Kept {
    slot: Slot,
    entries: usize,
    last_used: u64,
}

pub struct Trails {
    kept: Mutex<HashMap<AccountId, Kept>>,
    /// Entries kept across all patients; 0 keeps nothing (every search reads whole).
    max_entries: usize,
}

impl Trails {
    pub fn new(max_entries: usize) -> Self {
        Self {
            kept: Mutex::new(HashMap::new()),
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
        // Settled on failure too: a patient asked about counts against the bound even
        // when nothing of theirs is kept, so asking about many strangers evicts, not grows.
        self.settle(patient, entries);
        answer.map(|read| read.expect("a trail was kept or the read failed"))
    }

    fn slot(&self, patient: AccountId) -> Slot {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.entry(patient)
            .or_insert_with(|| Kept {
                slot: Slot::default(),
                entries: 0,
                last_used: 0,
            })
            .slot
            .clone()
    }

    /// Records what `patient`'s trail now holds and lets the least recently searched go
    /// until the rest fit (a trail larger than the bound alone is not kept). Each
    /// patient costs its entries and one.
    fn settle(&self, patient: AccountId, entries: usize) {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let now = kept
            .values()
            .map(|k| k.last_used)
            .max()
            .unwrap_or(0)
            .saturating_add(1);
        if let Some(k) = kept.get_mut(&patient) {
            k.entries = entries;
            k.last_used = now;
        }
        while kept
            .values()
            .map(|k| k.entries.saturating_add(1))
            .sum::<usize>()
            > self.max_entries
        {
            let Some(oldest) = kept
                .iter()
                .min_by_key(|(_, k)| k.last_used)
                .map(|(account, _)| *account)
            else {
                break;
            };
            kept.remove(&oldest);
        }
    }

    /// The patients whose trails are kept, and their entries (for tests).
    pub fn kept(&self) -> Vec<(AccountId, usize)> {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.iter().map(|(a, k)| (*a, k.entries)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(n: u8) -> AccountId {
        AccountId::from([n; 32])
    }

    fn kept_sorted(trails: &Trails) -> Vec<(AccountId, usize)> {
        let mut kept = trails.kept();
        kept.sort_by_key(|(a, _)| *a);
        kept
    }

    #[test]
    fn the_least_recently_searched_go_first_and_strangers_do_not_pile_up() {
        let trails = Trails::new(25);
        for (n, entries) in [(1, 10), (2, 10)] {
            trails.slot(account(n));
            trails.settle(account(n), entries);
        }
        // Patient 1 searched again: patient 2 is now the oldest.
        trails.settle(account(1), 10);
        trails.slot(account(3));
        trails.settle(account(3), 5);
        assert_eq!(
            kept_sorted(&trails),
            vec![(account(1), 10), (account(3), 5)]
        );
        // Asking about many accounts with no trail evicts; it does not grow the map.
        for n in 10..60 {
            trails.slot(account(n));
            trails.settle(account(n), 0);
        }
        assert!(trails.kept().len() <= 25);
        // A trail larger than the bound alone is not kept.
        trails.slot(account(4));
        trails.settle(account(4), 30);
        assert!(trails.kept().iter().all(|(a, _)| *a != account(4)));
    }
}
