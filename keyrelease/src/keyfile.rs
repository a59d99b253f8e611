//! Files that hold secrets or plaintext: created new, readable by the owner only, and
//! never through a symbolic link (a link planted at the path could send a record's
//! plaintext or a secret key to a file of the attacker's choosing). Key servers and
//! clients keep their X25519 secrets in these files, handled as ssh handles its keys.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use x25519_dalek::{PublicKey, StaticSecret};

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} already exists: keygen never overwrites a key file", .0.display())]
    Exists(PathBuf),
    #[error("{} is readable by others (mode {mode:o}): chmod 600 it", path.display())]
    Loose { path: PathBuf, mode: u32 },
    /// The file's content is never repeated: it may be a secret.
    #[error("{}: not a medconsent secret key", .0.display())]
    NotAKey(PathBuf),
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> KeyFileError + '_ {
    move |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Creates `path` for writing, mode 0600. Fails if anything (a file, a link) is there:
/// `create_new` already refuses a link, and O_NOFOLLOW keeps that true however the
/// open is changed later.
pub fn create_new(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// A new X25519 key pair whose secret goes to a new file (mode 0600, an existing path
/// refused); returns the public key. `keygen` of every command.
pub fn new_key_file(path: &Path) -> Result<PublicKey, KeyFileError> {
    let (secret, public) = crate::envelope::keygen();
    write_secret(path, &secret)?;
    Ok(public)
}

/// Writes a new secret key file (hex), mode 0600; an existing file is refused, never
/// overwritten or left with wider permissions.
pub fn write_secret(path: &Path, secret: &StaticSecret) -> Result<(), KeyFileError> {
    let hex_secret = zeroize::Zeroizing::new(hex::encode(secret.to_bytes()));
    let mut file = create_new(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => KeyFileError::Exists(path.to_owned()),
        _ => io_error(path)(e),
    })?;
    file.write_all(hex_secret.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io_error(path))
}

/// Reads a secret key file. Refuses one that others may read (as ssh does), and never
/// puts the file's content in an error message.
pub fn read_secret(path: &Path) -> Result<StaticSecret, KeyFileError> {
    let mode = fs::metadata(path)
        .map_err(io_error(path))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(KeyFileError::Loose {
            path: path.to_owned(),
            mode: mode & 0o777,
        });
    }
    let text = zeroize::Zeroizing::new(fs::read_to_string(path).map_err(io_error(path))?);
    let digits = text.trim();
    let digits = digits.strip_prefix("0x").unwrap_or(digits);
    let bytes = zeroize::Zeroizing::new(
        hex::decode(digits).map_err(|_| KeyFileError::NotAKey(path.to_owned()))?,
    );
    let bytes = <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| KeyFileError::NotAKey(path.to_owned()))?;
    Ok(StaticSecret::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::keygen;
    use std::os::unix::fs::symlink;

    fn temp_dir() -> PathBuf {
        let mut tag = [0u8; 6];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut tag);
        let dir = std::env::temp_dir().join(format!("medconsent-keyfile-{}", hex::encode(tag)));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_malformed_key_file_error_does_not_print_the_key() {
        let dir = temp_dir();
        let path = dir.join("doctor.sk");
        // 31.5 bytes of a real-looking secret: malformed, and secret all the same.
        let secret_text = "7f3a9c0e5b2d4f6a8c1e3b5d7f9a2c4e6b8d0f1a3c5e7b9d2f4a6c8e0b1d3f5";
        let mut file = create_new(&path).unwrap();
        file.write_all(secret_text.as_bytes()).unwrap();
        let refused = read_secret(&path).err().expect("refused");
        assert!(matches!(refused, KeyFileError::NotAKey(_)), "{refused:?}");
        let message = refused.to_string();
        assert!(message.contains("not a medconsent secret key"), "{message}");
        assert!(!message.contains(&secret_text[..16]), "{message}");
    }

    #[test]
    fn a_key_file_is_new_private_and_never_overwritten() {
        let dir = temp_dir();
        let path = dir.join("patient.sk");
        let (secret, _) = keygen();
        write_secret(&path, &secret).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(read_secret(&path).unwrap().to_bytes(), secret.to_bytes());
        // A second keygen to the same path is refused and leaves the first key.
        let (other, _) = keygen();
        let refused = write_secret(&path, &other);
        assert!(
            matches!(refused, Err(KeyFileError::Exists(_))),
            "{refused:?}"
        );
        assert_eq!(read_secret(&path).unwrap().to_bytes(), secret.to_bytes());
    }

    #[test]
    fn a_key_file_others_can_read_is_refused() {
        let dir = temp_dir();
        let path = dir.join("loose.sk");
        let (secret, _) = keygen();
        write_secret(&path, &secret).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let refused = read_secret(&path).err();
        assert!(
            matches!(refused, Some(KeyFileError::Loose { mode: 0o644, .. })),
            "{refused:?}"
        );
    }

    #[test]
    fn a_link_planted_at_the_path_is_not_followed() {
        let dir = temp_dir();
        let victim = dir.join("victim");
        fs::write(&victim, b"keep me").unwrap();
        let path = dir.join("planted.sk");
        symlink(&victim, &path).unwrap();
        let (secret, _) = keygen();
        assert!(write_secret(&path, &secret).is_err());
        assert!(create_new(&path).is_err());
        assert_eq!(fs::read(&victim).unwrap(), b"keep me");
    }
}
