//! `/auth/*` calls.

use miniaws_wire::CreateKeyRequest;
use reqwest::Method;
use uuid::Uuid;

use crate::{ApiKey, Client, ClientError, CreatedKey, WhoAmI};

impl Client {
    /// Signs up user `name` (no key needed) or, with a key, creates another
    /// key named `name` for the same user.
    ///
    /// # Errors
    /// `Api` 409 when the user name is taken, 403 when sign-up is closed.
    pub async fn create_key(&self, name: &str) -> Result<CreatedKey, ClientError> {
        self.send_json(
            self.request(Method::POST, "/auth/keys")
                .json(&CreateKeyRequest {
                    name: name.to_owned(),
                }),
        )
        .await
    }

    /// The caller's keys.
    ///
    /// # Errors
    /// `Api` 401 without a valid key.
    pub async fn list_keys(&self) -> Result<Vec<ApiKey>, ClientError> {
        self.send_json(self.request(Method::GET, "/auth/keys"))
            .await
    }

    /// Revokes one of the caller's keys (`force` allows the last one).
    ///
    /// # Errors
    /// `Api` 404 for unknown keys, 409 for the last key without `force`.
    pub async fn revoke_key(&self, id: Uuid, force: bool) -> Result<(), ClientError> {
        let path = if force {
            format!("/auth/keys/{id}?force=true")
        } else {
            format!("/auth/keys/{id}")
        };
        self.send(self.request(Method::DELETE, &path))
            .await
            .map(drop)
    }

    /// Who the caller is.
    ///
    /// # Errors
    /// `Api` 401 without a valid key.
    pub async fn whoami(&self) -> Result<WhoAmI, ClientError> {
        self.send_json(self.request(Method::GET, "/auth/whoami"))
            .await
    }
}
