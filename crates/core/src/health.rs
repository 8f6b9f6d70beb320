//! Health probes: how the server learns whether its dependencies answer.

use async_trait::async_trait;

/// The state of one dependency as seen by a probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeStatus {
    /// The dependency answered.
    Up,
    /// The dependency did not answer; the string says why.
    Down(String),
    /// The dependency answers but refuses every change (a read-only
    /// database); the string says why.
    ReadOnly(String),
    /// The dependency is not configured at all.
    Disabled,
}

/// A port that checks one dependency.
#[async_trait]
pub trait HealthProbe: Send + Sync {
    /// Checks the dependency. Implementations must bound the time they take
    /// (a probe that hangs would hang `/health`) and never return an error:
    /// failure is a [`ProbeStatus::Down`].
    async fn check(&self) -> ProbeStatus;
}
