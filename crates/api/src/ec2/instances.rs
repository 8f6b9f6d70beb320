//! What the instance operations share: ids from the wire, EC2's view of
//! an instance (state codes, tags, the `item` XML) and the state-change
//! answers.

use miniaws_core::compute::{Ec2InstanceId, Instance, InstanceState, StopCause};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::error::{Ec2Error, from_core};
use super::xml::XmlWriter;
use super::{Ec2Context, dry_run};
use miniaws_core::CoreError;

/// How long EC2 keeps a terminated instance visible (about an hour).
pub const TERMINATED_VISIBLE_SECS: i64 = 3600;

/// Whether EC2 still shows `inst`: terminated instances go after an hour.
pub fn visible(inst: &Instance, now: OffsetDateTime) -> bool {
    match (inst.state, inst.deleted_at) {
        (InstanceState::Terminated, Some(at)) => {
            (now - at).whole_seconds() < TERMINATED_VISIBLE_SECS
        }
        _ => true,
    }
}

/// EC2's state code and name. `ERROR` (a container that failed or
/// vanished) is `stopped`, with the reason in `stateReason`: it can be
/// started again, as a stopped instance can.
pub fn state(s: InstanceState) -> (u16, &'static str) {
    match s {
        InstanceState::Starting => (0, "pending"),
        InstanceState::Running => (16, "running"),
        InstanceState::Terminated => (48, "terminated"),
        InstanceState::Stopping => (64, "stopping"),
        InstanceState::Stopped | InstanceState::Error => (80, "stopped"),
    }
}

/// The instance's tags, as EC2 shows them ([`Instance::all_tags`]).
pub fn tags(inst: &Instance) -> Vec<(String, String)> {
    inst.all_tags()
}

/// EC2's time format (`2026-11-29T19:00:00.000Z`).
pub fn ec2_time(t: OffsetDateTime) -> String {
    let t = t
        .replace_nanosecond(t.millisecond() as u32 * 1_000_000)
        .unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

/// `<currentState>`/`<previousState>`-style element.
pub fn write_state(w: &mut XmlWriter, element: &str, s: InstanceState) {
    let (code, name) = state(s);
    w.element(element, |w| {
        w.leaf("code", &code.to_string());
        w.leaf("name", name);
    });
}

/// One `<item>` of an `instancesSet` in DescribeInstances and RunInstances.
pub fn write_instance(w: &mut XmlWriter, inst: &Instance, region: &str) {
    w.element("item", |w| {
        w.leaf("instanceId", inst.ec2_id().as_str());
        w.leaf("imageId", &inst.image);
        write_state(w, "instanceState", inst.state);
        w.leaf("privateDnsName", "");
        w.leaf("dnsName", "");
        if let Some(ip) = &inst.private_ip {
            w.leaf("privateIpAddress", ip);
        }
        w.leaf("reason", inst.state_reason.as_deref().unwrap_or(""));
        w.leaf("amiLaunchIndex", &inst.launch_index().to_string());
        w.element("productCodes", |_| {});
        w.leaf("instanceType", &inst.instance_type);
        w.leaf("launchTime", &ec2_time(inst.created_at));
        w.element("placement", |w| {
            w.leaf("availabilityZone", &format!("{region}a"));
            w.leaf("groupName", "");
            w.leaf("tenancy", "default");
        });
        w.element("monitoring", |w| {
            w.leaf("state", "disabled");
        });
        w.element("groupSet", |_| {});
        if let Some((code, message)) = state_reason(inst) {
            w.element("stateReason", |w| {
                w.leaf("code", code);
                w.leaf("message", &message);
            });
        }
        w.leaf("architecture", std::env::consts::ARCH);
        w.leaf("rootDeviceType", "ebs");
        w.element("blockDeviceMapping", |_| {});
        w.leaf("virtualizationType", "hvm");
        if let Some(token) = inst.client_token() {
            w.leaf("clientToken", token);
        }
        w.element("tagSet", |w| {
            for (k, v) in tags(inst) {
                w.element("item", |w| {
                    w.leaf("key", &k);
                    w.leaf("value", &v);
                });
            }
        });
        w.leaf("hypervisor", "xen");
        w.element("networkInterfaceSet", |_| {});
        w.leaf("ebsOptimized", "false");
    });
}

/// EC2's `stateReason` where we know one: its code says whose doing the
/// stop was ([`Instance::stop_cause`]): the user's, the instance's own
/// (its command ended), or the platform's (`Server.InternalError`, as EC2
/// reports an instance an internal error shut down, with our reason).
fn state_reason(inst: &Instance) -> Option<(&'static str, String)> {
    let reason = inst.state_reason.clone();
    match inst.stop_cause()? {
        StopCause::User => Some((
            "Client.UserInitiatedShutdown",
            "Client.UserInitiatedShutdown: User initiated shutdown".into(),
        )),
        StopCause::Workload => Some((
            "Client.InstanceInitiatedShutdown",
            reason.unwrap_or_else(|| "the container exited".into()),
        )),
        StopCause::Platform => Some((
            "Server.InternalError",
            reason.unwrap_or_else(|| "the container failed".into()),
        )),
    }
}

/// The caller's instances named by `InstanceId.N`, in order: a malformed
/// id is `InvalidInstanceID.Malformed`; ids that are unknown, another
/// owner's or terminated over an hour ago are `InvalidInstanceID.NotFound`,
/// all of them named (another owner never learns that an id exists).
///
/// # Errors
/// Those, and the service's.
pub async fn resolve(ctx: &Ec2Context<'_>, raw: &[&str]) -> Result<Vec<Instance>, Ec2Error> {
    let mut ids = Vec::with_capacity(raw.len());
    for r in raw {
        ids.push(Ec2InstanceId::parse(r).map_err(|_| Ec2Error::malformed_id(r))?);
    }
    let now = OffsetDateTime::now_utc();
    let mut found = Vec::with_capacity(ids.len());
    let mut missing = Vec::new();
    for id in &ids {
        match ctx.state.compute.get_by_ec2_id(ctx.caller, id).await {
            Ok(inst) if visible(&inst, now) => {
                if !found.iter().any(|i: &Instance| i.id == inst.id) {
                    found.push(inst);
                }
            }
            Ok(_) | Err(CoreError::NotFound { .. }) => missing.push(id.to_string()),
            Err(e) => return Err(from_core(e)),
        }
    }
    if missing.is_empty() {
        Ok(found)
    } else {
        Err(Ec2Error::ids_not_found(&missing))
    }
}

/// The instances of a state-change request (`InstanceId.N`, required).
///
/// # Errors
/// `MissingParameter`, the id errors of [`resolve`], `DryRunOperation`.
pub async fn targets(ctx: &Ec2Context<'_>, extra: &[&str]) -> Result<Vec<Instance>, Ec2Error> {
    ctx.params.only(|k| {
        k == "DryRun" || extra.contains(&k) || super::params::numbered(k, "InstanceId", None)
    })?;
    let raw = ctx.params.list("InstanceId")?;
    if raw.is_empty() {
        return Err(Ec2Error::missing("InstanceId"));
    }
    let found = resolve(ctx, &raw).await?;
    if ctx.params.bool("DryRun")? {
        return Err(dry_run());
    }
    Ok(found)
}

/// The EC2 answer to an error of a state change of `inst`: an instance
/// gone between the lookup and the change is named by its EC2 id, and so
/// is the instance of a refused transition (the service names it by its
/// UUID, which EC2 clients never see).
pub fn change_error(inst: &Instance) -> impl Fn(CoreError) -> Ec2Error + '_ {
    move |e| match e {
        CoreError::NotFound {
            resource: miniaws_core::Resource::Instance,
            ..
        } => Ec2Error::ids_not_found(&[inst.ec2_id().to_string()]),
        CoreError::Conflict { kind, message } => {
            let ec2_id = inst.ec2_id();
            let ec2_id = ec2_id.as_str();
            // The service says "NAME (UUID)"; an instance without a name
            // of its own is named by its EC2 id, which is said once.
            let message = message
                .replace(&format!("{ec2_id} ({})", inst.id), ec2_id)
                .replace(&inst.id.to_string(), ec2_id);
            from_core(CoreError::Conflict { kind, message })
        }
        other => from_core(other),
    }
}

/// Refuses the whole request, before any instance is changed, when one of
/// `found` is in a state `can` refuses: EC2 fails such a request whole,
/// and its callers take an error to mean that nothing changed.
pub fn check_all(
    found: &[Instance],
    verb: &str,
    can: impl Fn(&Instance) -> bool,
) -> Result<(), Ec2Error> {
    match found.iter().find(|inst| !can(inst)) {
        Some(inst) => Err(Ec2Error::incorrect_state(format!(
            "The instance '{}' is not in a state from which it can be {verb}.",
            inst.ec2_id()
        ))),
        None => Ok(()),
    }
}

/// The outcome of a state change of `inst` that failed with `err`: when it
/// was refused for the state the instance is in now and that state is
/// what the change was for (`reached`), another request got there first
/// (two StopInstances of one instance), and the instance as it is now is
/// the answer, as EC2 answers a stop of a stopped instance; else the error.
pub async fn reached_anyway(
    ctx: &Ec2Context<'_>,
    inst: &Instance,
    err: CoreError,
    reached: impl Fn(InstanceState) -> bool,
) -> Result<Instance, Ec2Error> {
    if let CoreError::Conflict {
        kind: miniaws_core::error::ConflictKind::InvalidState,
        ..
    } = &err
        && let Ok(now) = ctx.state.compute.get(ctx.caller, inst.id).await
        && reached(now.state)
    {
        return Ok(now);
    }
    Err(change_error(inst)(err))
}

/// Runs `change` on every instance at once (each instance has a lock of
/// its own in the compute service) and lets every one finish, even after
/// one failed: a change cut off halfway would leave its row saying
/// `stopping` or `pending`. The first error, if any, is the answer.
pub async fn change_all<T, F, Fut>(found: Vec<Instance>, change: F) -> Result<Vec<T>, Ec2Error>
where
    F: Fn(Instance) -> Fut,
    Fut: std::future::Future<Output = Result<T, Ec2Error>>,
{
    futures::future::join_all(found.into_iter().map(change))
        .await
        .into_iter()
        .collect()
}

/// The answer of Start/Stop/TerminateInstances: each instance's state
/// before and after.
pub fn state_changes(
    ctx: &Ec2Context<'_>,
    action: &str,
    changes: &[(Instance, InstanceState)],
) -> String {
    let mut w = XmlWriter::response(action, &ctx.request_id);
    w.element("instancesSet", |w| {
        for (inst, previous) in changes {
            w.element("item", |w| {
                w.leaf("instanceId", inst.ec2_id().as_str());
                write_state(w, "currentState", inst.state);
                write_state(w, "previousState", *previous);
            });
        }
    });
    w.finish(action)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use miniaws_core::compute::{InstanceId, PortMapping, split_command};
    use miniaws_core::identity::UserId;
    use std::collections::BTreeMap;

    pub(crate) fn sample() -> Instance {
        let at = time::macros::datetime!(2026-11-29 19:00:00.123456 UTC);
        Instance {
            id: "0123abcd-4567-489a-bcde-f0123456789a"
                .parse::<InstanceId>()
                .unwrap(),
            owner: UserId::new(),
            name: "web".into(),
            image: "miniaws-test/busybox:latest".into(),
            instance_type: "t3.nano".into(),
            state: InstanceState::Running,
            state_reason: None,
            exit_code: None,
            container_id: Some("c".into()),
            ports: PortMapping::parse_list(&["8080:80"]).unwrap(),
            published_ports: Vec::new(),
            private_ip: Some("172.17.0.2".into()),
            env: BTreeMap::new(),
            command: Some(vec!["sleep".into(), "1 000".into(), "it's".into()]),
            tags: BTreeMap::from([("env".to_owned(), "prod & <dev>".to_owned())]),
            origin: None,
            created_at: at,
            updated_at: at,
            deleted_at: None,
        }
    }

    #[test]
    fn a_refused_change_names_the_instance_by_its_ec2_id() {
        let inst = sample();
        let refused = change_error(&inst)(inst.illegal("start"));
        assert_eq!(refused.code, "IncorrectInstanceState");
        assert!(
            refused.message.contains("i-0123abcd456789acd")
                && !refused.message.contains(&inst.id.to_string()),
            "{}",
            refused.message
        );
        // Without a name of its own, its EC2 id is its name: said once.
        let unnamed = Instance {
            name: inst.ec2_id().to_string(),
            ..inst
        };
        let refused = change_error(&unnamed)(unnamed.illegal("start"));
        assert_eq!(
            refused.message,
            "cannot start instance i-0123abcd456789acd: it is RUNNING"
        );
    }

    #[test]
    fn an_instance_item_has_ec2s_fields() {
        let mut w = XmlWriter::response("DescribeInstances", "r");
        write_instance(&mut w, &sample(), "us-east-1");
        let xml = w.finish("DescribeInstances");
        for part in [
            "<instanceId>i-0123abcd456789acd</instanceId>",
            "<imageId>miniaws-test/busybox:latest</imageId>",
            "<instanceState><code>16</code><name>running</name></instanceState>",
            "<instanceType>t3.nano</instanceType>",
            "<privateIpAddress>172.17.0.2</privateIpAddress>",
            "<launchTime>2026-11-29T19:00:00.123Z</launchTime>",
            "<availabilityZone>us-east-1a</availabilityZone>",
            "<item><key>Name</key><value>web</value></item>",
            "<item><key>miniaws:ports</key><value>8080:80/tcp</value></item>",
            "<item><key>env</key><value>prod &amp; &lt;dev&gt;</value></item>",
            "<item><key>miniaws:command</key><value>sleep &apos;1 000&apos; &apos;it&apos;\\&apos;&apos;s&apos;</value></item>",
        ] {
            assert!(xml.contains(part), "{part} missing from {xml}");
        }
        assert!(!xml.contains("stateReason"), "{xml}");
        let cmd = tags(&sample())[2].1.clone();
        assert_eq!(split_command(&cmd).unwrap(), sample().command.unwrap());
    }

    /// The state reason's code says whose doing the stop was; a resumed
    /// start Docker refused is the platform's, not the instance's.
    #[test]
    fn state_reasons_name_whose_doing_a_stop_was() {
        let reason = |state: InstanceState, why: Option<&str>| {
            let mut inst = sample();
            inst.state = state;
            inst.state_reason = why.map(str::to_owned);
            let mut w = XmlWriter::response("DescribeInstances", "r");
            write_instance(&mut w, &inst, "us-east-1");
            let xml = w.finish("DescribeInstances");
            state_reason(&inst).map(|(code, message)| {
                assert!(
                    xml.contains(&format!("<stateReason><code>{code}</code>")),
                    "{xml}"
                );
                (code, message)
            })
        };
        let resumed = format!(
            "{}: Docker refused: host port 8080 is already in use; start it again",
            miniaws_core::compute::RESUMED_START_FAILED
        );
        let cases: [(&str, InstanceState, Option<&str>, Option<&str>); 7] = [
            ("running", InstanceState::Running, None, None),
            (
                "stopped by its user",
                InstanceState::Stopped,
                Some(miniaws_core::compute::STOPPED_BY_REQUEST),
                Some("Client.UserInitiatedShutdown"),
            ),
            (
                "its command exited",
                InstanceState::Stopped,
                Some("the container exited with code 3"),
                Some("Client.InstanceInitiatedShutdown"),
            ),
            (
                "a resumed start refused",
                InstanceState::Stopped,
                Some(resumed.as_str()),
                Some("Server.InternalError"),
            ),
            (
                "a launch that could not be finished",
                InstanceState::Error,
                Some(
                    "the launch was interrupted by a restart of the server and could not be finished: x",
                ),
                Some("Server.InternalError"),
            ),
            (
                "a vanished container",
                InstanceState::Error,
                Some("container disappeared"),
                Some("Server.InternalError"),
            ),
            (
                "terminated",
                InstanceState::Terminated,
                None,
                Some("Client.UserInitiatedShutdown"),
            ),
        ];
        for (what, state, why, code) in cases {
            let got = reason(state, why);
            assert_eq!(got.as_ref().map(|(c, _)| *c), code, "{what}");
            if code == Some("Server.InternalError") {
                assert_eq!(got.map(|(_, m)| m).as_deref(), why, "{what}: our reason");
            }
        }
    }

    #[test]
    fn states_codes_and_visibility_follow_ec2() {
        assert_eq!(state(InstanceState::Starting), (0, "pending"));
        assert_eq!(state(InstanceState::Running), (16, "running"));
        assert_eq!(state(InstanceState::Terminated), (48, "terminated"));
        assert_eq!(state(InstanceState::Stopping), (64, "stopping"));
        assert_eq!(state(InstanceState::Stopped), (80, "stopped"));
        assert_eq!(state(InstanceState::Error), (80, "stopped"));
        let mut t = sample();
        let now = t.created_at;
        assert!(visible(&t, now));
        t.state = InstanceState::Terminated;
        t.deleted_at = Some(now);
        assert!(visible(&t, now + time::Duration::minutes(59)));
        assert!(!visible(&t, now + time::Duration::minutes(61)));
        // Named after its id: no Name tag.
        t.name = t.ec2_id().to_string();
        assert!(tags(&t).iter().all(|(k, _)| k != "Name"));
    }
}
