//! StopInstances: stops running instances (SIGTERM, then SIGKILL after the
//! server's grace period; with `Force`, SIGKILL at once); a stopped one
//! stays as it is (EC2 answers it stopped → stopped). `Hibernate` is
//! refused: a container has no memory image to keep.

use miniaws_core::compute::InstanceState;

use super::Ec2Context;
use super::error::Ec2Error;
use super::instances::{change_all, check_all, reached_anyway, state_changes, targets};

/// Handles StopInstances. Every instance's state is checked before any is
/// stopped; the stops then run side by side, so a request waits one grace
/// period, not one per instance.
pub async fn handle(ctx: Ec2Context<'_>) -> Result<String, Ec2Error> {
    if ctx.params.bool("Hibernate")? {
        return Err(Ec2Error::unsupported(
            "Hibernate is not supported: a Mini AWS instance is a container, whose memory \
             cannot be kept across a stop; stop it without Hibernate",
        ));
    }
    let found = targets(&ctx, &["Force", "Hibernate"]).await?;
    let force = ctx.params.bool("Force")?;
    check_all(&found, "stopped", |inst| match inst.state {
        InstanceState::Stopped | InstanceState::Error => true,
        InstanceState::Running | InstanceState::Starting | InstanceState::Stopping => {
            inst.container_id.is_some()
        }
        InstanceState::Terminated => false,
    })?;
    let ctx = &ctx;
    let changes = change_all(found, |inst| async move {
        let previous = inst.state;
        let now = match previous {
            InstanceState::Stopped | InstanceState::Error => inst,
            _ => match ctx
                .state
                .compute
                .stop_with(ctx.caller, inst.id, force)
                .await
            {
                Ok(now) => now,
                Err(e) => reached_anyway(ctx, &inst, e, |s| s == InstanceState::Stopped).await?,
            },
        };
        Ok((now, previous))
    })
    .await?;
    Ok(state_changes(ctx, "StopInstances", &changes))
}
