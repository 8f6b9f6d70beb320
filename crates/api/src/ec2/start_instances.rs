//! StartInstances: starts stopped instances; a running one stays as it is
//! (EC2 answers it running → running).

use miniaws_core::compute::InstanceState;

use super::Ec2Context;
use super::error::Ec2Error;
use super::instances::{change_error, state_changes, targets};

/// Handles StartInstances.
pub async fn handle(ctx: Ec2Context<'_>) -> Result<String, Ec2Error> {
    let found = targets(&ctx, &[]).await?;
    let mut changes = Vec::with_capacity(found.len());
    for inst in found {
        let previous = inst.state;
        let now = match previous {
            InstanceState::Running | InstanceState::Starting => inst,
            InstanceState::Terminated => {
                return Err(Ec2Error::incorrect_state(format!(
                    "The instance '{}' is not in a state from which it can be started.",
                    inst.ec2_id()
                )));
            }
            _ => ctx
                .state
                .compute
                .start(ctx.caller, inst.id)
                .await
                .map_err(change_error(&inst))?,
        };
        changes.push((now, previous));
    }
    Ok(state_changes(&ctx, "StartInstances", &changes))
}
