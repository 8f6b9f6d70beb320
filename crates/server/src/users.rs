//! `miniaws users …`: the operator's user management, on the database
//! directly. With sign-up closed (`--open-signup=false`) nobody can create
//! a user through the API; the operator, who can reach the database, still
//! can, here. The same rules hold as for `POST /auth/keys` (the identity
//! service does the work): a valid, unused name gets a user and a first
//! key, whose secrets are printed once and stored only as the API does.

use anyhow::Context;
use miniaws_core::identity::{CreatedKey, IdentityService, SecretSealer, SecretsKey};
use miniaws_db::Database;

use crate::banner;
use crate::config::UsersAction;

/// Runs `action` against `db` (brought up to date first, as `serve` does),
/// sealing secrets with `key`, the server's secrets key.
pub async fn run(db: &Database, action: &UsersAction, key: &SecretsKey) -> anyhow::Result<()> {
    let result = async {
        db.migrate_up().await?;
        warn_of_case_duplicates(db).await?;
        match action {
            UsersAction::Create { name, json } => create(db, key, name, *json).await,
        }
    }
    .await;
    db.close().await;
    result
}

async fn create(db: &Database, key: &SecretsKey, name: &str, json: bool) -> anyhow::Result<()> {
    // Sign-up as the API does it, open whatever the server's setting: the
    // operator is the one who closed it. The secret is sealed with the
    // server's key, so the server opens it.
    let identity = IdentityService::new(db.identity_repo(), SecretSealer::new(key), true);
    let created = identity
        .sign_up(name)
        .await
        .with_context(|| format!("cannot create user {name:?}"))?;
    if json {
        // The very view `POST /auth/keys` answers with.
        banner::line(&serde_json::to_string(&miniaws_api::created_key(created))?);
    } else {
        for line in describe(name, &created) {
            banner::line(&line);
        }
    }
    Ok(())
}

/// The new user and key, for a person.
fn describe(name: &str, created: &CreatedKey) -> Vec<String> {
    vec![
        format!("created user {name} ({})", created.user_id),
        format!("  API key            {}", created.key),
        format!("  access key id      {}", created.access_key_id),
        format!("  secret access key  {}", created.secret_access_key),
        "The key and the secret are shown once: keep them (`cloud auth login <key>`).".into(),
    ]
}

/// Warns of the users whose names differ only by case from an older
/// user's: made before user names were unique regardless of case, and kept
/// by migration 0026 as they were (see `miniaws_db::CaseDuplicateUser`).
/// Said at every start until the operator deals with them, since an
/// upgrade that changed nothing visible would otherwise hide them.
pub async fn warn_of_case_duplicates(db: &Database) -> anyhow::Result<()> {
    let users = db
        .case_duplicate_users()
        .await
        .context("cannot read the users' names")?;
    if users.is_empty() {
        return Ok(());
    }
    let named: Vec<String> = users
        .iter()
        .map(|u| format!("{} ({})", u.name, u.id))
        .collect();
    tracing::warn!(
        count = users.len(),
        users = %named.join(", "),
        "users whose names differ only by case from an older user's, created before \
         user names were unique regardless of case; they keep their names and keys, \
         and no new look-alike can be created"
    );
    Ok(())
}
