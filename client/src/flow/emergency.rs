//! Break-glass: a responder opens a record without consent, with a written justification
//! whose hash goes into the patient's log and whose text is left sealed for the patient
//! at the key servers ([`super::justification`]); the patient (or a delegate) reviews
//! such accesses afterwards, several at once.

use super::{not_included, FlowError, Opened, Result, Session};
use crate::store::LocalStore;
use medconsent_chain::{account_of, Signer};
use medconsent_keyrelease::justification::{claim_hash, SALT_LEN};
use medconsent_shared::{
    AccountId, EmergencyAccess, EntryKind, RecordId, Timestamp, EMERGENCY_WINDOW_MS,
    MAX_EMERGENCIES_PER_WINDOW, MAX_PAGE,
};
use rand_core::RngCore;
use std::path::Path;
use x25519_dalek::StaticSecret;

/// The hash of a justification as the log keeps it: blake2b-256 of the salt and its
/// UTF-8 bytes (unsalted, a guess of a short text could be checked against the log).
pub fn justification_hash(salt: &[u8; SALT_LEN], text: &str) -> [u8; 32] {
    claim_hash(salt, text.as_bytes())
}

/// What a break-glass read came to.
#[derive(Debug)]
pub struct BrokenGlass {
    pub opened: Opened,
    pub justification: [u8; 32],
    /// The salt under the hash: with the text, what `emergencies --check` compares.
    pub salt: [u8; SALT_LEN],
    /// How many key servers keep the justification's sealed copy for the patient
    /// (`threshold` of them let the patient's review read it).
    pub copies: usize,
    /// Break-glass reads of this patient's records the responder has left in its
    /// current window.
    pub remaining: u32,
}

/// The break-glass reads `responder` has left at `now`, from its earlier ones of the
/// same patient (`at` times, oldest first): the registry opens a window of
/// EMERGENCY_WINDOW_MS at the first read after the last window closed and allows
/// MAX_EMERGENCIES_PER_WINDOW reads in it.
pub fn remaining_budget(times: impl Iterator<Item = Timestamp>, now: Timestamp) -> u32 {
    let mut window: Option<(Timestamp, u32)> = None;
    let closes = |start: Timestamp| start.saturating_add(EMERGENCY_WINDOW_MS);
    for at in times {
        window = match window {
            Some((start, used)) if at < closes(start) => Some((start, used.saturating_add(1))),
            _ => Some((at, 1)),
        };
    }
    match window {
        Some((start, used)) if now < closes(start) => {
            MAX_EMERGENCIES_PER_WINDOW.saturating_sub(used)
        }
        _ => MAX_EMERGENCIES_PER_WINDOW,
    }
}

impl Session {
    /// Break-glass read of `record` by a responder: the access is logged with the hash
    /// of `justification` (refused if the patient opted out, or the budget is spent),
    /// then the record is opened like any read.
    pub async fn break_glass(
        &self,
        responder: &Signer,
        secret: &StaticSecret,
        record: RecordId,
        justification: &str,
        store: &LocalStore,
        out: &Path,
    ) -> Result<BrokenGlass> {
        super::check_justification(justification)?;
        let me = account_of(responder);
        let servers = self.key_servers().await?;
        let patient = self.record_at(None, &me, record).await?.patient;
        let mut salt = [0u8; SALT_LEN];
        rand_core::OsRng.fill_bytes(&mut salt);
        let hash = justification_hash(&salt, justification);
        self.say("breaking the glass on chain and waiting for finality");
        let mut registry = self.contracts().registry();
        let access = registry.emergency_access(record, hash);
        let (predicted, included) = self
            .chain
            .submit(responder, &self.contracts().registry, &access)
            .await?;
        let included = match (predicted, included) {
            (Ok(_), Some(included)) => included,
            (result, _) => return Err(not_included(result)),
        };
        let entry = self.my_entry(included.block, &patient, &me, record).await?;
        match entry.kind {
            EntryKind::Emergency { justification } if justification == hash => {}
            EntryKind::Denied(reason) => return Err(FlowError::Denied(reason)),
            other => return Err(FlowError::UnexpectedEntry(other)),
        }
        // The text for the patient's review, beside the reading of the record: neither
        // waits for the other, and a copy that fails costs the responder no read.
        let leave = self.leave_justification(
            responder,
            &servers,
            patient,
            entry.seq,
            &salt,
            justification,
        );
        let open = self.open_with_entry(responder, secret, &servers, &entry, store, out);
        let (copies, opened) = tokio::join!(leave, open);
        let copies = copies.unwrap_or_else(|e| {
            self.warn(&format!("the justification's sealed copy: {e}"));
            0
        });
        if copies < usize::from(self.deployment.threshold) {
            self.warn(&format!(
                "the justification's sealed copy reached {copies} key servers, {} needed for \
                 the patient's review to read it: give the patient the text and the salt",
                self.deployment.threshold
            ));
        }
        let opened = opened?;
        let remaining = self.emergency_budget(&me, patient).await?;
        Ok(BrokenGlass {
            opened,
            justification: hash,
            salt,
            copies,
            remaining,
        })
    }

    /// The break-glass reads `responder` has left for `patient`'s records now.
    pub async fn emergency_budget(&self, responder: &AccountId, patient: AccountId) -> Result<u32> {
        let at = self.chain.finalized().await?;
        let now = self.chain.now_at(at).await?;
        let all = self.emergencies(patient).await?;
        let mine = all
            .iter()
            .filter(|e| &e.responder == responder)
            .map(|e| e.at);
        Ok(remaining_budget(mine, now))
    }

    /// Every break-glass access of `patient`, oldest first, at the finalized block; the
    /// index of each in the list is what a review names.
    pub async fn emergencies(&self, patient: AccountId) -> Result<Vec<EmergencyAccess>> {
        let at = self.chain.finalized().await?;
        let registry = self.contracts().registry();
        let count = self
            .chain
            .read(
                Some(at),
                &patient,
                &self.contracts().registry,
                &registry.counts(patient),
            )
            .await?
            .emergencies;
        let mut all = Vec::new();
        while (all.len() as u64) < count {
            let start = all.len() as u64;
            let page = self
                .chain
                .read(
                    Some(at),
                    &patient,
                    &self.contracts().registry,
                    &registry.emergencies_of(patient, start, MAX_PAGE),
                )
                .await?;
            if page.is_empty() {
                return Err(FlowError::Garbled(format!(
                    "the registry counts {count} break-glass accesses but lists none from \
                     {start}"
                )));
            }
            all.extend(page);
        }
        Ok(all)
    }

    /// The patient (or a delegate) marks break-glass accesses justified or not, each by
    /// its index in [`Session::emergencies`]: all in one call, or none.
    pub async fn review_emergencies(
        &self,
        signer: &Signer,
        patient: AccountId,
        reviews: Vec<(u64, bool)>,
    ) -> Result<()> {
        let mut registry = self.contracts().registry();
        let message = registry.review_emergencies(patient, reviews);
        let (result, included) = self
            .chain
            .submit(signer, &self.contracts().registry, &message)
            .await?;
        match (result, included) {
            (Ok(()), Some(_)) => Ok(()),
            (result, _) => Err(not_included(result)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: u64 = 3_600_000;

    #[test]
    fn the_budget_follows_the_registrys_windows() {
        let max = MAX_EMERGENCIES_PER_WINDOW;
        assert_eq!(remaining_budget([].into_iter(), 10 * HOUR), max);
        assert_eq!(remaining_budget([HOUR].into_iter(), 2 * HOUR), max - 1);
        // Five in one window: none left until the window that opened at the first closes.
        let five = [HOUR, 2 * HOUR, 3 * HOUR, 4 * HOUR, 5 * HOUR];
        assert_eq!(remaining_budget(five.into_iter(), 6 * HOUR), 0);
        assert_eq!(remaining_budget(five.into_iter(), 25 * HOUR - 1), 0);
        assert_eq!(remaining_budget(five.into_iter(), 25 * HOUR), max);
        // A read after the window closed opens a new one, counted from that read.
        let later = [HOUR, 2 * HOUR, 26 * HOUR];
        assert_eq!(remaining_budget(later.into_iter(), 27 * HOUR), max - 1);
        assert_eq!(remaining_budget(later.into_iter(), 49 * HOUR), max - 1);
        assert_eq!(remaining_budget(later.into_iter(), 50 * HOUR), max);
    }

    #[test]
    fn the_justification_hash_is_blake2b_of_the_salted_text() {
        let salt = [5; SALT_LEN];
        let mut claimed = salt.to_vec();
        claimed.extend_from_slice(b"unconscious, no ID");
        assert_eq!(
            justification_hash(&salt, "unconscious, no ID"),
            medconsent_keyrelease::blobs::blake2b_256(&claimed)
        );
        assert_ne!(
            justification_hash(&salt, "a"),
            justification_hash(&salt, "a ")
        );
        assert_ne!(
            justification_hash(&salt, "a"),
            justification_hash(&[6; SALT_LEN], "a")
        );
    }
}
