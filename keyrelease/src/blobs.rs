//! Content addressing: a ciphertext blob is named by its blake2b-256 hash, the record's
//! content hash on chain. A [`BlobDir`] keeps `<dir>/<hex hash>` files and takes bytes
//! only under the hash they have, so nobody can put other bytes under a record's hash.
//! Key servers keep uploads in one; clients keep what they seal and fetch in one.

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use std::fs::{self, File};
use std::io::{self, BufReader, Write};
use std::path::{Path, PathBuf};

pub type Blake2b256 = Blake2b<U32>;

/// blake2b-256 of `bytes`: a blob's content hash, as the chain keeps it.
pub fn blake2b_256(bytes: &[u8]) -> [u8; 32] {
    Blake2b256::digest(bytes).into()
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob store: {0}")]
    Io(#[from] io::Error),
    /// The bytes are not the ones the hash names: swapped or tampered with.
    #[error("ciphertext hash mismatch: expected 0x{}, the bytes hash to 0x{}", hex::encode(.expected), hex::encode(.actual))]
    HashMismatch {
        expected: [u8; 32],
        actual: [u8; 32],
    },
}

/// A directory of blobs, one file per content hash.
#[derive(Debug, Clone)]
pub struct BlobDir {
    dir: PathBuf,
}

impl BlobDir {
    /// Opens `dir`, creating it if missing, private to this user (0700): the names are
    /// public hashes, but which ones a server or a patient holds is not.
    pub fn new(dir: impl Into<PathBuf>) -> io::Result<Self> {
        use std::os::unix::fs::PermissionsExt;
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
        Ok(Self { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn blob_path(&self, content_hash: &[u8; 32]) -> PathBuf {
        self.dir.join(hex::encode(content_hash))
    }

    /// A fresh name in the directory for a file being written (`.<what>-<random>`), so
    /// that a reader never sees half a blob under its hash: write there, then rename.
    pub fn temp_path(&self, what: &str) -> PathBuf {
        let mut tag = [0u8; 8];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut tag);
        self.dir.join(format!(".{what}-{}", hex::encode(tag)))
    }

    /// Keeps `bytes` as the blob of `content_hash` if they hash to it (written to a new
    /// temporary file, synced, then renamed).
    pub fn keep(&self, content_hash: &[u8; 32], bytes: &[u8]) -> Result<PathBuf, BlobError> {
        let actual = blake2b_256(bytes);
        if &actual != content_hash {
            return Err(BlobError::HashMismatch {
                expected: *content_hash,
                actual,
            });
        }
        let temp = self.temp_path("fetching");
        let written = (|| {
            let mut file = crate::keyfile::create_new(&temp)?;
            file.write_all(bytes)?;
            file.sync_all()
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&temp);
            return Err(e.into());
        }
        let path = self.blob_path(content_hash);
        fs::rename(&temp, &path)?;
        Ok(path)
    }

    /// Removes what writers left behind (a crash mid-upload): the temporary files.
    pub fn remove_leftovers(&self) -> io::Result<usize> {
        let mut removed = 0usize;
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with(".upload-") {
                fs::remove_file(entry.path())?;
                removed = removed.saturating_add(1);
            }
        }
        Ok(removed)
    }

    /// A blob to be written chunk by chunk (a key server streaming an upload to disk).
    pub fn writer(&self) -> io::Result<BlobWriter> {
        let temp = self.temp_path("upload");
        let file = crate::keyfile::create_new(&temp)?;
        Ok(BlobWriter {
            dir: self.clone(),
            temp,
            file: Some(file),
            hasher: Blake2b256::new(),
            written: 0,
        })
    }

    /// Checks that the stored blob hashes to `expected` (the hash on chain).
    pub fn verify(&self, expected: &[u8; 32]) -> Result<(), BlobError> {
        let mut file = BufReader::new(File::open(self.blob_path(expected))?);
        let mut hasher = Blake2b256::new();
        io::copy(&mut file, &mut hasher)?;
        let actual: [u8; 32] = hasher.finalize().into();
        if &actual != expected {
            return Err(BlobError::HashMismatch {
                expected: *expected,
                actual,
            });
        }
        Ok(())
    }
}

/// A blob being written: hashed as it goes, kept under its hash only if it has that hash
/// ([`BlobWriter::finish`]); its temporary file is removed otherwise, also when the writer
/// is dropped unfinished (a client that stalls and is cut off leaves nothing behind).
pub struct BlobWriter {
    dir: BlobDir,
    temp: PathBuf,
    file: Option<File>,
    hasher: Blake2b256,
    written: u64,
}

impl BlobWriter {
    pub fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("the blob is finished"))?;
        file.write_all(chunk)?;
        self.hasher.update(chunk);
        let len = u64::try_from(chunk.len()).unwrap_or(u64::MAX);
        self.written = self.written.saturating_add(len);
        Ok(())
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Keeps the bytes as the blob of `expected` if they hash to it.
    pub fn finish(mut self, expected: &[u8; 32]) -> Result<PathBuf, BlobError> {
        let file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("the blob is finished"))?;
        // The hash first: bytes that are not the blob cost no sync.
        let actual: [u8; 32] = std::mem::take(&mut self.hasher).finalize().into();
        if &actual != expected {
            return Err(BlobError::HashMismatch {
                expected: *expected,
                actual,
            });
        }
        file.sync_all()?;
        drop(file);
        let path = self.dir.blob_path(expected);
        fs::rename(&self.temp, &path)?;
        Ok(path)
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        // After a successful finish the temporary name is gone already.
        let _ = fs::remove_file(&self.temp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir() -> PathBuf {
        let mut tag = [0u8; 6];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut tag);
        std::env::temp_dir().join(format!("medconsent-blobs-{}", hex::encode(tag)))
    }

    #[test]
    fn a_streamed_blob_is_kept_only_under_its_hash_and_leaves_nothing_otherwise() {
        let dir = temp_dir();
        let blobs = BlobDir::new(&dir).unwrap();
        let entries = || std::fs::read_dir(&dir).unwrap().count();
        let bytes = b"sealed bytes in two chunks";
        let hash = blake2b_256(bytes);
        let mut writer = blobs.writer().unwrap();
        writer.write(&bytes[..5]).unwrap();
        writer.write(&bytes[5..]).unwrap();
        assert_eq!(writer.written(), bytes.len() as u64);
        let path = writer.finish(&hash).unwrap();
        assert_eq!(std::fs::read(path).unwrap(), bytes);
        assert_eq!(entries(), 1);
        // Other bytes under that hash: refused, nothing left behind.
        let mut writer = blobs.writer().unwrap();
        writer.write(b"other bytes").unwrap();
        assert!(matches!(
            writer.finish(&hash),
            Err(BlobError::HashMismatch { .. })
        ));
        // Dropped unfinished (a client cut off): nothing left behind.
        let mut writer = blobs.writer().unwrap();
        writer.write(b"half").unwrap();
        drop(writer);
        assert_eq!(entries(), 1);
        // A crash leaves a temporary file: removed at the next start, the blob kept.
        std::fs::write(blobs.temp_path("upload"), b"left by a crash").unwrap();
        assert_eq!(entries(), 2);
        assert_eq!(blobs.remove_leftovers().unwrap(), 1);
        assert_eq!(entries(), 1);
        blobs.verify(&hash).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_blob_directory_is_private_to_its_user() {
        use std::os::unix::fs::PermissionsExt;
        let path = temp_dir();
        std::fs::create_dir(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        BlobDir::new(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        std::fs::remove_dir_all(&path).unwrap();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn bytes_are_kept_only_under_their_own_hash() {
        let blobs = BlobDir::new(temp_dir()).unwrap();
        let bytes = b"sealed bytes".to_vec();
        let hash = blake2b_256(&bytes);
        let path = blobs.keep(&hash, &bytes).unwrap();
        assert_eq!(path, blobs.blob_path(&hash));
        assert_eq!(fs::read(&path).unwrap(), bytes);
        blobs.verify(&hash).unwrap();

        let other = [7u8; 32];
        let refused = blobs.keep(&other, b"other bytes");
        assert!(
            matches!(refused, Err(BlobError::HashMismatch { expected, .. }) if expected == other),
            "{refused:?}"
        );
        assert!(!blobs.blob_path(&other).exists());
        // Nothing half-written is left behind either.
        assert_eq!(fs::read_dir(blobs.dir()).unwrap().count(), 1);
    }

    #[test]
    fn a_blob_changed_on_disk_fails_verification() {
        let blobs = BlobDir::new(temp_dir()).unwrap();
        let hash = blake2b_256(b"original");
        blobs.keep(&hash, b"original").unwrap();
        fs::write(blobs.blob_path(&hash), b"changed").unwrap();
        assert!(matches!(
            blobs.verify(&hash),
            Err(BlobError::HashMismatch { .. })
        ));
    }
}
