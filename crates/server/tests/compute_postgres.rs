//! The compute lifecycle on Postgres, against the real Docker daemon.

mod compute_support;

use miniaws_testkit::Backend;

#[tokio::test]
async fn lifecycle_on_postgres() {
    compute_support::core_lifecycle(Backend::Postgres).await;
}
