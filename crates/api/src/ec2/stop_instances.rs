//! StopInstances: stops running instances (SIGTERM, then SIGKILL after the
//! server's grace period; with `Force`, SIGKILL at once); a stopped one
//! stays as it is (EC2 answers it stopped → stopped). `Hibernate` is
//! refused: a container has no memory image to keep.

use miniaws_core::compute::InstanceState;

use super::Ec2Context;
use super::error::Ec2Error;
use super::instances::{change_error, state_changes, targets};

/// Handles StopInstances.
pub async fn handle(ctx: Ec2Context<'_>) -> Result<String, Ec2Error> {
    if ctx.params.bool("Hibernate")? {
        return Err(Ec2Error::unsupported(
            "Hibernate is not supported: a Mini AWS instance is a container, whose memory \
             cannot be kept across a stop; stop it without Hibernate",
        ));
    }
    let found = targets(&ctx, &["Force", "Hibernate"]).await?;
    let force = ctx.params.bool("Force")?;
    let mut changes = Vec::with_capacity(found.len());
    for inst in found {
        let previous = inst.state;
        let now = match previous {
            InstanceState::Stopped | InstanceState::Error => inst,
            InstanceState::Terminated => {
                return Err(Ec2Error::incorrect_state(format!(
                    "The instance '{}' is not in a state from which it can be stopped.",
                    inst.ec2_id()
                )));
            }
            _ => ctx
                .state
                .compute
                .stop_with(ctx.caller, inst.id, force)
                .await
                .map_err(change_error(&inst))?,
        };
        changes.push((now, previous));
    }
    Ok(state_changes(&ctx, "StopInstances", &changes))
}
