//! TerminateInstances: removes the instances' containers; each stays
//! visible as `terminated` for an hour, as on EC2. Terminating a
//! terminated instance changes nothing.

use super::Ec2Context;
use super::error::Ec2Error;
use super::instances::{change_all, change_error, state_changes, targets};

/// Handles TerminateInstances. The instances are terminated side by side,
/// as Start/Stop/RebootInstances change theirs, and each termination runs
/// to its end: one that fails (Docker gone) leaves the others terminated.
pub async fn handle(ctx: Ec2Context<'_>) -> Result<String, Ec2Error> {
    let found = targets(&ctx, &[]).await?;
    let ctx = &ctx;
    let changes = change_all(found, |inst| async move {
        let previous = inst.state;
        let now = ctx
            .state
            .compute
            .terminate(ctx.caller, inst.id)
            .await
            .map_err(change_error(&inst))?;
        Ok((now, previous))
    })
    .await?;
    Ok(state_changes(ctx, "TerminateInstances", &changes))
}
