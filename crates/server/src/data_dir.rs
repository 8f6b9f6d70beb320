//! The data directory, the owner's alone.
//!
//! It holds every user's object bytes, the SQLite database (instance
//! environments, bucket policies …) and the secrets key: on a shared
//! machine another account must not read them. A directory the server
//! makes is made 0700; one that was there already and is ours (it holds
//! what a data directory holds: `miniaws.db`, `objects/` or the secrets
//! key) is tightened to 0700 if others can reach into it. Any other
//! directory given as `--data-dir` (`/tmp`, a home directory) is left as it
//! is, with a warning: its other contents are not ours to lock away. The
//! object store and the SQLite files are the owner's alone as well
//! (`miniaws_blob`, `miniaws_db`), whatever the directory around them.

use anyhow::Context;
use std::fs::{DirBuilder, Permissions};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

/// What only a data directory holds.
const OURS: &[&str] = &["miniaws.db", "objects", "sigv4-secrets.key"];

/// Makes `dir` (0700) or, when it exists, keeps others out of it if it is
/// a data directory.
///
/// # Errors
/// When it cannot be made.
pub fn prepare(dir: &Path) -> anyhow::Result<()> {
    if !dir.is_dir() {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| {
                format!(
                    "cannot create the data directory {} (set --data-dir / MINIAWS_DATA_DIR)",
                    dir.display()
                )
            })?;
        return Ok(());
    }
    let mode = std::fs::metadata(dir)
        .with_context(|| format!("cannot read the data directory {}", dir.display()))?
        .permissions()
        .mode();
    if mode & 0o077 == 0 {
        return Ok(());
    }
    if OURS.iter().any(|name| dir.join(name).exists()) {
        match std::fs::set_permissions(dir, Permissions::from_mode(0o700)) {
            Ok(()) => tracing::info!(
                dir = %dir.display(),
                was = format!("{:o}", mode & 0o777),
                "the data directory is now 0700: other users could read the objects and the database in it"
            ),
            Err(e) => tracing::warn!(
                dir = %dir.display(),
                error = %e,
                "other users can reach into the data directory, and it cannot be made 0700; make it so"
            ),
        }
    } else {
        tracing::warn!(
            dir = %dir.display(),
            mode = format!("{:o}", mode & 0o777),
            "other users can reach into the data directory, which holds more than Mini AWS's data; the objects and the database are the owner's alone, but consider a directory of its own"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_data_directory_is_the_owners_alone() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("a/b");
        prepare(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
    }

    #[test]
    fn only_a_data_directory_is_tightened() {
        let ours = tempfile::tempdir().unwrap();
        std::fs::set_permissions(ours.path(), Permissions::from_mode(0o755)).unwrap();
        std::fs::write(ours.path().join("miniaws.db"), b"").unwrap();
        prepare(ours.path()).unwrap();
        assert_eq!(mode(ours.path()), 0o700);

        let shared = tempfile::tempdir().unwrap();
        std::fs::set_permissions(shared.path(), Permissions::from_mode(0o755)).unwrap();
        std::fs::write(shared.path().join("notes.txt"), b"").unwrap();
        prepare(shared.path()).unwrap();
        assert_eq!(mode(shared.path()), 0o755, "not ours to lock away");
    }
}
