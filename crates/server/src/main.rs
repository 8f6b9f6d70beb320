//! `miniaws`: the server binary. It parses the configuration, opens the
//! database, runs migrations, wires every adapter into the services of
//! `miniaws-core` and serves the routers of `miniaws-api`.

mod banner;
mod config;
mod data_dir;
mod http;
mod log_writer;
mod logging;
mod reconciler;
mod secrets_key;
mod serve;
mod users;
mod write_deadline;

use clap::Parser;
use miniaws_db::{Database, MigrationState, PoolSettings};
use std::process::ExitCode;

use crate::config::{Command, Config, MigrateAction};

fn main() -> ExitCode {
    let config = Config::parse();
    // Held to the end of `main`: dropping it writes out the queued lines.
    let _log = logging::init(config.log_format, &config.log_level);
    raise_open_file_limit();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// `err` and its causes on one line, each said once: the database errors
/// put their cause in their own message, and sqlx's errors repeat theirs,
/// so `{:#}` said the same thing up to four times.
fn one_line(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Raises the soft limit on open files to the hard one, as Go servers
/// (MinIO among them) do at start-up: every connection, upload in flight
/// and database file holds a descriptor, and the soft limit many systems
/// start processes with (1,024) would refuse connections under a few
/// hundred concurrent uploads while the hard limit allows far more.
fn raise_open_file_limit() {
    let before = rlimit::Resource::NOFILE.get().map(|(soft, _)| soft);
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(now) if before.as_ref().is_ok_and(|b| *b < now) => {
            tracing::debug!(
                from = before.unwrap_or_default(),
                to = now,
                "open-file limit raised"
            );
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot raise the open-file limit; keeping it"),
    }
}

async fn run(config: Config) -> anyhow::Result<()> {
    if let Some(file) = embedded_database_not_created(&config) {
        // Asking would create the data directory and the database.
        tracing::info!(
            file = %file.display(),
            "no database yet (nothing was created): every migration is pending"
        );
        print_status(&Database::sqlite_status_before_creation());
        return Ok(());
    }
    data_dir::prepare(&config.data_dir)?;
    // A second server on this data directory stops before anything: its
    // start-up sweep would take the first one's writes in flight for
    // debris. Held to the end.
    let _dir_held = if serves_apis(&config) {
        Some(data_dir::lock(&config.data_dir)?)
    } else {
        None
    };
    // Before the database: a key file that is there but unusable stops
    // start-up before anything is written with another key.
    let serves = matches!(
        (&config.command, config.migrate_only),
        (Some(Command::Serve | Command::Users { .. }) | None, false)
    );
    let key_file = config.effective_secrets_key_file();
    let existing_key = if serves {
        secrets_key::load(&key_file)?
    } else {
        None
    };
    let settings = PoolSettings {
        max_connections: config.db_max_connections,
        ..PoolSettings::default()
    };
    let url = config.effective_database_url();
    if let Some(file) = Database::sqlite_file(&url).filter(|_| serves) {
        // Opening it would create it.
        data_dir::check_sqlite_file(&config.data_dir, &file)?;
    }
    let db = Database::connect(&url, &settings).await?;
    // First thing on the database: a second server on it (from another
    // data directory, which that directory's lock cannot see) stops before
    // it makes a key or runs a migration; so does a migration under a
    // running server. Held to the end.
    let _database_held = if holds_database(&config) {
        Some(db.hold_for_serving(&url).await?)
    } else {
        None
    };
    // A new key only once the database answers: a start that fails to
    // reach it leaves no key behind.
    let secrets_key = match existing_key {
        Some(key) => Some(key),
        None if serves => Some(secrets_key::load_or_create(&key_file)?),
        None => None,
    };
    let loaded = "the secrets key is loaded for serve and users";

    match (&config.command, config.migrate_only) {
        (_, true) => migrate(&db, &MigrateAction::Up).await,
        (Some(Command::Migrate { action }), false) => migrate(&db, action).await,
        (Some(Command::Users { action }), false) => {
            // As `serve` does: a database that cannot be the data
            // directory's gets no migration and no user.
            data_dir::refuse_another_database(&config.data_dir, &db, &miniaws_db::redact_url(&url))
                .await?;
            users::run(&db, action, secrets_key.as_ref().expect(loaded)).await
        }
        (Some(Command::Serve) | None, false) => {
            serve::serve(&config, db, secrets_key.as_ref().expect(loaded)).await
        }
    }
}

/// Whether this run serves the APIs (`serve`, the default).
fn serves_apis(config: &Config) -> bool {
    matches!(
        (&config.command, config.migrate_only),
        (Some(Command::Serve) | None, false)
    )
}

/// Whether this run holds the database for itself (see
/// `Database::hold_for_serving`): a server, and a migration, which must
/// not change the schema under a running server.
fn holds_database(config: &Config) -> bool {
    config.migrate_only
        || serves_apis(config)
        || matches!(
            &config.command,
            Some(Command::Migrate {
                action: MigrateAction::Up | MigrateAction::Down { .. }
            })
        )
}

async fn migrate(db: &Database, action: &MigrateAction) -> anyhow::Result<()> {
    match action {
        MigrateAction::Up => {
            let n = db.migrate_up().await?;
            if n > 0 {
                tracing::info!(applied = n, "migrations applied; the schema is up to date");
            } else {
                tracing::info!("migrations up to date: nothing to apply");
            }
            users::warn_of_case_duplicates(db).await?;
        }
        MigrateAction::Down { steps } => {
            let n = db.migrate_down(*steps).await?;
            tracing::info!(reverted = n, "migrations reverted");
        }
        MigrateAction::Status => print_status(&db.migration_status().await?),
    }
    db.close().await;
    Ok(())
}

/// For `migrate status` on the embedded database: its file, when it does
/// not exist yet.
fn embedded_database_not_created(config: &Config) -> Option<std::path::PathBuf> {
    let status = matches!(
        (&config.command, config.migrate_only),
        (
            Some(Command::Migrate {
                action: MigrateAction::Status
            }),
            false
        )
    );
    let file = config.data_dir.join(config::EMBEDDED_DATABASE_FILE);
    (status && config.database_url.is_none() && !file.exists()).then_some(file)
}

/// One line a migration: version, state, description.
fn print_status(migrations: &[miniaws_db::MigrationStatus]) {
    for m in migrations {
        let state = match m.state {
            MigrationState::Applied => "applied",
            MigrationState::Pending => "pending",
        };
        banner::line(&format!("{:04} {:<8} {}", m.version, state, m.description));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_line_says_each_cause_once() {
        /// An error that says its cause in its own message, as DbError does.
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "invalid database URL: {}", self.0)
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let err = anyhow::Error::new(Outer(std::io::Error::other("unknown value \"bogus\"")))
            .context("start-up failed");
        assert_eq!(
            one_line(&err),
            "start-up failed: invalid database URL: unknown value \"bogus\""
        );
    }
}
