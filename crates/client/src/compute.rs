//! `/instances` and `/instance-types` calls.

use bytes::Bytes;
use futures::{Stream, StreamExt};
use reqwest::Method;
use uuid::Uuid;

use crate::{
    Client, ClientError, Instance, InstancePage, InstanceStats, InstanceType, LaunchInstance,
};

/// Options of `GET /instances/{id}/logs`.
#[derive(Debug, Clone, Default)]
pub struct LogsOptions {
    /// Last N lines only.
    pub tail: Option<u32>,
    /// Only since this time (Unix seconds).
    pub since_unix: Option<i64>,
    /// Keep streaming.
    pub follow: bool,
    /// Prefix timestamps.
    pub timestamps: bool,
}

impl LogsOptions {
    fn query(&self) -> String {
        let mut q = Vec::new();
        if let Some(t) = self.tail {
            q.push(format!("tail={t}"));
        }
        if let Some(s) = self.since_unix {
            q.push(format!("since={s}"));
        }
        if self.follow {
            q.push("follow=true".into());
        }
        if self.timestamps {
            q.push("timestamps=true".into());
        }
        if q.is_empty() {
            String::new()
        } else {
            format!("?{}", q.join("&"))
        }
    }
}

impl Client {
    /// Launches an instance; answers once it runs (or failed).
    ///
    /// # Errors
    /// `Api` 400 for invalid input, 404 for a missing image, 409 for a
    /// taken name (`CONFLICT`) or host port (`PORT_CONFLICT`), 503 without
    /// Docker.
    pub async fn launch_instance(&self, launch: &LaunchInstance) -> Result<Instance, ClientError> {
        self.send_json(self.request(Method::POST, "/instances").json(launch))
            .await
    }

    /// One page of the caller's instances (`all`: terminated ones too).
    ///
    /// # Errors
    /// `Api` 400 for a bad limit or token.
    pub async fn list_instances_page(
        &self,
        all: bool,
        limit: Option<u32>,
        next_token: Option<&str>,
    ) -> Result<InstancePage, ClientError> {
        let mut q = vec![format!("all={all}")];
        if let Some(l) = limit {
            q.push(format!("limit={l}"));
        }
        if let Some(t) = next_token {
            q.push(format!("next_token={t}"));
        }
        let res = self
            .send(self.request(Method::GET, &format!("/instances?{}", q.join("&"))))
            .await?;
        let bytes = res.bytes().await.map_err(|e| self.transport_error(e))?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// Every instance of the caller, following pages.
    ///
    /// # Errors
    /// As [`Client::list_instances_page`].
    pub async fn list_instances(&self, all: bool) -> Result<Vec<Instance>, ClientError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .list_instances_page(all, Some(1000), token.as_deref())
                .await?;
            out.extend(page.data);
            match page.next_token {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
    }

    /// Describes one instance.
    ///
    /// # Errors
    /// `Api` 404 for unknown (or other owners') instances.
    pub async fn get_instance(&self, id: Uuid) -> Result<Instance, ClientError> {
        self.send_json(self.request(Method::GET, &format!("/instances/{id}")))
            .await
    }

    async fn instance_action(&self, id: Uuid, action: &str) -> Result<Instance, ClientError> {
        self.send_json(self.request(Method::POST, &format!("/instances/{id}/{action}")))
            .await
    }

    /// Stops a running instance.
    ///
    /// # Errors
    /// `Api` 409 naming the state when it does not run; 404; 503.
    pub async fn stop_instance(&self, id: Uuid) -> Result<Instance, ClientError> {
        self.instance_action(id, "stop").await
    }

    /// Starts a stopped instance.
    ///
    /// # Errors
    /// `Api` 409 naming the state when it is not stopped; 404; 503.
    pub async fn start_instance(&self, id: Uuid) -> Result<Instance, ClientError> {
        self.instance_action(id, "start").await
    }

    /// Reboots a running instance.
    ///
    /// # Errors
    /// `Api` 409 naming the state when it does not run; 404; 503.
    pub async fn reboot_instance(&self, id: Uuid) -> Result<Instance, ClientError> {
        self.instance_action(id, "reboot").await
    }

    /// Terminates an instance (idempotent).
    ///
    /// # Errors
    /// `Api` 404; 503.
    pub async fn terminate_instance(&self, id: Uuid) -> Result<Instance, ClientError> {
        self.send_json(self.request(Method::DELETE, &format!("/instances/{id}")))
            .await
    }

    /// One stats sample of a running instance.
    ///
    /// # Errors
    /// `Api` 409 when it does not run; 404; 503.
    pub async fn instance_stats(&self, id: Uuid) -> Result<InstanceStats, ClientError> {
        self.send_json(self.request(Method::GET, &format!("/instances/{id}/stats")))
            .await
    }

    /// The instance's log so far (without `follow`).
    ///
    /// # Errors
    /// `Api` 409 when it has no container; 404; 503.
    pub async fn instance_logs(
        &self,
        id: Uuid,
        options: &LogsOptions,
    ) -> Result<String, ClientError> {
        let options = LogsOptions {
            follow: false,
            ..options.clone()
        };
        let res = self
            .send(self.request(
                Method::GET,
                &format!("/instances/{id}/logs{}", options.query()),
            ))
            .await?;
        res.text().await.map_err(|e| self.transport_error(e))
    }

    /// The instance's log as a stream of chunks; with `follow` it lasts
    /// until the container stops or the stream is dropped.
    ///
    /// # Errors
    /// As [`Client::instance_logs`].
    pub async fn instance_logs_stream(
        &self,
        id: Uuid,
        options: &LogsOptions,
    ) -> Result<impl Stream<Item = Result<Bytes, ClientError>> + use<>, ClientError> {
        let res = self
            .send(self.request(
                Method::GET,
                &format!("/instances/{id}/logs{}", options.query()),
            ))
            .await?;
        Ok(res
            .bytes_stream()
            .map(|r| r.map_err(|e| ClientError::Transport(e.to_string()))))
    }

    /// The instance-type catalogue.
    ///
    /// # Errors
    /// `Api` 401 without a key.
    pub async fn instance_types(&self) -> Result<Vec<InstanceType>, ClientError> {
        self.send_json(self.request(Method::GET, "/instance-types"))
            .await
    }
}
