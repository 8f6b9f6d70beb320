//! Throw-away Postgres databases for tests.

use sqlx::{Connection, Executor, PgConnection};

use crate::services_required;

/// The Postgres admin URL for tests, or `None` (with a loud message) when
/// not configured and not required. Panics when required but missing.
pub fn require_postgres() -> Option<String> {
    match std::env::var("MINIAWS_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if services_required() => panic!(
            "Postgres tests are required (MINIAWS_REQUIRE_SERVICES=1 or CI) but \
             MINIAWS_TEST_DATABASE_URL is not set: run ./scripts/test"
        ),
        _ => {
            eprintln!(
                "SKIPPED: Postgres not configured (set MINIAWS_TEST_DATABASE_URL or run ./scripts/test)"
            );
            None
        }
    }
}

/// A UUID-named database that is dropped when this value is dropped.
pub struct TestDatabase {
    admin_url: String,
    name: String,
    /// The URL of the new database.
    pub url: String,
}

fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let prefix = base.rsplit_once('/').map_or(base, |(p, _)| p);
    match query {
        Some(q) => format!("{prefix}/{db}?{q}"),
        None => format!("{prefix}/{db}"),
    }
}

impl TestDatabase {
    /// Creates a fresh database on the server of `admin_url`.
    pub async fn create(admin_url: &str) -> Self {
        let name = format!("miniaws_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the test Postgres: {e}"));
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("the test role may create databases (CREATEDB)");
        let _ = conn.close().await;
        Self {
            url: with_database(admin_url, &name),
            admin_url: admin_url.to_owned(),
            name,
        }
    }

    /// The database's name (for statements about it, such as `ALTER DATABASE`).
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop may run inside or outside a runtime: use a thread of our own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a current-thread runtime builds");
            rt.block_on(async {
                if let Ok(mut conn) = PgConnection::connect(&admin_url).await {
                    let _ = conn
                        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                        .await;
                }
            });
        })
        .join();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_database_name() {
        assert_eq!(
            super::with_database("postgres://u:p@h:5433/miniaws", "x"),
            "postgres://u:p@h:5433/x"
        );
        assert_eq!(
            super::with_database("postgres://u:p@h/miniaws?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
    }
}
