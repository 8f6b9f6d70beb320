//! StartInstances: starts stopped instances; a running one stays as it is
//! (EC2 answers it running → running).

use miniaws_core::compute::InstanceState;

use super::Ec2Context;
use super::error::Ec2Error;
use super::instances::{change_all, check_all, reached_anyway, state_changes, targets};

/// Handles StartInstances. Every instance's state is checked before any is
/// started; the starts then run side by side.
pub async fn handle(ctx: Ec2Context<'_>) -> Result<String, Ec2Error> {
    let found = targets(&ctx, &[]).await?;
    check_all(&found, "started", |inst| match inst.state {
        InstanceState::Running | InstanceState::Starting => true,
        InstanceState::Stopped | InstanceState::Error => inst.container_id.is_some(),
        InstanceState::Stopping | InstanceState::Terminated => false,
    })?;
    let ctx = &ctx;
    let changes = change_all(found, |inst| async move {
        let previous = inst.state;
        let now = match previous {
            InstanceState::Running | InstanceState::Starting => inst,
            _ => match ctx.state.compute.start(ctx.caller, inst.id).await {
                Ok(now) => now,
                Err(e) => {
                    reached_anyway(ctx, &inst, e, |s| {
                        matches!(s, InstanceState::Running | InstanceState::Starting)
                    })
                    .await?
                }
            },
        };
        Ok((now, previous))
    })
    .await?;
    Ok(state_changes(ctx, "StartInstances", &changes))
}
