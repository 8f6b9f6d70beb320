//! The service key that seals SigV4 secret access keys in the database
//! (`miniaws_core::identity::SecretSealer`): 32 random bytes in a file
//! outside the database, so that a dump or a copied backup of the database
//! holds no working S3 credentials.
//!
//! The file is made at the first start, with mode 0600. A file that exists
//! but cannot be read, or is not 32 bytes, stops start-up with an error
//! naming it: a new key in its place would leave every sealed secret
//! unopenable.

use anyhow::{Context, bail};
use miniaws_core::identity::SecretsKey;
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The key file's name in the data directory when none is configured.
pub const DEFAULT_FILE_NAME: &str = "sigv4-secrets.key";

/// Where to say the file is configured, in errors.
const SETTING: &str = "--secrets-key-file / MINIAWS_SECRETS_KEY_FILE";

/// Reads the key in `path`, or makes one there when there is no file.
///
/// # Errors
/// A file that cannot be read or is not
/// [`SECRETS_KEY_LEN`](miniaws_core::identity::SECRETS_KEY_LEN) bytes long, or
/// one that cannot be created; each error names the file.
pub fn load_or_create(path: &Path) -> anyhow::Result<SecretsKey> {
    match load(path)? {
        Some(key) => Ok(key),
        None => create(path),
    }
}

/// Reads the key in `path`; `None` when there is no file.
///
/// # Errors
/// As [`load_or_create`], for a file that is there.
pub fn load(path: &Path) -> anyhow::Result<Option<SecretsKey>> {
    match std::fs::read(path) {
        Ok(bytes) => from_file(path, &bytes).map(Some),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| {
            format!(
                "cannot read the secrets key file {} ({SETTING}); it seals the S3 secret \
                 access keys in the database, so the server does not start without it",
                path.display()
            )
        }),
    }
}

fn from_file(path: &Path, bytes: &[u8]) -> anyhow::Result<SecretsKey> {
    let key = match SecretsKey::from_bytes(bytes) {
        Ok(key) => key,
        Err(e) => bail!(
            "the secrets key file {} is not a secrets key: {e} ({SETTING}). Restore the file \
             the server made (the S3 secret access keys in the database were sealed with it), \
             or, to give up those S3 credentials, remove it and a new key is made",
            path.display()
        ),
    };
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            file = %path.display(),
            mode = format!("{:o}", meta.permissions().mode() & 0o777),
            "the secrets key file can be read by other users than its owner; make it 0600"
        );
    }
    Ok(key)
}

/// Writes a new key to a temporary file (0600, fsynced), then links it to
/// `path`. A link, not a rename: a rename replaces a file that appeared in
/// the meantime (`miniaws users create` starting beside the server), and
/// whichever key lost would have sealed secrets nobody can open. The loser
/// reads the winner's key instead.
fn create(path: &Path) -> anyhow::Result<SecretsKey> {
    let cannot = |what: &str| {
        format!(
            "cannot {what} the secrets key file {} ({SETTING})",
            path.display()
        )
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .with_context(|| cannot("create (the path names no file)"))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let key = SecretsKey::generate();
    let written = (|| -> std::io::Result<()> {
        // Left by a crashed start of a process with the same id: ours.
        let _ = std::fs::remove_file(&tmp);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        // Whatever the umask: the mode above can only lose bits to it.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        file.write_all(key.as_bytes())?;
        // Durable before it has its name, or a crash could leave an empty
        // key file under it.
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| cannot("create"));
    }
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            let bytes = std::fs::read(path).with_context(|| cannot("read"))?;
            return from_file(path, &bytes);
        }
        Err(e) => return Err(e).with_context(|| cannot("create")),
    }
    // The new name durable too, before any secret is sealed with the key.
    std::fs::File::open(&dir)
        .and_then(|d| d.sync_all())
        .with_context(|| cannot("sync the directory of"))?;
    tracing::info!(
        file = %path.display(),
        "made a new secrets key file (mode 0600): it seals the S3 secret access keys in the database; back it up apart from the database"
    );
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use miniaws_core::identity::SECRETS_KEY_LEN;

    #[test]
    fn a_new_key_is_made_once_with_mode_0600_and_read_back() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join(DEFAULT_FILE_NAME);
        let made = load_or_create(&path).expect("made");
        let meta = std::fs::metadata(&path).expect("the file exists");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(meta.len(), SECRETS_KEY_LEN as u64);
        assert_eq!(load_or_create(&path).expect("read back"), made);
        // No temporary file is left beside it.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("listable")
            .map(|e| e.expect("an entry").file_name())
            .collect();
        assert_eq!(names, [DEFAULT_FILE_NAME]);
    }

    #[test]
    fn a_key_file_of_the_wrong_size_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("k");
        for len in [0, 31, 33, 64] {
            std::fs::write(&path, vec![1u8; len]).expect("written");
            let e = format!("{:#}", load_or_create(&path).unwrap_err());
            assert!(e.contains(&path.display().to_string()), "{e}");
            assert!(e.contains(&format!("this one is {len}")), "{e}");
            // Never replaced by a new key.
            assert_eq!(std::fs::read(&path).expect("kept").len(), len);
        }
    }

    #[test]
    fn an_unreadable_key_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        // A directory in its place cannot be read as a file (and, unlike a
        // mode of 000, stops root too).
        let path = dir.path().join("k");
        std::fs::create_dir(&path).expect("made");
        let e = format!("{:#}", load_or_create(&path).unwrap_err());
        assert!(e.contains("cannot read the secrets key file"), "{e}");
        assert!(e.contains(&path.display().to_string()), "{e}");
        // A file in a directory that does not exist cannot be made.
        let path = dir.path().join("missing/k");
        let e = format!("{:#}", load_or_create(&path).unwrap_err());
        assert!(e.contains(&path.display().to_string()), "{e}");
    }
}
