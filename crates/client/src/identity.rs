//! `/auth/*` calls.

use miniaws_wire::CreateKeyRequest;
use reqwest::Method;
use uuid::Uuid;

use crate::{ApiKey, ApiKeyPage, Client, ClientError, CreatedKey, WhoAmI};

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

    /// One page of the caller's keys, oldest first: `limit` 1 to 1,000
    /// (the server's default is 1,000), `next_token` from the previous page.
    ///
    /// # Errors
    /// `Api` 401 without a valid key, 400 for a bad limit or token.
    pub async fn list_keys_page(
        &self,
        limit: Option<u32>,
        next_token: Option<&str>,
    ) -> Result<ApiKeyPage, ClientError> {
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(l) = limit {
            query.push(("limit", l.to_string()));
        }
        if let Some(t) = next_token {
            query.push(("next_token", t.to_owned()));
        }
        self.send_page(self.request(Method::GET, "/auth/keys").query(&query))
            .await
    }

    /// Every key of the caller, oldest first, following pages.
    ///
    /// # Errors
    /// As [`Client::list_keys_page`].
    pub async fn list_keys(&self) -> Result<Vec<ApiKey>, ClientError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self.list_keys_page(None, token.as_deref()).await?;
            out.extend(page.data);
            match page.next_token {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
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
