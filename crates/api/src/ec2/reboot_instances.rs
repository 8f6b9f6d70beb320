//! RebootInstances: restarts the containers of running instances; any
//! other state is `IncorrectInstanceState`, as on EC2.

use miniaws_core::compute::InstanceState;

use super::Ec2Context;
use super::error::Ec2Error;
use super::instances::{change_all, change_error, check_all, targets};
use super::xml::XmlWriter;

/// Handles RebootInstances. Every instance's state is checked before any is
/// restarted; the restarts then run side by side.
pub async fn handle(ctx: Ec2Context<'_>) -> Result<String, Ec2Error> {
    let found = targets(&ctx, &[]).await?;
    check_all(&found, "rebooted", |inst| {
        inst.state == InstanceState::Running && inst.container_id.is_some()
    })?;
    let ctx = &ctx;
    change_all(found, |inst| async move {
        ctx.state
            .compute
            .reboot(ctx.caller, inst.id)
            .await
            .map_err(change_error(&inst))
    })
    .await?;
    let mut w = XmlWriter::response("RebootInstances", &ctx.request_id);
    w.leaf("return", "true");
    Ok(w.finish("RebootInstances"))
}
