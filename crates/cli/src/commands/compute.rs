//! `cloud compute …`: instances, addressed by id, unique id prefix or name.

use anyhow::{Context, Result};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use comfy_table::Cell;
use futures::StreamExt;
use miniaws_client::wire::MAX_EXEC_STDIN_BYTES;
use miniaws_client::{
    Client, Command, ExecCommand, ExecUpdate, Instance, InstancePort, LaunchInstance, LogsOptions,
    ModifyInstance, TagPatch, TtyRequest,
};
use std::io::Write;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::cli::ComputeCommand;
use crate::context::Ctx;
use crate::error::{CommandExit, interrupted, user};
use crate::output::{human_bytes, printable, relative_time, short_id, state_cell};
use crate::resolve::{Kind, resolve};

const INSTANCE: Kind = Kind {
    singular: "instance",
    list_command: "cloud compute list",
};

/// Runs one `cloud compute` command.
pub async fn run(ctx: &mut Ctx, cmd: ComputeCommand) -> Result<()> {
    match cmd {
        ComputeCommand::Launch {
            name,
            image,
            ports,
            env,
            tags,
            instance_type,
            idempotency_key,
            command,
        } => {
            let launch = LaunchInstance {
                name,
                image,
                ports,
                env: env.into_iter().collect(),
                instance_type,
                command: Some(command).filter(|c| !c.is_empty()).map(Command::Args),
                tags: tags.into_iter().collect(),
            };
            launch_instance(ctx, &launch, idempotency_key).await
        }
        ComputeCommand::List { all } => list(ctx, all).await,
        ComputeCommand::Show { instance } => show(ctx, &instance).await,
        ComputeCommand::Modify {
            instance,
            instance_type,
            name,
        } => modify(ctx, &instance, instance_type, name).await,
        ComputeCommand::Tag {
            instance,
            set,
            remove,
        } => tag(ctx, &instance, set, remove).await,
        ComputeCommand::Start { instance } => act(ctx, &instance, Action::Start).await,
        ComputeCommand::Stop { instance } => act(ctx, &instance, Action::Stop).await,
        ComputeCommand::Reboot { instance } => act(ctx, &instance, Action::Reboot).await,
        ComputeCommand::Terminate { instance } => act(ctx, &instance, Action::Terminate).await,
        ComputeCommand::Logs {
            instance,
            follow,
            tail,
        } => logs(ctx, &instance, follow, tail).await,
        ComputeCommand::Stats { instance } => stats(ctx, &instance).await,
        ComputeCommand::Images => images(ctx).await,
        ComputeCommand::Exec {
            instance,
            env,
            workdir,
            user,
            stdin,
            tty: true,
            command,
            ..
        } => {
            let request = TtyRequest {
                command,
                env: env.into_iter().collect(),
                working_dir: workdir,
                user,
                rows: 24,
                cols: 80,
            };
            crate::commands::compute_tty::exec_tty(ctx, &instance, request, stdin).await
        }
        ComputeCommand::Exec {
            instance,
            env,
            workdir,
            user,
            timeout,
            stdin,
            tty: _,
            command,
        } => {
            let stdin = if stdin {
                Some(read_stdin().await?)
            } else {
                None
            };
            let exec = ExecCommand {
                command: Command::Args(command),
                env: env.into_iter().collect(),
                working_dir: workdir,
                user,
                timeout_secs: Some(timeout),
                stdin: stdin.map(|b| BASE64.encode(b)),
            };
            exec_in(ctx, &instance, &exec).await
        }
    }
}

/// The id of the instance the user means: a full id as given, the
/// instance with that EC2 id (`i-…`, as `aws ec2` shows it), else the
/// live instance with that name or unique id prefix (terminated ones only
/// when nothing live matches and `terminated_too`).
pub(crate) async fn resolve_instance(
    client: &Client,
    wanted: &str,
    terminated_too: bool,
) -> Result<Uuid> {
    if let Ok(id) = wanted.trim().parse::<Uuid>() {
        return Ok(id);
    }
    let all = client.list_instances(true).await?;
    let ec2_id = wanted.trim().to_ascii_lowercase();
    if ec2_id.starts_with("i-")
        && let Some(found) = all.iter().find(|i| i.ec2_instance_id == ec2_id)
    {
        if terminated_too || found.state != "TERMINATED" {
            return Ok(found.id);
        }
        return Err(is_terminated(found));
    }
    let (live, dead): (Vec<Instance>, Vec<Instance>) =
        all.into_iter().partition(|i| i.state != "TERMINATED");
    match resolve(
        &live,
        wanted,
        &INSTANCE,
        |i| i.id.to_string(),
        |i| Some(&i.name),
    ) {
        Ok(i) => Ok(i.id),
        Err(e) if terminated_too => resolve(
            &dead,
            wanted,
            &INSTANCE,
            |i| i.id.to_string(),
            |i| Some(&i.name),
        )
        .map(|i| i.id)
        .map_err(|_| e),
        // Only a terminated instance answers to it: say so, rather than
        // "no instance", which `list --all` would contradict.
        Err(e) => match resolve(
            &dead,
            wanted,
            &INSTANCE,
            |i| i.id.to_string(),
            |i| Some(&i.name),
        ) {
            Ok(i) => Err(is_terminated(i)),
            Err(_) => Err(e),
        },
    }
}

/// The error for an action on a terminated instance.
fn is_terminated(i: &Instance) -> anyhow::Error {
    user(format!(
        "instance {} ({}) is terminated: it can only be shown (`cloud compute show {}`) or \
         listed (`cloud compute list --all`)",
        i.name,
        short_id(&i.id),
        short_id(&i.id)
    ))
}

/// `127.0.0.1:8080->80` (and `/udp` for UDP), as `docker ps` shows ports.
fn port_text(p: &InstancePort) -> String {
    let proto = if p.protocol == "tcp" {
        String::new()
    } else {
        format!("/{}", p.protocol)
    };
    match (&p.host_ip, p.host_port) {
        (Some(ip), Some(host)) => format!("{ip}:{host}->{}{proto}", p.container_port),
        (None, Some(host)) => format!("{host}->{}{proto}", p.container_port),
        (_, None) => format!("{}{proto}", p.container_port),
    }
}

fn ports_text(i: &Instance) -> String {
    i.ports.iter().map(port_text).collect::<Vec<_>>().join(", ")
}

/// One line summing up an instance after an action.
fn summary(ctx: &Ctx, verb: &str, i: &Instance) {
    let mut line = format!(
        "{verb} {} ({}): {}",
        ctx.out.bold(&i.name),
        short_id(&i.id),
        i.state.to_ascii_lowercase()
    );
    if let Some(reason) = i.state_reason.as_deref().filter(|_| i.state == "ERROR") {
        line.push_str(&format!(" — {reason}"));
    }
    ctx.out.success(&line);
    if !i.urls.is_empty() {
        ctx.out
            .line(&format!("  reachable at {}", i.urls.join(", ")));
    }
}

async fn launch_instance(
    ctx: &mut Ctx,
    launch: &LaunchInstance,
    idempotency_key: Option<String>,
) -> Result<()> {
    let client = ctx.client()?;
    let instance = match idempotency_key {
        Some(key) => client.launch_instance_with_key(launch, &key).await?,
        None => client.launch_instance(launch).await?,
    };
    if ctx.out.json {
        return ctx.out.print_json(&instance);
    }
    summary(ctx, "Launched", &instance);
    Ok(())
}

async fn list(ctx: &mut Ctx, all: bool) -> Result<()> {
    let instances = ctx.client()?.list_instances(all).await?;
    if ctx.out.json {
        return ctx.out.print_json(&instances);
    }
    let now = OffsetDateTime::now_utc();
    let mut table = ctx
        .out
        .table(&["ID", "NAME", "IMAGE", "TYPE", "STATE", "PORTS", "CREATED"]);
    for i in &instances {
        table.add_row(vec![
            Cell::new(short_id(&i.id)),
            Cell::new(&i.name),
            Cell::new(&i.image),
            Cell::new(&i.instance_type),
            state_cell(&i.state, ctx.out.color),
            Cell::new(ports_text(i)),
            Cell::new(relative_time(i.created_at, now)),
        ]);
    }
    ctx.out.print_table(&table);
    Ok(())
}

/// `cloud compute images`: what a launch can use without a pull.
async fn images(ctx: &mut Ctx) -> Result<()> {
    let images = ctx.client()?.images().await?;
    if ctx.out.json {
        return ctx.out.print_json(&images);
    }
    let now = OffsetDateTime::now_utc();
    let mut table = ctx.out.table(&["IMAGE", "ID", "SIZE", "ARCH", "CREATED"]);
    for i in &images {
        let id = i.id.strip_prefix("sha256:").unwrap_or(&i.id);
        table.add_row(vec![
            Cell::new(&i.name),
            Cell::new(id.get(..12).unwrap_or(id)),
            Cell::new(human_bytes(i.size_bytes)),
            Cell::new(i.architecture.as_deref().unwrap_or("-")),
            Cell::new(relative_time(i.created_at, now)),
        ]);
    }
    ctx.out.print_table(&table);
    Ok(())
}

/// `cloud compute modify`: a new name, type, or both.
async fn modify(
    ctx: &mut Ctx,
    wanted: &str,
    instance_type: Option<String>,
    name: Option<String>,
) -> Result<()> {
    if instance_type.is_none() && name.is_none() {
        return Err(user(
            "name what to change: --type TYPE, --name NAME or both",
        ));
    }
    let client = ctx.client()?;
    let id = resolve_instance(&client, wanted, true).await?;
    let modify = ModifyInstance {
        name,
        instance_type,
    };
    let i = client.modify_instance(id, &modify).await?;
    if ctx.out.json {
        return ctx.out.print_json(&i);
    }
    ctx.out.line(&format!(
        "{} ({}): {}, {}",
        i.name,
        short_id(&i.id),
        i.instance_type,
        i.state.to_ascii_lowercase()
    ));
    Ok(())
}

/// `cloud compute tag`: one patch, so the keys not named keep their
/// values even when someone else tags the instance at the same time.
async fn tag(
    ctx: &mut Ctx,
    wanted: &str,
    set: Vec<(String, String)>,
    remove: Vec<String>,
) -> Result<()> {
    if set.is_empty() && remove.is_empty() {
        return Err(user("name the tags to set (K=V) or to remove (--remove K)"));
    }
    if let Some(k) = remove.iter().find(|k| set.iter().any(|(s, _)| s == *k)) {
        return Err(user(format!("the tag {k} is both set and removed")));
    }
    let client = ctx.client()?;
    let id = resolve_instance(&client, wanted, true).await?;
    let patch: TagPatch = set
        .into_iter()
        .map(|(k, v)| (k, Some(v)))
        .chain(remove.into_iter().map(|k| (k, None)))
        .collect();
    let i = client.tag_instance(id, &patch).await?;
    if ctx.out.json {
        return ctx.out.print_json(&i);
    }
    if i.tags.is_empty() {
        ctx.out.line(&format!("{}: no tags", i.name));
    } else {
        let tags: Vec<String> = i.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        ctx.out.line(&format!("{}: {}", i.name, tags.join(" ")));
    }
    Ok(())
}

async fn show(ctx: &mut Ctx, wanted: &str) -> Result<()> {
    let client = ctx.client()?;
    let id = resolve_instance(&client, wanted, true).await?;
    let i = client.get_instance(id).await?;
    if ctx.out.json {
        return ctx.out.print_json(&i);
    }
    let now = OffsetDateTime::now_utc();
    let when = |t: OffsetDateTime| format!("{} ({})", relative_time(t, now), t.date());
    let mut fields = vec![
        ("id", i.id.to_string()),
        ("name", i.name.clone()),
        ("state", i.state.to_ascii_lowercase()),
    ];
    if let Some(reason) = &i.state_reason {
        fields.push(("reason", reason.clone()));
    }
    if let Some(code) = i.exit_code {
        fields.push(("exit code", code.to_string()));
    }
    fields.extend([
        ("image", i.image.clone()),
        ("type", i.instance_type.clone()),
        (
            "ports",
            Some(ports_text(&i))
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "none".into()),
        ),
    ]);
    if !i.urls.is_empty() {
        fields.push(("urls", i.urls.join(", ")));
    }
    if let Some(ip) = &i.private_ip {
        fields.push(("private ip", ip.clone()));
    }
    if !i.env.is_empty() {
        let env: Vec<String> = i.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        fields.push(("env", env.join(" ")));
    }
    if !i.tags.is_empty() {
        let tags: Vec<String> = i.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        fields.push(("tags", tags.join(" ")));
    }
    if let Some(cmd) = &i.command {
        fields.push(("command", cmd.join(" ")));
    }
    fields.push(("created", when(i.created_at)));
    if let Some(t) = i.terminated_at {
        fields.push(("terminated", when(t)));
    }
    if let Some(c) = &i.container_id {
        fields.push(("container", c.chars().take(12).collect()));
    }
    fields.push(("ec2 id", i.ec2_instance_id.clone()));
    fields.push(("arn", i.arn.clone()));
    // Values the user chose (env, tags, command) may hold control
    // characters: shown escaped, as `ls` shows keys.
    let fields: Vec<_> = fields
        .into_iter()
        .map(|(name, value)| (name, printable(&value)))
        .collect();
    ctx.out.fields(&fields);
    Ok(())
}

/// A lifecycle action.
#[derive(Clone, Copy)]
enum Action {
    Start,
    Stop,
    Reboot,
    Terminate,
}

async fn act(ctx: &mut Ctx, wanted: &str, action: Action) -> Result<()> {
    let client = ctx.client()?;
    let id = resolve_instance(&client, wanted, false).await?;
    let (instance, verb) = match action {
        Action::Start => (client.start_instance(id).await?, "Started"),
        Action::Stop => (client.stop_instance(id).await?, "Stopped"),
        Action::Reboot => (client.reboot_instance(id).await?, "Rebooted"),
        Action::Terminate => (client.terminate_instance(id).await?, "Terminated"),
    };
    if ctx.out.json {
        return ctx.out.print_json(&instance);
    }
    summary(ctx, verb, &instance);
    Ok(())
}

async fn logs(ctx: &mut Ctx, wanted: &str, follow: bool, tail: Option<u32>) -> Result<()> {
    if follow && ctx.out.json {
        return Err(user(
            "--json prints the log collected so far and cannot --follow: drop one of them",
        ));
    }
    let client = ctx.client()?;
    let id = resolve_instance(&client, wanted, true).await?;
    let options = LogsOptions {
        tail,
        follow,
        ..LogsOptions::default()
    };
    if ctx.out.json {
        let text = client.instance_logs(id, &options).await?;
        return ctx
            .out
            .print_json(&serde_json::json!({ "id": id, "logs": text }));
    }
    let stream = client.instance_logs_stream(id, &options).await?;
    let copy = async {
        let mut stream = std::pin::pin!(stream);
        while let Some(chunk) = stream.next().await {
            // The server cuts a followed log short when it shuts down (and a
            // broken connection looks the same): say that the log did not
            // end with the container, rather than ending quietly.
            let chunk = chunk.map_err(|e| {
                let why = if follow {
                    "the server stopped or the connection broke before the instance did"
                } else {
                    "the server stopped or the connection broke"
                };
                user(format!("the log stream was cut short: {why} ({e})"))
            })?;
            let mut out = std::io::stdout().lock();
            if out.write_all(&chunk).and_then(|()| out.flush()).is_err() {
                // The reader went away (`| head`): stop quietly.
                return Ok(());
            }
        }
        anyhow::Ok(())
    };
    tokio::select! {
        done = copy => done,
        // Ctrl-C is how one leaves `--follow`: not an error.
        () = interrupted() => Ok(()),
    }
}

async fn stats(ctx: &mut Ctx, wanted: &str) -> Result<()> {
    let client = ctx.client()?;
    let id = resolve_instance(&client, wanted, false).await?;
    let s = client.instance_stats(id).await?;
    if ctx.out.json {
        return ctx.out.print_json(&s);
    }
    let mem_percent = if s.memory_limit_bytes > 0 {
        s.memory_usage_bytes as f64 * 100.0 / s.memory_limit_bytes as f64
    } else {
        0.0
    };
    ctx.out.fields(&[
        ("cpu", format!("{:.1}%", s.cpu_percent)),
        (
            "memory",
            format!(
                "{} / {} ({mem_percent:.1}%)",
                human_bytes(s.memory_usage_bytes),
                human_bytes(s.memory_limit_bytes)
            ),
        ),
        (
            "network",
            format!(
                "{} in, {} out",
                human_bytes(s.network_rx_bytes),
                human_bytes(s.network_tx_bytes)
            ),
        ),
        (
            "sampled",
            relative_time(s.read_at, OffsetDateTime::now_utc()),
        ),
    ]);
    Ok(())
}

/// `cloud compute exec`: the output goes to stdout and stderr as it comes
/// (with `--json`, one object once the command has ended), then `cloud`
/// exits with the command's exit code.
async fn exec_in(ctx: &mut Ctx, wanted: &str, exec: &ExecCommand) -> Result<()> {
    let client = ctx.client()?;
    let id = resolve_instance(&client, wanted, false).await?;
    let timeout = exec.timeout_secs.unwrap_or_default();
    if ctx.out.json {
        let result = client.exec_instance(id, exec).await?;
        ctx.out.print_json(&result)?;
        return exit_with(result.exit_code, result.timed_out, result.killed, timeout);
    }
    let stream = client.exec_instance_stream(id, exec).await?;
    let copy = async {
        let mut stream = std::pin::pin!(stream);
        while let Some(update) = stream.next().await {
            match update? {
                ExecUpdate::Stdout(b) => write_through(&mut std::io::stdout().lock(), &b),
                ExecUpdate::Stderr(b) => write_through(&mut std::io::stderr().lock(), &b),
                ExecUpdate::Exit {
                    exit_code,
                    timed_out,
                    killed,
                } => return exit_with(exit_code, timed_out, killed, timeout),
            }
        }
        Err(anyhow::anyhow!(
            "the server ended the command's output without saying how it ended"
        ))
    };
    tokio::select! {
        done = copy => done,
        () = interrupted() => Err(crate::error::Interrupted(
            "interrupted: the server kills the command when it sees the connection closed".into(),
        )
        .into()),
    }
}

/// `cloud`'s standard input for `exec --stdin`, read to its end: the API
/// takes a command's input whole, up to [`MAX_EXEC_STDIN_BYTES`].
async fn read_stdin() -> Result<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut input = Vec::new();
    tokio::io::stdin()
        .take(MAX_EXEC_STDIN_BYTES as u64 + 1)
        .read_to_end(&mut input)
        .await
        .context("cannot read standard input")?;
    if input.len() > MAX_EXEC_STDIN_BYTES {
        anyhow::bail!(
            "standard input holds more than {} KiB, the most a command may be given",
            MAX_EXEC_STDIN_BYTES / 1024
        );
    }
    Ok(input)
}

/// Writes output through; a reader that went away (`| head`) is not an
/// error here (the command's exit code still decides).
pub(crate) fn write_through(out: &mut impl Write, bytes: &[u8]) {
    let _ = out.write_all(bytes).and_then(|()| out.flush());
}

/// How `cloud` ends after an exec: with the command's exit code.
pub(crate) fn exit_with(
    exit_code: Option<i64>,
    timed_out: bool,
    killed: bool,
    timeout: u64,
) -> Result<()> {
    let what = if killed {
        "was killed"
    } else {
        "could not be killed: it may still be running in the instance"
    };
    match (exit_code, timed_out) {
        (_, true) => Err(CommandExit {
            code: 124,
            message: format!(
                "the command did not end within {timeout} s and {what} (give more time with --timeout)"
            ),
        }
        .into()),
        (Some(0), _) => Ok(()),
        (Some(code), _) => Err(CommandExit {
            code: u8::try_from(code).ok().filter(|c| *c != 0).unwrap_or(1),
            message: String::new(),
        }
        .into()),
        (None, _) => Err(anyhow::anyhow!(
            "the command ended but Docker did not report its exit code"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_read_like_docker_ps() {
        let port =
            |ip: Option<&str>, host: Option<u16>, container: u16, proto: &str| InstancePort {
                host_ip: ip.map(str::to_owned),
                host_port: host,
                container_port: container,
                protocol: proto.to_owned(),
            };
        let cases = [
            (
                port(Some("127.0.0.1"), Some(8080), 80, "tcp"),
                "127.0.0.1:8080->80",
            ),
            (
                port(Some("127.0.0.1"), Some(5353), 53, "udp"),
                "127.0.0.1:5353->53/udp",
            ),
            (port(None, Some(8080), 80, "tcp"), "8080->80"),
            (port(None, None, 80, "tcp"), "80"),
        ];
        for (p, want) in cases {
            assert_eq!(port_text(&p), want);
        }
    }
}
