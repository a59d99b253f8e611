//! The server's database: one redb file. Every write is one transaction committed
//! durably before the answer goes out, so a server killed mid-run (SIGKILL) loses
//! neither a share it confirmed nor a release it made.
//!
//! - `shares`: (record, version) -> the deposit as kept (patient, content hash, index,
//!   the share sealed to this server under the deposit context).
//! - `releases`: (patient, log seq) -> who got the share of which record and version,
//!   and when: the "used" mark that makes every Access entry good for one release here.
//! - `blob_names`: (record, version) -> the content hash of the ciphertext stored for it:
//!   a blob is deleted once no record version that is still current names it.

use medconsent_keyrelease::envelope::Sealed;
use medconsent_shared::{AccountId, Hash32, LogSeq, RecordId, Timestamp};
use parity_scale_codec::{Decode, Encode};
use redb::{Database, ReadableTable, ReadableTableMetadata, TableDefinition};
use std::path::Path;

const SHARES: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("shares");
const RELEASES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("releases");
const BLOB_NAMES: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("blob_names");

#[derive(Debug, thiserror::Error)]
pub enum ShareDbError {
    #[error("database: {0}")]
    Db(String),
    #[error("a stored value does not decode: {0}")]
    Corrupt(#[from] parity_scale_codec::Error),
}

macro_rules! db_errors {
    ($($t:ty),*) => {$(
        impl From<$t> for ShareDbError {
            fn from(e: $t) -> Self {
                ShareDbError::Db(e.to_string())
            }
        }
    )*};
}
db_errors!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

pub type Result<T> = std::result::Result<T, ShareDbError>;

/// Whether a blob name of `version` is stale for a record whose current version is
/// `current` (None: retired, every version stale). Only versions before the current one
/// are: a newer version may have been named by an upload the caller's block did not
/// see yet.
fn stale(version: u32, current: Option<u32>) -> bool {
    current.is_none_or(|current| version < current)
}

/// A deposited share as the server keeps it (still sealed to the server's key).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct StoredShare {
    pub patient: AccountId,
    pub content_hash: Hash32,
    pub index: u8,
    pub sealed: Sealed,
}

/// One release, kept forever: the server's own accounting of what it handed out.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct ReleaseRecord {
    pub requester: AccountId,
    pub record: RecordId,
    pub version: u32,
    /// Chain time (ms) of the finalized block the decision was made at.
    pub released_at: Timestamp,
}

pub struct ShareDb {
    db: Database,
}

pub(crate) fn release_key(patient: &AccountId, seq: LogSeq) -> [u8; 40] {
    let mut key = [0u8; 40];
    key[..32].copy_from_slice(patient.as_ref());
    key[32..].copy_from_slice(&seq.to_be_bytes());
    key
}

impl ShareDb {
    /// Opens (or creates) the database at `path`, private to this user (0600): it holds
    /// sealed shares and who read what.
    pub fn open(path: &Path) -> Result<Self> {
        use std::os::unix::fs::PermissionsExt;
        let db = Database::create(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| ShareDbError::Db(format!("{}: {e}", path.display())))?;
        // Create both tables up front so readers never meet a missing table.
        let txn = db.begin_write()?;
        txn.open_table(SHARES)?;
        txn.open_table(RELEASES)?;
        txn.commit()?;
        Ok(Self { db })
    }

    /// Keeps the share of `record` at `version` and drops the shares of its earlier
    /// versions (a rotation makes them useless), in one transaction.
    pub fn put_share(&self, record: RecordId, version: u32, share: &StoredShare) -> Result<()> {
        self.put_share_if(record, version, share, |_| true)
            .map(|_| ())
    }

    /// [`ShareDb::put_share`] if `replaces` says yes of the share held of that version
    /// (None: none), in the same transaction, so two deposits at once cannot both find
    /// the place empty. Whether it was kept.
    pub fn put_share_if(
        &self,
        record: RecordId,
        version: u32,
        share: &StoredShare,
        replaces: impl FnOnce(Option<&StoredShare>) -> bool,
    ) -> Result<bool> {
        let txn = self.db.begin_write()?;
        {
            let mut table = txn.open_table(SHARES)?;
            let held = match table.get((record, version))? {
                Some(value) => Some(StoredShare::decode(&mut value.value())?),
                None => None,
            };
            if !replaces(held.as_ref()) {
                return Ok(false);
            }
            table.retain_in((record, 0)..(record, version), |_, _| false)?;
            table.insert((record, version), share.encode().as_slice())?;
        }
        txn.commit()?;
        Ok(true)
    }

    /// The database, for the tables kept by other modules (`crate::justifications`).
    pub(crate) fn database(&self) -> &Database {
        &self.db
    }

    pub fn share(&self, record: RecordId, version: u32) -> Result<Option<StoredShare>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(SHARES)?;
        let Some(value) = table.get((record, version))? else {
            return Ok(None);
        };
        Ok(Some(StoredShare::decode(&mut value.value())?))
    }

    /// Versions of `record` this server holds a share of.
    pub fn versions_held(&self, record: RecordId) -> Result<Vec<u32>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(SHARES)?;
        let mut versions = Vec::new();
        for item in table.range((record, 0)..=(record, u32::MAX))? {
            versions.push(item?.0.value().1);
        }
        Ok(versions)
    }

    /// The records this server holds a share of, each once, in id order.
    pub fn records_held(&self) -> Result<Vec<RecordId>> {
        self.records_in(SHARES)
    }

    /// The records with a key in `table` (keyed by (record, version)), each once.
    fn records_in(&self, table: TableDefinition<(u64, u32), &[u8]>) -> Result<Vec<RecordId>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(table)?;
        let mut records: Vec<RecordId> = Vec::new();
        for item in table.iter()? {
            let record = item?.0.value().0;
            if records.last() != Some(&record) {
                records.push(record);
            }
        }
        Ok(records)
    }

    /// Deletes every share of `record` (crypto-shredding); returns how many there were.
    pub fn drop_record(&self, record: RecordId) -> Result<usize> {
        let txn = self.db.begin_write()?;
        let mut dropped = 0usize;
        {
            let mut table = txn.open_table(SHARES)?;
            table.retain_in((record, 0)..=(record, u32::MAX), |_, _| {
                dropped = dropped.saturating_add(1);
                false
            })?;
        }
        txn.commit()?;
        Ok(dropped)
    }

    /// Drops the shares of `record`'s versions before `current` (a server that missed a
    /// rotation's deposit still holds them; they open nothing a rule would release).
    pub fn drop_versions_before(&self, record: RecordId, current: u32) -> Result<usize> {
        let txn = self.db.begin_write()?;
        let mut dropped = 0usize;
        {
            let mut table = txn.open_table(SHARES)?;
            table.retain_in((record, 0)..(record, current), |_, _| {
                dropped = dropped.saturating_add(1);
                false
            })?;
        }
        txn.commit()?;
        Ok(dropped)
    }

    /// Whether any share or blob name of `record` is kept here.
    pub fn keeps_anything_of(&self, record: RecordId) -> Result<bool> {
        let txn = self.db.begin_read()?;
        let range = (record, 0)..=(record, u32::MAX);
        Ok(txn
            .open_table(SHARES)?
            .range(range.clone())?
            .next()
            .is_some()
            || txn.open_table(BLOB_NAMES)?.range(range)?.next().is_some())
    }

    /// Notes that the blob `hash` was stored as the content of `record` at `version`.
    pub fn name_blob(&self, record: RecordId, version: u32, hash: &Hash32) -> Result<()> {
        let txn = self.db.begin_write()?;
        txn.open_table(BLOB_NAMES)?
            .insert((record, version), hash.as_slice())?;
        txn.commit()?;
        Ok(())
    }

    /// The records some stored blob was named for, each once, in id order.
    pub fn records_naming_blobs(&self) -> Result<Vec<RecordId>> {
        self.records_in(BLOB_NAMES)
    }

    /// Whether `record` has stale blob names (see [`stale`]).
    pub fn has_stale_blob_names(&self, record: RecordId, current: Option<u32>) -> Result<bool> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(BLOB_NAMES)?;
        for item in table.range((record, 0)..=(record, u32::MAX))? {
            if stale(item?.0.value().1, current) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The hashes no name would point to once `record`'s stale names are forgotten: the
    /// blobs to delete. One hash may be named by several records (anyone may register a
    /// record with a hash they saw), so a blob stays while any other name points to it.
    /// Read only: the caller deletes the blobs, then forgets the names
    /// ([`ShareDb::forget_stale_blob_names`]), so a failed delete is tried again.
    pub fn orphans_of_stale_names(
        &self,
        record: RecordId,
        current: Option<u32>,
    ) -> Result<Vec<Hash32>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(BLOB_NAMES)?;
        let mut orphans: Vec<Hash32> = Vec::new();
        for item in table.range((record, 0)..=(record, u32::MAX))? {
            let (key, hash) = item?;
            if stale(key.value().1, current) {
                if let Ok(hash) = Hash32::try_from(hash.value()) {
                    orphans.push(hash);
                }
            }
        }
        orphans.sort_unstable();
        orphans.dedup();
        for item in table.iter()? {
            let (key, hash) = item?;
            let (other, version) = key.value();
            if other != record || !stale(version, current) {
                orphans.retain(|h| h.as_slice() != hash.value());
            }
        }
        Ok(orphans)
    }

    /// Forgets `record`'s stale blob names; returns how many.
    pub fn forget_stale_blob_names(&self, record: RecordId, current: Option<u32>) -> Result<usize> {
        let txn = self.db.begin_write()?;
        let mut forgotten = 0usize;
        {
            let mut table = txn.open_table(BLOB_NAMES)?;
            table.retain_in((record, 0)..=(record, u32::MAX), |(_, version), _| {
                let drop = stale(version, current);
                if drop {
                    forgotten = forgotten.saturating_add(1);
                }
                !drop
            })?;
        }
        txn.commit()?;
        Ok(forgotten)
    }

    /// Names, for every share held, its content hash as that record version's blob
    /// (once, at start): a blob stored before blobs were named, or uploaded elsewhere
    /// first, is then kept while its record version is current like any other.
    pub fn name_blobs_of_held_shares(&self) -> Result<usize> {
        let txn = self.db.begin_write()?;
        let mut named = 0usize;
        {
            let shares = txn.open_table(SHARES)?;
            let mut names = txn.open_table(BLOB_NAMES)?;
            for item in shares.iter()? {
                let (key, value) = item?;
                let key = key.value();
                if names.get(key)?.is_none() {
                    let share = StoredShare::decode(&mut value.value())?;
                    names.insert(key, share.content_hash.as_slice())?;
                    named = named.saturating_add(1);
                }
            }
        }
        txn.commit()?;
        Ok(named)
    }

    pub fn is_used(&self, patient: &AccountId, seq: LogSeq) -> Result<bool> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(RELEASES)?;
        Ok(table.get(release_key(patient, seq).as_slice())?.is_some())
    }

    /// Marks entry `seq` of `patient` used by `release`, unless it already is: true if
    /// this call marked it. Write transactions are serial, so of two concurrent
    /// requests for one entry exactly one gets `true`.
    pub fn claim(&self, patient: &AccountId, seq: LogSeq, release: &ReleaseRecord) -> Result<bool> {
        let txn = self.db.begin_write()?;
        let claimed = {
            let mut table = txn.open_table(RELEASES)?;
            let key = release_key(patient, seq);
            if table.get(key.as_slice())?.is_some() {
                false
            } else {
                table.insert(key.as_slice(), release.encode().as_slice())?;
                true
            }
        };
        txn.commit()?;
        Ok(claimed)
    }

    pub fn release(&self, patient: &AccountId, seq: LogSeq) -> Result<Option<ReleaseRecord>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(RELEASES)?;
        let Some(value) = table.get(release_key(patient, seq).as_slice())? else {
            return Ok(None);
        };
        Ok(Some(ReleaseRecord::decode(&mut value.value())?))
    }

    /// (shares held, releases made): for the health route and the benchmark.
    pub fn counts(&self) -> Result<(u64, u64)> {
        let txn = self.db.begin_read()?;
        Ok((
            txn.open_table(SHARES)?.len()?,
            txn.open_table(RELEASES)?.len()?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share(index: u8) -> StoredShare {
        StoredShare {
            patient: AccountId::from([1; 32]),
            content_hash: [2; 32],
            index,
            sealed: [index; medconsent_keyrelease::envelope::SEALED_LEN],
        }
    }

    fn release() -> ReleaseRecord {
        ReleaseRecord {
            requester: AccountId::from([3; 32]),
            record: 7,
            version: 1,
            released_at: 5,
        }
    }

    fn temp_db() -> (tempfile::TempDir, ShareDb) {
        let dir = tempfile::tempdir().unwrap();
        let store = ShareDb::open(&dir.path().join("db.redb")).unwrap();
        (dir, store)
    }

    #[test]
    fn a_new_version_drops_the_old_ones_and_no_other_record() {
        let (_dir, store) = temp_db();
        store.put_share(7, 1, &share(1)).unwrap();
        store.put_share(8, 1, &share(1)).unwrap();
        store.put_share(7, 2, &share(2)).unwrap();
        assert_eq!(store.versions_held(7).unwrap(), vec![2]);
        assert_eq!(store.share(7, 1).unwrap(), None);
        assert_eq!(store.share(7, 2).unwrap(), Some(share(2)));
        assert_eq!(store.versions_held(8).unwrap(), vec![1]);
    }

    /// What a sweep does for one record: the orphans of its stale names, then forgets.
    fn settle(db: &ShareDb, record: RecordId, current: Option<u32>) -> Vec<Hash32> {
        let orphans = db.orphans_of_stale_names(record, current).unwrap();
        db.forget_stale_blob_names(record, current).unwrap();
        orphans
    }

    #[test]
    fn a_blob_is_orphaned_only_when_no_current_version_names_it() {
        let (_dir, db) = temp_db();
        let (first, second, shared) = ([1u8; 32], [2u8; 32], [3u8; 32]);
        db.name_blob(7, 1, &first).unwrap();
        db.name_blob(7, 2, &second).unwrap();
        // Another record (a squatter's, say) names the same ciphertext as record 8.
        db.name_blob(8, 1, &shared).unwrap();
        db.name_blob(9, 4, &shared).unwrap();
        assert_eq!(db.records_naming_blobs().unwrap(), vec![7, 8, 9]);
        assert!(!db.has_stale_blob_names(7, Some(1)).unwrap());
        assert!(db.has_stale_blob_names(7, Some(2)).unwrap());
        // A sweep that read record 7 at version 1 while version 2 was being uploaded:
        // version 2's name is not stale, nothing goes.
        assert_eq!(settle(&db, 7, Some(1)), Vec::<Hash32>::new());
        // Record 7 is at version 2: version 1's blob goes, version 2's stays.
        assert_eq!(settle(&db, 7, Some(2)), vec![first]);
        assert_eq!(settle(&db, 7, Some(2)), Vec::<Hash32>::new());
        // Record 9 retires: the hash is still record 8's, so nothing to delete.
        assert_eq!(settle(&db, 9, None), Vec::<Hash32>::new());
        assert_eq!(settle(&db, 8, None), vec![shared]);
        assert_eq!(settle(&db, 7, None), vec![second]);
        assert_eq!(db.records_naming_blobs().unwrap(), Vec::<RecordId>::new());
    }

    #[test]
    fn a_held_shares_content_hash_names_its_blob() {
        let (_dir, db) = temp_db();
        db.put_share(7, 1, &share(1)).unwrap();
        assert_eq!(db.name_blobs_of_held_shares().unwrap(), 1);
        assert_eq!(db.name_blobs_of_held_shares().unwrap(), 0);
        // A squatter's record naming the same hash, retired: the share's name keeps it.
        db.name_blob(9, 1, &share(1).content_hash).unwrap();
        assert_eq!(settle(&db, 9, None), Vec::<Hash32>::new());
        assert_eq!(settle(&db, 7, None), vec![share(1).content_hash]);
    }

    #[test]
    fn superseded_versions_lose_their_shares_and_the_current_one_stays() {
        let (_dir, db) = temp_db();
        db.put_share(7, 1, &share(1)).unwrap();
        db.put_share(8, 1, &share(1)).unwrap();
        assert_eq!(db.drop_versions_before(7, 2).unwrap(), 1);
        assert_eq!(db.drop_versions_before(8, 1).unwrap(), 0);
        assert_eq!(db.versions_held(7).unwrap(), Vec::<u32>::new());
        assert_eq!(db.versions_held(8).unwrap(), vec![1]);
    }

    #[test]
    fn the_database_is_private_to_its_user() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.redb");
        std::fs::write(&path, b"").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::remove_file(&path).unwrap();
        ShareDb::open(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn the_records_held_are_listed_once_each() {
        let (_dir, db) = temp_db();
        assert_eq!(db.records_held().unwrap(), Vec::<RecordId>::new());
        for (record, version) in [(9, 1), (2, 1), (9, 2), (4, 3)] {
            db.put_share(record, version, &share(1)).unwrap();
        }
        assert_eq!(db.records_held().unwrap(), vec![2, 4, 9]);
        db.drop_record(4).unwrap();
        assert_eq!(db.records_held().unwrap(), vec![2, 9]);
    }

    #[test]
    fn dropping_a_record_removes_all_its_shares() {
        let (_dir, store) = temp_db();
        store.put_share(7, 3, &share(1)).unwrap();
        store.put_share(8, 1, &share(1)).unwrap();
        assert_eq!(store.drop_record(7).unwrap(), 1);
        assert_eq!(store.versions_held(7).unwrap(), Vec::<u32>::new());
        assert_eq!(store.drop_record(7).unwrap(), 0);
        assert_eq!(store.counts().unwrap(), (1, 0));
    }

    #[test]
    fn an_entry_is_claimed_once_and_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.redb");
        let patient = AccountId::from([1; 32]);
        {
            let store = ShareDb::open(&path).unwrap();
            assert!(store.claim(&patient, 4, &release()).unwrap());
            assert!(!store.claim(&patient, 4, &release()).unwrap());
            assert!(store.claim(&patient, 5, &release()).unwrap());
            store.put_share(7, 1, &share(1)).unwrap();
        }
        let store = ShareDb::open(&path).unwrap();
        assert!(store.is_used(&patient, 4).unwrap());
        assert!(!store.is_used(&patient, 6).unwrap());
        assert_eq!(store.release(&patient, 4).unwrap(), Some(release()));
        assert_eq!(store.share(7, 1).unwrap(), Some(share(1)));
    }
}
