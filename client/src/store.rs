//! A client's local folder (`--store`): the content-addressed blobs it sealed or
//! fetched (`<dir>/<hex hash>`, a [`BlobDir`]) and the patient's own sealed copy of each
//! record key (`<dir>/<hex hash>.owner`).

use crate::seal::{open, seal};
use crate::{cid, Binding, Error, RecordKey, Result};
use medconsent_keyrelease::blobs::{Blake2b256, BlobDir};
use medconsent_keyrelease::envelope::{self, owner_context};
use medconsent_keyrelease::keyfile::create_new;
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use x25519_dalek::{PublicKey, StaticSecret};

pub struct LocalStore {
    blobs: BlobDir,
}

/// Where a sealed blob went and how the chain and IPFS will name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// blake2b-256 of the sealed blob: the record's content hash on chain.
    pub content_hash: [u8; 32],
    /// IPFS CIDv1 of the sealed blob: a locator that works anywhere it is pinned.
    pub cid: String,
    pub path: PathBuf,
}

/// Hashes everything written through it with blake2b-256 and sha2-256.
struct Hashing<W> {
    inner: W,
    blake: Blake2b256,
    sha: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.blake.update(&buf[..n]);
        self.sha.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Hashes with blake2b-256 every byte read through it, so what is decrypted is exactly
/// what was hashed: no second open by path that another process could swap in between.
struct HashingReader<R> {
    inner: R,
    blake: Blake2b256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.blake.update(&buf[..n]);
        Ok(n)
    }
}

impl LocalStore {
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self> {
        Ok(Self {
            blobs: BlobDir::new(dir)?,
        })
    }

    pub fn dir(&self) -> &Path {
        self.blobs.dir()
    }

    pub fn blobs(&self) -> &BlobDir {
        &self.blobs
    }

    pub fn blob_path(&self, content_hash: &[u8; 32]) -> PathBuf {
        self.blobs.blob_path(content_hash)
    }

    /// Seals `plaintext` under `key` into the store; the blob is named by its hash.
    pub fn put(
        &self,
        plaintext: impl Read,
        key: &RecordKey,
        binding: Binding,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Stored> {
        let temp = self.blobs.temp_path("sealing");
        let mut writer = Hashing {
            inner: BufWriter::new(create_new(&temp)?),
            blake: Blake2b256::new(),
            sha: Sha256::new(),
        };
        let sealed = seal(plaintext, &mut writer, key, binding, progress);
        if let Err(e) = sealed {
            let _ = fs::remove_file(&temp);
            return Err(e);
        }
        let content_hash: [u8; 32] = writer.blake.finalize().into();
        let sha: [u8; 32] = writer.sha.finalize().into();
        writer
            .inner
            .into_inner()
            .map_err(|e| e.into_error())?
            .sync_all()?;
        let path = self.blob_path(&content_hash);
        fs::rename(&temp, &path)?;
        Ok(Stored {
            content_hash,
            cid: cid::cid_v1_raw(&sha),
            path,
        })
    }

    fn owner_copy_path(&self, content_hash: &[u8; 32]) -> PathBuf {
        self.dir()
            .join(format!("{}.owner", hex::encode(content_hash)))
    }

    /// Keeps the patient's own copy of a record key, sealed to its X25519 key: the only
    /// place the whole key is written.
    pub fn write_owner_copy(
        &self,
        owner: &StaticSecret,
        binding: Binding,
        content_hash: &[u8; 32],
        key: &RecordKey,
    ) -> Result<()> {
        let context = owner_context(binding.record_id, binding.version, content_hash);
        let sealed = envelope::seal(key, &PublicKey::from(owner), &context)?;
        let mut file = create_new(&self.owner_copy_path(content_hash))?;
        file.write_all(&sealed)?;
        file.sync_all()?;
        Ok(())
    }

    /// The record key from the patient's own copy.
    pub fn read_owner_copy(
        &self,
        owner: &StaticSecret,
        binding: Binding,
        content_hash: &[u8; 32],
    ) -> Result<RecordKey> {
        let bytes = fs::read(self.owner_copy_path(content_hash))?;
        let sealed: envelope::Sealed = bytes
            .as_slice()
            .try_into()
            .map_err(|_| Error::BadFormat("owner key copy"))?;
        let context = owner_context(binding.record_id, binding.version, content_hash);
        Ok(envelope::open(&sealed, owner, &context)?)
    }

    /// Deletes the patient's own copy of a key; false if there was none. (A deletion, not
    /// an overwrite: on copy-on-write filesystems and SSDs old blocks may linger, which is
    /// why the copy is sealed to the patient's key in the first place.)
    pub fn forget_owner_copy(&self, content_hash: &[u8; 32]) -> Result<bool> {
        match fs::remove_file(self.owner_copy_path(content_hash)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

/// `out` with `.partial` appended: where [`open_verified`] writes before it renames.
pub fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// Checks, before any access is spent on chain, that the plaintext can be written to
/// `out`: its folder exists and no partial file of an earlier read is in the way.
pub fn check_output(out: &Path) -> std::result::Result<(), String> {
    let folder = match out.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        return Err(format!(
            "{}: no such folder for the output",
            folder.display()
        ));
    }
    if out.is_dir() {
        return Err(format!("{}: a folder, not a file name", out.display()));
    }
    let partial = partial_path(out);
    if fs::symlink_metadata(&partial).is_ok() {
        return Err(format!(
            "{}: left over from an earlier read; remove it first",
            partial.display()
        ));
    }
    Ok(())
}

/// Decrypts `input` into `out` in one pass, hashing the very bytes it decrypts, and
/// keeps the plaintext only if every chunk authenticates and the hash is `expected`.
/// The plaintext goes to `out` with `.partial` appended first: created new, mode
/// 0600, never through a link; renamed over `out` at the end.
pub fn open_verified(
    input: impl Read,
    expected: &[u8; 32],
    key: &RecordKey,
    binding: Binding,
    out: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<()> {
    let mut reader = HashingReader {
        inner: BufReader::new(input),
        blake: Blake2b256::new(),
    };
    let temp = partial_path(out);
    let file = create_new(&temp)?;
    let result = (|| {
        let mut writer = BufWriter::new(file);
        let opened = open(&mut reader, &mut writer, key, binding, progress);
        // Hash to the end (`open` stops early on a bad chunk): a blob that is not the
        // one on chain is reported as such before any decryption error.
        io::copy(&mut reader, &mut io::sink())?;
        let actual: [u8; 32] = reader.blake.clone().finalize().into();
        if &actual != expected {
            return Err(Error::HashMismatch {
                expected: *expected,
                actual,
            });
        }
        opened?;
        writer
            .into_inner()
            .map_err(|e| e.into_error())?
            .sync_all()?;
        Ok(())
    })();
    match result {
        Ok(()) => Ok(fs::rename(&temp, out)?),
        Err(e) => {
            let _ = fs::remove_file(&temp);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::{new_record_key, CHUNK};
    use medconsent_keyrelease::envelope::keygen;

    const BINDING: Binding = Binding {
        record_id: 3,
        version: 2,
    };

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "medconsent-{name}-{}",
            hex::encode(crate::random::<6>())
        ));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    struct Case {
        dir: PathBuf,
        store: LocalStore,
        stored: Stored,
        key: RecordKey,
        plain: Vec<u8>,
    }

    fn case(name: &str, len: usize) -> Case {
        let dir = temp_dir(name);
        let store = LocalStore::new(dir.join("store")).unwrap();
        let plain: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
        let key = new_record_key();
        let stored = store.put(&plain[..], &key, BINDING, &mut |_| {}).unwrap();
        Case {
            dir,
            store,
            stored,
            key,
            plain,
        }
    }

    impl Case {
        /// Opens the stored blob named by `hash`, as `get` does: read from the store's
        /// file, checked against `hash` as the chain's.
        fn open(&self, key: &RecordKey, hash: &[u8; 32], binding: Binding) -> Result<Vec<u8>> {
            let out = self.out();
            let _ = fs::remove_file(&out);
            let input = fs::File::open(self.store.blob_path(hash))?;
            open_verified(input, hash, key, binding, &out, &mut |_| {})?;
            Ok(fs::read(&out).unwrap())
        }

        fn out(&self) -> PathBuf {
            self.dir.join("out.bin")
        }

        fn out_exists(&self) -> bool {
            self.out().exists() || self.dir.join("out.bin.partial").exists()
        }
    }

    #[test]
    fn what_was_sealed_opens_with_its_key() {
        for len in [0, 10, 3 * CHUNK + 1] {
            let c = case("roundtrip", len);
            let opened = c.open(&c.key, &c.stored.content_hash, BINDING).unwrap();
            assert_eq!(opened, c.plain);
            let bytes = fs::read(&c.stored.path).unwrap();
            assert_eq!(c.stored.cid, cid::cid_of(&bytes));
            assert!(c.stored.path.ends_with(hex::encode(c.stored.content_hash)));
            c.store.blobs().verify(&c.stored.content_hash).unwrap();
        }
    }

    #[test]
    fn a_tampered_blob_fails_the_chain_hash_check() {
        let c = case("tamper", 100);
        let mut bytes = fs::read(&c.stored.path).unwrap();
        bytes[40] ^= 1;
        fs::write(&c.stored.path, bytes).unwrap();
        let result = c.open(&c.key, &c.stored.content_hash, BINDING);
        assert!(
            matches!(result, Err(Error::HashMismatch { .. })),
            "{result:?}"
        );
        assert!(!c.out_exists(), "no output from a tampered blob");
    }

    #[test]
    fn what_is_decrypted_is_what_was_hashed() {
        // Two blobs under one key and binding: both decrypt, only one is on chain. The
        // bytes fed in are the other blob's, as if swapped in after a check by path.
        let c = case("swap", 100);
        let other = c
            .store
            .put(&[7u8; 50][..], &c.key, BINDING, &mut |_| {})
            .unwrap();
        let swapped = fs::read(&other.path).unwrap();
        let result = open_verified(
            &swapped[..],
            &c.stored.content_hash,
            &c.key,
            BINDING,
            &c.out(),
            &mut |_| {},
        );
        assert!(
            matches!(result, Err(Error::HashMismatch { .. })),
            "{result:?}"
        );
        assert!(
            !c.out_exists(),
            "no plaintext of a blob that is not on chain"
        );
    }

    #[test]
    fn plaintext_is_private_and_never_written_through_a_link() {
        use std::os::unix::fs::{symlink, PermissionsExt};
        let c = case("private", 100);
        let out = c.out();
        c.open(&c.key, &c.stored.content_hash, BINDING).unwrap();
        assert_eq!(
            fs::metadata(&out).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // A link planted where the partial file goes: refused, its target untouched.
        fs::remove_file(&out).unwrap();
        let victim = c.dir.join("victim");
        fs::write(&victim, b"keep me").unwrap();
        symlink(&victim, c.dir.join("out.bin.partial")).unwrap();
        let input = fs::File::open(&c.stored.path).unwrap();
        let result = open_verified(
            input,
            &c.stored.content_hash,
            &c.key,
            BINDING,
            &out,
            &mut |_| {},
        );
        assert!(matches!(result, Err(Error::Io(_))), "{result:?}");
        assert_eq!(fs::read(&victim).unwrap(), b"keep me");
        assert!(!out.exists());
        // The command finds it before any access is spent: the leftover, a missing
        // folder and a folder given as the file are each named.
        let leftover = check_output(&out).unwrap_err();
        assert!(leftover.contains("out.bin.partial"), "{leftover}");
        let missing = check_output(&c.dir.join("nowhere").join("x")).unwrap_err();
        assert!(missing.contains("nowhere"), "{missing}");
        assert!(check_output(&c.dir).unwrap_err().contains("a folder"));
        fs::remove_file(c.dir.join("out.bin.partial")).unwrap();
        assert_eq!(check_output(&out), Ok(()));
    }

    #[test]
    fn a_hash_that_is_not_on_chain_is_refused() {
        let c = case("mismatch", 100);
        // The chain names another blob: the stored file is not it.
        let other = [9u8; 32];
        fs::copy(&c.stored.path, c.store.blob_path(&other)).unwrap();
        let result = c.open(&c.key, &other, BINDING);
        assert!(matches!(result, Err(Error::HashMismatch { .. })));
        assert!(!c.out_exists());
    }

    #[test]
    fn another_key_does_not_open_and_leaves_no_output() {
        let c = case("wrongkey", 100);
        let result = c.open(&new_record_key(), &c.stored.content_hash, BINDING);
        assert!(matches!(result, Err(Error::DecryptionFailed)), "{result:?}");
        assert!(!c.out_exists());
    }

    #[test]
    fn opening_under_another_version_fails_without_output() {
        let c = case("binding", CHUNK * 2);
        let result = c.open(
            &c.key,
            &c.stored.content_hash,
            Binding {
                version: 3,
                ..BINDING
            },
        );
        assert!(matches!(result, Err(Error::DecryptionFailed)));
        assert!(!c.out_exists());
    }

    #[test]
    fn the_owner_copy_opens_only_for_the_owner_and_its_terms_and_is_forgotten() {
        let c = case("owner", 10);
        let (owner, _) = keygen();
        let hash = c.stored.content_hash;
        c.store
            .write_owner_copy(&owner, BINDING, &hash, &c.key)
            .unwrap();
        let key = c.store.read_owner_copy(&owner, BINDING, &hash).unwrap();
        assert_eq!(*key, *c.key);
        // A second copy never overwrites the first.
        assert!(c
            .store
            .write_owner_copy(&owner, BINDING, &hash, &new_record_key())
            .is_err());
        let (stranger, _) = keygen();
        assert!(matches!(
            c.store.read_owner_copy(&stranger, BINDING, &hash),
            Err(Error::DecryptionFailed)
        ));
        let other_version = Binding {
            version: 9,
            ..BINDING
        };
        assert!(matches!(
            c.store.read_owner_copy(&owner, other_version, &hash),
            Err(Error::DecryptionFailed)
        ));
        assert!(c.store.forget_owner_copy(&hash).unwrap());
        assert!(!c.store.forget_owner_copy(&hash).unwrap());
        assert!(matches!(
            c.store.read_owner_copy(&owner, BINDING, &hash),
            Err(Error::Io(_))
        ));
    }
}
