//! Identity domain types.

use std::fmt;
use time::OffsetDateTime;

use crate::error::{CoreError, CoreResult};

uuid_newtype!(
    /// The id of a user; every resource is owned by one.
    UserId
);
uuid_newtype!(
    /// The id of an API key.
    ApiKeyId
);

/// Validates a 1–63 character name of `[a-zA-Z0-9-_.]` that is not an API
/// key.
fn validate_name(what: &str, name: &str) -> CoreResult<()> {
    if name.is_empty() || name.len() > 63 {
        return Err(CoreError::invalid(format!(
            "{what} must be 1 to 63 characters long (got {})",
            name.len()
        )));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(CoreError::invalid(format!(
            "{what} may contain only letters, digits, '-', '_' and '.' (found {bad:?})"
        )));
    }
    if looks_like_an_api_key(name) {
        // A key pasted where a name goes: names are stored, listed and
        // logged in clear, and a key must never be.
        return Err(CoreError::invalid(format!(
            "{what} looks like an API key ({}…): names are stored and logged in clear; \
             choose another name (and revoke the key if it was a real one)",
            crate::identity::secrets::API_KEY_PREFIX
        )));
    }
    Ok(())
}

/// Whether `name` has an API key's shape: the prefix and 40 letters or
/// digits (see `IssuedSecrets::generate`).
fn looks_like_an_api_key(name: &str) -> bool {
    name.strip_prefix(crate::identity::secrets::API_KEY_PREFIX)
        .is_some_and(|body| body.len() == 40 && body.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// A user name: 1–63 characters of `[a-zA-Z0-9-_.]`, unique regardless of
/// case (as IAM's are) but kept as written. ASCII only, so that both
/// databases fold case alike (SQLite's `lower` knows ASCII letters only).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserName(String);

impl UserName {
    /// Validates and wraps a user name.
    pub fn parse(name: &str) -> CoreResult<Self> {
        validate_name("user name", name)?;
        Ok(Self(name.to_owned()))
    }
    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A key's label: 1–63 characters of `[a-zA-Z0-9-_.]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyName(String);

impl KeyName {
    /// Validates and wraps a key name.
    pub fn parse(name: &str) -> CoreResult<Self> {
        validate_name("key name", name)?;
        Ok(Self(name.to_owned()))
    }
    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The user's id.
    pub id: UserId,
    /// The unique user name.
    pub name: String,
    /// When the user was created.
    pub created_at: OffsetDateTime,
}

/// An API key as stored: never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// The key's id.
    pub id: ApiKeyId,
    /// The owner.
    pub user_id: UserId,
    /// The key's label.
    pub name: String,
    /// The first characters of the key, to recognise it in lists.
    pub prefix: String,
    /// The AWS-style access key id that pairs with this key.
    pub access_key_id: String,
    /// When the key was created.
    pub created_at: OffsetDateTime,
    /// When the key was last used (coalesced: about once a minute).
    pub last_used: Option<OffsetDateTime>,
}

/// A place in a user's list of keys, which is ordered by
/// `(created_at, id)`: a page of keys resumes after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPosition {
    /// The creation time of the last key of the previous page.
    pub created_at: OffsetDateTime,
    /// Its id, which breaks ties between keys created in the same
    /// microsecond.
    pub id: ApiKeyId,
}

impl KeyPosition {
    /// The position of `key` in its user's list.
    pub fn of(key: &ApiKey) -> Self {
        Self {
            created_at: key.created_at,
            id: key.id,
        }
    }
}

/// Everything a repository needs to insert a key.
#[derive(Clone, PartialEq, Eq)]
pub struct NewApiKey {
    /// The key's id.
    pub id: ApiKeyId,
    /// The owner.
    pub user_id: UserId,
    /// The key's label.
    pub name: KeyName,
    /// SHA-256 hex digest of the API key.
    pub key_hash: String,
    /// The first characters of the key.
    pub prefix: String,
    /// The access key id for SigV4.
    pub access_key_id: String,
    /// The secret access key as stored: sealed by the identity service
    /// ([`SecretSealer`](super::SecretSealer)), never in clear.
    pub stored_secret: String,
    /// Creation time.
    pub created_at: OffsetDateTime,
}

impl fmt::Debug for NewApiKey {
    // Hand-written so the secret can never reach a log through `{:?}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewApiKey")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("name", &self.name)
            .field("prefix", &self.prefix)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// A key's stored secret access key, as the start-up sealing pass reads it.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredSecret {
    /// The key's id.
    pub id: ApiKeyId,
    /// Its access key id (the associated data of the sealed secret).
    pub access_key_id: String,
    /// The secret as stored: sealed, or in clear as versions before
    /// sealing wrote it.
    pub stored: String,
}

impl fmt::Debug for StoredSecret {
    // Hand-written: a secret stored in clear must not reach a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredSecret")
            .field("id", &self.id)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// The authenticated identity behind a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// The user making the request; owner of what it creates.
    pub user_id: UserId,
    /// The key that authenticated the request.
    pub key_id: ApiKeyId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_shaped_like_an_api_key_is_refused() {
        let key = crate::identity::IssuedSecrets::generate().api_key;
        let err = UserName::parse(&key).expect_err("a key is no name");
        assert!(err.to_string().contains("looks like an API key"), "{err}");
        assert!(!err.to_string().contains(&key), "never echoed: {err}");
        assert!(KeyName::parse(&key).is_err());
        // Names that merely start like one are fine.
        for name in ["mk_", "mk_laptop", &key[..42], &format!("{key}x")] {
            UserName::parse(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}
