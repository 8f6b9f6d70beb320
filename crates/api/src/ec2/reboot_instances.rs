//! RebootInstances: restarts the containers of running instances; any
//! other state is `IncorrectInstanceState`, as on EC2.

use super::Ec2Context;
use super::error::Ec2Error;
use super::instances::{change_error, targets};
use super::xml::XmlWriter;

/// Handles RebootInstances.
pub async fn handle(ctx: Ec2Context<'_>) -> Result<String, Ec2Error> {
    let found = targets(&ctx, &[]).await?;
    for inst in found {
        ctx.state
            .compute
            .reboot(ctx.caller, inst.id)
            .await
            .map_err(change_error(&inst))?;
    }
    let mut w = XmlWriter::response("RebootInstances", &ctx.request_id);
    w.leaf("return", "true");
    Ok(w.finish("RebootInstances"))
}
