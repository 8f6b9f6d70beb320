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
const OURS: &[&str] = &[
    crate::config::EMBEDDED_DATABASE_FILE,
    "objects",
    "sigv4-secrets.key",
    SERVER_ID,
    LOCK,
    DATABASE_ID,
];

/// The file naming the database this data directory's objects belong to
/// (see [`check_recorded`]).
const DATABASE_ID: &str = "database-id";

/// The id of the database `dir`'s objects belong to, if it names one.
///
/// # Errors
/// When the file is there but cannot be read.
pub fn recorded_database(dir: &Path) -> anyhow::Result<Option<String>> {
    let path = dir.join(DATABASE_ID);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text.trim().to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Checks, given `recorded` (what [`recorded_database`] read), that
/// `dir`'s objects belong to the database whose id is
/// `database_id` (see `Database::database_id`), recording it when the
/// directory names none yet (a new one, or one from before the check).
///
/// Why: the start-up sweep removes every object file no row points to,
/// which is right for the debris of a crash and wrong for a database that
/// is not this directory's (a mistyped `DATABASE_URL`, a switch to a new
/// Postgres, a SQLite file removed under a running server): it would
/// remove every object. A server on the wrong database stops instead.
///
/// # Errors
/// When the directory names another database (naming both, and `url`,
/// redacted); when the file cannot be read or written.
pub fn check_recorded(
    dir: &Path,
    recorded: Option<&str>,
    database_id: &str,
    url: &str,
) -> anyhow::Result<()> {
    let path = dir.join(DATABASE_ID);
    match recorded {
        Some(text) if text == database_id => Ok(()),
        Some(text) => Err(another_database(
            dir,
            text,
            &format!("{url} (id {database_id})"),
        )),
        None => {
            // Written aside and renamed: a crash leaves it whole or absent.
            let temp = dir.join(format!("{DATABASE_ID}.tmp"));
            std::fs::write(&temp, format!("{database_id}\n"))
                .and_then(|()| std::fs::rename(&temp, &path))
                .with_context(|| format!("cannot write {}", path.display()))
        }
    }
}

/// Refuses, before its migrations write anything to it, a database that
/// cannot be the one whose objects `dir` holds (`recorded`, what
/// [`recorded_database`] read): one with another id, or one without Mini
/// AWS's tables (a new database, or another application's: a mistyped
/// `DATABASE_URL`). A database with Mini AWS's tables but no id yet (from
/// before the id, or a `migrate down` past it) is left to
/// [`check_recorded`], after the migrations.
///
/// # Errors
/// As [`check_recorded`].
fn check_before_migrating(
    dir: &Path,
    recorded: Option<&str>,
    found: &miniaws_db::IdentityBeforeMigrating,
    url: &str,
) -> anyhow::Result<()> {
    use miniaws_db::IdentityBeforeMigrating as Found;
    match (recorded, found) {
        (Some(recorded), Found::Id(id)) => check_recorded(dir, Some(recorded), id, url),
        (Some(recorded), Found::NoSchema) => Err(another_database(
            dir,
            recorded,
            &format!(
                "{url}, which holds no Mini AWS tables (a new database, or another application's)"
            ),
        )),
        _ => Ok(()),
    }
}

/// Reads which database `dir` records and refuses `db`, before its
/// migrations run, when it cannot be that one (see
/// [`check_before_migrating`]); returns what `dir` records. `url` is the
/// redacted URL, for the message.
///
/// # Errors
/// As [`check_before_migrating`]; when the record or the database cannot
/// be read.
pub async fn refuse_another_database(
    dir: &Path,
    db: &miniaws_db::Database,
    url: &str,
) -> anyhow::Result<Option<String>> {
    let recorded = recorded_database(dir)?;
    check_before_migrating(
        dir,
        recorded.as_deref(),
        &db.identity_before_migrating().await?,
        url,
    )?;
    Ok(recorded)
}

/// Refuses to create the SQLite database `file` for a data directory that
/// records another (`recorded`): opening it would create it, and the
/// directory's objects belong to a database that is not there.
///
/// # Errors
/// When `dir` records a database and `file` does not exist; when the
/// record cannot be read.
pub fn check_sqlite_file(dir: &Path, file: &Path) -> anyhow::Result<()> {
    if file.exists() {
        return Ok(());
    }
    match recorded_database(dir)? {
        Some(recorded) => Err(another_database(
            dir,
            &recorded,
            &format!(
                "the SQLite database {}, which does not exist",
                file.display()
            ),
        )),
        None => Ok(()),
    }
}

/// The refusal of a database that is not `dir`'s (whose id is `recorded`);
/// `what` names the one given.
fn another_database(dir: &Path, recorded: &str, what: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "the data directory {} holds the objects of another database (id {recorded}) than {what}: \
         nothing was touched. Start with that database's --database-url, or give this database a --data-dir \
         of its own. (Removing {} makes this database the directory's, and its start-up sweep then removes \
         every object file this database does not know.)",
        dir.display(),
        dir.join(DATABASE_ID).display()
    )
}

/// The file a serving server holds locked (see [`lock`]).
const LOCK: &str = "lock";

/// A data directory held by this process: released when dropped (or when
/// the process ends, however it ends: the kernel drops the lock).
#[derive(Debug)]
pub struct DataDirLock {
    _file: std::fs::File,
}

/// Takes `<dir>/lock` for this process, so that a second server started on
/// the same data directory stops before it touches anything: its start-up
/// sweep would take the first one's uploads in flight for a crash's debris
/// and remove their files. An advisory lock (`flock`), held as long as the
/// process runs; the file names the holder (`miniaws pid N on HOST`), for the message.
///
/// # Errors
/// When another process holds it, naming that process; when the file
/// cannot be opened or locked.
pub fn lock(dir: &Path) -> anyhow::Result<DataDirLock> {
    let path = dir.join(LOCK);
    match miniaws_db::lock_file(&path) {
        Ok(Ok(file)) => Ok(DataDirLock { _file: file }),
        Ok(Err(holder)) => anyhow::bail!(
            "the data directory {} is in use by another process ({holder}): stop that server first, or give this one a --data-dir of its own",
            dir.display()
        ),
        Err(e) => Err(e).with_context(|| format!("cannot lock {}", path.display())),
    }
}

/// The file naming this data directory's server (see [`server_id`]).
const SERVER_ID: &str = "server-id";

/// The id of the server this data directory belongs to: a UUID made at the
/// first start and kept in `<dir>/server-id`. Docker resources the server
/// makes for itself (the owners' networks) carry it, so that a later run
/// finds and tidies what an earlier one left, and never another server's.
///
/// # Errors
/// When the file cannot be read or written, or holds something else than
/// a UUID.
pub fn server_id(dir: &Path) -> anyhow::Result<String> {
    let path = dir.join(SERVER_ID);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let id = text.trim();
            uuid::Uuid::try_parse(id).with_context(|| {
                format!(
                    "{} holds {id:?}, not a server id (a UUID): remove it to make a new one",
                    path.display()
                )
            })?;
            return Ok(id.to_owned());
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    let id = uuid::Uuid::new_v4().to_string();
    // Written aside and renamed: a crash leaves the file whole or absent.
    let temp = dir.join(format!("{SERVER_ID}.tmp"));
    std::fs::write(&temp, format!("{id}\n"))
        .and_then(|()| std::fs::rename(&temp, &path))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(id)
}

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
    // An empty directory was made for the server (`mkdir d; miniaws
    // --data-dir d`): it is as much ours as one we made.
    let empty = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none());
    if empty || OURS.iter().any(|name| dir.join(name).exists()) {
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
    fn the_server_id_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let id = server_id(dir.path()).unwrap();
        assert!(uuid::Uuid::try_parse(&id).is_ok(), "{id}");
        assert_eq!(server_id(dir.path()).unwrap(), id, "kept across starts");
        std::fs::write(dir.path().join(SERVER_ID), "not an id").unwrap();
        let err = server_id(dir.path()).unwrap_err().to_string();
        assert!(err.contains("not a server id"), "{err}");
    }

    #[test]
    fn a_new_data_directory_is_the_owners_alone() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("a/b");
        prepare(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
    }

    /// The check as `serve` makes it: the record read, then compared.
    fn check(dir: &Path, database_id: &str, url: &str) -> anyhow::Result<()> {
        check_recorded(dir, recorded_database(dir)?.as_deref(), database_id, url)
    }

    #[test]
    fn a_data_directory_keeps_to_its_database() {
        let dir = tempfile::tempdir().unwrap();
        check(dir.path(), "db-one", "sqlite:one").expect("recorded");
        check(dir.path(), "db-one", "sqlite:one").expect("the same");
        let err = check(dir.path(), "db-two", "sqlite:two")
            .expect_err("another database")
            .to_string();
        assert!(
            err.contains("another database (id db-one) than sqlite:two (id db-two)"),
            "{err}"
        );
    }

    #[test]
    fn a_data_directory_is_held_by_one_server_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock(dir.path()).expect("free");
        let err = lock(dir.path()).expect_err("held").to_string();
        assert!(
            err.contains("in use by another process")
                && err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(held);
        lock(dir.path()).expect("free again");
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

        let empty = tempfile::tempdir().unwrap();
        std::fs::set_permissions(empty.path(), Permissions::from_mode(0o755)).unwrap();
        prepare(empty.path()).unwrap();
        assert_eq!(mode(empty.path()), 0o700, "made for the server");
    }
}
