//! A content-addressed store in a local directory: `<dir>/<hex hash>` holds a sealed
//! blob, `<dir>/<hex hash>.keys/<hex public key>` the record key wrapped to that key.

use crate::seal::{open, seal};
use crate::wrap::{unwrap, wrap, WRAPPED_LEN};
use crate::{cid, Binding, Error, RecordKey, Result};
use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use sha2::Sha256;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use x25519_dalek::{PublicKey, StaticSecret};

type Blake2b256 = Blake2b<U32>;

/// blake2b-256 of `bytes`: a blob's content hash, as the chain keeps it.
pub fn blake2b_256(bytes: &[u8]) -> [u8; 32] {
    Blake2b256::digest(bytes).into()
}

pub struct Store {
    dir: PathBuf,
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

impl Store {
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Keeps `bytes` as the blob of `content_hash` if they hash to it (written to a new
    /// temporary file, then renamed).
    pub fn keep_blob(&self, content_hash: &[u8; 32], bytes: &[u8]) -> Result<PathBuf> {
        let actual = blake2b_256(bytes);
        if &actual != content_hash {
            return Err(Error::HashMismatch {
                expected: hex::encode(content_hash),
                actual: hex::encode(actual),
            });
        }
        let temp = self
            .dir
            .join(format!(".fetching-{}", hex::encode(crate::random::<8>())));
        let mut file = crate::private::create_new(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        let path = self.blob_path(content_hash);
        fs::rename(&temp, &path)?;
        Ok(path)
    }

    pub fn blob_path(&self, content_hash: &[u8; 32]) -> PathBuf {
        self.dir.join(hex::encode(content_hash))
    }

    fn key_path(&self, content_hash: &[u8; 32], public: &PublicKey) -> PathBuf {
        self.dir
            .join(format!("{}.keys", hex::encode(content_hash)))
            .join(hex::encode(public.as_bytes()))
    }

    /// Seals `plaintext` under `key` into the store; the blob is named by its hash.
    pub fn put(
        &self,
        plaintext: impl Read,
        key: &RecordKey,
        binding: Binding,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Stored> {
        let temp = self
            .dir
            .join(format!(".sealing-{}", hex::encode(crate::random::<8>())));
        let mut writer = Hashing {
            inner: BufWriter::new(crate::private::create_new(&temp)?),
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

    /// Checks that the stored blob hashes to `expected` (the hash on chain).
    pub fn verify(&self, expected: &[u8; 32]) -> Result<()> {
        let mut file = BufReader::new(File::open(self.blob_path(expected))?);
        let mut hasher = Blake2b256::new();
        io::copy(&mut file, &mut hasher)?;
        let actual: [u8; 32] = hasher.finalize().into();
        if &actual != expected {
            return Err(Error::HashMismatch {
                expected: hex::encode(expected),
                actual: hex::encode(actual),
            });
        }
        Ok(())
    }

    /// Keeps `key` wrapped to `recipient` next to the blob.
    pub fn grant_key(
        &self,
        content_hash: &[u8; 32],
        key: &RecordKey,
        recipient: &PublicKey,
    ) -> Result<PathBuf> {
        let wrapped = wrap(key, recipient, content_hash)?;
        let path = self.key_path(content_hash, recipient);
        fs::create_dir_all(path.parent().expect("keys dir"))?;
        fs::write(&path, wrapped)?;
        Ok(path)
    }

    /// The record key wrapped to `secret`'s public key.
    pub fn record_key(&self, content_hash: &[u8; 32], secret: &StaticSecret) -> Result<RecordKey> {
        let public = PublicKey::from(secret);
        let path = self.key_path(content_hash, &public);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::NoKeyFor(hex::encode(public.as_bytes())))
            }
            Err(e) => return Err(e.into()),
        };
        let wrapped: [u8; WRAPPED_LEN] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| Error::BadFormat("wrapped key"))?;
        unwrap(&wrapped, secret, content_hash)
    }

    /// Unwraps the blob's key with `secret` and writes the plaintext to `out` only if
    /// the blob hashes to the hash on chain and all of it authenticates.
    pub fn open_to_file(
        &self,
        expected_hash: &[u8; 32],
        secret: &StaticSecret,
        binding: Binding,
        out: &Path,
        progress: &mut dyn FnMut(u64),
    ) -> Result<()> {
        let key = match self.record_key(expected_hash, secret) {
            // Say first that the blob is not the one on chain, if that is the case.
            Err(Error::NoKeyFor(public)) => {
                self.verify(expected_hash)?;
                return Err(Error::NoKeyFor(public));
            }
            other => other?,
        };
        let input = File::open(self.blob_path(expected_hash))?;
        open_verified(input, expected_hash, &key, binding, out, progress)
    }
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
    let mut temp_name = out.as_os_str().to_owned();
    temp_name.push(".partial");
    let temp = PathBuf::from(temp_name);
    let file = crate::private::create_new(&temp)?;
    let result = (|| {
        let mut writer = BufWriter::new(file);
        let opened = open(&mut reader, &mut writer, key, binding, progress);
        // Hash to the end (`open` stops early on a bad chunk): a blob that is not the
        // one on chain is reported as such before any decryption error.
        io::copy(&mut reader, &mut io::sink())?;
        let actual: [u8; 32] = reader.blake.clone().finalize().into();
        if &actual != expected {
            return Err(Error::HashMismatch {
                expected: hex::encode(expected),
                actual: hex::encode(actual),
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
    use crate::wrap::keygen;

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
        store: Store,
        stored: Stored,
        reader: (StaticSecret, PublicKey),
        plain: Vec<u8>,
    }

    fn case(name: &str, len: usize) -> Case {
        let dir = temp_dir(name);
        let store = Store::new(dir.join("store")).unwrap();
        let plain: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
        let key = new_record_key();
        let stored = store.put(&plain[..], &key, BINDING, &mut |_| {}).unwrap();
        let reader = keygen();
        store
            .grant_key(&stored.content_hash, &key, &reader.1)
            .unwrap();
        Case {
            dir,
            store,
            stored,
            reader,
            plain,
        }
    }

    impl Case {
        fn open(
            &self,
            secret: &StaticSecret,
            hash: &[u8; 32],
            binding: Binding,
        ) -> Result<Vec<u8>> {
            let out = self.dir.join("out.bin");
            let _ = fs::remove_file(&out);
            self.store
                .open_to_file(hash, secret, binding, &out, &mut |_| {})?;
            Ok(fs::read(&out).unwrap())
        }

        fn out_exists(&self) -> bool {
            self.dir.join("out.bin").exists() || self.dir.join("out.bin.partial").exists()
        }
    }

    #[test]
    fn a_grantee_opens_what_was_sealed() {
        for len in [0, 10, 3 * CHUNK + 1] {
            let c = case("roundtrip", len);
            let opened = c
                .open(&c.reader.0, &c.stored.content_hash, BINDING)
                .unwrap();
            assert_eq!(opened, c.plain);
            let bytes = fs::read(&c.stored.path).unwrap();
            assert_eq!(c.stored.cid, cid::cid_of(&bytes));
            assert!(c.stored.path.ends_with(hex::encode(c.stored.content_hash)));
        }
    }

    #[test]
    fn a_key_shared_onward_opens_for_the_new_grantee_only() {
        let c = case("share", 100);
        let (newcomer, newcomer_public) = keygen();
        let key = c
            .store
            .record_key(&c.stored.content_hash, &c.reader.0)
            .unwrap();
        c.store
            .grant_key(&c.stored.content_hash, &key, &newcomer_public)
            .unwrap();
        let opened = c.open(&newcomer, &c.stored.content_hash, BINDING).unwrap();
        assert_eq!(opened, c.plain);
        let (outsider, _) = keygen();
        let result = c.open(&outsider, &c.stored.content_hash, BINDING);
        assert!(matches!(result, Err(Error::NoKeyFor(_))));
    }

    #[test]
    fn a_tampered_blob_fails_the_chain_hash_check() {
        let c = case("tamper", 100);
        let mut bytes = fs::read(&c.stored.path).unwrap();
        bytes[40] ^= 1;
        fs::write(&c.stored.path, bytes).unwrap();
        let result = c.open(&c.reader.0, &c.stored.content_hash, BINDING);
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
        let key = c
            .store
            .record_key(&c.stored.content_hash, &c.reader.0)
            .unwrap();
        let other = c
            .store
            .put(&[7u8; 50][..], &key, BINDING, &mut |_| {})
            .unwrap();
        let swapped = fs::read(&other.path).unwrap();
        let out = c.dir.join("out.bin");
        let result = open_verified(
            &swapped[..],
            &c.stored.content_hash,
            &key,
            BINDING,
            &out,
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
        let out = c.dir.join("out.bin");
        c.open(&c.reader.0, &c.stored.content_hash, BINDING)
            .unwrap();
        assert_eq!(
            fs::metadata(&out).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // A link planted where the partial file goes: refused, its target untouched.
        fs::remove_file(&out).unwrap();
        let victim = c.dir.join("victim");
        fs::write(&victim, b"keep me").unwrap();
        symlink(&victim, c.dir.join("out.bin.partial")).unwrap();
        let result = c.store.open_to_file(
            &c.stored.content_hash,
            &c.reader.0,
            BINDING,
            &out,
            &mut |_| {},
        );
        assert!(matches!(result, Err(Error::Io(_))), "{result:?}");
        assert_eq!(fs::read(&victim).unwrap(), b"keep me");
        assert!(!out.exists());
    }

    #[test]
    fn a_hash_that_is_not_on_chain_is_refused() {
        let c = case("mismatch", 100);
        // The chain names another blob: the stored file is not it.
        let other = [9u8; 32];
        fs::copy(&c.stored.path, c.store.blob_path(&other)).unwrap();
        let result = c.open(&c.reader.0, &other, BINDING);
        assert!(matches!(result, Err(Error::HashMismatch { .. })));
    }

    #[test]
    fn someone_without_a_wrapped_key_cannot_open() {
        let c = case("wrongkey", 100);
        let (stranger, _) = keygen();
        let result = c.open(&stranger, &c.stored.content_hash, BINDING);
        assert!(matches!(result, Err(Error::NoKeyFor(_))));
        // A key file swapped in for the stranger does not open either.
        let wrapped = c.store.key_path(&c.stored.content_hash, &c.reader.1);
        let theirs = c
            .store
            .key_path(&c.stored.content_hash, &PublicKey::from(&stranger));
        fs::copy(wrapped, theirs).unwrap();
        let result = c.open(&stranger, &c.stored.content_hash, BINDING);
        assert!(matches!(result, Err(Error::DecryptionFailed)));
        assert!(!c.out_exists());
    }

    #[test]
    fn opening_under_another_version_fails_without_output() {
        let c = case("binding", CHUNK * 2);
        let result = c.open(
            &c.reader.0,
            &c.stored.content_hash,
            Binding {
                version: 3,
                ..BINDING
            },
        );
        assert!(matches!(result, Err(Error::DecryptionFailed)));
        assert!(!c.out_exists());
    }
}
