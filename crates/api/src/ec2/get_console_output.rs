//! GetConsoleOutput: an instance's console is its container's log
//! (stdout and stderr, interleaved as written), the last 64 KiB of it,
//! base64-encoded as EC2 sends it (the aws CLI and boto3 decode it).
//! `Latest` is accepted: the output is always the most recent.
//!
//! The log is read to its end keeping only its last 64 KiB, from at most
//! the last [`TAIL_LINES`] lines, so neither memory nor time grows with a
//! container that logged for days. An instance whose container is gone
//! (terminated) is `IncorrectInstanceState`: unlike EC2, which keeps the
//! output for an hour, nothing is left to read.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures::StreamExt;
use miniaws_core::compute::LogOptions;
use time::OffsetDateTime;

use super::error::{Ec2Error, from_core};
use super::instances::{change_error, ec2_time, resolve};
use super::xml::XmlWriter;
use super::{Ec2Context, dry_run};

/// EC2's limit: the last 64 KiB of output.
pub const MAX_OUTPUT: usize = 64 * 1024;

/// How many lines of the log are read at most (each line is at least a
/// byte, so 64 KiB of output is never more).
const TAIL_LINES: u32 = 65_536;

/// Appends `chunk` to `kept`, keeping only the last [`MAX_OUTPUT`] bytes.
fn keep_last(kept: &mut Vec<u8>, chunk: &[u8]) {
    kept.extend_from_slice(chunk);
    if kept.len() > MAX_OUTPUT {
        let excess = kept.len() - MAX_OUTPUT;
        kept.drain(..excess);
    }
}

/// Handles GetConsoleOutput.
pub async fn handle(ctx: Ec2Context<'_>) -> Result<String, Ec2Error> {
    let p = &ctx.params;
    p.only(|k| matches!(k, "InstanceId" | "Latest" | "DryRun"))?;
    let raw = p.required("InstanceId")?;
    p.bool("Latest")?;
    let inst = resolve(&ctx, &[raw])
        .await?
        .pop()
        .ok_or_else(|| Ec2Error::ids_not_found(&[raw.to_owned()]))?;
    if p.bool("DryRun")? {
        return Err(dry_run());
    }
    let options = LogOptions {
        tail: Some(TAIL_LINES),
        ..LogOptions::default()
    };
    let mut stream = ctx
        .state
        .compute
        .logs(ctx.caller, inst.id, &options)
        .await
        .map_err(change_error(&inst))?;
    let mut kept = Vec::new();
    while let Some(chunk) = stream.next().await {
        keep_last(&mut kept, &chunk.map_err(from_core)?);
    }
    let mut w = XmlWriter::response("GetConsoleOutput", &ctx.request_id);
    w.leaf("instanceId", inst.ec2_id().as_str());
    w.leaf("timestamp", &ec2_time(OffsetDateTime::now_utc()));
    w.leaf("output", &BASE64.encode(&kept));
    Ok(w.finish("GetConsoleOutput"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_last_64_kib_are_kept() {
        let mut kept = Vec::new();
        keep_last(&mut kept, b"first\n");
        assert_eq!(kept, b"first\n");
        keep_last(&mut kept, &vec![b'x'; MAX_OUTPUT - 2]);
        assert_eq!(kept.len(), MAX_OUTPUT);
        assert_eq!(&kept[..4], b"t\nxx", "the oldest bytes went");
        keep_last(&mut kept, b"end");
        assert_eq!(kept.len(), MAX_OUTPUT);
        assert!(kept.ends_with(b"xend"));
    }
}
