//! TerminateInstances: removes the instances' containers; each stays
//! visible as `terminated` for an hour, as on EC2. Terminating a
//! terminated instance changes nothing.

use super::Ec2Context;
use super::error::Ec2Error;
use super::instances::{change_error, state_changes, targets};

/// Handles TerminateInstances.
pub async fn handle(ctx: Ec2Context<'_>) -> Result<String, Ec2Error> {
    let found = targets(&ctx, &[]).await?;
    let mut changes = Vec::with_capacity(found.len());
    for inst in found {
        let previous = inst.state;
        let now = ctx
            .state
            .compute
            .terminate(ctx.caller, inst.id)
            .await
            .map_err(change_error(&inst))?;
        changes.push((now, previous));
    }
    Ok(state_changes(&ctx, "TerminateInstances", &changes))
}
