//! Opening fresh databases of both backends for repository tests.

#![allow(dead_code)] // Each test file uses a subset.

use miniaws_db::{Database, PoolSettings};
use miniaws_testkit::{TestDatabase, require_postgres};

/// A migrated database plus whatever keeps it alive.
pub struct Fresh {
    pub db: Database,
    _dir: Option<tempfile::TempDir>,
    _pg: Option<TestDatabase>,
}

/// A fresh SQLite file in a temp dir; `migrate` runs the migrations.
pub async fn sqlite(migrate: bool) -> Fresh {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let db = Database::connect(&url, &PoolSettings::default())
        .await
        .expect("sqlite opens");
    if migrate {
        db.migrate_up().await.expect("migrations apply on sqlite");
    }
    Fresh {
        db,
        _dir: Some(dir),
        _pg: None,
    }
}

/// A fresh UUID-named Postgres database, or `None` when Postgres is not
/// configured and not required (see `require_postgres`).
pub async fn postgres(migrate: bool) -> Option<Fresh> {
    let admin = require_postgres()?;
    let pg = TestDatabase::create(&admin).await;
    let db = Database::connect(&pg.url, &PoolSettings::default())
        .await
        .expect("postgres opens");
    if migrate {
        db.migrate_up().await.expect("migrations apply on postgres");
    }
    Some(Fresh {
        db,
        _dir: None,
        _pg: Some(pg),
    })
}
