//! Compute domain types: instances, their states, port mappings and the
//! instance-type catalogue.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use time::OffsetDateTime;

use crate::error::{ConflictKind, CoreError, CoreResult};
use crate::identity::UserId;

uuid_newtype!(
    /// The id of a compute instance.
    InstanceId
);

/// An instance's id as the EC2-compatible API names it: `i-` and 17
/// lowercase hex digits, EC2's shape.
///
/// It is derived from the [`InstanceId`] (17 of its random hex digits,
/// see [`Ec2InstanceId::of`]) and stored beside it in a unique column
/// (migration 0020), so a lookup by it finds at most one instance: the
/// repository refuses an insert whose EC2 id is taken (about one chance
/// in 2^68 per pair of instances) rather than make a lookup ambiguous.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ec2InstanceId(String);

impl Ec2InstanceId {
    /// The EC2 id of instance `id`.
    pub fn of(id: InstanceId) -> Self {
        let hex = id.as_uuid().simple().to_string();
        // Digit 12 is the version (always 4) and digit 16 the variant
        // (two fixed bits): the other 30 are random; 17 of them are kept.
        Self(format!("i-{}{}{}", &hex[..12], &hex[13..16], &hex[17..19]))
    }

    /// Reads an EC2 id from the wire.
    ///
    /// # Errors
    /// `InvalidInput` unless it is `i-` and 17 lowercase hex digits.
    pub fn parse(s: &str) -> CoreResult<Self> {
        let ok = s.strip_prefix("i-").is_some_and(|h| {
            h.len() == 17 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        });
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(CoreError::invalid(format!(
                "`{s}` is not a valid instance id (expected i- and 17 lowercase hex digits)"
            )))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Ec2InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Most port mappings one instance may publish.
pub const MAX_PORTS: usize = 10;
/// Most environment variables one instance may carry.
pub const MAX_ENV_VARS: usize = 128;
/// Largest total size of the environment (names plus values), in bytes.
pub const MAX_ENV_BYTES: usize = 32 * 1024;
/// Most arguments in a command override.
pub const MAX_COMMAND_ARGS: usize = 256;
/// Largest total size of a command (its arguments' bytes), as the
/// environment's. It keeps every argument far below Linux's limit of one
/// (`MAX_ARG_STRLEN`, 128 KiB), past which the container could never
/// start, and the command small in every answer that shows it.
pub const MAX_COMMAND_BYTES: usize = 32 * 1024;
const _: () = assert!(
    MAX_COMMAND_BYTES < 128 * 1024,
    "an argument must stay below Linux's MAX_ARG_STRLEN"
);
/// Longest image reference accepted.
pub const MAX_IMAGE_LEN: usize = 255;

/// An instance name: 1–63 characters of `[a-zA-Z0-9-_.]`, unique among the
/// owner's non-terminated instances.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InstanceName(String);

impl InstanceName {
    /// Validates and wraps an instance name.
    ///
    /// # Errors
    /// `InvalidInput` naming the rule that was broken.
    pub fn parse(name: &str) -> CoreResult<Self> {
        if name.is_empty() || name.len() > 63 {
            return Err(CoreError::invalid(format!(
                "instance name must be 1 to 63 characters long (got {})",
                name.len()
            )));
        }
        if let Some(bad) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(CoreError::invalid(format!(
                "instance name may contain only letters, digits, '-', '_' and '.' (found {bad:?})"
            )));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Validates a container image reference against Docker's reference
/// grammar (`[domain[:port]/]path[:tag][@digest]`, distribution/reference's
/// `reference.go`): a path of lowercase components separated by `/`, each
/// letters and digits joined by `.`, `_`, `__` or dashes; an optional
/// domain (`registry.local:5000`); a tag of up to 128 word characters,
/// `.` and `-`; a digest `algorithm:hex` of at least 32 hex digits.
///
/// Docker has the final word on whether the reference resolves, but a
/// reference outside the grammar must be refused here: Docker's HTTP
/// router answers some of them (`a//b`, `a/b/`) with a
/// path-cleaning redirect instead of an error. (An IPv6 registry address,
/// `[::1]:5000/app`, is not accepted.)
///
/// # Errors
/// `InvalidInput` naming the image and the rule it breaks.
pub fn validate_image(image: &str) -> CoreResult<()> {
    if image.is_empty() || image.len() > MAX_IMAGE_LEN {
        return Err(CoreError::invalid(format!(
            "image must be 1 to {MAX_IMAGE_LEN} characters long (e.g. \"nginx:alpine\")"
        )));
    }
    if let Some(bad) = image.chars().find(|c| {
        !(c.is_ascii_lowercase()
            || c.is_ascii_uppercase()
            || c.is_ascii_digit()
            || matches!(c, '.' | '_' | '-' | '/' | ':' | '@'))
    }) {
        return Err(CoreError::invalid(format!(
            "image `{image}` is not a valid image reference (unexpected {bad:?})"
        )));
    }
    image_reference_problem(image).map_or(Ok(()), |rule| {
        Err(CoreError::invalid(format!(
            "image `{image}` is not a valid image reference: {rule} \
             (e.g. \"nginx:alpine\" or \"registry.local:5000/team/app:1.0\")"
        )))
    })
}

/// The rule of Docker's reference grammar `image` breaks, if any (its
/// characters are already known to be `[A-Za-z0-9._/:@-]`).
fn image_reference_problem(image: &str) -> Option<&'static str> {
    let (name_tag, digest) = match image.split_once('@') {
        Some((name_tag, digest)) => (name_tag, Some(digest)),
        None => (image, None),
    };
    if let Some(digest) = digest
        && !is_digest(digest)
    {
        return Some(
            "the digest after `@` must be an algorithm and at least 32 hex digits, \
             such as sha256:<64 hex digits>",
        );
    }
    // The tag follows the last `:` after the last `/`; an earlier `:` is
    // a registry's port.
    let (name, tag) = match name_tag.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, Some(tag)),
        _ => (name_tag, None),
    };
    if let Some(tag) = tag
        && !is_tag(tag)
    {
        return Some(
            "the tag after `:` must be 1 to 128 letters, digits, `_`, `.` and `-`, \
             not starting with `.` or `-`",
        );
    }
    let components: Vec<&str> = name.split('/').collect();
    if components.iter().any(|c| c.is_empty()) {
        return Some("it has an empty path component (`//`, or a `/` at its start or end)");
    }
    // The first component is a registry when it cannot be a path
    // component but is a host[:port] followed by a path.
    let path = match components.split_first() {
        Some((first, rest)) if !rest.is_empty() && !is_path_component(first) => {
            if !is_domain(first) {
                return Some(
                    "its first component is neither a registry host[:port] nor a lowercase \
                     repository name",
                );
            }
            rest
        }
        _ => &components[..],
    };
    if path.iter().any(|c| !is_path_component(c)) {
        return Some(
            "each repository path component must be lowercase letters and digits, joined \
             by `.`, `_`, `__` or dashes (no `.` or `..` components)",
        );
    }
    None
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
fn is_path_component(c: &str) -> bool {
    let bytes = c.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !bytes.first().is_some_and(alnum) || !bytes.last().is_some_and(alnum) {
        return false;
    }
    c.split(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit())
        .all(|sep| {
            sep.is_empty() || matches!(sep, "." | "_" | "__") || sep.bytes().all(|b| b == b'-')
        })
}

/// `host[:port]`, the host dot-separated components of letters, digits
/// and inner dashes (an IPv4 address is one).
fn is_domain(d: &str) -> bool {
    let (host, port) = match d.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (d, None),
    };
    let component_ok = |c: &str| {
        !c.is_empty()
            && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !c.starts_with('-')
            && !c.ends_with('-')
    };
    host.split('.').all(component_ok)
        && port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// `[\w][\w.-]{0,127}`
fn is_tag(t: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    t.len() <= 128
        && t.bytes().next().is_some_and(word)
        && t.bytes().all(|b| word(b) || b == b'.' || b == b'-')
}

/// `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`
/// (`+` cannot occur: the character check refused it).
fn is_digest(d: &str) -> bool {
    let Some((algorithm, hex)) = d.split_once(':') else {
        return false;
    };
    let algorithm_ok = algorithm.split(['-', '_', '.']).all(|part| {
        part.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
            && part.bytes().all(|b| b.is_ascii_alphanumeric())
    });
    algorithm_ok && hex.len() >= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The lifecycle state of an instance.
///
/// `STARTING → RUNNING → STOPPING → STOPPED → STARTING …`; `TERMINATED` is
/// final (soft delete); `ERROR` carries a reason and can be started again or
/// terminated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InstanceState {
    /// The container is being created or started.
    Starting,
    /// The container runs.
    Running,
    /// The container is being stopped.
    Stopping,
    /// The container exists but does not run.
    Stopped,
    /// The container was removed at the user's request; final.
    Terminated,
    /// Something went wrong; `state_reason` says what.
    Error,
}

impl InstanceState {
    /// Every state, in lifecycle order.
    pub const ALL: [InstanceState; 6] = [
        InstanceState::Starting,
        InstanceState::Running,
        InstanceState::Stopping,
        InstanceState::Stopped,
        InstanceState::Terminated,
        InstanceState::Error,
    ];

    /// The wire and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceState::Starting => "STARTING",
            InstanceState::Running => "RUNNING",
            InstanceState::Stopping => "STOPPING",
            InstanceState::Stopped => "STOPPED",
            InstanceState::Terminated => "TERMINATED",
            InstanceState::Error => "ERROR",
        }
    }
}

impl fmt::Display for InstanceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InstanceState {
    type Err = CoreError;
    fn from_str(s: &str) -> CoreResult<Self> {
        InstanceState::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| CoreError::invalid(format!("unknown instance state `{s}`")))
    }
}

/// A transport protocol of a published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// TCP (the default).
    Tcp,
    /// UDP.
    Udp,
}

impl Protocol {
    /// `tcp` or `udp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// A requested port mapping: `"8080:80"`, `"80"` (host port chosen by the
/// system) and either with a `/tcp` or `/udp` suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortMapping {
    /// The host port, or `None` to let the system choose one.
    pub host_port: Option<u16>,
    /// The port inside the container.
    pub container_port: u16,
    /// TCP or UDP.
    pub protocol: Protocol,
}

fn parse_port(what: &str, s: &str, spec: &str) -> CoreResult<u16> {
    match s.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(CoreError::invalid(format!(
            "invalid port mapping `{spec}`: {what} port `{s}` must be a number from 1 to 65535 \
             (use \"HOST:CONTAINER\", \"CONTAINER\", optionally with /tcp or /udp)"
        ))),
    }
}

impl PortMapping {
    /// Parses one mapping.
    ///
    /// # Errors
    /// `InvalidInput` naming the spec and what is wrong with it.
    pub fn parse(spec: &str) -> CoreResult<Self> {
        let trimmed = spec.trim();
        let (ports, protocol) = match trimmed.rsplit_once('/') {
            Some((p, proto)) if proto.eq_ignore_ascii_case("tcp") => (p, Protocol::Tcp),
            Some((p, proto)) if proto.eq_ignore_ascii_case("udp") => (p, Protocol::Udp),
            Some((_, proto)) => {
                return Err(CoreError::invalid(format!(
                    "invalid port mapping `{spec}`: protocol `{proto}` must be tcp or udp"
                )));
            }
            None => (trimmed, Protocol::Tcp),
        };
        let (host_port, container_port) = match ports.split_once(':') {
            Some((host, container)) => (
                Some(parse_port("host", host, spec)?),
                parse_port("container", container, spec)?,
            ),
            None => (None, parse_port("container", ports, spec)?),
        };
        Ok(Self {
            host_port,
            container_port,
            protocol,
        })
    }

    /// Parses a list of mappings: at most [`MAX_PORTS`], no host port twice.
    ///
    /// # Errors
    /// `InvalidInput` for a bad spec, too many specs or a duplicate.
    pub fn parse_list<S: AsRef<str>>(specs: &[S]) -> CoreResult<Vec<Self>> {
        if specs.len() > MAX_PORTS {
            return Err(CoreError::invalid(format!(
                "at most {MAX_PORTS} port mappings per instance (got {})",
                specs.len()
            )));
        }
        let mut out: Vec<Self> = Vec::with_capacity(specs.len());
        for spec in specs {
            let m = Self::parse(spec.as_ref())?;
            if out
                .iter()
                .any(|o| o.container_port == m.container_port && o.protocol == m.protocol)
            {
                return Err(CoreError::invalid(format!(
                    "container port {}/{} is mapped twice",
                    m.container_port,
                    m.protocol.as_str()
                )));
            }
            if let Some(h) = m.host_port
                && out
                    .iter()
                    .any(|o| o.host_port == Some(h) && o.protocol == m.protocol)
            {
                return Err(CoreError::invalid(format!(
                    "host port {h}/{} is mapped twice",
                    m.protocol.as_str()
                )));
            }
            out.push(m);
        }
        Ok(out)
    }

    /// Formats a list compactly (`8080:80/tcp,53/udp`) for storage.
    pub fn format_list(list: &[Self]) -> String {
        list.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Parses what [`format_list`](Self::format_list) wrote (empty: none).
    ///
    /// # Errors
    /// `InvalidInput` for a malformed list.
    pub fn parse_stored(s: &str) -> CoreResult<Vec<Self>> {
        s.split(',')
            .filter(|p| !p.trim().is_empty())
            .map(Self::parse)
            .collect()
    }
}

impl fmt::Display for PortMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host_port {
            Some(h) => write!(f, "{h}:{}/{}", self.container_port, self.protocol.as_str()),
            None => write!(f, "{}/{}", self.container_port, self.protocol.as_str()),
        }
    }
}

/// A port as actually published by the container runtime.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PublishedPort {
    /// The host address the port is bound to.
    pub host_ip: String,
    /// The host port (the real one, also when the system chose it).
    pub host_port: u16,
    /// The port inside the container.
    pub container_port: u16,
    /// TCP or UDP.
    pub protocol: Protocol,
}

impl PublishedPort {
    /// Formats a list compactly (`127.0.0.1:8080:80/tcp,…`) for storage.
    pub fn format_list(list: &[Self]) -> String {
        list.iter()
            .map(|p| {
                format!(
                    "{}:{}:{}/{}",
                    p.host_ip,
                    p.host_port,
                    p.container_port,
                    p.protocol.as_str()
                )
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Parses what [`format_list`](Self::format_list) wrote.
    ///
    /// # Errors
    /// `InvalidInput` for a malformed list.
    pub fn parse_stored(s: &str) -> CoreResult<Vec<Self>> {
        s.split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                let bad = || CoreError::invalid(format!("malformed published port `{p}`"));
                let (ip, rest) = p.rsplit_once(':').ok_or_else(bad)?;
                let (ip, host) = ip.rsplit_once(':').ok_or_else(bad)?;
                let m = PortMapping::parse(&format!("{host}:{rest}"))?;
                Ok(PublishedPort {
                    host_ip: ip.to_owned(),
                    host_port: m.host_port.ok_or_else(bad)?,
                    container_port: m.container_port,
                    protocol: m.protocol,
                })
            })
            .collect()
    }

    /// The URL a client can reach a TCP port at (`None` for UDP).
    pub fn url(&self) -> Option<String> {
        if self.protocol != Protocol::Tcp {
            return None;
        }
        let host = match self.host_ip.as_str() {
            "" | "0.0.0.0" => "127.0.0.1".to_owned(),
            "::" => "[::1]".to_owned(),
            ip if ip.contains(':') => format!("[{ip}]"),
            ip => ip.to_owned(),
        };
        Some(format!("http://{host}:{}", self.host_port))
    }
}

/// Validates environment variables: names non-empty without `=` or NUL,
/// values without NUL, bounded count and size.
///
/// # Errors
/// `InvalidInput` naming the offending variable.
pub fn validate_env(env: &BTreeMap<String, String>) -> CoreResult<()> {
    if env.len() > MAX_ENV_VARS {
        return Err(CoreError::invalid(format!(
            "at most {MAX_ENV_VARS} environment variables (got {})",
            env.len()
        )));
    }
    let mut total = 0;
    for (k, v) in env {
        if k.is_empty() || k.contains('=') || k.contains('\0') {
            return Err(CoreError::invalid(format!(
                "environment variable name {k:?} must be non-empty and contain no '=' or NUL"
            )));
        }
        if v.contains('\0') {
            return Err(CoreError::invalid(format!(
                "environment variable {k} contains a NUL character"
            )));
        }
        total += k.len() + v.len();
    }
    if total > MAX_ENV_BYTES {
        return Err(CoreError::invalid(format!(
            "the environment is larger than {MAX_ENV_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Joins arguments into one line that [`split_command`] splits back into
/// them (single quotes where a word needs them).
pub fn join_command(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if !a.is_empty()
                && a.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./:=,@%+".contains(&b))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Splits a command line into arguments the way a POSIX shell would for
/// plain words, single quotes, double quotes and backslashes (no expansion).
/// Hand-written because it is twenty lines and needs no dependency.
///
/// # Errors
/// `InvalidInput` for an unclosed quote or an empty command.
pub fn split_command(line: &str) -> CoreResult<Vec<String>> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => cur.push(ch),
                        None => return Err(CoreError::invalid("command has an unclosed ' quote")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch @ ('"' | '\\' | '$' | '`')) => cur.push(ch),
                            Some(ch) => {
                                cur.push('\\');
                                cur.push(ch);
                            }
                            None => {
                                return Err(CoreError::invalid("command has an unclosed \" quote"));
                            }
                        },
                        Some(ch) => cur.push(ch),
                        None => return Err(CoreError::invalid("command has an unclosed \" quote")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(ch) = chars.next() {
                    cur.push(ch);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    args.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        args.push(cur);
    }
    if args.is_empty() {
        return Err(CoreError::invalid(
            "command is empty: omit it (or send null) to use the image's default",
        ));
    }
    Ok(args)
}

/// Validates a command override (argument vector).
///
/// # Errors
/// `InvalidInput` for an empty vector or program (`[""]`, which no
/// runtime can run; exec refuses it the same way), too many arguments, a
/// NUL, or more than [`MAX_COMMAND_BYTES`] in all (naming the argument
/// that is too large, or that takes the total past the limit).
pub fn validate_command(args: &[String]) -> CoreResult<()> {
    if args.first().is_none_or(String::is_empty) {
        return Err(CoreError::invalid(
            "command is empty: omit it (or send null) to use the image's default",
        ));
    }
    if args.len() > MAX_COMMAND_ARGS {
        return Err(CoreError::invalid(format!(
            "command has more than {MAX_COMMAND_ARGS} arguments"
        )));
    }
    if args.iter().any(|a| a.contains('\0')) {
        return Err(CoreError::invalid("command arguments may not contain NUL"));
    }
    let mut total = 0;
    for (i, arg) in args.iter().enumerate() {
        total += arg.len();
        if arg.len() > MAX_COMMAND_BYTES {
            return Err(CoreError::invalid(format!(
                "command[{i}] is {} bytes; a command may hold at most {MAX_COMMAND_BYTES} bytes \
                 of arguments (a longer script belongs in a file of the image)",
                arg.len()
            )));
        }
        if total > MAX_COMMAND_BYTES {
            return Err(CoreError::invalid(format!(
                "the command's arguments up to command[{i}] are {total} bytes; a command may hold \
                 at most {MAX_COMMAND_BYTES} bytes of arguments"
            )));
        }
    }
    Ok(())
}

/// An image present in the container runtime, under one of its names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSummary {
    /// The name a launch gives (`repository:tag`), e.g. `nginx:alpine`.
    pub name: String,
    /// The runtime's content id (`sha256:…`), the same for every name of
    /// one image.
    pub id: String,
    /// When the image was built.
    pub created_at: OffsetDateTime,
    /// Its size on disk, in bytes.
    pub size_bytes: u64,
    /// The CPU architecture it is built for, in the runtime's words
    /// (`amd64`, `arm64`, …), when the runtime says.
    pub architecture: Option<String>,
}

/// One entry of the instance-type catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceType {
    /// The AWS name, e.g. `t3.micro`.
    pub name: &'static str,
    /// Virtual CPUs: each is one host CPU's worth of time, capped at the
    /// number of host CPUs.
    pub vcpus: u32,
    /// Memory limit in MiB.
    pub memory_mib: u64,
}

impl InstanceType {
    /// The memory limit in bytes.
    pub fn memory_bytes(&self) -> u64 {
        self.memory_mib * 1024 * 1024
    }
}

/// The type used when a launch names none.
pub const DEFAULT_INSTANCE_TYPE: &str = "t3.micro";

/// The catalogue, with AWS's names and figures: the burstable general-
/// purpose families, `t3` and the older `t2` that free-tier tutorials and
/// scripts name (`t2.micro`).
pub const INSTANCE_TYPES: [InstanceType; 14] = [
    InstanceType {
        name: "t3.nano",
        vcpus: 2,
        memory_mib: 512,
    },
    InstanceType {
        name: "t3.micro",
        vcpus: 2,
        memory_mib: 1024,
    },
    InstanceType {
        name: "t3.small",
        vcpus: 2,
        memory_mib: 2048,
    },
    InstanceType {
        name: "t3.medium",
        vcpus: 2,
        memory_mib: 4096,
    },
    InstanceType {
        name: "t3.large",
        vcpus: 2,
        memory_mib: 8192,
    },
    InstanceType {
        name: "t3.xlarge",
        vcpus: 4,
        memory_mib: 16384,
    },
    InstanceType {
        name: "t3.2xlarge",
        vcpus: 8,
        memory_mib: 32768,
    },
    InstanceType {
        name: "t2.nano",
        vcpus: 1,
        memory_mib: 512,
    },
    InstanceType {
        name: "t2.micro",
        vcpus: 1,
        memory_mib: 1024,
    },
    InstanceType {
        name: "t2.small",
        vcpus: 1,
        memory_mib: 2048,
    },
    InstanceType {
        name: "t2.medium",
        vcpus: 2,
        memory_mib: 4096,
    },
    InstanceType {
        name: "t2.large",
        vcpus: 2,
        memory_mib: 8192,
    },
    InstanceType {
        name: "t2.xlarge",
        vcpus: 4,
        memory_mib: 16384,
    },
    InstanceType {
        name: "t2.2xlarge",
        vcpus: 8,
        memory_mib: 32768,
    },
];

/// Looks a type up by name.
///
/// # Errors
/// `InvalidInput` listing the known types.
pub fn instance_type(name: &str) -> CoreResult<InstanceType> {
    INSTANCE_TYPES
        .iter()
        .find(|t| t.name == name)
        .copied()
        .ok_or_else(|| {
            let names: Vec<&str> = INSTANCE_TYPES.iter().map(|t| t.name).collect();
            CoreError::invalid(format!(
                "unknown instance type `{name}`; choose one of {} (GET /instance-types)",
                names.join(", ")
            ))
        })
}

/// A place in an owner's list of instances, which is ordered by
/// `(created_at, id)`: a page resumes after it. It is kept whole rather
/// than as the last instance's id, so that a row removed between two pages
/// (a failed launch) does not end the list there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstancePosition {
    /// The launch time of the last instance of the previous page.
    pub created_at: OffsetDateTime,
    /// Its id, which breaks ties between instances launched in the same
    /// microsecond.
    pub id: InstanceId,
}

impl InstancePosition {
    /// The position of `instance` in its owner's list.
    pub fn of(instance: &Instance) -> Self {
        Self {
            created_at: instance.created_at,
            id: instance.id,
        }
    }
}

/// A compute instance as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// The instance's id.
    pub id: InstanceId,
    /// Who owns it.
    pub owner: UserId,
    /// Its name, unique among the owner's live instances.
    pub name: String,
    /// The container image.
    pub image: String,
    /// The instance type (catalogue name).
    pub instance_type: String,
    /// The lifecycle state.
    pub state: InstanceState,
    /// Why it is in `ERROR` (or how it stopped), when known.
    pub state_reason: Option<String>,
    /// The exit code of the last run, once it stopped.
    pub exit_code: Option<i64>,
    /// The Docker container id, once created.
    pub container_id: Option<String>,
    /// The requested port mappings.
    pub ports: Vec<PortMapping>,
    /// The ports as actually published (real host ports).
    pub published_ports: Vec<PublishedPort>,
    /// The container's address on Docker's network while it runs (the
    /// EC2 API's private IP).
    pub private_ip: Option<String>,
    /// Environment variables.
    pub env: BTreeMap<String, String>,
    /// The command override, if any.
    pub command: Option<Vec<String>>,
    /// Its tags beyond the name (see [`super::tags`]).
    pub tags: BTreeMap<String, String>,
    /// The launch request it came from, when that request launched
    /// several instances or carried a client token; `None` for an
    /// instance launched alone without one.
    pub origin: Option<LaunchOrigin>,
    /// When it was launched.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
    /// When it was terminated.
    pub deleted_at: Option<OffsetDateTime>,
}

/// Where an instance comes from: one launch request, which may have
/// launched several (EC2's reservation) and may have carried a client
/// token that makes it idempotent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchOrigin {
    /// The request's first instance, which names the reservation.
    pub first: InstanceId,
    /// The instance's place in the request, from 0 (EC2's
    /// `amiLaunchIndex`).
    pub index: u32,
    /// The request's client token, if it carried one.
    pub token: Option<ClientToken>,
}

/// The most characters of a client token (EC2's limit).
pub const MAX_CLIENT_TOKEN_CHARS: usize = 64;

/// A client token: a retry of a launch with the same token and the same
/// parameters answers the instances the first one launched instead of
/// launching again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientToken {
    /// The token, as the client sent it (case-sensitive).
    pub value: String,
    /// A digest of the request's other parameters, which a retry must
    /// repeat.
    pub digest: String,
}

impl ClientToken {
    /// A token checked against EC2's rule: 1 to 64 printable ASCII
    /// characters.
    ///
    /// # Errors
    /// `InvalidInput` naming the rule.
    pub fn new(value: &str, digest: impl Into<String>) -> CoreResult<Self> {
        if value.is_empty() || value.len() > MAX_CLIENT_TOKEN_CHARS {
            return Err(CoreError::invalid(format!(
                "a client token (EC2's ClientToken, the native Idempotency-Key) has 1 to \
                 {MAX_CLIENT_TOKEN_CHARS} characters; this one has {}",
                value.chars().count()
            )));
        }
        if !value.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            return Err(CoreError::invalid(
                "a client token is printable ASCII characters only",
            ));
        }
        Ok(Self {
            value: value.to_owned(),
            digest: digest.into(),
        })
    }
}

/// The reason of a `RUNNING` instance whose container is paused (`docker
/// pause` behind Mini AWS's back): EC2 has no such state, so the instance
/// stays `RUNNING` and says why it does not answer.
pub const PAUSED_REASON: &str = "the container is paused outside Mini AWS (docker pause): its \
                                 processes are frozen until `docker unpause`";

/// The reason of an instance its user stopped (a stop, or one a crash cut
/// short that the resync finished).
pub const STOPPED_BY_REQUEST: &str = "stopped by request";

/// How the reason of a `STOPPED` instance begins when a start that a crash
/// cut short failed when the resync resumed it (Docker refused it): a
/// failure of the platform, not of the user or the workload.
pub const RESUMED_START_FAILED: &str =
    "the start was cut short by a restart of the server and failed when resumed";

/// What brought an instance to a stop (or its end), as EC2's state reason
/// code tells it (`Client.UserInitiatedShutdown`,
/// `Client.InstanceInitiatedShutdown`, `Server.InternalError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopCause {
    /// Its user asked: a stop or a terminate.
    User,
    /// Its own workload: the container's command ended.
    Workload,
    /// A failure that is none of the user's doing: the container failed or
    /// vanished (`ERROR`), or a resumed start was refused.
    Platform,
}

impl Instance {
    /// What brought it to a stop; `None` unless it is `STOPPED`, `ERROR`
    /// or `TERMINATED`.
    pub fn stop_cause(&self) -> Option<StopCause> {
        match self.state {
            InstanceState::Error => Some(StopCause::Platform),
            InstanceState::Terminated => Some(StopCause::User),
            InstanceState::Stopped => {
                let reason = self.state_reason.as_deref().unwrap_or_default();
                Some(if reason == STOPPED_BY_REQUEST {
                    StopCause::User
                } else if reason.starts_with(RESUMED_START_FAILED) {
                    StopCause::Platform
                } else {
                    StopCause::Workload
                })
            }
            InstanceState::Starting | InstanceState::Running | InstanceState::Stopping => None,
        }
    }

    /// Whether it runs with its container paused behind Mini AWS's back
    /// (see [`PAUSED_REASON`]).
    pub fn is_paused(&self) -> bool {
        self.state == InstanceState::Running && self.state_reason.as_deref() == Some(PAUSED_REASON)
    }

    /// The id of the reservation it belongs to in the EC2-compatible API:
    /// its launch request's first instance's, in the `r-` form.
    pub fn reservation_id(&self) -> String {
        let first = self.origin.as_ref().map_or(self.id, |o| o.first);
        Ec2InstanceId::of(first).as_str().replacen("i-", "r-", 1)
    }

    /// Its place in its launch request, from 0.
    pub fn launch_index(&self) -> u32 {
        self.origin.as_ref().map_or(0, |o| o.index)
    }

    /// The client token it was launched with, if any.
    pub fn client_token(&self) -> Option<&str> {
        self.origin
            .as_ref()
            .and_then(|o| o.token.as_ref())
            .map(|t| t.value.as_str())
    }

    /// Its name and tags, what a tag edit changes.
    pub fn labels(&self) -> super::tags::Labels {
        super::tags::Labels {
            name: self.name.clone(),
            tags: self.tags.clone(),
        }
    }

    /// Its id in the EC2-compatible API.
    pub fn ec2_id(&self) -> Ec2InstanceId {
        Ec2InstanceId::of(self.id)
    }

    /// The URLs of its published TCP ports.
    pub fn access_urls(&self) -> Vec<String> {
        self.published_ports
            .iter()
            .filter_map(PublishedPort::url)
            .collect()
    }

    /// The 409 for an operation that the current state does not allow.
    pub fn illegal(&self, operation: &str) -> CoreError {
        CoreError::conflict(
            ConflictKind::InvalidState,
            format!(
                "cannot {operation} instance {} ({}): it is {}",
                self.name, self.id, self.state
            ),
        )
    }
}

/// What a user asks for when launching.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LaunchRequest {
    /// The instance name.
    pub name: String,
    /// The image reference.
    pub image: String,
    /// Port specs (`"8080:80"`, `"80"`, `"53/udp"`).
    pub ports: Vec<String>,
    /// Environment variables.
    pub env: BTreeMap<String, String>,
    /// Instance type; `None` means [`DEFAULT_INSTANCE_TYPE`].
    pub instance_type: Option<String>,
    /// Command override; `None` keeps the image's.
    pub command: Option<Vec<String>>,
    /// Tags beyond the name (see [`super::tags`]).
    pub tags: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_specs_parse_or_fail_with_a_reason() {
        let ok: &[(&str, Option<u16>, u16, Protocol)] = &[
            ("8080:80", Some(8080), 80, Protocol::Tcp),
            ("80", None, 80, Protocol::Tcp),
            ("53/udp", None, 53, Protocol::Udp),
            ("5353:53/UDP", Some(5353), 53, Protocol::Udp),
            (" 9000:9000/tcp ", Some(9000), 9000, Protocol::Tcp),
        ];
        for (spec, host, container, proto) in ok {
            let m = PortMapping::parse(spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
            assert_eq!(
                (m.host_port, m.container_port, m.protocol),
                (*host, *container, *proto),
                "{spec}"
            );
            assert_eq!(PortMapping::parse(&m.to_string()).unwrap(), m, "{spec}");
        }
        let bad = [
            "", "0", "65536", "80:", ":80", "a:b", "80/sctp", "1:2:3", "-1", "80/",
        ];
        for spec in bad {
            let err = PortMapping::parse(spec).expect_err(spec);
            assert!(matches!(err, CoreError::InvalidInput(_)), "{spec}");
        }
    }

    #[test]
    fn port_lists_are_bounded_and_without_duplicates() {
        let eleven: Vec<String> = (1..=11).map(|p| p.to_string()).collect();
        assert!(PortMapping::parse_list(&eleven).is_err());
        assert_eq!(PortMapping::parse_list(&eleven[..10]).unwrap().len(), 10);
        assert!(PortMapping::parse_list(&["8080:80", "8080:81"]).is_err());
        assert!(PortMapping::parse_list(&["8080:80", "8081:80"]).is_err());
        assert!(PortMapping::parse_list(&["8080:80", "8080:80/udp"]).is_ok());
        let list = PortMapping::parse_list(&["8080:80", "53/udp"]).unwrap();
        let stored = PortMapping::format_list(&list);
        assert_eq!(stored, "8080:80/tcp,53/udp");
        assert_eq!(PortMapping::parse_stored(&stored).unwrap(), list);
        assert!(PortMapping::parse_stored("").unwrap().is_empty());
    }

    #[test]
    fn published_ports_round_trip_and_give_urls() {
        let list = vec![
            PublishedPort {
                host_ip: "127.0.0.1".into(),
                host_port: 32768,
                container_port: 80,
                protocol: Protocol::Tcp,
            },
            PublishedPort {
                host_ip: "0.0.0.0".into(),
                host_port: 5353,
                container_port: 53,
                protocol: Protocol::Udp,
            },
        ];
        let s = PublishedPort::format_list(&list);
        assert_eq!(PublishedPort::parse_stored(&s).unwrap(), list);
        assert_eq!(list[0].url().as_deref(), Some("http://127.0.0.1:32768"));
        assert_eq!(list[1].url(), None);
    }

    #[test]
    fn names_images_env_and_commands_are_validated() {
        assert!(InstanceName::parse("web-1.a_b").is_ok());
        for bad in ["", "a b", "x/y", &"a".repeat(64)] {
            assert!(InstanceName::parse(bad).is_err(), "{bad:?}");
        }
        for bad in ["", "nginx alpine", "-x", "a;b"] {
            assert!(validate_image(bad).is_err(), "{bad:?}");
        }
        let mut env = BTreeMap::new();
        env.insert("MODE".to_owned(), "dev".to_owned());
        assert!(validate_env(&env).is_ok());
        env.insert("A=B".to_owned(), "x".to_owned());
        assert!(validate_env(&env).is_err());
        assert_eq!(
            split_command(r#"sh -c 'echo "hi there"' "a\"b" c\ d"#).unwrap(),
            vec!["sh", "-c", "echo \"hi there\"", "a\"b", "c d"]
        );
        assert!(split_command("  ").is_err());
        assert!(split_command("echo 'x").is_err());
        assert!(validate_command(&[]).is_err());
        for empty in [vec![""], vec!["", "x"]] {
            let args: Vec<String> = empty.iter().map(|a| (*a).to_owned()).collect();
            let err = validate_command(&args).unwrap_err().to_string();
            assert!(err.starts_with("command is empty"), "{empty:?}: {err}");
        }
        assert!(validate_command(&["true".to_owned(), String::new()]).is_ok());
    }

    /// A command is at most 32 KiB of arguments: one argument over it, or
    /// the one that takes the total over, is named; at the limit it passes
    /// (far below the 128 KiB Linux allows one argument).
    #[test]
    fn commands_are_bounded_in_bytes() {
        let at_limit = vec!["sh".to_owned(), "x".repeat(MAX_COMMAND_BYTES - 2)];
        assert!(validate_command(&at_limit).is_ok());
        let huge = vec!["echo".to_owned(), "x".repeat(900_000)];
        let err = validate_command(&huge).unwrap_err().to_string();
        assert!(
            err.contains("command[1] is 900000 bytes") && err.contains("at most 32768 bytes"),
            "{err}"
        );
        let many: Vec<String> = (0..5).map(|_| "y".repeat(8 * 1024)).collect();
        let err = validate_command(&many).unwrap_err().to_string();
        assert!(
            err.contains("up to command[4] are 40960 bytes") && err.contains("32768"),
            "{err}"
        );
    }

    /// Docker's reference grammar: what Docker accepts passes, and what
    /// it refuses (or, for `a//b` and `a/b/`, answers with a
    /// redirect) is refused naming the image and the rule.
    #[test]
    fn image_references_follow_dockers_grammar() {
        let digest = format!("sha256:{}", "0a".repeat(32));
        for good in [
            "nginx",
            "nginx:alpine",
            "miniaws-test/busybox:latest",
            "library/nginx:1.25.3-alpine",
            "a__b/c.d/e-f/g---h:T_1.x-y",
            "localhost/app",
            "localhost:5000/team/app:1.0",
            "registry.example.com/app",
            "Registry.Local:5000/app",
            "127.0.0.1:5000/app:v1",
            &format!("app@{digest}"),
            &format!("registry.local:5000/app:1.0@{digest}"),
            &format!("x/{}", "a".repeat(200)),
        ] {
            assert!(
                validate_image(good).is_ok(),
                "{good}: {:?}",
                validate_image(good)
            );
        }
        let cases: &[(&str, &str)] = &[
            ("a//b", "empty path component"),
            ("a/b/", "empty path component"),
            ("/a", "empty path component"),
            ("a:", "the tag after `:`"),
            (":latest", "empty path component"),
            ("a/./b", "each repository path component"),
            ("a/../b", "each repository path component"),
            ("../../etc/passwd", "its first component is neither"),
            (".", "each repository path component"),
            ("Nginx", "each repository path component must be lowercase"),
            (
                "team/App",
                "each repository path component must be lowercase",
            ),
            ("a..b", "each repository path component"),
            ("a._b", "each repository path component"),
            ("a___b", "each repository path component"),
            ("a-", "each repository path component"),
            ("-registry.local/app", "its first component is neither"),
            ("registry.local:/app", "its first component is neither"),
            ("registry.local:50a/app", "its first component is neither"),
            ("a:-tag", "the tag after `:`"),
            ("a:.tag", "the tag after `:`"),
            ("a@sha256:00", "the digest after `@`"),
            ("a@sha256", "the digest after `@`"),
            (
                "a@1sha:0123456789abcdef0123456789abcdef",
                "the digest after `@`",
            ),
            ("a@sha256:0a@sha256:0a", "the digest after `@`"),
        ];
        for (bad, rule) in cases {
            let err = validate_image(bad).expect_err(bad).to_string();
            assert!(
                err.contains(&format!("image `{bad}` is not a valid image reference"))
                    && err.contains(rule),
                "{bad}: {err}"
            );
        }
        let tag = format!("a:{}", "t".repeat(129));
        assert!(validate_image(&tag).is_err(), "a tag of 129");
        assert!(validate_image(&format!("a:{}", "t".repeat(128))).is_ok());
    }

    #[test]
    fn catalogue_has_the_aws_figures() {
        let t = instance_type(DEFAULT_INSTANCE_TYPE).unwrap();
        assert_eq!((t.vcpus, t.memory_mib), (2, 1024));
        assert_eq!(instance_type("t3.xlarge").unwrap().memory_bytes(), 16 << 30);
        let t2 = instance_type("t2.micro").unwrap();
        assert_eq!((t2.vcpus, t2.memory_mib), (1, 1024));
        let err = instance_type("m5.large").unwrap_err().to_string();
        assert!(err.contains("t3.nano") && err.contains("m5.large"), "{err}");
    }

    #[test]
    fn ec2_ids_take_the_random_digits_and_parse_strictly() {
        let id: InstanceId = "0123abcd-4567-489a-bcde-f0123456789a".parse().unwrap();
        let ec2 = Ec2InstanceId::of(id);
        assert_eq!(ec2.as_str(), "i-0123abcd456789acd");
        assert_eq!(Ec2InstanceId::parse(ec2.as_str()).unwrap(), ec2);
        for bad in [
            "",
            "i-",
            "i-0123abcd4567",
            "i-0123ABCD4567890ab",
            "x-0123abcd4567890ab",
            "i-0123abcd4567890abc",
            "i-0123abcd4567890ag",
        ] {
            assert!(Ec2InstanceId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn states_round_trip() {
        for s in InstanceState::ALL {
            assert_eq!(s.as_str().parse::<InstanceState>().unwrap(), s);
        }
        assert!("NOPE".parse::<InstanceState>().is_err());
    }
}
