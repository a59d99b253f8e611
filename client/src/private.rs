//! Files that hold secrets or plaintext: created new, readable by the owner only, and
//! never through a symbolic link (a link planted at the path could send a record's
//! plaintext or a secret key to a file of the attacker's choosing).

use crate::{parse_hex32, Error, Result};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use x25519_dalek::StaticSecret;

/// Creates `path` for writing, mode 0600. Fails if anything (a file, a link) is there.
pub fn create_new(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc_o_nofollow())
        .open(path)
}

/// O_NOFOLLOW on Linux; with create_new a link at the path already fails (EEXIST),
/// the flag keeps that true however the open is changed later.
const fn libc_o_nofollow() -> i32 {
    0o400000
}

/// A new X25519 key pair whose secret goes to a new file (mode 0600, an existing path
/// refused); returns the public key. `keygen` of both commands.
pub fn new_key_file(path: &Path) -> Result<x25519_dalek::PublicKey> {
    let (secret, public) = medconsent_keyrelease::envelope::keygen();
    write_secret(path, &secret)?;
    Ok(public)
}

/// Writes a new secret key file (hex), mode 0600; an existing file is refused, never
/// overwritten or left with wider permissions.
pub fn write_secret(path: &Path, secret: &StaticSecret) -> Result<()> {
    let hex_secret = zeroize::Zeroizing::new(hex::encode(secret.to_bytes()));
    let mut file = create_new(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => Error::Refused(format!(
            "{} already exists: keygen never overwrites a key file",
            path.display()
        )),
        _ => Error::Io(e),
    })?;
    file.write_all(hex_secret.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

/// Reads a secret key file. Refuses one that others may read (as ssh does), and never
/// puts the file's content in an error message.
pub fn read_secret(path: &Path) -> Result<StaticSecret> {
    let mode = fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(Error::Refused(format!(
            "{} is readable by others (mode {:o}): chmod 600 it",
            path.display(),
            mode & 0o777
        )));
    }
    let text = zeroize::Zeroizing::new(fs::read_to_string(path)?);
    let bytes = parse_hex32(&text).map_err(|_| {
        Error::InvalidKey(format!("{}: not a medconsent secret key", path.display()))
    })?;
    Ok(StaticSecret::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;
    use std::path::PathBuf;

    fn temp_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "medconsent-private-{}",
            hex::encode(crate::random::<6>())
        ));
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
        let message = read_secret(&path).err().expect("refused").to_string();
        assert!(message.contains("not a medconsent secret key"), "{message}");
        assert!(!message.contains(&secret_text[..16]), "{message}");
    }

    #[test]
    fn a_key_file_is_new_private_and_never_overwritten() {
        let dir = temp_dir();
        let path = dir.join("patient.sk");
        let (secret, _) = crate::wrap::keygen();
        write_secret(&path, &secret).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(read_secret(&path).unwrap().to_bytes(), secret.to_bytes());
        // A second keygen to the same path is refused and leaves the first key.
        let (other, _) = crate::wrap::keygen();
        let refused = write_secret(&path, &other);
        assert!(matches!(refused, Err(Error::Refused(_))), "{refused:?}");
        assert_eq!(read_secret(&path).unwrap().to_bytes(), secret.to_bytes());
    }

    #[test]
    fn a_key_file_others_can_read_is_refused() {
        let dir = temp_dir();
        let path = dir.join("loose.sk");
        let (secret, _) = crate::wrap::keygen();
        write_secret(&path, &secret).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let refused = read_secret(&path).err();
        assert!(matches!(refused, Some(Error::Refused(_))), "{refused:?}");
    }

    #[test]
    fn a_link_planted_at_the_path_is_not_followed() {
        let dir = temp_dir();
        let victim = dir.join("victim");
        fs::write(&victim, b"keep me").unwrap();
        let path = dir.join("planted.sk");
        symlink(&victim, &path).unwrap();
        let (secret, _) = crate::wrap::keygen();
        assert!(write_secret(&path, &secret).is_err());
        assert!(create_new(&path).is_err());
        assert_eq!(fs::read(&victim).unwrap(), b"keep me");
    }
}
