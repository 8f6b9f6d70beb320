//! `/instances` and `/instance-types`.

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use time::OffsetDateTime;
use uuid::Uuid;

/// The body of `POST /instances`: what to launch.
///
/// The server takes more shapes than a client sends: `ports` may also be
/// one string listing specs comma-separated, a bare number, a list mixing
/// strings and numbers, or null; `env` may be null; `command` may be one
/// string, split like a shell would (see [`Command`]).
///
/// Serde names the struct in the server's 400 messages (`expected struct
/// LaunchInstance`): a rename here changes what clients read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaunchInstance {
    /// Instance name (1–63 of `[a-zA-Z0-9-_.]`).
    pub name: String,
    /// Image reference, e.g. `nginx:alpine`.
    pub image: String,
    /// Port specs: `"8080:80"`, `"80"`, `"53/udp"`.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "port_specs"
    )]
    pub ports: Vec<String>,
    /// Environment variables.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub env: BTreeMap<String, String>,
    /// Instance type (the server's default, `t3.micro`, when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    /// Command override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Command>,
    /// Tags (key to value) beyond the name: at most 50, keys of 1–128
    /// characters not starting with `aws:` or `miniaws:`, values of at
    /// most 256; `Name` is the `name` field.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub tags: BTreeMap<String, String>,
}

/// The body of `PATCH /instances/{id}`: what to change, at least one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModifyInstance {
    /// A new name (the name rules; unique among the owner's live
    /// instances).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A new instance type: the instance must be stopped, and its next
    /// start gets the type's limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
}

/// The body of `PATCH /instances/{id}/tags`, a JSON merge patch: a value
/// sets its key, `null` removes it, keys not named keep theirs.
pub type TagPatch = BTreeMap<String, Option<String>>;

/// A command override: an argument list, or one line that the server splits
/// into arguments (quotes respected, no expansion).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Command {
    /// One line, split by the server.
    Line(String),
    /// An argument list, used as is.
    Args(Vec<String>),
}

/// By hand rather than `untagged`, whose refusal ("data did not match any
/// variant of untagged enum Command") does not say what to send.
impl<'de> Deserialize<'de> for Command {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct CommandVisitor;
        impl<'de> Visitor<'de> for CommandVisitor {
            type Value = Command;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a command: one line such as \"sleep 60\" or a list of arguments such as [\"sleep\", \"60\"]",
                )
            }
            fn visit_str<E: de::Error>(self, line: &str) -> Result<Command, E> {
                Ok(Command::Line(line.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Command, A::Error> {
                let mut args = Vec::new();
                while let Some(arg) = seq.next_element::<String>()? {
                    args.push(arg);
                }
                Ok(Command::Args(args))
            }
        }
        d.deserialize_any(CommandVisitor)
    }
}

/// What a port spec may be, for refusals.
const PORT_SPEC: &str =
    "a port spec such as \"8080:80\", \"80\" or \"53/udp\", or a port number from 1 to 65535";

/// One port spec as sent: text or a bare container port.
struct PortSpec(String);

impl<'de> Deserialize<'de> for PortSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PortsVisitor { in_list: true })
            .map(|mut specs| PortSpec(specs.pop().unwrap_or_default()))
    }
}

/// Reads every accepted shape of `ports` (one spec, a string listing
/// several comma-separated, a bare number, a list of those, or null) as a
/// list of spec strings. By hand rather than `untagged` enums, whose
/// refusal ("data did not match any variant of untagged enum Ports") does
/// not say what to send.
struct PortsVisitor {
    /// Inside a list: one spec, no nested list, no null.
    in_list: bool,
}

impl<'de> Visitor<'de> for PortsVisitor {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.in_list {
            f.write_str(PORT_SPEC)
        } else {
            write!(f, "{PORT_SPEC}, or a list of them")
        }
    }

    /// Blanks around a spec are ignored (`"8080:80, 53/udp"`), an empty
    /// entry is refused: a stray comma is more likely a spec lost than one
    /// meant. A string that is blank as a whole is no ports, as null.
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        if self.in_list {
            if s.trim().is_empty() {
                return Err(E::custom(format!("an empty port spec: give {PORT_SPEC}")));
            }
            return Ok(vec![s.to_owned()]);
        }
        if s.trim().is_empty() {
            return Ok(Vec::new());
        }
        let specs: Vec<String> = s.split(',').map(str::to_owned).collect();
        if specs.iter().any(|p| p.trim().is_empty()) {
            return Err(E::custom(format!(
                "the list {s:?} has an empty entry (a comma too many?): give port specs \
                 separated by single commas, such as \"8080:80,53/udp\""
            )));
        }
        Ok(specs)
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
        match u16::try_from(n) {
            Ok(port) if port > 0 => Ok(vec![port.to_string()]),
            _ => Err(E::invalid_value(de::Unexpected::Unsigned(n), &self)),
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        if self.in_list {
            return Err(E::invalid_type(de::Unexpected::Unit, &self));
        }
        Ok(Vec::new())
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        if self.in_list {
            return Err(de::Error::invalid_type(de::Unexpected::Seq, &self));
        }
        let mut specs = Vec::new();
        while let Some(PortSpec(spec)) = seq.next_element()? {
            specs.push(spec);
        }
        Ok(specs)
    }
}

/// Reads every accepted shape of `ports` as a list of spec strings.
fn port_specs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    d.deserialize_option(PortsVisitor { in_list: false })
}

/// Reads null as an empty map; a key given twice is an error.
fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    Ok(Option::<UniqueKeys<String>>::deserialize(d)?
        .map(|u| u.0)
        .unwrap_or_default())
}

/// A JSON object read into a map, refusing a key given twice (`{"A":"1",
/// "A":"2"}`): serde's maps keep the last silently, and which of two
/// values a client meant is not the server's to guess.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UniqueKeys<V>(pub BTreeMap<String, V>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for UniqueKeys<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct UniqueVisitor<V>(std::marker::PhantomData<V>);

        impl<'de, V: Deserialize<'de>> Visitor<'de> for UniqueVisitor<V> {
            type Value = UniqueKeys<V>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map (an object whose keys are all different)")
            }

            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((key, value)) = map.next_entry::<String, V>()? {
                    if out.contains_key(&key) {
                        return Err(de::Error::custom(format_args!(
                            "duplicate key `{key}`: give each key once"
                        )));
                    }
                    out.insert(key, value);
                }
                Ok(UniqueKeys(out))
            }
        }

        d.deserialize_map(UniqueVisitor(std::marker::PhantomData))
    }
}

/// One port of an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstancePort {
    /// The host address, once published.
    pub host_ip: Option<String>,
    /// The real host port once published; the requested one (or null for
    /// "any") before that.
    pub host_port: Option<u16>,
    /// The port inside the container.
    pub container_port: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
}

/// An instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    /// The instance id.
    pub id: Uuid,
    /// `arn:miniaws:compute:local:<owner>:instance/<id>`.
    pub arn: String,
    /// The id in the EC2-compatible API (`i-` and 17 hex digits).
    pub ec2_instance_id: String,
    /// The name.
    pub name: String,
    /// The image.
    pub image: String,
    /// The instance type.
    pub instance_type: String,
    /// `STARTING`, `RUNNING`, `STOPPING`, `STOPPED`, `TERMINATED` or `ERROR`.
    pub state: String,
    /// Why it is in this state, when there is something to say.
    pub state_reason: Option<String>,
    /// Exit code of the last run, once stopped.
    pub exit_code: Option<i64>,
    /// The Docker container id.
    pub container_id: Option<String>,
    /// Port mappings.
    pub ports: Vec<InstancePort>,
    /// Where the published TCP ports can be reached.
    pub urls: Vec<String>,
    /// The container's address on Docker's network while it runs
    /// (reachable from the host on Linux).
    #[serde(default)]
    pub private_ip: Option<String>,
    /// Environment variables.
    pub env: BTreeMap<String, String>,
    /// Command override.
    pub command: Option<Vec<String>>,
    /// Tags beyond the name.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Launch time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Termination time.
    #[serde(with = "time::serde::rfc3339::option")]
    pub terminated_at: Option<OffsetDateTime>,
}

/// One page of `GET /instances`: `{"data": […], "next_token": …}` (the
/// page is the whole body, not inside an envelope).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstancePage {
    /// The instances, oldest first.
    pub data: Vec<Instance>,
    /// Pass as `next_token` for the next page; null on the last page.
    pub next_token: Option<String>,
}

/// An entry of `GET /images`: an image present in the container runtime,
/// which a launch uses without pulling, under one of its names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// The name a launch gives as `image`, e.g. `nginx:alpine`.
    pub name: String,
    /// The runtime's content id (`sha256:…`); names of one image share it.
    pub id: String,
    /// Its size on disk, in bytes.
    pub size_bytes: u64,
    /// When the image was built.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The CPU architecture (`amd64`, `arm64`, …), when the runtime says.
    pub architecture: Option<String>,
}

/// An entry of `GET /instance-types`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceType {
    /// The AWS name, e.g. `t3.micro`.
    pub name: String,
    /// vCPUs (host CPU shares, capped at the host's CPU count).
    pub vcpus: u32,
    /// Memory limit in MiB.
    pub memory_mib: u64,
    /// Whether launches without `instance_type` get this one.
    pub default: bool,
}

/// `GET /instances/{id}/stats`: one sample of resource use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceStats {
    /// CPU use in percent of one CPU (200 = two CPUs busy).
    pub cpu_percent: f64,
    /// Memory in use, in bytes (page cache excluded, as `docker stats`).
    pub memory_usage_bytes: u64,
    /// The memory limit, in bytes.
    pub memory_limit_bytes: u64,
    /// Bytes received over all interfaces.
    pub network_rx_bytes: u64,
    /// Bytes sent over all interfaces.
    pub network_tx_bytes: u64,
    /// When the sample was taken.
    #[serde(with = "time::serde::rfc3339")]
    pub read_at: OffsetDateTime,
}

/// The most bytes [`ExecCommand::stdin`] may hold once decoded (512 KiB:
/// its base64 fits the API's 1 MiB JSON bodies).
pub const MAX_EXEC_STDIN_BYTES: usize = 512 * 1024;

/// The body of `POST /instances/{id}/exec`: a command to run in a
/// running instance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecCommand {
    /// The program and its arguments (a list, used as is, or one line the
    /// server splits like a shell, without expansion).
    pub command: Command,
    /// Variables added to the instance's environment for this command.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub env: BTreeMap<String, String>,
    /// An absolute directory to run in (the image's by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// `user`, `user:group`, `uid` or `uid:gid` (the image's by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// How long to wait for the command, in seconds (1–3600; 60 by
    /// default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
    /// Input for the command's standard input, in base64 (at most
    /// [`MAX_EXEC_STDIN_BYTES`] once decoded), closed after it; none by
    /// default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<String>,
}

impl Default for Command {
    fn default() -> Self {
        Self::Args(Vec::new())
    }
}

/// The answer of `POST /instances/{id}/exec` (JSON): the command's
/// outcome and its output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecResult {
    /// The command's exit code; `null` when it timed out or the runtime
    /// could not say.
    pub exit_code: Option<i64>,
    /// Whether the wait ended at `timeout_secs`.
    pub timed_out: bool,
    /// Whether the command, having outlived `timeout_secs`, was killed
    /// with the processes it started (or ended as the server went to kill
    /// it); `false` when it ended in time, and when the server could not
    /// kill it (it may still be running).
    #[serde(default)]
    pub killed: bool,
    /// `utf-8` when both outputs are text as they are, else `base64` (both
    /// encoded).
    pub encoding: String,
    /// What the command wrote to standard output (its first MiB).
    pub stdout: String,
    /// What it wrote to standard error (its first MiB).
    pub stderr: String,
    /// Whether standard output was longer than what is given.
    pub stdout_truncated: bool,
    /// Whether standard error was longer than what is given.
    pub stderr_truncated: bool,
}

/// One line of the answer of `POST /instances/{id}/exec` with `Accept:
/// application/x-ndjson`: output as it comes, then how the command ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecEvent {
    /// Bytes written to standard output, base64.
    Stdout(String),
    /// Bytes written to standard error, base64.
    Stderr(String),
    /// The last line when the command ended or the wait timed out.
    Exit {
        /// As in [`ExecResult`].
        exit_code: Option<i64>,
        /// As in [`ExecResult`].
        timed_out: bool,
        /// As in [`ExecResult`].
        #[serde(default)]
        killed: bool,
    },
    /// The last line when the output could not be read to its end.
    Error {
        /// The error code, as in error bodies.
        code: String,
        /// What went wrong.
        message: String,
        /// The request's id (its `X-Request-Id`), which names it in the
        /// server's log, as an error answer's header does.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<String>,
    },
}

/// A text frame a client sends in a terminal session (`GET
/// /instances/{id}/exec/tty`, a WebSocket); what is typed goes in binary
/// frames.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TtyControl {
    /// `{"resize":{"rows":R,"cols":C}}`: the terminal's new size.
    Resize {
        /// Its height, in rows.
        rows: u32,
        /// Its width, in columns.
        cols: u32,
    },
}

/// The last frame of a terminal session, a text frame the server sends
/// after the output (binary frames) and before it closes the WebSocket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TtyEnd {
    /// `{"exit":{"exit_code":N}}`: the command ended.
    Exit {
        /// Its exit code (`null` when the runtime did not say).
        exit_code: Option<i64>,
    },
    /// `{"error":{…}}`: the session ended before the command did (the
    /// command was killed), or its output could not be read.
    Error {
        /// The error code, as in error bodies.
        code: String,
        /// What went wrong.
        message: String,
        /// The upgrade request's id (its `X-Request-Id`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_frames_read_as_documented() {
        let resize: TtyControl =
            serde_json::from_str(r#"{"resize":{"rows":40,"cols":120}}"#).expect("resize");
        assert_eq!(
            resize,
            TtyControl::Resize {
                rows: 40,
                cols: 120
            }
        );
        assert!(serde_json::from_str::<TtyControl>(r#"{"resize":{"rows":1}}"#).is_err());
        assert_eq!(
            serde_json::to_string(&TtyEnd::Exit { exit_code: Some(3) }).expect("json"),
            r#"{"exit":{"exit_code":3}}"#
        );
    }

    #[test]
    fn a_key_given_twice_is_refused() {
        let err =
            serde_json::from_str::<ExecCommand>(r#"{"command":"true","env":{"X":"1","X":"2"}}"#)
                .unwrap_err();
        assert!(err.to_string().contains("duplicate key `X`"), "{err}");
        let patch: UniqueKeys<Option<String>> =
            serde_json::from_str(r#"{"a":"1","b":null}"#).expect("distinct keys");
        assert_eq!(patch.0.len(), 2);
        assert!(
            serde_json::from_str::<UniqueKeys<Option<String>>>(r#"{"a":"1","a":null}"#).is_err()
        );
        let env: LaunchInstance =
            serde_json::from_str(r#"{"name":"n","image":"i","env":null}"#).expect("null env");
        assert!(env.env.is_empty());
    }

    fn launch(json: &str) -> Result<LaunchInstance, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn launch_bodies_take_every_documented_shape() {
        let cases: &[(&str, &str, &[&str])] = &[
            ("absent", r#"{"name":"a","image":"i"}"#, &[]),
            ("null", r#"{"name":"a","image":"i","ports":null}"#, &[]),
            (
                "comma list",
                r#"{"name":"a","image":"i","ports":"8080:80, 53/udp"}"#,
                &["8080:80", " 53/udp"][..],
            ),
            (
                "blank string",
                r#"{"name":"a","image":"i","ports":" "}"#,
                &[],
            ),
            ("number", r#"{"name":"a","image":"i","ports":80}"#, &["80"]),
            (
                "mixed list",
                r#"{"name":"a","image":"i","ports":[80,"81:81"]}"#,
                &["80", "81:81"],
            ),
        ];
        for (desc, json, ports) in cases {
            let body = launch(json).unwrap_or_else(|e| panic!("{desc}: {e}"));
            assert_eq!(body.ports, *ports, "{desc}");
        }

        let body = launch(r#"{"name":"a","image":"i","env":null,"command":"sleep 1"}"#)
            .expect("null env and a command line");
        assert!(body.env.is_empty());
        assert_eq!(body.command, Some(Command::Line("sleep 1".into())));
        let body = launch(r#"{"name":"a","image":"i","command":["sleep","1"]}"#).expect("args");
        assert_eq!(
            body.command,
            Some(Command::Args(vec!["sleep".into(), "1".into()]))
        );
    }

    #[test]
    fn launch_bodies_refuse_other_shapes_naming_the_field() {
        let cases = [
            (
                r#"{"name":"a","image":"i","ports":true}"#,
                "invalid type: boolean `true`, expected a port spec such as \"8080:80\", \"80\" or \"53/udp\", or a port number from 1 to 65535, or a list of them",
            ),
            (
                r#"{"name":"a","image":"i","ports":[true]}"#,
                "invalid type: boolean `true`, expected a port spec such as",
            ),
            (
                r#"{"name":"a","image":"i","ports":[-1]}"#,
                "invalid type: integer `-1`, expected a port spec",
            ),
            (
                r#"{"name":"a","image":"i","ports":70000}"#,
                "invalid value: integer `70000`, expected a port spec",
            ),
            (
                r#"{"name":"a","image":"i","ports":[0]}"#,
                "invalid value: integer `0`, expected a port spec",
            ),
            (
                r#"{"name":"a","image":"i","ports":[1.5]}"#,
                "invalid type: floating point `1.5`, expected a port spec",
            ),
            (
                r#"{"name":"a","image":"i","ports":[["80"]]}"#,
                "invalid type: sequence, expected a port spec",
            ),
            (
                r#"{"name":"a","image":"i","ports":[null]}"#,
                "invalid type: null, expected a port spec",
            ),
            (
                r#"{"name":"a","image":"i","ports":"80,"}"#,
                "the list \"80,\" has an empty entry",
            ),
            (
                r#"{"name":"a","image":"i","ports":","}"#,
                "has an empty entry",
            ),
            (
                r#"{"name":"a","image":"i","ports":"80, ,81"}"#,
                "has an empty entry",
            ),
            (
                r#"{"name":"a","image":"i","ports":["80",""]}"#,
                "an empty port spec",
            ),
            (
                r#"{"name":"a","image":"i","ports":[" "]}"#,
                "an empty port spec",
            ),
            (
                r#"{"name":"a","image":"i","command":5}"#,
                "invalid type: integer `5`, expected a command: one line such as \"sleep 60\" or a list of arguments",
            ),
            (
                r#"{"name":"a","image":"i","command":["sleep",60]}"#,
                "invalid type: integer `60`, expected a string",
            ),
            (r#"{"name":"a","image":"i","env":[1]}"#, "expected a map"),
            (
                r#"{"name":"a","image":"i","tags":{"k":1}}"#,
                "invalid type: integer `1`, expected a string",
            ),
            (r#"{"name":"a","image":"i","zzz":1}"#, "unknown field `zzz`"),
            (r#"{"image":"i"}"#, "missing field `name`"),
            ("[]", "expected struct LaunchInstance with 7 elements"),
        ];
        for (json, want) in cases {
            let err = launch(json).expect_err(json);
            assert!(err.contains(want), "{json}: {err}");
        }
    }

    #[test]
    fn launch_bodies_serialise_only_what_is_set() {
        let minimal = LaunchInstance {
            name: "a".into(),
            image: "i".into(),
            ..LaunchInstance::default()
        };
        assert_eq!(
            serde_json::to_string(&minimal).expect("serialises"),
            r#"{"name":"a","image":"i"}"#
        );
        let full = LaunchInstance {
            ports: vec!["80".into()],
            env: BTreeMap::from([("A".into(), "1".into())]),
            instance_type: Some("t3.nano".into()),
            command: Some(Command::Args(vec!["sleep".into(), "1".into()])),
            tags: BTreeMap::from([("env".into(), "dev".into())]),
            ..minimal
        };
        let json = serde_json::to_string(&full).expect("serialises");
        assert_eq!(
            json,
            r#"{"name":"a","image":"i","ports":["80"],"env":{"A":"1"},"instance_type":"t3.nano","command":["sleep","1"],"tags":{"env":"dev"}}"#
        );
        assert_eq!(launch(&json), Ok(full), "round trip");
    }
}
